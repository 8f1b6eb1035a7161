//! Administrators' account actions that need a reason: forcing a password reset (the
//! password stops working, every session ends, a reset link is mailed) and resetting
//! someone's two-factor sign-in. Both are audited with the reason.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::users::User;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Admin, Form, Path};
use crate::web::forms::{Check, Errors};
use crate::web::layout::{Layout, render};
use crate::web::password_reset::send_reset_link;

/// A password that matches nothing: the account can only sign in after a reset.
pub const NO_PASSWORD: &str = "!no password: reset required";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{id}/force-reset", post(force_reset_post))
        .route("/admin/users/{id}/reset-two-factor", post(reset_totp_post))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ReasonForm {
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/account_action.html")]
struct ActionPage {
    layout: Layout,
    user: User,
    action: &'static str,
    heading: &'static str,
    button: &'static str,
    reason: String,
    errors: Errors,
}

/// The reason, or the page again with a message beside its field.
fn reason_or_page(
    state: &AppState,
    s: &crate::web::session::Signed,
    user: &User,
    raw: &str,
    (action, heading, button): (&'static str, &'static str, &'static str),
) -> Result<String, Box<AppResult<Response>>> {
    let mut check = Check::default();
    let reason = check.required::<500>(
        "reason",
        raw,
        "Give the reason (1 to 500 characters); it is kept in the audit log.",
    );
    match reason {
        Some(r) if check.is_empty() => Ok(r.into_string()),
        _ => Err(Box::new(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ActionPage {
                layout: Layout::new(state, &s.ctx, heading, "admin"),
                user: user.clone(),
                action,
                heading,
                button,
                reason: raw.to_owned(),
                errors: Errors(check.into_errors()),
            },
        ))),
    }
}

async fn force_reset_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<ReasonForm>,
) -> AppResult<Response> {
    let user = db::users::by_id(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reason = match reason_or_page(
        &state,
        &s,
        &user,
        &f.reason,
        (
            "force-reset",
            "Force a password reset",
            "Force a password reset",
        ),
    ) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let mut tx = state.pool().begin().await?;
    db::users::set_password(&mut tx, user.id, NO_PASSWORD).await?;
    db::users::end_sessions(&mut tx, user.id).await?;
    send_reset_link(
        &mut tx,
        &state.config().mail,
        &user,
        "An administrator of triage asked you to choose a new password: your old password no longer works.",
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.force_password_reset",
            assessment_id: None,
            project_id: None,
            summary: format!("Forced a password reset of {}: {reason}", user.email),
            details: serde_json::json!({ "user": user.id, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{}?notice=force_reset", user.id)).into_response())
}

async fn reset_totp_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<ReasonForm>,
) -> AppResult<Response> {
    let user = db::users::by_id(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reason = match reason_or_page(
        &state,
        &s,
        &user,
        &f.reason,
        (
            "reset-two-factor",
            "Reset two-factor sign-in",
            "Reset two-factor sign-in",
        ),
    ) {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let mut tx = state.pool().begin().await?;
    db::users::disable_totp(&mut tx, user.id).await?;
    db::users::end_sessions(&mut tx, user.id).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.reset_two_factor",
            assessment_id: None,
            project_id: None,
            summary: format!("Reset two-factor sign-in of {}: {reason}", user.email),
            details: serde_json::json!({ "user": user.id, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{}?notice=totp_reset", user.id)).into_response())
}
