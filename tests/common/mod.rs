//! Test harness: a fresh PostgreSQL database per test (on DATABASE_URL's server, or
//! on the embedded PostgreSQL under ./data when it is unset), the real router, and
//! small helpers to send requests.
#![allow(dead_code)]

pub mod maildev;
pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use uuid::Uuid;

use triage::db::embedded::EmbeddedPostgres;
use triage::domain::rulebook::Rulebook;
use triage::state::{AppState, DEFAULT_RULEBOOK, RuntimeConfig};

/// The login role the app connects as in tests: a member of `triage_app`, owning nothing.
pub const APP_LOGIN: &str = "triage_test_app";

/// Connection options of the server the test databases are created on, as a superuser
/// (the owner of every test database, who runs its migrations).
async fn server() -> PgConnectOptions {
    static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            let options = if let Ok(url) = std::env::var("DATABASE_URL") {
                url.parse::<PgConnectOptions>()
                    .expect("DATABASE_URL is not a PostgreSQL URL")
            } else {
                // The same embedded PostgreSQL the application uses; it is left running for the next run.
                let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
                std::fs::create_dir_all(&data).expect("creating ./data");
                let pg = EmbeddedPostgres::start(&data).await.unwrap_or_else(|e| {
                    panic!("no DATABASE_URL and the embedded PostgreSQL failed: {e}")
                });
                pg.connect_options("postgres")
            };
            ensure_roles(&options).await;
            options
        })
        .await
        .clone()
}

/// The group role the migrations grant to and the app's login role, once per server.
/// Test binaries start in parallel, so a role created meanwhile is no error.
async fn ensure_roles(server: &PgConnectOptions) {
    let mut admin = PgConnection::connect_with(server)
        .await
        .expect("connecting to the test server");
    for (role, attributes) in [
        ("triage_app", "NOLOGIN"),
        (APP_LOGIN, "LOGIN IN ROLE triage_app"),
    ] {
        sqlx::query(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                 BEGIN CREATE ROLE {role} {attributes};
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
             END IF; END $$"
        ))
        .execute(&mut admin)
        .await
        .expect("creating the test roles");
    }
    sqlx::query(&format!("GRANT triage_app TO {APP_LOGIN}"))
        .execute(&mut admin)
        .await
        .expect("granting the app role");
    admin.close().await.ok();
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    /// The owner's pool: migrations, and test set-up that the app may not do.
    pub pool: PgPool,
    pub name: String,
    server: PgConnectOptions,
}

