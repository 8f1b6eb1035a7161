//! Shared application state: the pool, the active rulebook and a cached register.
//! Both the active rulebook and the register are facts in the database; each app
//! server caches them and checks a cheap revision before use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::db::cases::{DashboardFigure, Scope};

use anyhow::Context as _;
use sqlx::PgPool;

use crate::db;
use crate::db::audit::{Actor, Entry as AuditEntry};
use crate::db::screening::IdentityRow;
use crate::domain::answers::Answers;
use crate::domain::contract;
use crate::domain::rulebook::Rulebook;
use crate::domain::verdict::{
    self, Evaluation, FlagEvidence, IdentityDecision, ParentHit, RegisterHit,
};
use crate::screening::{Certainty, Entry, Hit, Register, Screening};
use crate::web::session::Network;

/// The rulebook shipped with the program (revision 2).
pub const DEFAULT_RULEBOOK: &str = include_str!("../rulebook/rulebook.toml");
/// Revision 1, kept so that it can be configured again (demonstrations, tests).
pub const RULEBOOK_R1: &str = include_str!("../rulebook/eu-knoc-2021-r1.toml");
/// The curated partner register shipped with the program, loaded on first start and
/// again when a new release ships a changed one (unless an administrator imported
/// their own curated register since).
pub const DEFAULT_REGISTER: &str = include_str!("../register/partner-register.toml");
/// The file name recorded for imports of the built-in register.
pub const BUILT_IN_REGISTER: &str = "built-in partner-register.toml";

/// Cheap to clone; everything lives behind one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// Settings that shape behaviour at run time.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Trust X-Forwarded-For for the client address (behind a known proxy only).
    pub trust_proxy: bool,
    /// Further proxies whose X-Forwarded-For entries are skipped (the peer is always trusted
    /// when `trust_proxy` is set).
    pub trusted_proxies: Vec<Network>,
    /// Served over https: Secure `__Host-` cookies and HSTS.
    pub secure_cookies: bool,
    /// A signed-in session ends after this long without a request...
    pub session_idle_secs: i64,
    /// ...and this long after signing in, whatever happens.
    pub session_lifetime_secs: i64,
    /// "Password right, waiting for the code" lasts this long.
    pub pending_secs: i64,
    /// A request that has not finished after this long gets a 503 page.
    pub request_timeout_secs: u64,
    /// Refusals (403, 404 on an id, CSRF, refused sign-ins) are audited once per kind,
    /// actor and address in a window this long; the others in it are counted.
    pub refusal_window_secs: i64,
    /// Failed sign-ins counted within this many seconds...
    pub lockout_window_secs: i64,
    /// ...lock an account at this many...
    pub max_failures_per_account: i64,
    /// ...and an address at this many.
    pub max_failures_per_address: i64,
    /// Mount the benchmark's baseline route.
    pub bench_routes: bool,
    /// How mail is sent, and the address links in mail point to.
    pub mail: crate::mail::MailSettings,
    /// Where attached files are stored, and how large they may be.
    pub attachments: AttachmentSettings,
}

/// The attachment store's settings.
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    /// The folder of the local store.
    pub dir: std::path::PathBuf,
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        AttachmentSettings {
            dir: std::path::PathBuf::from("data/attachments"),
            max_bytes: 25 * 1024 * 1024,
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            trust_proxy: false,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            session_idle_secs: 8 * 3600,
            session_lifetime_secs: 12 * 3600,
            pending_secs: 5 * 60,
            request_timeout_secs: 20,
            refusal_window_secs: 15 * 60,
            lockout_window_secs: 15 * 60,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            bench_routes: false,
            mail: crate::mail::MailSettings::default(),
            attachments: AttachmentSettings::default(),
        }
    }
}

/// How long a dashboard's figures are reused before being read again. They are
/// aggregates; a few seconds' delay is invisible to reviewers. (The signed-in user's
/// row is read from the database on every request, with the session, so signing out,
/// a disabled account or a changed role take effect at once on every app server.)
pub const DASHBOARD_CACHE: Duration = Duration::from_secs(10);

/// A small time-limited cache shared by the request handlers of one app server.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = lock(&self.entries);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = lock(&self.entries);
        // Bounded: stale entries go whenever the map grows large.
        if entries.len() > 10_000 {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
    }
}

