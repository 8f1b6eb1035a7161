//! OpenID Connect with an institution's provider (the `openidconnect` crate):
//! discovery, the authorization code flow with PKCE, a nonce and a state, verification
//! of the ID token, and the provider's logout address where it has one. No web or
//! database types here: the caller keeps the state in the session.

use anyhow::{Context as _, anyhow};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse, reqwest,
};

/// What the provider needs to know about triage.
pub struct ClientConfig<'a> {
    pub issuer_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// A sign-in started: send the browser to `url`; keep the rest until it comes back.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    /// `Some(false)` when the provider says the address is not verified.
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::ClientBuilder::new()
        // Following redirects would open the client up to SSRF.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .context("building the HTTP client")
}

async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> anyhow::Result<ProviderMetadataWithLogout> {
    let issuer = IssuerUrl::new(issuer.to_owned()).context("the issuer address")?;
    ProviderMetadataWithLogout::discover_async(issuer, http)
        .await
        .map_err(|e| anyhow!("discovery at the issuer failed: {e}"))
}

/// Starts a sign-in: discovery, then the authorization address with a PKCE challenge,
/// a random state and a random nonce, asking for `openid email profile`.
pub async fn start(c: &ClientConfig<'_>) -> anyhow::Result<Started> {
    let http = http()?;
    let metadata = discover(&http, c.issuer_url).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(c.client_id.to_owned()),
        Some(ClientSecret::new(c.client_secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(c.redirect_uri.to_owned()).context("the redirect address")?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Started {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// Finishes a sign-in: exchanges the code (with the PKCE verifier), verifies the ID
/// token (signature, issuer, audience, expiry, nonce) and reads the claims, asking the
/// user-info endpoint for the address when the ID token does not carry it.
pub async fn finish(
    c: &ClientConfig<'_>,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
) -> anyhow::Result<Identity> {
    let http = http()?;
    let metadata = discover(&http, c.issuer_url).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(c.client_id.to_owned()),
        Some(ClientSecret::new(c.client_secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(c.redirect_uri.to_owned()).context("the redirect address")?);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .context("the provider has no token endpoint")?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&http)
        .await
        .map_err(|e| anyhow!("the code exchange failed: {e}"))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| anyhow!("the provider returned no ID token"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
        .map_err(|e| anyhow!("the ID token is not valid: {e}"))?;
    let mut identity = Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_lowercase()),
        email_verified: claims.email_verified(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    };
    if identity.email.is_none()
        && let Ok(request) = client.user_info(
            tokens.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
    {
        let info: CoreUserInfoClaims = request
            .request_async(&http)
            .await
            .map_err(|e| anyhow!("the user-info request failed: {e}"))?;
        identity.email = info.email().map(|e| e.as_str().to_lowercase());
        identity.email_verified = info.email_verified();
        if identity.name.is_none() {
            identity.name = info
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned());
        }
    }
    Ok(identity)
}

/// The provider's logout address (RP-initiated logout), when its discovery document
/// names an `end_session_endpoint`; it sends the browser back to `back` afterwards.
pub async fn logout_url(
    issuer_url: &str,
    client_id: &str,
    back: &str,
) -> anyhow::Result<Option<String>> {
    let http = http()?;
    let metadata = discover(&http, issuer_url).await?;
    let Some(end) = metadata.additional_metadata().end_session_endpoint.clone() else {
        return Ok(None);
    };
    let request = LogoutRequest::from(end)
        .set_client_id(ClientId::new(client_id.to_owned()))
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(back.to_owned()).context("the address to come back to")?,
        );
    Ok(Some(request.http_get_url().to_string()))
}

/// Whether an address belongs to a domain (exactly, not a subdomain).
pub fn in_domain(email: &str, domain: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::in_domain;

    #[test]
    fn the_domain_rule_matches_the_whole_domain_only() {
        assert!(in_domain("ana@uni.example.org", "uni.example.org"));
        assert!(in_domain("ana@UNI.example.org", "uni.example.org"));
        assert!(!in_domain("ana@evil-uni.example.org", "uni.example.org"));
        assert!(!in_domain("ana@example.org", "uni.example.org"));
        assert!(!in_domain("uni.example.org", "uni.example.org"));
    }
}