impl TestDb {
    /// A fresh database with every migration applied by its owner.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        triage::db::migrate(&db.pool)
            .await
            .expect("migrating the test database");
        db
    }

    /// A fresh database, not migrated.
    pub async fn empty() -> Self {
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

    /// A pool of the app's own role, with the app's statement and lock timeouts.
    pub async fn app_pool(&self) -> PgPool {
        let settings = triage::db::Settings::default();
        settings
            .pool_options()
            .max_connections(8)
            .connect_with(settings.app_options(self.app_options()))
            .await
            .expect("connecting as the app's role")
    }

    /// Connection options of this database as the app's role.
    pub fn app_options(&self) -> PgConnectOptions {
        self.server.clone().database(&self.name).username(APP_LOGIN)
    }

    /// The URL of this database as the app's role.
    pub fn app_url(&self) -> String {
        let owner = self.url();
        let user = self.server.get_username();
        owner.replacen(&format!("://{user}"), &format!("://{APP_LOGIN}"), 1)
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

/// An account created for a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The application on a fresh database, with two institutions and, by default, a
/// signed-in officer of the first (`Deref` gives that officer's client).
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: Arc<TestDb>,
    pub institution_a: Uuid,
    pub institution_b: Uuid,
    pub officer: TestUser,
    client: Client,
}

impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_rulebook(DEFAULT_RULEBOOK).await
    }

    pub async fn with_rulebook(text: &str) -> Self {
        Self::on_database(
            Arc::new(TestDb::new().await),
            text,
            RuntimeConfig::default(),
            true,
        )
        .await
    }

    /// With custom runtime settings (lockout limits, ...).
    pub async fn with_config(config: RuntimeConfig) -> Self {
        Self::on_database(
            Arc::new(TestDb::new().await),
            DEFAULT_RULEBOOK,
            config,
            true,
        )
        .await
    }

    /// A second app server on the same database, with another rulebook.
    pub async fn with_rulebook_on(other: &TestApp, text: &str) -> Self {
        let mut app =
            Self::on_database(other.db.clone(), text, RuntimeConfig::default(), false).await;
        app.institution_a = other.institution_a;
        app.institution_b = other.institution_b;
        app.officer = other.officer.clone();
        app.client = app.client_for(&other.officer).await;
        app
    }

    async fn on_database(db: Arc<TestDb>, text: &str, config: RuntimeConfig, seed: bool) -> Self {
        let rulebook = Rulebook::parse(text).expect("rulebook");
        let state = AppState::prepare(db.app_pool().await, rulebook, config)
            .await
            .expect("preparing the state");
        let router = triage::app(state.clone());
        let (institution_a, institution_b) = if seed {
            (
                insert_institution(&db.pool, "Institution A").await,
                insert_institution(&db.pool, "Institution B").await,
            )
        } else {
            (Uuid::nil(), Uuid::nil())
        };
        let mut app = TestApp {
            client: Client::new(router.clone(), db.pool.clone()),
            router,
            state,
            db,
            institution_a,
            institution_b,
            officer: TestUser {
                id: Uuid::nil(),
                email: String::new(),
                password: String::new(),
            },
        };
        if seed {
            app.officer = app.user("officer", Some(institution_a)).await;
            app.client = app.client_for(&app.officer).await;
        }
        app
    }

    /// Creates an account directly in the database.
    pub async fn user(&self, role: &str, institution: Option<Uuid>) -> TestUser {
        let id = Uuid::new_v4();
        let email = format!("{role}-{}@example.org", &id.simple().to_string()[..8]);
        let hash = triage::auth::hash_password(PASSWORD.to_owned())
            .await
            .expect("hash");
        sqlx::query(
            "INSERT INTO users (id, email, display_name, role, institution_id, password_hash) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&email)
        .bind(format!("Test {role}"))
        .bind(role)
        .bind(institution)
        .bind(hash)
        .execute(&self.db.pool)
        .await
        .expect("inserting a user");
        TestUser {
            id,
            email,
            password: PASSWORD.to_owned(),
        }
    }

    /// A client with no session.
    pub fn anonymous(&self) -> Client {
        Client::new(self.router.clone(), self.db.pool.clone())
    }

    /// A client signed in as the user.
    pub async fn client_for(&self, user: &TestUser) -> Client {
        let client = self.anonymous();
        client.sign_in(&user.email, &user.password).await;
        client
    }

    /// A signed-in client of a new account with the role.
    pub async fn signed_in(&self, role: &str, institution: Option<Uuid>) -> (TestUser, Client) {
        let user = self.user(role, institution).await;
        let client = self.client_for(&user).await;
        (user, client)
    }
}

