//! Screening on the case page: the register matches the stored evaluation used, what
//! re-screening found since, and the reviewer's actions on them (dismissing a match
//! with a reason, acknowledging a screening event).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::domain::account::Role;
use crate::domain::verdict::{self, Identity, IdentityDecision};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::case::{ReviewInput, case_with_errors};
use crate::web::extract::{CaseOf, Path, ReviewerOnly};
use crate::web::forms::{Check, FormPairs};
use crate::web::layout::datetime;
use crate::web::register::{HitView, stored_hit_view};
use crate::web::session::Signed;
use crate::web::wizard::Case;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments/{id}/screening/dismiss", post(dismiss_post))
        .route(
            "/assessments/{id}/screening/events/{event}/acknowledge",
            post(acknowledge_post),
        )
}

/// A screening event as the case page shows it.
pub struct EventView {
    pub id: Uuid,
    pub at: String,
    pub summary: String,
    pub verdict_before: String,
    pub verdict_after: String,
    /// "Acknowledged by ... on ...: note", once acknowledged.
    pub acknowledged: Option<String>,
}

/// Everything the case page shows about screening.
pub struct CaseScreening {
    /// The matches the stored evaluation used.
    pub stored: Vec<HitView>,
    /// The newest screening, when re-screening found a change.
    pub now: Vec<HitView>,
    pub events: Vec<EventView>,
    pub open_events: usize,
    /// Matches a reviewer may dismiss now: (entry id, name).
    pub dismissible: Vec<(String, String)>,
    pub can_acknowledge: bool,
}

pub async fn case_screening(state: &AppState, s: &Signed, case: &Case) -> AppResult<CaseScreening> {
    let evaluation = &case.assessment.evaluation.0;
    let stored_hits = evaluation.register_hits();
    let now: Vec<HitView> = db::screening::current(state.pool(), case.assessment.id)
        .await?
        .iter()
        .map(stored_hit_view)
        .collect();
    let events: Vec<EventView> = db::screening::events(state.pool(), case.assessment.id)
        .await?
        .into_iter()
        .map(|e| EventView {
            id: e.id,
            at: datetime(&e.at),
            summary: e.summary,
            verdict_before: colour_word(&e.verdict_before),
            verdict_after: colour_word(&e.verdict_after),
            acknowledged: e.acknowledged_at.map(|at| {
                let note = e
                    .note
                    .filter(|n| !n.is_empty())
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                format!(
                    "Acknowledged by {} on {}{note}",
                    e.acknowledged_by_name.unwrap_or_default(),
                    datetime(&at)
                )
            }),
        })
        .collect();
    let reviewing = s.role() == Role::Reviewer;
    let dismissible = if reviewing && case.status().awaits_review() {
        stored_hits
            .iter()
            .filter(|h| h.counts() && !h.entry_id.is_empty())
            .map(|h| (h.entry_id.clone(), h.entry.clone()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(CaseScreening {
        stored: stored_hits.iter().map(stored_hit_view).collect(),
        now,
        open_events: events.iter().filter(|e| e.acknowledged.is_none()).count(),
        events,
        dismissible,
        can_acknowledge: reviewing,
    })
}

fn colour_word(code: &str) -> String {
    crate::domain::rulebook::Colour::from_code(code)
        .map_or_else(|| code.to_owned(), |c| c.word().to_owned())
}

/// A reviewer dismisses a register match for this case, with a written reason. The
/// case is re-evaluated under its own rulebook without that match's flags.
async fn dismiss_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    if !case.status().awaits_review() {
        return Err(AppError::Conflict(
            "A match can be dismissed only while the case is under review; nothing was changed."
                .into(),
        ));
    }
    let input = ReviewInput {
        dismiss_entry: form.raw("entry"),
        dismiss_reason: form.raw("reason"),
        ..Default::default()
    };
    let mut check = Check::default();
    let entry = check.required::<200>(
        "entry",
        &input.dismiss_entry,
        "Choose the match to dismiss.",
    );
    let reason = check.required_lines::<5000>(
        "reason",
        &input.dismiss_reason,
        "Write why the match does not apply: a dismissal needs a reason.",
    );
    let (Some(entry), Some(reason)) = (entry, reason) else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    let (entry, reason) = (entry.into_string(), reason.into_string());
    let Some(version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page.".into(),
        ));
    };
    let before = case.assessment.evaluation.0.clone();
    let mut hits = before.register_hits();
    let Some(hit) = hits.iter_mut().find(|h| h.entry_id == entry && h.counts()) else {
        return Err(AppError::Conflict(
            "That register match is not part of this case's evaluation; nothing was changed."
                .into(),
        ));
    };
    hit.identity = Some(IdentityDecision {
        decision: Identity::Dismissed,
        by: s.user.display_name.clone(),
        at: time::OffsetDateTime::now_utc().date().to_string(),
        reason: reason.clone(),
    });
    let entry_name = hit.entry.clone();
    let rulebook = state
        .rulebook_version(&case.assessment.rulebook_version)
        .await?;
    let after = verdict::evaluate_screened(&rulebook, &case.assessment.answers.0, &hits);
    let mut tx = state.pool().begin().await?;
    if !db::assessments::replace_evaluation(&mut tx, case.assessment.id, version, &after).await? {
        return Err(AppError::Conflict(
            "The case changed after you opened it; nothing was dismissed. Reload the page and decide again.".into(),
        ));
    }
    db::screening::set_identity(
        &mut tx,
        case.assessment.id,
        &entry,
        Identity::Dismissed,
        &reason,
        s.user.id,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.screening_dismiss",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!(
                "Dismissed the register match {entry_name}: computed verdict {} \u{2192} {}",
                before.verdict.word(),
                after.verdict.word()
            ),
            details: serde_json::json!({
                "entry": entry,
                "reason": reason,
                "verdict_before": before.verdict.code(),
                "verdict_after": after.verdict.code(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=match_dismissed#screening",
        case.assessment.id
    ))
    .into_response())
}

fn already_acknowledged() -> AppError {
    AppError::Conflict(
        "This screening event is already acknowledged or does not belong to the case; nothing was changed.".into(),
    )
}

/// A reviewer acknowledges a screening event, with an optional note.
async fn acknowledge_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    Path((_, event)): Path<(Uuid, Uuid)>,
    form: FormPairs,
) -> AppResult<Response> {
    let open = db::screening::events(state.pool(), case.assessment.id)
        .await?
        .iter()
        .any(|e| e.id == event && e.acknowledged_at.is_none());
    if !open {
        return Err(already_acknowledged());
    }
    let input = ReviewInput {
        note: form.raw("note"),
        ..Default::default()
    };
    let mut check = Check::default();
    let Some(note) = check.text::<2000>("note", &input.note) else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    let note = note.into_string();
    let mut tx = state.pool().begin().await?;
    if !db::screening::acknowledge(&mut tx, case.assessment.id, event, s.user.id, &note).await? {
        return Err(already_acknowledged());
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.screening_acknowledge",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: "Acknowledged a screening change".to_owned(),
            details: serde_json::json!({ "event": event, "note": note }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=screening_acknowledged#screening",
        case.assessment.id
    ))
    .into_response())
}
