//! The partner register: entries of every list, the revisions that changed them, their
//! history, and uploads waiting to be published.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::screening::diff::{RegisterDiff, diff};
use crate::screening::{Entry, List};

/// Decodes a stored entry; an entry that no longer decodes is an error, never skipped.
fn decode(id: &str, data: Json<serde_json::Value>) -> sqlx::Result<Entry> {
    serde_json::from_value(data.0)
        .map_err(|e| sqlx::Error::Decode(format!("register entry {id}: {e}").into()))
}

/// Every entry of every list, in list order then file order.
pub async fn load_all(pool: &PgPool) -> sqlx::Result<Vec<Entry>> {
    let rows: Vec<(String, Json<serde_json::Value>)> = sqlx::query_as(
        "SELECT id, data FROM register_entries
         ORDER BY CASE list WHEN 'curated' THEN 0 WHEN 'us_csl' THEN 1 ELSE 2 END, position",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, data)| decode(&id, data))
        .collect()
}

/// The entries of one list.
pub async fn list_entries(
    tx: &mut Transaction<'_, Postgres>,
    list: List,
) -> sqlx::Result<Vec<Entry>> {
    let rows: Vec<(String, Json<serde_json::Value>)> =
        sqlx::query_as("SELECT id, data FROM register_entries WHERE list = $1 ORDER BY position")
            .bind(list.code())
            .fetch_all(&mut **tx)
            .await?;
    rows.into_iter()
        .map(|(id, data)| decode(&id, data))
        .collect()
}

/// Every id in the register, for checking parents of an imported list.
pub async fn ids_outside(
    tx: &mut Transaction<'_, Postgres>,
    list: List,
) -> sqlx::Result<std::collections::HashSet<String>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM register_entries WHERE list <> $1")
        .bind(list.code())
        .fetch_all(&mut **tx)
        .await?;
    Ok(ids.into_iter().collect())
}

/// The newest revision, or `None` before the first import.
pub async fn revision(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT max(id) FROM register_imports")
        .fetch_one(pool)
        .await
}

/// Serialises register changes: two imports never interleave.
pub async fn lock(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<()> {
    sqlx::query("LOCK TABLE register_entries IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What a change did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub revision: i64,
    pub diff: RegisterDiff,
}

/// Who changed the register and how.
pub struct Change<'a> {
    pub file_name: &'a str,
    pub by: &'a str,
    pub content_hash: Option<&'a str>,
}

/// Replaces the entries of one list with `entries` (the other lists stay), records the
/// revision and the history of every entry that changed. Rows are written in bulk.
pub async fn replace_list(
    tx: &mut Transaction<'_, Postgres>,
    list: List,
    entries: &[Entry],
    change: Change<'_>,
) -> sqlx::Result<Applied> {
    lock(tx).await?;
    let before = list_entries(tx, list).await?;
    let d = diff(&before, entries);
    let revision = record_revision(tx, list, "import", &change, entries.len(), &d).await?;
    let kept: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT id, revision FROM register_entries WHERE list = $1",
    )
    .bind(list.code())
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    sqlx::query("DELETE FROM register_entries WHERE list = $1")
        .bind(list.code())
        .execute(&mut **tx)
        .await?;
    let old: HashMap<&str, &Entry> = before.iter().map(|e| (e.id.as_str(), e)).collect();
    for chunk in entries.chunks(2000).enumerate() {
        let (n, chunk) = chunk;
        let mut ids = Vec::with_capacity(chunk.len());
        let mut names = Vec::with_capacity(chunk.len());
        let mut data = Vec::with_capacity(chunk.len());
        let mut revisions = Vec::with_capacity(chunk.len());
        let mut positions = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            ids.push(e.id.clone());
            names.push(e.name.clone());
            data.push(serde_json::to_value(e).map_err(|e| sqlx::Error::Encode(e.into()))?);
            // An unchanged entry keeps the revision that last changed it.
            let unchanged = old.get(e.id.as_str()).is_some_and(|o| *o == e);
            revisions.push(match kept.get(&e.id) {
                Some(&r) if unchanged => r,
                _ => revision,
            });
            positions.push((n * 2000 + i) as i32);
        }
        sqlx::query(
            "INSERT INTO register_entries (id, list, name, data, revision, position)
             SELECT id, $1, name, data, revision, position
             FROM UNNEST($2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::int[])
                  AS t(id, name, data, revision, position)",
        )
        .bind(list.code())
        .bind(&ids)
        .bind(&names)
        .bind(&data)
        .bind(&revisions)
        .bind(&positions)
        .execute(&mut **tx)
        .await?;
    }
    write_history(tx, revision, &d).await?;
    Ok(Applied { revision, diff: d })
}

/// Replaces the entries of a list after an administrator's edit, writing only the
/// entries that changed (the caller holds the register lock).
pub async fn edit(
    tx: &mut Transaction<'_, Postgres>,
    list: List,
    entries: Vec<Entry>,
    by: &str,
) -> sqlx::Result<Applied> {
    let before = list_entries(tx, list).await?;
    let d = diff(&before, &entries);
    let change = Change {
        file_name: "edited in triage",
        by,
        content_hash: None,
    };
    let revision = record_revision(tx, list, "edit", &change, entries.len(), &d).await?;
    for e in d.added.iter().chain(d.changed.iter().map(|c| &c.after)) {
        let position = entries.iter().position(|x| x.id == e.id).unwrap_or(0) as i32;
        sqlx::query(
            "INSERT INTO register_entries (id, list, name, data, revision, position)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET name = $3, data = $4, revision = $5, position = $6",
        )
        .bind(&e.id)
        .bind(list.code())
        .bind(&e.name)
        .bind(Json(e))
        .bind(revision)
        .bind(position)
        .execute(&mut **tx)
        .await?;
    }
    for e in &d.removed {
        sqlx::query("DELETE FROM register_entries WHERE id = $1")
            .bind(&e.id)
            .execute(&mut **tx)
            .await?;
    }
    write_history(tx, revision, &d).await?;
    Ok(Applied { revision, diff: d })
}

