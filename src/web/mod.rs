//! The HTTP layer: one module per resource, each exposing `router()`.

mod account;
mod admin;
mod api;
mod assets;
mod auth;
mod bench;
mod case;
mod cases;
mod dashboard;
mod forms;
mod health;
mod home;
mod layout;
mod outbox;
mod projects;
mod register;
mod register_admin;
mod rulebooks;
mod screening;
mod security;
mod session;
mod wizard;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::error::AppError;
use crate::state::AppState;

pub use layout::Layout;

/// The whole application: routes, middleware and state.
pub fn app(state: AppState) -> Router {
    // Sessions live in PostgreSQL, so any app server can serve any request.
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool().clone()))
        .with_name("triage_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config().secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
    let bench = if state.config().bench_routes {
        bench::router()
    } else {
        Router::new()
    };
    // Every route but the register upload takes small bodies.
    let limited = Router::new()
        .merge(bench)
        .merge(home::router())
        .merge(projects::router())
        .merge(auth::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(wizard::router())
        .merge(case::router())
        .merge(cases::router())
        .merge(dashboard::router())
        .merge(register::router())
        .merge(rulebooks::router())
        .merge(api::router())
        .merge(health::router())
        .merge(assets::router())
        .merge(register_admin::router())
        .merge(screening::router())
        .merge(outbox::router())
        .layer(RequestBodyLimitLayer::new(256 * 1024));
    Router::new()
        .merge(limited)
        .merge(register_admin::upload_router())
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::from_fn(security::verify_csrf))
        .layer(sessions)
        .layer(axum::middleware::from_fn(
            security::refuse_cross_site_writes,
        ))
        .layer(axum::middleware::from_fn(security::add_headers))
        // The fastest level: the default one halves throughput for little gain on HTML.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(security::panic_response))
        .with_state(state)
}
