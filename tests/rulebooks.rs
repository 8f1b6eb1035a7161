//! Rulebook versions: revision 1 cases under revision 2, simulation before activation
//! (page and CLI), audited activation refused when stale, start-up activation.

mod common;

use std::process::Command;

use axum::http::StatusCode;
use common::{TestApp, TestResponse};
use sqlx::types::Json;
use triage::domain::answers::Answers;
use triage::domain::rulebook::{Colour, Rulebook};
use triage::domain::verdict::{Evaluation, evaluate_screened};
use triage::state::{DEFAULT_RULEBOOK, RULEBOOK_R1};
use uuid::Uuid;

const R1_VERSION: &str = "eu-knoc-2021@86ff279d6997";

fn r2_version() -> String {
    Rulebook::parse(DEFAULT_RULEBOOK)
        .expect("revision 2")
        .version()
        .to_owned()
}

/// A revision-1 walk that revision 1 finds Green: the partner's military links are
/// "Don't know", and the ticked partner screening resolved that in revision 1.
fn green_under_r1() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![
            ("area", "clinical_health"),
            ("sub_area", "clin_cardiovascular"),
            ("research_stage", "basic"),
            ("dual_use_potential", "no"),
            ("intended_military_use", "no"),
            ("surveillance_use", "no"),
        ],
        vec![
            ("partner_name", "Fudan University"),
            ("partner_type", "university"),
            ("partner_location", "Shanghai"),
            ("partner_military_links", "unknown"),
            ("partner_restricted_list", "no"),
            ("affiliations_disclosed", "yes"),
            ("talent_programme", "no"),
            ("partner_funding", "nsfc"),
            ("local_rules_checked", "yes"),
        ],
        vec![("export_controlled_items", "no")],
        vec![
            ("personal_data", "no"),
            ("human_genetic_resources", "no"),
            ("scientific_data_in_china", "no"),
            ("important_data", "no"),
            ("data_stored_in_china_only", "no"),
        ],
        vec![
            ("equal_access", "full"),
            ("ipr_agreement", "signed"),
            ("publication_freedom", "yes"),
            ("fair_contribution", "yes"),
            ("mobility_equal", "yes"),
        ],
        vec![
            ("human_subjects", "no"),
            ("animal_research", "none"),
            ("germline_editing", "no"),
        ],
        vec![
            ("sensitive_topics", "no"),
            ("pressure_signs", "no"),
            ("dependency", "no"),
            ("shared_it_systems", "no"),
        ],
        vec![],
        vec![("mitigations", "affiliation_screening")],
    ]
}

