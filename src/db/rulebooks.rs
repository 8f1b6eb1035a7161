//! Rulebook versions, which of them is active, the simulations run before activating
//! one, and the areas table derived from the active one.

use futures_util::stream::BoxStream;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::answers::Answers;
use crate::domain::compare::{FindingBrief, SimulationReport};
use crate::domain::rulebook::{Colour, Rulebook};
use crate::domain::verdict::RegisterHit;

/// Records a rulebook version; true when it was not stored before.
pub async fn record(
    executor: impl PgExecutor<'_>,
    rulebook: &Rulebook,
    uploaded_by: Option<Uuid>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO rulebooks (version, name, title, content_hash, source_text, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING",
    )
    .bind(rulebook.version())
    .bind(rulebook.name())
    .bind(rulebook.title())
    .bind(rulebook.content_hash())
    .bind(rulebook.source_text())
    .bind(uploaded_by)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The stored text of a rulebook version.
pub async fn source_text(pool: &PgPool, version: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT source_text FROM rulebooks WHERE version = $1")
        .bind(version)
        .fetch_optional(pool)
        .await
}

/// An activation: its id is the revision app servers compare.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Activation {
    pub id: i64,
    pub version: String,
}

const NEWEST: &str = "SELECT id, version FROM rulebook_activations ORDER BY id DESC LIMIT 1";

/// The active rulebook: the newest activation, if any.
pub async fn active(executor: impl PgExecutor<'_>) -> sqlx::Result<Option<Activation>> {
    sqlx::query_as(NEWEST).fetch_optional(executor).await
}

/// Serialises activations until the transaction ends (other servers still read the
/// active version meanwhile), and returns the activation current under the lock.
pub async fn lock_active(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<Option<Activation>> {
    // An advisory lock, not a table lock: the app's role may only insert activations.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('triage.rulebook-activation'))")
        .execute(&mut **tx)
        .await?;
    active(&mut **tx).await
}

/// Whether a version has ever been active.
pub async fn was_ever_active(
    tx: &mut Transaction<'_, Postgres>,
    version: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM rulebook_activations WHERE version = $1)")
        .bind(version)
        .fetch_one(&mut **tx)
        .await
}

/// Makes a recorded version the active one and its areas the current ones. Call with
/// the lock of `lock_active` held, in the transaction that audits it.
pub async fn activate(
    tx: &mut Transaction<'_, Postgres>,
    rulebook: &Rulebook,
    by: Option<Uuid>,
    simulation: Option<i64>,
    reason: &str,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO rulebook_activations (version, activated_by, simulation_id, reason)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(rulebook.version())
    .bind(by)
    .bind(simulation)
    .bind(reason)
    .fetch_one(&mut **tx)
    .await?;
    refresh_areas(tx, rulebook).await?;
    Ok(id)
}

/// The areas table follows the active rulebook, for filtering and reporting in SQL.
async fn refresh_areas(
    tx: &mut Transaction<'_, Postgres>,
    rulebook: &Rulebook,
) -> sqlx::Result<()> {
    for (position, area) in rulebook.areas().iter().enumerate() {
        sqlx::query(
            "INSERT INTO areas (code, name, colour, position) VALUES ($1, $2, $3, $4)
             ON CONFLICT (code) DO UPDATE SET name = $2, colour = $3, position = $4",
        )
        .bind(&area.code)
        .bind(&area.name)
        .bind(area.colour.code())
        .bind(position as i32)
        .execute(&mut **tx)
        .await?;
        for (sub_position, sub) in area.sub_areas.iter().enumerate() {
            sqlx::query(
                "INSERT INTO sub_areas (code, area_code, name, colour, dual_use, position)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE
                 SET area_code = $2, name = $3, colour = $4, dual_use = $5, position = $6",
            )
            .bind(&sub.code)
            .bind(&area.code)
            .bind(&sub.name)
            .bind(sub.colour.code())
            .bind(sub.dual_use)
            .bind(sub_position as i32)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// A stored version, for the administrators' list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Version {
    pub version: String,
    pub title: String,
    pub first_loaded_at: OffsetDateTime,
    /// Who uploaded it; none for a built-in or configured rulebook.
    pub uploaded_by: Option<String>,
    /// How many assessments it computed.
    pub assessments: i64,
    /// When it was last activated, if ever.
    pub last_activated_at: Option<OffsetDateTime>,
}

pub async fn versions(pool: &PgPool) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as(
        "SELECT r.version, r.title, r.first_loaded_at, u.email AS uploaded_by,
                (SELECT count(*) FROM assessments a WHERE a.rulebook_version = r.version) AS assessments,
                (SELECT max(activated_at) FROM rulebook_activations x WHERE x.version = r.version)
                    AS last_activated_at
         FROM rulebooks r LEFT JOIN users u ON u.id = r.uploaded_by
         ORDER BY r.first_loaded_at DESC, r.version",
    )
    .fetch_all(pool)
    .await
}

/// One activation, for the history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivationRecord {
    pub id: i64,
    pub version: String,
    pub activated_by: Option<String>,
    pub simulation_id: Option<i64>,
    pub reason: String,
    pub activated_at: OffsetDateTime,
}

