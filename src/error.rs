//! One error type for the web layer. Client errors render a helpful page; server
//! errors are logged once with their detail and shown to the user without it.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// An error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
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
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address, or it is not yours to see.".to_owned(),
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
