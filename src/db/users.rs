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
    pub role: Role,
    pub institution_id: Option<Uuid>,
    pub institution_name: Option<String>,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: i64,
    pub disabled: bool,
    /// Moves on whenever every session of the account must end; a session records the
    /// epoch it signed in at.
    pub session_epoch: i32,
    pub created_at: OffsetDateTime,
    /// A reviewer who may assign cases to other reviewers.
    pub lead_reviewer: bool,
    /// The installation's two-factor requirement, read with the user to save a round trip.
    pub totp_required: bool,
    /// An officer who may invite officers of their own institution.
    pub lead_officer: bool,
    /// False when the account's institution was deactivated (or merged): no sign-in.
    pub institution_active: bool,
}

impl User {
    pub fn role(&self) -> Role {
        self.role
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Institution {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    /// Deactivated (or merged) institutions keep their cases; their accounts cannot sign in.
    pub active: bool,
    /// The institution that took this one's cases and accounts.
    pub merged_into: Option<Uuid>,
    pub lock_version: i32,
}

const INSTITUTION_COLUMNS: &str = "id, name, created_at, active, merged_into, lock_version";

const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.institution_id, i.name AS institution_name, \
     u.password_hash, u.totp_secret, u.totp_enabled, u.totp_last_step, u.disabled, u.session_epoch, u.created_at, u.lead_reviewer, \
     coalesce((SELECT (value #>> '{}')::boolean FROM settings WHERE key = 'require_totp'), false) AS totp_required, \
     u.lead_officer, coalesce(i.active, true) AS institution_active";

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
        "INSERT INTO users (id, email, display_name, role, institution_id, password_hash, lead_officer)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&u.email)
    .bind(u.display_name.as_str())
    .bind(u.role)
    .bind(u.institution_id)
    .bind(password_hash)
    .bind(u.lead_officer)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// Changes an account; disabling it ends every session it has, for good.
pub async fn update_account(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    role: Role,
    institution_id: Option<Uuid>,
    disabled: bool,
    lead_reviewer: bool,
    lead_officer: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET role = $2, institution_id = $3, disabled = $4, lead_reviewer = $5 AND $2 = 'reviewer',
                lead_officer = $6 AND $2 = 'officer',
                session_epoch = session_epoch + CASE WHEN $4 AND NOT disabled THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(role)
    .bind(institution_id)
    .bind(disabled)
    .bind(lead_reviewer)
    .bind(lead_officer)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of an account (a password or two-factor change); returns the
/// new epoch, which the session that made the change keeps.
pub async fn end_sessions(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await
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

/// Turns two-factor sign-in on and replaces the recovery codes (their argon2id hashes).
pub async fn enable_totp(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    step: i64,
    recovery_hashes: &[String],
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
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(id)
            .bind(hash)
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

/// The stored hashes of an account's unused recovery codes.
pub async fn unused_recovery_hashes(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Uses a recovery code once; false when it was used meanwhile.
pub async fn use_recovery_code(pool: &PgPool, id: Uuid, hash: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id)
    .bind(hash)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Releases before issue 9 stored recovery codes as unsalted SHA-256 digests: each is
/// replaced by a salted argon2id hash of that digest, which the codes still match.
pub async fn upgrade_recovery_codes(pool: &PgPool) -> anyhow::Result<usize> {
    let legacy: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT user_id, code_hash FROM recovery_codes WHERE code_hash NOT LIKE '$argon2%'",
    )
    .fetch_all(pool)
    .await?;
    if legacy.is_empty() {
        return Ok(0);
    }
    let hashes =
        crate::auth::hash_recovery_digests(legacy.iter().map(|(_, d)| d.clone()).collect()).await?;
    let mut tx = pool.begin().await?;
    for ((user, digest), hash) in legacy.iter().zip(&hashes) {
        sqlx::query(
            "UPDATE recovery_codes SET code_hash = $3 WHERE user_id = $1 AND code_hash = $2",
        )
        .bind(user)
        .bind(digest)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        codes = legacy.len(),
        "recovery codes stored as salted argon2id hashes"
    );
    Ok(legacy.len())
}

/// The installation's key for visitors' CSRF tokens: made once, shared by every server.
pub async fn csrf_key(pool: &PgPool) -> sqlx::Result<Vec<u8>> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('csrf_key', to_jsonb($1::text)) ON CONFLICT (key) DO NOTHING",
    )
    .bind(crate::auth::random_token(32))
    .execute(pool)
    .await?;
    let key: String =
        sqlx::query_scalar("SELECT value #>> '{}' FROM settings WHERE key = 'csrf_key'")
            .fetch_one(pool)
            .await?;
    Ok(key.into_bytes())
}

pub async fn unused_recovery_codes(pool: &PgPool, id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(id)
        .fetch_one(pool)
        .await
}

// ----- institutions -----

pub async fn institutions(pool: &PgPool) -> sqlx::Result<Vec<Institution>> {
    sqlx::query_as(&format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions ORDER BY lower(name)"
    ))
    .fetch_all(pool)
    .await
}

pub async fn institution(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Institution>> {
    sqlx::query_as(&format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions WHERE id = $1"
    ))
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

/// Whether the user gathers their mail into one daily digest.
pub async fn mail_digest(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT mail_delivery = 'digest' FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
}

pub async fn set_mail_digest(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    digest: bool,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET mail_delivery = $2 WHERE id = $1")
        .bind(id)
        .bind(if digest { "digest" } else { "immediate" })
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

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

/// Whether any administrator account exists (enabled or not).
pub async fn admin_exists(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM users WHERE role = 'admin')")
        .fetch_one(pool)
        .await
}

/// Marks an account as lead officer (set when it is created from an invitation).
pub async fn set_lead_officer(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    lead: bool,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET lead_officer = $2 WHERE id = $1")
        .bind(id)
        .bind(lead)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
