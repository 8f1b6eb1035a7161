//! What the start page shows: an officer's cases that need their action, and the
//! size of the reviewers' queue.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Colour;

/// A case waiting for its officer: returned with a request, decided with conditions to
/// meet, or a draft not yet submitted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActionItem {
    pub id: Uuid,
    pub reference: String,
    pub project_id: Uuid,
    pub title: String,
    pub status: Status,
    pub verdict: Colour,
    pub final_verdict: Option<Colour>,
    pub current_step: i32,
    pub updated_at: OffsetDateTime,
    /// The reviewer's latest request, for a returned case.
    pub request: Option<String>,
    pub requested_by: Option<String>,
    /// The conditions of the decision, for a decided case.
    pub conditions: Vec<String>,
}

/// The cases of the projects an officer recorded or submitted that wait for them:
/// returned first, then decided with conditions, then drafts; newest first in each.
pub async fn officer_actions(
    pool: &PgPool,
    institution_id: Uuid,
    officer: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<ActionItem>> {
    sqlx::query_as(
        "SELECT a.id, a.reference, a.project_id, coalesce(a.title, '') AS title, a.status,
                a.verdict, a.final_verdict, a.current_step, a.updated_at,
                r.message AS request, r.returned_by_name AS requested_by,
                coalesce(d.conditions, '{}') AS conditions
         FROM assessments a
         JOIN projects p ON p.id = a.project_id
         LEFT JOIN decisions d ON d.assessment_id = a.id
         LEFT JOIN LATERAL (
             SELECT rt.message, u.display_name AS returned_by_name FROM returns rt
             JOIN users u ON u.id = rt.returned_by
             WHERE rt.assessment_id = a.id ORDER BY rt.returned_at DESC LIMIT 1
         ) r ON a.status = 'returned'
         WHERE a.institution_id = $1 AND a.deleted_at IS NULL
           AND (p.created_by = $2 OR a.submitted_by = $2)
           AND (a.status IN ('draft', 'returned')
                OR (a.status = 'decided' AND cardinality(d.conditions) > 0))
         ORDER BY CASE a.status WHEN 'returned' THEN 0 WHEN 'decided' THEN 1 ELSE 2 END,
                  a.updated_at DESC, a.id
         LIMIT $3",
    )
    .bind(institution_id)
    .bind(officer)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many submitted cases wait for a reviewer, and how long the oldest has waited.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueSummary {
    pub waiting: i64,
    pub oldest: Option<OffsetDateTime>,
}

pub async fn queue_summary(pool: &PgPool) -> sqlx::Result<QueueSummary> {
    sqlx::query_as(
        "SELECT count(*) AS waiting, min(submitted_at) AS oldest FROM assessments
         WHERE status IN ('submitted', 'resubmitted') AND deleted_at IS NULL",
    )
    .fetch_one(pool)
    .await
}
