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
    /// Optimistic concurrency for editing the details.
    pub lock_version: i32,
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
    pub final_verdict: Option<Colour>,
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
                funding_programme, institution_id, lock_version, created_at, updated_at
         FROM projects WHERE id = $1",
    )
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Which projects a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Only the projects this officer recorded ("mine"); otherwise the institution's.
    pub created_by: Option<Uuid>,
    /// Words of the title, acronym, lead researcher or partner, or a case reference.
    pub text: Option<String>,
}

/// A page of an institution's projects, newest activity first, with the newest
/// assessment of each; `limit + 1` rows tell whether another page follows.
pub async fn list(
    pool: &PgPool,
    institution_id: Uuid,
    f: &ProjectFilter,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<ProjectSummary>> {
    let reference = f.text.as_deref().and_then(crate::domain::reference::parse);
    // LIKE patterns: the typed text matches literally.
    let pattern = f.text.as_deref().map(|t| {
        format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    sqlx::query_as(
        "SELECT p.id, p.title, p.acronym, p.lead_researcher,
                greatest(p.updated_at, a.updated_at) AS updated_at,
                a.id AS assessment_id, a.reference, a.status, a.verdict, a.final_verdict,
                a.partner_name, ar.name AS area_name, a.evaluation
         FROM projects p
         LEFT JOIN LATERAL (
             SELECT * FROM assessments
             WHERE project_id = p.id AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1
         ) a ON true
         LEFT JOIN areas ar ON ar.code = a.area_code
         WHERE p.institution_id = $1
           AND ($2::uuid IS NULL OR p.created_by = $2)
           AND ($3::text IS NULL
                OR ($4::text IS NOT NULL AND EXISTS (
                        SELECT 1 FROM assessments x
                        WHERE x.project_id = p.id AND x.reference = $4 AND x.deleted_at IS NULL))
                OR p.title ILIKE $3 OR p.acronym ILIKE $3 OR p.lead_researcher ILIKE $3
                OR a.partner_name ILIKE $3)
         ORDER BY greatest(p.updated_at, a.updated_at) DESC, p.id
         OFFSET $5 LIMIT $6",
    )
    .bind(institution_id)
    .bind(f.created_by)
    .bind(pattern)
    .bind(reference)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Whether the details may still change: no case of the project was ever submitted.
pub async fn is_editable(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM assessments
                            WHERE project_id = $1 AND status <> 'draft' AND deleted_at IS NULL)",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// Changes the details if nobody changed them since `lock_version` and no case of the
/// project has been submitted; false otherwise. The cases' copies (title, search) follow.
pub async fn update(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    lock_version: i32,
    p: &NewProject,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE projects
         SET title = $3, acronym = $4, summary = $5, lead_researcher = $6, department = $7,
             planned_start = $8, duration_months = $9, funding_programme = $10,
             lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2
           AND NOT EXISTS (SELECT 1 FROM assessments
                           WHERE project_id = $1 AND status <> 'draft' AND deleted_at IS NULL)",
    )
    .bind(id)
    .bind(lock_version)
    .bind(p.title.as_str())
    .bind(p.acronym.as_deref())
    .bind(p.summary.as_str())
    .bind(p.lead_researcher.as_str())
    .bind(p.department.as_deref())
    .bind(p.planned_start)
    .bind(p.duration_months)
    .bind(p.funding_programme.as_deref())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The search trigger copies the title and reindexes when project_id is set.
    sqlx::query("UPDATE assessments SET project_id = project_id WHERE project_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
