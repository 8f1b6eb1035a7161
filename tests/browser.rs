//! A real headless Chromium, driven over WebDriver, walks an assessment from a new
//! project to the verdict. Without Chromium and chromedriver the test says loudly that
//! it skipped, unless TRIAGE_REQUIRE_BROWSER=1 (CI), where that is a failure.

mod common;

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use common::TestApp;

const CHROMIUM: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| (*p).to_owned())
}

/// Chromium and its driver, or `None` after saying loudly why the test is skipped.
fn browser_or_skip() -> Option<(String, String)> {
    match (find(CHROMIUM), find(CHROMEDRIVER)) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            let message = "SKIPPED: browser test needs chromium and chromedriver \
                           (apt-get install chromium chromium-driver)";
            if std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{message}, and TRIAGE_REQUIRE_BROWSER=1 makes that a failure");
            }
            eprintln!("\n********************************************************************");
            eprintln!("{message}");
            eprintln!("********************************************************************\n");
            None
        }
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn start_browser(chromium: &str, driver: &str) -> (Driver, Client, tempdir::Dir) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let driver = Driver(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempdir::Dir::new();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path.display()),
            ]
        }
    });
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps.as_object().cloned().expect("object"))
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connecting to chromedriver");
    (driver, client, profile)
}

/// A throwaway Chromium profile directory.
mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir()
                .join(format!("triage-chromium-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("profile dir");
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"));
    el.clear().await.ok();
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// The text of `main` once it contains `needle`: after a click the old page may still be
/// showing, so this waits for the new one.
async fn wait_for_text(c: &Client, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = match c.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "page never showed {needle:?}; it shows:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.expect("goto");
    type_into(c, "#email", email).await;
    type_into(c, "#password", common::PASSWORD).await;
    click(c, "form[action='/login'] button").await;
    let start = Instant::now();
    loop {
        let header = match c.find(Locator::Css(".account-bar")).await {
            Ok(bar) => bar.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if header.contains("Sign out") {
            break;
        }
        let main = c.find(Locator::Css("main")).await.ok();
        let text = match main {
            Some(m) => m.text().await.unwrap_or_default(),
            None => String::new(),
        };
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not signed in: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn next(c: &Client) {
    click(c, "button[name=_action][value=next]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_creates_a_project_walks_every_step_and_reads_the_verdict() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;

    // Sign in, then a new project.
    sign_in(&c, &base, &app.officer.email).await;
    c.goto(&format!("{base}/projects/new")).await.expect("goto");
    type_into(&c, "#title", "Quantum-safe clinical data exchange").await;
    type_into(&c, "#lead_researcher", "Prof. Maria Lind").await;
    type_into(
        &c,
        "#summary",
        "Joint work on privacy-preserving analysis of hospital records.",
    )
    .await;
    click(&c, "form[action='/projects'] button[type=submit]").await;
    wait_for_text(&c, "Project created").await;
    click(&c, "form[action$='/assessments'] button").await;

    // Step 1: the script offers only the chosen area's sub-areas.
    wait_for_text(&c, "Step 1 of 9").await;
    click(&c, "#area-clinical_health").await;
    c.find(Locator::Css("#sub_area"))
        .await
        .expect("sub_area")
        .select_by_value("clin_ehealth")
        .await
        .expect("select");
    click(&c, "#research_stage-applied").await;
    click(&c, "#dual_use_potential-no").await;
    click(&c, "#intended_military_use-no").await;
    click(&c, "#surveillance_use-no").await;
    next(&c).await;

    // Step 2: the register match appears while typing.
    wait_for_text(&c, "Step 2 of 9").await;
    type_into(&c, "#partner_name", "Harbin Inst. of Technology").await;
    let start = Instant::now();
    loop {
        let screening = c
            .find(Locator::Css("#partner-screening"))
            .await
            .expect("screening")
            .text()
            .await
            .unwrap_or_default();
        if screening.contains("US Entity List") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no live register match: {screening}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    click(&c, "#partner_type-university").await;
    type_into(&c, "#partner_location", "Harbin, Heilongjiang").await;
    for id in [
        "partner_military_links-no",
        "partner_restricted_list-no",
        "affiliations_disclosed-yes",
        "talent_programme-no",
        "partner_funding-nsfc",
        "local_rules_checked-yes",
    ] {
        click(&c, &format!("#{id}")).await;
    }
    next(&c).await;

    // Step 3: the licence question appears only for controlled items.
    wait_for_text(&c, "Step 3 of 9").await;
    let licence = c
        .find(Locator::Css("#q-export_licence"))
        .await
        .expect("licence block");
    assert!(
        !licence.is_displayed().await.expect("displayed"),
        "licence question hidden until items are controlled"
    );
    click(&c, "#export_controlled_items-yes").await;
    assert!(licence.is_displayed().await.expect("displayed"));
    click(&c, "#export_controlled_items-no").await;
    next(&c).await;

    for (step, ids) in [
        (
            4,
            vec![
                "personal_data-yes",
                "human_genetic_resources-no",
                "scientific_data_in_china-no",
                "important_data-no",
                "data_stored_in_china_only-no",
            ],
        ),
        (
            5,
            vec![
                "equal_access-full",
                "ipr_agreement-signed",
                "publication_freedom-yes",
                "fair_contribution-yes",
                "mobility_equal-yes",
            ],
        ),
        (
            6,
            vec![
                "human_subjects-yes",
                "ethics_approval_both-yes",
                "animal_research-none",
                "germline_editing-no",
            ],
        ),
        (
            7,
            vec![
                "sensitive_topics-no",
                "pressure_signs-no",
                "dependency-no",
                "shared_it_systems-no",
            ],
        ),
        (
            8,
            vec!["benefits-global_challenge", "benefits-unique_access"],
        ),
        (
            9,
            vec![
                "mitigations-legal_compliance_review",
                "mitigations-data_management_plan",
            ],
        ),
    ] {
        wait_for_text(&c, &format!("Step {step} of 9")).await;
        for id in ids {
            click(&c, &format!("#{id}")).await;
        }
        next(&c).await;
    }

    // Review, submit, verdict.
    wait_for_text(&c, "Check your answers before submitting").await;
    click(&c, "#declaration").await;
    click(&c, "form.submit-form button").await;
    wait_for_text(&c, "What happens next").await;
    click(&c, "#open-case").await;
    let memo = wait_for_text(&c, "Verdict:").await;
    let verdict = c
        .find(Locator::Css(".verdict-panel h2 .badge"))
        .await
        .expect("verdict badge")
        .text()
        .await
        .expect("text");
    assert_eq!(verdict, "Red", "the verdict says its colour in words");
    assert!(memo.contains("Baseline:"));
    assert!(
        memo.contains("Partner on a sanctions") || memo.contains("restricted"),
        "{memo}"
    );
    assert!(memo.contains("Harbin Institute of Technology"));
    assert!(
        memo.contains("Resolved findings"),
        "personal data is resolved by the two mitigations"
    );
    assert!(
        memo.contains("Benefits: High"),
        "two benefits plus e-health on the Strategic Agenda"
    );
    assert!(memo.contains(app.state.rulebook_now().version()));

    c.close().await.expect("closing the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_and_a_reviewer_carry_a_case_from_draft_to_decision_in_two_browsers() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let app = TestApp::new().await;
    let reviewer_user = app.user("reviewer", None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver_o, officer, _profile_o) = start_browser(&chromium, &driver).await;
    let (_driver_r, reviewer, _profile_r) = start_browser(&chromium, &driver).await;

    // The officer records and submits a case.
    sign_in(&officer, &base, &app.officer.email).await;
    officer
        .goto(&format!("{base}/projects/new"))
        .await
        .expect("goto");
    type_into(&officer, "#title", "Antimicrobial resistance surveillance").await;
    type_into(&officer, "#lead_researcher", "Dr. Jan de Vries").await;
    click(&officer, "form[action='/projects'] button[type=submit]").await;
    wait_for_text(&officer, "Project created").await;
    click(&officer, "form[action$='/assessments'] button").await;
    wait_for_text(&officer, "Step 1 of 9").await;
    click(&officer, "#area-clinical_health").await;
    officer
        .find(Locator::Css("#sub_area"))
        .await
        .expect("sub_area")
        .select_by_value("clin_antimicrobial_resistance")
        .await
        .expect("select");
    next(&officer).await;
    wait_for_text(&officer, "Step 2 of 9").await;
    type_into(&officer, "#partner_name", "Tianjin Medical University").await;
    officer
        .goto(&format!(
            "{}review",
            officer
                .current_url()
                .await
                .expect("url")
                .as_str()
                .trim_end_matches("steps/2")
        ))
        .await
        .expect("review");
    wait_for_text(&officer, "Check your answers before submitting").await;
    click(&officer, "#declaration").await;
    click(&officer, "form.submit-form button").await;
    wait_for_text(&officer, "Case submitted").await;
    click(&officer, "#open-case").await;
    wait_for_text(&officer, "Verdict:").await;
    let case_url = officer
        .current_url()
        .await
        .expect("url")
        .as_str()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();

    // The reviewer finds it in the queue and returns it with a message.
    sign_in(&reviewer, &base, &reviewer_user.email).await;
    reviewer
        .goto(&format!("{base}/review"))
        .await
        .expect("queue");
    wait_for_text(&reviewer, "Antimicrobial resistance surveillance").await;
    click(&reviewer, "table.data a").await;
    wait_for_text(&reviewer, "Ask for more information").await;
    type_into(
        &reviewer,
        "#message",
        "Which mitigations are in place for the data?",
    )
    .await;
    click(&reviewer, "form[action$='/return'] button").await;
    wait_for_text(&reviewer, "Case returned to the officer").await;

    // The officer reads the request, answers it and resubmits.
    officer.goto(&case_url).await.expect("case");
    wait_for_text(&officer, "Which mitigations are in place for the data?").await;
    type_into(
        &officer,
        "#answer",
        "A data management plan and a legal review are now recorded.",
    )
    .await;
    click(&officer, "form[action$='/requests/answer'] button").await;
    wait_for_text(&officer, "Answer saved").await;
    officer
        .goto(&format!("{case_url}/steps/9"))
        .await
        .expect("step 9");
    wait_for_text(&officer, "Step 9 of 9").await;
    click(&officer, "#mitigations-legal_compliance_review").await;
    click(&officer, "#mitigations-data_management_plan").await;
    next(&officer).await;
    wait_for_text(&officer, "Check your answers before submitting").await;
    click(&officer, "#declaration").await;
    click(&officer, "form.submit-form button").await;
    wait_for_text(&officer, "Case resubmitted").await;

    // The reviewer sees what changed and overrides the verdict with a justification.
    reviewer.goto(&case_url).await.expect("case");
    wait_for_text(&reviewer, "What changed between submissions").await;
    click(&reviewer, "#outcome-override").await;
    click(&reviewer, "#final_verdict-red").await;
    type_into(
        &reviewer,
        "#justification",
        "Samples would leave China without an approved route.",
    )
    .await;
    type_into(
        &reviewer,
        "#conditions",
        "Approval of the sample transfer before start",
    )
    .await;
    click(&reviewer, "form[action$='/decision'] button").await;
    wait_for_text(&reviewer, "Check your decision before it is recorded").await;
    click(&reviewer, "button[name=_action][value=confirm]").await;
    wait_for_text(&reviewer, "Decision recorded").await;

    // The officer sees the decision.
    officer.goto(&case_url).await.expect("case");
    let page = wait_for_text(&officer, "The reviewer overrode the computed verdict.").await;
    assert!(
        page.contains("Samples would leave China without an approved route."),
        "{page}"
    );
    assert!(page.contains("Approval of the sample transfer before start"));
    assert!(page.contains("Decided"));
    let final_badge = officer
        .find(Locator::Css(".verdict-pair div:nth-child(2) .badge"))
        .await
        .expect("final verdict")
        .text()
        .await
        .expect("text");
    assert_eq!(final_badge, "Red");
    officer.close().await.expect("close");
    reviewer.close().await.expect("close");
}

/// axe-core's script, installed by `npm install` (see package.json).
fn axe_script() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            let message = "SKIPPED: accessibility test needs axe-core (run `npm install` in the project folder)";
            if std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{message}, and TRIAGE_REQUIRE_BROWSER=1 makes that a failure");
            }
            eprintln!(
                "\n********************************************************************\n{message}\n********************************************************************\n"
            );
            None
        }
    }
}

/// Runs axe-core on the current page for WCAG 2.1 A and AA; returns the violations.
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("injecting axe-core");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
          .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                 v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
          .catch(e => done(['axe failed: ' + e]));
    "#;
    let result = c
        .execute_async(script, vec![])
        .await
        .expect("running axe-core");
    serde_json::from_value(result).unwrap_or_default()
}

async fn sign_out(c: &Client) {
    if c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .is_ok()
    {
        click(c, "form[action='/logout'] button").await;
        wait_for_text(c, "Sign in").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_type_passes_axe_core_at_wcag_2_1_aa() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let app = TestApp::new().await;
    // Cases of revision 1 under the active revision 2: case pages say what changes.
    let r1 = triage::domain::rulebook::Rulebook::parse(triage::state::RULEBOOK_R1).expect("r1");
    triage::demo::seed(&app.state, &r1, 80, 11)
        .await
        .expect("seed");
    let pool = &app.db.pool;
    let (activation, active) = app.state.active().await.expect("active rulebook");
    let report = triage::simulation::simulate(pool, active.clone())
        .await
        .expect("simulate");
    assert!(report.changed_colour > 0);
    let simulation = triage::db::rulebooks::insert_simulation(
        pool,
        active.version(),
        Some(activation),
        None,
        &report,
    )
    .await
    .expect("store the simulation");
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .fetch_one(pool)
            .await
            .expect(sql)
    };
    let draft = one("SELECT a.id FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'Universiteit Leiden' AND a.status = 'draft' LIMIT 1").await;
    let own_case = one("SELECT a.id FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'Universiteit Leiden' AND a.status = 'decided' LIMIT 1").await;
    let project = one("SELECT a.project_id FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'Universiteit Leiden' LIMIT 1").await;
    let waiting =
        one("SELECT id FROM assessments WHERE status = 'submitted' ORDER BY submitted_at LIMIT 1")
            .await;
    let other =
        one("SELECT id FROM assessments WHERE status = 'decided' ORDER BY id LIMIT 1").await;
    let user = one("SELECT id FROM users WHERE email = 'officer1@triage.demo'").await;
    // A possible register match on the draft's partner step, a screening event on the
    // waiting case, and an upload waiting for its preview.
    sqlx::query("UPDATE assessments SET answers = jsonb_set(answers, '{partner_name}', '\"Tsinhua University, Department of Physics\"') WHERE id = $1")
        .bind(draft)
        .execute(pool)
        .await
        .expect("partner name");
    let revision = triage::db::register::revision(pool)
        .await
        .expect("revision")
        .expect("a register");
    let mut tx = pool.begin().await.expect("tx");
    triage::db::screening::record_event(
        &mut tx,
        waiting,
        revision,
        "Since the submission of 3 March 2026 the partner is on a sanctions or restricted-party list (Entity List, since 2025-03-25).",
        Some("none"),
        "match:x:restricted_list",
        &[],
        "orange",
        "red",
    )
    .await
    .expect("event");
    tx.commit().await.expect("commit");
    let admin_id = one("SELECT id FROM users WHERE email = 'admin@triage.demo'").await;
    let upload = triage::db::register::insert_upload(
        pool,
        "partner-register.toml",
        include_bytes!("../register/partner-register.toml"),
        Some(revision),
        admin_id,
    )
    .await
    .expect("upload");

    // A file attached to the officer's decided case (the list shows its record).
    sqlx::query(
        "INSERT INTO attachments (id, assessment_id, target, file_name, media_type, size_bytes, sha256, storage_key, note, uploaded_by)
         VALUES ($1, $2, 'case', 'export-check.pdf', 'application/pdf', 1200, repeat('ab', 32), 'cases/axe/1', 'Signed by the export-control officer', $3)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(own_case)
    .bind(user)
    .execute(pool)
    .await
    .expect("an attachment");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;

    let mut pages: Vec<(&str, Option<&str>, Vec<String>)> = vec![(
        "anonymous",
        None,
        vec![
            "/".into(),
            "/areas".into(),
            "/areas/ai".into(),
            "/areas/quantum".into(),
            "/rulebook".into(),
            "/login".into(),
            "/nowhere".into(),
        ],
    )];
    let mut officer_pages: Vec<String> = vec![
        "/".into(),
        "/projects".into(),
        "/projects/new".into(),
        format!("/projects/{project}"),
        format!("/assessments/{draft}/review"),
        format!("/assessments/{draft}"),
        format!("/assessments/{own_case}"),
        format!("/assessments/{own_case}/report"),
        format!("/assessments/{own_case}/attachments"),
        format!("/assessments/{own_case}/mitigations"),
        "/cases".into(),
        "/cases?verdict=purple".into(),
        "/dashboard".into(),
        "/partners?name=HIT".into(),
        "/register".into(),
        "/register?q=Harbin+Institute+of+Technology%2C+School+of+Physics".into(),
        "/register/entries/hit-shenzhen".into(),
        "/account".into(),
        "/account/two-factor".into(),
    ];
    for step in 1..=9 {
        officer_pages.push(format!("/assessments/{draft}/steps/{step}"));
    }
    pages.push(("officer1@triage.demo", None, officer_pages));
    pages.push((
        "reviewer1@triage.demo",
        None,
        vec![
            "/".into(),
            "/review".into(),
            "/review?screening=changed".into(),
            "/cases?screening=changed".into(),
            format!("/assessments/{waiting}"),
            format!("/compare?id={waiting}&id={other}"),
            "/cases?sort=title".into(),
            "/dashboard".into(),
            format!("/rulebooks/simulations/{simulation}"),
        ],
    ));
    pages.push((
        "admin@triage.demo",
        None,
        vec![
            "/".into(),
            "/admin".into(),
            "/admin/users".into(),
            format!("/admin/users/{user}"),
            "/admin/institutions".into(),
            "/admin/register".into(),
            format!("/admin/register/uploads/{upload}"),
            "/admin/register/entries/new".into(),
            "/admin/register/entries/hit/edit".into(),
            "/register/entries/hit".into(),
            "/admin/settings".into(),
            "/admin/outbox".into(),
            "/admin/audit".into(),
            "/rulebooks".into(),
            format!("/rulebooks/simulations/{simulation}"),
        ],
    ));

    let mut failures = Vec::new();
    let mut checked = 0;
    for (who, _, urls) in &pages {
        sign_out(&c).await;
        if *who != "anonymous" {
            c.goto(&format!("{base}/login")).await.expect("goto");
            type_into(&c, "#email", who).await;
            type_into(&c, "#password", triage::demo::DEMO_PASSWORD).await;
            click(&c, "form[action='/login'] button").await;
            wait_for_text(&c, "Research areas by colour").await;
        }
        for url in urls {
            c.goto(&format!("{base}{url}")).await.expect("goto");
            for v in axe_violations(&c, &axe).await {
                failures.push(format!("{who} {url}: {v}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 35, "checked {checked} pages");
    assert!(
        failures.is_empty(),
        "axe-core violations:\n{}",
        failures.join("\n")
    );
    // A control: the harness does report a violation when there is one.
    c.execute("const i = document.createElement('img'); i.src = '/static/favicon.svg'; document.querySelector('main').appendChild(i);", vec![])
        .await
        .expect("add an image without alt text");
    let control = axe_violations(&c, &axe).await;
    assert!(
        control.iter().any(|v| v.starts_with("image-alt")),
        "axe-core did not run: {control:?}"
    );
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wizard_step_is_answered_and_saved_with_the_keyboard_alone() {
    use fantoccini::key::Key;
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let app = TestApp::new().await;
    let project = app.create_project("Keyboard only").await;
    let id = app.start_assessment(&project).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;

    let active_id = |c: &Client| {
        let c = c.clone();
        async move {
            match c.active_element().await {
                Ok(el) => el.attr("id").await.ok().flatten().unwrap_or_default(),
                Err(_) => String::new(),
            }
        }
    };
    let press = |c: &Client, key: Key| {
        let c = c.clone();
        async move {
            let el = c.active_element().await.expect("focus");
            el.send_keys(&char::from(key).to_string())
                .await
                .expect("key");
        }
    };

    // Sign in with the keyboard: the first Tab stop is the skip link.
    c.goto(&format!("{base}/login")).await.expect("goto");
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys(&char::from(Key::Tab).to_string())
        .await
        .expect("tab");
    let first = c
        .active_element()
        .await
        .expect("focus")
        .text()
        .await
        .unwrap_or_default();
    assert_eq!(first, "Skip to main content");
    for _ in 0..30 {
        if active_id(&c).await == "email" {
            break;
        }
        press(&c, Key::Tab).await;
    }
    assert_eq!(
        active_id(&c).await,
        "email",
        "the email field is reachable by Tab"
    );
    c.active_element()
        .await
        .expect("email")
        .send_keys(&app.officer.email)
        .await
        .expect("type");
    press(&c, Key::Tab).await;
    assert_eq!(active_id(&c).await, "password");
    c.active_element()
        .await
        .expect("password")
        .send_keys(common::PASSWORD)
        .await
        .expect("type");
    press(&c, Key::Enter).await;
    wait_for_text(&c, "Research areas by colour").await;

    // Step 3: Tab to the radio group, arrow to "No", Tab to "Save and continue", Enter.
    c.goto(&format!("{base}/assessments/{id}/steps/3"))
        .await
        .expect("goto");
    wait_for_text(&c, "Step 3 of 9").await;
    // Start from the top of the page content, as the skip link would.
    c.execute("document.getElementById('main').focus();", vec![])
        .await
        .expect("focus main");
    for _ in 0..40 {
        if active_id(&c).await.starts_with("export_controlled_items-") {
            break;
        }
        press(&c, Key::Tab).await;
    }
    assert_eq!(
        active_id(&c).await,
        "export_controlled_items-yes",
        "the radio group is reachable by Tab"
    );
    press(&c, Key::Down).await;
    assert_eq!(active_id(&c).await, "export_controlled_items-no");
    for _ in 0..40 {
        let el = c.active_element().await.expect("focus");
        if el.attr("value").await.ok().flatten().as_deref() == Some("next") {
            break;
        }
        press(&c, Key::Tab).await;
    }
    press(&c, Key::Enter).await;
    wait_for_text(&c, "Step 4 of 9").await;
    let saved: serde_json::Value =
        sqlx::query_scalar("SELECT answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("answers");
    assert_eq!(saved["export_controlled_items"], "no");
    c.close().await.expect("close");
}

/// The reviewer's day: the queue (filtered), "assign to me", a return about one question,
/// the answered resubmission at the top of the case, a decision checked on its
/// confirmation page, and the second reviewer's co-signature of a lowered Red verdict;
/// axe-core on every new page on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_the_queue_and_a_lowered_red_verdict_needs_a_second_signature() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let app = TestApp::new().await;
    // A Red case (quantum sensing) and an Orange one, submitted by the officer.
    let project = app.create_project("Quantum magnetometry").await;
    let red = app.start_assessment(&project).await;
    app.save_step(
        &red,
        1,
        &[("area", "quantum"), ("sub_area", "quantum_sensing")],
    )
    .await;
    assert_eq!(app.submit(&red).await.status.as_u16(), 303);
    app.submitted_case("Grid storage").await;
    let first = app.user("reviewer", None).await;
    let second = app.user("reviewer", None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;
    let mut failures = Vec::new();
    let axe_here = |who: &'static str| {
        let (c, axe) = (&c, &axe);
        async move {
            let url = c.current_url().await.expect("url").to_string();
            axe_violations(c, axe)
                .await
                .into_iter()
                .map(|v| format!("{who} {url}: {v}"))
                .collect::<Vec<_>>()
        }
    };

    // The queue, filtered to Red cases.
    sign_in(&c, &base, &first.email).await;
    c.goto(&format!("{base}/review")).await.expect("queue");
    wait_for_text(&c, "2 cases waiting for a reviewer").await;
    failures.extend(axe_here("reviewer").await);
    c.find(Locator::Css("#verdict"))
        .await
        .expect("verdict filter")
        .select_by_value("red")
        .await
        .expect("select");
    click(&c, "form.queue-filters button").await;
    wait_for_text(&c, "1 case waiting for a reviewer").await;
    c.goto(&format!("{base}/review?waiting=soon"))
        .await
        .expect("bad filter");
    wait_for_text(&c, "Waiting at least: write a whole number of days").await;
    failures.extend(axe_here("reviewer").await);
    c.goto(&format!("{base}/review?verdict=red"))
        .await
        .expect("queue");
    click(&c, "table.data th[scope=row] a").await;

    // Assign to me, then return it with a request about the partner's department.
    wait_for_text(&c, "Not assigned").await;
    click(&c, "form[action$='/assign'] button").await;
    wait_for_text(&c, "Assigned to you").await;
    failures.extend(axe_here("reviewer").await);
    type_into(
        &c,
        "#message",
        "Which laboratory at the partner does the work?",
    )
    .await;
    c.find(Locator::Css("#question"))
        .await
        .expect("question")
        .select_by_value("partner_unit")
        .await
        .expect("select");
    click(&c, "form[action$='/return'] button").await;
    wait_for_text(&c, "Case returned to the officer").await;

    // The officer answers and resubmits (their own pages are tested elsewhere).
    app.answer_requests(&red).await;
    assert_eq!(app.submit(&red).await.status.as_u16(), 303);

    // Request, answer and what changed come first; the decision is checked, then made.
    c.goto(&format!("{base}/assessments/{red}"))
        .await
        .expect("case");
    wait_for_text(&c, "Resubmitted: the request, the answer and what changed").await;
    failures.extend(axe_here("reviewer").await);
    click(&c, "#outcome-override").await;
    click(&c, "#final_verdict-orange").await;
    type_into(
        &c,
        "#justification",
        "Basic research on magnetometry with no military end user.",
    )
    .await;
    click(&c, "form[action$='/decision'] button").await;
    wait_for_text(&c, "Check your decision before it is recorded").await;
    wait_for_text(&c, "A second reviewer must co-sign this decision.").await;
    failures.extend(axe_here("reviewer").await);
    click(&c, "button[name=_action][value=confirm]").await;
    wait_for_text(&c, "takes effect when a second reviewer co-signs it").await;
    wait_for_text(
        &c,
        "You made this decision, so another reviewer must co-sign it.",
    )
    .await;
    failures.extend(axe_here("reviewer").await);

    // The second reviewer co-signs; the final verdict is Orange.
    sign_out(&c).await;
    sign_in(&c, &base, &second.email).await;
    c.goto(&format!("{base}/review?status=cosign"))
        .await
        .expect("queue");
    wait_for_text(&c, "Quantum magnetometry").await;
    c.goto(&format!("{base}/assessments/{red}"))
        .await
        .expect("case");
    click(&c, "form[action$='/cosign'] button").await;
    wait_for_text(&c, "Decision co-signed").await;
    let final_badge = c
        .find(Locator::Css(".verdict-pair div:nth-child(2) .badge"))
        .await
        .expect("final verdict")
        .text()
        .await
        .expect("text");
    assert_eq!(final_badge, "Orange");
    failures.extend(axe_here("reviewer").await);
    c.close().await.expect("close");
    assert!(
        failures.is_empty(),
        "axe-core violations:\n{}",
        failures.join("\n")
    );
}

/// How wide the page is, against the window's width.
async fn scroll_width(c: &Client) -> i64 {
    c.execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .expect("scrollWidth")
        .as_i64()
        .unwrap_or(i64::MAX)
}

/// The officer's day (issue 10) on a 390-pixel phone: the start page with a draft that
/// needs action, the step list folded, check answers, the declaration, the confirmation
/// with the reference; nothing wider than the screen; every new page at zero axe-core
/// violations; and the committee report printed to PDF with "Page x of y", the
/// reference and the confidentiality marking on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officers_day_on_a_phone_and_the_report_printed_to_pdf() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let app = TestApp::new().await;
    let (officer_user, officer) = app.signed_in("officer", Some(app.institution_a)).await;
    // A draft to continue, and a project whose details may still change.
    let project = officer
        .create_project("Phone-sized photonics project")
        .await;
    let id = officer.start_assessment(&project).await;
    officer
        .save_step(
            &id,
            1,
            &[("area", "green_development"), ("sub_area", "green_grid")],
        )
        .await;
    let editable = officer
        .create_project("Project with details to change")
        .await;
    let other = officer.create_project("Draft to delete").await;
    let to_delete = officer.start_assessment(&other).await;
    let reference: String =
        sqlx::query_scalar("SELECT reference FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("reference");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;
    c.set_window_size(390, 844).await.expect("phone size");
    let width: i64 = c
        .execute("return window.innerWidth;", vec![])
        .await
        .expect("width")
        .as_i64()
        .unwrap_or_default();
    assert!(width <= 390, "the window is {width} pixels wide");
    sign_in(&c, &base, &officer_user.email).await;

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("phone");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let mut failures = Vec::new();
    let check = |c: Client, name: &'static str| {
        let shots = shots.clone();
        let axe = axe.clone();
        async move {
            let mut problems = Vec::new();
            let w = scroll_width(&c).await;
            if w > 390 {
                problems.push(format!(
                    "{name}: the page is {w} pixels wide on a 390-pixel phone"
                ));
            }
            if let Ok(png) = c.screenshot().await {
                std::fs::write(shots.join(format!("{name}.png")), png).expect("screenshot");
            }
            for v in axe_violations(&c, &axe).await {
                problems.push(format!("{name}: {v}"));
            }
            problems
        }
    };

    // The start page: the draft needs action.
    c.goto(&format!("{base}/")).await.expect("start");
    wait_for_text(&c, "Needs your action").await;
    wait_for_text(&c, &reference).await;
    failures.extend(check(c.clone(), "start").await);
    c.goto(&format!("{base}/projects?scope=institution"))
        .await
        .expect("projects");
    wait_for_text(&c, "Phone-sized photonics project").await;
    failures.extend(check(c.clone(), "projects").await);
    c.goto(&format!("{base}/cases")).await.expect("cases");
    failures.extend(check(c.clone(), "cases").await);
    c.goto(&format!("{base}/projects/{editable}/edit"))
        .await
        .expect("edit");
    wait_for_text(&c, "Change the project details").await;
    failures.extend(check(c.clone(), "project-edit").await);
    c.goto(&format!("{base}/assessments/{to_delete}/delete"))
        .await
        .expect("delete");
    wait_for_text(&c, "Yes, delete this draft").await;
    failures.extend(check(c.clone(), "delete-draft").await);

    // The step: its list of steps is folded on a phone, and the counter runs.
    c.goto(&format!("{base}/assessments/{id}/steps/9"))
        .await
        .expect("step");
    wait_for_text(&c, "Step 9 of 9").await;
    let open = c
        .execute(
            "return document.querySelector('details.step-list').open;",
            vec![],
        )
        .await
        .expect("details");
    assert_eq!(
        open,
        serde_json::Value::Bool(false),
        "the step list is open on a phone"
    );
    failures.extend(check(c.clone(), "step").await);
    if c.find(Locator::Css("textarea[data-maxlength]"))
        .await
        .is_ok()
    {
        let counter = c
            .execute(
                "const t = document.querySelector('textarea[data-maxlength]'); t.value = 'abc'; t.dispatchEvent(new Event('input')); return document.getElementById(t.id + '-count').textContent;",
                vec![],
            )
            .await
            .expect("counter");
        assert!(
            counter.as_str().is_some_and(|t| t.contains("remaining")),
            "no character count: {counter}"
        );
    }

    // Check answers, the declaration, the confirmation with the reference.
    c.goto(&format!("{base}/assessments/{id}/review"))
        .await
        .expect("review");
    wait_for_text(&c, "Check your answers before submitting").await;
    failures.extend(check(c.clone(), "check-answers").await);
    click(&c, "form.submit-form button").await;
    wait_for_text(&c, "Declaration: tick").await;
    click(&c, "#declaration").await;
    click(&c, "form.submit-form button").await;
    wait_for_text(&c, "Case submitted").await;
    let confirmation = wait_for_text(&c, "What happens next").await;
    assert!(
        confirmation.contains(&reference),
        "no reference on the confirmation"
    );
    failures.extend(check(c.clone(), "confirmation").await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The report, printed to PDF as Chromium prints it.
    c.set_window_size(1280, 900).await.expect("desktop size");
    c.goto(&format!("{base}/assessments/{id}/report"))
        .await
        .expect("report");
    wait_for_text(&c, "Every answer").await;
    let pdf = c
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("printing to PDF");
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.pdf");
    std::fs::write(&file, &pdf).expect("write the PDF");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(pages.len() >= 2, "the report has {} page(s)", pages.len());
    let total = pages.len();
    for (i, page) in pages.iter().enumerate() {
        let n = i + 1;
        assert!(
            page.contains(&format!("Page {n} of {total}")),
            "page {n} has no \"Page {n} of {total}\":\n{page}"
        );
        assert!(page.contains(&reference), "page {n} has no reference");
        assert!(
            page.contains("Confidential"),
            "page {n} has no confidentiality marking"
        );
    }
    c.close().await.expect("close");
}
