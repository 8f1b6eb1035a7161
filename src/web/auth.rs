//! Sign-in (password, then TOTP or a recovery code when enrolled) and sign-out.
//! Failed attempts are counted per account and per address; past the limit the
//! sign-in is refused for the rest of the window, with a message that says so.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::auth::{check_totp, match_recovery_code, verify_password};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::db::users::User;
use crate::domain::account::MAX_EMAIL;
use crate::domain::text::Text;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::extract::{Form, Query};
use crate::web::layout::{Layout, ok, render};
use crate::web::session::{Ctx, PENDING_AT, PENDING_USER, begin, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_get).post(login_post))
        .route(
            "/login/two-factor",
            get(second_factor_get).post(second_factor_post),
        )
        .route("/logout", axum::routing::post(logout_post))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NextQuery {
    next: String,
    signed_out: Option<String>,
    expired: Option<String>,
    /// A confirmation from the password or invitation pages.
    notice: Option<String>,
    /// Signed out of a session that signed in with this institution's provider.
    sso: Option<String>,
}

/// Only local paths, so the sign-in page cannot send anyone elsewhere: one leading
/// slash, then printable ASCII without backslashes (browsers drop tabs and line breaks,
/// turning `/\t/evil.example` into `//evil.example`), and a valid header value.
pub fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/login")
        && next.len() <= 2_000
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && axum::http::HeaderValue::from_str(next).is_ok();
    if local {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    /// "Sign in with <institution>": institutions with an identity provider.
    providers: Vec<(Uuid, String)>,
    /// After signing out of a single sign-on session: the provider's logout address.
    provider_logout: Option<(String, String)>,
}

async fn sign_in_providers(state: &AppState) -> AppResult<Vec<(Uuid, String)>> {
    Ok(db::identity::providers(state.pool())
        .await?
        .into_iter()
        .map(|p| (p.institution_id, p.institution_name))
        .collect())
}

