//! Attachment records (the bytes are in the object store, see `storage`).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::attachment::Target;

/// A stored file's record.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub target: Target,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub note: String,
    pub uploaded_by_name: String,
    pub uploaded_at: OffsetDateTime,
}

impl<'r> sqlx::FromRow<'r, PgRow> for Attachment {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let kind: String = row.try_get("target")?;
        let reference: String = row.try_get("target_ref")?;
        let target = Target::from_parts(&kind, &reference).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown attachment target {kind:?} {reference:?}").into())
        })?;
        Ok(Attachment {
            id: row.try_get("id")?,
            assessment_id: row.try_get("assessment_id")?,
            target,
            file_name: row.try_get("file_name")?,
            media_type: row.try_get("media_type")?,
            size_bytes: row.try_get("size_bytes")?,
            sha256: row.try_get("sha256")?,
            storage_key: row.try_get("storage_key")?,
            note: row.try_get("note")?,
            uploaded_by_name: row.try_get("uploaded_by_name")?,
            uploaded_at: row.try_get("uploaded_at")?,
        })
    }
}

/// A file to record.
pub struct NewAttachment<'a> {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub target: &'a Target,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub note: &'a str,
    pub uploaded_by: Uuid,
}

pub async fn insert(tx: &mut Transaction<'_, Postgres>, a: &NewAttachment<'_>) -> sqlx::Result<()> {
    let (kind, reference) = a.target.parts();
    sqlx::query(
        "INSERT INTO attachments (id, assessment_id, target, target_ref, file_name, media_type,
                                  size_bytes, sha256, storage_key, note, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(a.id)
    .bind(a.assessment_id)
    .bind(kind)
    .bind(reference)
    .bind(a.file_name)
    .bind(a.media_type)
    .bind(a.size_bytes)
    .bind(a.sha256)
    .bind(a.storage_key)
    .bind(a.note)
    .bind(a.uploaded_by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

const SELECT: &str = "SELECT a.id, a.assessment_id, a.target, a.target_ref, a.file_name, a.media_type,
        a.size_bytes, a.sha256, a.storage_key, a.note, u.display_name AS uploaded_by_name, a.uploaded_at
 FROM attachments a JOIN users u ON u.id = a.uploaded_by";

/// A case's files, oldest first.
pub async fn for_assessment(pool: &PgPool, assessment_id: Uuid) -> sqlx::Result<Vec<Attachment>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.assessment_id = $1 ORDER BY a.uploaded_at, a.id"
    ))
    .bind(assessment_id)
    .fetch_all(pool)
    .await
}

/// One file of one case; another case's file is `None`.
pub async fn get(pool: &PgPool, assessment_id: Uuid, id: Uuid) -> sqlx::Result<Option<Attachment>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.assessment_id = $1 AND a.id = $2"
    ))
    .bind(assessment_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}
