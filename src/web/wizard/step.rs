//! Showing and saving one step of the questionnaire, and the page shown when someone
//! else saved the draft meanwhile.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use crate::db;
use crate::db::assessments::Saved;
use crate::db::audit::Entry;
use crate::db::screening::IdentityRow;
use crate::domain::answers::{AnswerValue, FieldError, check_value};
use crate::domain::contract;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::{QuestionKind, Rulebook};
use crate::domain::verdict::{Identity, asked_answers};
use crate::error::{AppError, AppResult};
use crate::screening::{Certainty, grouping_key};
use crate::state::AppState;
use crate::web::extract::{CaseOf, OfficerOnly, Path, Query, load_visible};
use crate::web::forms::{FormPairs, Typed};
use crate::web::layout::{datetime, notice, ok, render};
use crate::web::session::Signed;

use super::answers::changed_answers;
use super::form::identity_answer;
use super::view::{StepRender, partner_view, step_page, typed_from_answers};
use super::{editable, step_index};

pub(super) async fn step_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
    Path((_, step)): Path<(uuid::Uuid, usize)>,
    Query(q): Query<StepQuery>,
) -> AppResult<Response> {
    if !case.status().is_editable() {
        return Ok(Redirect::to(&format!("/assessments/{}", case.assessment.id)).into_response());
    }
    let rulebook = state.active_rulebook().await?;
    let index = step_index(&rulebook, step)?;
    let typed = typed_from_answers(&case.assessment.answers.0);
    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let partner = partner_view(&state, &typed, &decisions).await?;
    let lock_version = case.assessment.lock_version;
    let request = if case.status() == Status::Returned {
        db::review::returns(state.pool(), case.assessment.id)
            .await?
            .pop()
            .map(|r| r.message)
    } else {
        None
    };
    ok(&step_page(
        &state,
        &s.ctx,
        StepRender {
            case: &case,
            rulebook: &rulebook,
            index,
            typed,
            errors: Vec::new(),
            partner,
            lock_version,
            conflict: None,
            notice: notice(q.notice.as_deref()),
            request,
            return_to_review: returns_to_review(&q.return_to),
        },
    ))
}

/// The query string of a step page: a notice, and where "Change" came from.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct StepQuery {
    notice: Option<String>,
    return_to: Option<String>,
}

/// Only one place to return to is known, so no address from a request is ever
/// followed: `review`, the check-answers page of the same case.
fn returns_to_review(raw: &Option<String>) -> bool {
    raw.as_deref() == Some("review")
}

/// Where the officer goes after saving a step.
pub(super) enum Action {
    Next,
    Back,
    Save,
    /// Save and show the register screening of the typed partner name.
    Check,
    /// Save and open another step (from the step list), or the check-answers page.
    Goto(Option<usize>),
}

