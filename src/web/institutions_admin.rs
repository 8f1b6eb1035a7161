//! One institution, for administrators: rename, merge into another (its cases and
//! accounts move, in one transaction), deactivate or activate, and its OpenID Connect
//! provider. A change from a stale page is refused with 409; everything is audited.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::identity::ProviderSettings;
use crate::db::users::Institution;
use crate::domain::account::MAX_NAME;
use crate::domain::answers::FieldError;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Admin, Form, Path, Query};
use crate::web::forms::{Check, Errors};
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use crate::web::session::Signed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/institutions/{id}", get(institution_get))
        .route("/admin/institutions/{id}/rename", post(rename_post))
        .route("/admin/institutions/{id}/merge", post(merge_post))
        .route("/admin/institutions/{id}/active", post(active_post))
        .route("/admin/institutions/{id}/sso", post(sso_post))
}

/// The SSO form as typed (the secret is never shown back).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
struct SsoForm {
    issuer_url: String,
    client_id: String,
    client_secret: String,
    email_domain: String,
    create_accounts: Option<String>,
    remove: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/institution.html")]
struct InstitutionPage {
    layout: Layout,
    institution: Institution,
    others: Vec<Institution>,
    accounts: i64,
    new_name: String,
    sso: SsoForm,
    has_secret: bool,
    redirect_uri: String,
    errors: Errors,
}

async fn page(
    state: &AppState,
    s: &Signed,
    institution: Institution,
    name: Option<String>,
    sso: Option<SsoForm>,
    errors: Vec<FieldError>,
    n: Option<&str>,
) -> AppResult<InstitutionPage> {
    let provider = db::identity::provider(state.pool(), institution.id).await?;
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE institution_id = $1")
        .bind(institution.id)
        .fetch_one(state.pool())
        .await?;
    let others = db::users::institutions(state.pool())
        .await?
        .into_iter()
        .filter(|i| i.id != institution.id && i.active)
        .collect();
    let stored = provider.as_ref().map(|p| SsoForm {
        issuer_url: p.issuer_url.clone(),
        client_id: p.client_id.clone(),
        client_secret: String::new(),
        email_domain: p.email_domain.clone().unwrap_or_default(),
        create_accounts: p.create_accounts.then(|| "1".to_owned()),
        remove: None,
    });
    Ok(InstitutionPage {
        layout: Layout::new(
            state,
            &s.ctx,
            format!("Institution {}", institution.name),
            "admin",
        )
        .with_notice(notice(n)),
        new_name: name.unwrap_or_else(|| institution.name.clone()),
        redirect_uri: crate::web::sso::redirect_uri(state, institution.id),
        institution,
        others,
        accounts,
        has_secret: provider.is_some(),
        sso: sso.or(stored).unwrap_or_default(),
        errors: Errors(errors),
    })
}

async fn load(state: &AppState, id: Uuid) -> AppResult<Institution> {
    db::users::institution(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn institution_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let institution = load(&state, id).await?;
    ok(&page(
        &state,
        &s,
        institution,
        None,
        None,
        Vec::new(),
        q.notice.as_deref(),
    )
    .await?)
}

const STALE: &str =
    "Someone changed this institution after you opened the page. Reload it and try again.";

fn version(raw: &str) -> AppResult<i32> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::BadRequest("the page's version is missing".into()))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RenameForm {
    name: String,
    _version: String,
}

async fn rename_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<RenameForm>,
) -> AppResult<Response> {
    let institution = load(&state, id).await?;
    let v = version(&f._version)?;
    let mut check = Check::default();
    let name = check.required::<MAX_NAME>("name", &f.name, "Give a name of 1 to 200 characters.");
    let Some(name) = name.filter(|_| check.is_empty()) else {
        let p = page(
            &state,
            &s,
            institution,
            Some(f.name),
            None,
            check.into_errors(),
            None,
        )
        .await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    let mut tx = state.pool().begin().await?;
    match db::institutions::rename(&mut tx, id, v, &name).await? {
        None => {
            tx.rollback().await?;
            return Err(AppError::Conflict(STALE.into()));
        }
        Some(false) => {
            tx.rollback().await?;
            let errors = vec![FieldError::new(
                "name",
                "Another institution has this name; merge into it instead, or choose another name.",
            )];
            let p = page(&state, &s, institution, Some(f.name), None, errors, None).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
        Some(true) => {}
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.institution_rename",
            assessment_id: None,
            project_id: None,
            summary: format!("Renamed institution {} to {}", institution.name, name.as_str()),
            details: serde_json::json!({ "institution": id, "name": [institution.name, name.as_str()] }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/admin/institutions/{id}?notice=institution_renamed"
    ))
    .into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct MergeForm {
    into: String,
    _version: String,
}

async fn merge_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<MergeForm>,
) -> AppResult<Response> {
    let institution = load(&state, id).await?;
    let v = version(&f._version)?;
    let into = match Uuid::parse_str(f.into.trim()) {
        Ok(into) if into != id => db::users::institution(state.pool(), into)
            .await?
            .filter(|i| i.active),
        _ => None,
    };
    let Some(into) = into else {
        let errors = vec![FieldError::new(
            "into",
            "Choose the active institution that takes over the cases and accounts.",
        )];
        let p = page(&state, &s, institution, None, None, errors, None).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    let mut tx = state.pool().begin().await?;
    let Some(moved) = db::institutions::merge(&mut tx, id, v, into.id).await? else {
        tx.rollback().await?;
        return Err(AppError::Conflict(STALE.into()));
    };
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "admin.institution_merge",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Merged institution {} into {}: {} projects, {} cases, {} accounts and {} pending invitations moved",
                institution.name, into.name, moved.projects, moved.cases, moved.accounts, moved.invitations
            ),
            details: serde_json::json!({ "from": id, "into": into.id, "moved": moved }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/admin/institutions/{}?notice=institution_merged",
        into.id
    ))
    .into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ActiveForm {
    active: String,
    _version: String,
}

async fn active_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<ActiveForm>,
) -> AppResult<Response> {
    let institution = load(&state, id).await?;
    let v = version(&f._version)?;
    let active = match f.active.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("active must be true or false".into())),
    };
    let mut tx = state.pool().begin().await?;
    if !db::institutions::set_active(&mut tx, id, v, active).await? {
        tx.rollback().await?;
        return Err(AppError::Conflict(STALE.into()));
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: if active {
                "admin.institution_activate"
            } else {
                "admin.institution_deactivate"
            },
            assessment_id: None,
            project_id: None,
            summary: format!(
                "{} institution {}",
                if active { "Activated" } else { "Deactivated" },
                institution.name
            ),
            details: serde_json::json!({ "institution": id, "active": active }),
        },
    )
    .await?;
    tx.commit().await?;
    let n = if active {
        "institution_activated"
    } else {
        "institution_deactivated"
    };
    Ok(Redirect::to(&format!("/admin/institutions/{id}?notice={n}")).into_response())
}