async fn record_revision(
    tx: &mut Transaction<'_, Postgres>,
    list: List,
    kind: &str,
    change: &Change<'_>,
    entries: usize,
    d: &RegisterDiff,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO register_imports (file_name, entries, list, change, changed_by, content_hash, summary)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(change.file_name)
    .bind(entries as i32)
    .bind(list.code())
    .bind(kind)
    .bind(change.by)
    .bind(change.content_hash)
    .bind(serde_json::json!({
        "added": d.added.len(),
        "changed": d.changed.len(),
        "removed": d.removed.len(),
        "flags_added": d.flags_added.len(),
        "flags_removed": d.flags_removed.len(),
    }))
    .fetch_one(&mut **tx)
    .await
}

async fn write_history(
    tx: &mut Transaction<'_, Postgres>,
    revision: i64,
    d: &RegisterDiff,
) -> sqlx::Result<()> {
    let mut ids: Vec<String> = Vec::new();
    let mut changes: Vec<&str> = Vec::new();
    let mut before: Vec<Option<serde_json::Value>> = Vec::new();
    let mut after: Vec<Option<serde_json::Value>> = Vec::new();
    let json = |e: &Entry| serde_json::to_value(e).ok();
    for e in &d.added {
        ids.push(e.id.clone());
        changes.push("added");
        before.push(None);
        after.push(json(e));
    }
    for c in &d.changed {
        ids.push(c.after.id.clone());
        changes.push("changed");
        before.push(json(&c.before));
        after.push(json(&c.after));
    }
    for e in &d.removed {
        ids.push(e.id.clone());
        changes.push("removed");
        before.push(json(e));
        after.push(None);
    }
    for start in (0..ids.len()).step_by(2000) {
        let end = (start + 2000).min(ids.len());
        sqlx::query(
            "INSERT INTO register_history (revision, entry_id, change, before, after)
             SELECT $1, entry_id, change, before, after
             FROM UNNEST($2::text[], $3::text[], $4::jsonb[], $5::jsonb[]) AS t(entry_id, change, before, after)",
        )
        .bind(revision)
        .bind(&ids[start..end])
        .bind(&changes[start..end])
        .bind(&before[start..end])
        .bind(&after[start..end])
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One revision of the register, for the administrator's page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Revision {
    pub id: i64,
    pub list: String,
    pub change: String,
    pub file_name: String,
    pub entries: i32,
    pub changed_by: Option<String>,
    pub imported_at: OffsetDateTime,
    pub summary: Json<serde_json::Value>,
}

/// The newest revisions, newest first.
pub async fn revisions(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Revision>> {
    sqlx::query_as(
        "SELECT id, list, change, file_name, entries, changed_by, imported_at, summary
         FROM register_imports ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The content hash of the newest import of the curated list, and whether it was the
/// built-in register (so a newer built-in one may replace it).
pub async fn curated_source(pool: &PgPool) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "SELECT file_name, content_hash FROM register_imports WHERE list = 'curated'
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

/// One change of one entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub revision: i64,
    pub change: String,
    pub file_name: String,
    pub changed_by: Option<String>,
    pub imported_at: OffsetDateTime,
    pub before: Option<Json<serde_json::Value>>,
    pub after: Option<Json<serde_json::Value>>,
}

/// Every change of an entry, newest first.
pub async fn history(pool: &PgPool, entry_id: &str) -> sqlx::Result<Vec<HistoryRow>> {
    sqlx::query_as(
        "SELECT h.revision, h.change, i.file_name, i.changed_by, i.imported_at, h.before, h.after
         FROM register_history h JOIN register_imports i ON i.id = h.revision
         WHERE h.entry_id = $1 ORDER BY h.revision DESC",
    )
    .bind(entry_id)
    .fetch_all(pool)
    .await
}

/// An uploaded file waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Upload {
    pub id: Uuid,
    pub file_name: String,
    pub content: Vec<u8>,
    pub base_revision: Option<i64>,
    pub uploaded_by: Uuid,
    pub uploaded_at: OffsetDateTime,
}

pub async fn insert_upload(
    pool: &PgPool,
    file_name: &str,
    content: &[u8],
    base_revision: Option<i64>,
    by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    // Uploads older than a day were abandoned.
    sqlx::query("DELETE FROM register_uploads WHERE uploaded_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO register_uploads (id, file_name, content, base_revision, uploaded_by)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(file_name)
    .bind(content)
    .bind(base_revision)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn upload(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Upload>> {
    sqlx::query_as(
        "SELECT id, file_name, content, base_revision, uploaded_by, uploaded_at
         FROM register_uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn delete_upload(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM register_uploads WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many entries each list has.
pub async fn counts(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT list, count(*) FROM register_entries GROUP BY list ORDER BY list")
        .fetch_all(pool)
        .await
}
