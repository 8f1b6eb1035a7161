//! Partner screening through the real router and database: the live screening, the
//! officer's answer to a possible match, a reviewer's dismissal, official lists with a
//! preview before publishing, re-screening of submitted cases with screening events,
//! and cases grouped by register entry.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Client, TestApp, csrf_in};
use triage::domain::verdict::Evaluation;
use uuid::Uuid;

const CSL_HEADER: &str = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids";

/// A CSL row for an organisation on the Entity List.
fn csl_row(id: &str, name: &str, alt_names: &str, start: &str) -> String {
    let mut fields = vec![""; 29];
    fields[0] = id;
    fields[1] = "Entity List (EL) - Bureau of Industry and Security";
    fields[4] = "EAR";
    fields[5] = name;
    fields[8] = "90 FR 12345";
    fields[9] = start;
    fields[22] = alt_names;
    fields[27] = "https://www.bis.gov/entity-list";
    fields
        .iter()
        .map(|f| {
            if f.contains(',') || f.contains(';') {
                format!("\"{f}\"")
            } else {
                (*f).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn csl(rows: &[String]) -> String {
    format!("{CSL_HEADER}\n{}\n", rows.join("\n"))
}

async fn evaluation(app: &TestApp, id: &str) -> Evaluation {
    let json: serde_json::Value =
        sqlx::query_scalar("SELECT evaluation FROM assessments WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .expect("evaluation");
    serde_json::from_value(json).expect("an evaluation")
}

async fn draft_with_partner(app: &TestApp, title: &str, partner: &str) -> String {
    let project = app.create_project(title).await;
    let id = app.start_assessment(&project).await;
    let r = app
        .save_step(
            &id,
            1,
            &[
                ("area", "ai"),
                ("sub_area", "ai_nlp"),
                ("dual_use_potential", "no"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.save_step(&id, 2, &[("partner_name", partner)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    id
}

fn upload(token: &str, name: &str, content: &str) -> Request<Body> {
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    Request::post("/admin/register")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request")
}

async fn publish(admin: &Client, name: &str, content: &str) -> TestResponse {
    let token = csrf_in(&admin.get("/admin/register").await.body).expect("token");
    let r = admin.send(upload(&token, name, content)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let preview = admin.get(r.location()).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let base = preview
        .body
        .split("name=\"base_revision\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("base revision")
        .to_owned();
    admin
        .post_form(
            &format!("{}/publish", r.location()),
            &[("base_revision", &base)],
        )
        .await
}

use common::TestResponse;

#[tokio::test]
async fn the_partner_step_screens_a_name_with_its_department_and_the_memo_explains_it() {
    let app = TestApp::new().await;
    let id = draft_with_partner(
        &app,
        "Physics exchange",
        "Harbin Institute of Technology, School of Physics",
    )
    .await;
    let e = evaluation(&app, &id).await;
    let hit = e.register.as_ref().expect("a register hit");
    assert_eq!((hit.entry_id.as_str(), hit.possible), ("hit", false));
    assert!(hit.why.contains("School of Physics"), "{}", hit.why);
    assert!(
        hit.evidence
            .iter()
            .any(|f| f.flag == "restricted_list" && f.date == "2020-06-05")
    );
    assert_eq!(e.verdict.code(), "red");
    let step = app.get(&format!("/assessments/{id}/steps/2")).await;
    step.assert_contains("Partner register: match, with flags");
    step.assert_contains("appears as whole words");
    let memo = app.get(&format!("/assessments/{id}")).await;
    memo.assert_contains("Partner screening");
    memo.assert_contains("/register/entries/hit");
    // The live fragment screens Chinese with a department, too.
    let live = app.get("/register/match?name=%E5%93%88%E5%B0%94%E6%BB%A8%E5%B7%A5%E4%B8%9A%E5%A4%A7%E5%AD%A6%E7%89%A9%E7%90%86%E5%AD%A6%E9%99%A2").await;
    live.assert_contains("Harbin Institute of Technology");
    live.assert_contains("contiguous run of characters");
}

#[tokio::test]
async fn a_possible_match_is_not_yet_cleared_until_the_officer_answers_and_the_answer_is_recorded()
{
    let app = TestApp::new().await;
    let id = draft_with_partner(&app, "Language models", "Tsinhua University").await;
    let e = evaluation(&app, &id).await;
    assert!(e.register.as_ref().is_some_and(|h| h.possible));
    let f = e
        .findings
        .iter()
        .find(|f| f.code == "unknown_partner_identity")
        .expect("not yet cleared");
    assert_eq!(f.severity.code(), "orange");
    let step = app.get(&format!("/assessments/{id}/steps/2")).await;
    step.assert_contains("Is this the same organisation as Tsinghua University?");

    // "Yes": the entry's flags count, and the answer is audited.
    let r = app
        .save_step(
            &id,
            2,
            &[
                ("partner_name", "Tsinhua University"),
                ("partner_identity_entry", "tsinghua"),
                ("partner_identity", "same"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let e = evaluation(&app, &id).await;
    assert!(
        e.findings
            .iter()
            .all(|f| f.code != "unknown_partner_identity")
    );
    assert!(
        e.findings
            .iter()
            .any(|f| f.code.starts_with("military_links")),
        "{:#?}",
        e.findings
    );
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'assessment.partner_identity' AND assessment_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(audit, 1);

    // "No": another organisation; the flags do not count, and reviewers see the answer.
    app.save_step(
        &id,
        2,
        &[
            ("partner_name", "Tsinhua University"),
            ("partner_identity_entry", "tsinghua"),
            ("partner_identity", "different"),
        ],
    )
    .await;
    let e = evaluation(&app, &id).await;
    assert!(
        e.findings
            .iter()
            .all(|f| !f.code.starts_with("military_links") && f.code != "unknown_partner_identity")
    );
    assert!(app.submit(&id).await.status == StatusCode::SEE_OTHER);
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("answered that it is a different organisation");

    // A made-up answer is refused next to the partner name, nothing saved.
    let id2 = draft_with_partner(&app, "Other", "Tsinhua University").await;
    let r = app
        .save_step(
            &id2,
            2,
            &[
                ("partner_name", "Tsinhua University"),
                ("partner_identity_entry", "tsinghua"),
                ("partner_identity", "maybe"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("same organisation: yes or no");
}

#[tokio::test]
async fn only_a_reviewer_dismisses_a_match_with_a_reason_and_the_verdict_is_recalculated() {
    let app = TestApp::new().await;
    let id = draft_with_partner(&app, "Robotics", "Beijing Institute of Technology").await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    assert_eq!(evaluation(&app, &id).await.verdict.code(), "red");
    let version = app.lock_version(&id).await;
    // The officer cannot.
    let r = app
        .post_form(
            &format!("/assessments/{id}/screening/dismiss"),
            &[("entry", "bit"), ("reason", "x"), ("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Dismiss a register match");
    // Without a reason: refused, nothing changed.
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/screening/dismiss"),
            &[("entry", "bit"), ("reason", " "), ("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"reason-error\"");
    assert_eq!(evaluation(&app, &id).await.verdict.code(), "red");
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/screening/dismiss"),
            &[("entry", "bit"), ("reason", "The partner is the Beijing Institute of Technology Zhuhai College, a separate legal person."), ("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let e = evaluation(&app, &id).await;
    assert_ne!(e.verdict.code(), "red", "{:#?}", e.findings);
    assert!(e.register.as_ref().is_some_and(|h| !h.counts()));
    // A stale page cannot dismiss again.
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/screening/dismiss"),
            &[
                ("entry", "bit"),
                ("reason", "again"),
                ("_version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let audit: String = sqlx::query_scalar("SELECT summary FROM audit_log WHERE action = 'case.screening_dismiss' AND assessment_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(audit.contains("Red"), "{audit}");
}

#[tokio::test]
async fn an_official_list_is_previewed_then_published_and_a_bad_file_changes_nothing() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", None).await;
    let before = app.state.register().await.unwrap().len();
    // A bad file: the line and field, nothing changed.
    let token = csrf_in(&admin.get("/admin/register").await.body).expect("token");
    let bad = csl(&[csl_row("1", "", "", "2025-01-01")]);
    let r = admin.send(upload(&token, "csl.csv", &bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("line 2: name: empty");
    assert_eq!(app.state.register().await.unwrap().len(), before);

    // A good one: the preview shows what changes before anything is published.
    let good = csl(&[
        csl_row(
            "1",
            "Example Quantum Devices Co., Ltd.",
            "EQD; 示例量子器件有限公司",
            "2025-03-25",
        ),
        csl_row("2", "Another Listed Institute", "", "2024-05-09"),
    ]);
    let r = admin.send(upload(&token, "consolidated.csv", &good)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let preview = admin.get(r.location()).await;
    preview.assert_contains("US Consolidated Screening List");
    preview.assert_contains("Example Quantum Devices Co., Ltd.");
    preview.assert_contains("2 entries added");
    assert_eq!(
        app.state.register().await.unwrap().len(),
        before,
        "nothing published yet"
    );
    // A preview made stale by another change is refused.
    let base = preview
        .body
        .split("name=\"base_revision\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let stale = (base.parse::<i64>().unwrap() - 1).to_string();
    let r = admin
        .post_form(
            &format!("{}/publish", r.location()),
            &[("base_revision", &stale)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = publish(&admin, "consolidated.csv", &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let register = app.state.register().await.unwrap();
    assert_eq!(register.len(), before + 2, "the curated entries stay");
    let s = register.screen("示例量子器件有限公司研发部");
    assert_eq!(
        s.best().map(|h| h.entry.id.as_str()),
        Some("us-csl:example-quantum-devices-co-ltd")
    );
    assert_eq!(
        register
            .screen("Harbin Institute of Technology")
            .best()
            .map(|h| h.entry.id.as_str()),
        Some("hit")
    );
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'admin.register_import' AND actor_email IS NOT NULL AND actor_email <> 'system'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(audit, 1);
    // History is kept entry by entry.
    let history = admin
        .get("/register/entries/us-csl:example-quantum-devices-co-ltd")
        .await;
    history.assert_contains("added");
    history.assert_contains("2025-03-25");
}

#[tokio::test]
async fn a_register_change_rescreens_submitted_cases_and_reviewers_acknowledge_the_event() {
    let app = TestApp::new().await;
    let id = draft_with_partner(
        &app,
        "Quantum sensing",
        "Example Quantum Devices Co., Ltd., Sensor Lab",
    )
    .await;
    assert_eq!(evaluation(&app, &id).await.verdict.code(), "orange");
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    let draft =
        draft_with_partner(&app, "Still a draft", "Example Quantum Devices Co., Ltd.").await;
    let (_, admin) = app.signed_in("admin", None).await;
    let r = publish(
        &admin,
        "csl.csv",
        &csl(&[csl_row(
            "1",
            "Example Quantum Devices Co., Ltd.",
            "EQD",
            "2025-03-25",
        )]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The job runs once, whichever server claims it.
    let outcome = triage::services::rescreen::run_next(&app.state, "test-a")
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(outcome.changed, 1, "{outcome:?}");
    assert!(
        triage::services::rescreen::run_next(&app.state, "test-b")
            .await
            .unwrap()
            .is_none()
    );

    // The stored evaluation stays; the case shows the new result beside it.
    assert_eq!(evaluation(&app, &id).await.verdict.code(), "orange");
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Since the submission of");
    page.assert_contains("Entity List (EL) - Bureau of Industry and Security, since 2025-03-25");
    page.assert_contains("would now be Red instead of Orange");
    // Queue, case list and dashboard show it.
    reviewer
        .get("/review?screening=changed")
        .await
        .assert_contains("Quantum sensing");
    reviewer
        .get("/cases?screening=changed")
        .await
        .assert_contains("Quantum sensing");
    reviewer
        .get("/dashboard")
        .await
        .assert_contains("Screening changed since decision:</strong> 1 case");
    assert!(
        !reviewer
            .get("/cases?screening=changed")
            .await
            .body
            .contains("Still a draft")
    );
    let _ = draft;

    // Acknowledging is audited and clears the mark.
    let event: Uuid =
        sqlx::query_scalar("SELECT id FROM screening_events WHERE assessment_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/screening/events/{event}/acknowledge"),
            &[("note", "Discussed with the export-control officer.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let changed: bool =
        sqlx::query_scalar("SELECT screening_changed FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(!changed);
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/screening/events/{event}/acknowledge"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'case.screening_acknowledge'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audit, 1);
    // Another import that changes nothing for the case leaves no new event.
    publish(
        &admin,
        "csl.csv",
        &csl(&[
            csl_row(
                "1",
                "Example Quantum Devices Co., Ltd.",
                "EQD",
                "2025-03-25",
            ),
            csl_row("2", "Unrelated Co", "", "2020-01-01"),
        ]),
    )
    .await;
    let outcome = triage::services::rescreen::run_next(&app.state, "test-a")
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(outcome.changed, 0);
}

#[tokio::test]
async fn cases_are_grouped_by_register_entry_whatever_the_spelling() {
    let app = TestApp::new().await;
    for (title, partner) in [
        ("One", "Tsinghua University"),
        ("Two", "tsinghua university, Department of Physics"),
        ("Three", "清华大学化学系"),
        ("Four", "THU"),
        ("Five", "Peking University"),
    ] {
        draft_with_partner(&app, title, partner).await;
    }
    for filter in ["Tsinghua", "tsinghua university", "清华大学", "THU"] {
        let page = app
            .get(&format!("/cases?partner={}", urlencode(filter)))
            .await;
        for title in ["One", "Two", "Three", "Four"] {
            assert!(
                page.body.contains(&format!(">{title}<")),
                "{filter}: {title} missing"
            );
        }
        assert!(
            !page.body.contains(">Five<"),
            "{filter}: Five should not be listed"
        );
    }
    let partner = app.get("/partners?name=tsinghua").await;
    partner.assert_contains("Tsinghua University");
    partner.assert_contains("Cases naming this partner (4)");
    let export = app.get("/cases.csv?partner=THU").await;
    assert_eq!(export.body.lines().count(), 5, "{}", export.body);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
