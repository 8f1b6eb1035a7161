//! Who is asking: the session, the signed-in user, the CSRF token and the client
//! address, extracted once per request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::random_token;
use crate::db;
use crate::db::audit::Actor;
use crate::db::users::User;
use crate::domain::account::Role;
use crate::error::AppError;
use crate::state::AppState;

/// Session keys.
pub const USER_ID: &str = "user_id";
/// A user who gave the right password but still owes the second factor.
pub const PENDING_USER: &str = "pending_user";
pub const CSRF: &str = "csrf";

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

/// The CSRF token of a session, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF).await.map_err(session_error)? {
        return Ok(token);
    }
    let token = random_token(32);
    session.insert(CSRF, &token).await.map_err(session_error)?;
    Ok(token)
}

pub fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("session store: {e}"))
}

/// The client address: the proxy's forwarded address when configured to trust it.
fn client_address(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return forwarded.trim().to_owned();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
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
        let user = match session.get::<Uuid>(USER_ID).await.map_err(session_error)? {
            Some(id) => db::users::by_id(state.pool(), id)
                .await?
                .filter(|u| !u.disabled),
            None => None,
        };
        // Anonymous visitors get a session (and a token) only where a form needs one,
        // so reading public pages writes nothing.
        let csrf = match (
            &user,
            session.get::<String>(CSRF).await.map_err(session_error)?,
        ) {
            (_, Some(token)) => token,
            (Some(_), None) => csrf_token(&session).await?,
            (None, None) => String::new(),
        };
        Ok(Ctx {
            session,
            user,
            csrf,
            address: client_address(parts, state.config().trust_proxy),
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
        self.user.role()
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
