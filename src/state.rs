//! Shared application state: the pool, the active rulebook and a cached register.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context as _;
use sqlx::PgPool;

use crate::db;
use crate::domain::answers::Answers;
use crate::domain::rulebook::Rulebook;
use crate::domain::verdict::{self, Evaluation, RegisterHit};
use crate::screening::{MatchQuality, Register, RegisterMatch, parse_register_csv};

/// The rulebook shipped with the program.
pub const DEFAULT_RULEBOOK: &str = include_str!("../rulebook/rulebook.toml");
/// The partner register shipped with the program, loaded on first start.
pub const DEFAULT_REGISTER: &str = include_str!("../register/partner-register.csv");

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
    /// Mark the session cookie Secure (set when served over https).
    pub secure_cookies: bool,
    /// Failed sign-ins counted within this many seconds...
    pub lockout_window_secs: i64,
    /// ...lock an account at this many...
    pub max_failures_per_account: i64,
    /// ...and an address at this many.
    pub max_failures_per_address: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            trust_proxy: false,
            secure_cookies: false,
            lockout_window_secs: 15 * 60,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
        }
    }
}

struct Inner {
    pool: PgPool,
    config: RuntimeConfig,
    rulebook: Arc<Rulebook>,
    /// The register and the import revision it was loaded at. Another app server may
    /// import a new register, so the revision is checked before each use.
    register: RwLock<(Option<i64>, Arc<Register>)>,
    /// Older rulebook versions, loaded from the database when an old assessment needs them.
    rulebooks: Mutex<HashMap<String, Arc<Rulebook>>>,
}

impl AppState {
    /// Migrates the database, records the rulebook version, loads the default register
    /// into an empty database and builds the state. Used alike by `main` and the tests.
    pub async fn prepare(
        pool: PgPool,
        rulebook: Rulebook,
        config: RuntimeConfig,
    ) -> anyhow::Result<Self> {
        db::MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
            .migrate()
            .await
            .context("creating the session table")?;
        db::rulebooks::record_active(&pool, &rulebook)
            .await
            .context("recording the rulebook version")?;
        if db::register::revision(&pool).await?.is_none() {
            let entries = parse_register_csv(DEFAULT_REGISTER.as_bytes())
                .context("the built-in partner register")?;
            let mut tx = pool.begin().await?;
            db::register::replace_all(&mut tx, &entries, "built-in partner-register.csv").await?;
            tx.commit().await?;
            tracing::info!(
                entries = entries.len(),
                "loaded the built-in partner register"
            );
        }
        let revision = db::register::revision(&pool).await?;
        let register = Register::new(db::register::load_all(&pool).await?);
        let rulebook = Arc::new(rulebook);
        let rulebooks = HashMap::from([(rulebook.version().to_owned(), rulebook.clone())]);
        Ok(AppState {
            inner: Arc::new(Inner {
                pool,
                config,
                rulebook,
                register: RwLock::new((revision, Arc::new(register))),
                rulebooks: Mutex::new(rulebooks),
            }),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The active rulebook: new evaluations use it.
    pub fn rulebook(&self) -> &Arc<Rulebook> {
        &self.inner.rulebook
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

    /// Screens the partner and evaluates the answers with the active rulebook.
    pub async fn evaluate(
        &self,
        answers: &Answers,
    ) -> sqlx::Result<(Evaluation, Option<RegisterMatch>)> {
        let register = self.register().await?;
        let found = answers
            .text("partner_name")
            .and_then(|name| register.find(name));
        let hit = found.as_ref().map(register_hit);
        Ok((
            verdict::evaluate(self.rulebook(), answers, hit.as_ref()),
            found,
        ))
    }
}

/// What the verdict engine needs to know of a register match.
pub fn register_hit(m: &RegisterMatch) -> RegisterHit {
    RegisterHit {
        entry: m.entry.name.clone(),
        flags: m.entry.flags.clone(),
        source: m.entry.source.clone(),
        as_of: m.entry.as_of.clone(),
        close: m.quality == MatchQuality::Close,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere never leaves the cache half-written, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
