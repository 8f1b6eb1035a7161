//! Invitations by email. An administrator invites with any role and institution; a
//! lead officer invites officers of their own institution. The mail carries a
//! single-use link that expires after 72 hours and lets the person choose a password
//! (or sign in with their institution's identity provider, where it has one).
//! Pending invitations can be resent (a new link) or revoked. Everything is audited.

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::{hash_password, link_token, token_hash};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::db::invitations::{Invitation, NewInvitation};
use crate::db::users::Institution;
use crate::domain::account::{
    MAX_NAME, NewUser, ROLE_OPTIONS, Role, check_password, parse_email, parse_role_option,
};
use crate::domain::answers::FieldError;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::mail::{MailSettings, Notification, Recipient, notify};
use crate::state::AppState;
use crate::web::extract::{Form, Path, Query};
use crate::web::forms::Errors;
use crate::web::layout::{Layout, NoticeQuery, datetime, notice, ok, render};
use crate::web::session::{Ctx, Signed, begin};

/// How long an invitation link works.
pub const INVITATION_VALID: Duration = Duration::hours(72);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations", get(list_get).post(invite_post))
        .route("/invitations/{id}/resend", post(resend_post))
        .route("/invitations/{id}/revoke", post(revoke_post))
        .route("/invitation", get(accept_get).post(accept_post))
}

/// Who may invite: an administrator (anyone, anywhere), or a lead officer (officers of
/// their own institution).
pub struct Inviter {
    pub s: Signed,
    /// `Some` for a lead officer: the only institution they may invite to.
    pub only: Option<Uuid>,
}

impl FromRequestParts<AppState> for Inviter {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let s = Signed::from_request_parts(parts, state).await?;
        match s.role() {
            Role::Admin => Ok(Inviter { s, only: None }),
            Role::Officer if s.user.lead_officer => {
                let only = s.user.institution_id.ok_or(AppError::Forbidden)?;
                Ok(Inviter {
                    s,
                    only: Some(only),
                })
            }
            _ => Err(AppError::Forbidden),
        }
    }
}

/// The invitation form as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
struct InviteForm {
    email: String,
    display_name: String,
    role: String,
    institution_id: String,
}

#[derive(Template)]
#[template(path = "invitations/list.html")]
struct ListPage {
    layout: Layout,
    pending: Vec<Invitation>,
    institutions: Vec<Institution>,
    options: Vec<(&'static str, &'static str)>,
    input: InviteForm,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    i: &Inviter,
    input: InviteForm,
    errors: Vec<FieldError>,
    n: Option<&str>,
) -> AppResult<ListPage> {
    let institutions = db::users::institutions(state.pool())
        .await?
        .into_iter()
        .filter(|inst| inst.active && i.only.is_none_or(|only| only == inst.id))
        .collect();
    let options = ROLE_OPTIONS
        .into_iter()
        .filter(|(code, _)| i.only.is_none() || ["officer", "lead_officer"].contains(code))
        .collect();
    Ok(ListPage {
        layout: Layout::new(state, &i.s.ctx, "Invitations", "admin").with_notice(notice(n)),
        pending: db::invitations::pending(state.pool(), i.only).await?,
        institutions,
        options,
        input,
        errors: Errors(errors),
    })
}

async fn list_get(
    State(state): State<AppState>,
    i: Inviter,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let input = InviteForm {
        institution_id: i.only.map(|u| u.to_string()).unwrap_or_default(),
        ..InviteForm::default()
    };
    ok(&list_page(&state, &i, input, Vec::new(), q.notice.as_deref()).await?)
}

/// A valid invitation request: email, name, role (and lead flag), institution.
struct Invite {
    email: String,
    display_name: Text<MAX_NAME>,
    role: Role,
    lead_officer: bool,
    institution_id: Option<Uuid>,
}

