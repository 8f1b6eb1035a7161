//! Who is asking: the session, the signed-in user, the CSRF token and the client
//! address, extracted once per request.
//!
//! A signed-in session holds the user, the account's session epoch, when it signed in
//! and when it was last seen. It ends when the epoch moved on (a password or
//! two-factor change, a disabled account), after a day's absolute lifetime or hours
//! of inactivity (see [`RuntimeConfig`]). Visitors who are not signed in get no
//! session at all: their forms are protected by a signed token in a cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use tower_cookies::{Cookie, Cookies};
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::{constant_time_eq, random_token};
use crate::db;
use crate::db::audit::Actor;
use crate::db::users::User;
use crate::domain::account::Role;
use crate::error::AppError;
use crate::state::{AppState, RuntimeConfig};

/// Session keys.
pub const USER_ID: &str = "user_id";
/// The account's session epoch when this session signed in.
pub const EPOCH: &str = "session_epoch";
/// Unix seconds of the sign-in, for the absolute lifetime.
pub const SIGNED_IN_AT: &str = "signed_in_at";
/// Unix seconds of the last request, refreshed every few minutes, for inactivity.
pub const LAST_SEEN: &str = "last_seen";
/// A user who gave the right password but still owes the second factor...
pub const PENDING_USER: &str = "pending_user";
/// ...since this moment (unix seconds); the half-finished state expires.
pub const PENDING_AT: &str = "pending_at";
pub const CSRF: &str = "csrf";

/// How often `last_seen` is written at most: inactivity is measured to within this (or
/// a quarter of the inactivity limit, when that is shorter).
const SEEN_EVERY_SECS: i64 = 300;

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The request's context for handlers that serve everybody.
pub struct Ctx {
    pub session: Session,
    pub user: Option<User>,
    pub csrf: String,
    pub address: String,
}

impl Ctx {
    /// The audit actor for this request.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.user.as_ref().map(|u| u.id),
            email: self.user.as_ref().map(|u| u.email.clone()),
            address: self.address.clone(),
        }
    }
}

/// A session store error: the database did not answer, so nothing can have been saved.
pub fn session_error(e: tower_sessions::session::Error) -> AppError {
    match e {
        tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(
            detail,
        )) => AppError::Unavailable(anyhow::anyhow!("session store: {detail}")),
        other => AppError::Internal(anyhow::anyhow!("session store: {other}")),
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        session_error(e)
    }
}

/// Starts a signed-in session: a new id (a planted one is worthless), the account's
/// epoch, the sign-in time and a new CSRF token.
pub async fn begin(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.remove::<Uuid>(PENDING_USER).await?;
    session.remove::<i64>(PENDING_AT).await?;
    let at = now();
    session.insert(USER_ID, user.id).await?;
    session.insert(EPOCH, user.session_epoch).await?;
    session.insert(SIGNED_IN_AT, at).await?;
    session.insert(LAST_SEEN, at).await?;
    session.insert(CSRF, random_token(32)).await?;
    Ok(())
}

/// Keeps this session signed in after the account's epoch moved on (the user changed
/// their own password or two-factor sign-in here): every other session has ended.
pub async fn keep_after_epoch_change(session: &Session, epoch: i32) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

/// Whether a signed-in session is still good for this account now.
async fn still_valid(
    session: &Session,
    user: &User,
    config: &RuntimeConfig,
) -> Result<bool, AppError> {
    let epoch = session.get::<i32>(EPOCH).await?;
    let signed_in = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
    let seen = session.get::<i64>(LAST_SEEN).await?.unwrap_or(0);
    let t = now();
    let valid = !user.disabled
        && user.institution_active
        && epoch == Some(user.session_epoch)
        && t - signed_in < config.session_lifetime_secs
        && t - seen < config.session_idle_secs;
    if valid && t - seen >= SEEN_EVERY_SECS.min(config.session_idle_secs / 4) {
        session.insert(LAST_SEEN, t).await?;
    }
    Ok(valid)
}

/// The client address: the connection's peer, or behind trusted proxies the right-most
/// `X-Forwarded-For` entry that is not one of them. An entry that is not an IP address
/// is never taken: the peer is used instead.
pub fn client_address(
    headers: &HeaderMap,
    extensions: &Extensions,
    config: &RuntimeConfig,
) -> String {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let fallback = || peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
    if !config.trust_proxy {
        return fallback();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in forwarded.iter().rev() {
        match parse_forwarded(entry) {
            Some(ip) if config.trusted_proxies.iter().any(|n| n.contains(ip)) => continue,
            Some(ip) => return ip.to_string(),
            None => return fallback(),
        }
    }
    fallback()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// A network of trusted proxies: an address with a prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(b), IpAddr::V4(a)) => prefix_eq(&b.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(b), IpAddr::V6(a)) => prefix_eq(&b.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = usize::from(prefix);
    let (whole, rest) = (bits / 8, bits % 8);
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) & (0xffu8 << (8 - rest)) == 0)
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let base: IpAddr = ip
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a bad prefix length"))?
        };
        Ok(Network { base, prefix })
    }
}

// ----- the CSRF token of visitors who are not signed in -----

/// The cookie that carries a visitor's token (with `__Host-` over https).
pub fn anonymous_cookie_name(config: &RuntimeConfig) -> &'static str {
    if config.secure_cookies {
        "__Host-triage_csrf"
    } else {
        "triage_csrf"
    }
}

