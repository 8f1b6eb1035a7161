//! The reviewer's desk of issue 10: safe decisions (confirmation, co-signature of a
//! lowered verdict, reopening) and a queue that can be worked (filters, pages, days
//! waiting, assignment), through the real router and PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{Client, TestApp};

async fn scalar<T>(app: &TestApp, sql: &str, id: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .expect(sql)
}

async fn status(app: &TestApp, id: &str) -> String {
    scalar(
        app,
        "SELECT status FROM assessments WHERE id = $1::uuid",
        id,
    )
    .await
}

async fn final_verdict(app: &TestApp, id: &str) -> Option<String> {
    scalar(
        app,
        "SELECT final_verdict FROM assessments WHERE id = $1::uuid",
        id,
    )
    .await
}

async fn actions(app: &TestApp, id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE assessment_id = $1::uuid ORDER BY id")
        .bind(id)
        .fetch_all(&app.db.pool)
        .await
        .expect("audit")
}

/// A submitted case whose computed verdict is Red (quantum sensing).
async fn red_case(app: &TestApp, title: &str) -> String {
    let project = app.create_project(title).await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "quantum"), ("sub_area", "quantum_sensing")],
    )
    .await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    let verdict: String = scalar(
        app,
        "SELECT verdict FROM assessments WHERE id = $1::uuid",
        &id,
    )
    .await;
    assert_eq!(verdict, "red");
    id
}

const LOWER_TO_ORANGE: &[(&str, &str)] = &[
    ("outcome", "override"),
    ("final_verdict", "orange"),
    (
        "justification",
        "The sensing work is basic research with no dual use.",
    ),
    ("conditions", "Annual report to the committee"),
];

