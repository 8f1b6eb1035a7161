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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
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
            AppError::Database(_) | AppError::Template(_) | AppError::Internal(_) => {
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
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

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
