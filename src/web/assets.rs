//! The stylesheet and script, compiled into the binary so that any app server can
//! serve them without a shared folder.

use crate::web::extract::Path;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "triage.css",
        "text/css; charset=utf-8",
        include_str!("../../static/triage.css"),
    ),
    (
        "review.css",
        "text/css; charset=utf-8",
        include_str!("../../static/review.css"),
    ),
    (
        "triage.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/triage.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{file}", get(asset_get))
}

async fn asset_get(Path(file): Path<String>) -> Result<Response, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            // Short enough that a new release's styles arrive the same day.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *body,
    )
        .into_response())
}
