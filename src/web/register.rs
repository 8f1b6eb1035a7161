//! The partner register for every signed-in user: the lists, a search, each entry with
//! its evidence and history, and the live screening of a typed partner name.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::db;
use crate::domain::text::Text;
use crate::domain::verdict::{Identity, RegisterHit};
use crate::error::{AppError, AppResult};
use crate::screening::{Certainty, Entry, FlagKind, Hit, List, Screening};
use crate::state::AppState;
use crate::web::extract::{Path, Query};
use crate::web::layout::{Layout, datetime, ok, render};
use crate::web::session::Signed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_get))
        .route("/register/match", get(register_match_get))
        .route("/register/entries/{id}", get(entry_get))
}

/// Describes a register flag for people.
pub fn flag_label(flag: &str) -> String {
    FlagKind::parse(flag).map_or_else(|| flag.replace('_', " "), |f| f.label().to_owned())
}

/// A flag with its evidence, as shown.
pub struct FlagView {
    pub label: String,
    pub source: String,
    pub url: String,
    pub date: String,
    pub detail: String,
}

/// One organisation screening found.
pub struct HitView {
    pub entry_id: String,
    pub entry: String,
    pub place: String,
    pub list: &'static str,
    /// "Match" or "Possible match".
    pub certainty: &'static str,
    pub possible: bool,
    pub why: String,
    pub note: String,
    pub flags: Vec<FlagView>,
    /// The flagged organisation it belongs to, and that one's flags.
    pub parent: Option<(String, Vec<FlagView>)>,
    /// What a person decided about it on this case, in words.
    pub decision: Option<String>,
}

/// A screening result as the wizard, the live fragment and the case page show it.
pub struct ScreeningView {
    pub typed: String,
    /// "flagged", "plain", "possible" or "none": the CSS class.
    pub outcome: &'static str,
    pub heading: String,
    pub hits: Vec<HitView>,
    pub set_aside: Vec<String>,
    /// A possible match the officer may answer: (entry id, entry name, current answer).
    pub question: Option<(String, String, String)>,
}

fn flag_views(entry: &Entry) -> Vec<FlagView> {
    entry
        .flags
        .iter()
        .map(|f| FlagView {
            label: f.flag.label().to_owned(),
            source: f.source.clone(),
            url: f.url.clone(),
            date: f.date.clone(),
            detail: f.detail.clone(),
        })
        .collect()
}

fn place(entry: &Entry) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in [&entry.city, &entry.province, &entry.country] {
        if !p.is_empty() && !parts.contains(&p.as_str()) {
            parts.push(p);
        }
    }
    parts.join(", ")
}

fn hit_view(hit: &Hit, decision: Option<String>) -> HitView {
    HitView {
        entry_id: hit.entry.id.clone(),
        entry: hit.entry.name.clone(),
        place: place(&hit.entry),
        list: hit.entry.list.title(),
        certainty: match hit.certainty {
            Certainty::Match => "Match",
            Certainty::Possible => "Possible match",
        },
        possible: hit.certainty == Certainty::Possible,
        why: hit.why.clone(),
        note: hit.entry.note.clone(),
        flags: flag_views(&hit.entry),
        parent: hit
            .ancestors
            .iter()
            .find(|a| !a.flags.is_empty())
            .map(|a| (a.name.clone(), flag_views(a))),
        decision,
    }
}

/// The decision on a hit, in words.
pub fn decision_words(hit: &RegisterHit) -> Option<String> {
    let d = hit.identity.as_ref()?;
    Some(match d.decision {
        Identity::Same => format!(
            "{} confirmed that it is the same organisation ({}).",
            d.by, d.at
        ),
        Identity::Different => format!(
            "{} answered that it is a different organisation ({}).",
            d.by, d.at
        ),
        Identity::Dismissed => format!(
            "{} dismissed this match ({}): \u{201c}{}\u{201d}",
            d.by, d.at, d.reason
        ),
    })
}

