//! The findings of the reliability drills of issue 9: shutdown, a stuck database,
//! stale decisions, session-store errors and start-up, each with a test that failed
//! before its fix. The drills themselves (timings under load) are in bench/, not here.

mod common;

use std::io::Write as _;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::process::{free_port, http_get, http_raw, serve, terminate, triage};
use common::{TestApp, TestDb};

/// `triage serve` as deployed with two roles: migrations as the owner, requests as the
/// app's role; with more settings from the environment.
fn serve_as_app(db: &TestDb, port: u16, settings: &[(&str, &str)]) -> std::process::Child {
    let (app, owner) = (db.app_url(), db.url());
    let mut all: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("DATABASE_URL", app.as_ref()),
        ("DATABASE_MIGRATION_URL", owner.as_ref()),
    ];
    all.extend(settings.iter().map(|(k, v)| (*k, std::ffi::OsStr::new(*v))));
    serve(port, &all)
}

/// Holds an exclusive lock on a table until dropped (the transaction is then rolled back).
async fn lock_table(db: &TestDb, table: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = db.pool.begin().await.expect("begin");
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut *tx)
        .await
        .expect("lock");
    tx
}

// ----- 11. shutdown within the grace period -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_within_its_grace_period_even_with_a_request_stuck_on_a_lock() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = serve_as_app(
        &db,
        port,
        &[
            ("TRIAGE_SHUTDOWN_GRACE_SECS", "2"),
            // Long enough that only the grace period can end the stuck request.
            ("DATABASE_LOCK_TIMEOUT_SECS", "120"),
            ("DATABASE_STATEMENT_TIMEOUT_SECS", "120"),
            ("TRIAGE_REQUEST_TIMEOUT_SECS", "120"),
        ],
    );
    let lock = lock_table(&db, "rulebook_activations").await;
    // The home page reads the active rulebook, so it waits on the lock.
    let stuck = std::thread::spawn(move || http_get(port, "/"));
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let status = terminate(&mut child);
    let took = started.elapsed();
    drop(lock);
    let _ = stuck.join();
    assert!(
        took < Duration::from_secs(7),
        "stopped {took:?} after SIGTERM with a 2 s grace period ({status})"
    );
}

// ----- 12. a stuck database -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_database_gives_a_rendered_503_with_retry_after_within_the_timeout() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = serve_as_app(&db, port, &[("DATABASE_LOCK_TIMEOUT_SECS", "2")]);
    assert_eq!(http_get(port, "/healthz/live").map(|r| r.0), Some(200));
    assert_eq!(http_get(port, "/healthz/ready").map(|r| r.0), Some(200));
    let lock = lock_table(&db, "rulebook_activations").await;
    let started = Instant::now();
    let (status, page) = tokio::task::spawn_blocking(move || {
        http_raw(
            port,
            b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
            Duration::from_secs(20),
        )
    })
    .await
    .expect("join")
    .expect("an answer");
    let took = started.elapsed();
    drop(lock);
    assert_eq!(status, 503, "{page}");
    assert!(took < Duration::from_secs(8), "answered after {took:?}");
    let lower = page.to_lowercase();
    assert!(lower.contains("retry-after:"), "{page}");
    assert!(lower.contains("content-security-policy:"), "{page}");
    assert!(page.contains("<h1>"), "a rendered page: {page}");
    // Recovery: the next request is served normally.
    assert_eq!(http_get(port, "/").map(|r| r.0), Some(200));
    assert!(terminate(&mut child).success());
}

