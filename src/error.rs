//! One error type for the web layer. Client errors render a helpful page; server
//! errors are logged once with their detail and shown to the user without it.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// An error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Signed in, but this is not for your role.
    #[error("forbidden")]
    Forbidden,
    /// Not signed in: go to the sign-in page, then back to this address.
    #[error("sign-in required")]
    SignIn(String),
    /// Two-factor sign-in is required and this account has not enrolled yet.
    #[error("two-factor enrolment required")]
    EnrolTotp,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    TooLarge,
    /// Someone else saved first; carries a message for the page.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database did not answer in time (or the session store could not be read):
    /// nothing was saved, and trying again shortly is the right thing to do.
    #[error("database unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Template(#[from] askama::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// How long a client is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The words of the 503 page: the database did not answer, nothing was saved.
pub const UNAVAILABLE_TITLE: &str = "Busy, try again";
pub const UNAVAILABLE_MESSAGE: &str = "The database did not answer in time. Nothing was saved: \
     go back and send the page again in a few seconds. If it keeps happening, tell your administrator.";

/// SQLSTATE of the database's refusal to resubmit a case with an unanswered request.
pub const UNANSWERED_REQUEST: &str = "TR001";

/// A rendered error page with a status (used for responses made outside handlers too).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        message,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(RETRY_AFTER_SECS),
        );
    }
    response
}

/// Whether a database error means "not now" rather than "wrong": a timeout, a lock
/// not granted, a connection lost or none free.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // query_canceled (statement_timeout), lock_not_available (lock_timeout),
            // connection exceptions, shutdowns, too many connections.
            matches!(
                &*c,
                "57014" | "55P03" | "57P01" | "57P02" | "57P03" | "53300"
            ) || c.starts_with("08")
        }),
        _ => false,
    }
}

impl AppError {
    /// The database error inside, if any (also one carried by `anyhow`).
    fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            AppError::Database(e) => Some(e),
            AppError::Internal(e) => e.chain().find_map(|c| c.downcast_ref::<sqlx::Error>()),
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if matches!(self, AppError::Unavailable(_))
            || self.database_error().is_some_and(is_unavailable)
        {
            tracing::warn!(error = %self, "database unavailable");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE_TITLE,
                UNAVAILABLE_MESSAGE,
            );
        }
        // The database refuses to resubmit a case while a request is unanswered.
        if self
            .database_error()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code())
            .is_some_and(|c| c == UNANSWERED_REQUEST)
        {
            return error_page(
                StatusCode::CONFLICT,
                "A request is still unanswered",
                "A reviewer asked for more information and the request has no answer yet. \
                 Answer every request on the case page (\"Requests for more information\"), \
                 then submit again. Nothing was submitted.",
            );
        }
        let (status, title, message) = match &self {
            AppError::SignIn(next) => {
                return Redirect::to(&format!("/login?next={}", urlencode(next))).into_response();
            }
            AppError::EnrolTotp => return Redirect::to("/account/two-factor?required=1").into_response(),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address, or it is not yours to see.".to_owned(),
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not available to your role",
                "This page belongs to another role. Use the menu to go to your own work.".to_owned(),
            ),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "The form was larger than triage accepts. Shorten the longest entries and send it again.".to_owned(),
            ),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "Changed by someone else", m.clone()),
            AppError::Database(_)
            | AppError::Template(_)
            | AppError::Internal(_)
            | AppError::Unavailable(_) => {
                tracing::error!(error = ?self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete the request. Nothing you entered was saved \
                     half-way; please try again. If it keeps happening, tell your administrator."
                        .to_owned(),
                )
            }
        };
        let mut response = error_page(status, title, &message);
        // Lets the refusal audit know what was refused (see `security::audit_refusals`).
        if matches!(self, AppError::Forbidden | AppError::NotFound) {
            response.extensions_mut().insert(Refused);
        }
        response
    }
}

/// The page for an address that matches no route (not audited, unlike a refused id).
pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address, or it is not yours to see.",
    )
}

/// Marks a 403 or 404 that a handler decided (not a route that does not exist).
#[derive(Debug, Clone, Copy)]
pub struct Refused;

/// Percent-encodes a path for the `next` parameter.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
