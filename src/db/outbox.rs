//! The mail outbox: messages written with the change they report, sent later.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// A message to write to the outbox.
pub struct NewMail<'a> {
    pub recipient_id: Option<Uuid>,
    pub recipient_email: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub kind: &'a str,
    pub assessment_id: Option<Uuid>,
    /// `immediate` or `digest`.
    pub delivery: &'a str,
    /// `queued` (to send) or `held` (no SMTP server: kept for administrators to read).
    pub status: &'a str,
    /// When it may be sent (a digest item waits for the next digest time).
    pub not_before: OffsetDateTime,
}

pub async fn insert(tx: &mut Transaction<'_, Postgres>, m: &NewMail<'_>) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (id, recipient_id, recipient_email, subject, body, kind, assessment_id,
                             delivery, status, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(m.recipient_id)
    .bind(m.recipient_email)
    .bind(m.subject)
    .bind(m.body)
    .bind(m.kind)
    .bind(m.assessment_id)
    .bind(m.delivery)
    .bind(m.status)
    .bind(m.not_before)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A message in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Mail {
    pub id: Uuid,
    pub recipient_id: Option<Uuid>,
    pub recipient_email: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub assessment_id: Option<Uuid>,
    pub delivery: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, recipient_id, recipient_email, subject, body, kind, assessment_id, delivery, \
                       status, attempts, next_attempt_at, last_error, created_at, sent_at";

/// Claims due messages for this transaction (another server skips them): immediate ones,
/// and digest items whose digest time has come.
pub async fn claim_due(
    tx: &mut Transaction<'_, Postgres>,
    now: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Vec<Mail>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM outbox
         WHERE status = 'queued' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2
         FOR UPDATE SKIP LOCKED"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Records messages as sent. The secret link of an invitation or reset mail (a 64-digit
/// hex token) is removed from the stored copy: only the mail carried it.
pub async fn mark_sent(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
    status: &str,
    digest_id: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = $2, sent_at = now(), attempts = attempts + 1, last_error = NULL,
                digest_id = $3,
                body = CASE WHEN kind = ANY($4)
                            THEN regexp_replace(body, '[0-9a-f]{64}', '[removed once sent]', 'g')
                            ELSE body END
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(status)
    .bind(digest_id)
    .bind(&crate::mail::SECRET_KINDS[..])
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A failed attempt: try again at `retry`, or give up (`retry` is `None`).
pub async fn mark_failed(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
    error: &str,
    retry: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'queued' END,
                next_attempt_at = coalesce($3, next_attempt_at)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(error)
    .bind(retry)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A digest mail, recorded as sent in the outbox with the items it gathered.
pub async fn insert_sent(
    tx: &mut Transaction<'_, Postgres>,
    m: &NewMail<'_>,
) -> sqlx::Result<Uuid> {
    let id = insert(tx, m).await?;
    sqlx::query("UPDATE outbox SET sent_at = now(), attempts = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// The newest messages, for administrators.
pub async fn recent(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Mail>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Mail>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Counts by status, for the administrators' page.
pub async fn counts(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status")
        .fetch_all(pool)
        .await
}
