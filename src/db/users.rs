//! Users, institutions, recovery codes, failed sign-ins and settings.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::account::{NewUser, Role};

/// A stored account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub institution_id: Option<Uuid>,
    pub institution_name: Option<String>,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: i64,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    /// The installation's two-factor requirement, read with the user to save a round trip.
    pub totp_required: bool,
}

impl User {
    pub fn role(&self) -> Role {
        // The CHECK constraint keeps the column to the three roles.
        Role::parse(&self.role).unwrap_or(Role::Officer)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Institution {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
}

const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.institution_id, i.name AS institution_name, \
     u.password_hash, u.totp_secret, u.totp_enabled, u.totp_last_step, u.disabled, u.created_at, \
     coalesce((SELECT (value #>> '{}')::boolean FROM settings WHERE key = 'require_totp'), false) AS totp_required";

pub async fn by_id(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN institutions i ON i.id = u.institution_id WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn by_email(pool: &PgPool, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN institutions i ON i.id = u.institution_id \
         WHERE lower(u.email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await
}

pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<User>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN institutions i ON i.id = u.institution_id \
         ORDER BY u.role, lower(u.email)"
    ))
    .fetch_all(pool)
    .await
}

/// Inserts an account; a taken email is reported as `Ok(None)`.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    u: &NewUser,
    password_hash: &str,
) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO users (id, email, display_name, role, institution_id, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&u.email)
    .bind(&u.display_name)
    .bind(u.role.code())
    .bind(u.institution_id)
    .bind(password_hash)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

pub async fn update_account(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    role: Role,
    institution_id: Option<Uuid>,
    disabled: bool,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE users SET role = $2, institution_id = $3, disabled = $4 WHERE id = $1")
            .bind(id)
            .bind(role.code())
            .bind(institution_id)
            .bind(disabled)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Stores a secret being enrolled (not yet enabled).
pub async fn set_pending_totp(pool: &PgPool, id: Uuid, secret: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_secret = $2, totp_enabled = false WHERE id = $1 AND NOT totp_enabled")
        .bind(id)
        .bind(secret)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Turns two-factor sign-in on and replaces the recovery codes.
pub async fn enable_totp(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    step: i64,
    recovery_digests: &[String],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_enabled = true, totp_last_step = $2 WHERE id = $1")
        .bind(id)
        .bind(step)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for digest in recovery_digests {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(id)
            .bind(digest)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn disable_totp(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_enabled = false, totp_secret = NULL, totp_last_step = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the accepted TOTP step; false when a concurrent sign-in already used it.
pub async fn advance_totp_step(pool: &PgPool, id: Uuid, step: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
            .bind(id)
            .bind(step)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses a recovery code once; false when it does not exist or was used.
pub async fn use_recovery_code(pool: &PgPool, id: Uuid, digest: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id)
    .bind(digest)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(pool: &PgPool, id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(id)
        .fetch_one(pool)
        .await
}

// ----- institutions -----

pub async fn institutions(pool: &PgPool) -> sqlx::Result<Vec<Institution>> {
    sqlx::query_as("SELECT id, name, created_at FROM institutions ORDER BY lower(name)")
        .fetch_all(pool)
        .await
}

pub async fn institution(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Institution>> {
    sqlx::query_as("SELECT id, name, created_at FROM institutions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Inserts an institution; a taken name is `Ok(None)`.
pub async fn insert_institution(
    tx: &mut Transaction<'_, Postgres>,
    name: &str,
) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::new_v4();
    let done =
        sqlx::query("INSERT INTO institutions (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

// ----- failed sign-ins -----

/// Failed sign-ins for an email and from an address within the window.
pub async fn recent_failures(
    pool: &PgPool,
    email: &str,
    address: &str,
    window_secs: i64,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE lower(email) = lower($1)),
                count(*) FILTER (WHERE address = $2)
         FROM failed_logins WHERE at > now() - make_interval(secs => $3)",
    )
    .bind(email)
    .bind(address)
    .bind(window_secs as f64)
    .fetch_one(pool)
    .await
}

pub async fn record_failure(pool: &PgPool, email: &str, address: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO failed_logins (email, address) VALUES ($1, $2)")
        .bind(email)
        .bind(address)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn clear_failures(pool: &PgPool, email: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM failed_logins WHERE lower(email) = lower($1)")
        .bind(email)
        .execute(pool)
        .await
        .map(|_| ())
}

// ----- settings -----

pub async fn require_totp(pool: &PgPool) -> sqlx::Result<bool> {
    let v: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'require_totp'")
            .fetch_optional(pool)
            .await?;
    Ok(v.and_then(|v| v.as_bool()).unwrap_or(false))
}

pub async fn set_require_totp(tx: &mut Transaction<'_, Postgres>, on: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('require_totp', $1) ON CONFLICT (key) DO UPDATE SET value = $1",
    )
    .bind(serde_json::Value::Bool(on))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