async fn parse_invite(
    state: &AppState,
    i: &Inviter,
    f: &InviteForm,
) -> AppResult<Result<Invite, Vec<FieldError>>> {
    let mut errors = Vec::new();
    let email = parse_email(&f.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let display_name = Text::<MAX_NAME>::required(&f.display_name)
        .map_err(|_| {
            errors.push(FieldError::new(
                "display_name",
                "Give the person's name, 1 to 200 characters.",
            ))
        })
        .ok();
    let option =
        parse_role_option(&f.role).filter(|(role, _)| i.only.is_none() || *role == Role::Officer);
    if option.is_none() {
        errors.push(FieldError::new("role", "Choose a role from the list."));
    }
    let institution = match f.institution_id.trim() {
        "" => None,
        raw => match Uuid::parse_str(raw) {
            Ok(id) => match db::users::institution(state.pool(), id).await? {
                Some(inst) if inst.active && i.only.is_none_or(|o| o == id) => Some(id),
                _ => {
                    errors.push(FieldError::new(
                        "institution_id",
                        "Choose an active institution from the list.",
                    ));
                    None
                }
            },
            Err(_) => {
                errors.push(FieldError::new(
                    "institution_id",
                    "Choose an institution from the list.",
                ));
                None
            }
        },
    };
    if option.is_some_and(|(r, _)| r == Role::Officer)
        && institution.is_none()
        && !errors.iter().any(|e| e.field == "institution_id")
    {
        errors.push(FieldError::new(
            "institution_id",
            "An officer belongs to an institution: choose one.",
        ));
    }
    if let Some(email) = &email
        && db::users::by_email(state.pool(), email).await?.is_some()
    {
        errors.push(FieldError::new(
            "email",
            "An account with this email address already exists.",
        ));
    }
    Ok(match (email, display_name, option) {
        (Some(email), Some(display_name), Some((role, lead_officer))) if errors.is_empty() => {
            Ok(Invite {
                email,
                display_name,
                role,
                lead_officer,
                institution_id: if role == Role::Officer {
                    institution
                } else {
                    None
                },
            })
        }
        _ => Err(errors),
    })
}

/// Writes the invitation mail with a link for `token` to the outbox.
async fn send_invitation(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    mail: &MailSettings,
    email: &str,
    inviter: &str,
    role_words: &str,
    token: &str,
) -> sqlx::Result<()> {
    notify(
        tx,
        mail,
        &[Recipient {
            id: None,
            email: email.to_owned(),
            digest: false,
        }],
        &Notification {
            kind: "account.invitation",
            assessment_id: None,
            subject: "You are invited to triage".to_owned(),
            body: format!(
                "{inviter} invited you to triage, where European universities assess research \
                 collaborations with Chinese partners, as {role_words}.\n\n\
                 Open this link within 72 hours to set up your account. It works once.\n\n{}\n\n\
                 If you did not expect this, ignore this mail.",
                mail.link(&format!("/invitation?token={token}"))
            ),
        },
    )
    .await
}

fn role_words(role: Role, lead: bool, institution: Option<&str>) -> String {
    let role = if lead {
        "lead officer".to_owned()
    } else {
        role.word().to_lowercase()
    };
    match institution {
        Some(i) => format!("{role} of {i}"),
        None => role,
    }
}

async fn invite_post(
    State(state): State<AppState>,
    i: Inviter,
    Form(f): Form<InviteForm>,
) -> AppResult<Response> {
    let invite = match parse_invite(&state, &i, &f).await? {
        Ok(v) => v,
        Err(errors) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &list_page(&state, &i, f, errors, None).await?,
            );
        }
    };
    let institution_name = match invite.institution_id {
        Some(id) => db::users::institution(state.pool(), id)
            .await?
            .map(|x| x.name),
        None => None,
    };
    let (token, hash) = link_token();
    let mut tx = state.pool().begin().await?;
    let Some(id) = db::invitations::insert(
        &mut tx,
        &NewInvitation {
            email: &invite.email,
            display_name: invite.display_name.as_str(),
            role: invite.role,
            lead_officer: invite.lead_officer,
            institution_id: invite.institution_id,
            invited_by: i.s.user.id,
            token_hash: &hash,
            expires_at: OffsetDateTime::now_utc() + INVITATION_VALID,
        },
    )
    .await?
    else {
        tx.rollback().await?;
        let errors = vec![FieldError::new(
            "email",
            "This address already has a pending invitation: resend or revoke it below.",
        )];
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &list_page(&state, &i, f, errors, None).await?,
        );
    };
    let words = role_words(
        invite.role,
        invite.lead_officer,
        institution_name.as_deref(),
    );
    send_invitation(
        &mut tx,
        &state.config().mail,
        &invite.email,
        &i.s.user.display_name,
        &words,
        &token,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &i.s.actor(),
        Entry {
            action: "account.invite",
            assessment_id: None,
            project_id: None,
            summary: format!("Invited {} as {words}", invite.email),
            details: serde_json::json!({ "invitation": id, "email": invite.email, "role": invite.role.code(), "lead_officer": invite.lead_officer, "institution": invite.institution_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/invitations?notice=invited").into_response())
}

/// A pending invitation this inviter may manage (404 otherwise).
async fn manageable(state: &AppState, i: &Inviter, id: Uuid) -> AppResult<Invitation> {
    db::invitations::by_id(state.pool(), id)
        .await?
        .filter(|v| v.pending() && i.only.is_none_or(|o| v.institution_id == Some(o)))
        .ok_or(AppError::NotFound)
}

async fn resend_post(
    State(state): State<AppState>,
    i: Inviter,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let v = manageable(&state, &i, id).await?;
    let (token, hash) = link_token();
    let mut tx = state.pool().begin().await?;
    if !db::invitations::renew(
        &mut tx,
        v.id,
        &hash,
        OffsetDateTime::now_utc() + INVITATION_VALID,
    )
    .await?
    {
        tx.rollback().await?;
        return Err(AppError::Conflict(
            "This invitation was accepted or revoked meanwhile.".into(),
        ));
    }
    let words = role_words(v.role, v.lead_officer, v.institution_name.as_deref());
    send_invitation(
        &mut tx,
        &state.config().mail,
        &v.email,
        &i.s.user.display_name,
        &words,
        &token,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &i.s.actor(),
        Entry {
            action: "account.invite_resend",
            assessment_id: None,
            project_id: None,
            summary: format!("Resent the invitation of {} with a new link", v.email),
            details: serde_json::json!({ "invitation": v.id, "email": v.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/invitations?notice=invitation_resent").into_response())
}

async fn revoke_post(
    State(state): State<AppState>,
    i: Inviter,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let v = manageable(&state, &i, id).await?;
    let mut tx = state.pool().begin().await?;
    if !db::invitations::revoke(&mut tx, v.id).await? {
        tx.rollback().await?;
        return Err(AppError::Conflict(
            "This invitation was accepted or revoked meanwhile.".into(),
        ));
    }
    db::audit::record(
        &mut tx,
        &i.s.actor(),
        Entry {
            action: "account.invite_revoke",
            assessment_id: None,
            project_id: None,
            summary: format!("Revoked the invitation of {}", v.email),
            details: serde_json::json!({ "invitation": v.id, "email": v.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/invitations?notice=invitation_revoked").into_response())
}

// ----- accepting -----

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    layout: Layout,
    invitation: Option<Invitation>,
    token: String,
    /// "Sign in with <institution>" when the institution has an identity provider.
    sso: Option<String>,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

async fn live(state: &AppState, token: &str) -> AppResult<Option<Invitation>> {
    if token.is_empty() || token.len() > 200 {
        return Ok(None);
    }
    Ok(db::invitations::by_token(state.pool(), &token_hash(token)).await?)
}

async fn accept_page(
    state: &AppState,
    ctx: &Ctx,
    invitation: Option<Invitation>,
    token: String,
    errors: Vec<FieldError>,
) -> AppResult<AcceptPage> {
    let sso = match invitation.as_ref().and_then(|v| v.institution_id) {
        Some(inst) if db::identity::provider(state.pool(), inst).await?.is_some() => {
            invitation.as_ref().and_then(|v| v.institution_name.clone())
        }
        _ => None,
    };
    Ok(AcceptPage {
        layout: Layout::new(
            state,
            ctx,
            if invitation.is_some() {
                "Set up your account"
            } else {
                "This invitation no longer works"
            },
            "login",
        ),
        invitation,
        token,
        sso,
        errors: Errors(errors),
    })
}

async fn accept_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    let invitation = live(&state, &q.token).await?;
    let status = if invitation.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render(
        status,
        &accept_page(&state, &ctx, invitation, q.token, Vec::new()).await?,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AcceptForm {
    token: String,
    password: String,
}

async fn accept_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AcceptForm>,
) -> AppResult<Response> {
    let Some(v) = live(&state, &f.token).await? else {
        return render(
            StatusCode::NOT_FOUND,
            &accept_page(&state, &ctx, None, String::new(), Vec::new()).await?,
        );
    };
    if let Err(m) = check_password(&f.password, &[&v.email, &v.display_name]) {
        let errors = vec![FieldError::new("password", m)];
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &accept_page(&state, &ctx, Some(v), f.token, errors).await?,
        );
    }
    let hash = hash_password(f.password.clone()).await?;
    let user_id = create_from_invitation(&state, &ctx, &v, &f.token, &hash).await?;
    let Some(user_id) = user_id else {
        return render(
            StatusCode::NOT_FOUND,
            &accept_page(&state, &ctx, None, String::new(), Vec::new()).await?,
        );
    };
    let user = db::users::by_id(state.pool(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    begin(&ctx.session, &user).await?;
    Ok(Redirect::to("/account?notice=invitation_accepted").into_response())
}

/// Creates the invited account (with a password hash, or an unusable one for an account
/// that signs in through its institution's provider) and uses the invitation up, in
/// one transaction. `None` when the invitation was used meanwhile or the address got
/// an account.
pub async fn create_from_invitation(
    state: &AppState,
    ctx: &Ctx,
    v: &Invitation,
    token: &str,
    password_hash: &str,
) -> AppResult<Option<Uuid>> {
    let display_name = Text::<MAX_NAME>::required(&v.display_name)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("stored invitation name")))?;
    let new_user = NewUser {
        email: v.email.clone(),
        display_name,
        role: v.role,
        lead_officer: v.lead_officer,
        institution_id: v.institution_id,
        password: String::new(),
    };
    let mut tx = state.pool().begin().await?;
    let Some(user_id) = db::users::insert(&mut tx, &new_user, password_hash).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if !db::invitations::accept(&mut tx, &token_hash(token), user_id).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let actor = Actor {
        id: Some(user_id),
        email: Some(v.email.clone()),
        address: ctx.address.clone(),
    };
    db::audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "account.invite_accept",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Accepted the invitation: account {} created as {}",
                v.email,
                role_words(v.role, v.lead_officer, v.institution_name.as_deref())
            ),
            details: serde_json::json!({ "invitation": v.id, "user": user_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

/// "2026-12-10 17:00 UTC", for the template.
fn when(t: &OffsetDateTime) -> String {
    datetime(t)
}
