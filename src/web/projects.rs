//! Projects: list, creation, the project page and starting an assessment.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::db;
use crate::db::assessments::Assessment;
use crate::db::projects::{Project, ProjectSummary};
use crate::domain::answers::Answers;
use crate::domain::project::ProjectInput;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::forms::{Errors, Form, parse_id};
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};

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

async fn projects_get(State(state): State<AppState>) -> AppResult<Response> {
    let projects = db::projects::list(state.pool()).await?;
    ok(&ProjectsPage {
        layout: Layout::new(&state, "Projects", "projects"),
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

async fn project_new_get(State(state): State<AppState>) -> AppResult<Response> {
    ok(&NewProjectPage {
        layout: Layout::new(&state, "New project", "projects"),
        input: ProjectInput::default(),
        errors: Errors::default(),
    })
}

async fn projects_post(
    State(state): State<AppState>,
    Form(input): Form<ProjectInput>,
) -> AppResult<Response> {
    let project = match input.parse() {
        Ok(p) => p,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewProjectPage {
                    layout: Layout::new(&state, "New project", "projects"),
                    input,
                    errors: Errors(errors),
                },
            );
        }
    };
    let mut tx = state.pool().begin().await?;
    let id = db::projects::insert(&mut tx, &project).await?;
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
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let project = db::projects::get(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let assessments = db::assessments::for_project(state.pool(), id).await?;
    ok(&ProjectPage {
        layout: Layout::new(&state, project.title.clone(), "projects")
            .with_notice(notice(q.notice.as_deref())),
        project,
        assessments,
    })
}

/// Starts a new draft assessment of a project and opens its first step.
async fn assessments_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    db::projects::get(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let answers = Answers::default();
    let (evaluation, _) = state.evaluate(&answers).await?;
    let mut tx = state.pool().begin().await?;
    let assessment = db::assessments::insert(
        &mut tx,
        id,
        &db::assessments::Saved {
            answers: &answers,
            evaluation: &evaluation,
            current_step: 1,
            partner_normalised: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/assessments/{assessment}/steps/1?notice=started")).into_response())
}
