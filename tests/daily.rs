//! The officer's daily work (issue 10): case references, the start page per role, the
//! officer's forms, exports and the committee report.

mod common;

use std::borrow::Cow;

use axum::http::StatusCode;
use common::{TestApp, TestDb};
use uuid::Uuid;

async fn reference_of(app: &TestApp, id: &str) -> String {
    let id: Uuid = id.parse().expect("uuid");
    sqlx::query_scalar("SELECT reference FROM assessments WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .expect("reference")
}

#[tokio::test]
async fn every_case_gets_a_yearly_reference_shown_everywhere_and_found_by_search() {
    let app = TestApp::new().await;
    let (_, officer) = app.signed_in("officer", Some(app.institution_a)).await;
    let first = officer.submitted_case("Quantum sensing").await;
    let second = officer.submitted_case("Grid storage").await;
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(reference_of(&app, &first).await, format!("TRI-{year}-0001"));
    let reference = reference_of(&app, &second).await;
    assert_eq!(reference, format!("TRI-{year}-0002"));

    // On the case page, the report, the project page and the case list.
    for path in [
        format!("/assessments/{second}"),
        format!("/assessments/{second}/report"),
        "/cases".to_owned(),
    ] {
        let r = officer.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        r.assert_contains(&reference);
    }
    // In the exports.
    let csv = officer.get("/cases.csv").await;
    csv.assert_contains(&reference);
    let json = officer.get("/cases.json").await;
    json.assert_contains(&format!("\"reference\":\"{reference}\""));

    // Search by reference, in any spelling, finds that case and no other.
    let short = format!("tri-{year}-2");
    for q in [reference.as_str(), short.as_str()] {
        let r = officer.get(&format!("/cases?q={}", urlencoding(q))).await;
        assert_eq!(r.status, StatusCode::OK);
        r.assert_contains(&format!("/assessments/{second}\""));
        assert!(!r.body.contains(&format!("/assessments/{first}\"")), "{q}");
    }

    // The database refuses to change a reference.
    let changed = sqlx::query("UPDATE assessments SET reference = 'TRI-2000-0001' WHERE id = $1")
        .bind(second.parse::<Uuid>().expect("uuid"))
        .execute(&app.db.pool)
        .await;
    assert!(changed.is_err(), "a reference was changed");
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .expect("encode")
        .trim_start_matches("x=")
        .to_owned()
}

/// Cases created before the references existed get one per year of creation, in order
/// of creation, and new cases continue each year's sequence.
#[tokio::test]
async fn the_migration_backfills_references_per_year() {
    let db = TestDb::empty().await;
    let all = &triage::db::MIGRATOR;
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < 20261207200000)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&db.pool).await.expect("older migrations");
    sqlx::query(
        "INSERT INTO rulebooks (version, name, title, content_hash, source_text)
         VALUES ('v', 'n', 't', 'h', '')",
    )
    .execute(&db.pool)
    .await
    .expect("rulebook");
    let project = Uuid::new_v4();
    sqlx::query("INSERT INTO projects (id, title, lead_researcher) VALUES ($1, 'P', 'L')")
        .bind(project)
        .execute(&db.pool)
        .await
        .expect("project");
    let mut ids = Vec::new();
    for created in [
        "2025-12-31 23:00:00+00",
        "2026-01-02 10:00:00+00",
        "2025-03-01 10:00:00+00",
        "2026-01-01 09:00:00+00",
    ] {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO assessments (id, project_id, rulebook_version, evaluation, verdict, baseline, created_at)
             VALUES ($1, $2, 'v', '{}', 'green', 'green', $3::timestamptz)",
        )
        .bind(id)
        .bind(project)
        .bind(created)
        .execute(&db.pool)
        .await
        .expect("assessment");
        ids.push(id);
    }
    triage::db::migrate(&db.pool).await.expect("migrations");
    let mut got = Vec::new();
    for id in &ids {
        let r: String = sqlx::query_scalar("SELECT reference FROM assessments WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("reference");
        got.push(r);
    }
    assert_eq!(
        got,
        [
            "TRI-2025-0002",
            "TRI-2026-0002",
            "TRI-2025-0001",
            "TRI-2026-0001"
        ]
    );
    let next: String = sqlx::query_scalar(
        "INSERT INTO assessments (id, project_id, rulebook_version, evaluation, verdict, baseline, created_at)
         VALUES ($1, $2, 'v', '{}', 'green', 'green', '2026-05-05 10:00:00+00') RETURNING reference",
    )
    .bind(Uuid::new_v4())
    .bind(project)
    .fetch_one(&db.pool)
    .await
    .expect("new case");
    assert_eq!(next, "TRI-2026-0003");
}

