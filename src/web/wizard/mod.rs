//! The assessment wizard: one page per rulebook step, saved as a draft at every step,
//! the check-answers page, the declaration and submission, the confirmation, and the
//! deletion of a draft. One job per file:
//!
//! - `view`: the view models of a step page and how they are built
//! - `form`: reading the parts of a step form that are not answers
//! - `step`: showing and saving a step, and the edit conflict
//! - `answers`: answers in words (used by the case page, comparison and reports too)
//! - `submit`: check answers, declaration, submission and the confirmation page
//! - `delete`: deleting a draft

mod answers;
mod delete;
mod form;
mod step;
mod submit;
mod view;

use axum::Router;
use axum::routing::{get, post};

use crate::db::assessments::Assessment;
use crate::db::projects::Project;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Rulebook;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{CaseOf, OfficerOnly};
use crate::web::session::Signed;

pub use answers::{
    ChangedAnswer, StepAnswers, answer_text, answers_by_step, changed_answers, rate_changes,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/assessments/{id}/steps/{step}",
            get(step::step_get).post(step::step_post),
        )
        .route("/assessments/{id}/review", get(submit::review_get))
        .route("/assessments/{id}/submit", post(submit::submit_post))
        .route("/assessments/{id}/submitted", get(submit::submitted_get))
        .route(
            "/assessments/{id}/delete",
            get(delete::delete_get).post(delete::delete_post),
        )
}

/// An assessment with its project, loaded together for every page.
pub struct Case {
    pub assessment: Assessment,
    pub project: Project,
}

impl Case {
    pub fn status(&self) -> Status {
        self.assessment.status
    }
}

/// The case of an officer's editing route, when its answers may change now: a locked
/// one is a conflict (someone else's was already not found).
pub(super) fn editable(c: CaseOf<OfficerOnly>) -> AppResult<(Signed, Case)> {
    if !c.case.status().is_editable() {
        return Err(AppError::Conflict(
            "This assessment has been submitted, so its answers are locked and nothing was changed.".into(),
        ));
    }
    Ok((c.s, c.case))
}

/// A step number from the path, 1-based; anything else is not found.
pub(super) fn step_index(rulebook: &Rulebook, number: usize) -> AppResult<usize> {
    if (1..=rulebook.steps().len()).contains(&number) {
        Ok(number - 1)
    } else {
        Err(AppError::NotFound)
    }
}