/// The view of a screening; `decided` carries what people decided on a case.
pub fn screening_view(screening: &Screening, decided: &[RegisterHit]) -> ScreeningView {
    let decision_of = |id: &str| {
        decided
            .iter()
            .find(|h| h.entry_id == id)
            .and_then(decision_words)
    };
    let hits: Vec<HitView> = screening
        .hits
        .iter()
        .map(|h| hit_view(h, decision_of(&h.entry.id)))
        .collect();
    let question = screening
        .hits
        .iter()
        .find(|h| h.certainty == Certainty::Possible)
        .map(|h| {
            let answer = decided
                .iter()
                .find(|d| d.entry_id == h.entry.id)
                .and_then(|d| d.identity.as_ref())
                .map(|d| match d.decision {
                    Identity::Same => "same",
                    Identity::Different => "different",
                    Identity::Dismissed => "",
                })
                .unwrap_or_default();
            (h.entry.id.clone(), h.entry.name.clone(), answer.to_owned())
        });
    let flagged = hits
        .iter()
        .any(|h| !h.flags.is_empty() || h.parent.is_some());
    let (outcome, heading) = match screening.outcome {
        crate::screening::Outcome::Match if flagged => {
            ("flagged", "Partner register: match, with flags".to_owned())
        }
        crate::screening::Outcome::Match => {
            ("plain", "Partner register: match, no flags".to_owned())
        }
        crate::screening::Outcome::Possible => {
            ("possible", "Partner register: possible match".to_owned())
        }
        crate::screening::Outcome::NoMatch => {
            ("none", "Partner register: no entry found".to_owned())
        }
    };
    ScreeningView {
        typed: screening.typed.clone(),
        outcome,
        heading,
        hits,
        set_aside: screening.set_aside.clone(),
        question,
    }
}

#[derive(Template)]
#[template(path = "register/match.html")]
struct MatchFragment {
    screening: Option<ScreeningView>,
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
    // A name with control characters matches nothing; the fragment then shows nothing.
    let name = Text::<300>::parse(&q.name).unwrap_or_default();
    let screening = if name.is_empty() {
        None
    } else {
        Some(screening_view(&state.screen(&name).await?.1, &[]))
    };
    ok(&MatchFragment { screening })
}

#[derive(Template)]
#[template(path = "register/list.html")]
struct RegisterPage {
    layout: Layout,
    q: String,
    screening: Option<ScreeningView>,
    /// Entries whose name contains the search, any list.
    found: Vec<Entry>,
    curated: Vec<Entry>,
    counts: Vec<(String, i64)>,
    last_change: Option<(String, String, String)>,
    /// Why the search could not be run, beside the search field.
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn register_get(
    State(state): State<AppState>,
    s: Signed,
    Query(query): Query<SearchQuery>,
) -> AppResult<Response> {
    let register = state.register().await?;
    let (q, error) = match Text::<300>::parse(&query.q) {
        Ok(q) => (q.into_string(), None),
        Err(e) => (String::new(), Some(e.message())),
    };
    let (screening, found) = if q.is_empty() {
        (None, Vec::new())
    } else {
        let needle = crate::screening::normalise::fold_latin(&q);
        let found = register
            .entries()
            .iter()
            .filter(|e| {
                e.all_names()
                    .any(|(n, _)| crate::screening::normalise::fold_latin(n).contains(&needle))
            })
            .take(50)
            .cloned()
            .collect();
        (Some(screening_view(&register.screen(&q), &[])), found)
    };
    let counts = db::register::counts(state.pool())
        .await?
        .into_iter()
        .map(|(list, n)| (List::parse(&list).map_or(list, |l| l.title().to_owned()), n))
        .collect();
    let last_change = db::register::revisions(state.pool(), 1)
        .await?
        .pop()
        .map(|r| {
            (
                r.file_name,
                List::parse(&r.list).map_or(r.list, |l| l.title().to_owned()),
                datetime(&r.imported_at),
            )
        });
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    render(
        status,
        &RegisterPage {
            layout: Layout::new(&state, &s.ctx, "Partner register", "register"),
            error,
            q: if q.is_empty() {
                query.q.chars().take(300).collect()
            } else {
                q
            },
            screening,
            found,
            curated: register
                .entries()
                .iter()
                .filter(|e| e.list == List::Curated)
                .cloned()
                .collect(),
            counts,
            last_change,
        },
    )
}

/// One change of an entry, in words.
pub struct HistoryView {
    pub when: String,
    pub change: String,
    pub by: String,
    pub file: String,
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "register/entry.html")]
struct EntryPage {
    layout: Layout,
    entry: Entry,
    flags: Vec<FlagView>,
    parents: Vec<Entry>,
    children: Vec<Entry>,
    history: Vec<HistoryView>,
    is_admin: bool,
}

