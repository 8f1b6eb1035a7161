//! The append-only audit log. Rows are only ever inserted, in the same transaction as
//! the change they describe; PostgreSQL refuses updates and deletes.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who did something, from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub address: String,
}

impl Actor {
    /// The program itself, acting at start-up.
    pub fn system() -> Self {
        Actor {
            id: None,
            email: Some("system".to_owned()),
            address: "start-up".to_owned(),
        }
    }
}

/// One audit entry to write.
pub struct Entry<'a> {
    pub action: &'a str,
    pub assessment_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub summary: String,
    pub details: serde_json::Value,
}

pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    e: Entry<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_email, action, assessment_id, project_id, summary, details, address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.id)
    .bind(&actor.email)
    .bind(e.action)
    .bind(e.assessment_id)
    .bind(e.project_id)
    .bind(e.summary)
    .bind(e.details)
    .bind(&actor.address)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Records outside any other change (sign-in, sign-out, failed sign-in, exports).
pub async fn record_alone(pool: &PgPool, actor: &Actor, e: Entry<'_>) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    record(&mut tx, actor, e).await?;
    tx.commit().await
}

/// Records a refusal (a 403, a 404 on an id, a CSRF refusal, a sign-in refused during a
/// lockout). The first of its kind for this actor and address in the window becomes an
/// audit row; the others are only counted in `refusal_tally`, so no one can grow the
/// append-only log at will. Returns whether an audit row was written.
pub async fn refusal(
    pool: &PgPool,
    actor: &Actor,
    action: &str,
    summary: String,
    path: &str,
    window_secs: i64,
) -> sqlx::Result<bool> {
    let who = actor
        .id
        .map(|id| id.to_string())
        .or_else(|| actor.email.clone())
        .unwrap_or_else(|| "anonymous".to_owned());
    let who: String = who.chars().take(300).collect();
    let address: String = actor.address.chars().take(100).collect();
    let path: String = path.chars().take(300).collect();
    let mut tx = pool.begin().await?;
    let first: bool = sqlx::query_scalar(
        "INSERT INTO refusal_tally (action, actor, address, window_start, last_path)
         VALUES ($1, $2, $3, to_timestamp(floor(extract(epoch FROM now()) / $4) * $4), $5)
         ON CONFLICT (action, actor, address, window_start)
         DO UPDATE SET count = refusal_tally.count + 1, last_at = now(), last_path = $5
         RETURNING xmax = 0",
    )
    .bind(action)
    .bind(&who)
    .bind(&address)
    .bind(window_secs.max(1) as f64)
    .bind(&path)
    .fetch_one(&mut *tx)
    .await?;
    if first {
        let actor = Actor {
            address,
            ..actor.clone()
        };
        record(
            &mut tx,
            &actor,
            Entry {
                action,
                assessment_id: None,
                project_id: None,
                summary,
                details: serde_json::json!({
                    "path": path,
                    "window_secs": window_secs,
                    "more": "further refusals of this kind by this actor from this address in the window are counted in refusal_tally",
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(first)
}

/// A stored audit row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor_email: Option<String>,
    pub action: String,
    pub assessment_id: Option<Uuid>,
    pub summary: String,
    pub address: Option<String>,
}

/// Validated filters of the installation-wide view (see the audit page).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the actor's email; empty for any.
    pub actor: String,
    /// An action code; empty for any.
    pub action: String,
    pub case: Option<Uuid>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

pub async fn for_assessment(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(
        "SELECT id, at, actor_email, action, assessment_id, summary, address FROM audit_log
         WHERE assessment_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// The newest rows matching the filter, at most `limit`.
pub async fn search(pool: &PgPool, f: &Filter, limit: i64) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(
        "SELECT id, at, actor_email, action, assessment_id, summary, address FROM audit_log
         WHERE ($1 = '' OR actor_email ILIKE '%' || $1 || '%')
           AND ($2 = '' OR action = $2)
           AND ($3::uuid IS NULL OR assessment_id = $3)
           AND ($4::date IS NULL OR at >= $4::date)
           AND ($5::date IS NULL OR at < $5::date + 1)
         ORDER BY at DESC, id DESC LIMIT $6",
    )
    .bind(&f.actor)
    .bind(&f.action)
    .bind(f.case)
    .bind(f.from)
    .bind(f.to)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn actions(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(pool)
        .await
}
