//! config -> tracing -> database (embedded or DATABASE_URL) -> migrate -> serve.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tracing_subscriber::EnvFilter;

use std::net::SocketAddr;

use triage::config::{
    Cli, Command, DatabaseArgs, InstitutionCommand, RulebookCommand, UserCommand,
};
use triage::db::audit::{Actor, Entry};
use triage::db::embedded::EmbeddedPostgres;
use triage::domain::account::NewUserInput;
use triage::domain::rulebook::Rulebook;
use triage::state::{AppState, DEFAULT_RULEBOOK, RuntimeConfig};
use triage::{app, db};

/// How the server treats connections.
struct Timing {
    header_read: Duration,
    shutdown_grace: Duration,
}

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
    if let Some(Command::Rulebook(RulebookCommand::Diff { file })) = &cli.command {
        // A bad candidate is refused before a database is started or reached.
        read_candidate(file)?;
    }
    let rulebook = load_rulebook(&cli.database)?;
    let args = &cli.database;
    if let Some(slots) = args.hash_concurrency {
        triage::auth::limit_hash_concurrency(slots);
    }
    if let Some(Command::Migrate) = &cli.command {
        return migrate_only(args).await;
    }
    let (pool, embedded) = connect(args).await?;
    let runtime = RuntimeConfig {
        trust_proxy: args.trust_proxy,
        trusted_proxies: args.trusted_proxies.clone(),
        bench_routes: args.bench_routes,
        secure_cookies: args
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        request_timeout_secs: args.request_timeout_secs.max(1),
        session_idle_secs: args.session_idle_minutes.max(1) * 60,
        session_lifetime_secs: args.session_lifetime_hours.max(1) * 3600,
        mail: triage::mail::MailSettings {
            smtp_url: args.smtp_url.as_ref().map(|s| s.expose().to_owned()),
            from: args.mail_from.clone(),
            public_url: args
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", cli.bind)),
            digest_hour: args.mail_digest_hour,
        },
        attachments: triage::state::AttachmentSettings {
            dir: args
                .attachment_dir
                .clone()
                .unwrap_or_else(|| args.data_dir.join("attachments")),
            max_bytes: args.attachment_max_mb * 1024 * 1024,
        },
        ..RuntimeConfig::default()
    };
    let timing = Timing {
        header_read: Duration::from_secs(args.header_read_timeout_secs.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(pool.clone(), rulebook, cli.bind, runtime, &timing).await,
        Command::Migrate => unreachable!("handled above"),
        Command::ImportRegister { file } => import_register(&pool, rulebook, &file, runtime).await,
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            institution,
            password_stdin: _,
        }) => {
            add_user(
                &pool,
                rulebook,
                runtime,
                &email,
                &name,
                &role,
                institution.as_deref(),
            )
            .await
        }
        Command::SeedDemo { cases, seed } => seed_demo(&pool, rulebook, runtime, cases, seed).await,
        Command::Rescreen => rescreen(&pool, rulebook, runtime).await,
        Command::Institution(InstitutionCommand::Add { name }) => {
            add_institution(&pool, rulebook, runtime, &name).await
        }
        Command::Rulebook(RulebookCommand::Diff { file }) => rulebook_diff(&pool, &file).await,
    };
    // A request stuck on a lock keeps its connection: closing does not wait for it.
    if tokio::time::timeout(Duration::from_secs(2), pool.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still busy at exit; leaving them");
    }
    if let Some(pg) = embedded
        && let Err(e) = pg.stop().await
    {
        tracing::warn!(error = %e, "could not stop the embedded PostgreSQL");
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

fn parse_url(what: &str, url: &triage::config::Secret) -> anyhow::Result<PgConnectOptions> {
    url.expose()
        .parse()
        .map_err(|e| anyhow::anyhow!("{what} is not a PostgreSQL URL: {e}"))
}

/// `triage migrate`: applies the migrations as the owner (DATABASE_MIGRATION_URL, else
/// DATABASE_URL, else the embedded cluster's owner) and nothing else.
async fn migrate_only(args: &DatabaseArgs) -> anyhow::Result<()> {
    let settings = args.db_settings();
    let url = args.migration_url.as_ref().or(args.database_url.as_ref());
    let (owner, embedded) = match url {
        Some(url) => (parse_url("the migration URL", url)?, None),
        None => {
            let pg = start_embedded(args).await?;
            (pg.connect_options("triage"), Some(pg))
        }
    };
    let pool = settings.connect_owner(owner).await?;
    let result = db::migrate(&pool).await;
    pool.close().await;
    if let Some(pg) = &embedded {
        pg.ensure_app_role("triage").await?;
    }
    if let Some(pg) = embedded {
        pg.stop().await?;
    }
    result?;
    println!("migrations applied");
    Ok(())
}

async fn start_embedded(args: &DatabaseArgs) -> anyhow::Result<EmbeddedPostgres> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let pg = EmbeddedPostgres::start(&data_dir).await?;
    pg.ensure_database("triage").await?;
    tracing::info!(data = %data_dir.display(), "using the embedded PostgreSQL");
    Ok(pg)
}

