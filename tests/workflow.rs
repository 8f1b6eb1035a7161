//! The case life cycle: draft -> submitted -> returned -> resubmitted -> decided, with
//! immutable snapshots, comments, decisions and an audit row for every step.

mod common;

use axum::http::StatusCode;
use common::{Client, TestApp};

async fn submitted_case(app: &TestApp) -> String {
    let project = app.create_project("Soil microbiome").await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "biotech"), ("sub_area", "bio_agri_microorganisms")],
    )
    .await;
    app.save_step(&id, 4, &[("personal_data", "yes")]).await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    id
}

async fn status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM assessments WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .expect("status")
}

async fn actions(app: &TestApp, id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE assessment_id = $1::uuid ORDER BY id")
        .bind(id)
        .fetch_all(&app.db.pool)
        .await
        .expect("audit")
}

async fn reviewer(app: &TestApp) -> Client {
    app.signed_in("reviewer", None).await.1
}

#[tokio::test]
async fn a_case_goes_from_draft_to_decision_with_every_step_on_the_record() {
    let app = TestApp::new().await;
    let id = submitted_case(&app).await;
    assert_eq!(status(&app, &id).await, "submitted");
    let reviewer = reviewer(&app).await;

    // The queue shows it, oldest first, with the computed verdict.
    let queue = reviewer.get("/review").await;
    queue.assert_contains("Soil microbiome");
    queue.assert_contains("badge-orange");

    // Returning needs a message; the message stays when it is missing something.
    let r = reviewer.review(&id, "return", &[("message", "   ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"message-error\"");
    let r = reviewer
        .review(
            &id,
            "return",
            &[("message", "Please add the data management plan.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, &id).await, "returned");

    // The officer sees the request, edits (unlocked) and resubmits.
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Please add the data management plan.");
    page.assert_contains("Continue the assessment");
    let r = app
        .save_step(
            &id,
            9,
            &[
                ("mitigations", "legal_compliance_review"),
                ("mitigations", "data_management_plan"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Not before the request is answered.
    assert_eq!(app.submit(&id).await.status, StatusCode::CONFLICT);
    assert_eq!(status(&app, &id).await, "returned");
    app.answer_requests(&id).await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, &id).await, "resubmitted");

    // The reviewer sees what changed between the two submissions.
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("What changed between submissions");
    page.assert_contains("Submission 2");
    page.assert_contains("Data management plan");
    page.assert_contains("Now resolved:");

    // Overriding needs a justification; what was typed comes back.
    let r = reviewer
        .review(
            &id,
            "decision",
            &[
                ("outcome", "override"),
                ("final_verdict", "orange"),
                ("justification", ""),
                ("conditions", "Export licence before start"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"justification-error\"");
    r.assert_contains("Export licence before start");
    let r = reviewer
        .review(
            &id,
            "decision/confirm",
            &[
                ("outcome", "override"),
                ("final_verdict", "red"),
                (
                    "justification",
                    "The partner's cohort data needs a second legal review.",
                ),
                (
                    "conditions",
                    "Second legal review before start\n\nAnnual report to the committee",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&app, &id).await, "decided");

    // The officer sees both verdicts, the decision, who and when, and the conditions.
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Computed verdict");
    page.assert_contains("Final verdict");
    page.assert_contains("The reviewer overrode the computed verdict.");
    page.assert_contains("The partner&#39;s cohort data needs a second legal review.");
    page.assert_contains("<li>Annual report to the committee</li>");
    page.assert_contains("Test reviewer");

    let (computed, final_v): (String, Option<String>) =
        sqlx::query_as("SELECT verdict, final_verdict FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("verdicts");
    assert_eq!(
        (computed.as_str(), final_v.as_deref()),
        ("orange", Some("red"))
    );
    assert_eq!(
        actions(&app, &id)
            .await
            .iter()
            .filter(|a| !a.starts_with("assessment.edit"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "assessment.create",
            "assessment.submit",
            "case.return",
            "case.request_answer",
            "assessment.resubmit",
            "case.decide"
        ]
    );
    let snapshots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM submissions WHERE assessment_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(snapshots, 2);
}

#[tokio::test]
async fn transitions_the_life_cycle_does_not_allow_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let id = submitted_case(&app).await;
    let reviewer = reviewer(&app).await;

    // Submitted: locked for the officer, not submittable again.
    assert_eq!(
        app.save_step(&id, 1, &[("area", "quantum")]).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(app.submit(&id).await.status, StatusCode::CONFLICT);

    // Returned: cannot be decided or returned again.
    reviewer
        .review(&id, "return", &[("message", "More please")])
        .await;
    let r = reviewer
        .review(&id, "decision", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = reviewer
        .review(&id, "return", &[("message", "Again")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Decided: final.
    app.answer_requests(&id).await;
    app.submit(&id).await;
    let r = reviewer
        .review(&id, "decision/confirm", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for (path, fields) in [
        ("decision", vec![("outcome", "endorse")]),
        ("return", vec![("message", "Too late")]),
    ] {
        let r = reviewer
            .post_form(&format!("/assessments/{id}/{path}"), &fields)
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}");
    }
    assert_eq!(app.submit(&id).await.status, StatusCode::CONFLICT);
    assert_eq!(status(&app, &id).await, "decided");
    let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM decisions")
        .fetch_one(&app.db.pool)
        .await
        .expect("n");
    assert_eq!(decisions, 1);
}

#[tokio::test]
async fn an_override_must_differ_from_the_computed_verdict_and_an_endorsement_needs_no_reason() {
    let app = TestApp::new().await;
    let id = submitted_case(&app).await;
    let reviewer = reviewer(&app).await;
    let r = reviewer
        .review(
            &id,
            "decision",
            &[
                ("outcome", "override"),
                ("final_verdict", "orange"),
                ("justification", "Same colour"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the computed verdict is orange"
    );
    r.assert_contains("id=\"final_verdict-error\"");
    let r = reviewer
        .review(&id, "decision", &[("outcome", "maybe")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = reviewer
        .review(&id, "decision/confirm", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.get(&format!("/assessments/{id}"))
        .await
        .assert_contains("The reviewer endorsed the computed verdict.");
}

#[tokio::test]
async fn nobody_decides_a_case_they_submitted() {
    let app = TestApp::new().await;
    let id = submitted_case(&app).await;
    let (reviewer_user, reviewer) = app.signed_in("reviewer", None).await;
    // A reviewer who submitted it (e.g. formerly an officer of the institution).
    sqlx::query("UPDATE assessments SET submitted_by = $1 WHERE id = $2::uuid")
        .bind(reviewer_user.id)
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .expect("update");
    reviewer
        .get(&format!("/assessments/{id}"))
        .await
        .assert_contains("another reviewer must decide it");
    let r = reviewer
        .review(&id, "decision", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(status(&app, &id).await, "submitted");
}

#[tokio::test]
async fn comments_are_threaded_by_case_and_by_finding_and_escaped() {
    let app = TestApp::new().await;
    let id = submitted_case(&app).await;
    let reviewer = reviewer(&app).await;
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/comments"),
            &[
                ("body", "Which PIPL basis? <script>alert(1)</script>"),
                ("finding", "personal_data"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &format!("/assessments/{id}/comments"),
            &[("body", "Consent of participants."), ("finding", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &format!("/assessments/{id}/comments"),
            &[("body", "x"), ("finding", "no_such_finding")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Comments on this finding");
    page.assert_contains("Which PIPL basis? &#60;script&#62;alert(1)&#60;/script&#62;");
    assert!(!page.body.contains("<script>alert(1)"));
    page.assert_contains("Consent of participants.");
    assert_eq!(
        actions(&app, &id)
            .await
            .iter()
            .filter(|a| *a == "case.comment")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_failed_submission_leaves_the_draft_intact() {
    let app = TestApp::new().await;
    let project = app.create_project("Unfinished").await;
    let id = app.start_assessment(&project).await;
    app.save_step(&id, 7, &[("dependency", "yes")]).await;
    let before: serde_json::Value =
        sqlx::query_scalar("SELECT answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("answers");
    let r = app.submit(&id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, after): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, answers FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert_eq!(status, "draft");
    assert_eq!(before, after);
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions")
        .fetch_one(&app.db.pool)
        .await
        .expect("n");
    assert_eq!(snapshots, 0);
}

#[tokio::test]
async fn submission_snapshots_are_immutable_in_the_database() {
    let app = TestApp::new().await;
    submitted_case(&app).await;
    let err = sqlx::query("UPDATE submissions SET verdict = 'green'")
        .execute(&app.db.pool)
        .await
        .expect_err("immutable")
        .to_string();
    assert!(err.contains("immutable"), "{err}");
}