async fn entry_get(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let register = state.register().await?;
    let entry = register.get(&id).cloned().ok_or(AppError::NotFound)?;
    let parents = register.ancestors(&entry).into_iter().cloned().collect();
    let children = register
        .entries()
        .iter()
        .filter(|e| e.parent.as_deref() == Some(entry.id.as_str()))
        .cloned()
        .collect();
    let history = db::register::history(state.pool(), &entry.id)
        .await?
        .into_iter()
        .map(|h| {
            let decode = |v: Option<sqlx::types::Json<serde_json::Value>>| {
                v.and_then(|j| serde_json::from_value::<Entry>(j.0).ok())
            };
            let details = match (decode(h.before), decode(h.after)) {
                (Some(b), Some(a)) => crate::screening::diff::diff(&[b], &[a])
                    .changed
                    .into_iter()
                    .flat_map(|c| c.changes)
                    .collect(),
                _ => Vec::new(),
            };
            HistoryView {
                when: datetime(&h.imported_at),
                change: h.change,
                by: h.changed_by.unwrap_or_default(),
                file: h.file_name,
                details,
            }
        })
        .collect();
    ok(&EntryPage {
        layout: Layout::new(&state, &s.ctx, entry.name.clone(), "register"),
        flags: flag_views(&entry),
        is_admin: s.role() == crate::domain::account::Role::Admin,
        entry,
        parents,
        children,
        history,
    })
}

/// A stored register hit (from an evaluation or a screening event), as shown.
pub fn stored_hit_view(hit: &RegisterHit) -> HitView {
    let flags =
        |evidence: &[crate::domain::verdict::FlagEvidence], codes: &[String]| -> Vec<FlagView> {
            if evidence.is_empty() {
                // Stored before flags carried their own evidence.
                return codes
                    .iter()
                    .map(|f| FlagView {
                        label: flag_label(f),
                        source: hit.source.clone(),
                        url: String::new(),
                        date: hit.as_of.clone(),
                        detail: String::new(),
                    })
                    .collect();
            }
            evidence
                .iter()
                .map(|e| FlagView {
                    label: flag_label(&e.flag),
                    source: e.source.clone(),
                    url: e.url.clone(),
                    date: e.date.clone(),
                    detail: e.detail.clone(),
                })
                .collect()
        };
    HitView {
        entry_id: hit.entry_id.clone(),
        entry: hit.entry.clone(),
        place: String::new(),
        list: "",
        certainty: if hit.possible {
            "Possible match"
        } else {
            "Match"
        },
        possible: hit.possible,
        why: if hit.why.is_empty() && hit.close {
            "Found through a close spelling.".to_owned()
        } else {
            hit.why.clone()
        },
        note: String::new(),
        flags: flags(&hit.evidence, &hit.flags),
        parent: hit
            .parent
            .as_ref()
            .map(|p| (p.entry.clone(), flags(&p.evidence, &p.flags))),
        decision: decision_words(hit),
    }
}
