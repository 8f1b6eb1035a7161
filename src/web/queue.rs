//! The review queue, a list that can be worked: filters (verdict, area, institution,
//! status, waiting time, assignee), pages, days waiting, the count per reviewer, and
//! assignment ("assign to me"; lead reviewers assign to anyone).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::review::{Assigned, QUEUE_PAGE, QueueFilter, QueueItem, ReviewerLoad};
use crate::db::users::Institution;
use crate::domain::account::Role;
use crate::domain::answers::FieldError;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Colour;
use crate::error::{AppError, AppResult};
use crate::services::notifications::{self, CaseMail};
use crate::state::AppState;
use crate::web::extract::{CaseOf, Query, Reviewer, ReviewerOnly};
use crate::web::forms::{Errors, FormPairs};
use crate::web::layout::{Layout, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue_get))
        .route("/assessments/{id}/assign", post(assign_post))
}

/// The queue's filters as typed, shown again as they were.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    pub screening: String,
    pub verdict: String,
    pub area: String,
    pub institution: String,
    pub status: String,
    /// Waiting at least this many days.
    pub waiting: String,
    /// "", "me", "nobody" or a reviewer's id.
    pub assigned: String,
    pub page: String,
}

const NOT_A_CHOICE: &str =
    "is not one of the choices; this filter was ignored. Choose from the list.";

impl QueueQuery {
    /// The valid filters, and a message naming each filter that is not (it is ignored).
    fn filter(
        &self,
        me: Uuid,
        areas: &[(String, String)],
        institutions: &[Institution],
        reviewers: &[ReviewerLoad],
    ) -> (QueueFilter, i64, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut bad = |field: &str, label: &str| {
            errors.push(FieldError::new(field, format!("{label} {NOT_A_CHOICE}")));
        };
        let mut f = QueueFilter {
            screening_changed: self.screening.trim() == "changed",
            ..QueueFilter::default()
        };
        if !matches!(self.screening.trim(), "" | "changed") {
            bad("screening", "View");
        }
        match self.verdict.trim() {
            "" => {}
            v => match Colour::from_code(v) {
                Some(c) => f.verdict = Some(c),
                None => bad("verdict", "Computed verdict"),
            },
        }
        match self.area.trim() {
            "" => {}
            a if areas.iter().any(|(code, _)| code == a) => f.area = Some(a.to_owned()),
            _ => bad("area", "Area"),
        }
        match self.institution.trim() {
            "" => {}
            i => match Uuid::parse_str(i) {
                Ok(id) if institutions.iter().any(|x| x.id == id) => f.institution = Some(id),
                _ => bad("institution", "Institution"),
            },
        }
        match self.status.trim() {
            "" => {}
            s => match Status::parse(s).filter(|s| s.awaits_reviewer()) {
                Some(s) => f.status = Some(s),
                None => bad("status", "Status"),
            },
        }
        match self.waiting.trim() {
            "" => {}
            w => match w.parse::<i32>() {
                Ok(d) if (0..=3650).contains(&d) => f.min_days = Some(d),
                _ => errors.push(FieldError::new(
                    "waiting",
                    "Waiting at least: write a whole number of days from 0 to 3650, e.g. 14.",
                )),
            },
        }
        f.assigned = match self.assigned.trim() {
            "" => Assigned::Anyone,
            "me" => Assigned::To(me),
            "nobody" => Assigned::Nobody,
            a => match Uuid::parse_str(a) {
                Ok(id) if reviewers.iter().any(|r| r.id == id) => Assigned::To(id),
                _ => {
                    errors.push(FieldError::new(
                        "assigned",
                        format!("Assigned to {NOT_A_CHOICE}"),
                    ));
                    Assigned::Anyone
                }
            },
        };
        let page = match self.page.trim() {
            "" => 1,
            p => match p.parse::<i64>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        "page",
                        "Page: a whole number from 1; the first page is shown.",
                    ));
                    1
                }
            },
        };
        (f, page, errors)
    }

    /// The address of another page of the same filters.
    pub fn page_link(&self, page: i64) -> String {
        let pairs = [
            ("screening", &self.screening),
            ("verdict", &self.verdict),
            ("area", &self.area),
            ("institution", &self.institution),
            ("status", &self.status),
            ("waiting", &self.waiting),
            ("assigned", &self.assigned),
        ];
        let page = page.to_string();
        let mut kept: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (*k, v.trim()))
            .collect();
        kept.push(("page", &page));
        format!(
            "/review?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueuePage {
    layout: Layout,
    items: Vec<QueueItem>,
    /// Showing the cases whose screening changed instead of those awaiting a decision.
    screening: bool,
    screening_changed: i64,
    query: QueueQuery,
    errors: Errors,
    total: i64,
    page: i64,
    pages: i64,
    areas: Vec<(String, String)>,
    institutions: Vec<Institution>,
    reviewers: Vec<ReviewerLoad>,
}

