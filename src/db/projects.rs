//! Projects.

use sqlx::{PgPool, Postgres, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use sqlx::types::Json;

use crate::domain::lifecycle::Status;
use crate::domain::project::NewProject;
use crate::domain::rulebook::Colour;
use crate::domain::verdict::Evaluation;

/// A stored project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Project {
    pub id: Uuid,
    pub title: String,
    pub acronym: Option<String>,
    pub summary: String,
    pub lead_researcher: String,
    pub department: Option<String>,
    pub planned_start: Option<Date>,
    pub duration_months: Option<i32>,
    pub funding_programme: Option<String>,
    pub institution_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A project with its newest assessment, for the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectSummary {
    pub id: Uuid,
    pub title: String,
    pub acronym: Option<String>,
    pub lead_researcher: String,
    pub updated_at: OffsetDateTime,
    pub assessment_id: Option<Uuid>,
    pub reference: Option<String>,
    pub status: Option<Status>,
    pub verdict: Option<Colour>,
    pub partner_name: Option<String>,
    pub area_name: Option<String>,
    pub evaluation: Option<Json<Evaluation>>,
}

pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    p: &NewProject,
    institution_id: Uuid,
    created_by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO projects
           (id, title, acronym, summary, lead_researcher, department, planned_start, duration_months,
            funding_programme, institution_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(p.title.as_str())
    .bind(p.acronym.as_deref())
    .bind(p.summary.as_str())
    .bind(p.lead_researcher.as_str())
    .bind(p.department.as_deref())
    .bind(p.planned_start)
    .bind(p.duration_months)
    .bind(p.funding_programme.as_deref())
    .bind(institution_id)
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Project>> {
    sqlx::query_as(
        "SELECT id, title, acronym, summary, lead_researcher, department, planned_start, duration_months,
                funding_programme, institution_id, created_at, updated_at
         FROM projects WHERE id = $1",
    )
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// An institution's projects, newest activity first, with the newest assessment of each.
pub async fn list(pool: &PgPool, institution_id: Uuid) -> sqlx::Result<Vec<ProjectSummary>> {
    sqlx::query_as(
        "SELECT p.id, p.title, p.acronym, p.lead_researcher,
                greatest(p.updated_at, a.updated_at) AS updated_at,
                a.id AS assessment_id, a.reference, a.status, a.verdict, a.partner_name, ar.name AS area_name,
                a.evaluation
         FROM projects p
         LEFT JOIN LATERAL (
             SELECT * FROM assessments WHERE project_id = p.id ORDER BY created_at DESC LIMIT 1
         ) a ON true
         LEFT JOIN areas ar ON ar.code = a.area_code
         WHERE p.institution_id = $1
         ORDER BY greatest(p.updated_at, a.updated_at) DESC, p.id",
    )
    .bind(institution_id)
    .fetch_all(pool)
    .await
}