async fn insert_institution(pool: &PgPool, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO institutions (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .expect("institution");
    id
}

/// The session cookie's names: plain, and with the `__Host-` prefix used over https.
pub const SESSION_COOKIES: [&str; 2] = ["triage_session", "__Host-triage_session"];

/// A browser-like client: keeps the session cookie and the CSRF token, adds the token
/// to every form it sends.
pub struct Client {
    router: Router,
    pool: PgPool,
    /// Every cookie the server set, by name, as a browser keeps them.
    cookies: Mutex<std::collections::BTreeMap<String, String>>,
    csrf: Mutex<Option<String>>,
    /// The client address the server sees.
    pub address: Mutex<SocketAddr>,
}

/// A response with its body read.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as sent (a downloaded file).
    pub bytes: Vec<u8>,
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

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(r: &TestResponse) -> Vec<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The value of the first hidden `_csrf` field in a page.
pub fn csrf_in(page: &str) -> Option<String> {
    let at = page.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

impl Client {
    fn new(router: Router, pool: PgPool) -> Self {
        Client {
            router,
            pool,
            cookies: Mutex::new(Default::default()),
            csrf: Mutex::new(None),
            address: Mutex::new("127.0.0.1:40000".parse().expect("addr")),
        }
    }

    pub fn set_address(&self, addr: &str) {
        *self.address.lock().expect("lock") = addr.parse().expect("socket address");
    }

    /// The session cookie's value (`triage_session`, or `__Host-triage_session` over https).
    pub fn session_cookie(&self) -> Option<String> {
        let cookies = self.cookies.lock().expect("lock");
        SESSION_COOKIES
            .iter()
            .find_map(|name| cookies.get(*name).cloned())
    }

    /// Replaces (or, with `None`, forgets) the session cookie.
    pub fn set_session_cookie(&self, value: Option<String>) {
        let mut cookies = self.cookies.lock().expect("lock");
        let name = SESSION_COOKIES
            .iter()
            .find(|name| cookies.contains_key(**name))
            .copied()
            .unwrap_or(SESSION_COOKIES[0]);
        match value {
            Some(v) => cookies.insert(name.to_owned(), v),
            None => cookies.remove(name),
        };
    }

    /// A cookie by name.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("lock").get(name).cloned()
    }

    pub async fn send(&self, mut request: Request<Body>) -> TestResponse {
        let jar = self
            .cookies
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !jar.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, jar.parse().expect("cookie"));
        }
        let address = *self.address.lock().expect("lock");
        request.extensions_mut().insert(ConnectInfo(address));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap_or("");
            let Some((name, rest)) = text.split_once('=') else {
                continue;
            };
            let v = rest.split(';').next().unwrap_or("").to_owned();
            let expired = text.contains("Max-Age=0") || v.is_empty();
            let mut cookies = self.cookies.lock().expect("lock");
            if expired {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), v);
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(token) = csrf_in(&body) {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        TestResponse {
            status,
            headers,
            body,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// The current CSRF token, fetched from a page when none is known yet.
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.csrf.lock().expect("lock").clone() {
            return t;
        }
        let signed_in = self.get("/account").await.status == StatusCode::OK;
        if !signed_in {
            self.get("/login").await;
        }
        self.csrf.lock().expect("lock").clone().unwrap_or_default()
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form_raw(path, &all).await
    }

    /// Posts a form exactly as given (no token added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.post_form_with(path, fields, &[]).await
    }

    /// Posts a form exactly as given, with extra request headers.
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("request"))
            .await
    }

    /// Posts a multipart form, the session's CSRF token first, as a browser sends a file upload.
    /// Each part is (name, file name for a file part, content).
    pub async fn post_multipart(
        &self,
        path: &str,
        parts: &[(&str, Option<&str>, &str)],
    ) -> TestResponse {
        let token = self.csrf().await;
        let boundary = "----triage-test-boundary-7f3a";
        let mut body = String::new();
        let mut all: Vec<(&str, Option<&str>, &str)> = vec![("_csrf", None, token.as_str())];
        all.extend_from_slice(parts);
        for (name, file, content) in all {
            body.push_str(&format!("--{boundary}\r\n"));
            match file {
                Some(f) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )),
                None => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            body.push_str(content);
            body.push_str("\r\n");
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        self.send(
            Request::post(path)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
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

    /// Posts the sign-in form with the token of its page.
    pub async fn post_sign_in(&self, email: &str, password: &str) -> TestResponse {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Opens the sign-in page and signs in from it, returning the sign-in's response.
    pub async fn sign_in_response(&self, email: &str, password: &str) -> TestResponse {
        self.get("/login").await;
        let token = self.csrf().await;
        self.post_form_raw(
            "/login",
            &[("_csrf", &token), ("email", email), ("password", password)],
        )
        .await
    }

    /// A project with one assessment, its area answered (green development), submitted.
    pub async fn submitted_case(&self, title: &str) -> String {
        let project = self.create_project(title).await;
        let id = self.start_assessment(&project).await;
        self.save_step(
            &id,
            1,
            &[("area", "green_development"), ("sub_area", "green_grid")],
        )
        .await;
        assert_eq!(self.submit(&id).await.status, StatusCode::SEE_OTHER);
        id
    }

    /// Signs in with email and password, asserting success.
    pub async fn sign_in(&self, email: &str, password: &str) {
        let r = self
            .post_form(
                "/login",
                &[("email", email), ("password", password), ("next", "/")],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email} failed: {}",
            r.body
        );
        // The token changes at sign-in.
        *self.csrf.lock().expect("lock") = None;
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
            .fetch_one(&self.pool)
            .await
            .expect("lock version");
        v.to_string()
    }

    /// Saves one step with `_action=next`.
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

    /// Posts a reviewer's form of the case page (return, decision) as a browser does:
    /// with the version of the case the page showed, its current one.
    pub async fn review(
        &self,
        assessment_id: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let version = self.lock_version(assessment_id).await;
        let mut all: Vec<(&str, &str)> = vec![("_version", version.as_str())];
        all.extend_from_slice(fields);
        self.post_form(&format!("/assessments/{assessment_id}/{action}"), &all)
            .await
    }

    /// Answers every open request for more information of a returned case, as its
    /// officer does on the case page.
    pub async fn answer_requests(&self, assessment_id: &str) {
        let open: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM returns WHERE assessment_id = $1::uuid AND answered_at IS NULL ORDER BY returned_at",
        )
        .bind(assessment_id)
        .fetch_all(&self.pool)
        .await
        .expect("open requests");
        for request in open {
            let r = self
                .post_form(
                    &format!("/assessments/{assessment_id}/requests/answer"),
                    &[
                        ("request", &request.to_string()),
                        ("answer", "Done: see the changed answers."),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
    }

    /// Submits an assessment from its review page.
    pub async fn submit(&self, assessment_id: &str) -> TestResponse {
        let version = self.lock_version(assessment_id).await;
        self.post_form(
            &format!("/assessments/{assessment_id}/submit"),
            &[("_version", &version), ("declaration", "yes")],
        )
        .await
    }
}