/// Migrates as the owner, then connects as the app's role: DATABASE_MIGRATION_URL and
/// DATABASE_URL, or the embedded PostgreSQL's owner and `triage_web`. With DATABASE_URL
/// alone (one role for both, as older deployments have it), pending migrations are
/// applied through it.
async fn connect(args: &DatabaseArgs) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    let settings = args.db_settings();
    let (owner, app, embedded) = match &args.database_url {
        Some(url) => {
            let app = parse_url("DATABASE_URL", url)?;
            let owner = match &args.migration_url {
                Some(m) => Some(parse_url("DATABASE_MIGRATION_URL", m)?),
                None => None,
            };
            (owner, app, None)
        }
        None => {
            let pg = start_embedded(args).await?;
            (
                Some(pg.connect_options("triage")),
                pg.app_connect_options("triage"),
                Some(pg),
            )
        }
    };
    if let Some(owner) = owner {
        let pool = settings.connect_owner(owner).await?;
        let migrated = db::migrate(&pool).await;
        pool.close().await;
        migrated?;
    }
    if let Some(pg) = &embedded {
        pg.ensure_app_role("triage").await?;
    }
    let pool = settings.connect_app(app.clone()).await?;
    let pending = db::pending_migrations(&pool).await?;
    if !pending.is_empty() {
        tracing::info!(
            pending = pending.len(),
            "applying migrations through DATABASE_URL"
        );
        let owner = settings.connect_owner(app).await?;
        let migrated = db::migrate(&owner).await;
        owner.close().await;
        migrated.context(
            "DATABASE_URL may not change the schema (as it should not, when it is the app's \
             role): set DATABASE_MIGRATION_URL to the owner's URL, or run `triage migrate` with it",
        )?;
    }
    Ok((pool, embedded))
}

async fn serve(
    pool: PgPool,
    rulebook: Rulebook,
    bind: SocketAddr,
    runtime: RuntimeConfig,
    timing: &Timing,
) -> anyhow::Result<()> {
    let idle_secs = runtime.session_idle_secs;
    let state = AppState::prepare(pool, rulebook, runtime).await?;
    if let Some(link) = triage::web::setup::announce(&state).await? {
        tracing::warn!(
            "no administrator exists yet: open {link} to create the first administrator and institution (the code works once)"
        );
    }
    // Re-screening after register changes runs here, one server at a time per job.
    triage::services::rescreen::spawn_worker(state.clone());
    // Mail is sent from the outbox by every server; rows are claimed, never sent twice.
    triage::mail::sender::spawn_worker(state.pool().clone(), state.config().mail.clone())?;
    // Ended and abandoned sessions are removed hourly; any server may do it.
    let cleaner = state.pool().clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(e) = db::sessions::delete_idle(&cleaner, idle_secs).await {
                tracing::warn!(error = %e, "session cleanup failed");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    tracing::info!("triage is listening on http://{}", listener.local_addr()?);
    let router = app(state);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => serve_connection(&router, &connections, stream, peer, timing),
                Err(e) => {
                    // Out of file descriptors, usually: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut stop => break,
        }
    }
    drop(listener);
    tracing::info!(
        seconds = timing.shutdown_grace.as_secs(),
        "shutting down: finishing open requests"
    );
    tokio::select! {
        () = connections.shutdown() => tracing::info!("every open request finished"),
        () = tokio::time::sleep(timing.shutdown_grace) => {
            tracing::warn!("open requests did not finish within the grace period; stopping anyway");
        }
    }
    Ok(())
}

