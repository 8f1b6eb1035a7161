//! Projects: list, creation, the project page and starting an assessment.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::db;
use crate::db::assessments::Assessment;
use crate::db::audit::Entry;
use crate::db::projects::{Project, ProjectSummary};
use crate::domain::answers::Answers;
use crate::domain::project::ProjectInput;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Form, Officer, Path, Query};
use crate::web::forms::Errors;
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(projects_get).post(projects_post))
        .route("/projects/new", get(project_new_get))
        .route("/projects/{id}", get(project_get))
        .route("/projects/{id}/assessments", post(assessments_post))
}

#[derive(Template)]
#[template(path = "projects/list.html")]
struct ProjectsPage {
    layout: Layout,
    projects: Vec<ProjectSummary>,
}

/// A project of the officer's own institution; any other is simply not found.
async fn own_project(state: &AppState, s: &Officer, id: Uuid) -> AppResult<Project> {
    db::projects::get(state.pool(), id)
        .await?
        .filter(|p| p.institution_id == Some(s.institution))
        .ok_or(AppError::NotFound)
}

async fn projects_get(State(state): State<AppState>, s: Officer) -> AppResult<Response> {
    let projects = db::projects::list(state.pool(), s.institution).await?;
    ok(&ProjectsPage {
        layout: Layout::new(&state, &s.ctx, "Projects", "projects"),
        projects,
    })
}

#[derive(Template)]
#[template(path = "projects/new.html")]
struct NewProjectPage {
    layout: Layout,
    input: ProjectInput,
    errors: Errors,
}

async fn project_new_get(State(state): State<AppState>, s: Officer) -> AppResult<Response> {
    ok(&NewProjectPage {
        layout: Layout::new(&state, &s.ctx, "New project", "projects"),
        input: ProjectInput::default(),
        errors: Errors::default(),
    })
}

async fn projects_post(
    State(state): State<AppState>,
    s: Officer,
    Form(input): Form<ProjectInput>,
) -> AppResult<Response> {
    let project = match input.parse() {
        Ok(p) => p,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewProjectPage {
                    layout: Layout::new(&state, &s.ctx, "New project", "projects"),
                    input,
                    errors: Errors(errors),
                },
            );
        }
    };
    let mut tx = state.pool().begin().await?;
    let id = db::projects::insert(&mut tx, &project, s.institution, s.user.id).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "project.create",
            assessment_id: None,
            project_id: Some(id),
            summary: format!("Created project \u{201c}{}\u{201d}", project.title),
            details: serde_json::json!({ "title": project.title, "lead_researcher": project.lead_researcher }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project = %id, "project created");
    Ok(Redirect::to(&format!("/projects/{id}?notice=created")).into_response())
}

#[derive(Template)]
#[template(path = "projects/show.html")]
struct ProjectPage {
    layout: Layout,
    project: Project,
    assessments: Vec<Assessment>,
}

async fn project_get(
    State(state): State<AppState>,
    s: Officer,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let project = own_project(&state, &s, id).await?;
    let assessments = db::assessments::for_project(state.pool(), project.id).await?;
    ok(&ProjectPage {
        layout: Layout::new(&state, &s.ctx, project.title.clone(), "projects")
            .with_notice(notice(q.notice.as_deref())),
        project,
        assessments,
    })
}

/// Starts a new draft assessment of a project and opens its first step.
async fn assessments_post(
    State(state): State<AppState>,
    s: Officer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let project = own_project(&state, &s, id).await?;
    let answers = Answers::default();
    let rulebook = state.active_rulebook().await?;
    let (evaluation, _) = state.evaluate(&rulebook, &answers).await?;
    let mut tx = state.pool().begin().await?;
    let assessment = db::assessments::insert(
        &mut tx,
        project.id,
        &db::assessments::Saved {
            answers: &answers,
            evaluation: &evaluation,
            current_step: 1,
            partner_normalised: None,
        },
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "assessment.create",
            assessment_id: Some(assessment),
            project_id: Some(project.id),
            summary: "Started an assessment".to_owned(),
            details: serde_json::json!({ "rulebook_version": evaluation.rulebook_version }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/assessments/{assessment}/steps/1?notice=started")).into_response())
}
