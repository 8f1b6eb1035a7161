//! Assessments: the answers, the stored evaluation and the draft/submitted status.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::answers::Answers;
use crate::domain::verdict::Evaluation;

/// A stored assessment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assessment {
    pub id: Uuid,
    pub project_id: Uuid,
    pub status: String,
    pub answers: Json<Answers>,
    pub current_step: i32,
    pub rulebook_version: String,
    pub evaluation: Json<Evaluation>,
    pub lock_version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub submitted_at: Option<OffsetDateTime>,
    pub submitted_by: Option<Uuid>,
    pub final_verdict: Option<String>,
}

impl Assessment {
    pub fn is_draft(&self) -> bool {
        self.status == "draft"
    }

    /// Its officer may still change the answers (a draft, or returned for more information).
    pub fn is_editable(&self) -> bool {
        matches!(self.status.as_str(), "draft" | "returned")
    }
}

/// What is written with every save: the answers and what they evaluate to.
pub struct Saved<'a> {
    pub answers: &'a Answers,
    pub evaluation: &'a Evaluation,
    pub current_step: i32,
    pub partner_normalised: Option<String>,
}

const COLUMNS: &str = "id, project_id, status, answers, current_step, rulebook_version, evaluation, \
                       lock_version, created_at, updated_at, submitted_at, submitted_by, final_verdict";

pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    s: &Saved<'_>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO assessments
           (id, project_id, answers, current_step, rulebook_version, evaluation, verdict, baseline,
            area_code, sub_area_code, partner_name, partner_normalised, register_entry)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(project_id)
    .bind(Json(s.answers))
    .bind(s.current_step)
    .bind(&s.evaluation.rulebook_version)
    .bind(Json(s.evaluation))
    .bind(s.evaluation.verdict.code())
    .bind(s.evaluation.baseline.code())
    .bind(s.answers.text("area"))
    .bind(s.answers.text("sub_area"))
    .bind(s.answers.text("partner_name"))
    .bind(&s.partner_normalised)
    .bind(s.evaluation.register.as_ref().map(|r| r.entry.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Assessment>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM assessments WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Locks the row for the rest of the transaction, so a save and a submission never interleave.
pub async fn get_for_update(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> sqlx::Result<Option<Assessment>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM assessments WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn for_project(pool: &PgPool, project_id: Uuid) -> sqlx::Result<Vec<Assessment>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM assessments WHERE project_id = $1 ORDER BY created_at DESC"
    ))
    .bind(project_id)
    .fetch_all(pool)
    .await
}

/// Saves a draft if nobody saved since `lock_version`; returns false on a conflict.
pub async fn save_draft(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    lock_version: i32,
    s: &Saved<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE assessments
         SET answers = $3, current_step = $4, rulebook_version = $5, evaluation = $6, verdict = $7,
             baseline = $8, area_code = $9, sub_area_code = $10, partner_name = $11,
             partner_normalised = $12, register_entry = $13, lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2 AND status IN ('draft', 'returned')",
    )
    .bind(id)
    .bind(lock_version)
    .bind(Json(s.answers))
    .bind(s.current_step)
    .bind(&s.evaluation.rulebook_version)
    .bind(Json(s.evaluation))
    .bind(s.evaluation.verdict.code())
    .bind(s.evaluation.baseline.code())
    .bind(s.answers.text("area"))
    .bind(s.answers.text("sub_area"))
    .bind(s.answers.text("partner_name"))
    .bind(&s.partner_normalised)
    .bind(s.evaluation.register.as_ref().map(|r| r.entry.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves an editable case to submitted or resubmitted, recording who and when.
pub async fn mark_submitted(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    from: &str,
    to: &str,
    by: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE assessments
         SET status = $3, submitted_at = now(), submitted_by = $4, lock_version = lock_version + 1
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