/// Serves one connection (HTTP/1.1) with a header-read timeout, watched for shutdown.
fn serve_connection(
    router: &axum::Router,
    connections: &hyper_util::server::graceful::GracefulShutdown,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    timing: &Timing,
) {
    use axum::extract::ConnectInfo;
    use tower::ServiceExt as _;
    let service = router.clone().map_request(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.map(axum::body::Body::new)
        },
    );
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timing.header_read)
        .serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
    let connection = connections.watch(connection);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
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
    runtime: RuntimeConfig,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("opening {}", file.display()))?;
    // Preparing the state migrates and records the rulebook, as a first start would.
    let state = AppState::prepare(pool.clone(), rulebook, runtime).await?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (imported, applied) =
        match triage::services::register::import_file(state.pool(), &bytes, &name, &shell_actor())
            .await
        {
            Ok(done) => done,
            Err(triage::services::register::ImportFailure::File(e)) => {
                anyhow::bail!("{} was not imported, nothing changed: {e}", file.display())
            }
            Err(e) => return Err(e.into()),
        };
    let d = &applied.diff;
    println!(
        "imported {} entries of the {} from {} ({}): {} added, {} changed, {} removed, {} unchanged; register revision {}",
        imported.entries.len(),
        imported.format.list().title(),
        file.display(),
        imported.format.title(),
        d.added.len(),
        d.changed.len(),
        d.removed.len(),
        d.unchanged,
        applied.revision
    );
    for (why, n) in &imported.skipped {
        println!("skipped {n} {why}");
    }
    println!("submitted cases are screened again by the running server (or at the next start)");
    Ok(())
}

async fn rescreen(pool: &PgPool, rulebook: Rulebook, runtime: RuntimeConfig) -> anyhow::Result<()> {
    let state = AppState::prepare(pool.clone(), rulebook, runtime).await?;
    let revision = db::register::revision(state.pool())
        .await?
        .unwrap_or_default();
    let mut tx = state.pool().begin().await?;
    db::screening::queue(&mut tx, revision).await?;
    tx.commit().await?;
    let started = std::time::Instant::now();
    let worker = format!("shell-{}", std::process::id());
    match triage::services::rescreen::run_next(&state, &worker).await? {
        Some(outcome) => println!(
            "screened {} cases against register revision {revision} in {:.1} s; {} changed and got a screening event",
            outcome.screened,
            started.elapsed().as_secs_f64(),
            outcome.changed
        ),
        None => println!(
            "another server is already re-screening; its progress is on the administration page"
        ),
    }
    Ok(())
}

