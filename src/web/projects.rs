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
use crate::db::projects::{Project, ProjectFilter, ProjectSummary};
use crate::domain::answers::Answers;
use crate::domain::answers::FieldError;
use crate::domain::project::ProjectInput;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Form, Officer, Path, Query};
use crate::web::forms::{Check, Errors};
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
    query: ProjectQuery,
    mine: bool,
    page: i64,
    previous: Option<String>,
    next: Option<String>,
    errors: Errors,
}

const PAGE_SIZE: i64 = 25;

/// The project list's search, as typed in the address.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ProjectQuery {
    pub q: String,
    pub scope: String,
    pub page: String,
}

impl ProjectQuery {
    /// The valid search; a part that is not valid is ignored with a message.
    fn parse(&self, officer: Uuid) -> (ProjectFilter, bool, i64, Vec<FieldError>) {
        let mut check = Check(Vec::new());
        let text = check
            .text::<200>("q", &self.q)
            .filter(|t| !t.is_empty())
            .map(Text::into_string);
        let mut errors = check.into_errors();
        let mine = match self.scope.trim() {
            "" | "mine" => true,
            "institution" => false,
            _ => {
                errors.push(FieldError::new(
                    "scope",
                    "Whose projects: choose \u{201c}Mine\u{201d} or \u{201c}My institution\u{201d}; your projects are shown.",
                ));
                true
            }
        };
        let page = match self.page.trim() {
            "" => 1,
            raw => match raw.parse::<i64>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        "q",
                        "Page: use a page number from 1 to 10000, for example 2; the first page is shown.",
                    ));
                    1
                }
            },
        };
        let filter = ProjectFilter {
            created_by: mine.then_some(officer),
            text,
        };
        (filter, mine, page, errors)
    }

    fn link(&self, mine: bool, page: i64) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.q.trim().is_empty() {
            pairs.push(("q", self.q.trim().to_owned()));
        }
        pairs.push((
            "scope",
            if mine { "mine" } else { "institution" }.to_owned(),
        ));
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        format!(
            "/projects?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// A project of the officer's own institution; any other is simply not found.
async fn own_project(state: &AppState, s: &Officer, id: Uuid) -> AppResult<Project> {
    db::projects::get(state.pool(), id)
        .await?
        .filter(|p| p.institution_id == Some(s.institution))
        .ok_or(AppError::NotFound)
}

async fn projects_get(
    State(state): State<AppState>,
    s: Officer,
    Query(query): Query<ProjectQuery>,
) -> AppResult<Response> {
    let (filter, mine, page, errors) = query.parse(s.user.id);
    let mut projects = db::projects::list(
        state.pool(),
        s.institution,
        &filter,
        (page - 1) * PAGE_SIZE,
        PAGE_SIZE + 1,
    )
    .await?;
    let more = projects.len() as i64 > PAGE_SIZE;
    projects.truncate(PAGE_SIZE as usize);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &ProjectsPage {
            layout: Layout::new(&state, &s.ctx, "Projects", "projects"),
            projects,
            previous: (page > 1).then(|| query.link(mine, page - 1)),
            next: more.then(|| query.link(mine, page + 1)),
            query,
            mine,
            page,
            errors: Errors(errors),
        },
    )
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
    /// No case was submitted yet: the details may change.
    editable: bool,
}

async fn project_get(
    State(state): State<AppState>,
    s: Officer,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let project = own_project(&state, &s, id).await?;
    let assessments = db::assessments::for_project(state.pool(), project.id).await?;
    let editable = db::projects::is_editable(state.pool(), project.id).await?;
    ok(&ProjectPage {
        editable,
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
