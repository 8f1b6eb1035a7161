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