/// The text of a page without its tags, for assertions on sentences.
fn text(page: &TestResponse) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in page.body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_case_decided_under_revision_1_keeps_its_verdict_and_says_what_revision_2_concludes() {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let project = app.create_project("Cardiology cohort").await;
    let id = app.start_assessment(&project).await;
    for (i, fields) in green_under_r1().iter().enumerate() {
        let r = app.save_step(&id, i + 1, fields).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "step {}: {}",
            i + 1,
            r.body
        );
    }
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .review(&id, "decision/confirm", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // A second app server starts with revision 2 built in: never active, so activated.
    let _server2 = TestApp::with_rulebook_on(&app, DEFAULT_RULEBOOK).await;

    // The first server picks it up on its next request (several servers, one database).
    let api = app.anonymous().get("/api/v1/rulebook").await;
    assert_eq!(api.json()["version"], r2_version());

    let page = reviewer.get(&format!("/assessments/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // The stored verdict and reasons, worded by revision 1.
    page.assert_contains(&format!("Computed with rulebook <code>{R1_VERSION}</code>"));
    page.assert_contains("Verdict: <span class=\"badge badge-green\">");
    page.assert_contains("The reviewer endorsed the computed verdict.");
    // What revision 2 concludes from the same answers, and why.
    let words = text(&page);
    assert!(
        words.contains(&format!(
            "Under the current rulebook ( {} ) this would be Orange , because:",
            r2_version()
        )),
        "{words}"
    );
    assert!(
        words.contains("No longer resolved: Not yet cleared: Military links (Orange)"),
        "{words}"
    );
    assert!(
        !words.contains("New findings: Not yet cleared: Specialist review"),
        "a green baseline owes no specialist review: {words}"
    );
    assert!(
        words.contains("Not yet cleared: Visiting researchers (Orange)"),
        "{words}"
    );
    // The stored record itself is unchanged.
    let (verdict, version): (String, String) =
        sqlx::query_as("SELECT verdict, rulebook_version FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!((verdict.as_str(), version.as_str()), ("green", R1_VERSION));
}

/// What revision 2 changes on the stored cases, computed here independently of the
/// simulation code: every case evaluated in full and compared with its stored verdict.
async fn expected_changes(app: &TestApp, candidate: &Rulebook) -> (usize, usize, Vec<Uuid>) {
    let rows: Vec<(Uuid, String, Json<Answers>, Json<Evaluation>)> =
        sqlx::query_as("SELECT id, verdict, answers, evaluation FROM assessments")
            .fetch_all(&app.db.pool)
            .await
            .expect("cases");
    let mut changed = Vec::new();
    for (id, verdict, answers, stored) in &rows {
        let now = evaluate_screened(candidate, &answers.0, &stored.0.register_hits());
        if Some(now.verdict) != Colour::from_code(verdict) {
            changed.push(*id);
        }
    }
    (rows.len(), changed.len(), changed)
}

async fn seeded_under_r1(n: usize) -> TestApp {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let r1 = Rulebook::parse(RULEBOOK_R1).expect("revision 1");
    let written = triage::demo::seed(&app.state, &r1, n, 7)
        .await
        .expect("seed");
    assert_eq!(written, n);
    app
}

#[tokio::test]
async fn the_simulation_page_shows_what_revision_2_changes_on_seeded_revision_1_cases() {
    let app = seeded_under_r1(60).await;
    let r2 = Rulebook::parse(DEFAULT_RULEBOOK).expect("revision 2");
    let (cases, changed, ids) = expected_changes(&app, &r2).await;
    assert!(changed > 0, "revision 2 changes some demo cases");

    let (_, admin) = app.signed_in("admin", None).await;
    let r = admin
        .post_multipart(
            "/rulebooks",
            &[
                ("file", Some("rulebook.toml"), DEFAULT_RULEBOOK),
                ("text", None, ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.location().to_owned();
    assert!(
        location.starts_with("/rulebooks/simulations/"),
        "{location}"
    );
    let page = admin.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let words = text(&page);
    assert!(
        words.contains(&format!("{changed} of {cases} cases would change colour")),
        "{words}"
    );
    for id in &ids {
        page.assert_contains(&id.to_string());
    }
    page.assert_contains("Not yet cleared: Specialist review");
    page.assert_contains(&format!("Activate {}", r2_version()));
    // Reviewers may read it and follow the links to submitted cases; they cannot activate.
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let seen = reviewer.get(&location).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("href=\"/assessments/"));
    assert!(!seen.body.contains("/activate\""));
    // Nothing is active until an administrator activates it.
    let api = app.anonymous().get("/api/v1/rulebook").await;
    assert_eq!(api.json()["version"], R1_VERSION);
}

#[tokio::test]
async fn the_cli_diff_reports_the_same_changes_and_refuses_a_bad_file() {
    let app = seeded_under_r1(40).await;
    let r2 = Rulebook::parse(DEFAULT_RULEBOOK).expect("revision 2");
    let (cases, changed, ids) = expected_changes(&app, &r2).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rulebook/rulebook.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("DATABASE_URL", app.db.url())
        .env("RUST_LOG", "error")
        .args(["rulebook", "diff"])
        .arg(&path)
        .output()
        .expect("run triage");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "{cases} cases simulated: {changed} would change colour"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Active rulebook    {R1_VERSION}")),
        "{stdout}"
    );
    for id in &ids {
        assert!(stdout.contains(&id.to_string()), "{id} missing: {stdout}");
    }
    // The diff changes nothing.
    let activations: i64 = sqlx::query_scalar("SELECT count(*) FROM rulebook_activations")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(activations, 1);

    // A bad candidate is refused, naming the entry, before any database is touched.
    let bad = std::env::temp_dir().join(format!("bad-rulebook-{}.toml", Uuid::new_v4().simple()));
    std::fs::write(
        &bad,
        DEFAULT_RULEBOOK.replace("code = \"dependency\"", "code = \"unknown_dependency\""),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["rulebook", "diff"])
        .arg(&bad)
        .output()
        .expect("run triage");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("rule `unknown_dependency`"), "{stderr}");
    std::fs::remove_file(&bad).ok();
}

#[tokio::test]
async fn a_refused_candidate_names_every_problem_and_stores_nothing() {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let bad = DEFAULT_RULEBOOK
        .replace("id = \"declined_elsewhere\"", "id = \"declined_somewhere\"")
        .replace("contract = 2", "contract = 2\nflavour = \"strawberry\"");
    let r = admin
        .post_multipart(
            "/rulebooks",
            &[("file", Some("x.toml"), ""), ("text", None, &bad)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("The candidate was refused");
    r.assert_contains("flavour");
    let fixed =
        DEFAULT_RULEBOOK.replace("id = \"declined_elsewhere\"", "id = \"declined_somewhere\"");
    let r = admin
        .post_multipart("/rulebooks", &[("text", None, &fixed)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("question `declined_elsewhere`: missing");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM rulebooks")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "only revision 1");
    // Only administrators upload.
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .post_multipart("/rulebooks", &[("text", None, DEFAULT_RULEBOOK)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Without the form's token the upload is refused outright.
    let r = admin
        .send(
            axum::http::Request::post("/rulebooks")
                .header("content-type", "multipart/form-data; boundary=x")
                .body(axum::body::Body::from("--x--\r\n"))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn activation_is_audited_and_refused_when_the_simulation_is_stale() {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let (admin_user, admin) = app.signed_in("admin", None).await;
    let simulate = |text: String| {
        let admin = &admin;
        async move {
            let r = admin
                .post_multipart("/rulebooks", &[("text", None, &text)])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
            r.location().to_owned()
        }
    };
    let first = simulate(DEFAULT_RULEBOOK.to_owned()).await;
    let other_text = DEFAULT_RULEBOOK.replace(
        "title = \"EU-KNOC 2021 risk-benefit triage of EU-China research collaborations (revision 2)\"",
        "title = \"A variant of revision 2\"",
    );
    let second = simulate(other_text.clone()).await;

    // Reviewers and officers cannot activate.
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer.post_form(&format!("{first}/activate"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post_form(&format!("{first}/activate"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = admin.post_form(&format!("{first}/activate"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/rulebooks?notice=rulebook_activated");
    let api = app.anonymous().get("/api/v1/rulebook").await;
    assert_eq!(api.json()["version"], r2_version());

    let (actor, summary): (Option<String>, String) = sqlx::query_as(
        "SELECT actor_email, summary FROM audit_log WHERE action = 'rulebook.activate' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("audit row");
    assert_eq!(actor.as_deref(), Some(admin_user.email.as_str()));
    assert!(
        summary.contains(&r2_version()) && summary.contains(R1_VERSION),
        "{summary}"
    );
    let (by, simulation): (Option<Uuid>, Option<i64>) = sqlx::query_as(
        "SELECT activated_by, simulation_id FROM rulebook_activations ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("activation");
    assert_eq!(by, Some(admin_user.id));
    assert!(simulation.is_some());

    // The second simulation ran against revision 1: stale now, so refused with 409.
    let page = admin.get(&second).await;
    page.assert_contains("This simulation is stale");
    assert!(
        !page.body.contains("/activate\""),
        "no activate button on a stale page"
    );
    let r = admin.post_form(&format!("{second}/activate"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    r.assert_contains("Nothing was activated");
    let api = app.anonymous().get("/api/v1/rulebook").await;
    assert_eq!(
        api.json()["version"],
        r2_version(),
        "the stale activation changed nothing"
    );

    // Simulated again, the variant can be activated; the history records both.
    let third = simulate(other_text).await;
    let r = admin.post_form(&format!("{third}/activate"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = admin.get("/rulebooks").await;
    list.assert_contains("A variant of revision 2");
    let activations: i64 = sqlx::query_scalar("SELECT count(*) FROM rulebook_activations")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(activations, 3);
    // The activation history cannot be rewritten.
    let rewrite = sqlx::query("DELETE FROM rulebook_activations")
        .execute(&app.db.pool)
        .await;
    assert!(rewrite.is_err());
}

#[tokio::test]
async fn a_new_built_in_rulebook_is_activated_once_at_start_up_as_the_system() {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let first: (Option<String>, String) = sqlx::query_as(
        "SELECT actor_email, summary FROM audit_log WHERE action = 'rulebook.activate'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("the first activation is audited");
    assert_eq!(first.0.as_deref(), Some("system"));
    assert!(first.1.contains(R1_VERSION), "{}", first.1);

    // A release with revision 2 built in: activated at its first start.
    let release = TestApp::with_rulebook_on(&app, DEFAULT_RULEBOOK).await;
    assert_eq!(
        release
            .state
            .active_rulebook()
            .await
            .expect("active")
            .version(),
        r2_version()
    );

    // An administrator goes back to revision 1 (simulated, then activated)...
    let (_, admin) = app.signed_in("admin", None).await;
    let r = admin
        .post_form("/rulebooks/simulate", &[("version", R1_VERSION)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post_form(&format!("{}/activate", r.location()), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // ...and a restart with revision 2 built in keeps that choice.
    let restarted = TestApp::with_rulebook_on(&app, DEFAULT_RULEBOOK).await;
    assert_eq!(
        restarted
            .state
            .active_rulebook()
            .await
            .expect("active")
            .version(),
        R1_VERSION
    );
    let system_activations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rulebook_activations WHERE activated_by IS NULL")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(system_activations, 2);
}

#[tokio::test]
async fn a_draft_is_evaluated_with_the_active_rulebook_when_it_is_saved() {
    let app = TestApp::with_rulebook(RULEBOOK_R1).await;
    let project = app.create_project("Draft across versions").await;
    let id = app.start_assessment(&project).await;
    app.save_step(&id, 1, &green_under_r1()[0]).await;
    let _server2 = TestApp::with_rulebook_on(&app, DEFAULT_RULEBOOK).await;
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Under the current rulebook");
    page.assert_contains("Saving the draft evaluates it with the current rulebook.");
    // Its next steps are already those of the rulebook it will be evaluated with.
    page.assert_contains("As the current rulebook asks");
    page.assert_contains("Will researchers from the partner work in EU laboratories");
    app.save_step(&id, 2, &green_under_r1()[1]).await;
    let version: String =
        sqlx::query_scalar("SELECT rulebook_version FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!(version, r2_version());
    let page = app.get(&format!("/assessments/{id}")).await;
    assert!(!page.body.contains("Under the current rulebook"));
    // The memo opens with the next steps: answer the open questions first.
    let words = text(&page);
    let steps = words.find("Next steps").expect("next steps");
    let answer = words.find("Answer the").expect("questions to answer");
    assert!(steps < answer, "{words}");
    assert!(
        !words.contains("Partner and affiliation screening is ticked"),
        "nothing ticked yet: {words}"
    );
}