#[tokio::test]
async fn readiness_needs_the_database_and_liveness_does_not() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/healthz/live", "/healthz/ready"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    app.state.pool().close().await;
    assert_eq!(app.get("/healthz/live").await.status, StatusCode::OK);
    for path in ["/healthz", "/healthz/ready"] {
        assert_eq!(
            app.get(path).await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
}

// ----- 14. a stale decision -----

#[tokio::test]
async fn a_decision_made_from_a_stale_page_is_refused_with_409() {
    let app = TestApp::new().await;
    let case = app.submitted_case("Stale").await;
    let (_, reviewer1) = app.signed_in("reviewer", None).await;
    let (_, reviewer2) = app.signed_in("reviewer", None).await;
    // Reviewer 1 opens the case: the decision form carries the version seen.
    let page = reviewer1.get(&format!("/assessments/{case}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let seen = app.lock_version(&case).await;
    if let Some(form) = page.body.split("/decision\"").nth(1) {
        assert!(form.contains(&format!("name=\"_version\" value=\"{seen}\"")));
    }
    // Reviewer 2 returns it; the officer resubmits it as Red.
    let r = reviewer2
        .post_form(
            &format!("/assessments/{case}/return"),
            &[("_version", &seen), ("message", "Please check the area.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.save_step(
        &case,
        1,
        &[("area", "quantum"), ("sub_area", "quantum_sensing")],
    )
    .await;
    app.answer_requests(&case).await;
    assert_eq!(app.submit(&case).await.status, StatusCode::SEE_OTHER);
    // Reviewer 1 presses Endorse on the old page.
    let r = reviewer1
        .post_form(
            &format!("/assessments/{case}/decision"),
            &[("_version", &seen), ("outcome", "endorse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM decisions")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(decisions, 0);
    // From a fresh page it goes through.
    let fresh = app.lock_version(&case).await;
    let r = reviewer1
        .post_form(
            &format!("/assessments/{case}/decision/confirm"),
            &[("_version", &fresh), ("outcome", "endorse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

// ----- 15. a database error while reading the session -----

#[tokio::test]
async fn a_database_error_while_reading_the_session_says_nothing_was_saved() {
    let app = TestApp::new().await;
    let token = app.csrf().await;
    sqlx::query("ALTER TABLE tower_sessions.session RENAME TO session_away")
        .execute(&app.db.pool)
        .await
        .expect("rename");
    let r = app
        .post_form_raw(
            "/projects",
            &[
                ("_csrf", &token),
                ("title", "Lost?"),
                ("lead_researcher", "L"),
            ],
        )
        .await;
    sqlx::query("ALTER TABLE tower_sessions.session_away RENAME TO session")
        .execute(&app.db.pool)
        .await
        .expect("rename back");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(!r.body.contains("expired"), "{}", r.body);
    r.assert_contains("Nothing was saved");
    assert!(r.headers.contains_key("retry-after"));
}

// ----- 16. start-up -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_on_an_empty_database_all_come_up() {
    for round in 0..3 {
        let db = TestDb::empty().await;
        let mut starts = Vec::new();
        for _ in 0..4 {
            // As `triage serve` does: migrate as the owner, then start as the app's role.
            let (owner, app) = (db.pool.clone(), db.app_pool().await);
            starts.push(tokio::spawn(async move {
                triage::db::migrate(&owner).await?;
                let rulebook =
                    triage::domain::rulebook::Rulebook::parse(triage::state::DEFAULT_RULEBOOK)
                        .expect("rulebook");
                triage::state::AppState::prepare(
                    app,
                    rulebook,
                    triage::state::RuntimeConfig::default(),
                )
                .await
                .map(|_| ())
            }));
        }
        for (i, started) in futures_util::future::join_all(starts)
            .await
            .into_iter()
            .enumerate()
        {
            started
                .expect("join")
                .unwrap_or_else(|e| panic!("round {round}, server {i}: {e:#}"));
        }
    }
}

#[test]
fn a_database_that_is_down_at_start_is_named_with_its_cause_after_retrying() {
    let port = free_port();
    let started = Instant::now();
    let out = triage()
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/triage"),
        )
        .env("DATABASE_CONNECT_RETRY_SECS", "3")
        .output()
        .expect("run");
    let took = started.elapsed();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(
        took >= Duration::from_secs(2),
        "it retried for a while: {took:?}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_comes_up_late_is_waited_for() {
    let db = TestDb::new().await;
    let real: sqlx::postgres::PgConnectOptions = db.url().parse().expect("url");
    let (real_host, real_port) = (real.get_host().to_owned(), real.get_port());
    if real.get_socket().is_some() {
        eprintln!("SKIPPED: the test database is on a Unix socket");
        return;
    }
    let port = free_port();
    let url = db
        .url()
        .replacen(&format!(":{real_port}/"), &format!(":{port}/"), 1);
    let child = triage()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("DATABASE_CONNECT_RETRY_SECS", "30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The database "comes up" after eight seconds (longer than one connection attempt
    // waits): a forwarder to the real server.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let forward = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = format!("{real_host}:{real_port}");
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("output");
    forward.abort();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ----- 8. header-read timeout (a slow client) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = serve_as_app(&db, port, &[("TRIAGE_HEADER_READ_TIMEOUT_SECS", "2")]);
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let started = Instant::now();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .expect("write");
        // One header byte every half second, never the end of the headers.
        while started.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(500));
            if stream.write_all(b"X").is_err() {
                return started.elapsed();
            }
            let _ = stream.flush();
        }
        started.elapsed()
    })
    .await
    .expect("join");
    assert!(
        closed_after < Duration::from_secs(8),
        "the connection stayed open {closed_after:?}"
    );
    assert!(terminate(&mut child).success());
}

// ----- 9. security headers on responses made before routing -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uri_and_header_limits_answer_with_the_security_headers() {
    let db = TestDb::new().await;
    let port = free_port();
    let url = db.url();
    let mut child = serve(port, &[("DATABASE_URL", url.as_ref())]);
    let long_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let big_headers = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{}\r\n",
        (0..40)
            .map(|i| format!("X-Filler-{i}: {}\r\n", "b".repeat(2_000)))
            .collect::<String>()
    );
    for (expected, request) in [(414, long_uri), (431, big_headers)] {
        let (status, response) = tokio::task::spawn_blocking(move || {
            http_raw(port, request.as_bytes(), Duration::from_secs(10))
        })
        .await
        .expect("join")
        .expect("an answer");
        assert_eq!(status, expected, "{response}");
        let lower = response.to_lowercase();
        assert!(lower.contains("content-security-policy:"), "{response}");
        assert!(
            lower.contains("x-content-type-options: nosniff"),
            "{response}"
        );
    }
    assert!(terminate(&mut child).success());
}