/// A visitor token: a random nonce and its HMAC under the installation's key, so a
/// token cannot be made up; the form must echo the cookie.
fn anonymous_token(key: &[u8]) -> String {
    let nonce = random_token(16);
    format!("{nonce}.{}", crate::auth::mac(key, &nonce))
}

/// The visitor token of a request's cookie, when it is genuine.
pub fn anonymous_token_of(cookies: &Cookies, state: &AppState) -> Option<String> {
    let value = cookies
        .get(anonymous_cookie_name(state.config()))?
        .value()
        .to_owned();
    let (nonce, mac) = value.split_once('.')?;
    constant_time_eq(mac, &crate::auth::mac(state.csrf_key(), nonce)).then_some(value)
}

/// The visitor token of this request, setting a new cookie when there is none.
fn anonymous_csrf(parts: &Parts, state: &AppState) -> Result<String, AppError> {
    let cookies = parts
        .extensions
        .get::<Cookies>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no cookie layer")))?;
    if let Some(token) = anonymous_token_of(cookies, state) {
        return Ok(token);
    }
    let token = anonymous_token(state.csrf_key());
    let mut cookie = Cookie::new(anonymous_cookie_name(state.config()), token.clone());
    cookie.set_http_only(true);
    cookie.set_path("/");
    cookie.set_same_site(tower_cookies::cookie::SameSite::Lax);
    cookie.set_secure(state.config().secure_cookies);
    cookies.add(cookie);
    Ok(token)
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, m)| AppError::Internal(anyhow::anyhow!("no session layer: {m}")))?;
        let user = match session.get::<Uuid>(USER_ID).await? {
            Some(id) => match db::users::by_id(state.pool(), id).await? {
                Some(user) if still_valid(&session, &user, state.config()).await? => Some(user),
                // Ended: removed from the store, so the old cookie is worthless.
                _ => {
                    session.flush().await?;
                    None
                }
            },
            None => None,
        };
        let csrf = match session.get::<String>(CSRF).await? {
            Some(token) => token,
            None if user.is_some() => {
                let token = random_token(32);
                session.insert(CSRF, &token).await?;
                token
            }
            None => anonymous_csrf(parts, state)?,
        };
        // Only the banner depends on it: a failed check leaves it shown.
        if user.is_none()
            && state.setup_pending()
            && let Err(e) = state.recheck_setup().await
        {
            tracing::debug!(error = %e, "could not check for an administrator");
        }
        Ok(Ctx {
            session,
            user,
            csrf,
            address: client_address(&parts.headers, &parts.extensions, state.config()),
        })
    }
}

/// A signed-in user's context; anonymous requests are sent to the sign-in page.
pub struct Signed {
    pub ctx: Ctx,
    pub user: User,
}

impl Signed {
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Refuses with 403 unless the user has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role()) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn actor(&self) -> Actor {
        self.ctx.actor()
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let Some(user) = ctx.user.clone() else {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            return Err(AppError::SignIn(next));
        };
        // When two-factor sign-in is required, an account without it may only enrol.
        let path = parts.uri.path();
        if !user.totp_enabled
            && !path.starts_with("/account")
            && path != "/logout"
            && user.totp_required
        {
            return Err(AppError::EnrolTotp);
        }
        Ok(Signed { ctx, user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(trusted: &[&str]) -> RuntimeConfig {
        RuntimeConfig {
            trust_proxy: true,
            trusted_proxies: trusted
                .iter()
                .map(|n| n.parse().expect("network"))
                .collect(),
            ..RuntimeConfig::default()
        }
    }

    fn address(forwarded: &str, config: &RuntimeConfig) -> String {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().expect("header"));
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo::<SocketAddr>(
            "10.0.0.5:4000".parse().expect("addr"),
        ));
        client_address(&headers, &extensions, config)
    }

    #[test]
    fn the_right_most_untrusted_forwarded_address_is_the_client() {
        let one_proxy = config(&[]);
        assert_eq!(
            address("203.0.113.9, 198.51.100.7", &one_proxy),
            "198.51.100.7"
        );
        assert_eq!(address("198.51.100.7:5555", &one_proxy), "198.51.100.7");
        assert_eq!(address("junk, <b>", &one_proxy), "10.0.0.5");
        assert_eq!(address("198.51.100.7, not-an-ip", &one_proxy), "10.0.0.5");
        let chain = config(&["10.0.0.0/8", "2001:db8::/32"]);
        assert_eq!(address("198.51.100.7, 10.1.2.3", &chain), "198.51.100.7");
        assert_eq!(address("10.1.2.3, 10.9.9.9", &chain), "10.0.0.5");
        assert_eq!(
            address("[2001:db9::1]:80, 2001:db8::5", &chain),
            "2001:db9::1"
        );
        let off = RuntimeConfig::default();
        assert_eq!(address("198.51.100.7", &off), "10.0.0.5");
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let n: Network = "192.168.0.0/16".parse().expect("network");
        assert!(n.contains("192.168.44.1".parse().expect("ip")));
        assert!(!n.contains("192.169.0.1".parse().expect("ip")));
        let single: Network = "127.0.0.1".parse().expect("network");
        assert!(single.contains("127.0.0.1".parse().expect("ip")));
        assert!(!single.contains("127.0.0.2".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }
}
