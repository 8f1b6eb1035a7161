//! Screening on cases: what people decided about register matches, re-screening jobs
//! after a register change, and the screening events they leave on cases.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::verdict::{Identity, RegisterHit};

/// A person's decision about one register entry for one case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub entry_id: String,
    pub decision: String,
    pub reason: String,
    pub decided_by: Uuid,
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
}

impl IdentityRow {
    /// The decision as the domain knows it; an unknown value is an error.
    pub fn identity(&self) -> sqlx::Result<Identity> {
        match self.decision.as_str() {
            "same" => Ok(Identity::Same),
            "different" => Ok(Identity::Different),
            "dismissed" => Ok(Identity::Dismissed),
            other => Err(sqlx::Error::Decode(
                format!("partner_identity.decision `{other}`").into(),
            )),
        }
    }
}

pub async fn identities(pool: &PgPool, assessment: Uuid) -> sqlx::Result<Vec<IdentityRow>> {
    sqlx::query_as(
        "SELECT p.entry_id, p.decision, p.reason, p.decided_by, u.display_name AS decided_by_name, p.decided_at
         FROM partner_identity p JOIN users u ON u.id = p.decided_by
         WHERE p.assessment_id = $1 ORDER BY p.decided_at",
    )
    .bind(assessment)
    .fetch_all(pool)
    .await
}

/// Records a decision; it replaces an earlier one for the same case and entry.
pub async fn set_identity(
    tx: &mut Transaction<'_, Postgres>,
    assessment: Uuid,
    entry_id: &str,
    decision: Identity,
    reason: &str,
    by: Uuid,
) -> sqlx::Result<()> {
    let code = match decision {
        Identity::Same => "same",
        Identity::Different => "different",
        Identity::Dismissed => "dismissed",
    };
    sqlx::query(
        "INSERT INTO partner_identity (assessment_id, entry_id, decision, reason, decided_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (assessment_id, entry_id)
         DO UPDATE SET decision = $3, reason = $4, decided_by = $5, decided_at = now()",
    )
    .bind(assessment)
    .bind(entry_id)
    .bind(code)
    .bind(reason)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes an officer's answer (the partner name changed, so the question is open again).
pub async fn clear_identity(
    tx: &mut Transaction<'_, Postgres>,
    assessment: Uuid,
    entry_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM partner_identity WHERE assessment_id = $1 AND entry_id = $2 AND decision <> 'dismissed'",
    )
    .bind(assessment)
    .bind(entry_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every decision of every case, for re-screening in bulk.
pub async fn identities_of(
    pool: &PgPool,
    assessments: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, IdentityRow)>> {
    let rows: Vec<(Uuid, String, String, String, Uuid, String, OffsetDateTime)> = sqlx::query_as(
        "SELECT p.assessment_id, p.entry_id, p.decision, p.reason, p.decided_by, u.display_name, p.decided_at
         FROM partner_identity p JOIN users u ON u.id = p.decided_by
         WHERE p.assessment_id = ANY($1)",
    )
    .bind(assessments)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(a, entry_id, decision, reason, decided_by, decided_by_name, decided_at)| {
                (
                    a,
                    IdentityRow {
                        entry_id,
                        decision,
                        reason,
                        decided_by,
                        decided_by_name,
                        decided_at,
                    },
                )
            },
        )
        .collect())
}

// ----- re-screening jobs -----

/// A re-screening job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub revision: i64,
    pub status: String,
    pub total: i32,
    pub done: i32,
    pub changed: i32,
    pub requested_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub error: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, revision, status, total, done, changed, requested_at, started_at, finished_at, error";

/// Queues a re-screening for a new register revision; queued older ones are superseded.
pub async fn queue(tx: &mut Transaction<'_, Postgres>, revision: i64) -> sqlx::Result<i64> {
    sqlx::query("UPDATE rescreen_jobs SET status = 'superseded', finished_at = now() WHERE status = 'queued'")
        .execute(&mut **tx)
        .await?;
    sqlx::query_scalar("INSERT INTO rescreen_jobs (revision) VALUES ($1) RETURNING id")
        .bind(revision)
        .fetch_one(&mut **tx)
        .await
}

/// Claims the oldest queued job, or a running one whose server stopped sending
/// heartbeats. Only one server gets it.
pub async fn claim(pool: &PgPool, worker: &str) -> sqlx::Result<Option<Job>> {
    sqlx::query_as(&format!(
        "UPDATE rescreen_jobs SET status = 'running', claimed_by = $1, heartbeat_at = now(),
                started_at = coalesce(started_at, now())
         WHERE id = (SELECT id FROM rescreen_jobs
                     WHERE status = 'queued'
                        OR (status = 'running' AND heartbeat_at < now() - interval '2 minutes')
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(worker)
    .fetch_optional(pool)
    .await
}

/// Progress, which doubles as the heartbeat.
pub async fn progress(
    pool: &PgPool,
    job: i64,
    total: i32,
    done: i32,
    changed: i32,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rescreen_jobs SET total = $2, done = $3, changed = $4, heartbeat_at = now() WHERE id = $1",
    )
    .bind(job)
    .bind(total)
    .bind(done)
    .bind(changed)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn finish(pool: &PgPool, job: i64, error: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rescreen_jobs SET status = CASE WHEN $2::text IS NULL THEN 'done' ELSE 'failed' END,
                error = $2, finished_at = now() WHERE id = $1",
    )
    .bind(job)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether a newer job is waiting (then the running one can stop early).
pub async fn superseded(pool: &PgPool, job: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rescreen_jobs WHERE id > $1 AND status = 'queued')",
    )
    .bind(job)
    .fetch_one(pool)
    .await
}

pub async fn mark_superseded(pool: &PgPool, job: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rescreen_jobs SET status = 'superseded', finished_at = now() WHERE id = $1",
    )
    .bind(job)
    .execute(pool)
    .await?;
    Ok(())
}

