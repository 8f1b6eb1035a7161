//! The HTTP layer: one module per resource, each exposing `router()`.

mod account;
mod admin;
mod admin_accounts;
mod api;
mod assets;
pub mod attachments;
mod auth;
mod bench;
pub mod case;
pub(crate) mod cases;
mod dashboard;
mod decide;
mod exports;
pub mod extract;
mod forms;
mod health;
mod home;
mod institutions_admin;
mod invitations;
mod layout;
pub mod mitigations;
mod outbox;
mod password_reset;
mod project_edit;
mod projects;
mod queue;
mod register;
mod register_admin;
mod report_style;
mod requests;
mod rulebooks;
mod screening;
pub mod security;
pub mod session;
pub mod setup;
mod sso;
mod start;
mod wizard;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::error;
use crate::state::AppState;

pub use layout::Layout;

/// The whole application: routes, middleware and state.
pub fn app(state: AppState) -> Router {
    // Sessions live in PostgreSQL, so any app server can serve any request. The cookie
    // lasts as long as the browser (no Max-Age); the server ends a session after its
    // absolute lifetime or inactivity (see `session`). Over https the `__Host-` prefix
    // keeps the cookie to this exact host, Secure and for every path.
    let secure = state.config().secure_cookies;
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool().clone()))
        .with_name(if secure {
            "__Host-triage_session"
        } else {
            "triage_session"
        })
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnSessionEnd);
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
        .merge(project_edit::router())
        .merge(auth::router())
        .merge(setup::router())
        .merge(sso::router())
        .merge(institutions_admin::router())
        .merge(invitations::router())
        .merge(password_reset::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(admin_accounts::router())
        .merge(wizard::router())
        .merge(case::router())
        .merge(decide::router())
        .merge(requests::router())
        .merge(queue::router())
        .merge(cases::router())
        .merge(dashboard::router())
        .merge(register::router())
        .merge(rulebooks::router())
        .merge(api::router())
        .merge(health::router())
        .merge(assets::router())
        .merge(register_admin::router())
        .merge(report_style::router())
        .merge(screening::router())
        .merge(outbox::router())
        .merge(attachments::router())
        .merge(mitigations::router())
        .layer(RequestBodyLimitLayer::new(256 * 1024));
    // Innermost first: each layer wraps the ones above it.
    Router::new()
        .merge(limited)
        .merge(register_admin::upload_router())
        .merge(attachments::upload_router(state.storage().max_bytes))
        .fallback(|| async { error::not_found_page() })
        .layer(from_fn_with_state(state.clone(), security::verify_csrf))
        .layer(from_fn_with_state(state.clone(), security::audit_refusals))
        .layer(sessions)
        .layer(from_fn(security::refuse_cross_site_writes))
        // The fastest level: the default one halves throughput for little gain on HTML.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(from_fn_with_state(state.clone(), security::time_limit))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn(security::limit_request_size))
        .layer(CatchPanicLayer::custom(security::panic_response))
        // Outermost, so every answer above carries the security headers.
        .layer(from_fn_with_state(state.clone(), security::add_headers))
        .with_state(state)
}
