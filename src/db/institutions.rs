//! Changing institutions: rename, merge (cases and accounts move) and deactivate.
//! Each change takes the `lock_version` the page was rendered with and changes
//! nothing when it moved on (`Ok(None)` / `Ok(false)`).

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// Renames; `Ok(None)` on a stale version, `Ok(Some(false))` when the name is taken.
pub async fn rename(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    version: i32,
    name: &str,
) -> sqlx::Result<Option<bool>> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM institutions WHERE lower(name) = lower($1) AND id <> $2)",
    )
    .bind(name)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if taken {
        return Ok(Some(false));
    }
    let done = sqlx::query(
        "UPDATE institutions SET name = $3, lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(true))
}

/// Activates or deactivates. Deactivating ends every session of the institution's
/// accounts. `false` on a stale version.
pub async fn set_active(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    version: i32,
    active: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE institutions SET active = $3, lock_version = lock_version + 1
         WHERE id = $1 AND lock_version = $2 AND merged_into IS NULL",
    )
    .bind(id)
    .bind(version)
    .bind(active)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if !active {
        sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE institution_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

/// What a merge moved.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Moved {
    pub projects: u64,
    pub cases: u64,
    pub accounts: u64,
    pub invitations: u64,
}

/// Moves every project, case, account and pending invitation of `from` to `into`,
/// and leaves `from` deactivated, pointing at `into` (its identity provider goes).
/// `Ok(None)` when `from`'s version is stale or `into` is not an active institution.
pub async fn merge(
    tx: &mut Transaction<'_, Postgres>,
    from: Uuid,
    version: i32,
    into: Uuid,
) -> sqlx::Result<Option<Moved>> {
    // Both rows locked, in a fixed order, so concurrent merges cannot cross.
    let locked: Vec<(Uuid, i32, bool)> = sqlx::query_as(
        "SELECT id, lock_version, active AND merged_into IS NULL FROM institutions
         WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind([from, into])
    .fetch_all(&mut **tx)
    .await?;
    let ok = from != into
        && locked.iter().any(|(id, v, _)| *id == from && *v == version)
        && locked.iter().any(|(id, _, active)| *id == into && *active);
    if !ok {
        return Ok(None);
    }
    let projects = sqlx::query("UPDATE projects SET institution_id = $2 WHERE institution_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let cases = sqlx::query("UPDATE assessments SET institution_id = $2 WHERE institution_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let accounts = sqlx::query("UPDATE users SET institution_id = $2 WHERE institution_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let invitations = sqlx::query(
        "UPDATE invitations SET institution_id = $2
         WHERE institution_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(from)
    .bind(into)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM identity_providers WHERE institution_id = $1")
        .bind(from)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE institutions SET active = false, merged_into = $2, lock_version = lock_version + 1
         WHERE id = $1",
    )
    .bind(from)
    .bind(into)
    .execute(&mut **tx)
    .await?;
    Ok(Some(Moved {
        projects,
        cases,
        accounts,
        invitations,
    }))
}