async fn login_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(&safe_next(&q.next)).into_response());
    }
    let code = if q.signed_out.is_some() {
        Some("signed_out")
    } else if q.expired.is_some() {
        Some("half_signed_in_expired")
    } else {
        q.notice
            .as_deref()
            .filter(|n| ["password_reset"].contains(n))
    };
    let provider_logout = match q.sso.as_deref().map(Uuid::parse_str) {
        Some(Ok(institution)) if q.signed_out.is_some() => {
            crate::web::sso::provider_logout(&state, institution).await?
        }
        _ => None,
    };
    ok(&LoginPage {
        layout: Layout::new(&state, &ctx, "Sign in", "login")
            .with_notice(crate::web::layout::notice(code)),
        email: String::new(),
        next: safe_next(&q.next),
        error: None,
        providers: sign_in_providers(&state).await?,
        provider_logout,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: String,
}

/// What a lockout holds: an account, or every sign-in from an address.
enum Lock {
    Account,
    Address,
}

/// Refuses when the account or the address has failed too often in the window.
async fn locked_out(
    state: &AppState,
    email: &str,
    address: &str,
) -> AppResult<Option<(Lock, String)>> {
    let cfg = state.config();
    let (by_account, by_address) =
        db::users::recent_failures(state.pool(), email, address, cfg.lockout_window_secs).await?;
    let minutes = (cfg.lockout_window_secs + 59) / 60;
    Ok(if by_account >= cfg.max_failures_per_account {
        Some((
            Lock::Account,
            format!(
                "Too many failed sign-ins for this account. Sign-in is blocked for up to {minutes} minutes; \
             try again later or ask an administrator."
            ),
        ))
    } else if by_address >= cfg.max_failures_per_address {
        Some((
            Lock::Address,
            format!(
                "Too many failed sign-ins from your network address. Sign-in is blocked for up to {minutes} minutes."
            ),
        ))
    } else {
        None
    })
}

/// The actor of a sign-in attempt by someone not (yet) signed in.
fn attempt_actor(ctx: &Ctx, email: &str) -> Actor {
    Actor {
        id: None,
        email: Some(email.to_owned()),
        address: ctx.address.clone(),
    }
}

/// A refused attempt during a lockout does not extend the lock, and is counted rather
/// than logged one by one: the first in the lockout window, per locked account or per
/// locked address (whatever emails are tried from it), is an audit row.
async fn audit_locked(state: &AppState, ctx: &Ctx, lock: &Lock, email: &str) -> AppResult<()> {
    let actor = match lock {
        Lock::Account => attempt_actor(ctx, email),
        Lock::Address => Actor {
            id: None,
            email: None,
            address: ctx.address.clone(),
        },
    };
    db::audit::refusal(
        state.pool(),
        &actor,
        "auth.login_locked",
        "Sign-in refused: too many failed attempts (further refusals in this window are counted, not logged)".into(),
        "/login",
        state.config().lockout_window_secs,
    )
    .await?;
    Ok(())
}

async fn failed(state: &AppState, ctx: &Ctx, email: &str, reason: &str) -> AppResult<()> {
    db::users::record_failure(state.pool(), email, &ctx.address).await?;
    db::audit::record_alone(
        state.pool(),
        &attempt_actor(ctx, email),
        Entry {
            action: "auth.login_failed",
            assessment_id: None,
            project_id: None,
            summary: format!("Failed sign-in: {reason}"),
            details: serde_json::json!({}),
        },
    )
    .await?;
    Ok(())
}

/// What an account of a deactivated institution is told at sign-in.
pub const INSTITUTION_INACTIVE: &str = "Your institution's access to triage has been deactivated, so this account cannot sign in. Ask an administrator of triage.";

const WRONG: &str = "The email address or the password is not right.";

async fn login_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(&form.next);
    let providers = sign_in_providers(&state).await?;
    let page = |error: String| LoginPage {
        layout: Layout::new(&state, &ctx, "Sign in", "login"),
        email: form.email.chars().take(MAX_EMAIL).collect(),
        next: next.clone(),
        error: Some(error),
        providers: providers.clone(),
        provider_logout: None,
    };
    // No account has an address this long or with control characters: refused before
    // anything is looked up, counted or logged.
    let Ok(email) = Text::<MAX_EMAIL>::parse(&form.email).map(|e| e.to_lowercase()) else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page(WRONG.into()));
    };
    if let Some((lock, message)) = locked_out(&state, &email, &ctx.address).await? {
        audit_locked(&state, &ctx, &lock, &email).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page(message));
    }
    let user = db::users::by_email(state.pool(), &email).await?;
    let password_ok = verify_password(
        form.password.clone(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let user = match user {
        Some(u) if password_ok && !u.disabled && !u.institution_active => {
            failed(&state, &ctx, &email, "institution deactivated").await?;
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(INSTITUTION_INACTIVE.into()),
            );
        }
        Some(u) if password_ok && !u.disabled => u,
        Some(u) if password_ok && u.disabled => {
            failed(&state, &ctx, &email, "account disabled").await?;
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page("This account is disabled. Ask an administrator.".into()),
            );
        }
        _ => {
            failed(&state, &ctx, &email, "wrong email or password").await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page(WRONG.into()));
        }
    };
    if user.totp_enabled {
        // A new session id at every change of privilege, so a planted id is worthless.
        ctx.session.cycle_id().await?;
        ctx.session.insert(PENDING_USER, user.id).await?;
        ctx.session.insert(PENDING_AT, now()).await?;
        return Ok(
            Redirect::to(&format!("/login/two-factor?next={}", urlencode(&next))).into_response(),
        );
    }
    complete_sign_in(&state, &ctx, &user, "password").await?;
    Ok(Redirect::to(&next).into_response())
}

