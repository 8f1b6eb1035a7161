//! A minimal route for the benchmark's baseline: one trivial query and a tiny template,
//! on the same server and pool as the real pages. Mounted only with TRIAGE_BENCH_ROUTES=true.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::ok;

pub fn router() -> Router<AppState> {
    Router::new().route("/bench/baseline", get(baseline_get))
}

#[derive(Template)]
#[template(
    source = "<!doctype html><title>baseline</title><p>{{ n }}</p>",
    ext = "html"
)]
struct Baseline {
    n: i32,
}

async fn baseline_get(State(state): State<AppState>) -> AppResult<Response> {
    let n: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(state.pool())
        .await?;
    ok(&Baseline { n })
}
