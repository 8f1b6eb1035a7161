//! Security middleware: response headers on every response (errors made before routing
//! included), limits on the request line and headers, the request timeout, a guard
//! against cross-site form posts, CSRF tokens, and the bounded audit of refusals.

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::constant_time_eq;
use crate::db;
use crate::db::audit::Actor;
use crate::error::{Refused, UNAVAILABLE_MESSAGE, UNAVAILABLE_TITLE, error_page};
use crate::state::AppState;
use crate::web::session::{CSRF, USER_ID, anonymous_token_of, client_address};

/// No inline script or style anywhere, so the policy can be strict.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The one route whose body may be a large file.
pub const UPLOAD_PATH: &str = "/admin/register";

/// The longest request line (path and query) accepted; longer ones get a 414 page.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes accepted; more get a 431 page. (Past hyper's own buffer of
/// about 400 KiB the connection is answered by hyper itself.)
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Adds the security headers to every response; dynamic pages are never stored (so
/// Back after signing out shows nothing), and over https browsers are told to stay there.
/// The outermost layer, so timeouts, panics and refusals get the headers too.
pub async fn add_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    // A bare server error (the session layer failing to save) still gets a page.
    if response.status().is_server_error() && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let status = response.status();
        response = error_page(
            status,
            "Something went wrong",
            "The server could not complete the request. Please try again; if it keeps \
             happening, tell your administrator.",
        );
    }
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(header::CACHE_CONTROL, "no-store");
    if state.config().secure_cookies {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Refuses request lines and headers longer than any page of triage needs, with a page.
pub async fn limit_request_size(request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return error_page(
            StatusCode::URI_TOO_LONG,
            "Address too long",
            "The address of this request is longer than triage accepts. Shorten the search or filters and try again.",
        );
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return error_page(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers too large",
            "The request carried more header data than triage accepts (often too many cookies for this address).",
        );
    }
    next.run(request).await
}

/// A request that has not finished in time gets a rendered 503 with Retry-After; its
/// work is dropped (database statements time out on their own well before).
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = Duration::from_secs(state.config().request_timeout_secs);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "a request timed out");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE_TITLE,
                UNAVAILABLE_MESSAGE,
            )
        }
    }
}

/// Refuses state-changing requests that a browser marks as coming from another site.
/// The open evaluate API stores nothing and is exempt.
pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    if is_safe(request.method())
        || request.uri().path().starts_with("/api/")
        || is_same_origin(&request)
    {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-site write");
    error_page(
        StatusCode::FORBIDDEN,
        "Sent from another site",
        "This form was sent from another site, so it was refused. Open the page in triage and send it from there.",
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_same_origin(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let host = host.to_str().unwrap_or("");
            let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
            origin != "null" && origin_host == host
        }
        // Older clients send neither header; a token check (with sessions) covers them.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// A panic becomes a rendered 500 without detail; the panic itself is logged.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "a handler panicked");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request. Please try again; if it keeps happening, tell your administrator.",
    )
}

/// Who is asking, for the audit of a refusal: the signed-in user if the session says so.
async fn refusal_actor(state: &AppState, session: Option<&Session>, address: String) -> Actor {
    let id = match session {
        Some(s) => s.get::<Uuid>(USER_ID).await.ok().flatten(),
        None => None,
    };
    let email = match id {
        Some(id) => crate::db::users::by_id(state.pool(), id)
            .await
            .ok()
            .flatten()
            .map(|u| u.email),
        None => None,
    };
    Actor { id, email, address }
}

/// Audits a refusal (bounded, see `db::audit::refusal`); a failure is only logged.
async fn audit_refusal(
    state: &AppState,
    actor: &Actor,
    action: &str,
    what: &str,
    method: &Method,
    path: &str,
) {
    let summary = format!(
        "Refused ({what}): {method} {}",
        path.chars().take(200).collect::<String>()
    );
    if let Err(e) = db::audit::refusal(
        state.pool(),
        actor,
        action,
        summary,
        path,
        state.config().refusal_window_secs,
    )
    .await
    {
        tracing::warn!(error = %e, action, "could not audit a refusal");
    }
}

