//! "Forgot your password?": a single-use link by mail, valid for an hour and stored
//! only as its SHA-256. The page answers the same whether or not an account has the
//! address; using the link sets the password and ends every session of the account.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::{hash_password, link_token, token_hash};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::db::users::User;
use crate::domain::account::{MAX_EMAIL, check_password, parse_email};
use crate::domain::answers::FieldError;
use crate::error::AppResult;
use crate::mail::{MailSettings, Notification, Recipient, notify};
use crate::state::AppState;
use crate::web::extract::{Form, Query};
use crate::web::forms::Errors;
use crate::web::layout::{Layout, notice, ok, render};
use crate::web::session::Ctx;

/// How long a reset link works.
pub const RESET_VALID: Duration = Duration::hours(1);
/// At most this many links per account and hour: the rest are not sent (the page
/// still answers the same).
const RESETS_PER_HOUR: i64 = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_get).post(forgot_post))
        .route("/password/reset", get(reset_get).post(reset_post))
}

#[derive(Template)]
#[template(path = "password/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ForgotQuery {
    sent: Option<String>,
}

async fn forgot_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ForgotQuery>,
) -> AppResult<Response> {
    ok(&ForgotPage {
        layout: Layout::new(&state, &ctx, "Forgot your password?", "login")
            .with_notice(notice(q.sent.as_ref().map(|_| "reset_sent"))),
        email: String::new(),
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ForgotForm {
    email: String,
}

/// Writes a reset link for an account to the outbox, in the caller's transaction.
pub async fn send_reset_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    mail: &MailSettings,
    user: &User,
    why: &str,
) -> sqlx::Result<()> {
    let (token, hash) = link_token();
    db::tokens::add_reset(tx, &hash, user.id, OffsetDateTime::now_utc() + RESET_VALID).await?;
    notify(
        tx,
        mail,
        &[Recipient {
            id: Some(user.id),
            email: user.email.clone(),
            digest: false,
        }],
        &Notification {
            kind: "account.password_reset",
            assessment_id: None,
            subject: "Choose a new triage password".to_owned(),
            body: format!(
                "{why}\n\nOpen this link within an hour to choose a new password. It works once; \
                 using it signs your account out everywhere else.\n\n{}\n\n\
                 If you did not ask for this, ignore this mail: your password stays as it is.",
                mail.link(&format!("/password/reset?token={token}"))
            ),
        },
    )
    .await
}

async fn forgot_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ForgotForm>,
) -> AppResult<Response> {
    let Ok(email) = parse_email(&form.email) else {
        let page = ForgotPage {
            layout: Layout::new(&state, &ctx, "Forgot your password?", "login"),
            email: form.email.chars().take(MAX_EMAIL).collect(),
            errors: Errors(vec![FieldError::new(
                "email",
                "Enter your email address, like name@example.org.",
            )]),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let user = db::users::by_email(state.pool(), &email).await?;
    let actor = Actor {
        id: None,
        email: Some(email.clone()),
        address: ctx.address.clone(),
    };
    let mut tx = state.pool().begin().await?;
    let sent = match &user {
        Some(u)
            if !u.disabled
                && u.institution_active
                && db::tokens::recent_resets(state.pool(), u.id).await? < RESETS_PER_HOUR =>
        {
            send_reset_link(
                &mut tx,
                &state.config().mail,
                u,
                "Someone (we hope you) asked to reset the password of your triage account.",
            )
            .await?;
            true
        }
        _ => false,
    };
    db::audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "auth.reset_requested",
            assessment_id: None,
            project_id: None,
            summary: if sent {
                "Password reset asked for; a link was sent".to_owned()
            } else {
                "Password reset asked for; nothing sent (no usable account, or too many links this hour)".to_owned()
            },
            details: serde_json::json!({ "sent": sent, "user": user.as_ref().map(|u| u.id) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/password/forgot?sent=1").into_response())
}

#[derive(Template)]
#[template(path = "password/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    /// The link is unknown, used or expired.
    dead: bool,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

async fn live_token(state: &AppState, token: &str) -> AppResult<Option<Uuid>> {
    if token.is_empty() || token.len() > 200 {
        return Ok(None);
    }
    Ok(db::tokens::reset_user(state.pool(), &token_hash(token)).await?)
}

fn dead_link(state: &AppState, ctx: &Ctx) -> AppResult<Response> {
    render(
        StatusCode::NOT_FOUND,
        &ResetPage {
            layout: Layout::new(state, ctx, "This link no longer works", "login"),
            token: String::new(),
            dead: true,
            errors: Errors::default(),
        },
    )
}

async fn reset_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    if live_token(&state, &q.token).await?.is_none() {
        return dead_link(&state, &ctx);
    }
    ok(&ResetPage {
        layout: Layout::new(&state, &ctx, "Choose a new password", "login"),
        token: q.token,
        dead: false,
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ResetForm>,
) -> AppResult<Response> {
    let Some(user_id) = live_token(&state, &form.token).await? else {
        return dead_link(&state, &ctx);
    };
    let Some(user) = db::users::by_id(state.pool(), user_id).await? else {
        return dead_link(&state, &ctx);
    };
    if let Err(message) = check_password(&form.password, &[&user.email, &user.display_name]) {
        let page = ResetPage {
            layout: Layout::new(&state, &ctx, "Choose a new password", "login"),
            token: form.token,
            dead: false,
            errors: Errors(vec![FieldError::new("password", message)]),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let hash = hash_password(form.password.clone()).await?;
    let mut tx = state.pool().begin().await?;
    // Used up here: a second use of the same link (or a race) finds nothing.
    if db::tokens::use_reset(&mut tx, &token_hash(&form.token))
        .await?
        .is_none()
    {
        tx.rollback().await?;
        return dead_link(&state, &ctx);
    }
    db::users::set_password(&mut tx, user.id, &hash).await?;
    db::users::end_sessions(&mut tx, user.id).await?;
    let actor = Actor {
        id: Some(user.id),
        email: Some(user.email.clone()),
        address: ctx.address.clone(),
    };
    db::audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "auth.password_reset",
            assessment_id: None,
            project_id: None,
            summary: "Password set with a reset link; every session of the account ended"
                .to_owned(),
            details: serde_json::json!({ "user": user.id }),
        },
    )
    .await?;
    tx.commit().await?;
    db::users::clear_failures(state.pool(), &user.email).await?;
    ctx.session.flush().await?;
    Ok(Redirect::to("/login?notice=password_reset").into_response())
}
