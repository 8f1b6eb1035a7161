//! Sign-in with an institution's OpenID provider. `/sso/{institution}/login` starts
//! the authorization code flow (PKCE, nonce and state kept in the session);
//! `/sso/{institution}/callback` finishes it. The account is the one linked to the
//! provider's subject; otherwise an invitation being accepted, an account of the same
//! address at that institution (then linked), or, when the administrator allows it, a
//! new officer of the institution. Roles stay in triage. Every outcome is audited.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::auth::oidc::{self, ClientConfig, Identity};
use crate::auth::{constant_time_eq, token_hash};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::db::identity::Provider;
use crate::db::users::User;
use crate::domain::account::{MAX_NAME, NewUser, Role};
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::admin_accounts::NO_PASSWORD;
use crate::web::auth::{INSTITUTION_INACTIVE, safe_next};
use crate::web::extract::{Path, Query};
use crate::web::layout::{Layout, render};
use crate::web::session::{Ctx, begin, now};

/// Session keys of a sign-in under way.
const STATE: &str = "oidc_state";
const NONCE: &str = "oidc_nonce";
const VERIFIER: &str = "oidc_pkce";
const INSTITUTION: &str = "oidc_institution";
const STARTED: &str = "oidc_started";
const NEXT: &str = "oidc_next";
const INVITATION: &str = "oidc_invitation";
/// The institution whose provider signed this session in (for the logout offer).
pub const SIGNED_IN_WITH: &str = "sso_institution";

/// A sign-in must come back within this many seconds.
const WITHIN_SECS: i64 = 600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sso/{institution}/login", get(login_get))
        .route("/sso/{institution}/callback", get(callback_get))
}

/// The address the provider sends the browser back to, to register at the provider.
pub fn redirect_uri(state: &AppState, institution: Uuid) -> String {
    state
        .config()
        .mail
        .link(&format!("/sso/{institution}/callback"))
}

fn client<'a>(p: &'a Provider, redirect: &'a str) -> ClientConfig<'a> {
    ClientConfig {
        issuer_url: &p.issuer_url,
        client_id: &p.client_id,
        client_secret: &p.client_secret,
        redirect_uri: redirect,
    }
}

#[derive(Template)]
#[template(path = "auth/sso_refused.html")]
struct RefusedPage {
    layout: Layout,
    institution: String,
    message: String,
}

/// A refusal: audited, and a page that says why and what to do.
async fn refuse(
    state: &AppState,
    ctx: &Ctx,
    p: &Provider,
    email: Option<&str>,
    status: StatusCode,
    message: String,
) -> AppResult<Response> {
    db::audit::record_alone(
        state.pool(),
        &Actor {
            id: None,
            email: email.map(str::to_owned),
            address: ctx.address.clone(),
        },
        Entry {
            action: "auth.sso_refused",
            assessment_id: None,
            project_id: None,
            summary: format!("Sign-in with {} refused: {message}", p.institution_name),
            details: serde_json::json!({ "institution": p.institution_id }),
        },
    )
    .await?;
    render(
        status,
        &RefusedPage {
            layout: Layout::new(state, ctx, "Not signed in", "login"),
            institution: p.institution_name.clone(),
            message,
        },
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct LoginQuery {
    next: String,
    invitation: String,
}

async fn login_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(institution): Path<Uuid>,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let p = db::identity::provider(state.pool(), institution)
        .await?
        .ok_or(AppError::NotFound)?;
    let redirect = redirect_uri(&state, institution);
    let started = match oidc::start(&client(&p, &redirect)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), institution = %institution, "OpenID provider unreachable");
            return refuse(
                &state,
                &ctx,
                &p,
                None,
                StatusCode::BAD_GATEWAY,
                format!(
                    "{}'s sign-in service did not answer. Try again in a moment, or sign in with your triage password.",
                    p.institution_name
                ),
            )
            .await;
        }
    };
    let session = &ctx.session;
    session.insert(STATE, &started.state).await?;
    session.insert(NONCE, &started.nonce).await?;
    session.insert(VERIFIER, &started.pkce_verifier).await?;
    session.insert(INSTITUTION, institution).await?;
    session.insert(STARTED, now()).await?;
    session.insert(NEXT, safe_next(&q.next)).await?;
    if q.invitation.is_empty() || q.invitation.len() > 200 {
        session.remove::<String>(INVITATION).await?;
    } else {
        session.insert(INVITATION, &q.invitation).await?;
    }
    Ok(Redirect::to(&started.url).into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CallbackQuery {
    code: String,
    state: String,
    error: String,
}

/// What was kept in the session at the start, taken out (single use).
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    invitation: Option<String>,
}

