//! Rulebook versions: the list of stored versions and activations, uploading a
//! candidate, simulating a version over every stored case, and activating it.
//! Administrators act; reviewers may read the simulations and follow their links.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::db;
use crate::db::audit::Entry;
use crate::db::rulebooks::{ActivationRecord, Simulation, SimulationSummary, Version};
use crate::domain::account::Role;
use crate::domain::rulebook::Rulebook;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{Admin, Form, Path, Query, Upload};
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use crate::web::session::Signed;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rulebooks", get(rulebooks_get).post(rulebooks_post))
        .route("/rulebooks/simulate", post(simulate_post))
        .route("/rulebooks/simulations/{id}", get(simulation_get))
        .route("/rulebooks/simulations/{id}/activate", post(activate_post))
}

/// Who may read the pages; only administrators change anything.
fn reader(s: &Signed) -> AppResult<()> {
    s.require(&[Role::Admin, Role::Reviewer])
}

pub struct VersionView {
    pub version: Version,
    pub active: bool,
}

pub struct SimulationLine {
    pub simulation: SimulationSummary,
    /// The active rulebook changed since it ran.
    pub stale: bool,
}

#[derive(Template)]
#[template(path = "rulebooks/index.html")]
struct RulebooksPage {
    layout: Layout,
    active: String,
    versions: Vec<VersionView>,
    history: Vec<ActivationRecord>,
    simulations: Vec<SimulationLine>,
    can_manage: bool,
    /// A pasted candidate, kept when it was refused.
    text: String,
    /// Why the candidate was refused, each line naming the entry.
    problems: Vec<String>,
}

async fn rulebooks_page(
    state: &AppState,
    s: &Signed,
    text: String,
    problems: Vec<String>,
    notice_code: Option<&str>,
) -> AppResult<RulebooksPage> {
    let (active_id, active) = state.active().await?;
    let versions = db::rulebooks::versions(state.pool())
        .await?
        .into_iter()
        .map(|version| VersionView {
            active: version.version == active.version(),
            version,
        })
        .collect();
    let simulations = db::rulebooks::simulations(state.pool(), 20)
        .await?
        .into_iter()
        .map(|simulation| SimulationLine {
            stale: simulation.against_activation != Some(active_id),
            simulation,
        })
        .collect();
    Ok(RulebooksPage {
        layout: Layout::new(state, &s.ctx, "Rulebook versions", "admin")
            .with_notice(notice(notice_code)),
        active: active.version().to_owned(),
        versions,
        history: db::rulebooks::history(state.pool(), 20).await?,
        simulations,
        can_manage: s.role() == Role::Admin,
        text,
        problems,
    })
}

async fn rulebooks_get(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    reader(&s)?;
    ok(&rulebooks_page(&state, &s, String::new(), Vec::new(), q.notice.as_deref()).await?)
}

/// Evaluates every stored case under the rulebook, stores the report against the
/// activation current now, audits it, and returns the simulation's id.
async fn run_simulation(state: &AppState, s: &Signed, rulebook: Arc<Rulebook>) -> AppResult<i64> {
    let (active_id, active) = state.active().await?;
    let started = std::time::Instant::now();
    let report = crate::simulation::simulate(state.pool(), rulebook.clone()).await?;
    let id = db::rulebooks::insert_simulation(
        state.pool(),
        rulebook.version(),
        Some(active_id),
        Some(s.user.id),
        &report,
    )
    .await?;
    tracing::info!(
        version = rulebook.version(),
        cases = report.cases,
        ms = started.elapsed().as_millis() as u64,
        "rulebook simulated"
    );
    db::audit::record_alone(
        state.pool(),
        &s.actor(),
        Entry {
            action: "rulebook.simulate",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Simulated rulebook {} over {} cases: {} would change colour (active: {})",
                rulebook.version(),
                report.cases,
                report.changed_colour,
                active.version()
            ),
            details: serde_json::json!({
                "version": rulebook.version(),
                "simulation": id,
                "against": active.version(),
                "cases": report.cases,
                "changed_colour": report.changed_colour,
                "changed_reasons": report.changed_reasons,
            }),
        },
    )
    .await?;
    Ok(id)
}

