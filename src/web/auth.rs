//! Sign-in (password, then TOTP or a recovery code when enrolled) and sign-out.
//! Failed attempts are counted per account and per address; past the limit the
//! sign-in is refused for the rest of the window, with a message that says so.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::auth::{check_totp, random_token, recovery_digest, verify_password};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::forms::Form;
use crate::web::layout::{Layout, ok, render};
use crate::web::session::{CSRF, Ctx, PENDING_USER, USER_ID, csrf_token, session_error};

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
}

/// Only local paths, so the sign-in page cannot be used to send people elsewhere.
fn safe_next(next: &str) -> String {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/login")
    {
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
}

async fn login_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(&safe_next(&q.next)).into_response());
    }
    let mut ctx = ctx;
    ctx.csrf = csrf_token(&ctx.session).await?;
    let signed_out = q.signed_out.is_some().then_some("signed_out");
    ok(&LoginPage {
        layout: Layout::new(&state, &ctx, "Sign in", "login")
            .with_notice(crate::web::layout::notice(signed_out)),
        email: String::new(),
        next: safe_next(&q.next),
        error: None,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: String,
}

/// Refuses when the account or the address has failed too often in the window.
async fn locked_out(state: &AppState, email: &str, address: &str) -> AppResult<Option<String>> {
    let cfg = state.config();
    let (by_account, by_address) =
        db::users::recent_failures(state.pool(), email, address, cfg.lockout_window_secs).await?;
    let minutes = (cfg.lockout_window_secs + 59) / 60;
    Ok(if by_account >= cfg.max_failures_per_account {
        Some(format!(
            "Too many failed sign-ins for this account. Sign-in is blocked for up to {minutes} minutes; \
             try again later or ask an administrator."
        ))
    } else if by_address >= cfg.max_failures_per_address {
        Some(format!(
            "Too many failed sign-ins from your network address. Sign-in is blocked for up to {minutes} minutes."
        ))
    } else {
        None
    })
}

/// Records a sign-in event for someone not (yet) signed in.
async fn audit_attempt(
    state: &AppState,
    ctx: &Ctx,
    email: &str,
    action: &str,
    summary: String,
) -> AppResult<()> {
    let actor = Actor {
        id: None,
        email: Some(email.to_owned()),
        address: ctx.address.clone(),
    };
    let entry = Entry {
        action,
        assessment_id: None,
        project_id: None,
        summary,
        details: serde_json::json!({}),
    };
    db::audit::record_alone(state.pool(), &actor, entry).await?;
    Ok(())
}

/// A refused attempt during a lockout is on the record but does not extend the lock.
async fn audit_locked(state: &AppState, ctx: &Ctx, email: &str) -> AppResult<()> {
    audit_attempt(
        state,
        ctx,
        email,
        "auth.login_locked",
        "Sign-in refused: too many failed attempts".into(),
    )
    .await
}

async fn failed(state: &AppState, ctx: &Ctx, email: &str, reason: &str) -> AppResult<()> {
    db::users::record_failure(state.pool(), email, &ctx.address).await?;
    audit_attempt(
        state,
        ctx,
        email,
        "auth.login_failed",
        format!("Failed sign-in: {reason}"),
    )
    .await
}

async fn login_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    let next = safe_next(&form.next);
    let page = |error: String| LoginPage {
        layout: Layout::new(&state, &ctx, "Sign in", "login"),
        email: form.email.chars().take(254).collect(),
        next: next.clone(),
        error: Some(error),
    };
    if let Some(message) = locked_out(&state, &email, &ctx.address).await? {
        audit_locked(&state, &ctx, &email).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page(message));
    }
    let user = db::users::by_email(state.pool(), &email).await?;
    let password_ok = verify_password(
        form.password.clone(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let user = match user {
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
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page("The email address or the password is not right.".into()),
            );
        }
    };
    // A new session id at every change of privilege, so a planted id is worthless.
    ctx.session.cycle_id().await.map_err(session_error)?;
    if user.totp_enabled {
        ctx.session
            .insert(PENDING_USER, user.id)
            .await
            .map_err(session_error)?;
        return Ok(
            Redirect::to(&format!("/login/two-factor?next={}", urlencode(&next))).into_response(),
        );
    }
    complete_sign_in(&state, &ctx, &user, "password").await?;
    Ok(Redirect::to(&next).into_response())
}

async fn complete_sign_in(state: &AppState, ctx: &Ctx, user: &User, method: &str) -> AppResult<()> {
    ctx.session
        .remove::<Uuid>(PENDING_USER)
        .await
        .map_err(session_error)?;
    ctx.session
        .insert(USER_ID, user.id)
        .await
        .map_err(session_error)?;
    ctx.session
        .insert(CSRF, random_token(32))
        .await
        .map_err(session_error)?;
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

async fn pending_user(state: &AppState, ctx: &Ctx) -> AppResult<Option<User>> {
    match ctx
        .session
        .get::<Uuid>(PENDING_USER)
        .await
        .map_err(session_error)?
    {
        Some(id) => Ok(db::users::by_id(state.pool(), id)
            .await?
            .filter(|u| !u.disabled && u.totp_enabled)),
        None => Ok(None),
    }
}

async fn second_factor_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if pending_user(&state, &ctx).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
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

async fn second_factor_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SecondFactorForm>,
) -> AppResult<Response> {
    let Some(user) = pending_user(&state, &ctx).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let next = safe_next(&form.next);
    let page = |error: String| SecondFactorPage {
        layout: Layout::new(&state, &ctx, "Two-factor sign-in", "login"),
        next: next.clone(),
        error: Some(error),
    };
    if let Some(message) = locked_out(&state, &user.email, &ctx.address).await? {
        audit_locked(&state, &ctx, &user.email).await?;
        return render(StatusCode::TOO_MANY_REQUESTS, &page(message));
    }
    let code = form.code.trim();
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let by_totp = match user
        .totp_secret
        .as_deref()
        .and_then(|s| check_totp(s, code, now, user.totp_last_step))
    {
        Some(step) => db::users::advance_totp_step(state.pool(), user.id, step).await?,
        None => false,
    };
    let method = if by_totp {
        "password and authenticator code"
    } else if code.len() >= 10
        && db::users::use_recovery_code(state.pool(), user.id, &recovery_digest(code)).await?
    {
        "password and recovery code"
    } else {
        failed(&state, &ctx, &user.email, "wrong second factor").await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page("That code is not right, or it was already used. Enter the current six-digit code or an unused recovery code.".into()),
        );
    };
    ctx.session.cycle_id().await.map_err(session_error)?;
    complete_sign_in(&state, &ctx, &user, method).await?;
    Ok(Redirect::to(&next).into_response())
}

async fn logout_post(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
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
    ctx.session.flush().await.map_err(session_error)?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        session_error(e)
    }
}
