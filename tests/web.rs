//! The web application through its real router on a fresh database: every route,
//! the wizard round trip, draft resume, bad input and concurrent edits.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use common::TestApp;

/// Answers for each of the nine steps that make a clean orange AI case.
fn walk() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![
            ("area", "ai"),
            ("sub_area", "ai_health"),
            ("research_stage", "applied"),
            ("dual_use_potential", "no"),
            ("intended_military_use", "no"),
            ("surveillance_use", "no"),
        ],
        vec![
            ("partner_name", "Tsinghua University"),
            ("partner_type", "university"),
            ("partner_location", "Beijing"),
            ("partner_military_links", "no"),
            ("partner_restricted_list", "no"),
            ("affiliations_disclosed", "yes"),
            ("talent_programme", "no"),
            ("partner_funding", "nsfc"),
            ("partner_funding", "eu_or_member_state"),
            ("local_rules_checked", "yes"),
        ],
        vec![("export_controlled_items", "no")],
        vec![
            ("personal_data", "yes"),
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
            ("human_subjects", "yes"),
            ("ethics_approval_both", "yes"),
            ("animal_research", "none"),
            ("germline_editing", "no"),
        ],
        vec![
            ("sensitive_topics", "no"),
            ("pressure_signs", "no"),
            ("dependency", "no"),
            ("shared_it_systems", "yes"),
        ],
        vec![
            ("benefits", "global_challenge"),
            ("benefits", "unique_access"),
            ("benefit_notes", "Access to a <b>large</b> clinical cohort."),
        ],
        vec![
            ("mitigations", "legal_compliance_review"),
            ("mitigations", "access_controls"),
        ],
    ]
}

