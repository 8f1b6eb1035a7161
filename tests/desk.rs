//! The reviewers' desk: demo data, the case list (filters, search, sort, keyset
//! pagination), exports, the partner page, comparison, reports and the dashboard.

mod common;

use std::collections::HashSet;

use axum::http::StatusCode;
use common::{Client, TestApp};
use uuid::Uuid;

async fn seeded(n: usize) -> TestApp {
    let app = TestApp::new().await;
    let rulebook = app.state.rulebook_now();
    let written = triage::demo::seed(&app.state, &rulebook, n, 42)
        .await
        .expect("seed");
    assert_eq!(written, n);
    app
}

async fn demo_reviewer(app: &TestApp) -> Client {
    let c = app.anonymous();
    c.sign_in("reviewer1@triage.demo", triage::demo::DEMO_PASSWORD)
        .await;
    c
}

fn case_ids(page: &str) -> Vec<String> {
    page.split("name=\"id\" value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn next_link(page: &str) -> Option<String> {
    let at = page.find("rel=\"next\"")?;
    let before = &page[..at];
    let href = before.rfind("href=\"")? + 6;
    Some(
        before[href..]
            .split('"')
            .next()?
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn seed_demo_writes_varied_realistic_cases() {
    let app = seeded(400).await;
    assert_eq!(
        scalar(&app, "SELECT count(DISTINCT status) FROM assessments").await,
        5
    );
    assert_eq!(
        scalar(&app, "SELECT count(DISTINCT verdict) FROM assessments").await,
        3
    );
    assert!(scalar(&app, "SELECT count(DISTINCT area_code) FROM assessments").await >= 10);
    assert!(
        scalar(
            &app,
            "SELECT count(*) FROM assessments WHERE register_entry IS NOT NULL"
        )
        .await
            > 50
    );
    assert!(
        scalar(
            &app,
            "SELECT count(*) FROM assessments WHERE register_entry IS NULL"
        )
        .await
            > 50
    );
    assert!(
        scalar(
            &app,
            "SELECT count(*) FROM decisions WHERE outcome = 'override'"
        )
        .await
            > 5
    );
    assert!(scalar(&app, "SELECT count(*) FROM comments").await > 50);
    assert!(scalar(&app, "SELECT count(*) FROM submissions").await > 300);
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM assessments a JOIN decisions d ON d.assessment_id = a.id WHERE a.final_verdict = d.final_verdict").await,
        scalar(&app, "SELECT count(*) FROM decisions").await
    );
}

#[tokio::test]
async fn a_reviewer_pages_through_a_filtered_list_without_gaps_or_repeats() {
    let app = seeded(300).await;
    let reviewer = demo_reviewer(&app).await;
    let expected = scalar(
        &app,
        "SELECT count(*) FROM assessments WHERE status <> 'draft' AND verdict = 'red'",
    )
    .await;
    let mut url = "/cases?verdict=red".to_owned();
    let mut seen = HashSet::new();
    let mut pages = 0;
    loop {
        let page = reviewer.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        page.assert_contains(&format!("{expected} cases match"));
        for id in case_ids(&page.body) {
            assert!(seen.insert(id), "a case appeared twice");
        }
        pages += 1;
        match next_link(&page.body) {
            Some(next) => {
                assert!(
                    next.contains("verdict=red"),
                    "the filter stays in the address: {next}"
                );
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, expected);
    assert!(pages >= 2, "more than one page");
    let red: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assessments WHERE id = ANY($1::uuid[]) AND verdict = 'red'",
    )
    .bind(
        seen.iter()
            .map(|s| Uuid::parse_str(s).expect("uuid"))
            .collect::<Vec<_>>(),
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(red, expected);
}

#[tokio::test]
async fn every_sort_pages_through_every_case_exactly_once() {
    let app = seeded(160).await;
    let reviewer = demo_reviewer(&app).await;
    for sort in ["updated", "submitted", "title"] {
        let expected = scalar(
            &app,
            "SELECT count(*) FROM assessments WHERE status <> 'draft'",
        )
        .await;
        let mut url = format!("/cases?sort={sort}");
        let mut seen = Vec::new();
        loop {
            let page = reviewer.get(&url).await;
            seen.extend(case_ids(&page.body));
            match next_link(&page.body) {
                Some(next) => url = next,
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no repeats");
        assert_eq!(seen.len() as i64, expected, "{sort}: no gaps");
    }
}

#[tokio::test]
async fn full_text_search_and_every_filter_narrow_the_list() {
    let app = seeded(300).await;
    let reviewer = demo_reviewer(&app).await;
    let harbin = scalar(&app, "SELECT count(*) FROM assessments WHERE status <> 'draft' AND search @@ websearch_to_tsquery('simple', 'Harbin')").await;
    assert!(harbin > 0);
    reviewer
        .get("/cases?q=Harbin")
        .await
        .assert_contains(&format!("{harbin} case"));
    let institution: Uuid =
        sqlx::query_scalar("SELECT id FROM institutions WHERE name = 'KU Leuven'")
            .fetch_one(&app.db.pool)
            .await
            .expect("id");
    for (query, sql) in [
        (
            "area=quantum".to_owned(),
            "area_code = 'quantum'".to_owned(),
        ),
        (
            "sub_area=clin_cancer".to_owned(),
            "sub_area_code = 'clin_cancer'".to_owned(),
        ),
        (
            "status=decided&final_verdict=red".to_owned(),
            "status = 'decided' AND final_verdict = 'red'".to_owned(),
        ),
        (
            "final_verdict=none".to_owned(),
            "final_verdict IS NULL".to_owned(),
        ),
        (
            format!("institution={institution}"),
            format!("institution_id = '{institution}'"),
        ),
        (
            "partner=Harbin+Institute+of+Technology".to_owned(),
            "register_entry = 'Harbin Institute of Technology'".to_owned(),
        ),
        (
            "from=2000-01-01&to=2100-01-01".to_owned(),
            "true".to_owned(),
        ),
    ] {
        let n = scalar(
            &app,
            &format!("SELECT count(*) FROM assessments WHERE status <> 'draft' AND {sql}"),
        )
        .await;
        let page = reviewer.get(&format!("/cases?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        page.assert_contains(&format!("{n} case"));
    }
    let bad = reviewer.get("/cases?verdict=purple&from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("href=\"#verdict\"");
    bad.assert_contains("href=\"#from\"");
    bad.assert_contains("value=\"yesterday\"");
}

#[tokio::test]
async fn chinese_substrings_are_found_without_spaces_between_words() {
    let app = seeded(120).await;
    let reviewer = demo_reviewer(&app).await;
    // Five submitted cases name their partner in Chinese script, four of them Tsinghua.
    for (n, name) in [
        (0, "清华大学"),
        (1, "清华大学物理系"),
        (2, "北京清华大学深圳研究生院"),
        (3, "清华大学 化学系"),
        (4, "北京大学"),
    ] {
        sqlx::query(
            "UPDATE assessments SET partner_name = $1 WHERE id = (
                SELECT id FROM assessments WHERE status <> 'draft' ORDER BY id OFFSET $2 LIMIT 1)",
        )
        .bind(name)
        .bind(n as i64)
        .execute(&app.db.pool)
        .await
        .expect("partner");
    }
    // What the search must find: every submitted case whose indexed text holds each
    // typed term as a substring.
    let holding = |terms: &[&str]| {
        let mut sql = "SELECT count(*) FROM assessments a JOIN projects p ON p.id = a.project_id
            WHERE a.status <> 'draft'"
            .to_owned();
        for t in terms {
            sql.push_str(&format!(
                " AND concat_ws(' ', p.title, p.acronym, a.partner_name, a.register_entry, p.summary,
                    p.lead_researcher, a.answers ->> 'benefit_notes') LIKE '%{t}%'"
            ));
        }
        sql
    };
    for (query, terms, at_least) in [
        ("清华", vec!["清华"], 4),
        ("清华大学", vec!["清华大学"], 4),
        ("华大", vec!["华大"], 4),
        ("物理", vec!["物理"], 1),
        ("北京", vec!["北京"], 2),
        ("\"北京大学\"", vec!["北京大学"], 1),
        ("清华 物理", vec!["清华", "物理"], 1),
        ("大学", vec!["大学"], 5),
        ("京清", vec!["京清"], 1),
        ("清", vec!["清"], 4),
        ("华清", vec!["华清"], 0),
    ] {
        let n = scalar(&app, &holding(&terms)).await;
        assert!(n >= at_least, "{query}: {n} cases hold it");
        let page = reviewer
            .get(&format!("/cases?q={}", urlencode(query)))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        page.assert_contains(&format!("<caption>{n} case"));
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)]).expect("encodes")[2..].to_owned()
}

#[tokio::test]
async fn officers_list_and_export_only_their_institution_and_every_export_is_audited() {
    let app = seeded(200).await;
    let officer = app.anonymous();
    officer
        .sign_in("officer1@triage.demo", triage::demo::DEMO_PASSWORD)
        .await;
    let own = scalar(&app, "SELECT count(*) FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'Universiteit Leiden'").await;
    officer
        .get("/cases")
        .await
        .assert_contains(&format!("{own} case"));
    let csv = officer.get("/cases.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .starts_with("text/csv")
    );
    assert_eq!(
        csv.body.lines().count() as i64,
        own + 1,
        "one line per case plus the header"
    );
    let json = officer.get("/cases.json?verdict=orange").await;
    let orange = scalar(&app, "SELECT count(*) FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'Universiteit Leiden' AND verdict = 'orange'").await;
    assert_eq!(json.json()["count"], orange);
    let exports = scalar(
        &app,
        "SELECT count(*) FROM audit_log WHERE action = 'case.export'",
    )
    .await;
    assert_eq!(exports, 2);
    // A reviewer's export covers every institution.
    let reviewer = demo_reviewer(&app).await;
    let all = scalar(
        &app,
        "SELECT count(*) FROM assessments WHERE status <> 'draft'",
    )
    .await;
    assert_eq!(reviewer.get("/cases.json").await.json()["count"], all);
    // Admins do not export cases.
    let (_, admin) = app.signed_in("admin", None).await;
    assert_eq!(admin.get("/cases.csv").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn exported_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised() {
    let app = TestApp::new().await;
    let project = app
        .create_project("=HYPERLINK(\"http://evil.example\",\"click\")")
        .await;
    app.start_assessment(&project).await;
    let csv = app.get("/cases.csv").await;
    assert!(csv.body.contains("'=HYPERLINK"), "{}", csv.body);
    assert!(!csv.body.contains(",=HYPERLINK"));
}

#[tokio::test]
async fn the_partner_page_groups_every_spelling_of_a_register_entry_within_your_reach() {
    let app = seeded(300).await;
    let reviewer = demo_reviewer(&app).await;
    let n = scalar(&app, "SELECT count(*) FROM assessments WHERE status <> 'draft' AND register_entry = 'Harbin Institute of Technology'").await;
    for name in [
        "HIT",
        "harbin institute of technology",
        "Harbin Inst. of Technology",
    ] {
        let page = reviewer
            .get(&format!("/partners?name={}", name.replace(' ', "+")))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_contains(&format!("Cases naming this partner ({n})"));
        page.assert_contains("US Entity List");
    }
    let officer = app.anonymous();
    officer
        .sign_in("officer2@triage.demo", triage::demo::DEMO_PASSWORD)
        .await;
    let own = scalar(&app, "SELECT count(*) FROM assessments a JOIN institutions i ON i.id = a.institution_id WHERE i.name = 'KU Leuven' AND register_entry = 'Harbin Institute of Technology'").await;
    officer
        .get("/partners?name=HIT")
        .await
        .assert_contains(&format!("Cases naming this partner ({own})"));
    let outside = reviewer.get("/partners?name=Peking+University").await;
    outside.assert_contains("Not in the partner register");
}

#[tokio::test]
async fn cases_are_compared_side_by_side_with_differences_marked() {
    let app = seeded(60).await;
    let reviewer = demo_reviewer(&app).await;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM assessments WHERE status <> 'draft' ORDER BY id LIMIT 3",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("ids");
    let page = reviewer
        .get(&format!(
            "/compare?id={}&id={}&id={}",
            ids[0], ids[1], ids[2]
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Differs");
    page.assert_contains("Computed verdict");
    page.assert_contains("Findings");
    assert_eq!(
        reviewer
            .get(&format!("/compare?id={}", ids[0]))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let draft: Uuid =
        sqlx::query_scalar("SELECT id FROM assessments WHERE status = 'draft' LIMIT 1")
            .fetch_one(&app.db.pool)
            .await
            .expect("draft");
    assert_eq!(
        reviewer
            .get(&format!("/compare?id={}&id={draft}", ids[0]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_printable_report_carries_the_record_digest_and_is_audited() {
    let app = seeded(30).await;
    let reviewer = demo_reviewer(&app).await;
    let (id, answers, version): (Uuid, serde_json::Value, String) = sqlx::query_as(
        "SELECT id, answers, rulebook_version FROM assessments WHERE status = 'decided' LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("case");
    let answers: triage::domain::answers::Answers =
        serde_json::from_value(answers).expect("answers");
    let digest = triage::domain::digest::record_digest(&answers, &version);
    let page = reviewer.get(&format!("/assessments/{id}/report")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&digest);
    page.assert_contains("Computed verdict");
    page.assert_contains("Final verdict");
    page.assert_contains(&version);
    page.assert_contains("Decision");
    reviewer
        .get(&format!("/assessments/{id}"))
        .await
        .assert_contains(&digest);
    let audited = scalar(
        &app,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'case.report' AND assessment_id = '{id}'"
        ),
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn the_dashboard_draws_accessible_charts_with_their_data() {
    let app = seeded(200).await;
    let reviewer = demo_reviewer(&app).await;
    let page = reviewer.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("role=\"img\"").count(), 3);
    assert_eq!(page.body.matches("<title id=").count(), 3);
    assert_eq!(page.body.matches("<desc id=").count(), 3);
    page.assert_contains("Cases by area and computed verdict");
    page.assert_contains("Open review workload");
    let total = scalar(
        &app,
        "SELECT count(*) FROM assessments WHERE status <> 'draft'",
    )
    .await;
    page.assert_contains(&format!("{total} in all"));
    let officer = app.anonymous();
    officer
        .sign_in("officer3@triage.demo", triage::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(officer.get("/dashboard").await.status, StatusCode::OK);
    let (_, admin) = app.signed_in("admin", None).await;
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::FORBIDDEN);
}
