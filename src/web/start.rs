//! The start page of each role: an officer's cases that need their action and their
//! projects, a reviewer's queue, an administrator's tasks. Each links only to pages
//! the role may use.

use askama::Template;
use axum::response::Response;

use crate::db;
use crate::db::projects::{ProjectFilter, ProjectSummary};
use crate::db::start::{ActionItem, QueueSummary};
use crate::domain::account::Role;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::layout::{Layout, ok};
use crate::web::session::Ctx;

/// Actions listed on the start page; the rest are one search away.
const ACTIONS: i64 = 20;
/// Latest projects shown on the start page.
const PROJECTS: i64 = 5;

#[derive(Template)]
#[template(path = "home.html")]
struct StartPage {
    layout: Layout,
    name: String,
    role: Role,
    actions: Vec<ActionItem>,
    projects: Vec<ProjectSummary>,
    queue: Option<QueueSummary>,
}

impl StartPage {
    fn returned(&self) -> impl Iterator<Item = &ActionItem> {
        self.actions
            .iter()
            .filter(|a| a.status.code() == "returned")
    }
    fn conditions(&self) -> impl Iterator<Item = &ActionItem> {
        self.actions.iter().filter(|a| a.status.code() == "decided")
    }
    fn drafts(&self) -> impl Iterator<Item = &ActionItem> {
        self.actions.iter().filter(|a| a.status.code() == "draft")
    }
    /// Whole days since a time, for "waiting 3 days".
    fn days_since(&self, t: &time::OffsetDateTime) -> i64 {
        (time::OffsetDateTime::now_utc() - *t).whole_days().max(0)
    }
}

/// The start page of a signed-in user (the caller checked there is one).
pub async fn start_page(state: &AppState, ctx: Ctx) -> AppResult<Response> {
    let Some(user) = ctx.user.clone() else {
        return Err(crate::error::AppError::Forbidden);
    };
    let mut page = StartPage {
        layout: Layout::new(state, &ctx, "Start", "start"),
        name: user.display_name.clone(),
        role: user.role,
        actions: Vec::new(),
        projects: Vec::new(),
        queue: None,
    };
    match user.role {
        Role::Officer => {
            if let Some(institution) = user.institution_id {
                page.actions =
                    db::start::officer_actions(state.pool(), institution, user.id, ACTIONS).await?;
                let mine = ProjectFilter {
                    created_by: Some(user.id),
                    text: None,
                };
                page.projects =
                    db::projects::list(state.pool(), institution, &mine, 0, PROJECTS).await?;
            }
        }
        Role::Reviewer => {
            page.queue = Some(db::start::queue_summary(state.pool()).await?);
        }
        Role::Admin => {}
    }
    ok(&page)
}
