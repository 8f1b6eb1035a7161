//! The partner register: the list of entries and the live screening of a typed name.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;

use crate::db;
use crate::error::AppResult;
use crate::screening::{MatchQuality, RegisterEntry, RegisterMatch};
use crate::state::AppState;
use crate::web::layout::{Layout, datetime, ok};
use crate::web::session::Signed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_get))
        .route("/register/match", get(register_match_get))
}

/// The screening result shown beside the partner name.
pub struct MatchView {
    pub typed: String,
    pub found: Option<FoundView>,
}

pub struct FoundView {
    pub entry: RegisterEntry,
    pub matched_on: String,
    /// "exact name", "same name written differently", "close spelling: check it is the same organisation".
    pub quality: &'static str,
    pub flags: Vec<String>,
}

/// Describes a register flag for people.
pub fn flag_label(flag: &str) -> String {
    match flag {
        "military_links" => "Military or defence links".to_owned(),
        "restricted_list" => "On a sanctions or restricted-party list".to_owned(),
        "talent_programme" => "State talent-programme recruitment".to_owned(),
        other => other.replace('_', " "),
    }
}

pub fn match_view(typed: &str, found: Option<&RegisterMatch>) -> MatchView {
    MatchView {
        typed: typed.to_owned(),
        found: found.map(|m| FoundView {
            entry: m.entry.clone(),
            matched_on: m.matched_on.clone(),
            quality: match m.quality {
                MatchQuality::Exact => "exact name",
                MatchQuality::Normalised => "same name, written differently",
                MatchQuality::Close => "close spelling: check that it is the same organisation",
            },
            flags: m.entry.flags.iter().map(|f| flag_label(f)).collect(),
        }),
    }
}

#[derive(Template)]
#[template(path = "register/list.html")]
struct RegisterPage {
    layout: Layout,
    entries: Vec<RegisterEntry>,
    last_import: Option<(String, i32, String)>,
}

async fn register_get(State(state): State<AppState>, s: Signed) -> AppResult<Response> {
    let register = state.register().await?;
    let last_import = db::register::last_import(state.pool())
        .await?
        .map(|(file, n, at)| (file, n, datetime(&at)));
    ok(&RegisterPage {
        layout: Layout::new(&state, &s.ctx, "Partner register", "register"),
        entries: register.entries().to_vec(),
        last_import,
    })
}

#[derive(Template)]
#[template(path = "register/match.html")]
struct MatchFragment {
    partner: Option<MatchView>,
}

#[derive(serde::Deserialize)]
struct MatchQuery {
    #[serde(default)]
    name: String,
}

/// An HTML fragment for the wizard's script; the page works without it.
async fn register_match_get(
    State(state): State<AppState>,
    _signed: Signed,
    Query(q): Query<MatchQuery>,
) -> AppResult<Response> {
    let name: String = q.name.chars().take(300).collect();
    let partner = if name.trim().is_empty() {
        None
    } else {
        let register = state.register().await?;
        Some(match_view(&name, register.find(&name).as_ref()))
    };
    ok(&MatchFragment { partner })
}