async fn complete_sign_in(state: &AppState, ctx: &Ctx, user: &User, method: &str) -> AppResult<()> {
    begin(&ctx.session, user).await?;
    db::users::clear_failures(state.pool(), &user.email).await?;
    let actor = Actor {
        id: Some(user.id),
        email: Some(user.email.clone()),
        address: ctx.address.clone(),
    };
    db::audit::record_alone(
        state.pool(),
        &actor,
        Entry {
            action: "auth.login",
            assessment_id: None,
            project_id: None,
            summary: format!("Signed in ({method})"),
            details: serde_json::json!({ "method": method }),
        },
    )
    .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

/// Who gave the right password and owes the second factor, while that lasts.
enum Pending {
    User(Box<User>),
    /// The half-finished sign-in is older than the configured minutes: start again.
    Expired,
    None,
}

async fn pending_user(state: &AppState, ctx: &Ctx) -> AppResult<Pending> {
    let Some(id) = ctx.session.get::<Uuid>(PENDING_USER).await? else {
        return Ok(Pending::None);
    };
    let since = ctx.session.get::<i64>(PENDING_AT).await?.unwrap_or(0);
    if now() - since >= state.config().pending_secs {
        ctx.session.flush().await?;
        return Ok(Pending::Expired);
    }
    Ok(match db::users::by_id(state.pool(), id).await? {
        Some(u) if !u.disabled && u.totp_enabled => Pending::User(Box::new(u)),
        _ => Pending::None,
    })
}

/// Where someone goes who owes no second factor (any more).
fn back_to_sign_in(pending: &Pending) -> Response {
    let to = match pending {
        Pending::Expired => "/login?expired=1",
        _ => "/login",
    };
    Redirect::to(to).into_response()
}

async fn second_factor_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let pending = pending_user(&state, &ctx).await?;
    if !matches!(pending, Pending::User(_)) {
        return Ok(back_to_sign_in(&pending));
    }
    ok(&SecondFactorPage {
        layout: Layout::new(&state, &ctx, "Two-factor sign-in", "login"),
        next: safe_next(&q.next),
        error: None,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SecondFactorForm {
    code: String,
    next: String,
}

/// A code as typed: six digits or a recovery code, with spaces and dashes.
type Code = Text<40>;

async fn second_factor_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SecondFactorForm>,
) -> AppResult<Response> {
    let user = match pending_user(&state, &ctx).await? {
        Pending::User(user) => user,
        other => return Ok(back_to_sign_in(&other)),
    };
    let next = safe_next(&form.next);
    let page = |error: String| SecondFactorPage {
        layout: Layout::new(&state, &ctx, "Two-factor sign-in", "login"),
        next: next.clone(),
        error: Some(error),
    };
    if let Some((lock, message)) = locked_out(&state, &user.email, &ctx.address).await? {
        audit_locked(&state, &ctx, &lock, &user.email).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page(message));
    }
    let code = Code::parse(&form.code).unwrap_or_default();
    let method = match second_factor(&state, &user, &code).await? {
        Some(method) => method,
        None => {
            failed(&state, &ctx, &user.email, "wrong second factor").await?;
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page("That code is not right, or it was already used. Enter the current six-digit code or an unused recovery code.".into()),
            );
        }
    };
    complete_sign_in(&state, &ctx, &user, method).await?;
    Ok(Redirect::to(&next).into_response())
}

/// Checks a second factor: the current authenticator code (never twice), or an unused
/// recovery code (used up). Returns how the user proved it.
pub async fn second_factor(
    state: &AppState,
    user: &User,
    code: &Code,
) -> AppResult<Option<&'static str>> {
    let t = now().max(0) as u64;
    if let Some(step) = user
        .totp_secret
        .as_deref()
        .and_then(|s| check_totp(s, code, t, user.totp_last_step))
        && db::users::advance_totp_step(state.pool(), user.id, step).await?
    {
        return Ok(Some("password and authenticator code"));
    }
    if code.len() >= 10 {
        let stored = db::users::unused_recovery_hashes(state.pool(), user.id).await?;
        if let Some(hash) = match_recovery_code(code, stored).await
            && db::users::use_recovery_code(state.pool(), user.id, &hash).await?
        {
            return Ok(Some("password and recovery code"));
        }
    }
    Ok(None)
}

async fn logout_post(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let sso = ctx
        .session
        .get::<Uuid>(crate::web::sso::SIGNED_IN_WITH)
        .await?;
    if ctx.user.is_some() {
        db::audit::record_alone(
            state.pool(),
            &ctx.actor(),
            Entry {
                action: "auth.logout",
                assessment_id: None,
                project_id: None,
                summary: "Signed out".to_owned(),
                details: serde_json::json!({}),
            },
        )
        .await?;
    }
    // Deletes the session from the store: the old cookie is worthless afterwards.
    ctx.session.flush().await?;
    Ok(match sso {
        // Signed in with an institution's provider: the page offers its logout too.
        Some(institution) => {
            Redirect::to(&format!("/login?signed_out=1&sso={institution}")).into_response()
        }
        None => Redirect::to("/login?signed_out=1").into_response(),
    })
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_followed() {
        for ok in [
            "/",
            "/projects",
            "/cases?q=a%20b&sort=title",
            "/assessments/x#y",
        ] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "projects",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil",
            "/\r/evil",
            "/\0",
            "/\u{200b}/evil.example",
            "/login?next=/x",
            "https://evil.example/",
            "/ /evil",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
