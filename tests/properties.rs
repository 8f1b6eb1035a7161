//! Property tests of every form and every query string, against the real router and a
//! real database: arbitrary Unicode, control characters, huge and empty values,
//! repeated and missing fields. Whatever is sent, the answer is never a server error,
//! nothing sent comes back unescaped, and a refusal is a page that says what is wrong
//! beside the field (or in the summary of a form that has one message).
//!
//! `PROPTEST_CASES` sets the number of cases per form (default 12, so the suite stays
//! quick on two cores).

mod common;

use axum::http::StatusCode;
use common::{Client, TestApp, TestResponse};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Marks text the test sent; the page must never contain it unescaped.
const CANARY: &str = "<x-canary>";

/// One value of a field.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{200b}\\u{202e}a-z0-9 <>&\"'%=+@-]{0,40}",
        2 => any::<String>().prop_map(|s| format!("{CANARY}{s}</x-canary>\"'&")),
        1 => Just(String::new()),
        1 => (1usize..40_000).prop_map(|n| "y".repeat(n)),
        1 => prop::sample::select(vec![
            "\0", "-9999-01-01", "+10000-01-01", "2027-02-30", "00000000-0000-0000-0000-000000000000",
            "endorse", "override", "red", "green", "yes", "no", "dont_know", "2147483648", "-1",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Values for the named fields: each missing, once, or repeated.
fn fields(names: Vec<String>) -> impl Strategy<Value = Vec<(String, String)>> {
    let n = names.len();
    prop::collection::vec(
        prop::option::weighted(0.85, prop::collection::vec(value(), 1..=2)),
        n,
    )
    .prop_map(move |values| {
        names
            .iter()
            .zip(values)
            .flat_map(|(name, v)| {
                v.unwrap_or_default()
                    .into_iter()
                    .map(move |value| (name.clone(), value))
            })
            .collect()
    })
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    }
}

/// What every answer must be.
fn check(what: &str, r: &TestResponse) -> Result<(), TestCaseError> {
    prop_assert!(
        r.status.as_u16() < 500,
        "{what}: {} {}",
        r.status,
        r.body.chars().take(2_000).collect::<String>()
    );
    prop_assert!(
        !r.body.contains(CANARY),
        "{what}: sent text came back unescaped"
    );
    if r.status == StatusCode::UNPROCESSABLE_ENTITY {
        prop_assert!(
            r.body.contains("class=\"field-error\"") || r.body.contains("error-summary"),
            "{what}: a refusal without a message beside its field"
        );
    }
    if r.status.is_client_error() && r.status != StatusCode::UNPROCESSABLE_ENTITY {
        prop_assert!(
            r.body.contains("<h1>"),
            "{what}: {} is not a page",
            r.status
        );
    }
    Ok(())
}

/// Runs the property over one form or query.
fn run<F>(what: &str, names: &[&str], send: F)
where
    F: Fn(Vec<(String, String)>) -> TestResponse,
{
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut runner = TestRunner::new(config());
    runner
        .run(&fields(names), |fields| {
            let label: String = format!("{what} {fields:?}").chars().take(400).collect();
            check(&label, &send(fields))
        })
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// Blocks on the app's future from inside the property (the test runs on a
/// multi-threaded runtime).
fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

fn post(client: &Client, path: &str) -> impl Fn(Vec<(String, String)>) -> TestResponse {
    move |fields| {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        block(client.post_form(path, &pairs))
    }
}

fn get(client: &Client, path: &str) -> impl Fn(Vec<(String, String)>) -> TestResponse {
    move |fields| {
        let mut query = serde_urlencoded::to_string(&fields).expect("query");
        // Past 64 KiB no URI can be built at all (hyper answers such requests itself);
        // past 8 KiB triage answers 414, which is checked.
        if query.len() > 60_000 {
            let cut = query[..60_000].rfind('&').unwrap_or(0);
            query.truncate(cut);
        }
        block(client.get(&format!("{path}?{query}")))
    }
}

fn upload(client: &Client, path: &str) -> impl Fn(Vec<(String, String)>) -> TestResponse {
    move |fields| {
        let parts: Vec<(&str, Option<&str>, &str)> = fields
            .iter()
            .map(|(k, v)| {
                let file = (k == "file").then_some("upload.csv");
                (k.as_str(), file, v.as_str())
            })
            .collect();
        block(client.post_multipart(path, &parts))
    }
}

/// Puts back what a case may have changed that the next cases rely on.
async fn reset(app: &TestApp) {
    sqlx::query("UPDATE settings SET value = 'false' WHERE key = 'require_totp'")
        .execute(&app.db.pool)
        .await
        .expect("reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_survives_arbitrary_input() {
    let app = TestApp::new().await;
    let draft = app
        .start_assessment(&app.create_project("Properties").await)
        .await;
    let submitted = app.submitted_case("Properties, submitted").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let anon = app.anonymous();
    anon.get("/login").await;
    let version = app.lock_version(&submitted).await;
    let with_version = |path: String| {
        let client = &reviewer;
        let version = version.clone();
        move |mut fields: Vec<(String, String)>| {
            fields.push(("_version".into(), version.clone()));
            post(client, &path)(fields)
        }
    };

    run(
        "POST /login",
        &["email", "password", "next"],
        post(&anon, "/login"),
    );
    run(
        "POST /login/two-factor",
        &["code", "next"],
        post(&anon, "/login/two-factor"),
    );
    run(
        "POST /projects",
        &[
            "title",
            "acronym",
            "summary",
            "lead_researcher",
            "department",
            "planned_start",
            "duration_months",
            "funding_programme",
        ],
        post(&app, "/projects"),
    );
    let rulebook = app.state.rulebook_now();
    for (i, step) in rulebook.steps().iter().enumerate() {
        let mut names: Vec<&str> = step.questions.iter().map(|q| q.id.as_str()).collect();
        names.extend([
            "_action",
            "_version",
            "partner_identity",
            "partner_identity_entry",
        ]);
        let path = format!("/assessments/{draft}/steps/{}", i + 1);
        run(&format!("POST step {}", i + 1), &names, post(&app, &path));
    }
    run(
        "POST submit",
        &["_version"],
        post(&app, &format!("/assessments/{draft}/submit")),
    );
    let case = format!("/assessments/{submitted}");
    run(
        "POST comments (officer)",
        &["body", "finding"],
        post(&app, &format!("{case}/comments")),
    );
    run(
        "POST comments (reviewer)",
        &["body", "finding"],
        post(&reviewer, &format!("{case}/comments")),
    );
    run(
        "POST decision",
        &["outcome", "final_verdict", "justification", "conditions"],
        with_version(format!("{case}/decision")),
    );
    run(
        "POST return",
        &["message"],
        with_version(format!("{case}/return")),
    );
    run(
        "POST dismiss",
        &["entry", "reason"],
        with_version(format!("{case}/screening/dismiss")),
    );
    let event = format!(
        "{case}/screening/events/{}/acknowledge",
        uuid::Uuid::new_v4()
    );
    run("POST acknowledge", &["note"], post(&reviewer, &event));
    run(
        "POST mitigations",
        &[
            "_stamp",
            "status_export_control_check",
            "note_export_control_check",
            "owner_export_control_check",
            "due_export_control_check",
        ],
        post(&app, &format!("{case}/mitigations")),
    );
    run(
        "UPLOAD attachment",
        &["target", "note", "file"],
        upload(&app, &format!("{case}/attachments")),
    );
    run(
        "POST /account/password",
        &["current", "new_password", "confirm"],
        post(&app, "/account/password"),
    );
    run(
        "POST /account/two-factor",
        &["code", "password"],
        post(&app, "/account/two-factor"),
    );
    run(
        "POST /account/two-factor/disable",
        &["password", "code"],
        post(&app, "/account/two-factor/disable"),
    );
    run(
        "POST /admin/users",
        &[
            "email",
            "display_name",
            "role",
            "institution_id",
            "password",
        ],
        post(&admin, "/admin/users"),
    );
    let user = format!("/admin/users/{}", app.officer.id);
    run(
        "POST /admin/users/{id}",
        &["role", "institution_id", "disabled"],
        post(&admin, &user),
    );
    // The officer may have been disabled or demoted: sign the default client in again.
    sqlx::query(
        "UPDATE users SET disabled = false, role = 'officer', institution_id = $2 WHERE id = $1",
    )
    .bind(app.officer.id)
    .bind(app.institution_a)
    .execute(&app.db.pool)
    .await
    .expect("restore the officer");
    run(
        "POST /admin/institutions",
        &["name"],
        post(&admin, "/admin/institutions"),
    );
    run("POST /admin/settings", &["require_totp"], |fields| {
        let r = post(&admin, "/admin/settings")(fields);
        block(reset(&app));
        r
    });
    run(
        "POST /admin/register/entries",
        &[
            "original_id",
            "id",
            "name",
            "kind",
            "city",
            "province",
            "parent",
            "note",
            "names_name",
            "names_kind",
            "flag_flag",
            "flag_source",
            "flag_url",
            "flag_date",
            "flag_detail",
        ],
        post(&admin, "/admin/register/entries"),
    );
    run(
        "UPLOAD /admin/register",
        &["file"],
        upload(&admin, "/admin/register"),
    );
    run(
        "UPLOAD /rulebooks",
        &["file", "text"],
        upload(&admin, "/rulebooks"),
    );
    run(
        "POST /rulebooks/simulate",
        &["version"],
        post(&admin, "/rulebooks/simulate"),
    );
    run(
        "POST assign",
        &["to"],
        post(&reviewer, &format!("{case}/assign")),
    );
    run(
        "POST answer",
        &["request", "answer"],
        post(&app, &format!("{case}/requests/answer")),
    );
    run(
        "POST /account/mail",
        &["delivery"],
        post(&app, "/account/mail"),
    );
    run(
        "POST decision/confirm",
        &[
            "_action",
            "outcome",
            "final_verdict",
            "justification",
            "conditions",
        ],
        with_version(format!("{case}/decision/confirm")),
    );
    run(
        "POST reopen",
        &["reason"],
        with_version(format!("{case}/reopen")),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_string_survives_arbitrary_input() {
    let app = TestApp::new().await;
    let submitted = app.submitted_case("Queries").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let anon = app.anonymous();
    let cases = [
        "q",
        "verdict",
        "final_verdict",
        "area",
        "sub_area",
        "status",
        "institution",
        "partner",
        "screening",
        "from",
        "to",
        "sort",
        "after",
    ];
    run(
        "GET /login",
        &["next", "signed_out", "expired"],
        get(&anon, "/login"),
    );
    run("GET /login (signed in)", &["next"], get(&app, "/login"));
    for path in ["/cases", "/cases.csv", "/cases.json"] {
        run(&format!("GET {path} (officer)"), &cases, get(&app, path));
        run(
            &format!("GET {path} (reviewer)"),
            &cases,
            get(&reviewer, path),
        );
    }
    run("GET /partners", &["name"], get(&reviewer, "/partners"));
    run("GET /compare", &["id"], get(&reviewer, "/compare"));
    run("GET /register", &["q"], get(&app, "/register"));
    run(
        "GET /register/match",
        &["name"],
        get(&app, "/register/match"),
    );
    run(
        "GET /admin/audit",
        &["actor", "action", "case", "from", "to"],
        get(&admin, "/admin/audit"),
    );
    run(
        "GET /review",
        &[
            "screening",
            "verdict",
            "area",
            "institution",
            "status",
            "waiting",
            "assigned",
            "page",
        ],
        get(&reviewer, "/review"),
    );
    run(
        "GET /account/two-factor",
        &["required"],
        get(&app, "/account/two-factor"),
    );
    let officer: &Client = &app;
    for (client, path) in [
        (officer, "/projects".to_owned()),
        (officer, "/account".to_owned()),
        (officer, format!("/assessments/{submitted}")),
        (officer, format!("/assessments/{submitted}/report")),
        (&admin, "/admin/users".to_owned()),
        (&admin, "/admin/register".to_owned()),
        (&admin, "/rulebooks".to_owned()),
    ] {
        run(&format!("GET {path}"), &["notice"], get(client, &path));
    }
    // Path segments too: an id that is not one is not found, never a server error.
    let mut runner = TestRunner::new(config());
    runner
        .run(&value(), |segment| {
            let encoded: String = serde_urlencoded::to_string([("", &segment)])
                .expect("encode")
                .trim_start_matches('=')
                .to_owned();
            for path in [
                format!("/assessments/{encoded}"),
                format!("/assessments/{submitted}/steps/{encoded}"),
                format!("/projects/{encoded}"),
                format!("/register/entries/{encoded}"),
                format!("/areas/{encoded}"),
            ] {
                let r = block(app.get(&path));
                check(&path.chars().take(300).collect::<String>(), &r)?;
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("path segments: {e}"));
}
