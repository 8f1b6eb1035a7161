//! Minimal routes for the benchmark's two baselines, on the same server and pool as the
//! real pages: one trivial query and a tiny template; and the same tiny template behind
//! the session and the reviewer's access extractor that every reviewer page goes
//! through. Mounted only with TRIAGE_BENCH_ROUTES=true.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppResult;
use crate::state::AppState;
use crate::web::extract::Reviewer;
use crate::web::layout::ok;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bench/baseline", get(baseline_get))
        .route("/bench/signed-in", get(signed_in_get))
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

#[derive(Template)]
#[template(
    source = "<!doctype html><title>baseline</title><p>{{ name }}</p>",
    ext = "html"
)]
struct SignedIn<'a> {
    name: &'a str,
}

async fn signed_in_get(reviewer: Reviewer) -> AppResult<Response> {
    ok(&SignedIn {
        name: &reviewer.user.display_name,
    })
}
