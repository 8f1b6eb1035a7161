//! Editing a project's details, allowed until one of its cases is submitted. A form
//! opened before someone else's change is refused (409) with both versions shown.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::projects::Project;
use crate::domain::project::ProjectInput;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Officer, Path};
use crate::web::forms::{Errors, FormPairs};
use crate::web::layout::{Layout, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/edit", get(edit_get).post(edit_post))
}

#[derive(Template)]
#[template(path = "projects/edit.html")]
struct EditPage {
    layout: Layout,
    project: Project,
    input: ProjectInput,
    lock_version: i32,
    errors: Errors,
    /// Someone else saved the details after this form was opened.
    conflict: bool,
}

fn input_of(p: &Project) -> ProjectInput {
    ProjectInput {
        title: p.title.clone(),
        acronym: p.acronym.clone().unwrap_or_default(),
        summary: p.summary.clone(),
        lead_researcher: p.lead_researcher.clone(),
        department: p.department.clone().unwrap_or_default(),
        planned_start: p.planned_start.map(|d| d.to_string()).unwrap_or_default(),
        duration_months: p.duration_months.map(|n| n.to_string()).unwrap_or_default(),
        funding_programme: p.funding_programme.clone().unwrap_or_default(),
    }
}

/// The officer's own project whose details may still change.
async fn editable_project(state: &AppState, s: &Officer, id: Uuid) -> AppResult<Project> {
    let project = db::projects::get(state.pool(), id)
        .await?
        .filter(|p| p.institution_id == Some(s.institution))
        .ok_or(AppError::NotFound)?;
    if !db::projects::is_editable(state.pool(), id).await? {
        return Err(AppError::Conflict(
            "A case of this project has been submitted, so its details are part of the record and can no longer be changed. Nothing was changed.".into(),
        ));
    }
    Ok(project)
}

fn page(
    state: &AppState,
    s: &Officer,
    project: Project,
    input: ProjectInput,
    errors: Errors,
    conflict: bool,
) -> EditPage {
    EditPage {
        layout: Layout::new(state, &s.ctx, format!("Edit {}", project.title), "projects"),
        lock_version: project.lock_version,
        project,
        input,
        errors,
        conflict,
    }
}

async fn edit_get(
    State(state): State<AppState>,
    s: Officer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let project = editable_project(&state, &s, id).await?;
    let input = input_of(&project);
    render(
        StatusCode::OK,
        &page(&state, &s, project, input, Errors::default(), false),
    )
}

async fn edit_post(
    State(state): State<AppState>,
    s: Officer,
    Path(id): Path<Uuid>,
    form: FormPairs,
) -> AppResult<Response> {
    let project = editable_project(&state, &s, id).await?;
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };
    let input = ProjectInput {
        title: form.raw("title"),
        acronym: form.raw("acronym"),
        summary: form.raw("summary"),
        lead_researcher: form.raw("lead_researcher"),
        department: form.raw("department"),
        planned_start: form.raw("planned_start"),
        duration_months: form.raw("duration_months"),
        funding_programme: form.raw("funding_programme"),
    };
    let parsed = match input.parse() {
        Ok(p) => p,
        Err(errors) => {
            let mut p = page(&state, &s, project, input, Errors(errors), false);
            p.lock_version = lock_version;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let mut tx = state.pool().begin().await?;
    if !db::projects::update(&mut tx, id, lock_version, &parsed).await? {
        tx.rollback().await?;
        // What was typed comes back, with the newer version to save over knowingly.
        let p = page(&state, &s, project, input, Errors::default(), true);
        return render(StatusCode::CONFLICT, &p);
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "project.update",
            assessment_id: None,
            project_id: Some(id),
            summary: format!("Changed the details of project \u{201c}{}\u{201d}", parsed.title),
            details: serde_json::json!({ "title": parsed.title.as_str(), "lead_researcher": parsed.lead_researcher.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/projects/{id}?notice=project_updated")).into_response())
}
