//! The HTTP layer: one module per resource, each exposing `router()`.

mod api;
mod assets;
mod forms;
mod health;
mod home;
mod layout;
mod projects;
mod register;
mod security;
mod wizard;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

pub use layout::Layout;

/// The whole application: routes, middleware and state.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(home::router())
        .merge(projects::router())
        .merge(wizard::router())
        .merge(register::router())
        .merge(api::router())
        .merge(health::router())
        .merge(assets::router())
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::from_fn(
            security::refuse_cross_site_writes,
        ))
        .layer(axum::middleware::from_fn(security::add_headers))
        // The fastest level: the default one halves throughput for little gain on HTML.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(RequestBodyLimitLayer::new(256 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(security::panic_response))
        .with_state(state)
}
