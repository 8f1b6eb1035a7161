//! First-run setup in the browser. While no administrator exists, each server that
//! starts records a one-time code (its SHA-256 only) and logs the address
//! `/setup?code=…`; that page creates the first administrator and the first
//! institution, signs the administrator in, and is a 404 from then on.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::auth::{hash_password, link_token, token_hash};
use crate::db;
use crate::db::audit::{Actor, Entry};
use crate::domain::account::{MAX_NAME, NewUserInput};
use crate::domain::answers::FieldError;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Form, Query};
use crate::web::forms::{Check, Errors};
use crate::web::layout::{Layout, ok, render};
use crate::web::session::{Ctx, begin};

pub fn router() -> Router<AppState> {
    Router::new().route("/setup", get(setup_get).post(setup_post))
}

/// When no administrator exists: records a new setup code and returns the address to
/// log. `None` once an administrator exists.
pub async fn announce(state: &AppState) -> anyhow::Result<Option<String>> {
    if !state.recheck_setup().await? {
        db::tokens::clear_setup_codes(state.pool()).await?;
        return Ok(None);
    }
    let (code, hash) = link_token();
    db::tokens::add_setup_code(state.pool(), &hash).await?;
    Ok(Some(
        state.config().mail.link(&format!("/setup?code={code}")),
    ))
}

/// The setup form as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
struct SetupForm {
    code: String,
    institution: String,
    email: String,
    display_name: String,
    password: String,
}

#[derive(Template)]
#[template(path = "setup/setup.html")]
struct SetupPage {
    layout: Layout,
    input: SetupForm,
    errors: Errors,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CodeQuery {
    code: String,
}

/// The page exists only with a valid code while no administrator exists.
async fn valid_code(state: &AppState, code: &str) -> AppResult<bool> {
    Ok(state.setup_pending()
        && code.len() <= 200
        && db::tokens::setup_code_valid(state.pool(), &token_hash(code)).await?)
}

async fn setup_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<CodeQuery>,
) -> AppResult<Response> {
    if !valid_code(&state, &q.code).await? {
        return Err(AppError::NotFound);
    }
    ok(&SetupPage {
        layout: Layout::new(&state, &ctx, "First-run setup", "setup"),
        input: SetupForm {
            code: q.code,
            ..SetupForm::default()
        },
        errors: Errors::default(),
    })
}

async fn setup_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SetupForm>,
) -> AppResult<Response> {
    if !valid_code(&state, &form.code).await? {
        return Err(AppError::NotFound);
    }
    let mut check = Check::default();
    let institution = check.required::<MAX_NAME>(
        "institution",
        &form.institution,
        "Give the institution's name, 1 to 200 characters.",
    );
    let mut errors = check.into_errors();
    let admin = NewUserInput {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: "admin".into(),
        institution_id: String::new(),
        password: form.password.clone(),
    }
    .parse()
    .map_err(|e| errors.extend(e))
    .ok();
    let page = |errors: Vec<FieldError>| SetupPage {
        layout: Layout::new(&state, &ctx, "First-run setup", "setup"),
        input: SetupForm {
            password: String::new(),
            ..form.clone()
        },
        errors: Errors(errors),
    };
    let (Some(institution), Some(admin)) = (institution, admin) else {
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page(errors));
    };
    let hash = hash_password(admin.password.clone()).await?;
    let mut tx = state.pool().begin().await?;
    if !db::tokens::consume_setup_code(&mut tx, &token_hash(&form.code)).await? {
        tx.rollback().await?;
        return Err(AppError::NotFound);
    }
    let Some(institution_id) = db::users::insert_institution(&mut tx, &institution).await? else {
        tx.rollback().await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(vec![FieldError::new(
                "institution",
                "An institution with this name already exists; the administrator can rename it later.",
            )]),
        );
    };
    let Some(user_id) = db::users::insert(&mut tx, &admin, &hash).await? else {
        tx.rollback().await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(vec![FieldError::new(
                "email",
                "An account with this email address already exists; choose another address.",
            )]),
        );
    };
    let actor = Actor {
        id: Some(user_id),
        email: Some(admin.email.clone()),
        address: ctx.address.clone(),
    };
    db::audit::record(
        &mut tx,
        &actor,
        Entry {
            action: "setup.complete",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "First-run setup: administrator {} and institution {}",
                admin.email,
                institution.as_str()
            ),
            details: serde_json::json!({ "user": user_id, "institution": institution_id, "name": institution.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    state.setup_done();
    let user = db::users::by_id(state.pool(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    begin(&ctx.session, &user).await?;
    Ok(Redirect::to("/admin?notice=setup_done").into_response())
}