async fn take_pending(ctx: &Ctx, institution: Uuid) -> AppResult<Option<Pending>> {
    let s = &ctx.session;
    let pending = (
        s.remove::<String>(STATE).await?,
        s.remove::<String>(NONCE).await?,
        s.remove::<String>(VERIFIER).await?,
        s.remove::<Uuid>(INSTITUTION).await?,
        s.remove::<i64>(STARTED).await?,
        s.remove::<String>(NEXT).await?,
        s.remove::<String>(INVITATION).await?,
    );
    Ok(match pending {
        (Some(state), Some(nonce), Some(verifier), Some(inst), Some(at), next, invitation)
            if inst == institution && now() - at < WITHIN_SECS =>
        {
            Some(Pending {
                state,
                nonce,
                verifier,
                next: next.unwrap_or_else(|| "/".to_owned()),
                invitation,
            })
        }
        _ => None,
    })
}

async fn callback_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(institution): Path<Uuid>,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    let p = db::identity::provider(state.pool(), institution)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(pending) = take_pending(&ctx, institution).await? else {
        return refuse(&state, &ctx, &p, None, StatusCode::BAD_REQUEST,
            "This sign-in was not started here, took longer than ten minutes, or was already used. Start again from the sign-in page.".into()).await;
    };
    if !q.error.is_empty() || q.code.is_empty() {
        return refuse(
            &state,
            &ctx,
            &p,
            None,
            StatusCode::UNAUTHORIZED,
            format!(
                "{} did not sign you in. Start again from the sign-in page.",
                p.institution_name
            ),
        )
        .await;
    }
    if !constant_time_eq(&q.state, &pending.state) {
        return refuse(&state, &ctx, &p, None, StatusCode::BAD_REQUEST,
            "This sign-in answer does not belong to the sign-in started here. Start again from the sign-in page.".into()).await;
    }
    let redirect = redirect_uri(&state, institution);
    let identity = match oidc::finish(
        &client(&p, &redirect),
        &q.code,
        &pending.verifier,
        &pending.nonce,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), institution = %institution, "OpenID sign-in failed");
            return refuse(&state, &ctx, &p, None, StatusCode::BAD_GATEWAY,
                format!("The answer of {}'s sign-in service could not be verified. Start again, or sign in with your triage password.", p.institution_name)).await;
        }
    };
    let Some(email) = identity
        .email
        .clone()
        .filter(|_| identity.email_verified != Some(false))
    else {
        return refuse(&state, &ctx, &p, None, StatusCode::FORBIDDEN,
            format!("{} did not give triage a verified email address, which triage needs to know who you are.", p.institution_name)).await;
    };
    if let Some(domain) = &p.email_domain
        && !oidc::in_domain(&email, domain)
    {
        return refuse(&state, &ctx, &p, Some(&email), StatusCode::FORBIDDEN,
            format!("Sign-in with {} is only for addresses ending in @{domain}; you signed in as {email}. Use your {} account, or ask an administrator of triage.", p.institution_name, p.institution_name)).await;
    }
    let user = match account_for(
        &state,
        &ctx,
        &p,
        &identity,
        &email,
        pending.invitation.as_deref(),
    )
    .await?
    {
        Ok(user) => user,
        Err(message) => {
            return refuse(
                &state,
                &ctx,
                &p,
                Some(&email),
                StatusCode::FORBIDDEN,
                message,
            )
            .await;
        }
    };
    if user.disabled {
        return refuse(
            &state,
            &ctx,
            &p,
            Some(&email),
            StatusCode::FORBIDDEN,
            "Your triage account is disabled. Ask an administrator of triage.".into(),
        )
        .await;
    }
    if !user.institution_active {
        return refuse(
            &state,
            &ctx,
            &p,
            Some(&email),
            StatusCode::FORBIDDEN,
            INSTITUTION_INACTIVE.into(),
        )
        .await;
    }
    begin(&ctx.session, &user).await?;
    ctx.session.insert(SIGNED_IN_WITH, institution).await?;
    db::audit::record_alone(
        state.pool(),
        &Actor { id: Some(user.id), email: Some(user.email.clone()), address: ctx.address.clone() },
        Entry {
            action: "auth.login",
            assessment_id: None,
            project_id: None,
            summary: format!("Signed in (single sign-on with {})", p.institution_name),
            details: serde_json::json!({ "method": "oidc", "institution": institution, "issuer": p.issuer_url }),
        },
    )
    .await?;
    Ok(Redirect::to(&pending.next).into_response())
}

