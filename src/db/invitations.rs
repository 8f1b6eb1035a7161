//! Invitations: an email address with a role and institution, and a single-use token
//! (its SHA-256 only) that expires. Resending replaces the token.

use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::account::Role;

/// An invitation as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub lead_officer: bool,
    pub institution_id: Option<Uuid>,
    pub institution_name: Option<String>,
    pub invited_by_email: Option<String>,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Invitation {
    /// Neither accepted nor revoked.
    pub fn pending(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }
    /// Pending, but its link expired (resending makes a new one).
    pub fn expired(&self) -> bool {
        self.pending() && self.expires_at <= OffsetDateTime::now_utc()
    }
}

const COLUMNS: &str = "v.id, v.email, v.display_name, v.role, v.lead_officer, v.institution_id, \
     i.name AS institution_name, u.email AS invited_by_email, v.expires_at, v.accepted_at, \
     v.revoked_at, v.created_at";
const FROM: &str = "invitations v LEFT JOIN institutions i ON i.id = v.institution_id \
     LEFT JOIN users u ON u.id = v.invited_by";

/// What a new invitation holds.
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub lead_officer: bool,
    pub institution_id: Option<Uuid>,
    pub invited_by: Uuid,
    pub token_hash: &'a str,
    pub expires_at: OffsetDateTime,
}

/// Inserts an invitation; `Ok(None)` when the address already has a pending one.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    n: &NewInvitation<'_>,
) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO invitations (id, email, display_name, role, lead_officer, institution_id,
                                  token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(n.email)
    .bind(n.display_name)
    .bind(n.role)
    .bind(n.lead_officer)
    .bind(n.institution_id)
    .bind(n.token_hash)
    .bind(n.invited_by)
    .bind(n.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// Pending invitations, newest first; of one institution when given.
pub async fn pending(pool: &PgPool, institution: Option<Uuid>) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE v.accepted_at IS NULL AND v.revoked_at IS NULL
           AND ($1::uuid IS NULL OR v.institution_id = $1)
         ORDER BY v.created_at DESC"
    ))
    .bind(institution)
    .fetch_all(pool)
    .await
}

pub async fn by_id(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM {FROM} WHERE v.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The pending, unexpired invitation a token belongs to.
pub async fn by_token(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE v.token_hash = $1 AND v.accepted_at IS NULL AND v.revoked_at IS NULL
           AND v.expires_at > now()"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// A new token and expiry for a pending invitation; false when it is no longer pending.
pub async fn renew(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    token_hash: &str,
    expires_at: OffsetDateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET token_hash = $2, expires_at = $3
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(token_hash)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes a pending invitation; false when it is no longer pending.
pub async fn revoke(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = now()
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses an invitation up for the account made from it; false when it was used,
/// revoked or expired meanwhile.
pub async fn accept(
    tx: &mut Transaction<'_, Postgres>,
    token_hash: &str,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = now(), accepted_user = $2
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(token_hash)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
