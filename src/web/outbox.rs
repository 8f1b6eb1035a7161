//! The mail outbox for administrators: every message triage wrote, with its delivery
//! state. Without SMTP it is where mail is read.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::db;
use crate::db::outbox::Mail;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Admin, Path};
use crate::web::layout::{Layout, ok};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(outbox_get))
        .route("/admin/outbox/{id}", get(mail_get))
}

/// The delivery state in words.
pub fn status_words(mail: &Mail) -> String {
    match mail.status.as_str() {
        "held" => "Kept here (no SMTP server is configured)".to_owned(),
        "queued" if mail.attempts == 0 && mail.delivery == "digest" => {
            "Waiting for the daily digest".to_owned()
        }
        "queued" if mail.attempts == 0 => "Waiting to be sent".to_owned(),
        "queued" => format!(
            "Not sent yet: {} failed attempt(s), trying again",
            mail.attempts
        ),
        "sent" => "Sent".to_owned(),
        "digested" => "Sent in a daily digest".to_owned(),
        "failed" => "Failed: given up".to_owned(),
        other => other.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    layout: Layout,
    mails: Vec<Mail>,
    counts: Vec<(String, i64)>,
    smtp: bool,
}

async fn outbox_get(State(state): State<AppState>, Admin(s): Admin) -> AppResult<Response> {
    ok(&OutboxPage {
        layout: Layout::new(&state, &s.ctx, "Mail outbox", "admin"),
        mails: db::outbox::recent(state.pool(), 200).await?,
        counts: db::outbox::counts(state.pool()).await?,
        smtp: state.config().mail.smtp_url.is_some(),
    })
}

#[derive(Template)]
#[template(path = "admin/outbox_mail.html")]
struct MailPage {
    layout: Layout,
    mail: Mail,
}

async fn mail_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let mail = db::outbox::get(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    ok(&MailPage {
        layout: Layout::new(&state, &s.ctx, mail.subject.clone(), "admin"),
        mail,
    })
}
