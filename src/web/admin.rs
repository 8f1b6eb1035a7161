//! Administration: accounts, institutions, the partner register, settings and the
//! installation-wide audit log. Administrators only; every change is audited.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::auth::hash_password;
use crate::db;
use crate::db::audit::{Entry, Filter, Row};
use crate::db::users::{Institution, User};
use crate::domain::account::{
    MAX_EMAIL, MAX_NAME, NewUserInput, ROLE_OPTIONS, Role, parse_role_option, role_option,
};
use crate::domain::answers::FieldError;
use crate::domain::lifecycle::CosignPolicy;
use crate::domain::text::parse_day;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Admin, Form, Path, Query};
use crate::web::forms::{Check, Errors};
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use crate::web::session::Signed;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_get))
        .route("/admin/users", get(users_get).post(users_post))
        .route("/admin/users/{id}", get(user_get).post(user_post))
        .route(
            "/admin/institutions",
            get(institutions_get).post(institutions_post),
        )
        .route("/admin/settings", get(settings_get).post(settings_post))
        .route("/admin/audit", get(audit_get))
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminPage {
    layout: Layout,
}

async fn admin_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&AdminPage {
        layout: Layout::new(&state, &s.ctx, "Administration", "admin")
            .with_notice(notice(q.notice.as_deref())),
    })
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    options: [(&'static str, &'static str); 4],
    users: Vec<User>,
    institutions: Vec<Institution>,
    input: NewUserInput,
    errors: Errors,
}

async fn users_page(
    state: &AppState,
    s: &Signed,
    input: NewUserInput,
    errors: Vec<FieldError>,
    n: Option<&str>,
) -> AppResult<UsersPage> {
    Ok(UsersPage {
        layout: Layout::new(state, &s.ctx, "Accounts", "admin").with_notice(notice(n)),
        options: ROLE_OPTIONS,
        users: db::users::list(state.pool()).await?,
        institutions: db::users::institutions(state.pool()).await?,
        input: NewUserInput {
            password: String::new(),
            ..input
        },
        errors: Errors(errors),
    })
}

async fn users_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&users_page(
        &state,
        &s,
        NewUserInput::default(),
        Vec::new(),
        q.notice.as_deref(),
    )
    .await?)
}

async fn users_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(input): Form<NewUserInput>,
) -> AppResult<Response> {
    let mut errors = Vec::new();
    let parsed = input.parse().map_err(|e| errors.extend(e)).ok();
    if let Some(Some(id)) = parsed.as_ref().map(|u| u.institution_id)
        && db::users::institution(state.pool(), id).await?.is_none()
    {
        errors.push(FieldError::new(
            "institution_id",
            "Choose an institution from the list.",
        ));
    }
    let Some(new_user) = parsed.filter(|_| errors.is_empty()) else {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &users_page(&state, &s, input, errors, None).await?,
        );
    };
    let hash = hash_password(new_user.password.clone()).await?;
    let mut tx = state.pool().begin().await?;
    let Some(id) = db::users::insert(&mut tx, &new_user, &hash).await? else {
        tx.rollback().await?;
        let errors = vec![FieldError::new(
            "email",
            "An account with this email address already exists.",
        )];
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &users_page(&state, &s, input, errors, None).await?,
        );
    };
    db::audit::record(&mut tx, &s.actor(), Entry {
        action: "admin.user_create",
        assessment_id: None,
        project_id: None,
        summary: format!("Created account {} ({})", new_user.email, new_user.role.code()),
        details: serde_json::json!({ "user": id, "email": new_user.email, "role": new_user.role.code(), "institution": new_user.institution_id }),
    })
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/users?notice=user_created").into_response())
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    layout: Layout,
    options: [(&'static str, &'static str); 4],
    user: User,
    institutions: Vec<Institution>,
    errors: Errors,
}