/// An issuer address: https, or http on the local machine (a provider for tests and
/// development).
fn issuer_ok(url: &str) -> bool {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    (url.starts_with("https://") || local.iter().any(|l| url.starts_with(l)))
        && !url.contains(char::is_whitespace)
        && openidconnect::url::Url::parse(url).is_ok()
}

/// A domain name for the email rule: letters, digits, dots and hyphens.
fn domain_ok(d: &str) -> bool {
    d.contains('.')
        && !d.starts_with('.')
        && !d.ends_with('.')
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

async fn sso_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    Form(f): Form<SsoForm>,
) -> AppResult<Response> {
    let institution = load(&state, id).await?;
    let mut tx = state.pool().begin().await?;
    if f.remove.is_some() {
        if db::identity::remove(&mut tx, id).await? {
            db::audit::record(
                &mut tx,
                &s.actor(),
                Entry {
                    action: "admin.sso_remove",
                    assessment_id: None,
                    project_id: None,
                    summary: format!("Removed single sign-on of {}", institution.name),
                    details: serde_json::json!({ "institution": id }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(
            Redirect::to(&format!("/admin/institutions/{id}?notice=sso_saved")).into_response(),
        );
    }
    let mut check = Check::default();
    let issuer = check.required::<500>(
        "issuer_url",
        &f.issuer_url,
        "Give the provider's issuer address, e.g. https://login.example.org/realms/uni.",
    );
    if issuer.as_ref().is_some_and(|i| !issuer_ok(i)) {
        check.add("issuer_url", "The issuer address must be an https:// address (http:// only on this machine), e.g. https://login.example.org/realms/uni.");
    }
    let client_id = check.required::<500>(
        "client_id",
        &f.client_id,
        "Give the client id the provider registered for triage.",
    );
    let secret = check.text::<500>("client_secret", &f.client_secret);
    let domain = check.text::<253>("email_domain", &f.email_domain);
    let domain = domain.map(|d| d.to_lowercase()).filter(|d| !d.is_empty());
    if domain.as_deref().is_some_and(|d| !domain_ok(d)) {
        check.add(
            "email_domain",
            "Give a domain like example.org, or leave it empty to accept any address.",
        );
    }
    let settings = match (&issuer, &client_id) {
        (Some(issuer), Some(client_id)) if check.is_empty() => Some(ProviderSettings {
            issuer_url: issuer.as_str().trim_end_matches('/'),
            client_id: client_id.as_str(),
            client_secret: secret
                .as_ref()
                .map(|s| s.as_str())
                .filter(|s| !s.is_empty()),
            email_domain: domain.as_deref(),
            create_accounts: f.create_accounts.is_some(),
        }),
        _ => None,
    };
    let saved = match &settings {
        Some(p) => db::identity::save(&mut tx, id, p).await?,
        None => false,
    };
    if !saved {
        tx.rollback().await?;
        let mut errors = check.into_errors();
        if errors.is_empty() {
            errors.push(FieldError::new(
                "client_secret",
                "Give the client secret the provider issued for triage.",
            ));
        }
        let typed = SsoForm {
            client_secret: String::new(),
            ..f
        };
        let p = page(&state, &s, institution, None, Some(typed), errors, None).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    let p = settings.expect("saved settings");
    db::audit::record(&mut tx, &s.actor(), Entry {
        action: "admin.sso_save",
        assessment_id: None,
        project_id: None,
        summary: format!("Single sign-on of {}: issuer {}, client {}", institution.name, p.issuer_url, p.client_id),
        details: serde_json::json!({ "institution": id, "issuer": p.issuer_url, "client_id": p.client_id, "secret_changed": p.client_secret.is_some(), "email_domain": p.email_domain, "create_accounts": p.create_accounts }),
    })
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/institutions/{id}?notice=sso_saved")).into_response())
}
