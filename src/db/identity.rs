//! Institutions' OpenID Connect providers and the accounts linked to a provider's
//! subject.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// An institution's identity provider. The client secret is read only to talk to the
/// provider; pages never show it.
#[derive(Clone, sqlx::FromRow)]
pub struct Provider {
    pub institution_id: Uuid,
    pub institution_name: String,
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Only addresses of this domain may sign in through it.
    pub email_domain: Option<String>,
    /// Create an officer account of the institution at a first sign-in.
    pub create_accounts: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("institution_id", &self.institution_id)
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "p.institution_id, i.name AS institution_name, p.issuer_url, p.client_id, \
     p.client_secret, p.email_domain, p.create_accounts";

pub async fn provider(pool: &PgPool, institution: Uuid) -> sqlx::Result<Option<Provider>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM identity_providers p JOIN institutions i ON i.id = p.institution_id
         WHERE p.institution_id = $1 AND i.active"
    ))
    .bind(institution)
    .fetch_optional(pool)
    .await
}

/// The providers of active institutions, for the sign-in page.
pub async fn providers(pool: &PgPool) -> sqlx::Result<Vec<Provider>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM identity_providers p JOIN institutions i ON i.id = p.institution_id
         WHERE i.active ORDER BY lower(i.name)"
    ))
    .fetch_all(pool)
    .await
}

/// What an administrator sets; `client_secret` `None` keeps the stored one.
pub struct ProviderSettings<'a> {
    pub issuer_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
    pub email_domain: Option<&'a str>,
    pub create_accounts: bool,
}

/// Saves an institution's provider. A new provider needs a secret: `Ok(false)` when
/// none was given and none is stored.
pub async fn save(
    tx: &mut Transaction<'_, Postgres>,
    institution: Uuid,
    p: &ProviderSettings<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO identity_providers (institution_id, issuer_url, client_id, client_secret, email_domain, create_accounts)
         SELECT $1, $2, $3, $4, $5, $6 WHERE $4 IS NOT NULL
         ON CONFLICT (institution_id) DO UPDATE SET issuer_url = $2, client_id = $3,
             client_secret = coalesce($4, identity_providers.client_secret),
             email_domain = $5, create_accounts = $6, updated_at = now()",
    )
    .bind(institution)
    .bind(p.issuer_url)
    .bind(p.client_id)
    .bind(p.client_secret)
    .bind(p.email_domain)
    .bind(p.create_accounts)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    // No secret given: update an existing provider, keeping its secret.
    let kept = sqlx::query(
        "UPDATE identity_providers SET issuer_url = $2, client_id = $3, email_domain = $4,
                create_accounts = $5, updated_at = now()
         WHERE institution_id = $1",
    )
    .bind(institution)
    .bind(p.issuer_url)
    .bind(p.client_id)
    .bind(p.email_domain)
    .bind(p.create_accounts)
    .execute(&mut **tx)
    .await?;
    Ok(kept.rows_affected() == 1)
}

pub async fn remove(tx: &mut Transaction<'_, Postgres>, institution: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM identity_providers WHERE institution_id = $1")
        .bind(institution)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The account linked to a provider's subject.
pub async fn linked_user(
    pool: &PgPool,
    issuer_url: &str,
    subject: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT user_id FROM user_identities WHERE issuer_url = $1 AND subject = $2")
        .bind(issuer_url)
        .bind(subject)
        .fetch_optional(pool)
        .await
}

/// Links an account to a provider's subject (nothing when the subject is linked already).
pub async fn link(
    tx: &mut Transaction<'_, Postgres>,
    issuer_url: &str,
    subject: &str,
    user: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO user_identities (issuer_url, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(issuer_url)
    .bind(subject)
    .bind(user)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