struct Inner {
    pool: PgPool,
    config: RuntimeConfig,
    /// Attached files' bytes.
    storage: crate::storage::Storage,
    /// The installation's key for visitors' CSRF tokens, shared by every app server.
    csrf_key: Vec<u8>,
    dashboards: TtlCache<String, Arc<Vec<DashboardFigure>>>,
    /// The active rulebook and the activation it was loaded at. An administrator may
    /// activate another version on any app server, so the activation is checked before use.
    active: RwLock<(i64, Arc<Rulebook>)>,
    /// The register and the import revision it was loaded at. Another app server may
    /// import a new register, so the revision is checked before each use.
    register: RwLock<(Option<i64>, Arc<Register>)>,
    /// Older rulebook versions, loaded from the database when an old assessment needs them.
    rulebooks: Mutex<HashMap<String, Arc<Rulebook>>>,
    /// No administrator existed when last checked: pages tell visitors about the
    /// first-run setup address in the server's log. Once false it stays false.
    setup_pending: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// Records the configured rulebook (activating it when it was never active before),
    /// loads the default register into an empty database, upgrades what older releases
    /// stored, and builds the state. The database must be migrated (see
    /// [`db::migrate`]); the pool may be the app's role, which owns nothing. Servers
    /// starting together take turns under one advisory lock. Used alike by `main` and
    /// the tests.
    pub async fn prepare(
        pool: PgPool,
        rulebook: Rulebook,
        config: RuntimeConfig,
    ) -> anyhow::Result<Self> {
        db::ensure_migrated(&pool).await?;
        let mut lock = db::StartUpLock::take(&pool).await?;
        let prepared = async {
            let activation = activate_at_start(&pool, &rulebook)
                .await
                .context("recording the rulebook version")?;
            crate::services::register::ensure_built_in(&pool)
                .await
                .context("loading the built-in partner register")?;
            db::users::upgrade_recovery_codes(&pool)
                .await
                .context("upgrading stored recovery codes")?;
            let csrf_key = db::users::csrf_key(&pool)
                .await
                .context("reading the installation's CSRF key")?;
            anyhow::Ok((activation, csrf_key))
        }
        .await;
        lock.release().await;
        let (activation, csrf_key) = prepared?;
        let revision = db::register::revision(&pool).await?;
        let register = Register::new(db::register::load_all(&pool).await?);
        let storage =
            crate::storage::Storage::local(&config.attachments.dir, config.attachments.max_bytes)
                .context("opening the attachment store")?;
        let rulebook = Arc::new(rulebook);
        let rulebooks = HashMap::from([(rulebook.version().to_owned(), rulebook.clone())]);
        let setup_pending = !db::users::admin_exists(&pool).await?;
        let state = AppState {
            inner: Arc::new(Inner {
                pool,
                config,
                storage,
                csrf_key,
                dashboards: TtlCache::new(DASHBOARD_CACHE),
                // Filled by `load_active` below: the active version may be another one.
                active: RwLock::new((i64::MIN, rulebook)),
                register: RwLock::new((revision, Arc::new(register))),
                rulebooks: Mutex::new(rulebooks),
                setup_pending: std::sync::atomic::AtomicBool::new(setup_pending),
            }),
        };
        state.load_active(activation).await?;
        Ok(state)
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The attachment store.
    pub fn storage(&self) -> &crate::storage::Storage {
        &self.inner.storage
    }

    /// The key of visitors' CSRF tokens.
    pub fn csrf_key(&self) -> &[u8] {
        &self.inner.csrf_key
    }

    /// Whether no administrator existed when last checked (see [`Self::recheck_setup`]).
    pub fn setup_pending(&self) -> bool {
        self.inner
            .setup_pending
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads again whether an administrator exists, while setup is pending (an
    /// administrator may have been made from the shell or on another server).
    pub async fn recheck_setup(&self) -> sqlx::Result<bool> {
        if self.setup_pending() && db::users::admin_exists(self.pool()).await? {
            self.setup_done();
        }
        Ok(self.setup_pending())
    }

    /// The first administrator exists.
    pub fn setup_done(&self) {
        self.inner
            .setup_pending
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// The dashboard's figures for a scope, recomputed at most every few seconds.
    pub async fn dashboard(&self, scope: Scope) -> sqlx::Result<Arc<Vec<DashboardFigure>>> {
        let key = format!("{scope:?}");
        if let Some(figures) = self.inner.dashboards.get(&key) {
            return Ok(figures);
        }
        let figures = Arc::new(db::cases::dashboard(self.pool(), scope).await?);
        self.inner.dashboards.put(key, figures.clone());
        Ok(figures)
    }

    /// The active rulebook, reloaded when another app server activated a new one: new
    /// evaluations use it.
    pub async fn active_rulebook(&self) -> anyhow::Result<Arc<Rulebook>> {
        Ok(self.active().await?.1)
    }

    /// The active rulebook with the id of its activation (the revision a simulation is
    /// checked against).
    pub async fn active(&self) -> anyhow::Result<(i64, Arc<Rulebook>)> {
        let newest = db::rulebooks::active(self.pool())
            .await?
            .context("no rulebook is active")?;
        self.load_active(newest).await
    }

    async fn load_active(
        &self,
        newest: db::rulebooks::Activation,
    ) -> anyhow::Result<(i64, Arc<Rulebook>)> {
        {
            let guard = self.inner.active.read().unwrap_or_else(|e| e.into_inner());
            if guard.0 == newest.id {
                return Ok(guard.clone());
            }
        }
        let rulebook = self.rulebook_version(&newest.version).await?;
        let mut guard = self.inner.active.write().unwrap_or_else(|e| e.into_inner());
        // Activation ids only grow: never go back to an older one loaded concurrently.
        if guard.0 < newest.id {
            *guard = (newest.id, rulebook);
        }
        Ok(guard.clone())
    }

    /// The active rulebook as last loaded, without checking for a newer activation: for
    /// the page footer and for lists whose areas do not change between versions.
    pub fn rulebook_now(&self) -> Arc<Rulebook> {
        self.inner
            .active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// A rulebook by version, from the cache or the database.
    pub async fn rulebook_version(&self, version: &str) -> anyhow::Result<Arc<Rulebook>> {
        if let Some(rb) = lock(&self.inner.rulebooks).get(version) {
            return Ok(rb.clone());
        }
        let text = db::rulebooks::source_text(self.pool(), version)
            .await?
            .with_context(|| format!("rulebook version {version} is not stored"))?;
        let rulebook = Arc::new(Rulebook::parse(&text)?);
        lock(&self.inner.rulebooks).insert(version.to_owned(), rulebook.clone());
        Ok(rulebook)
    }

    /// The current partner register, reloaded when another import happened.
    pub async fn register(&self) -> sqlx::Result<Arc<Register>> {
        let revision = db::register::revision(self.pool()).await?;
        {
            let guard = self
                .inner
                .register
                .read()
                .unwrap_or_else(|e| e.into_inner());
            if guard.0 == revision {
                return Ok(guard.1.clone());
            }
        }
        let register = Arc::new(Register::new(db::register::load_all(self.pool()).await?));
        let mut guard = self
            .inner
            .register
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *guard = (revision, register.clone());
        Ok(register)
    }

    /// The register as last loaded, without checking for a newer import (for bulk work).
    pub fn register_now(&self) -> Arc<Register> {
        self.inner
            .register
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Screens a typed partner name against the current register.
    pub async fn screen(&self, typed: &str) -> sqlx::Result<(Arc<Register>, Screening)> {
        let register = self.register().await?;
        let screening = register.screen(typed);
        Ok((register, screening))
    }

    /// Screens the partner and evaluates the answers with a rulebook (the active one,
    /// fetched once by the handler so that a request uses one version throughout); no
    /// decisions of people are known (the API, a new draft).
    pub async fn evaluate(
        &self,
        rulebook: &Rulebook,
        answers: &Answers,
    ) -> sqlx::Result<(Evaluation, Option<Screening>)> {
        self.evaluate_with(rulebook, answers, &[]).await
    }

    /// Screens the partner and evaluates with a rulebook, applying what people decided
    /// about register matches on this case.
    pub async fn evaluate_with(
        &self,
        rulebook: &Rulebook,
        answers: &Answers,
        decisions: &[IdentityRow],
    ) -> sqlx::Result<(Evaluation, Option<Screening>)> {
        let screening = match answers.text(contract::PARTNER_NAME) {
            Some(name) if !name.trim().is_empty() => Some(self.screen(name).await?.1),
            _ => None,
        };
        let hits = screening
            .as_ref()
            .map(|s| register_hits(s, decisions))
            .unwrap_or_default();
        Ok((
            verdict::evaluate_screened(rulebook, answers, &hits),
            screening,
        ))
    }
}

/// What the verdict engine needs of a screening: every organisation found, with its
/// flags and their evidence, its flagged parent, and what people decided about it.
pub fn register_hits(screening: &Screening, decisions: &[IdentityRow]) -> Vec<RegisterHit> {
    screening
        .hits
        .iter()
        .map(|hit| register_hit(hit, decisions))
        .collect()
}

fn evidence(entry: &Entry) -> Vec<FlagEvidence> {
    entry
        .flags
        .iter()
        .map(|f| FlagEvidence {
            flag: f.flag.code().to_owned(),
            source: f.source.clone(),
            url: f.url.clone(),
            date: f.date.clone(),
            detail: f.detail.clone(),
        })
        .collect()
}

/// One screening hit as the verdict engine sees it.
pub fn register_hit(hit: &Hit, decisions: &[IdentityRow]) -> RegisterHit {
    let entry = &hit.entry;
    let flags: Vec<String> = entry
        .flag_kinds()
        .into_iter()
        .map(|f| f.code().to_owned())
        .collect();
    let mut sources: Vec<String> = Vec::new();
    for f in &entry.flags {
        if !sources.contains(&f.source) {
            sources.push(f.source.clone());
        }
    }
    let as_of = entry
        .flags
        .iter()
        .map(|f| f.date.clone())
        .max()
        .unwrap_or_default();
    // The nearest organisation above it that is flagged.
    let parent = hit
        .ancestors
        .iter()
        .find(|a| !a.flags.is_empty())
        .map(|a| ParentHit {
            entry_id: a.id.clone(),
            entry: a.name.clone(),
            flags: a
                .flag_kinds()
                .into_iter()
                .map(|f| f.code().to_owned())
                .collect(),
            evidence: evidence(a),
        });
    let identity = decisions
        .iter()
        .find(|d| d.entry_id == entry.id)
        .and_then(|d| {
            let decision = d.identity().ok()?;
            Some(IdentityDecision {
                decision,
                by: d.decided_by_name.clone(),
                at: d.decided_at.date().to_string(),
                reason: d.reason.clone(),
            })
        });
    RegisterHit {
        entry: entry.name.clone(),
        flags,
        source: sources.join("; "),
        as_of,
        close: matches!(hit.how, crate::screening::How::Misspelt { .. }),
        entry_id: entry.id.clone(),
        possible: hit.certainty == Certainty::Possible,
        why: hit.why.clone(),
        evidence: evidence(entry),
        parent,
        identity,
    }
}

/// Records the configured rulebook and activates it when it has never been active: on a
/// fresh database, or when a release ships a new built-in rulebook. A version that was
/// active before is not activated again, so an administrator's later choice stands.
/// Audited as the system. Concurrent start-ups are serialised by the activation lock.
async fn activate_at_start(
    pool: &PgPool,
    rulebook: &Rulebook,
) -> anyhow::Result<db::rulebooks::Activation> {
    let mut tx = pool.begin().await?;
    db::rulebooks::record(&mut *tx, rulebook, None).await?;
    let current = db::rulebooks::lock_active(&mut tx).await?;
    let version = rulebook.version();
    let reason = match &current {
        None => "no rulebook was active yet",
        Some(_) if !db::rulebooks::was_ever_active(&mut tx, version).await? => {
            "the built-in or configured rulebook of this release was never active before"
        }
        Some(active) => {
            let active = active.clone();
            tx.commit().await?;
            if active.version != version {
                tracing::info!(
                    configured = version,
                    active = active.version,
                    "the configured rulebook was active before; keeping the active one"
                );
            }
            return Ok(active);
        }
    };
    let id = db::rulebooks::activate(&mut tx, rulebook, None, None, reason).await?;
    db::audit::record(
        &mut tx,
        &Actor::system(),
        AuditEntry {
            action: "rulebook.activate",
            assessment_id: None,
            project_id: None,
            summary: format!("Activated rulebook {version} at start-up: {reason}"),
            details: serde_json::json!({
                "version": version,
                "previous": current.as_ref().map(|a| a.version.as_str()),
                "activation": id,
                "reason": reason,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(version, reason, "rulebook activated at start-up");
    Ok(db::rulebooks::Activation {
        id,
        version: version.to_owned(),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere never leaves the cache half-written, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
