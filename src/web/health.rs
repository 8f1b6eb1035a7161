//! Health checks for load balancers and orchestrators:
//! - `GET /healthz/live`: the process serves requests (no database involved); restart it
//!   when this fails.
//! - `GET /healthz/ready`: the database answers within a second, a pooled connection
//!   included; send no traffic while this fails.
//! - `GET /healthz`: as before, the same as `/healthz/ready`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ready_get))
        .route("/healthz/ready", get(ready_get))
        .route("/healthz/live", get(live_get))
}

async fn live_get() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

async fn ready_get(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = async {
        let mut conn = state.pool().acquire().await?;
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&mut *conn)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(1), ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out\n"),
    }
}
