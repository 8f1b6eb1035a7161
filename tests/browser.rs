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
    wait_for_text(&c, "Review and submit").await;
    click(&c, "form.submit-form button").await;
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
    assert!(memo.contains(app.state.rulebook().version()));

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
    wait_for_text(&officer, "Review and submit").await;
    click(&officer, "form.submit-form button").await;
    wait_for_text(&officer, "Assessment submitted").await;
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
    officer
        .goto(&format!("{case_url}/steps/9"))
        .await
        .expect("step 9");
    wait_for_text(&officer, "Step 9 of 9").await;
    click(&officer, "#mitigations-legal_compliance_review").await;
    click(&officer, "#mitigations-data_management_plan").await;
    next(&officer).await;
    wait_for_text(&officer, "Review and submit").await;
    click(&officer, "form.submit-form button").await;
    wait_for_text(&officer, "Resubmitted").await;

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
