//! Assessments: the answers, the stored evaluation and the draft/submitted status.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::answers::Answers;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Colour;
use crate::domain::verdict::{Evaluation, screening_key};

/// A stored assessment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assessment {
    pub id: Uuid,
    /// The human reference, `TRI-2026-0042`.
    pub reference: String,
    pub project_id: Uuid,
    pub status: Status,
    pub answers: Json<Answers>,
    pub current_step: i32,
    pub rulebook_version: String,
    pub evaluation: Json<Evaluation>,
    pub lock_version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub submitted_at: Option<OffsetDateTime>,
    pub submitted_by: Option<Uuid>,
    pub final_verdict: Option<Colour>,
    /// A reviewer has screening events on this case to acknowledge.
    pub screening_changed: bool,
}

impl Assessment {
    pub fn is_draft(&self) -> bool {
        self.status == Status::Draft
    }

    /// Its officer may still change the answers (a draft, or returned for more information).
    pub fn is_editable(&self) -> bool {
        self.status.is_editable()
    }
}

/// What is written with every save: the answers and what they evaluate to.
pub struct Saved<'a> {
    pub answers: &'a Answers,
    pub evaluation: &'a Evaluation,
    pub current_step: i32,
    pub partner_normalised: Option<String>,
}

impl Saved<'_> {
    /// The register entry the case is grouped under: the best match that counts.
    fn register_entry_id(&self) -> Option<&str> {
        let hits = self
            .evaluation
            .register
            .iter()
            .chain(&self.evaluation.register_also);
        hits.filter(|h| h.counts() && !h.entry_id.is_empty())
            .map(|h| h.entry_id.as_str())
            .next()
    }

    fn register_entry(&self) -> Option<&str> {
        let hits = self
            .evaluation
            .register
            .iter()
            .chain(&self.evaluation.register_also);
        hits.filter(|h| h.counts()).map(|h| h.entry.as_str()).next()
    }

    fn screening_key(&self) -> String {
        screening_key(&self.evaluation.register_hits())
    }
}

const COLUMNS: &str = "id, reference, project_id, status, answers, current_step, rulebook_version, evaluation, \
                       lock_version, created_at, updated_at, submitted_at, submitted_by, final_verdict, \
                       screening_changed";

pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    s: &Saved<'_>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO assessments
           (id, project_id, answers, current_step, rulebook_version, evaluation, verdict, baseline,
            area_code, sub_area_code, partner_name, partner_normalised, register_entry,
            register_entry_id, screening_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
    .bind(s.register_entry())
    .bind(s.register_entry_id())
    .bind(s.screening_key())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Assessment>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM assessments WHERE id = $1 AND deleted_at IS NULL"
    ))
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
        "SELECT {COLUMNS} FROM assessments WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn for_project(pool: &PgPool, project_id: Uuid) -> sqlx::Result<Vec<Assessment>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM assessments WHERE project_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC"
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
             partner_normalised = $12, register_entry = $13, register_entry_id = $14,
             screening_key = $15, screening = NULL, lock_version = lock_version + 1
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
    .bind(s.register_entry())
    .bind(s.register_entry_id())
    .bind(s.screening_key())
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

/// Replaces a case's evaluation without touching its answers or status (a reviewer
/// dismissed a register match): refused (false) when the case changed meanwhile.
pub async fn replace_evaluation(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    lock_version: i32,
    evaluation: &Evaluation,
) -> sqlx::Result<bool> {
    let hits = evaluation.register_hits();
    let counted = hits.iter().find(|h| h.counts());
    let done = sqlx::query(
        "UPDATE assessments
         SET evaluation = $3, verdict = $4, register_entry = $5, register_entry_id = $6,
             screening_key = $7, lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2",
    )
    .bind(id)
    .bind(lock_version)
    .bind(Json(evaluation))
    .bind(evaluation.verdict.code())
    .bind(counted.map(|h| h.entry.as_str()))
    .bind(
        counted
            .map(|h| h.entry_id.as_str())
            .filter(|i| !i.is_empty()),
    )
    .bind(screening_key(&hits))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a draft (soft: the row stays, lists and pages leave it out) if nobody saved
/// it since `lock_version`; false when it changed meanwhile or is no longer a draft.
pub async fn delete_draft(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    lock_version: i32,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE assessments SET deleted_at = now(), lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2 AND status = 'draft' AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(lock_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
