//! Database access: one file per table group. Functions take a pool or a
//! transaction; business rules stay in `domain`.

pub mod assessments;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod codes;
pub mod demo;
pub mod embedded;
pub mod identity;
pub mod institutions;
pub mod invitations;
pub mod mitigations;
pub mod outbox;
pub mod projects;
pub mod register;
pub mod requests;
pub mod review;
pub mod rulebooks;
pub mod screening;
pub mod sessions;
pub mod start;
pub mod tokens;
pub mod users;

/// The migrations under `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres};

/// Applies the migrations. Run as the database owner: the app's own role owns nothing.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("running database migrations")
}

/// Whether every migration of this program is applied, unchanged.
pub async fn pending_migrations(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let applied: Vec<(i64, Vec<u8>)> =
        match sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            // No table: nothing was ever migrated.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
            Err(e) => return Err(e).context("reading the applied migrations"),
        };
    let mut pending = Vec::new();
    for m in MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        match applied.iter().find(|(v, _)| *v == m.version) {
            Some((_, checksum)) if checksum.as_slice() == &*m.checksum => {}
            Some(_) => anyhow::bail!(
                "migration {} ({}) was changed after it was applied; restore the released file",
                m.version,
                m.description
            ),
            None => pending.push(format!("{} {}", m.version, m.description)),
        }
    }
    Ok(pending)
}

/// Refuses to serve a database whose migrations are behind this program.
pub async fn ensure_migrated(pool: &PgPool) -> anyhow::Result<()> {
    let pending = pending_migrations(pool).await?;
    anyhow::ensure!(
        pending.is_empty(),
        "the database lacks {} migration(s) of this release ({}): run `triage migrate` \
         as the database owner, or set DATABASE_MIGRATION_URL so that start-up does it",
        pending.len(),
        pending.join(", ")
    );
    Ok(())
}

/// Servers starting together take turns through start-up (rulebook activation, the
/// built-in register, upgrades): a session-level advisory lock on one connection, which
/// is closed afterwards so the lock can never stay behind in the pool.
pub struct StartUpLock(Option<PoolConnection<Postgres>>);

impl StartUpLock {
    pub async fn take(pool: &PgPool) -> anyhow::Result<Self> {
        let mut conn = pool.acquire().await.context("taking the start-up lock")?;
        conn.close_on_drop();
        sqlx::query("SELECT pg_advisory_lock(hashtext('triage.start-up'))")
            .execute(&mut *conn)
            .await
            .context("taking the start-up lock")?;
        Ok(StartUpLock(Some(conn)))
    }

    pub async fn release(&mut self) {
        if let Some(mut conn) = self.0.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext('triage.start-up'))")
                .execute(&mut *conn)
                .await;
        }
    }
}

/// How the app talks to PostgreSQL.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_connections: u32,
    /// A statement running longer is cancelled (the page says so, nothing is half-saved).
    pub statement_timeout: Duration,
    /// Waiting longer for a lock is given up.
    pub lock_timeout: Duration,
    /// Waiting longer for a free connection is given up.
    pub acquire_timeout: Duration,
    /// A database that does not answer at start is tried again for this long.
    pub connect_retry: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 10,
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(3),
            acquire_timeout: Duration::from_secs(3),
            connect_retry: Duration::from_secs(60),
        }
    }
}

impl Settings {
    /// The app's connections: with statement and lock timeouts, so a stuck database
    /// gives clear answers within seconds instead of tying up every connection.
    pub fn app_options(&self, options: PgConnectOptions) -> PgConnectOptions {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        options.options([
            ("statement_timeout", ms(self.statement_timeout)),
            ("lock_timeout", ms(self.lock_timeout)),
            (
                "idle_in_transaction_session_timeout",
                ms(self.statement_timeout * 6),
            ),
        ])
    }

    pub fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
    }

    /// Connects the app's pool, waiting for a database that is not up yet.
    pub async fn connect_app(&self, options: PgConnectOptions) -> anyhow::Result<PgPool> {
        wait_for(&options, self.connect_retry).await?;
        let pool = self
            .pool_options()
            .connect_with(self.app_options(options.clone()))
            .await
            .with_context(|| format!("connecting to {}", place(&options)))?;
        Ok(pool)
    }

    /// The owner's pool for migrations: no statement timeout (a migration may be long).
    pub async fn connect_owner(&self, options: PgConnectOptions) -> anyhow::Result<PgPool> {
        wait_for(&options, self.connect_retry).await?;
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("connecting to {}", place(&options)))
    }
}

/// Where a connection goes, for messages: host and port (or socket), database and user.
pub fn place(options: &PgConnectOptions) -> String {
    let at = match options.get_socket() {
        Some(socket) => format!("{} (socket)", socket.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    format!(
        "the database at {at} (database {}, user {})",
        options.get_database().unwrap_or("(default)"),
        options.get_username()
    )
}

/// Whether trying again may help: the server is down, starting or unreachable.
fn worth_retrying(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c == "57P03" || c == "53300"),
        _ => false,
    }
}

/// One connection, to see that the database answers; tries again, saying where and
/// why, until `retry_for` has passed.
async fn wait_for(options: &PgConnectOptions, retry_for: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match PgConnection::connect_with(options).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Err(e) if worth_retrying(&e) && started.elapsed() < retry_for => {
                let wait = pause.min(retry_for.saturating_sub(started.elapsed()));
                tracing::warn!(
                    "{} does not answer ({e}); trying again in {:.1} s",
                    place(options),
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                anyhow::bail!(
                    "could not connect to {}: {e}{}",
                    place(options),
                    if worth_retrying(&e) {
                        format!(" (tried for {} s)", started.elapsed().as_secs())
                    } else {
                        String::new()
                    }
                )
            }
        }
    }
}
