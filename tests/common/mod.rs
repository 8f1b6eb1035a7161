//! Test harness: a fresh PostgreSQL database per test (on DATABASE_URL's server, or
//! on the embedded PostgreSQL under ./data when it is unset), the real router, and
//! small helpers to send requests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use uuid::Uuid;

use triage::db::embedded::EmbeddedPostgres;
use triage::domain::rulebook::Rulebook;
use triage::state::{AppState, DEFAULT_RULEBOOK};

/// Connection options of the server the test databases are created on.
async fn server() -> PgConnectOptions {
    static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                return url
                    .parse::<PgConnectOptions>()
                    .expect("DATABASE_URL is not a PostgreSQL URL");
            }
            // The same embedded PostgreSQL the application uses; it is left running for the next run.
            let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
            std::fs::create_dir_all(&data).expect("creating ./data");
            let pg = EmbeddedPostgres::start(&data).await.unwrap_or_else(|e| {
                panic!("no DATABASE_URL and the embedded PostgreSQL failed: {e}")
            });
            pg.connect_options("postgres")
        })
        .await
        .clone()
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    server: PgConnectOptions,
}

impl TestDb {
    pub async fn new() -> Self {
        let server = server().await;
        let name = format!("triage_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&server)
            .await
            .expect("connecting to the test server");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("creating the test database");
        admin.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(server.clone().database(&name))
            .await
            .expect("connecting to the test database");
        TestDb { pool, name, server }
    }

    /// The connection URL of this database, for running the binary against it.
    pub fn url(&self) -> String {
        match std::env::var("DATABASE_URL") {
            Ok(url) => with_database(&url, &self.name),
            Err(_) => format!(
                "postgres://{}@localhost:{}/{}?host={}",
                self.server.get_username(),
                self.server.get_port(),
                self.name,
                self.server.get_socket().map_or_else(
                    || self.server.get_host().to_owned(),
                    |p| p.display().to_string()
                ),
            ),
        }
    }
}

/// The same URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async; a short-lived thread with its own runtime removes the database.
        // FORCE ends this test's connections server-side: closing the pool here would wait
        // on the test's own runtime, which is blocked in this very drop.
        let server = self.server.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut admin) = PgConnection::connect_with(&server).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

/// The application on a fresh database.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: Arc<TestDb>,
}

/// A response with its body read.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    #[track_caller]
    pub fn assert_contains(&self, needle: &str) {
        assert!(
            self.body.contains(needle),
            "expected {needle:?} in the page:\n{}",
            self.body
        );
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_rulebook(DEFAULT_RULEBOOK).await
    }

    pub async fn with_rulebook(text: &str) -> Self {
        Self::on_database(Arc::new(TestDb::new().await), text).await
    }

    /// A second app server on the same database, with another rulebook.
    pub async fn with_rulebook_on(other: &TestApp, text: &str) -> Self {
        Self::on_database(other.db.clone(), text).await
    }

    async fn on_database(db: Arc<TestDb>, text: &str) -> Self {
        let rulebook = Rulebook::parse(text).expect("rulebook");
        let state = AppState::prepare(db.pool.clone(), rulebook)
            .await
            .expect("preparing the state");
        TestApp {
            router: triage::app(state.clone()),
            state,
            db,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> TestResponse {
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .expect("request"),
        )
        .await
    }

    /// Creates a project through the form and returns its id.
    pub async fn create_project(&self, title: &str) -> String {
        let r = self
            .post_form(
                "/projects",
                &[
                    ("title", title),
                    ("lead_researcher", "Dr. Ana Test"),
                    ("summary", "A test project."),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = r
            .location()
            .trim_start_matches("/projects/")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        assert!(!id.is_empty(), "no project id in {}", r.location());
        id
    }

    /// Starts an assessment of a project and returns its id.
    pub async fn start_assessment(&self, project_id: &str) -> String {
        let r = self
            .post_form(&format!("/projects/{project_id}/assessments"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        r.location()
            .trim_start_matches("/assessments/")
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned()
    }

    /// The current lock version of an assessment, as the form would carry it.
    pub async fn lock_version(&self, assessment_id: &str) -> String {
        let id: Uuid = assessment_id.parse().expect("uuid");
        let v: i32 = sqlx::query_scalar("SELECT lock_version FROM assessments WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db.pool)
            .await
            .expect("lock version");
        v.to_string()
    }

    /// Saves one step with `_action=next`, asserting success.
    pub async fn save_step(
        &self,
        assessment_id: &str,
        step: usize,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let version = self.lock_version(assessment_id).await;
        let mut all: Vec<(&str, &str)> = vec![("_version", version.as_str()), ("_action", "next")];
        all.extend_from_slice(fields);
        self.post_form(&format!("/assessments/{assessment_id}/steps/{step}"), &all)
            .await
    }
}