pub(super) async fn step_post(
    State(state): State<AppState>,
    case: CaseOf<OfficerOnly>,
    Path((_, step)): Path<(uuid::Uuid, usize)>,
    form: FormPairs,
) -> AppResult<Response> {
    let (s, case) = editable(case)?;
    let rulebook = state.active_rulebook().await?;
    let index = step_index(&rulebook, step)?;
    let steps = rulebook.steps().len();
    let action = match (form.first("_goto"), form.first("_action")) {
        (Some("review"), _) => Action::Goto(None),
        (Some(n), _) => match n.parse::<usize>() {
            Ok(n) if (1..=steps).contains(&n) => Action::Goto(Some(n - 1)),
            _ => Action::Save,
        },
        (None, Some("back")) => Action::Back,
        (None, Some("save")) => Action::Save,
        (None, Some("check")) => Action::Check,
        (None, _) => Action::Next,
    };
    let return_to_review = returns_to_review(&form.first("_return_to").map(str::to_owned));
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };

    // Apply this step's fields to the saved answers; every field of the step is on the
    // page, so a missing checkbox group means "none ticked".
    let step_def = &rulebook.steps()[index];
    let mut answers = case.assessment.answers.0.clone();
    let mut typed = typed_from_answers(&answers);
    let mut errors = Vec::new();
    for q in &step_def.questions {
        let value = match q.kind {
            QuestionKind::Many => AnswerValue::Many(form.all(&q.id)),
            _ => AnswerValue::Text(form.first(&q.id).unwrap_or_default().to_owned()),
        };
        typed.insert(
            q.id.clone(),
            match &value {
                AnswerValue::Text(s) => vec![s.clone()],
                AnswerValue::Many(v) => v.clone(),
            },
        );
        match check_value(&rulebook, &q.id, value) {
            Ok(v) => answers.set(&q.id, v),
            Err(message) => errors.push(FieldError::new(&q.id, message)),
        }
    }
    let on_this_step = |e: &FieldError| step_def.questions.iter().any(|q| q.id == e.field);
    errors.extend(
        answers
            .cross_field_errors(&rulebook, false)
            .into_iter()
            .filter(on_this_step),
    );
    if matches!(action, Action::Next) {
        for q in step_def.questions.iter().filter(|q| q.required) {
            if !answers.is_answered(&q.id) && !errors.iter().any(|e| e.field == q.id) {
                errors.push(FieldError::new(
                    &q.id,
                    format!(
                        "Answer \u{201c}{}\u{201d} before you go on, or choose Save draft to come back to it later.",
                        q.short
                    ),
                ));
            }
        }
    }
    let identity = match identity_answer(&form) {
        Ok(answer) => answer,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    if !errors.is_empty() {
        let partner = partner_view(&state, &typed, &decisions).await?;
        let page = step_page(
            &state,
            &s.ctx,
            StepRender {
                case: &case,
                rulebook: &rulebook,
                index,
                typed,
                errors,
                partner,
                lock_version,
                conflict: None,
                notice: None,
                request: None,
                return_to_review,
            },
        );
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }

    let answers = asked_answers(&rulebook, &answers);
    let target = match action {
        Action::Next => index + 1,
        Action::Back => index.saturating_sub(1),
        Action::Save | Action::Check | Action::Goto(None) => index,
        Action::Goto(Some(n)) => n,
    };
    // The answer counts only for a possible match of the name being saved.
    let identity = match (identity, answers.text(contract::PARTNER_NAME)) {
        (Some((entry, decision)), Some(name)) => {
            let (_, screening) = state.screen(name).await?;
            screening
                .hits
                .iter()
                .any(|h| h.entry.id == entry && h.certainty == Certainty::Possible)
                .then_some((entry, decision))
        }
        _ => None,
    };
    if let Some((entry, decision)) = &identity {
        decisions.retain(|d| &d.entry_id != entry);
        decisions.push(IdentityRow {
            entry_id: entry.clone(),
            decision: if *decision == Identity::Same {
                "same"
            } else {
                "different"
            }
            .to_owned(),
            reason: String::new(),
            decided_by: s.user.id,
            decided_by_name: s.user.display_name.clone(),
            decided_at: time::OffsetDateTime::now_utc(),
        });
    }
    let (evaluation, _) = state.evaluate_with(&rulebook, &answers, &decisions).await?;
    let saved = Saved {
        answers: &answers,
        evaluation: &evaluation,
        current_step: (target.min(rulebook.steps().len() - 1) + 1) as i32,
        partner_normalised: answers.text(contract::PARTNER_NAME).map(grouping_key),
    };
    let changed = changed_answers(&rulebook, &case.assessment.answers.0, &answers);
    let mut tx = state.pool().begin().await?;
    if !db::assessments::save_draft(&mut tx, case.assessment.id, lock_version, &saved).await? {
        tx.rollback().await?;
        return conflict_page(
            &state,
            &s,
            &rulebook,
            index,
            typed,
            lock_version,
            case.assessment.id,
        )
        .await;
    }
    if let Some((entry, decision)) = &identity {
        db::screening::set_identity(&mut tx, case.assessment.id, entry, *decision, "", s.user.id)
            .await?;
        let name = evaluation
            .register_hits()
            .into_iter()
            .find(|h| &h.entry_id == entry)
            .map_or_else(|| entry.clone(), |h| h.entry);
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "assessment.partner_identity",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!(
                    "Answered that the partner is {} the register entry {name}",
                    if *decision == Identity::Same { "the same organisation as" } else { "not" }
                ),
                details: serde_json::json!({ "entry": entry, "decision": if *decision == Identity::Same { "same" } else { "different" } }),
            },
        )
        .await?;
    }
    if !changed.is_empty() {
        let names: Vec<&str> = changed.iter().map(|c| c.label.as_str()).collect();
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "assessment.edit",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!("Step {}: changed {}", index + 1, names.join(", ")),
                details: serde_json::to_value(&changed).unwrap_or_default(),
            },
        )
        .await?;
    }
    tx.commit().await?;

    let id = case.assessment.id;
    let location = match action {
        Action::Next if return_to_review => format!("/assessments/{id}/review"),
        Action::Goto(None) => format!("/assessments/{id}/review"),
        Action::Next if target >= rulebook.steps().len() => format!("/assessments/{id}/review"),
        Action::Save => format!("/assessments/{id}/steps/{}?notice=saved", target + 1),
        Action::Check => format!("/assessments/{id}/steps/{}#partner-screening", target + 1),
        _ => format!("/assessments/{id}/steps/{}", target + 1),
    };
    Ok(Redirect::to(&location).into_response())
}

/// Someone saved the draft after this form was opened: show what they saved next to
/// what was typed, and let the officer save again knowingly.
pub(super) async fn conflict_page(
    state: &AppState,
    s: &Signed,
    rulebook: &Rulebook,
    index: usize,
    typed: Typed,
    my_version: i32,
    id: Uuid,
) -> AppResult<Response> {
    let case = load_visible(state, s, id).await?;
    if !case.status().is_editable() {
        return Err(AppError::Conflict(
            "While you were editing, this assessment was submitted, so its answers are locked. \
             Your entries on this page were not saved."
                .into(),
        ));
    }
    tracing::info!(assessment = %id, my_version, newer = case.assessment.lock_version, "edit conflict");
    let message = format!(
        "Someone else saved this draft at {} while you were editing. Nothing you typed was saved. \
         Your entries are kept below; where the newer saved answer differs it is shown under the question. \
         Save again to keep your entries, or reload the step to take the newer answers.",
        datetime(&case.assessment.updated_at)
    );
    let newer = case.assessment.answers.0.clone();
    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let partner = partner_view(state, &typed, &decisions).await?;
    let lock_version = case.assessment.lock_version;
    let page = step_page(
        state,
        &s.ctx,
        StepRender {
            case: &case,
            rulebook,
            index,
            typed,
            errors: Vec::new(),
            partner,
            lock_version,
            conflict: Some((message, newer)),
            notice: None,
            request: None,
            return_to_review: false,
        },
    );
    render(StatusCode::CONFLICT, &page)
}