#[tokio::test]
async fn a_decision_is_shown_for_confirmation_before_it_is_recorded() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Grid storage").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;

    // The decision form leads to a confirmation page; nothing is recorded yet.
    let page = reviewer
        .review(
            &id,
            "decision",
            &[
                ("outcome", "endorse"),
                ("conditions", "Data plan before start"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("Check your decision before it is recorded");
    page.assert_contains("Endorse the computed verdict");
    page.assert_contains("Data plan before start");
    page.assert_contains("/decision/confirm");
    assert_eq!(status(&app, &id).await, "submitted");
    let decisions: i64 = scalar(
        &app,
        "SELECT count(*) FROM decisions WHERE assessment_id = $1::uuid",
        &id,
    )
    .await;
    assert_eq!(decisions, 0);

    // "Change" brings the form back with what was typed.
    let back = reviewer
        .review(
            &id,
            "decision/confirm",
            &[
                ("_action", "change"),
                ("outcome", "endorse"),
                ("conditions", "Data plan before start"),
            ],
        )
        .await;
    assert_eq!(back.status, StatusCode::OK);
    back.assert_contains("id=\"outcome-endorse\" name=\"outcome\" value=\"endorse\" checked");
    back.assert_contains(">Data plan before start</textarea>");
    assert_eq!(status(&app, &id).await, "submitted");

    // A confirmation from a page older than the case is refused with 409.
    let stale = app.lock_version(&id).await;
    let other = app.signed_in("reviewer", None).await.1;
    other
        .review(&id, "return", &[("message", "Which grid operator?")])
        .await;
    app.answer_requests(&id).await;
    app.submit(&id).await;
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/decision/confirm"),
            &[("_version", &stale), ("outcome", "endorse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(status(&app, &id).await, "resubmitted");

    // Confirmed from the current page, it is recorded and audited.
    let r = reviewer
        .review(
            &id,
            "decision/confirm",
            &[
                ("outcome", "endorse"),
                ("conditions", "Data plan before start"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&app, &id).await, "decided");
    assert!(actions(&app, &id).await.contains(&"case.decide".to_owned()));
}

#[tokio::test]
async fn reviewer_forms_show_errors_at_the_top_linked_to_their_fields() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Grid storage").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .review(
            &id,
            "decision",
            &[
                ("outcome", "override"),
                ("final_verdict", "red"),
                ("justification", "  "),
                ("conditions", "Kept as typed"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The summary comes before the memo and links to the field, which exists.
    let summary = r.body.find("id=\"error-summary\"").expect("summary");
    assert!(summary < r.body.find("class=\"memo\"").expect("memo"));
    r.assert_contains("<a href=\"#justification\">Justification: write why you override");
    r.assert_contains("id=\"justification\"");
    r.assert_contains(">Kept as typed</textarea>");
    let r = reviewer.review(&id, "decision", &[]).await;
    r.assert_contains("<a href=\"#outcome\">Decision: choose");
    r.assert_contains("id=\"outcome\"");
    // The review panel stays in view beside the memo, with a link to it at the top.
    r.assert_contains("class=\"decision-panel\" id=\"decision-panel\"");
    r.assert_contains("href=\"#decision-panel\"");
}

#[tokio::test]
async fn lowering_a_red_verdict_waits_for_a_second_reviewer() {
    let app = TestApp::new().await;
    let id = red_case(&app, "Quantum magnetometry").await;
    let (first_user, first) = app.signed_in("reviewer", None).await;
    let r = first.review(&id, "decision", LOWER_TO_ORANGE).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_contains("A second reviewer must co-sign this decision.");
    let r = first.review(&id, "decision/confirm", LOWER_TO_ORANGE).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Pending: a visible state, with no final verdict yet.
    assert_eq!(status(&app, &id).await, "cosign");
    assert_eq!(final_verdict(&app, &id).await, None);
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Awaiting a second signature");
    page.assert_contains("Not in effect yet");
    let queue = first.get("/review?status=cosign").await;
    queue.assert_contains("Quantum magnetometry");

    // The reviewer who decided cannot co-sign.
    first
        .get(&format!("/assessments/{id}"))
        .await
        .assert_contains("You made this decision, so another reviewer must co-sign it.");
    let r = first.review(&id, "cosign", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Nor can whoever submitted the case.
    let (submitter_user, submitter) = app.signed_in("reviewer", None).await;
    sqlx::query("UPDATE assessments SET submitted_by = $1 WHERE id = $2::uuid")
        .bind(submitter_user.id)
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .expect("submitter");
    let r = submitter.review(&id, "cosign", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(status(&app, &id).await, "cosign");
    let refusals: i64 = scalar(
        &app,
        "SELECT count(*) FROM audit_log WHERE assessment_id = $1::uuid AND action = 'case.cosign_refused'",
        &id,
    )
    .await;
    assert_eq!(refusals, 2);

    // A second reviewer co-signs: the decision takes effect.
    let (second_user, second) = app.signed_in("reviewer", None).await;
    let r = second.review(&id, "cosign", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&app, &id).await, "decided");
    assert_eq!(final_verdict(&app, &id).await.as_deref(), Some("orange"));
    let (decided_by, cosigned_by): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT decided_by, cosigned_by FROM decisions WHERE assessment_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .expect("decision");
    assert_eq!((decided_by, cosigned_by), (first_user.id, second_user.id));
    app.get(&format!("/assessments/{id}"))
        .await
        .assert_contains("Co-signed by Test reviewer");
    let log = actions(&app, &id).await;
    assert!(log.contains(&"case.cosign".to_owned()), "{log:?}");
}

#[tokio::test]
async fn the_co_signature_policy_is_set_by_an_administrator() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", None).await;
    let page = admin.get("/admin/settings").await;
    page.assert_contains("id=\"cosign_policy-red\" name=\"cosign_policy\" value=\"red\" checked");
    let r = admin
        .post_form("/admin/settings", &[("cosign_policy", "sometimes")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("Second signature: choose one of the three policies.");
    let r = admin
        .post_form("/admin/settings", &[("cosign_policy", "off")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // With the policy off, one reviewer lowers a Red verdict alone.
    let id = red_case(&app, "Quantum magnetometry").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .review(&id, "decision/confirm", LOWER_TO_ORANGE)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, &id).await, "decided");
    assert_eq!(final_verdict(&app, &id).await.as_deref(), Some("orange"));

    // Red and Orange: lowering an Orange verdict needs a second signature too.
    admin
        .post_form("/admin/settings", &[("cosign_policy", "red_orange")])
        .await;
    let orange = {
        let project = app.create_project("Soil microbiome").await;
        let id = app.start_assessment(&project).await;
        app.save_step(
            &id,
            1,
            &[("area", "biotech"), ("sub_area", "bio_agri_microorganisms")],
        )
        .await;
        app.save_step(&id, 4, &[("personal_data", "yes")]).await;
        app.submit(&id).await;
        id
    };
    let r = reviewer
        .review(
            &orange,
            "decision/confirm",
            &[
                ("outcome", "override"),
                ("final_verdict", "green"),
                (
                    "justification",
                    "Agricultural, no personal data in practice.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, &orange).await, "cosign");
    let settings: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'admin.settings' AND details -> 'cosign_policy' ->> 1 = 'red_orange'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("audit");
    assert_eq!(settings, 1);
}

#[tokio::test]
async fn a_decision_is_reopened_with_a_reason_and_stays_on_the_record() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Grid storage").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    reviewer
        .review(&id, "decision/confirm", &[("outcome", "endorse")])
        .await;
    assert_eq!(status(&app, &id).await, "decided");

    // A reason is required; the page says so at the top and beside the field.
    let r = reviewer.review(&id, "reopen", &[("reason", " ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("<a href=\"#reason\">Reason for reopening:");
    r.assert_contains("id=\"reason-error\"");
    // Officers cannot reopen.
    let r = app
        .review(&id, "reopen", &[("reason", "I want another look")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = reviewer
        .review(
            &id,
            "reopen",
            &[("reason", "The partner was added to the Entity List.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(&app, &id).await, "resubmitted");
    assert_eq!(final_verdict(&app, &id).await, None);
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Reopened decisions");
    page.assert_contains("The partner was added to the Entity List.");
    let reason: String = sqlx::query_scalar(
        "SELECT details ->> 'reason' FROM audit_log WHERE assessment_id = $1::uuid AND action = 'case.reopen'",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .expect("audit");
    assert_eq!(reason, "The partner was added to the Entity List.");
    // The reopened decision is kept, and the record refuses changes.
    let err = sqlx::query("UPDATE reopenings SET reason = 'edited'")
        .execute(&app.db.pool)
        .await
        .expect_err("immutable")
        .to_string();
    assert!(err.contains("immutable"), "{err}");

    // It can be decided again; reopening an undecided case is a conflict.
    let r = reviewer.review(&id, "reopen", &[("reason", "Again")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = reviewer
        .review(&id, "decision/confirm", &[("outcome", "endorse")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, &id).await, "decided");
}

async fn lead_reviewer(app: &TestApp) -> (common::TestUser, Client) {
    let user = app.user("reviewer", None).await;
    sqlx::query("UPDATE users SET lead_reviewer = true, display_name = 'Lead Lena' WHERE id = $1")
        .bind(user.id)
        .execute(&app.db.pool)
        .await
        .expect("lead");
    let client = app.client_for(&user).await;
    (user, client)
}

#[tokio::test]
async fn the_queue_filters_pages_counts_and_assigns() {
    let app = TestApp::new().await;
    let green = app.submitted_case("Grid storage").await;
    let red = red_case(&app, "Quantum magnetometry").await;
    // The red case has waited 20 days.
    sqlx::query(
        "UPDATE assessments SET submitted_at = now() - interval '20 days' WHERE id = $1::uuid",
    )
    .bind(&red)
    .execute(&app.db.pool)
    .await
    .expect("age");
    let (me_user, me) = app.signed_in("reviewer", None).await;
    sqlx::query("UPDATE users SET display_name = 'Rita Reviewer' WHERE id = $1")
        .bind(me_user.id)
        .execute(&app.db.pool)
        .await
        .expect("name");

    let q = me.get("/review").await;
    assert_eq!(q.status, StatusCode::OK);
    q.assert_contains("2 cases waiting for a reviewer; page 1 of 1.");
    q.assert_contains("<td>20</td>");
    // Filters: verdict, area, waiting time.
    let q = me.get("/review?verdict=red").await;
    q.assert_contains("Quantum magnetometry");
    assert!(!q.body.contains("Grid storage"));
    let q = me.get("/review?area=green_development").await;
    q.assert_contains("Grid storage");
    assert!(!q.body.contains("Quantum magnetometry"));
    let q = me.get("/review?waiting=14").await;
    q.assert_contains("1 case waiting for a reviewer");
    q.assert_contains("Quantum magnetometry");
    // A bad filter is named and explained, and ignored.
    let q = me.get("/review?waiting=soon&verdict=purple").await;
    assert_eq!(q.status, StatusCode::UNPROCESSABLE_ENTITY);
    q.assert_contains("Waiting at least: write a whole number of days");
    q.assert_contains("Computed verdict is not one of the choices");
    q.assert_contains("2 cases waiting");

    // Assign to me.
    let r = me
        .post_form(&format!("/assessments/{green}/assign"), &[("to", "me")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let q = me.get("/review?assigned=me").await;
    q.assert_contains("Grid storage");
    assert!(!q.body.contains("Quantum magnetometry"));
    let q = me.get("/review?assigned=nobody").await;
    q.assert_contains("Quantum magnetometry");
    assert!(!q.body.contains("Grid storage"));
    me.get(&format!("/assessments/{green}"))
        .await
        .assert_contains("Assigned to you");

    // Only a lead reviewer assigns to someone else.
    let r = me
        .post_form(
            &format!("/assessments/{red}/assign"),
            &[("to", &me_user.id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, lead) = lead_reviewer(&app).await;
    lead.get(&format!("/assessments/{red}"))
        .await
        .assert_contains("Assign to a reviewer");
    let r = lead
        .post_form(
            &format!("/assessments/{red}/assign"),
            &[("to", &me_user.id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = lead
        .post_form(
            &format!("/assessments/{red}/assign"),
            &[("to", &app.officer.id.to_string())],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "an officer is no reviewer"
    );

    // The count per reviewer.
    let q = me.get("/review").await;
    q.assert_contains("Rita Reviewer</a></th><td>2</td>");
    q.assert_contains("Lead Lena</a> <span class=\"muted\">(lead reviewer)</span></th><td>0</td>");
    let log = actions(&app, &red).await;
    assert!(log.contains(&"case.assign".to_owned()), "{log:?}");
}

#[tokio::test]
async fn the_queue_has_pages_of_fifty() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Template case").await;
    // 60 more submitted cases, copied from the first.
    sqlx::query(
        "INSERT INTO assessments (id, project_id, answers, evaluation, verdict, baseline, institution_id, title, status, rulebook_version, submitted_at, submitted_by, area_code, partner_name, current_step)
         SELECT gen_random_uuid(), project_id, answers, evaluation, verdict, baseline, institution_id, title, status, rulebook_version, now() - (g || ' hours')::interval, submitted_by, area_code, partner_name, current_step
         FROM assessments, generate_series(1, 60) g WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.db.pool)
    .await
    .expect("copies");
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let q = reviewer.get("/review").await;
    q.assert_contains("61 cases waiting for a reviewer; page 1 of 2.");
    q.assert_contains("href=\"/review?page=2\" rel=\"next\"");
    let q = reviewer.get("/review?page=2").await;
    q.assert_contains("page 2 of 2");
    assert_eq!(
        q.body
            .matches("<th scope=\"row\"><a href=\"/assessments/")
            .count(),
        11
    );
    let q = reviewer.get("/review?page=0").await;
    assert_eq!(q.status, StatusCode::UNPROCESSABLE_ENTITY);
    q.assert_contains("Page: a whole number from 1");
}

#[tokio::test]
async fn comments_on_not_yet_cleared_findings_are_shown() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Grid storage").await;
    let code: String = scalar(
        &app,
        "SELECT f ->> 'code' FROM assessments, jsonb_array_elements(evaluation -> 'findings') f
         WHERE id = $1::uuid AND f ->> 'code' LIKE 'unknown%' LIMIT 1",
        &id,
    )
    .await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/comments"),
            &[
                ("body", "Ask the partner's export office."),
                ("finding", &code),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(&format!("/assessments/{id}")).await;
    let row = page
        .body
        .split(&format!("<tr id=\"finding-{code}\">"))
        .nth(1)
        .expect("the uncleared finding's row");
    let row = row.split("</tr>").next().unwrap_or_default();
    assert!(
        row.contains("Ask the partner&#x27;s export office.")
            || row.contains("Ask the partner&#39;s export office."),
        "{row}"
    );
}

#[tokio::test]
async fn a_request_names_its_question_is_answered_and_tops_the_resubmitted_case() {
    let app = TestApp::new().await;
    let id = app.submitted_case("Grid storage").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let r = reviewer
        .review(
            &id,
            "return",
            &[
                ("message", "Which grid operator?"),
                ("question", "no_such_question"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("<a href=\"#question\">About: choose a question");
    r.assert_contains(">Which grid operator?</textarea>");
    let r = reviewer
        .review(
            &id,
            "return",
            &[
                ("message", "Which grid operator?"),
                ("question", "partner_name"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The officer sees the request, "Continue" opens the step it is about.
    let page = app.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Which grid operator?");
    page.assert_contains("waiting for your answer");
    page.assert_contains("/steps/2#q-partner_name\">Continue the assessment</a>");
    // Resubmitting is refused while the request is open.
    let r = app.submit(&id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    r.assert_contains("A request is still unanswered");
    // An empty answer is named at the top and kept beside its field.
    let request: uuid::Uuid = scalar(
        &app,
        "SELECT id FROM returns WHERE assessment_id = $1::uuid",
        &id,
    )
    .await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/requests/answer"),
            &[("request", &request.to_string()), ("answer", "  ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("<a href=\"#answer\">Your answer: write what you added");
    // A reviewer does not answer for the officer.
    let r = reviewer
        .post_form(
            &format!("/assessments/{id}/requests/answer"),
            &[("request", &request.to_string()), ("answer", "Me")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &format!("/assessments/{id}/requests/answer"),
            &[
                ("request", &request.to_string()),
                (
                    "answer",
                    "TenneT, the Dutch operator; added to the partner unit.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = app
        .post_form(
            &format!("/assessments/{id}/requests/answer"),
            &[("request", &request.to_string()), ("answer", "Twice")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    app.save_step(
        &id,
        2,
        &[
            ("partner_name", "Tsinghua University"),
            ("partner_unit", "Grid lab"),
        ],
    )
    .await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);

    // The reviewer sees request, answer and what changed at the top of the case.
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    let top = page
        .body
        .find("Resubmitted: the request, the answer and what changed")
        .expect("the resubmission section");
    assert!(top < page.body.find("id=\"verdicts-heading\"").expect("verdicts"));
    let section = &page.body[top..];
    assert!(section.contains("Which grid operator?"));
    assert!(section.contains("TenneT, the Dutch operator"));
    assert!(section.contains("What changed in submission 2"));
    assert!(
        actions(&app, &id)
            .await
            .contains(&"case.request_answer".to_owned())
    );
}

mod mail {
    use super::*;
    use common::maildev::MailDev;
    use time::OffsetDateTime;
    use triage::mail::MailSettings;
    use triage::mail::sender::{Sender, send_due};
    use triage::state::RuntimeConfig;

    async fn send_all(app: &TestApp, s: &MailSettings) -> usize {
        let sender = Sender::new(s).unwrap().expect("SMTP configured");
        send_due(&app.db.pool, &sender, OffsetDateTime::now_utc())
            .await
            .unwrap()
    }

    fn find<'a>(mails: &'a [serde_json::Value], to: &str, subject: &str) -> &'a serde_json::Value {
        mails
            .iter()
            .find(|m| {
                m["to"][0]["address"].as_str() == Some(to)
                    && m["subject"].as_str().unwrap_or_default().contains(subject)
            })
            .unwrap_or_else(|| panic!("no mail to {to} about {subject:?} in {mails:#?}"))
    }

    #[tokio::test]
    async fn the_workflow_mails_the_people_concerned_through_smtp() {
        let maildev = MailDev::start();
        let s = MailSettings {
            smtp_url: Some(maildev.url()),
            from: "triage <triage@example.org>".into(),
            public_url: "https://triage.example.org".into(),
            digest_hour: 7,
        };
        let app = TestApp::with_config(RuntimeConfig {
            mail: s.clone(),
            ..RuntimeConfig::default()
        })
        .await;
        let (reviewer_user, reviewer) = app.signed_in("reviewer", None).await;
        let (lead_user, lead) = lead_reviewer(&app).await;
        let id = red_case(&app, "Quantum magnetometry").await;
        let link = format!("https://triage.example.org/assessments/{id}");
        let reference: String = scalar(
            &app,
            "SELECT reference FROM assessments WHERE id = $1::uuid",
            &id,
        )
        .await;
        assert!(reference.starts_with("TRI-"), "{reference}");

        // Assignment by a lead reviewer, to the assignee.
        let r = lead
            .post_form(
                &format!("/assessments/{id}/assign"),
                &[("to", &reviewer_user.id.to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // Return, to the officer.
        reviewer
            .review(
                &id,
                "return",
                &[("message", "Which lab?"), ("question", "partner_unit")],
            )
            .await;
        // Answer, to the reviewer who asked (also the assigned one: one mail).
        app.answer_requests(&id).await;
        assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
        // A lowered Red: the other reviewers are asked to co-sign.
        reviewer
            .review(&id, "decision/confirm", LOWER_TO_ORANGE)
            .await;
        // The co-signature: the decision, to the officer.
        assert_eq!(
            lead.review(&id, "cosign", &[]).await.status,
            StatusCode::SEE_OTHER
        );
        // Reopening, to the officer and the reviewer who decided.
        lead.review(&id, "reopen", &[("reason", "New register entry.")])
            .await;

        // Two submissions: the first to every reviewer (nobody is assigned yet), the
        // resubmission to the assigned reviewer only.
        assert_eq!(send_all(&app, &s).await, 10);
        let mails = maildev.wait_for(10);
        let officer = app.officer.email.as_str();
        let rev = reviewer_user.email.as_str();
        let submitted_to: Vec<&str> = mails
            .iter()
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("Quantum magnetometry was submitted for review")
            })
            .filter_map(|m| m["to"][0]["address"].as_str())
            .collect();
        assert_eq!(submitted_to.len(), 2, "{submitted_to:?}");
        assert!(submitted_to.contains(&rev) && submitted_to.contains(&lead_user.email.as_str()));
        let resubmitted_to: Vec<&str> = mails
            .iter()
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("was resubmitted for review")
            })
            .filter_map(|m| m["to"][0]["address"].as_str())
            .collect();
        assert_eq!(resubmitted_to, vec![rev]);
        for (to, subject, words) in [
            (
                rev,
                "Quantum magnetometry was submitted for review",
                "Its computed verdict is Red",
            ),
            (
                rev,
                "Quantum magnetometry was resubmitted for review",
                "was resubmitted for review",
            ),
            (
                rev,
                "Quantum magnetometry was assigned to you",
                "Lead Lena assigned",
            ),
            (officer, "Quantum magnetometry was returned", "Which lab?"),
            (
                rev,
                "the officer answered your request",
                "Done: see the changed answers.",
            ),
            (
                lead_user.email.as_str(),
                "a decision waits for your co-signature",
                "Overrode the computed verdict Red with Orange",
            ),
            (
                officer,
                "Quantum magnetometry was decided",
                "final verdict Orange (computed Red)",
            ),
            (officer, "the decision was reopened", "New register entry."),
            (rev, "the decision was reopened", "New register entry."),
        ] {
            let m = find(&mails, to, subject);
            let text = m["text"].as_str().unwrap_or_default();
            assert!(
                m["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&reference),
                "{subject}: {}",
                m["subject"]
            );
            assert!(text.contains(&reference), "{subject}: {text}");
            assert!(text.contains(words), "{subject}: {text}");
            assert!(text.contains(&link), "{subject}: {text}");
        }
    }

    #[tokio::test]
    async fn each_user_chooses_immediate_mail_or_a_daily_digest() {
        let app = TestApp::new().await;
        let page = app.get("/account").await;
        page.assert_contains(
            "id=\"delivery-immediate\" name=\"delivery\" value=\"immediate\" checked",
        );
        let r = app
            .post_form("/account/mail", &[("delivery", "weekly")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        r.assert_contains("<a href=\"#delivery\">Mail: choose");
        let r = app
            .post_form("/account/mail", &[("delivery", "digest")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        app.get("/account")
            .await
            .assert_contains("id=\"delivery-digest\" name=\"delivery\" value=\"digest\" checked");

        // A return now goes into the officer's digest (held: no SMTP in this app).
        let id = app.submitted_case("Grid storage").await;
        let (_, reviewer) = app.signed_in("reviewer", None).await;
        reviewer
            .review(&id, "return", &[("message", "Which grid operator?")])
            .await;
        let (delivery, kind): (String, String) =
            sqlx::query_as("SELECT delivery, kind FROM outbox WHERE recipient_id = $1")
                .bind(app.officer.id)
                .fetch_one(&app.db.pool)
                .await
                .expect("the officer's mail");
        assert_eq!(
            (delivery.as_str(), kind.as_str()),
            ("digest", "case.returned")
        );
    }
}
