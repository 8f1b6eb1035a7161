//! The status of ticked mitigations through the real router and database: done needs
//! evidence (a note or an attached file), planned needs an owner of the institution and
//! a due date, a stale page is refused, and the case page and report show the status.

mod common;

use axum::http::StatusCode;
use common::TestApp;

/// A submitted case with two mitigations ticked.
async fn case(app: &TestApp) -> String {
    let project = app.create_project("Grid storage with Tsinghua").await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    app.save_step(
        &id,
        9,
        &[
            ("mitigations", "export_control_check"),
            ("mitigations", "data_management_plan"),
        ],
    )
    .await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    id
}

fn stamp_in(page: &str) -> String {
    let at = page.find("name=\"_stamp\" value=\"").expect("a stamp") + 21;
    page[at..].split('"').next().expect("stamp").to_owned()
}

#[tokio::test]
async fn each_mitigation_is_done_with_evidence_or_planned_with_an_owner_and_a_date() {
    let app = TestApp::new().await;
    let id = case(&app).await;
    let path = format!("/assessments/{id}/mitigations");
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Export-control check");
    page.assert_contains("Status not recorded");
    let stamp = stamp_in(&page.body);
    let owner = app.officer.id.to_string();
    let due = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();

    // Done without a note or a file, planned without an owner: both refused, as typed.
    let r = app
        .post_form(
            &path,
            &[
                ("_stamp", &stamp),
                ("status_export_control_check", "done"),
                ("status_data_management_plan", "planned"),
                ("note_data_management_plan", "Drafted with the data steward"),
                ("due_data_management_plan", &due),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("href=\"#note_export_control_check\"");
    r.assert_contains("say in the note where the evidence is kept");
    r.assert_contains("href=\"#owner_data_management_plan\"");
    r.assert_contains("Drafted with the data steward");
    r.assert_contains(&format!("value=\"{due}\""));

    // An owner from another institution is no owner here.
    let (stranger, _) = app.signed_in("officer", Some(app.institution_b)).await;
    let r = app
        .post_form(
            &path,
            &[
                ("_stamp", &stamp),
                ("status_data_management_plan", "planned"),
                ("owner_data_management_plan", &stranger.id.to_string()),
                ("due_data_management_plan", &due),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = app
        .post_form(
            &path,
            &[
                ("_stamp", &stamp),
                ("status_export_control_check", "done"),
                (
                    "note_export_control_check",
                    "Signed check in the export-control office's file EC-2026-114",
                ),
                ("status_data_management_plan", "planned"),
                ("owner_data_management_plan", &owner),
                ("due_data_management_plan", &due),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // A change from the page opened before is refused, not applied.
    let r = app
        .post_form(
            &path,
            &[("_stamp", &stamp), ("status_export_control_check", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM mitigation_status")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(recorded, 2);

    // The case page and the report say what is done and what is only planned.
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let page = reviewer.get(&format!("/assessments/{id}")).await;
    page.assert_contains("Done. Evidence: Signed check in the export-control office");
    page.assert_contains(&format!("sees to it by {due}"));
    page.assert_contains("Resolves its findings provisionally until done");
    let report = reviewer.get(&format!("/assessments/{id}/report")).await;
    report.assert_contains(&format!("sees to it by {due}"));
    // Reviewers read the status; only officers record it.
    let page = reviewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("name=\"_stamp\""));
    assert_eq!(
        reviewer.post_form(&path, &[("_stamp", "x")]).await.status,
        StatusCode::FORBIDDEN
    );
    // Once its date has passed, a planned mitigation says it is overdue.
    sqlx::query("UPDATE mitigation_status SET due_on = current_date - 1 WHERE code = 'data_management_plan'")
        .execute(&app.db.pool)
        .await
        .expect("move the date");
    reviewer
        .get(&format!("/assessments/{id}"))
        .await
        .assert_contains("Overdue: planned for");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'case.mitigation_status'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_attached_file_is_evidence_enough_and_other_institutions_get_404() {
    let app = TestApp::new().await;
    let id = case(&app).await;
    let r = app
        .post_multipart(
            &format!("/assessments/{id}/attachments"),
            &[
                ("target", None, "mitigation:export_control_check"),
                ("note", None, ""),
                (
                    "file",
                    Some("check.txt"),
                    "Export-control check: no licence needed.\n",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let path = format!("/assessments/{id}/mitigations");
    let page = app.get(&path).await;
    page.assert_contains("Files attached to it: 1.");
    let stamp = stamp_in(&page.body);
    let r = app
        .post_form(
            &path,
            &[("_stamp", &stamp), ("status_export_control_check", "done")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.get(&format!("/assessments/{id}"))
        .await
        .assert_contains("Done; the evidence is attached.");

    let (_, other) = app.signed_in("officer", Some(app.institution_b)).await;
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.post_form(&path, &[("_stamp", &stamp)]).await.status,
        StatusCode::NOT_FOUND
    );
}
