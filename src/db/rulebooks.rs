//! Rulebook versions and the areas table derived from the active one.

use sqlx::PgPool;

use crate::domain::rulebook::Rulebook;

/// Records a rulebook version (idempotent) and makes its areas the current ones.
pub async fn record_active(pool: &PgPool, rulebook: &Rulebook) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO rulebooks (version, name, title, content_hash, source_text)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING",
    )
    .bind(rulebook.version())
    .bind(rulebook.name())
    .bind(rulebook.title())
    .bind(rulebook.content_hash())
    .bind(rulebook.source_text())
    .execute(&mut *tx)
    .await?;
    for (position, area) in rulebook.areas().iter().enumerate() {
        sqlx::query(
            "INSERT INTO areas (code, name, colour, position) VALUES ($1, $2, $3, $4)
             ON CONFLICT (code) DO UPDATE SET name = $2, colour = $3, position = $4",
        )
        .bind(&area.code)
        .bind(&area.name)
        .bind(area.colour.code())
        .bind(position as i32)
        .execute(&mut *tx)
        .await?;
        for (sub_position, sub) in area.sub_areas.iter().enumerate() {
            sqlx::query(
                "INSERT INTO sub_areas (code, area_code, name, colour, dual_use, position)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE
                 SET area_code = $2, name = $3, colour = $4, dual_use = $5, position = $6",
            )
            .bind(&sub.code)
            .bind(&area.code)
            .bind(&sub.name)
            .bind(sub.colour.code())
            .bind(sub.dual_use)
            .bind(sub_position as i32)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// The stored text of a rulebook version.
pub async fn source_text(pool: &PgPool, version: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT source_text FROM rulebooks WHERE version = $1")
        .bind(version)
        .fetch_optional(pool)
        .await
}
