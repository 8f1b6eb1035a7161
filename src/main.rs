//! config -> tracing -> database (embedded or DATABASE_URL) -> migrate -> serve.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tracing_subscriber::EnvFilter;

use std::net::SocketAddr;

use triage::config::{Cli, Command, DatabaseArgs};
use triage::db::embedded::EmbeddedPostgres;
use triage::domain::rulebook::Rulebook;
use triage::screening::parse_register_csv;
use triage::state::{AppState, DEFAULT_RULEBOOK};
use triage::{app, db};

/// How long open requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("triage=info,tower_http=warn")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("triage: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let rulebook = load_rulebook(&cli.database)?;
    let (pool, embedded) = connect(&cli.database).await?;
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(pool.clone(), rulebook, cli.bind).await,
        Command::Migrate => {
            db::MIGRATOR
                .run(&pool)
                .await
                .context("running migrations")?;
            println!("migrations applied");
            Ok(())
        }
        Command::ImportRegister { file } => import_register(&pool, rulebook, &file).await,
    };
    pool.close().await;
    if let Some(pg) = embedded {
        if let Err(e) = pg.stop().await {
            tracing::warn!(error = %e, "could not stop the embedded PostgreSQL");
        }
    }
    result
}

fn load_rulebook(args: &DatabaseArgs) -> anyhow::Result<Rulebook> {
    let text = match &args.rulebook {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading rulebook {}", path.display()))?,
        None => DEFAULT_RULEBOOK.to_owned(),
    };
    let rulebook = Rulebook::parse(&text)?;
    tracing::info!(version = rulebook.version(), "rulebook loaded");
    Ok(rulebook)
}

/// Connects to DATABASE_URL, or starts the embedded PostgreSQL under the data directory.
async fn connect(args: &DatabaseArgs) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    let options = PgPoolOptions::new()
        .max_connections(args.max_connections)
        .acquire_timeout(Duration::from_secs(5));
    if let Some(url) = &args.database_url {
        let pool = options
            .connect(url.expose())
            .await
            .context("connecting to DATABASE_URL")?;
        return Ok((pool, None));
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let pg = EmbeddedPostgres::start(&data_dir).await?;
    pg.ensure_database("triage").await?;
    tracing::info!(data = %data_dir.display(), "using the embedded PostgreSQL");
    let pool = options
        .connect_with(pg.connect_options("triage"))
        .await
        .context("connecting to the embedded PostgreSQL")?;
    Ok((pool, Some(pg)))
}

async fn serve(pool: PgPool, rulebook: Rulebook, bind: SocketAddr) -> anyhow::Result<()> {
    let state = AppState::prepare(pool, rulebook).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    tracing::info!("triage is listening on http://{}", listener.local_addr()?);
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = stopping.clone();
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing open requests");
        signalled.notify_one();
    });
    tokio::select! {
        result = server => result.context("serving")?,
        () = async { stopping.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("open requests did not finish in time; stopping anyway");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

async fn import_register(
    pool: &PgPool,
    rulebook: Rulebook,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let entries =
        parse_register_csv(reader).with_context(|| format!("reading {}", file.display()))?;
    // Preparing the state migrates and records the rulebook, as a first start would.
    let state = AppState::prepare(pool.clone(), rulebook).await?;
    let mut tx = state.pool().begin().await?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    db::register::replace_all(&mut tx, &entries, &name).await?;
    tx.commit().await?;
    println!(
        "imported {} register entries from {}",
        entries.len(),
        file.display()
    );
    Ok(())
}
