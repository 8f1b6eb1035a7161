//! The `triage` binary as a user runs it: the embedded PostgreSQL, migrate,
//! import-register, health checks and graceful shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use common::process::{free_port, http_get, scratch_dir, serve, terminate, triage};
use common::{TestApp, TestDb};

fn postmaster_running(data: &Path) -> bool {
    data.join("postgres")
        .join("cluster")
        .join("postmaster.pid")
        .exists()
        || std::fs::read_dir(data.join("postgres"))
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().join("postmaster.pid").exists())
            })
            .unwrap_or(false)
}

#[test]
fn serve_without_configuration_starts_and_stops_its_own_postgres_and_reuses_it() {
    let data = scratch_dir();
    for round in 0..2 {
        let port = free_port();
        let mut child = serve(port, &[("TRIAGE_DATA_DIR", data.as_os_str())]);
        let (status, page) = http_get(port, "/").expect("home page");
        assert_eq!(status, 200, "round {round}");
        assert!(page.contains("Research areas by colour"));
        let (status, page) = http_get(port, "/rulebook").expect("rulebook");
        assert_eq!(status, 200);
        assert!(page.contains("Rules"));
        let (status, _) = http_get(port, "/projects").expect("projects");
        assert_eq!(status, 303, "cases need a signed-in user");
        let exit = terminate(&mut child);
        assert!(exit.success(), "round {round}: graceful exit, got {exit}");
        assert!(
            !postmaster_running(&data),
            "round {round}: the embedded PostgreSQL is stopped on shutdown"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn migrate_and_import_register_work_from_the_shell() {
    let db = TestDb::new().await;
    let out = triage()
        .arg("migrate")
        .env("DATABASE_URL", db.url())
        .output()
        .expect("migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));

    let dir = scratch_dir();
    let csv = dir.join("register.csv");
    std::fs::write(
        &csv,
        "name,aliases,city,province,kind,flags,note,source,as_of\n\
         Example Defence Institute,EDI,Xi'an,Shaanxi,defence_affiliated,military_links|restricted_list,Test entry,Test list,2026-10\n\
         Fudan University,,Shanghai,Shanghai,university,,,general,2026-10\n",
    )
    .expect("csv");
    let out = triage()
        .arg("import-register")
        .arg(&csv)
        .env("DATABASE_URL", db.url())
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2 entries of the Curated register"),
        "{stdout}"
    );
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM register_entries ORDER BY position")
            .fetch_all(&db.pool)
            .await
            .expect("entries");
    assert_eq!(names, ["Example Defence Institute", "Fudan University"]);

    // A bad file names its line and changes nothing.
    std::fs::write(
        &csv,
        "name,aliases,city,province,kind,flags,note,source,as_of\n,,,,university,,,,\n",
    )
    .expect("csv");
    let out = triage()
        .arg("import-register")
        .arg(&csv)
        .env("DATABASE_URL", db.url())
        .output()
        .expect("import");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM register_entries")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(n, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_imported_register_is_used_by_running_servers() {
    let app = TestApp::new().await;
    let r = app
        .get("/register/match?name=Example%20Defence%20Institute")
        .await;
    r.assert_contains("no entry found");
    let dir = scratch_dir();
    let csv = dir.join("register.csv");
    std::fs::write(
        &csv,
        "name,aliases,city,province,kind,flags,note,source,as_of\n\
         Example Defence Institute,EDI,Xi'an,Shaanxi,defence_affiliated,restricted_list,Test entry,Test list,2026-10\n",
    )
    .expect("csv");
    let out = triage()
        .arg("import-register")
        .arg(&csv)
        .env("DATABASE_URL", app.db.url())
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = app
        .get("/register/match?name=example%20defence%20institute")
        .await;
    r.assert_contains("Test list");
    let r = app
        .post_json(
            "/api/v1/evaluate",
            r#"{"answers": {"area": "green_development", "partner_name": "EDI"}}"#,
        )
        .await;
    assert_eq!(r.json()["verdict"], "red");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plain HTTP/1.0 POST of JSON.
fn http_post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

fn verdict_of(port: u16, partner: &str) -> String {
    let body =
        serde_json::json!({ "answers": { "area": "green_development", "partner_name": partner } })
            .to_string();
    let (status, response) = http_post_json(port, "/api/v1/evaluate", &body).expect("evaluate");
    assert_eq!(status, 200, "{response}");
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
    value["verdict"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_official_list_imported_from_the_shell_turns_the_next_evaluation_red_on_a_running_server()
 {
    let db = TestDb::new().await;
    let port = free_port();
    let url = db.url();
    let mut child = serve(port, &[("DATABASE_URL", std::ffi::OsStr::new(&url))]);
    let alias = "Shenzhen Example Photonics";
    let chinese = "深圳示例光电科技有限公司";
    assert_ne!(verdict_of(port, alias), "red");
    assert_ne!(verdict_of(port, &format!("{chinese}研发中心")), "red");

    // The Consolidated Screening List exactly as published (header and columns).
    let header = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids";
    let row = format!(
        "abc123,Entity List (EL) - Bureau of Industry and Security,,,EAR,Example Photonics Technology Co. Ltd.,,\"1 Example Road, Nanshan District, Shenzhen, Guangdong, CN\",90 FR 14046,2025-03-25,,Y,For all items subject to the EAR.,Presumption of denial.,,,,,,,,https://www.trade.gov/consolidated-screening-list,\"{alias}; {chinese}\",,,,,https://www.bis.gov/entity-list,"
    );
    let person = "p1,Specially Designated Nationals (SDN) - Treasury Department,,Individual,SDGT,\"WANG, Example\",,,,2020-01-01,,,,,,,,,,,,,,,1970-01-01,CN,,,";
    let dir = scratch_dir();
    let file = dir.join("consolidated.csv");
    std::fs::write(&file, format!("{header}\n{row}\n{person}\n")).expect("csv");
    let out = triage()
        .arg("import-register")
        .arg(&file)
        .env("DATABASE_URL", db.url())
        .output()
        .expect("import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 1 entries of the US Consolidated Screening List"),
        "{stdout}"
    );
    assert!(stdout.contains("skipped 1 people"), "{stdout}");

    // The running server uses it at once: by alias, and by Chinese name with a department.
    assert_eq!(verdict_of(port, alias), "red");
    assert_eq!(verdict_of(port, &format!("{chinese}研发中心")), "red");
    // The curated register still matches.
    assert_eq!(
        verdict_of(port, "Harbin Institute of Technology, School of Physics"),
        "red"
    );
    let curated: i64 =
        sqlx::query_scalar("SELECT count(*) FROM register_entries WHERE list = 'curated'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert!(curated > 30);
    assert!(terminate(&mut child).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    app.state.pool().close().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn a_bad_rulebook_file_is_refused_at_start_naming_the_entry() {
    let dir = scratch_dir();
    let bad = dir.join("rulebook.toml");
    let text = triage::state::DEFAULT_RULEBOOK.replacen(
        "resolved_by = [\"",
        "resolved_by = [\"no_such_mitigation\", \"",
        1,
    );
    std::fs::write(&bad, text).expect("write");
    let out = triage()
        .arg("migrate")
        .env("TRIAGE_RULEBOOK", &bad)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_mitigation"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_embedded_postgres_is_created_once_reused_and_stopped() {
    use sqlx::Connection;
    use triage::db::embedded::EmbeddedPostgres;

    let data = scratch_dir();
    let first = EmbeddedPostgres::start(&data).await.expect("cold start");
    assert!(first.started_here());
    first.ensure_database("triage").await.expect("create");
    first.ensure_database("triage").await.expect("idempotent");
    let mut conn = sqlx::PgConnection::connect_with(&first.connect_options("triage"))
        .await
        .expect("connect");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(one, 1);
    drop(conn);

    // A second process finds it running and leaves it running.
    let second = EmbeddedPostgres::start(&data).await.expect("warm start");
    assert!(!second.started_here());
    second.stop().await.expect("no-op stop");
    assert!(postmaster_running(&data));

    first.stop().await.expect("stop");
    assert!(!postmaster_running(&data));

    // The files are reused on the next start: the database is still there.
    let again = EmbeddedPostgres::start(&data).await.expect("restart");
    assert!(again.started_here());
    let mut conn = sqlx::PgConnection::connect_with(&again.connect_options("triage"))
        .await
        .expect("database kept");
    let _: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    drop(conn);
    again.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn concurrent_starts_on_a_new_data_directory_both_succeed() {
    use triage::db::embedded::EmbeddedPostgres;
    let data = scratch_dir();
    let (a, b) = tokio::join!(
        EmbeddedPostgres::start(&data),
        EmbeddedPostgres::start(&data)
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert!(
        a.started_here() != b.started_here(),
        "exactly one of them started it"
    );
    a.ensure_database("x").await.expect("usable");
    b.stop().await.expect("stop");
    a.stop().await.expect("stop");
    assert!(!postmaster_running(&data));
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn accounts_and_institutions_are_set_up_from_the_shell() {
    use std::io::Write as _;
    let db = TestDb::new().await;
    let run = |args: &[&str], stdin: &str| {
        let mut child = triage()
            .args(args)
            .env("DATABASE_URL", db.url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("output")
    };
    let out = run(&["institution", "add", "Universiteit Leiden"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "user",
            "add",
            "--email",
            "Officer@Leiden.example",
            "--name",
            "An Officer",
            "--role",
            "officer",
            "--institution",
            "universiteit leiden",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "user",
            "add",
            "--email",
            "admin@leiden.example",
            "--name",
            "Admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "another long password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Mistakes are refused with a message.
    let out = run(
        &[
            "user",
            "add",
            "--email",
            "x@leiden.example",
            "--name",
            "X",
            "--role",
            "officer",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("institution"));
    let out = run(
        &[
            "user",
            "add",
            "--email",
            "y@leiden.example",
            "--name",
            "Y",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("12 characters"));
    let out = run(&["institution", "add", "UNIVERSITEIT LEIDEN"], "");
    assert!(!out.status.success(), "duplicate institution");

    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT u.email, u.role, i.name FROM users u LEFT JOIN institutions i ON i.id = u.institution_id ORDER BY u.email",
    )
    .fetch_all(&db.pool)
    .await
    .expect("users");
    assert_eq!(
        rows,
        [
            ("admin@leiden.example".to_owned(), "admin".to_owned(), None),
            (
                "officer@leiden.example".to_owned(),
                "officer".to_owned(),
                Some("Universiteit Leiden".to_owned())
            ),
        ]
    );
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'admin@leiden.example'")
            .fetch_one(&db.pool)
            .await
            .expect("hash");
    assert!(hash.starts_with("$argon2id$"));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor_email LIKE 'shell:%'")
            .fetch_one(&db.pool)
            .await
            .expect("audit");
    assert_eq!(audited, 3);
}