/// Audits the 403s and 404s that handlers decide (a role kept out, a case out of
/// reach or not there); addresses that match no route are not audited.
pub async fn audit_refusals(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let address = client_address(request.headers(), request.extensions(), state.config());
    let response = next.run(request).await;
    if response.extensions().get::<Refused>().is_none() {
        return response;
    }
    let (action, what) = match response.status() {
        StatusCode::FORBIDDEN => ("access.forbidden", "not for this role"),
        StatusCode::NOT_FOUND => ("access.not_found", "not found or out of reach"),
        _ => return response,
    };
    let actor = refusal_actor(&state, session.as_ref(), address).await;
    audit_refusal(&state, &actor, action, what, &method, &path).await;
    response
}

/// Refuses state-changing form posts whose `_csrf` field (also in a multipart upload)
/// does not match the session's token, or for visitors not signed in, their signed
/// cookie. Never from the address: a token in a URL leaks through logs and referrers.
/// The JSON API is exempt: it changes nothing.
pub async fn verify_csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) || request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    // The attachment upload streams: its handler checks the token, the form's first
    // field, before it reads any of the file.
    if request.method() == Method::POST
        && crate::web::attachments::is_upload_path(request.uri().path())
    {
        return next.run(request).await;
    }
    let session = request.extensions().get::<Session>().cloned();
    let expected = match &session {
        Some(s) => match s.get::<String>(CSRF).await {
            Ok(token) => token,
            // The store did not answer: say so, and that nothing was saved.
            Err(e) => {
                tracing::warn!(error = %e, "session store unavailable while checking a form");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    UNAVAILABLE_TITLE,
                    UNAVAILABLE_MESSAGE,
                );
            }
        },
        None => None,
    };
    let signed_in = expected.is_some();
    let expected = expected.or_else(|| {
        request
            .extensions()
            .get::<tower_cookies::Cookies>()
            .and_then(|c| anonymous_token_of(c, &state))
    });
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (parts, body) = request.into_parts();
    let refused = |parts: axum::http::request::Parts| {
        let state = state.clone();
        let session = session.clone();
        async move {
            let address = client_address(&parts.headers, &parts.extensions, state.config());
            let actor = refusal_actor(&state, session.as_ref(), address).await;
            let what = "form without a valid token";
            audit_refusal(
                &state,
                &actor,
                "access.csrf",
                what,
                &parts.method,
                parts.uri.path(),
            )
            .await;
            csrf_refused()
        }
    };
    let Some(expected) = expected else {
        return refused(parts).await;
    };
    // The body is read once here and handed on unchanged; the size limit still applies.
    // Only the register upload of a signed-in session may be large.
    let limit = if parts.uri.path() == UPLOAD_PATH && signed_in {
        crate::screening::formats::MAX_FILE_BYTES + 64 * 1024
    } else {
        256 * 1024
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "The form was larger than triage accepts. Shorten the longest entries and send it again.",
            );
        }
    };
    let from_body = if content_type.starts_with("application/x-www-form-urlencoded") {
        crate::web::extract::pairs(&bytes)
            .into_iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v)
    } else if content_type.starts_with("multipart/form-data") {
        multipart_token(&content_type, bytes.clone()).await
    } else {
        None
    };
    match from_body {
        Some(token) if constant_time_eq(&token, &expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => refused(parts).await,
    }
}

/// The `_csrf` field of a multipart body (forms put it first, so reading stops early).
async fn multipart_token(content_type: &str, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("_csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// Refuses a form whose token a handler found wrong (the streamed upload), audited like
/// the middleware's refusals.
pub async fn refuse_csrf(state: &AppState, actor: &Actor, path: &str) -> Response {
    audit_refusal(
        state,
        actor,
        "access.csrf",
        "form without a valid token",
        &Method::POST,
        path,
    )
    .await;
    csrf_refused()
}

fn csrf_refused() -> Response {
    tracing::warn!("refused a form without a valid CSRF token");
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "It was not sent from a current triage page, so it was refused and nothing was changed. \
         Go back, reload the page and send it again.",
    )
    .into_response()
}