async fn user_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let user = db::users::by_id(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    ok(&UserPage {
        layout: Layout::new(&state, &s.ctx, format!("Account {}", user.email), "admin")
            .with_notice(notice(q.notice.as_deref())),
        institutions: db::users::institutions(state.pool()).await?,
        options: ROLE_OPTIONS,
        user,
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct UserForm {
    role: String,
    institution_id: String,
    disabled: Option<String>,
    lead_reviewer: Option<String>,
}

async fn user_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<UserForm>,
) -> AppResult<Response> {
    let user = db::users::by_id(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = Vec::new();
    let option = parse_role_option(&f.role);
    let role = option.map(|(r, _)| r);
    let lead = option.is_some_and(|(_, lead)| lead);
    if role.is_none() {
        errors.push(FieldError::new("role", "Choose a role."));
    }
    let institution = match f.institution_id.trim() {
        "" => None,
        raw => match uuid::Uuid::parse_str(raw) {
            Ok(i) if db::users::institution(state.pool(), i).await?.is_some() => Some(i),
            _ => {
                errors.push(FieldError::new(
                    "institution_id",
                    "Choose an institution from the list.",
                ));
                None
            }
        },
    };
    if role == Some(Role::Officer) && institution.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "institution_id",
            "An officer belongs to an institution.",
        ));
    }
    let disabled = f.disabled.is_some();
    if user.id == s.user.id && (disabled || role != Some(Role::Admin)) {
        errors.push(FieldError::new(
            "role",
            "You cannot disable or demote your own account; ask another administrator.",
        ));
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        let page = UserPage {
            layout: Layout::new(&state, &s.ctx, format!("Account {}", user.email), "admin"),
            institutions: db::users::institutions(state.pool()).await?,
            options: ROLE_OPTIONS,
            user,
            errors: Errors(errors),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let institution = if role == Role::Officer {
        institution
    } else {
        None
    };
    let mut tx = state.pool().begin().await?;
    let lead_reviewer = f.lead_reviewer.is_some() && role == Role::Reviewer;
    db::users::update_account(
        &mut tx,
        user.id,
        role,
        institution,
        disabled,
        lead_reviewer,
        lead,
    )
    .await?;
    db::audit::record(&mut tx, &s.actor(), Entry {
        action: "admin.user_update",
        assessment_id: None,
        project_id: None,
        summary: format!("Changed account {}: role {} -> {}, disabled {} -> {}, lead reviewer {} -> {}", user.email, role_option(user.role, user.lead_officer), role_option(role, lead), user.disabled, disabled, user.lead_reviewer, lead_reviewer),
        details: serde_json::json!({ "user": user.id, "role": [role_option(user.role, user.lead_officer), role_option(role, lead)], "institution": [user.institution_id, institution], "disabled": [user.disabled, disabled], "lead_reviewer": [user.lead_reviewer, lead_reviewer] }),
    })
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/users?notice=user_updated").into_response())
}

#[derive(Template)]
#[template(path = "admin/institutions.html")]
struct InstitutionsPage {
    layout: Layout,
    institutions: Vec<Institution>,
    name: String,
    errors: Errors,
}

async fn institutions_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&InstitutionsPage {
        layout: Layout::new(&state, &s.ctx, "Institutions", "admin")
            .with_notice(notice(q.notice.as_deref())),
        institutions: db::users::institutions(state.pool()).await?,
        name: String::new(),
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct InstitutionForm {
    name: String,
}

async fn institutions_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<InstitutionForm>,
) -> AppResult<Response> {
    let mut check = Check::default();
    let name = check.required::<MAX_NAME>("name", &f.name, "Give a name of 1 to 200 characters.");
    let mut errors = check.into_errors();
    let mut tx = state.pool().begin().await?;
    let id = match &name {
        Some(name) => db::users::insert_institution(&mut tx, name).await?,
        None => None,
    };
    let name = name.map(|n| n.into_string()).unwrap_or_default();
    let Some(id) = id else {
        tx.rollback().await?;
        if errors.is_empty() {
            errors.push(FieldError::new(
                "name",
                "An institution with this name already exists.",
            ));
        }
        let page = InstitutionsPage {
            layout: Layout::new(&state, &s.ctx, "Institutions", "admin"),
            institutions: db::users::institutions(state.pool()).await?,
            name: f.name,
            errors: Errors(errors),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.institution_create",
            assessment_id: None,
            project_id: None,
            summary: format!("Added institution {name}"),
            details: serde_json::json!({ "institution": id, "name": name }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/institutions?notice=institution_created").into_response())
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    require_totp: bool,
    cosign_policy: CosignPolicy,
    policies: [CosignPolicy; 3],
    errors: Errors,
}

async fn settings_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&SettingsPage {
        layout: Layout::new(&state, &s.ctx, "Settings", "admin")
            .with_notice(notice(q.notice.as_deref())),
        require_totp: db::users::require_totp(state.pool()).await?,
        cosign_policy: db::review::cosign_policy(state.pool()).await?,
        policies: CosignPolicy::ALL,
        errors: Errors::default(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SettingsForm {
    require_totp: Option<String>,
    cosign_policy: String,
}

async fn settings_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<SettingsForm>,
) -> AppResult<Response> {
    let on = f.require_totp.is_some();
    let before = db::review::cosign_policy(state.pool()).await?;
    // A form without the choice (an older page) leaves the policy as it is.
    let chosen = match f.cosign_policy.trim() {
        "" => Some(before),
        code => CosignPolicy::parse(code),
    };
    let Some(policy) = chosen else {
        let page = SettingsPage {
            layout: Layout::new(&state, &s.ctx, "Settings", "admin"),
            require_totp: on,
            cosign_policy: before,
            policies: CosignPolicy::ALL,
            errors: Errors(vec![FieldError::new(
                "cosign_policy",
                "Second signature: choose one of the three policies.",
            )]),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let mut tx = state.pool().begin().await?;
    db::users::set_require_totp(&mut tx, on).await?;
    db::review::set_cosign_policy(&mut tx, policy).await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.settings",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Two-factor sign-in required for every account: {}; second signature: {} (was {})",
                if on { "yes" } else { "no" },
                policy.code(),
                before.code()
            ),
            details: serde_json::json!({ "require_totp": on, "cosign_policy": [before.code(), policy.code()] }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/settings?notice=settings").into_response())
}

/// The audit filters as typed, shown again as they were.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub case: String,
    pub from: String,
    pub to: String,
}

impl AuditQuery {
    /// The valid filters, and a message beside each one that is not (it is then ignored).
    fn filter(&self) -> (Filter, Vec<FieldError>) {
        let mut check = Check::default();
        let actor = check.text::<MAX_EMAIL>("actor", &self.actor);
        let action = check.text::<100>("action", &self.action);
        let case = match self.case.trim() {
            "" => None,
            raw => Uuid::parse_str(raw)
                .map_err(|_| {
                    check.add(
                        "case",
                        "A case id looks like 3f2a…-…; copy it from the case page.",
                    )
                })
                .ok(),
        };
        let mut day = |field: &str, raw: &str| {
            parse_day(raw)
                .map_err(|m| check.add(field, m))
                .ok()
                .flatten()
        };
        let (from, to) = (day("from", &self.from), day("to", &self.to));
        let filter = Filter {
            actor: actor.map(|a| a.into_string()).unwrap_or_default(),
            action: action.map(|a| a.into_string()).unwrap_or_default(),
            case,
            from,
            to,
        };
        (filter, check.into_errors())
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    rows: Vec<Row>,
    filter: AuditQuery,
    actions: Vec<String>,
    errors: Errors,
}

async fn audit_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(query): Query<AuditQuery>,
) -> AppResult<Response> {
    let (filter, errors) = query.filter();
    let page = AuditPage {
        layout: Layout::new(&state, &s.ctx, "Audit log", "admin"),
        rows: db::audit::search(state.pool(), &filter, 500).await?,
        actions: db::audit::actions(state.pool()).await?,
        filter: query,
        errors: Errors(errors),
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(status, &page)
}