/// The account for a verified identity, or the message of a refusal.
async fn account_for(
    state: &AppState,
    ctx: &Ctx,
    p: &Provider,
    identity: &Identity,
    email: &str,
    invitation: Option<&str>,
) -> AppResult<Result<User, String>> {
    let issuer = p.issuer_url.as_str();
    if let Some(id) = db::identity::linked_user(state.pool(), issuer, &identity.subject).await? {
        return Ok(db::users::by_id(state.pool(), id)
            .await?
            .ok_or_else(|| "The linked account no longer exists.".to_owned()));
    }
    let actor = Actor {
        id: None,
        email: Some(email.to_owned()),
        address: ctx.address.clone(),
    };
    // An invitation being accepted with this provider.
    if let Some(token) = invitation {
        let Some(v) = db::invitations::by_token(state.pool(), &token_hash(token)).await? else {
            return Ok(Err("The invitation no longer works: it was used, revoked or expired. Ask whoever invited you to send it again.".into()));
        };
        if !v.email.eq_ignore_ascii_case(email) || v.institution_id != Some(p.institution_id) {
            return Ok(Err(format!(
                "The invitation is for {}, but you signed in as {email}. Sign in with that account, or ask for an invitation to this address.",
                v.email
            )));
        }
        let Some(user_id) =
            crate::web::invitations::create_from_invitation(state, ctx, &v, token, NO_PASSWORD)
                .await?
        else {
            return Ok(Err(
                "The invitation no longer works, or an account with this address exists already."
                    .into(),
            ));
        };
        return link(state, &actor, p, identity, user_id, "invitation").await;
    }
    // An account of this address at this institution: linked now.
    if let Some(user) = db::users::by_email(state.pool(), email).await? {
        if user.institution_id != Some(p.institution_id) {
            return Ok(Err(format!(
                "The triage account of {email} does not belong to {}, so it cannot sign in through it. Sign in with your triage password.",
                p.institution_name
            )));
        }
        return link(state, &actor, p, identity, user.id, "same address").await;
    }
    if !p.create_accounts {
        return Ok(Err(format!(
            "No triage account is linked to your {} sign-in ({email}). Ask an administrator of triage for an invitation.",
            p.institution_name
        )));
    }
    // Created just in time as an officer of the institution.
    let name = identity
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.to_owned());
    let display_name = Text::<MAX_NAME>::required(&name.chars().take(MAX_NAME).collect::<String>())
        .or_else(|_| Text::<MAX_NAME>::required(email))
        .map_err(|_| AppError::BadRequest("the provider gave no usable name".into()))?;
    let new_user = NewUser {
        email: email.to_owned(),
        display_name,
        role: Role::Officer,
        lead_officer: false,
        institution_id: Some(p.institution_id),
        password: String::new(),
    };
    let mut tx = state.pool().begin().await?;
    let Some(user_id) = db::users::insert(&mut tx, &new_user, NO_PASSWORD).await? else {
        tx.rollback().await?;
        return Ok(Err(
            "An account with this address was created meanwhile; try again.".into(),
        ));
    };
    db::identity::link(&mut tx, issuer, &identity.subject, user_id).await?;
    db::audit::record(&mut tx, &Actor { id: Some(user_id), ..actor.clone() }, Entry {
        action: "auth.sso_account_created",
        assessment_id: None,
        project_id: None,
        summary: format!("Account {email} created at its first sign-in with {}, as an officer of it", p.institution_name),
        details: serde_json::json!({ "user": user_id, "institution": p.institution_id, "issuer": issuer, "subject": identity.subject }),
    })
    .await?;
    tx.commit().await?;
    Ok(db::users::by_id(state.pool(), user_id)
        .await?
        .ok_or_else(|| "The account was not created.".to_owned()))
}

async fn link(
    state: &AppState,
    actor: &Actor,
    p: &Provider,
    identity: &Identity,
    user_id: Uuid,
    how: &str,
) -> AppResult<Result<User, String>> {
    let mut tx = state.pool().begin().await?;
    db::identity::link(&mut tx, &p.issuer_url, &identity.subject, user_id).await?;
    db::audit::record(&mut tx, &Actor { id: Some(user_id), ..actor.clone() }, Entry {
        action: "auth.sso_linked",
        assessment_id: None,
        project_id: None,
        summary: format!("Account linked to its {} sign-in ({how})", p.institution_name),
        details: serde_json::json!({ "user": user_id, "institution": p.institution_id, "issuer": p.issuer_url, "subject": identity.subject }),
    })
    .await?;
    tx.commit().await?;
    Ok(db::users::by_id(state.pool(), user_id)
        .await?
        .ok_or_else(|| "The account no longer exists.".to_owned()))
}

/// The provider's logout address for a session signed in with it, coming back to the
/// signed-out page; `None` when it has none (or cannot be reached).
pub async fn provider_logout(
    state: &AppState,
    institution: Uuid,
) -> AppResult<Option<(String, String)>> {
    let Some(p) = db::identity::provider(state.pool(), institution).await? else {
        return Ok(None);
    };
    let back = state.config().mail.link("/login?signed_out=1");
    Ok(
        match oidc::logout_url(&p.issuer_url, &p.client_id, &back).await {
            Ok(url) => url.map(|u| (p.institution_name, u)),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "the provider's logout address could not be read");
                None
            }
        },
    )
}