/// Changes made from the shell are audited as the operating-system user.
fn shell_actor() -> Actor {
    Actor {
        id: None,
        email: Some(format!(
            "shell:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        )),
        address: "command line".to_owned(),
    }
}

async fn add_institution(
    pool: &PgPool,
    rulebook: Rulebook,
    runtime: RuntimeConfig,
    name: &str,
) -> anyhow::Result<()> {
    let state = AppState::prepare(pool.clone(), rulebook, runtime).await?;
    let name = name.trim();
    anyhow::ensure!(
        !name.is_empty() && name.chars().count() <= 200,
        "the name must have 1 to 200 characters"
    );
    let mut tx = state.pool().begin().await?;
    let Some(id) = db::users::insert_institution(&mut tx, name).await? else {
        anyhow::bail!("an institution named {name:?} already exists");
    };
    db::audit::record(
        &mut tx,
        &shell_actor(),
        Entry {
            action: "admin.institution_create",
            assessment_id: None,
            project_id: None,
            summary: format!("Added institution {name} (command line)"),
            details: serde_json::json!({ "institution": id, "name": name }),
        },
    )
    .await?;
    tx.commit().await?;
    println!("added institution {name} ({id})");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn add_user(
    pool: &PgPool,
    rulebook: Rulebook,
    runtime: RuntimeConfig,
    email: &str,
    name: &str,
    role: &str,
    institution: Option<&str>,
) -> anyhow::Result<()> {
    let state = AppState::prepare(pool.clone(), rulebook, runtime).await?;
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let institution_id = match institution {
        None => String::new(),
        Some(name) => {
            let all = db::users::institutions(state.pool()).await?;
            let found = all
                .iter()
                .find(|i| i.name.eq_ignore_ascii_case(name.trim()));
            found.map(|i| i.id.to_string()).with_context(|| {
                format!("no institution named {name:?}; add it with `triage institution add`")
            })?
        }
    };
    let input = NewUserInput {
        email: email.to_owned(),
        display_name: name.to_owned(),
        role: role.to_owned(),
        institution_id,
        password,
    };
    let user = input.parse().map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        anyhow::anyhow!("the account is not valid:\n  {}", lines.join("\n  "))
    })?;
    let hash = triage::auth::hash_password(user.password.clone()).await?;
    let mut tx = state.pool().begin().await?;
    let Some(id) = db::users::insert(&mut tx, &user, &hash).await? else {
        anyhow::bail!("an account with the email {} already exists", user.email);
    };
    db::audit::record(&mut tx, &shell_actor(), Entry {
        action: "admin.user_create",
        assessment_id: None,
        project_id: None,
        summary: format!("Created account {} ({}) (command line)", user.email, user.role.code()),
        details: serde_json::json!({ "user": id, "email": user.email, "role": user.role.code() }),
    })
    .await?;
    tx.commit().await?;
    println!("added {} {} ({id})", user.role.code(), user.email);
    Ok(())
}

async fn seed_demo(
    pool: &PgPool,
    rulebook: Rulebook,
    runtime: RuntimeConfig,
    cases: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let configured = rulebook.clone();
    let state = AppState::prepare(pool.clone(), rulebook, runtime).await?;
    let started = std::time::Instant::now();
    let n = triage::demo::seed(&state, &configured, cases, seed).await?;
    println!(
        "seeded {n} demo cases under rulebook {} in {:.1} s; demo accounts officer1..5@triage.demo, reviewer1..2@triage.demo, admin@triage.demo, password {:?}",
        configured.version(),
        started.elapsed().as_secs_f64(),
        triage::demo::DEMO_PASSWORD
    );
    Ok(())
}

fn read_candidate(file: &std::path::Path) -> anyhow::Result<Rulebook> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading rulebook {}", file.display()))?;
    Rulebook::parse(&text).with_context(|| format!("{} is refused", file.display()))
}

/// `triage rulebook diff FILE`: a bad file is refused naming the entries at fault; a valid
/// one is simulated over every stored case, and nothing is recorded or activated.
async fn rulebook_diff(pool: &PgPool, file: &std::path::Path) -> anyhow::Result<()> {
    let candidate = read_candidate(file)?;
    let active = db::rulebooks::active(pool)
        .await?
        .map_or_else(|| "none yet".to_owned(), |a| a.version);
    let report = triage::simulation::simulate(pool, Arc::new(candidate)).await?;
    print!("{}", triage::simulation::text_report(&report, &active));
    Ok(())
}