#[tokio::test]
async fn the_public_pages_answer() {
    let app = TestApp::new().await;
    for (path, needle) in [
        ("/", "Research areas by colour"),
        ("/areas/quantum", "Quantum"),
        ("/areas/green_development", "Green"),
        ("/rulebook", "Rules"),
        ("/projects", "Projects"),
        ("/projects/new", "Record a new project"),
        ("/register", "Harbin Institute of Technology"),
        ("/register/match?name=HIT", "Harbin Institute of Technology"),
        ("/register/match?name=Fudan%20University", "no entry found"),
        ("/healthz", "ok"),
        ("/static/triage.css", "--green"),
        ("/static/triage.js", "applyBranching"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        r.assert_contains(needle);
    }
}

#[tokio::test]
async fn unknown_addresses_and_malformed_ids_are_404_pages() {
    let app = TestApp::new().await;
    for path in [
        "/nowhere",
        "/areas/astrology",
        "/projects/not-a-uuid",
        "/projects/00000000-0000-0000-0000-000000000000",
        "/assessments/00000000-0000-0000-0000-000000000000",
        "/assessments/xyz/steps/1",
        "/assessments/00000000-0000-0000-0000-000000000000/review",
        "/static/secret.txt",
        "/static/..%2fCargo.toml",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let project = app.create_project("Wave energy").await;
    let assessment = app.start_assessment(&project).await;
    for step in ["0", "10", "-1", "99999999999999999999", "two"] {
        let r = app
            .get(&format!("/assessments/{assessment}/steps/{step}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "step {step}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/", "/nowhere", "/api/v1/rulebook"] {
        let r = app.get(path).await;
        let csp = r
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            r.headers
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert!(r.headers.get(header::REFERRER_POLICY).is_some(), "{path}");
    }
}

#[tokio::test]
async fn a_project_form_with_errors_keeps_every_entry_and_says_what_is_wrong() {
    let app = TestApp::new().await;
    let r = app
        .post_form(
            "/projects",
            &[
                ("title", ""),
                ("lead_researcher", "Dr. <script>alert(1)</script>"),
                ("summary", "Kept summary text"),
                ("planned_start", "next spring"),
                ("duration_months", "forty"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("Kept summary text");
    r.assert_contains("next spring");
    r.assert_contains("forty");
    r.assert_contains("Dr. &#60;script&#62;alert(1)&#60;/script&#62;");
    assert!(!r.body.contains("<script>alert(1)"), "user text is escaped");
    r.assert_contains("id=\"title-error\"");
    r.assert_contains("id=\"planned_start-error\"");
    r.assert_contains("id=\"duration_months-error\"");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(n, 0, "nothing is stored from an invalid form");
}

#[tokio::test]
async fn malformed_form_bodies_get_a_clear_400_not_a_500() {
    let app = TestApp::new().await;
    let token = app.csrf().await;
    let r = app
        .send(
            Request::post("/projects")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(
                    [
                        format!("_csrf={token}&").as_bytes(),
                        &[0xff, 0xfe, b'=', b'%'],
                    ]
                    .concat(),
                ))
                .expect("request"),
        )
        .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.status
    );
    let big = "x".repeat(400 * 1024);
    let r = app.post_form("/projects", &[("title", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::post("/projects")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from("title=x&lead_researcher=y"))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(
            Request::post("/projects")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::HOST, "triage.example")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::from("title=x&lead_researcher=y"))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn an_officer_walks_every_step_to_an_explained_verdict() {
    let app = TestApp::new().await;
    let project = app
        .create_project("Federated learning for cardiology")
        .await;
    let page = app.get(&format!("/projects/{project}")).await;
    page.assert_contains("Federated learning for cardiology");
    page.assert_contains("Start the assessment");
    let id = app.start_assessment(&project).await;

    for (i, fields) in walk().iter().enumerate() {
        let step = i + 1;
        let page = app.get(&format!("/assessments/{id}/steps/{step}")).await;
        assert_eq!(page.status, StatusCode::OK, "step {step}");
        page.assert_contains(&format!("Step {step} of 9"));
        let r = app.save_step(&id, step, fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "step {step}: {}", r.body);
        let next = if step == 9 {
            format!("/assessments/{id}/review")
        } else {
            format!("/assessments/{id}/steps/{}", step + 1)
        };
        assert_eq!(r.location(), next);
    }

    let review = app.get(&format!("/assessments/{id}/review")).await;
    review.assert_contains("Tsinghua University");
    review.assert_contains("Provisional verdict");
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/submit"),
            &[("_version", &version), ("declaration", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let memo = app.get(&format!("/assessments/{id}")).await;
    assert_eq!(memo.status, StatusCode::OK);
    memo.assert_contains("Verdict:");
    memo.assert_contains("Orange");
    memo.assert_contains("Baseline:");
    memo.assert_contains("Open findings");
    memo.assert_contains("Resolved findings");
    memo.assert_contains("Benefits: Medium");
    memo.assert_contains("Access to a &#60;b&#62;large&#60;/b&#62; clinical cohort.");
    memo.assert_contains(app.state.rulebook_now().version());
    memo.assert_contains("Tsinghua University");
    // Personal data with only the legal review recorded: open, with the missing mitigation named.
    memo.assert_contains("finding-personal_data");
    memo.assert_contains("Recording Data management plan would resolve it.");
    // Shared IT systems with access controls: resolved.
    memo.assert_contains("finding-shared_it_systems");
    memo.assert_contains("Resolved by Access controls");

    let stored: (String, String) =
        sqlx::query_as("SELECT status, verdict FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!(stored, ("submitted".to_owned(), "orange".to_owned()));

    // Submitted answers are locked.
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/1"),
            &[("_version", &version), ("area", "quantum")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let area: Option<String> =
        sqlx::query_scalar("SELECT area_code FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("area");
    assert_eq!(area.as_deref(), Some("ai"));
    let r = app.get(&format!("/assessments/{id}/steps/2")).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a submitted case opens on its memo"
    );
    let r = app
        .post_form(
            &format!("/assessments/{id}/submit"),
            &[("_version", &version), ("declaration", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_draft_is_saved_at_every_step_and_resumes_where_it_was_left() {
    let app = TestApp::new().await;
    let project = app.create_project("Drought-tolerant rice").await;
    let id = app.start_assessment(&project).await;
    let steps = walk();
    app.save_step(
        &id,
        1,
        &[
            ("area", "biotech"),
            ("sub_area", "bio_crop_livestock_breeding"),
        ],
    )
    .await;
    let r = app.save_step(&id, 2, &steps[1]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // "Leave" and come back: the project page offers to continue at step 3, and answers are there.
    let page = app.get(&format!("/projects/{project}")).await;
    page.assert_contains(&format!("/assessments/{id}/steps/3"));
    let step2 = app.get(&format!("/assessments/{id}/steps/2")).await;
    step2.assert_contains("value=\"Tsinghua University\"");
    step2.assert_contains(
        "id=\"partner_funding-nsfc\" name=\"partner_funding\" value=\"nsfc\" checked",
    );
    let step1 = app.get(&format!("/assessments/{id}/steps/1")).await;
    step1.assert_contains("value=\"bio_crop_livestock_breeding\" selected");

    // Save draft stays on the page and says so.
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/3"),
            &[
                ("_version", &version),
                ("_action", "save"),
                ("export_controlled_items", "unknown"),
            ],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/assessments/{id}/steps/3?notice=saved")
    );
    let page = app.get(r.location()).await;
    page.assert_contains("Draft saved");
    page.assert_contains("id=\"export_controlled_items-unknown\" name=\"export_controlled_items\" value=\"unknown\" checked");

    // Back goes to the previous step and keeps what was entered on this one.
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/4"),
            &[
                ("_version", &version),
                ("_action", "back"),
                ("personal_data", "yes"),
            ],
        )
        .await;
    assert_eq!(r.location(), format!("/assessments/{id}/steps/3"));
    app.get(&format!("/assessments/{id}/steps/4"))
        .await
        .assert_contains("id=\"personal_data-yes\" name=\"personal_data\" value=\"yes\" checked");

    // The provisional result shows the draft's verdict and says it is provisional.
    let memo = app.get(&format!("/assessments/{id}")).await;
    memo.assert_contains("draft, provisional");
    memo.assert_contains("Not yet cleared");
}

#[tokio::test]
async fn bad_wizard_input_comes_back_with_422_every_entry_and_the_message_beside_its_field() {
    let app = TestApp::new().await;
    let project = app.create_project("Ocean sensors").await;
    let id = app.start_assessment(&project).await;

    // Next without the required area.
    let r = app
        .save_step(
            &id,
            1,
            &[("research_stage", "basic"), ("dual_use_potential", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"area-error\"");
    r.assert_contains(
        "id=\"research_stage-basic\" name=\"research_stage\" value=\"basic\" checked",
    );
    r.assert_contains(
        "id=\"dual_use_potential-yes\" name=\"dual_use_potential\" value=\"yes\" checked",
    );

    // A sub-area of another area, and a forged option value.
    let r = app
        .save_step(
            &id,
            1,
            &[
                ("area", "deep_sea"),
                ("sub_area", "quantum_sensing"),
                ("surveillance_use", "perhaps"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"sub_area-error\"");
    r.assert_contains("id=\"surveillance_use-error\"");
    r.assert_contains("id=\"area-deep_sea\" name=\"area\" value=\"deep_sea\" checked");

    // Too long a partner name is refused and shown back.
    let long = "A".repeat(301);
    let r = app
        .save_step(
            &id,
            2,
            &[("partner_name", &long), ("partner_location", "Qingdao")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"partner_name-error\"");
    r.assert_contains("value=\"Qingdao\"");

    // An exclusive option combined with another.
    let r = app
        .save_step(
            &id,
            6,
            &[
                ("animal_research", "none"),
                ("animal_research", "non_human_primates"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"animal_research-error\"");

    // Nothing of the invalid submissions was stored.
    let answers: serde_json::Value =
        sqlx::query_scalar("SELECT answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("answers");
    assert_eq!(answers, serde_json::json!({}));

    // A form without its version is a clear 400.
    let r = app
        .post_form(&format!("/assessments/{id}/steps/1"), &[("area", "ai")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn submitting_without_an_area_is_refused_and_keeps_the_draft() {
    let app = TestApp::new().await;
    let project = app.create_project("Glacier modelling").await;
    let id = app.start_assessment(&project).await;
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/7"),
            &[
                ("_version", &version),
                ("_action", "save"),
                ("dependency", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/submit"),
            &[("_version", &version), ("declaration", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("cannot be submitted yet");
    r.assert_contains("href=\"#a-area\"");
    let (status, answers): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!(status, "draft");
    assert_eq!(answers, serde_json::json!({"dependency": "yes"}));
}

#[tokio::test]
async fn a_second_editor_with_a_stale_page_gets_a_conflict_that_keeps_both_versions() {
    let app = TestApp::new().await;
    let project = app.create_project("Shared draft").await;
    let id = app.start_assessment(&project).await;
    let opened_by_both = app.lock_version(&id).await;

    let first = app
        .post_form(
            &format!("/assessments/{id}/steps/2"),
            &[
                ("_version", &opened_by_both),
                ("_action", "save"),
                ("partner_name", "Fudan University"),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);

    // A colleague of the same institution saves from the page they opened at the same time.
    let (_, colleague) = app.signed_in("officer", Some(app.institution_a)).await;
    let second = colleague
        .post_form(
            &format!("/assessments/{id}/steps/2"),
            &[
                ("_version", &opened_by_both),
                ("_action", "save"),
                ("partner_name", "Zhejiang University"),
                ("partner_location", "Hangzhou"),
            ],
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    second.assert_contains("changed by someone else");
    second.assert_contains("value=\"Zhejiang University\"");
    second.assert_contains("value=\"Hangzhou\"");
    second.assert_contains("Newer saved answer: Fudan University");

    let stored: Option<String> =
        sqlx::query_scalar("SELECT partner_name FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!(
        stored.as_deref(),
        Some("Fudan University"),
        "the first save was not overwritten"
    );

    // Saving again from the conflict page (which carries the new version) is a deliberate overwrite.
    let version = app.lock_version(&id).await;
    let again = app
        .post_form(
            &format!("/assessments/{id}/steps/2"),
            &[
                ("_version", &version),
                ("_action", "save"),
                ("partner_name", "Zhejiang University"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_partner_step_shows_the_register_match_as_it_is_found() {
    let app = TestApp::new().await;
    let project = app.create_project("Lightweight alloys").await;
    let id = app.start_assessment(&project).await;
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/2"),
            &[
                ("_version", &version),
                ("_action", "check"),
                ("partner_name", "harbin institute of technology (HIT)"),
            ],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/assessments/{id}/steps/2#partner-screening")
    );
    let page = app.get(&format!("/assessments/{id}/steps/2")).await;
    page.assert_contains("Harbin Institute of Technology");
    page.assert_contains("Partner register: match, with flags");
    page.assert_contains("US Entity List");
    page.assert_contains("since 2020-06-05");
}

#[tokio::test]
async fn branching_drops_answers_to_questions_no_longer_asked() {
    let app = TestApp::new().await;
    let project = app.create_project("Branching").await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        3,
        &[
            ("export_controlled_items", "no"),
            ("export_licence", "not_applied"),
        ],
    )
    .await;
    let answers: serde_json::Value =
        sqlx::query_scalar("SELECT answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("answers");
    assert_eq!(
        answers,
        serde_json::json!({"export_controlled_items": "no"})
    );
}

#[tokio::test]
async fn an_old_assessment_shows_the_verdict_and_reasons_of_its_own_rulebook() {
    let app = TestApp::new().await;
    let project = app.create_project("Reproducible").await;
    let id = app.start_assessment(&project).await;
    for (i, fields) in walk().iter().enumerate() {
        app.save_step(&id, i + 1, fields).await;
    }
    let version = app.lock_version(&id).await;
    app.post_form(
        &format!("/assessments/{id}/submit"),
        &[("_version", &version), ("declaration", "yes")],
    )
    .await;
    let before = app.get(&format!("/assessments/{id}")).await;
    let old_version = app.state.rulebook_now().version().to_owned();

    // A revised rulebook: every remedy reworded, so the version changes.
    let changed = triage::state::DEFAULT_RULEBOOK.replace("remedy = \"", "remedy = \"REVISED ");
    let app2 = TestApp::with_rulebook_on(&app, &changed).await;
    assert_ne!(app2.state.rulebook_now().version(), old_version);
    let after = app2.get(&format!("/assessments/{id}")).await;
    assert_eq!(after.status, StatusCode::OK);
    after.assert_contains(&old_version);
    assert!(!after.body.contains("REVISED"));
    assert_eq!(strip_volatile(&before.body), strip_volatile(&after.body));
    // New evaluations do use the new rulebook.
    let fresh = app2.create_project("Fresh").await;
    let fresh_id = app2.start_assessment(&fresh).await;
    app2.get(&format!("/assessments/{fresh_id}"))
        .await
        .assert_contains("REVISED");
}

/// The footer names the server's active rulebook; the memo itself must not change.
fn strip_volatile(page: &str) -> String {
    let start = page.find("<article class=\"memo\">").unwrap_or(0);
    let end = page.rfind("</article>").unwrap_or(page.len());
    // Each session has its own form token; the memo is otherwise identical.
    let memo = &page[start..end];
    let mut out = String::with_capacity(memo.len());
    let mut rest = memo;
    while let Some(at) = rest.find("name=\"_csrf\" value=\"") {
        let (head, tail) = rest.split_at(at + "name=\"_csrf\" value=\"".len());
        out.push_str(head);
        rest = tail.split_once('"').map_or("", |(_, after)| after);
        out.push('"');
    }
    out.push_str(rest);
    out
}
