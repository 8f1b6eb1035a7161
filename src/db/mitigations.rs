//! The recorded status of a case's ticked mitigations.

use std::collections::BTreeMap;

use sqlx::{PgPool, Postgres, Row, Transaction};
use time::Date;
use uuid::Uuid;

use crate::domain::mitigation::MitigationStatus;

/// One mitigation's status with the names the page shows.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: MitigationStatus,
    pub owner_name: Option<String>,
    pub updated_by_name: String,
    pub updated_at: time::OffsetDateTime,
}

/// The statuses of a case's mitigations, by code.
pub async fn for_assessment(
    pool: &PgPool,
    assessment_id: Uuid,
) -> sqlx::Result<BTreeMap<String, Recorded>> {
    let rows = sqlx::query(
        "SELECT m.code, m.status, m.note, m.owner_id, m.due_on, o.display_name AS owner_name,
                u.display_name AS updated_by_name, m.updated_at
         FROM mitigation_status m
         JOIN users u ON u.id = m.updated_by
         LEFT JOIN users o ON o.id = m.owner_id
         WHERE m.assessment_id = $1",
    )
    .bind(assessment_id)
    .fetch_all(pool)
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let code: String = row.try_get("code")?;
        let status: String = row.try_get("status")?;
        let owner: Option<Uuid> = row.try_get("owner_id")?;
        let due: Option<Date> = row.try_get("due_on")?;
        let status = MitigationStatus::from_parts(&status, row.try_get("note")?, owner, due)
            .ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown mitigation status {status:?}").into())
            })?;
        out.insert(
            code,
            Recorded {
                status,
                owner_name: row.try_get("owner_name")?,
                updated_by_name: row.try_get("updated_by_name")?,
                updated_at: row.try_get("updated_at")?,
            },
        );
    }
    Ok(out)
}

/// Records (or replaces) one mitigation's status.
pub async fn set(
    tx: &mut Transaction<'_, Postgres>,
    assessment_id: Uuid,
    code: &str,
    status: &MitigationStatus,
    by: Uuid,
) -> sqlx::Result<()> {
    let (owner, due) = match status {
        MitigationStatus::Planned { owner, due, .. } => (Some(*owner), Some(*due)),
        MitigationStatus::Done { .. } => (None, None),
    };
    sqlx::query(
        "INSERT INTO mitigation_status (assessment_id, code, status, note, owner_id, due_on, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (assessment_id, code) DO UPDATE
         SET status = $3, note = $4, owner_id = $5, due_on = $6, updated_by = $7, updated_at = now()",
    )
    .bind(assessment_id)
    .bind(code)
    .bind(status.code())
    .bind(status.note())
    .bind(owner)
    .bind(due)
    .bind(by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Forgets the status of a mitigation no longer chosen as done or planned.
pub async fn clear(
    tx: &mut Transaction<'_, Postgres>,
    assessment_id: Uuid,
    code: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM mitigation_status WHERE assessment_id = $1 AND code = $2")
        .bind(assessment_id)
        .bind(code)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The officers of an institution (who may own a planned mitigation), as (id, name).
pub async fn officers_of(pool: &PgPool, institution: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT id, display_name FROM users
         WHERE institution_id = $1 AND role = 'officer' AND NOT disabled ORDER BY display_name",
    )
    .bind(institution)
    .fetch_all(pool)
    .await
}
