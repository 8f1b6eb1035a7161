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

/// Filters of the installation-wide view.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filter {
    pub actor: String,
    pub action: String,
    pub case: String,
    pub from: String,
    pub to: String,
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
    let case = Uuid::parse_str(f.case.trim()).ok();
    let day = |s: &str| {
        time::Date::parse(
            s.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    };
    sqlx::query_as(
        "SELECT id, at, actor_email, action, assessment_id, summary, address FROM audit_log
         WHERE ($1 = '' OR actor_email ILIKE '%' || $1 || '%')
           AND ($2 = '' OR action = $2)
           AND ($3::uuid IS NULL OR assessment_id = $3)
           AND ($4::date IS NULL OR at >= $4::date)
           AND ($5::date IS NULL OR at < $5::date + 1)
         ORDER BY at DESC, id DESC LIMIT $6",
    )
    .bind(f.actor.trim())
    .bind(f.action.trim())
    .bind(case)
    .bind(day(&f.from))
    .bind(day(&f.to))
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn actions(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(pool)
        .await
}
