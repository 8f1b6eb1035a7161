//! The start page (for visitors the areas by colour; for a signed-in user the page of
//! their role), the areas overview, area pages and the readable rulebook.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::domain::rulebook::{Area, Colour, Rule, Rulebook, Step};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::layout::{Layout, ok};
use crate::web::session::Ctx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home_get))
        .route("/areas", get(overview_get))
        .route("/areas/{code}", get(area_get))
        .route("/rulebook", get(rulebook_get))
}

/// Areas of one colour, for a column of the home page.
struct ColourGroup<'a> {
    colour: Colour,
    heading: &'static str,
    meaning: &'static str,
    areas: Vec<&'a Area>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct HomePage<'a> {
    layout: Layout,
    rulebook: &'a Rulebook,
    groups: Vec<ColourGroup<'a>>,
}

/// Visitors see the areas by colour; a signed-in user the start page of their role.
async fn home_get(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    if ctx.user.is_some() {
        return crate::web::start::start_page(&state, ctx).await;
    }
    overview(&state, &ctx).await
}

async fn overview_get(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    overview(&state, &ctx).await
}

async fn overview(state: &AppState, ctx: &Ctx) -> AppResult<Response> {
    let rulebook = state.active_rulebook().await?;
    let groups = [
        (
            Colour::Green,
            "Green: promising",
            "Less prone to risk. Still assessed project by project.",
        ),
        (
            Colour::Orange,
            "Orange: assess in depth",
            "Prone to risk but with opportunities, or of strategic importance to Europe. An in-depth risk-benefit assessment is required.",
        ),
        (
            Colour::Red,
            "Red: not recommended",
            "Important caveats in many sub-areas. Collaboration is not recommended in general.",
        ),
    ]
    .into_iter()
    .map(|(colour, heading, meaning)| ColourGroup {
        colour,
        heading,
        meaning,
        areas: rulebook.areas().iter().filter(|a| a.colour == colour).collect(),
    })
    .collect();
    ok(&HomePage {
        layout: Layout::new(
            state,
            ctx,
            "Screening EU-China research collaborations",
            "home",
        ),
        rulebook: &rulebook,
        groups,
    })
}

#[derive(Template)]
#[template(path = "area.html")]
struct AreaPage<'a> {
    layout: Layout,
    area: &'a Area,
}

async fn area_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let rulebook = state.active_rulebook().await?;
    let area = rulebook.area(&code).ok_or(AppError::NotFound)?;
    ok(&AreaPage {
        layout: Layout::new(&state, &ctx, area.name.clone(), "home"),
        area,
    })
}

#[derive(Template)]
#[template(path = "rulebook.html")]
struct RulebookPage<'a> {
    layout: Layout,
    rulebook: &'a Rulebook,
    steps: &'a [Step],
    rules: &'a [Rule],
}

async fn rulebook_get(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let rulebook = state.active_rulebook().await?;
    ok(&RulebookPage {
        layout: Layout::new(&state, &ctx, "Rulebook", "rulebook"),
        rulebook: &rulebook,
        steps: rulebook.steps(),
        rules: rulebook.rules(),
    })
}