async fn queue_get(
    State(state): State<AppState>,
    Reviewer(s): Reviewer,
    Query(query): Query<QueueQuery>,
) -> AppResult<Response> {
    let rulebook = state.active_rulebook().await?;
    let areas: Vec<(String, String)> = rulebook
        .areas()
        .iter()
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let institutions = db::users::institutions(state.pool()).await?;
    let reviewers = db::review::reviewer_loads(state.pool()).await?;
    let (filter, page, errors) = query.filter(s.user.id, &areas, &institutions, &reviewers);
    let (items, total) = db::review::queue(state.pool(), &filter, page - 1).await?;
    let page = QueuePage {
        layout: Layout::new(&state, &s.ctx, "Review queue", "review"),
        items,
        screening: filter.screening_changed,
        screening_changed: db::review::screening_changed_count(state.pool()).await?,
        query,
        errors: Errors(errors),
        total,
        page,
        pages: ((total + QUEUE_PAGE - 1) / QUEUE_PAGE).max(1),
        areas,
        institutions,
        reviewers,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(status, &page)
}

/// Assigns a case waiting for a reviewer: to oneself, or (lead reviewers) to another
/// reviewer or to nobody.
async fn assign_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    if !case.status().awaits_reviewer() {
        return Err(AppError::Conflict(format!(
            "A case that is {} waits for no reviewer, so it cannot be assigned; nothing was changed.",
            case.status().word().to_lowercase()
        )));
    }
    let raw = form.raw("to");
    let to = match raw.trim() {
        "me" => Some((s.user.id, s.user.display_name.clone())),
        other => {
            if !s.user.lead_reviewer {
                return Err(AppError::Forbidden);
            }
            if other == "nobody" {
                None
            } else {
                let id = Uuid::parse_str(other).map_err(|_| {
                    AppError::BadRequest("Assign to: choose a reviewer from the list.".into())
                })?;
                let user = db::users::by_id(state.pool(), id)
                    .await?
                    .filter(|u| u.role == Role::Reviewer && !u.disabled)
                    .ok_or_else(|| {
                        AppError::BadRequest("Assign to: choose a reviewer from the list.".into())
                    })?;
                Some((user.id, user.display_name))
            }
        }
    };
    let mut tx = state.pool().begin().await?;
    db::review::assign(&mut tx, case.assessment.id, to.as_ref().map(|(id, _)| *id)).await?;
    if let Some((id, _)) = &to
        && *id != s.user.id
    {
        notifications::assigned(
            &mut tx,
            &state.config().mail,
            &CaseMail {
                id: case.assessment.id,
                reference: &case.assessment.reference,
                title: &case.project.title,
            },
            *id,
            &s.user.display_name,
        )
        .await?;
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.assign",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: match &to {
                Some((id, _)) if *id == s.user.id => "Assigned the case to themself".to_owned(),
                Some((_, name)) => format!("Assigned the case to {name}"),
                None => "Removed the case's assignment".to_owned(),
            },
            details: serde_json::json!({ "to": to.as_ref().map(|(id, _)| id) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=assigned",
        case.assessment.id
    ))
    .into_response())
}