/// The newest jobs, newest first.
pub async fn jobs(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM rescreen_jobs ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
}

// ----- cases to re-screen -----

/// What re-screening needs of a case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScreenRow {
    pub id: Uuid,
    pub partner_name: Option<String>,
    pub screening_key: Option<String>,
}

/// Cases that have been submitted (not drafts), in id order after `after`.
pub async fn cases_after(
    pool: &PgPool,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<ScreenRow>> {
    sqlx::query_as(
        "SELECT id, partner_name, screening_key FROM assessments
         WHERE status <> 'draft' AND ($1::uuid IS NULL OR id > $1)
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn count_screened(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM assessments WHERE status <> 'draft'")
        .fetch_one(pool)
        .await
}

/// A case's screening changed: record the event and remember the new screening.
#[allow(clippy::too_many_arguments)]
pub async fn record_event(
    tx: &mut Transaction<'_, Postgres>,
    assessment: Uuid,
    revision: i64,
    summary: &str,
    before_key: Option<&str>,
    after_key: &str,
    hits: &[RegisterHit],
    verdict_before: &str,
    verdict_after: &str,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO screening_events
           (id, assessment_id, revision, summary, before_key, after_key, after_hits, verdict_before, verdict_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(assessment)
    .bind(revision)
    .bind(summary)
    .bind(before_key)
    .bind(after_key)
    .bind(Json(hits))
    .bind(verdict_before)
    .bind(verdict_after)
    .execute(&mut **tx)
    .await?;
    // `updated_at` is left alone: a register change is not activity on the case.
    sqlx::query(
        "UPDATE assessments SET screening_key = $2, screening = $3, screening_changed = true WHERE id = $1",
    )
    .bind(assessment)
    .bind(after_key)
    .bind(Json(hits))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A screening event as the case page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub summary: String,
    pub verdict_before: String,
    pub verdict_after: String,
    pub after_hits: Json<Vec<RegisterHit>>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub note: Option<String>,
}

pub async fn events(pool: &PgPool, assessment: Uuid) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT e.id, e.at, e.summary, e.verdict_before, e.verdict_after, e.after_hits,
                u.display_name AS acknowledged_by_name, e.acknowledged_at, e.note
         FROM screening_events e LEFT JOIN users u ON u.id = e.acknowledged_by
         WHERE e.assessment_id = $1 ORDER BY e.at DESC",
    )
    .bind(assessment)
    .fetch_all(pool)
    .await
}

/// A reviewer acknowledges an event; the case stays marked while others are open.
/// Returns false when the event is unknown or already acknowledged.
pub async fn acknowledge(
    tx: &mut Transaction<'_, Postgres>,
    assessment: Uuid,
    event: Uuid,
    by: Uuid,
    note: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE screening_events SET acknowledged_by = $3, acknowledged_at = now(), note = $4
         WHERE id = $2 AND assessment_id = $1 AND acknowledged_at IS NULL",
    )
    .bind(assessment)
    .bind(event)
    .bind(by)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE assessments SET screening_changed = EXISTS (
             SELECT 1 FROM screening_events WHERE assessment_id = $1 AND acknowledged_at IS NULL)
         WHERE id = $1",
    )
    .bind(assessment)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The date the case was decided, or else submitted, for "since the decision of ...".
pub async fn reference_date(
    pool: &PgPool,
    assessment: Uuid,
) -> sqlx::Result<Option<(bool, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT d.decided_at IS NOT NULL, coalesce(d.decided_at, a.submitted_at, a.created_at)
         FROM assessments a LEFT JOIN decisions d ON d.assessment_id = a.id WHERE a.id = $1",
    )
    .bind(assessment)
    .fetch_optional(pool)
    .await
}

/// The newest screening of a case, when re-screening found it changed.
pub async fn current(pool: &PgPool, assessment: Uuid) -> sqlx::Result<Vec<RegisterHit>> {
    let stored: Option<Json<Vec<RegisterHit>>> =
        sqlx::query_scalar("SELECT screening FROM assessments WHERE id = $1")
            .bind(assessment)
            .fetch_optional(pool)
            .await?
            .flatten();
    Ok(stored.map(|j| j.0).unwrap_or_default())
}