/// Upload or paste a candidate: validated, stored as a version, then simulated.
async fn rulebooks_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Upload(mut multipart): Upload,
) -> AppResult<Response> {
    let (mut file, mut text) = (Vec::new(), String::new());
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("The form could not be read; send it again.".into()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|_| AppError::BadRequest("The file could not be read.".into()))?;
        match name.as_str() {
            "file" => file = bytes.to_vec(),
            "text" => text = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    let candidate = if file.is_empty() {
        Ok(text.clone())
    } else {
        String::from_utf8(file).map_err(|_| vec!["The file is not UTF-8 text.".to_owned()])
    }
    .and_then(|source| {
        if source.trim().is_empty() {
            return Err(vec!["Choose a rulebook file or paste its text.".to_owned()]);
        }
        Rulebook::parse(&source).map_err(|e| e.problems)
    });
    let rulebook = match candidate {
        Ok(rulebook) => rulebook,
        Err(problems) => {
            let page = rulebooks_page(&state, &s, text, problems, None).await?;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut tx = state.pool().begin().await?;
    if db::rulebooks::record(&mut *tx, &rulebook, Some(s.user.id)).await? {
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "rulebook.upload",
                assessment_id: None,
                project_id: None,
                summary: format!("Uploaded rulebook {}", rulebook.version()),
                details: serde_json::json!({
                    "version": rulebook.version(),
                    "title": rulebook.title(),
                    "content_hash": rulebook.content_hash(),
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    let id = run_simulation(&state, &s, Arc::new(rulebook)).await?;
    Ok(Redirect::to(&format!("/rulebooks/simulations/{id}")).into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SimulateForm {
    version: String,
}

/// Simulates a stored version again (for instance the previous one, to roll back).
async fn simulate_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Form(f): Form<SimulateForm>,
) -> AppResult<Response> {
    // A version no rulebook could have is simply not found.
    let version = Text::<200>::parse(&f.version).map_err(|_| AppError::NotFound)?;
    if db::rulebooks::source_text(state.pool(), &version)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let rulebook = state.rulebook_version(&version).await?;
    let id = run_simulation(&state, &s, rulebook).await?;
    Ok(Redirect::to(&format!("/rulebooks/simulations/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "rulebooks/simulation.html")]
struct SimulationPage {
    layout: Layout,
    simulation: Simulation,
    active: String,
    /// The active rulebook changed since the simulation ran.
    stale: bool,
    /// The simulated version is the active one.
    is_active: bool,
    can_activate: bool,
    /// Reviewers can open submitted cases; administrators see no case pages.
    link_cases: bool,
    unchanged: usize,
}

async fn simulation_of(state: &AppState, id: i64) -> AppResult<Simulation> {
    db::rulebooks::simulation(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn simulation_get(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    reader(&s)?;
    let simulation = simulation_of(&state, id).await?;
    let (active_id, active) = state.active().await?;
    let stale = simulation.against_activation != Some(active_id);
    let is_active = simulation.version == active.version();
    let report = &simulation.report.0;
    let unchanged = report.cases - report.changed_colour - report.changed_reasons;
    ok(&SimulationPage {
        layout: Layout::new(
            &state,
            &s.ctx,
            format!("Simulation of {}", simulation.version),
            "admin",
        ),
        active: active.version().to_owned(),
        stale,
        is_active,
        can_activate: s.role() == Role::Admin && !stale && !is_active,
        link_cases: s.role() == Role::Reviewer,
        unchanged,
        simulation,
    })
}

/// Activates the simulated version, in one audited transaction; refused with 409 when
/// the active rulebook changed since the simulation ran.
async fn activate_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let simulation = simulation_of(&state, id).await?;
    let rulebook = state.rulebook_version(&simulation.version).await?;
    let report = &simulation.report.0;
    let mut tx = state.pool().begin().await?;
    let current = db::rulebooks::lock_active(&mut tx).await?;
    if current.as_ref().map(|a| a.id) != simulation.against_activation {
        return Err(AppError::Conflict(format!(
            "The active rulebook changed since this simulation ran (it is now {}), so its figures \
             may no longer hold. Nothing was activated: simulate {} again and activate from the new simulation.",
            current.as_ref().map_or("none", |a| a.version.as_str()),
            simulation.version
        )));
    }
    if current.as_ref().map(|a| a.version.as_str()) == Some(simulation.version.as_str()) {
        return Err(AppError::Conflict(
            "This rulebook is already the active one; nothing was changed.".into(),
        ));
    }
    let reason = format!(
        "activated by an administrator after simulation {} ({} cases, {} changing colour)",
        simulation.id, report.cases, report.changed_colour
    );
    let activation = db::rulebooks::activate(
        &mut tx,
        &rulebook,
        Some(s.user.id),
        Some(simulation.id),
        &reason,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "rulebook.activate",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Activated rulebook {} (was {}) after simulation {}: {} of {} cases would change colour",
                simulation.version,
                current.as_ref().map_or("none", |a| a.version.as_str()),
                simulation.id,
                report.changed_colour,
                report.cases
            ),
            details: serde_json::json!({
                "version": simulation.version,
                "previous": current.as_ref().map(|a| a.version.as_str()),
                "activation": activation,
                "simulation": simulation.id,
                "cases": report.cases,
                "changed_colour": report.changed_colour,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(version = simulation.version, "rulebook activated");
    Ok(Redirect::to("/rulebooks?notice=rulebook_activated").into_response())
}
