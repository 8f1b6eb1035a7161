//! The partner register table.

use sqlx::{PgPool, Postgres, Transaction};

use crate::screening::{RegisterEntry, normalise_name};

#[derive(sqlx::FromRow)]
struct EntryRow {
    name: String,
    aliases: Vec<String>,
    city: String,
    province: String,
    kind: String,
    flags: Vec<String>,
    note: String,
    source: String,
    as_of: String,
}

impl From<EntryRow> for RegisterEntry {
    fn from(r: EntryRow) -> Self {
        RegisterEntry {
            name: r.name,
            aliases: r.aliases,
            city: r.city,
            province: r.province,
            kind: r.kind,
            flags: r.flags,
            note: r.note,
            source: r.source,
            as_of: r.as_of,
        }
    }
}

/// Replaces the whole register with `entries` and records the import.
pub async fn replace_all(
    tx: &mut Transaction<'_, Postgres>,
    entries: &[RegisterEntry],
    file_name: &str,
) -> sqlx::Result<i64> {
    sqlx::query("DELETE FROM register_entries")
        .execute(&mut **tx)
        .await?;
    for (position, e) in entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO register_entries
               (name, normalised_name, aliases, city, province, kind, flags, note, source, as_of, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&e.name)
        .bind(normalise_name(&e.name))
        .bind(&e.aliases)
        .bind(&e.city)
        .bind(&e.province)
        .bind(&e.kind)
        .bind(&e.flags)
        .bind(&e.note)
        .bind(&e.source)
        .bind(&e.as_of)
        .bind(position as i32)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query_scalar(
        "INSERT INTO register_imports (file_name, entries) VALUES ($1, $2) RETURNING id",
    )
    .bind(file_name)
    .bind(entries.len() as i32)
    .fetch_one(&mut **tx)
    .await
}

/// Every entry, in file order.
pub async fn load_all(pool: &PgPool) -> sqlx::Result<Vec<RegisterEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT name, aliases, city, province, kind, flags, note, source, as_of
         FROM register_entries ORDER BY position",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The newest import's id, or `None` before the first import.
pub async fn revision(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT max(id) FROM register_imports")
        .fetch_one(pool)
        .await
}

/// When and from what file the register was last imported.
pub async fn last_import(
    pool: &PgPool,
) -> sqlx::Result<Option<(String, i32, time::OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT file_name, entries, imported_at FROM register_imports ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}
