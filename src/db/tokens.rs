//! Single-use secrets stored hashed: first-run setup codes and password-reset links.
//! Only the SHA-256 of a token is stored (see [`crate::auth::link_token`]).

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

// ----- first-run setup -----

/// Records a new setup code (its hash). Every code recorded stays valid until the first
/// administrator exists, so each app server that starts may log its own.
pub async fn add_setup_code(pool: &PgPool, code_hash: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO setup_codes (code_hash) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(code_hash)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Whether a setup code is valid now: it was recorded and no administrator exists.
pub async fn setup_code_valid(pool: &PgPool, code_hash: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM setup_codes WHERE code_hash = $1)
            AND NOT EXISTS (SELECT FROM users WHERE role = 'admin')",
    )
    .bind(code_hash)
    .fetch_one(pool)
    .await
}

/// Uses the setup code up, in the transaction that creates the first administrator:
/// every code goes, and the table is locked so that two setups cannot both succeed.
/// False when the code is not (or no longer) valid.
pub async fn consume_setup_code(
    tx: &mut Transaction<'_, Postgres>,
    code_hash: &str,
) -> sqlx::Result<bool> {
    sqlx::query("LOCK TABLE setup_codes IN EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    let valid: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM setup_codes WHERE code_hash = $1)
            AND NOT EXISTS (SELECT FROM users WHERE role = 'admin')",
    )
    .bind(code_hash)
    .fetch_one(&mut **tx)
    .await?;
    if valid {
        sqlx::query("DELETE FROM setup_codes")
            .execute(&mut **tx)
            .await?;
    }
    Ok(valid)
}

/// Removes setup codes once an administrator exists (made from the shell, say).
pub async fn clear_setup_codes(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM setup_codes")
        .execute(pool)
        .await
        .map(|_| ())
}

// ----- password resets -----

/// Records a reset link for an account, valid until `expires_at`.
pub async fn add_reset(
    tx: &mut Transaction<'_, Postgres>,
    token_hash: &str,
    user_id: Uuid,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The account a reset link is for, while it is unused and unexpired.
pub async fn reset_user(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT user_id FROM password_resets
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// Uses a reset link up (and every other open link of the account); the account it was
/// for, or `None` when it was used or expired meanwhile.
pub async fn use_reset(
    tx: &mut Transaction<'_, Postgres>,
    token_hash: &str,
) -> sqlx::Result<Option<Uuid>> {
    let user: Option<Uuid> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
    )
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(user) = user {
        sqlx::query(
            "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user)
        .execute(&mut **tx)
        .await?;
    }
    Ok(user)
}

/// Reset links asked for an account in the last hour (to bound the mail one address gets).
pub async fn recent_resets(pool: &PgPool, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM password_resets WHERE user_id = $1 AND created_at > now() - interval '1 hour'",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}