/// Puts a submitted case in a state as the review workflow would have left it.
async fn returned_with(app: &TestApp, id: &str, reviewer: Uuid, message: &str) {
    let id: Uuid = id.parse().expect("uuid");
    sqlx::query(
        "INSERT INTO returns (id, assessment_id, returned_by, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4())
    .bind(id)
    .bind(reviewer)
    .bind(message)
    .execute(&app.db.pool)
    .await
    .expect("return");
    sqlx::query("UPDATE assessments SET status = 'returned' WHERE id = $1")
        .bind(id)
        .execute(&app.db.pool)
        .await
        .expect("status");
}

async fn decided_with(
    app: &TestApp,
    id: &str,
    reviewer: Uuid,
    computed: &str,
    final_verdict: &str,
    conditions: &[&str],
) {
    let id: Uuid = id.parse().expect("uuid");
    let conditions: Vec<String> = conditions.iter().map(|c| (*c).to_owned()).collect();
    sqlx::query(
        "INSERT INTO decisions (assessment_id, decided_by, outcome, computed_verdict, final_verdict, justification, conditions)
         VALUES ($1, $2, 'override', $3, $4, 'Reviewed with the export-control office', $5)",
    )
    .bind(id)
    .bind(reviewer)
    .bind(computed)
    .bind(final_verdict)
    .bind(&conditions)
    .execute(&app.db.pool)
    .await
    .expect("decision");
    sqlx::query(
        "UPDATE assessments SET status = 'decided', verdict = $2, final_verdict = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(computed)
    .bind(final_verdict)
    .execute(&app.db.pool)
    .await
    .expect("status");
}

#[tokio::test]
async fn each_role_starts_on_its_own_page_with_only_links_it_may_use() {
    let app = TestApp::new().await;
    let (officer_user, officer) = app.signed_in("officer", Some(app.institution_a)).await;
    let (reviewer_user, reviewer) = app.signed_in("reviewer", None).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let (_, colleague) = app.signed_in("officer", Some(app.institution_a)).await;

    let returned = officer.submitted_case("Returned sensing project").await;
    returned_with(
        &app,
        &returned,
        reviewer_user.id,
        "Please name the partner's department.",
    )
    .await;
    let decided = officer.submitted_case("Decided grid project").await;
    decided_with(
        &app,
        &decided,
        reviewer_user.id,
        "red",
        "orange",
        &["Export licence before the start"],
    )
    .await;
    let draft_project = officer.create_project("Draft photonics project").await;
    let draft = officer.start_assessment(&draft_project).await;
    colleague.submitted_case("A colleague's project").await;

    let home = officer.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    for needle in [
        "Needs your action",
        "Please name the partner&#39;s department.",
        "Export licence before the start",
        &reference_of(&app, &returned).await,
        &reference_of(&app, &draft).await,
        &format!("/assessments/{draft}/steps/1"),
        "Record a new project",
    ] {
        home.assert_contains(needle);
    }
    // The final verdict, not only the computed one.
    assert!(
        home.body
            .contains("Final <span class=\"badge badge-orange\">")
            && home.body.contains(", computed Red"),
        "no final verdict on the start page"
    );
    assert!(
        !home.body.contains("A colleague"),
        "another officer's case needs no action from this one"
    );

    // Reviewers and administrators land on their own start page, without officer links.
    let r = reviewer.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_contains("Your queue");
    r.assert_contains("href=\"/review\"");
    let a = admin.get("/").await;
    assert_eq!(a.status, StatusCode::OK);
    a.assert_contains("href=\"/admin/users\"");
    for page in [&r, &a] {
        assert!(
            !page.body.contains("/projects/new"),
            "a link the role may not use"
        );
        assert!(
            !page.body.contains("href=\"/projects\""),
            "a link the role may not use"
        );
    }
    assert!(
        !a.body.contains("href=\"/cases\""),
        "administrators may not list cases"
    );
    // Visitors still see the areas.
    let v = app.anonymous().get("/").await;
    v.assert_contains("Research areas by colour");
    assert!(!v.body.contains("/projects/new"));
    let _ = officer_user;
}

#[tokio::test]
async fn the_project_list_is_paginated_searchable_and_shows_mine_or_my_institution() {
    let app = TestApp::new().await;
    let (_, officer) = app.signed_in("officer", Some(app.institution_a)).await;
    let (_, colleague) = app.signed_in("officer", Some(app.institution_a)).await;
    for i in 0..27 {
        officer.create_project(&format!("Mine number {i:02}")).await;
    }
    let theirs = colleague
        .submitted_case("Colleague's quantum project")
        .await;

    let first = officer.get("/projects").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.body.contains("Colleague"), "mine is the default");
    assert_eq!(first.body.matches("Mine number").count(), 25);
    first.assert_contains("/projects?scope=mine&#38;page=2");
    let second = officer.get("/projects?scope=mine&page=2").await;
    assert_eq!(second.body.matches("Mine number").count(), 2);
    second.assert_contains("rel=\"prev\"");

    let all = officer.get("/projects?scope=institution&q=quantum").await;
    all.assert_contains("Colleague&#39;s quantum project");
    assert!(!all.body.contains("Mine number"));
    // By reference too.
    let reference = reference_of(&app, &theirs).await;
    let by_ref = officer
        .get(&format!("/projects?scope=institution&q={reference}"))
        .await;
    by_ref.assert_contains("Colleague&#39;s quantum project");
    // A bad choice is named, and the page still answers.
    let bad = officer.get("/projects?scope=everyone&page=0").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Whose projects");
    bad.assert_contains("Page: use a page number");
}

#[tokio::test]
async fn submitting_needs_the_declaration_and_ends_on_a_confirmation_with_the_reference() {
    let app = TestApp::new().await;
    let project = app.create_project("Declared project").await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    let review = app.get(&format!("/assessments/{id}/review")).await;
    review.assert_contains("Declaration");
    review.assert_contains(&format!("/assessments/{id}/steps/1?return_to=review"));

    // Without the declaration nothing is submitted, and the error names it.
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/submit"),
            &[("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("href=\"#declaration\"");
    r.assert_contains("Declaration: tick");
    let status: String = sqlx::query_scalar("SELECT status FROM assessments WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .expect("status");
    assert_eq!(status, "draft");

    let r = app.submit(&id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/assessments/{id}/submitted"));
    let page = app.get(r.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Case submitted");
    page.assert_contains(&reference_of(&app, &id).await);
    page.assert_contains("What happens next");
    let declared: bool = sqlx::query_scalar(
        "SELECT declared_at IS NOT NULL FROM submissions WHERE assessment_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .expect("submission");
    assert!(declared);
}

#[tokio::test]
async fn change_returns_to_check_answers_and_the_step_list_saves_before_moving() {
    let app = TestApp::new().await;
    let project = app.create_project("Moving project").await;
    let id = app.start_assessment(&project).await;
    let step = app
        .get(&format!("/assessments/{id}/steps/1?return_to=review"))
        .await;
    step.assert_contains("name=\"_return_to\" value=\"review\"");
    step.assert_contains("Save and return to check answers");
    // Only "review" is understood: nothing else is carried.
    let other = app
        .get(&format!(
            "/assessments/{id}/steps/1?return_to=https://evil.example"
        ))
        .await;
    assert!(!other.body.contains("_return_to"));

    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/1"),
            &[
                ("_version", version.as_str()),
                ("_action", "next"),
                ("_return_to", "review"),
                ("area", "green_development"),
                ("sub_area", "green_grid"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/assessments/{id}/review"));

    // A step-list button saves what was typed, then opens the chosen step.
    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/steps/1"),
            &[
                ("_version", version.as_str()),
                ("_goto", "4"),
                ("area", "quantum"),
                ("sub_area", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/assessments/{id}/steps/4"));
    let area: String =
        sqlx::query_scalar("SELECT answers->>'area' FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("area");
    assert_eq!(area, "quantum");
    let page = app.get(&format!("/assessments/{id}/steps/4")).await;
    page.assert_contains("form=\"step-form\" name=\"_goto\" value=\"1\"");
}

#[tokio::test]
async fn a_draft_is_deleted_softly_with_a_confirmation_and_an_audit_entry() {
    let app = TestApp::new().await;
    let project = app.create_project("Abandoned project").await;
    let id = app.start_assessment(&project).await;
    let confirm = app.get(&format!("/assessments/{id}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    confirm.assert_contains("Yes, delete this draft");

    // A page opened before a later save deletes nothing.
    let stale = app.lock_version(&id).await;
    app.save_step(
        &id,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/delete"),
            &[("_version", &stale)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let version = app.lock_version(&id).await;
    let r = app
        .post_form(
            &format!("/assessments/{id}/delete"),
            &[("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        format!("/projects/{project}?notice=draft_deleted")
    );
    // The row stays; the pages do not show it.
    let deleted: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM assessments WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    assert!(deleted);
    assert_eq!(
        app.get(&format!("/assessments/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !app.get(&format!("/projects/{project}"))
            .await
            .body
            .contains(&id)
    );
    assert!(!app.get("/cases").await.body.contains(&id));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'assessment.delete_draft' AND assessment_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);

    // A submitted case cannot be deleted.
    let submitted = app.submitted_case("Kept project").await;
    let version = app.lock_version(&submitted).await;
    let r = app
        .post_form(
            &format!("/assessments/{submitted}/delete"),
            &[("_version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn project_details_change_until_submission_with_named_errors_and_no_cutting() {
    let app = TestApp::new().await;
    // "three years" is refused with a message that names the field, never cut to "thr".
    let r = app
        .post_form(
            "/projects",
            &[
                ("title", "Duration project"),
                ("lead_researcher", "Dr. L"),
                ("duration_months", "three years"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains(
        "Enter the duration in months as a whole number from 1 to 240, for example 36.",
    );
    r.assert_contains("value=\"three years\"");
    assert!(
        !r.body.contains(" maxlength=\"3\""),
        "the browser would cut what is typed"
    );
    let r = app
        .post_form("/projects", &[("title", ""), ("lead_researcher", "")])
        .await;
    r.assert_contains("Enter the project title.");
    r.assert_contains("Enter the lead researcher.");

    let project = app.create_project("Editable project").await;
    let edit = app.get(&format!("/projects/{project}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK);
    let r = app
        .post_form(
            &format!("/projects/{project}/edit"),
            &[
                ("_version", "1"),
                ("title", "Edited project"),
                ("lead_researcher", "Dr. M"),
                ("duration_months", "36"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.get(&format!("/projects/{project}"))
        .await
        .assert_contains("Edited project");
    // A form opened before that change is refused, and what was typed comes back.
    let r = app
        .post_form(
            &format!("/projects/{project}/edit"),
            &[
                ("_version", "1"),
                ("title", "Stale title"),
                ("lead_researcher", "Dr. M"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    r.assert_contains("value=\"Stale title\"");

    // Once a case is submitted, the details are locked.
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/projects/{project}/edit")).await.status,
        StatusCode::CONFLICT
    );
    let title: String = sqlx::query_scalar("SELECT title FROM assessments WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .expect("title");
    assert_eq!(title, "Edited project");
}

#[tokio::test]
async fn exports_carry_the_decision_and_the_xlsx_has_typed_columns() {
    use calamine::{Data, Reader, Xlsx};

    let app = TestApp::new().await;
    let (reviewer_user, reviewer) = app.signed_in("reviewer", None).await;
    let decided = app.submitted_case("Decided export project").await;
    decided_with(
        &app,
        &decided,
        reviewer_user.id,
        "red",
        "orange",
        &["Licence first", "Annual report"],
    )
    .await;
    app.submitted_case("Undecided export project").await;
    let reference = reference_of(&app, &decided).await;

    let csv = reviewer.get("/cases.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'), "no byte-order mark");
    let header = csv
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    for column in [
        "reference",
        "final_verdict",
        "decided_by",
        "decision_date",
        "conditions",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "{column} missing from {header}"
        );
    }
    let line = csv
        .body
        .lines()
        .find(|l| l.contains(&reference))
        .expect("the decided case");
    assert!(line.contains("Orange") && line.contains("Red"), "{line}");
    assert!(line.contains("Licence first; Annual report"), "{line}");

    let r = reviewer.get("/cases.xlsx").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(r.bytes)).expect("an xlsx workbook");
    let sheet = book.worksheet_range("Cases").expect("the Cases sheet");
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows.len(), 3, "header and two cases");
    assert_eq!(rows[0][0], Data::String("reference".into()));
    assert_eq!(rows[0][12], Data::String("decision_date".into()));
    let decided_row = rows
        .iter()
        .find(|r| r[0] == Data::String(reference.clone()))
        .expect("row");
    assert_eq!(decided_row[10], Data::String("Orange".into()));
    assert_eq!(decided_row[9], Data::String("Red".into()));
    assert!(
        matches!(decided_row[12], Data::DateTime(_)),
        "decision date is a date: {:?}",
        decided_row[12]
    );
    assert_eq!(
        decided_row[14],
        Data::Float(2.0),
        "conditions count is a number"
    );
    assert!(
        matches!(decided_row[16], Data::DateTime(_)),
        "updated_at is a date-time"
    );
    // The export is audited like the CSV.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'case.export' AND details->>'format' = 'xlsx'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}
