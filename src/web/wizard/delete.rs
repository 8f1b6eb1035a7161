//! Deleting a draft: a confirmation page, then a soft delete (the row stays, every list
//! and page leaves it out) recorded in the audit log. Only drafts: a case that was
//! submitted belongs to the record.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::projects::Project;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{CaseOf, OfficerOnly};
use crate::web::forms::FormPairs;
use crate::web::layout::{Layout, ok};

use super::Case;

#[derive(Template)]
#[template(path = "assessments/delete.html")]
struct DeletePage {
    layout: Layout,
    project: Project,
    assessment_id: Uuid,
    reference: String,
    lock_version: i32,
    updated_at: time::OffsetDateTime,
}

/// Only a draft may be deleted; anything else is a conflict that changes nothing.
fn draft(case: &Case) -> AppResult<()> {
    if case.assessment.is_draft() {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "Only a draft can be deleted. This case has been submitted, so it stays on record; nothing was deleted.".into(),
        ))
    }
}

pub(super) async fn delete_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
) -> AppResult<Response> {
    draft(&case)?;
    ok(&DeletePage {
        layout: Layout::new(
            &state,
            &s.ctx,
            format!("Delete draft {}", case.assessment.reference),
            "projects",
        ),
        assessment_id: case.assessment.id,
        reference: case.assessment.reference.clone(),
        lock_version: case.assessment.lock_version,
        updated_at: case.assessment.updated_at,
        project: case.project,
    })
}

pub(super) async fn delete_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    draft(&case)?;
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };
    let mut tx = state.pool().begin().await?;
    if !db::assessments::delete_draft(&mut tx, case.assessment.id, lock_version).await? {
        tx.rollback().await?;
        return Err(AppError::Conflict(
            "The draft changed after you opened this page, so nothing was deleted. Open the draft, check it, and delete it again if you still want to.".into(),
        ));
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "assessment.delete_draft",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!("Deleted draft {}", case.assessment.reference),
            details: serde_json::json!({ "reference": case.assessment.reference }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/projects/{}?notice=draft_deleted",
        case.project.id
    ))
    .into_response())
}
