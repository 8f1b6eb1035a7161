//! The check-answers page, the declaration and submission, and the confirmation page
//! with the case reference and what happens next.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use crate::db;
use crate::db::assessments::Saved;
use crate::db::audit::Entry;
use crate::db::projects::Project;
use crate::domain::answers::{Answers, FieldError};
use crate::domain::contract;
use crate::domain::lifecycle::{Status, Transition};
use crate::domain::rulebook::Rulebook;
use crate::domain::verdict::{Evaluation, asked_answers};
use crate::error::{AppError, AppResult};
use crate::screening::grouping_key;
use crate::services::notifications::{self, CaseMail};
use crate::state::AppState;
use crate::web::extract::{CaseOf, OfficerOnly};
use crate::web::forms::FormPairs;
use crate::web::layout::{Layout, ok, render};
use crate::web::session::Ctx;

use super::answers::{StepAnswers, answers_by_step};
use super::view::ErrorLink;
use super::{Case, editable};

/// The name of the declaration checkbox.
const DECLARATION: &str = "declaration";

#[derive(Template)]
#[template(path = "assessments/review.html")]
pub(super) struct ReviewPage {
    layout: Layout,
    project: Project,
    assessment_id: Uuid,
    reference: String,
    resubmission: bool,
    declared: bool,
    lock_version: i32,
    steps: Vec<StepAnswers>,
    unanswered: usize,
    evaluation: Evaluation,
    errors: Vec<ErrorLink>,
}

pub(super) fn review_page(
    state: &AppState,
    ctx: &Ctx,
    rulebook: &Rulebook,
    case: Case,
    errors: Vec<ErrorLink>,
) -> ReviewPage {
    let answers = &case.assessment.answers.0;
    let steps = answers_by_step(rulebook, answers);
    let unanswered = steps
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| !r.answered)
        .count();
    ReviewPage {
        layout: Layout::new(
            state,
            ctx,
            format!("Review \u{2013} {}", case.project.title),
            "projects",
        ),
        lock_version: case.assessment.lock_version,
        assessment_id: case.assessment.id,
        reference: case.assessment.reference.clone(),
        resubmission: case.status() == Status::Returned,
        declared: false,
        evaluation: case.assessment.evaluation.0.clone(),
        project: case.project,
        steps,
        unanswered,
        errors,
    }
}

pub(super) async fn review_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
) -> AppResult<Response> {
    if !case.status().is_editable() {
        return Ok(Redirect::to(&format!("/assessments/{}", case.assessment.id)).into_response());
    }
    let rulebook = state.active_rulebook().await?;
    ok(&review_page(&state, &s.ctx, &rulebook, case, Vec::new()))
}

pub(super) async fn submit_post(
    State(state): State<AppState>,
    case: CaseOf<OfficerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let (s, case) = editable(case)?;
    let rulebook = state.active_rulebook().await?;
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };
    let Some(next) = case.status().after(Transition::Submit) else {
        return Err(AppError::Conflict(
            "This assessment cannot be submitted now; nothing was changed.".into(),
        ));
    };
    // Re-check everything against the active rulebook: it may have changed since the draft began.
    let answers = asked_answers(&rulebook, &case.assessment.answers.0);
    let json = serde_json::to_value(&answers).map_err(anyhow::Error::from)?;
    let mut problems: Vec<FieldError> = Answers::from_json(&rulebook, &json)
        .err()
        .unwrap_or_default();
    let declared = form.first(DECLARATION) == Some("yes");
    if !declared {
        problems.push(FieldError::new(
            DECLARATION,
            "Declaration: tick \u{201c}I confirm\u{201d} to declare that the answers are complete and correct to the best of your knowledge.",
        ));
    }
    if lock_version != case.assessment.lock_version {
        problems.push(FieldError::new(
            "",
            "The draft changed after you opened this page. Check the answers below, then submit again.",
        ));
    }
    if !problems.is_empty() {
        let errors = problems
            .into_iter()
            .map(|e| ErrorLink {
                label: if e.field == DECLARATION {
                    "Declaration".to_owned()
                } else {
                    rulebook
                        .question(&e.field)
                        .map_or_else(String::new, |q| q.short.clone())
                },
                field: e.field,
                message: e.message,
            })
            .collect();
        let mut page = review_page(&state, &s.ctx, &rulebook, case, errors);
        page.declared = declared;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }

    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let (evaluation, _) = state.evaluate_with(&rulebook, &answers, &decisions).await?;
    let saved = Saved {
        answers: &answers,
        evaluation: &evaluation,
        current_step: rulebook.steps().len() as i32,
        partner_normalised: answers.text(contract::PARTNER_NAME).map(grouping_key),
    };
    let mut tx = state.pool().begin().await?;
    let saved_ok =
        db::assessments::save_draft(&mut tx, case.assessment.id, lock_version, &saved).await?;
    let submitted = saved_ok
        && db::assessments::mark_submitted(
            &mut tx,
            case.assessment.id,
            case.status().code(),
            next.code(),
            s.user.id,
        )
        .await?;
    if !submitted {
        // Nothing is written: the draft stays exactly as it was.
        tx.rollback().await?;
        return Err(AppError::Conflict(
            "The draft changed while you were submitting it. Nothing was submitted; open the review page again.".into(),
        ));
    }
    let number = db::review::insert_submission(
        &mut tx,
        case.assessment.id,
        &answers,
        &evaluation,
        s.user.id,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: if next == Status::Resubmitted {
                "assessment.resubmit"
            } else {
                "assessment.submit"
            },
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!(
                "Submission {number}: computed verdict {}",
                evaluation.verdict.word()
            ),
            details: serde_json::json!({
                "submission": number,
                "reference": case.assessment.reference,
                "verdict": evaluation.verdict.code(),
                "rulebook_version": evaluation.rulebook_version,
                "declaration": true,
            }),
        },
    )
    .await?;
    notifications::submitted(
        &mut tx,
        &state.config().mail,
        &CaseMail {
            id: case.assessment.id,
            reference: &case.assessment.reference,
            title: &case.project.title,
        },
        next == Status::Resubmitted,
        evaluation.verdict.word(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(assessment = %case.assessment.id, verdict = %evaluation.verdict, "assessment submitted");
    Ok(Redirect::to(&format!("/assessments/{}/submitted", case.assessment.id)).into_response())
}

#[derive(Template)]
#[template(path = "assessments/submitted.html")]
struct SubmittedPage {
    layout: Layout,
    project: Project,
    assessment_id: Uuid,
    reference: String,
    resubmitted: bool,
    verdict: crate::domain::rulebook::Colour,
    submitted_at: Option<time::OffsetDateTime>,
}

/// The confirmation after a submission: the reference and what happens next. A case
/// that was not submitted has no confirmation: its page says where it stands.
pub(super) async fn submitted_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
) -> AppResult<Response> {
    if !case.status().awaits_review() {
        return Ok(Redirect::to(&format!("/assessments/{}", case.assessment.id)).into_response());
    }
    ok(&SubmittedPage {
        layout: Layout::new(
            &state,
            &s.ctx,
            format!("Submitted: {}", case.assessment.reference),
            "projects",
        ),
        assessment_id: case.assessment.id,
        reference: case.assessment.reference.clone(),
        resubmitted: case.status() == Status::Resubmitted,
        verdict: case.assessment.evaluation.0.verdict,
        submitted_at: case.assessment.submitted_at,
        project: case.project,
    })
}
