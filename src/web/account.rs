//! The signed-in user's own account: password and two-factor sign-in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::auth::{
    check_totp, hash_password, hash_recovery_codes, new_recovery_codes, new_totp_secret,
    totp_qr_svg, verify_password,
};
use crate::db;
use crate::db::audit::Entry;
use crate::domain::account::check_password;
use crate::domain::answers::FieldError;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Form, Query};
use crate::web::forms::Errors;
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use crate::web::session::{Signed, keep_after_epoch_change, now};

/// The secret being enrolled lives in the session until it is confirmed.
const PENDING_SECRET: &str = "totp_pending_secret";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_get))
        .route("/account/password", post(password_post))
        .route("/account/mail", post(mail_post))
        .route(
            "/account/two-factor",
            get(two_factor_get).post(two_factor_post),
        )
        .route("/account/two-factor/disable", post(two_factor_disable_post))
}

#[derive(Template)]
#[template(path = "account/show.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    name: String,
    role: &'static str,
    institution: Option<String>,
    totp_enabled: bool,
    recovery_left: i64,
    require_totp: bool,
    /// Mail as it happens, or one daily digest.
    digest: bool,
    errors: Errors,
}

async fn account_page(
    state: &AppState,
    s: &Signed,
    errors: Vec<FieldError>,
    notice_code: Option<&str>,
) -> AppResult<AccountPage> {
    Ok(AccountPage {
        layout: Layout::new(state, &s.ctx, "Your account", "account")
            .with_notice(notice(notice_code)),
        email: s.user.email.clone(),
        name: s.user.display_name.clone(),
        role: s.role().word(),
        institution: s.user.institution_name.clone(),
        totp_enabled: s.user.totp_enabled,
        recovery_left: db::users::unused_recovery_codes(state.pool(), s.user.id).await?,
        require_totp: db::users::require_totp(state.pool()).await?,
        digest: db::users::mail_digest(state.pool(), s.user.id).await?,
        errors: Errors(errors),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct MailForm {
    delivery: String,
}

/// The user's choice: each notification at once, or one daily digest.
async fn mail_post(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<MailForm>,
) -> AppResult<Response> {
    let digest = match f.delivery.trim() {
        "immediate" => false,
        "digest" => true,
        _ => {
            let page = account_page(
                &state,
                &s,
                vec![FieldError::new(
                    "delivery",
                    "Mail: choose \"Each message as it happens\" or \"One daily digest\".",
                )],
                None,
            )
            .await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool().begin().await?;
    db::users::set_mail_digest(&mut tx, s.user.id, digest).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "account.mail",
            assessment_id: None,
            project_id: None,
            summary: if digest {
                "Chose one daily digest of mail".to_owned()
            } else {
                "Chose each mail as it happens".to_owned()
            },
            details: serde_json::json!({ "delivery": if digest { "digest" } else { "immediate" } }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/account?notice=mail_delivery").into_response())
}

async fn account_get(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&account_page(&state, &s, Vec::new(), q.notice.as_deref()).await?)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct PasswordForm {
    current: String,
    new_password: String,
    confirm: String,
}

async fn password_post(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let mut errors = Vec::new();
    if !verify_password(f.current.clone(), Some(s.user.password_hash.clone())).await {
        errors.push(FieldError::new(
            "current",
            "This is not your current password.",
        ));
    }
    if let Err(m) = check_password(&f.new_password, &[&s.user.email, &s.user.display_name]) {
        errors.push(FieldError::new("new_password", m));
    } else if f.new_password != f.confirm {
        errors.push(FieldError::new("confirm", "The two new passwords differ."));
    }
    if !errors.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &account_page(&state, &s, errors, None).await?,
        );
    }
    let hash = hash_password(f.new_password).await?;
    let mut tx = state.pool().begin().await?;
    db::users::set_password(&mut tx, s.user.id, &hash).await?;
    let epoch = db::users::end_sessions(&mut tx, s.user.id).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "account.password",
            assessment_id: None,
            project_id: None,
            summary: "Changed own password".to_owned(),
            details: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    // Every other session of the account has ended; this one goes on, with a new id.
    keep_after_epoch_change(&s.ctx.session, epoch).await?;
    Ok(Redirect::to("/account?notice=password").into_response())
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct TwoFactorPage {
    layout: Layout,
    enabled: bool,
    required: bool,
    secret: String,
    /// The QR code, rendered by us as SVG from the otpauth URL.
    qr_svg: String,
    error: Option<String>,
    /// Shown once, right after enrolment.
    recovery_codes: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RequiredQuery {
    required: Option<String>,
}

async fn enrol_page(
    state: &AppState,
    s: &Signed,
    error: Option<String>,
) -> AppResult<TwoFactorPage> {
    let secret = match s.ctx.session.get::<String>(PENDING_SECRET).await? {
        Some(secret) => secret,
        None => {
            let secret = new_totp_secret();
            s.ctx.session.insert(PENDING_SECRET, &secret).await?;
            secret
        }
    };
    Ok(TwoFactorPage {
        layout: Layout::new(state, &s.ctx, "Two-factor sign-in", "account"),
        enabled: false,
        required: db::users::require_totp(state.pool()).await?,
        qr_svg: totp_qr_svg(&secret, &s.user.email).unwrap_or_default(),
        secret,
        error,
        recovery_codes: Vec::new(),
    })
}

async fn two_factor_get(
    State(state): State<AppState>,
    s: Signed,
    Query(_q): Query<RequiredQuery>,
) -> AppResult<Response> {
    if s.user.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    ok(&enrol_page(&state, &s, None).await?)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
    password: String,
}

/// Turning two-factor sign-in on or off is a change of how the account is protected:
/// the password is asked again, whatever the session.
async fn password_again(s: &Signed, password: &str) -> bool {
    verify_password(password.to_owned(), Some(s.user.password_hash.clone())).await
}

const NOT_YOUR_PASSWORD: &str = "This is not your current password.";

async fn two_factor_post(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    if s.user.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    let Some(secret) = s.ctx.session.get::<String>(PENDING_SECRET).await? else {
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    let step = check_totp(&secret, &f.code, now().max(0) as u64, 0);
    let problem = if !password_again(&s, &f.password).await {
        Some(NOT_YOUR_PASSWORD)
    } else if step.is_none() {
        Some("That code does not match. Check the time on your phone and enter the current code.")
    } else {
        None
    };
    let (Some(step), None) = (step, problem) else {
        let page = enrol_page(&state, &s, problem.map(str::to_owned)).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let codes = new_recovery_codes();
    let hashes = hash_recovery_codes(&codes).await?;
    db::users::set_pending_totp(state.pool(), s.user.id, &secret).await?;
    let mut tx = state.pool().begin().await?;
    db::users::enable_totp(&mut tx, s.user.id, step, &hashes).await?;
    let epoch = db::users::end_sessions(&mut tx, s.user.id).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "account.totp_enable",
            assessment_id: None,
            project_id: None,
            summary: "Turned on two-factor sign-in".to_owned(),
            details: serde_json::json!({ "recovery_codes": codes.len() }),
        },
    )
    .await?;
    tx.commit().await?;
    s.ctx.session.remove::<String>(PENDING_SECRET).await?;
    keep_after_epoch_change(&s.ctx.session, epoch).await?;
    ok(&TwoFactorPage {
        layout: Layout::new(&state, &s.ctx, "Two-factor sign-in", "account")
            .with_notice(notice(Some("totp_on"))),
        enabled: true,
        required: false,
        secret: String::new(),
        qr_svg: String::new(),
        error: None,
        recovery_codes: codes,
    })
}

async fn two_factor_disable_post(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    if db::users::require_totp(state.pool()).await? {
        return Err(AppError::Conflict(
            "Two-factor sign-in is required for every account here; it cannot be turned off."
                .into(),
        ));
    }
    let mut errors = Vec::new();
    if !password_again(&s, &f.password).await {
        errors.push(FieldError::new("password", NOT_YOUR_PASSWORD));
    }
    let code = Text::<40>::parse(&f.code).unwrap_or_default();
    if errors.is_empty()
        && crate::web::auth::second_factor(&state, &s.user, &code)
            .await?
            .is_none()
    {
        errors.push(FieldError::new(
            "code",
            "Enter the current code from your app (or an unused recovery code).",
        ));
    }
    if !errors.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &account_page(&state, &s, errors, None).await?,
        );
    }
    let mut tx = state.pool().begin().await?;
    db::users::disable_totp(&mut tx, s.user.id).await?;
    let epoch = db::users::end_sessions(&mut tx, s.user.id).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "account.totp_disable",
            assessment_id: None,
            project_id: None,
            summary: "Turned off two-factor sign-in".to_owned(),
            details: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    keep_after_epoch_change(&s.ctx.session, epoch).await?;
    Ok(Redirect::to("/account?notice=totp_off").into_response())
}