/// The newest activations first.
pub async fn history(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<ActivationRecord>> {
    sqlx::query_as(
        "SELECT x.id, x.version, u.email AS activated_by, x.simulation_id, x.reason, x.activated_at
         FROM rulebook_activations x LEFT JOIN users u ON u.id = x.activated_by
         ORDER BY x.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A stored simulation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Simulation {
    pub id: i64,
    pub version: String,
    pub against_activation: Option<i64>,
    pub run_by: Option<String>,
    pub run_at: OffsetDateTime,
    pub report: Json<SimulationReport>,
}

pub async fn insert_simulation(
    pool: &PgPool,
    version: &str,
    against: Option<i64>,
    by: Option<Uuid>,
    report: &SimulationReport,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO rulebook_simulations (version, against_activation, run_by, cases, changed_colour, report)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(version)
    .bind(against)
    .bind(by)
    .bind(i32::try_from(report.cases).unwrap_or(i32::MAX))
    .bind(i32::try_from(report.changed_colour).unwrap_or(i32::MAX))
    .bind(Json(report))
    .fetch_one(pool)
    .await
}

pub async fn simulation(pool: &PgPool, id: i64) -> sqlx::Result<Option<Simulation>> {
    sqlx::query_as(
        "SELECT s.id, s.version, s.against_activation, u.email AS run_by, s.run_at, s.report
         FROM rulebook_simulations s LEFT JOIN users u ON u.id = s.run_by WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A stored case as a simulation reads it: only the parts of the stored evaluation it
/// compares, extracted by PostgreSQL.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCase {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub rulebook_version: String,
    pub verdict: String,
    pub answers: Json<Answers>,
    /// Every register hit of the stored evaluation, best first.
    pub register: Json<Vec<RegisterHit>>,
    /// (code, title, severity, resolved) of each stored finding.
    pub findings: Json<Vec<(String, String, Colour, bool)>>,
}

impl StoredCase {
    pub fn findings(&self) -> Vec<FindingBrief> {
        self.findings
            .0
            .iter()
            .map(|(code, title, severity, resolved)| FindingBrief {
                code: code.clone(),
                title: title.clone(),
                severity: *severity,
                resolved: *resolved,
            })
            .collect()
    }
}

/// Every stored case, streamed by one query in one snapshot and in table order (a
/// sequential scan): rows arrive as the caller reads them, so memory stays flat. A stored
/// evaluation's findings carry long explanations; only the four fields compared are sent.
pub fn stored_cases(pool: &PgPool) -> BoxStream<'_, sqlx::Result<StoredCase>> {
    sqlx::query_as(
        "SELECT id, coalesce(title, '') AS title, status, rulebook_version, verdict, answers,
                (CASE WHEN jsonb_typeof(evaluation -> 'register') = 'object'
                      THEN jsonb_build_array(evaluation -> 'register') ELSE '[]'::jsonb END)
                  || coalesce(evaluation -> 'register_also', '[]'::jsonb) AS register,
                (SELECT coalesce(jsonb_agg(jsonb_build_array(
                            f -> 'code', f -> 'title', f -> 'severity', f -> 'resolved')), '[]')
                 FROM jsonb_array_elements(evaluation -> 'findings') f) AS findings
         FROM assessments",
    )
    .fetch(pool)
}

/// A simulation in a list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SimulationSummary {
    pub id: i64,
    pub version: String,
    pub against_activation: Option<i64>,
    pub run_by: Option<String>,
    pub run_at: OffsetDateTime,
    pub cases: i32,
    pub changed_colour: i32,
}

/// The newest simulations first.
pub async fn simulations(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<SimulationSummary>> {
    sqlx::query_as(
        "SELECT s.id, s.version, s.against_activation, u.email AS run_by, s.run_at, s.cases, s.changed_colour
         FROM rulebook_simulations s LEFT JOIN users u ON u.id = s.run_by
         ORDER BY s.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
