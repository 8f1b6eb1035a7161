//! The access matrix: every route times every role (anonymous, officer of institution
//! A, officer of institution B, reviewer, admin), asserting what is allowed and refused.

mod common;

use axum::http::StatusCode;
use common::{Client, TestApp};

/// What a role gets from a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200 (a page) or 303 (a form's redirect).
    Allowed,
    /// 303 to the sign-in page.
    SignIn,
    /// 403: not for this role.
    Forbidden,
    /// 404: outside your reach, like a case that does not exist.
    NotFound,
}
use Expect::*;

/// (method, path, form fields, expectation for anonymous, officer A, officer B, reviewer, admin)
type Row<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, [Expect; 5]);

async fn check(
    client: &Client,
    role: &str,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    expect: Expect,
) {
    let r = match method {
        "GET" => client.get(path).await,
        _ => client.post_form(path, fields).await,
    };
    let ok = match expect {
        Allowed => {
            r.status == StatusCode::OK
                || (r.status == StatusCode::SEE_OTHER && !r.location().starts_with("/login"))
        }
        SignIn => r.status == StatusCode::SEE_OTHER && r.location().starts_with("/login"),
        Forbidden => r.status == StatusCode::FORBIDDEN,
        NotFound => r.status == StatusCode::NOT_FOUND,
    };
    assert!(
        ok,
        "{role} {method} {path}: expected {expect:?}, got {} {}",
        r.status,
        r.location()
    );
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_access_rules_say() {
    let app = TestApp::new().await;
    // Officer A's cases: a draft, and a submitted one.
    let project = app.create_project("Officer A's project").await;
    let draft = app.start_assessment(&project).await;
    let submitted = app.start_assessment(&project).await;
    app.save_step(
        &submitted,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    assert_eq!(app.submit(&submitted).await.status, StatusCode::SEE_OTHER);

    let (_, officer_b) = app.signed_in("officer", Some(app.institution_b)).await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let anon = app.anonymous();
    anon.get("/login").await; // a session with a token, so forms get past CSRF to the access check

    // A simulation of the active rulebook (activating it again is a conflict, not a change).
    let active = app.state.rulebook_now().version().to_owned();
    let simulation = admin
        .post_form("/rulebooks/simulate", &[("version", &active)])
        .await
        .location()
        .to_owned();
    assert!(
        simulation.starts_with("/rulebooks/simulations/"),
        "{simulation}"
    );
    let activate = format!("{simulation}/activate");

    let p = format!("/projects/{project}");
    let d = format!("/assessments/{draft}");
    let s = format!("/assessments/{submitted}");
    let step = [("_version", "1"), ("_action", "save"), ("dependency", "no")];
    //               route                                   anon     A        B          reviewer   admin
    let table: Vec<Row> = vec![
        (
            "GET",
            "/".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/areas/ai".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/rulebook".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/api/v1/rulebook".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/healthz".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/login".into(),
            vec![],
            [Allowed, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/register".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/register/match?name=HIT".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/account".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/projects".into(),
            vec![],
            [SignIn, Allowed, Allowed, Forbidden, Forbidden],
        ),
        (
            "GET",
            "/projects/new".into(),
            vec![],
            [SignIn, Allowed, Allowed, Forbidden, Forbidden],
        ),
        (
            "POST",
            "/projects".into(),
            vec![("title", "T"), ("lead_researcher", "L")],
            [SignIn, Allowed, Allowed, Forbidden, Forbidden],
        ),
        (
            "GET",
            p.clone(),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{p}/assessments"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            d.clone(),
            vec![],
            [SignIn, Allowed, NotFound, NotFound, NotFound],
        ),
        (
            "GET",
            format!("{d}/steps/1"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            format!("{d}/review"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{d}/steps/7"),
            step.to_vec(),
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{d}/submit"),
            vec![("_version", "0")],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{d}/comments"),
            vec![("body", "A note")],
            [SignIn, Allowed, NotFound, NotFound, Forbidden],
        ),
        (
            "GET",
            s.clone(),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, NotFound],
        ),
        (
            "POST",
            format!("{s}/comments"),
            vec![("body", "A note")],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/return"),
            vec![("message", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/decision"),
            vec![("outcome", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "GET",
            "/review".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "GET",
            "/admin".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/users".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/institutions".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/register".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/settings".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/audit".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            "/admin/institutions".into(),
            vec![("name", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            "/admin/users".into(),
            vec![("email", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            "/admin/settings".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/rulebooks".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Allowed, Allowed],
        ),
        (
            "GET",
            simulation.clone(),
            vec![],
            [SignIn, Forbidden, Forbidden, Allowed, Allowed],
        ),
        (
            "POST",
            "/rulebooks/simulate".into(),
            vec![("version", active.as_str())],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            activate.clone(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
    ];
    let officer_a: &Client = &app;
    let clients: [(&str, &Client); 5] = [
        ("anonymous", &anon),
        ("officer A", officer_a),
        ("officer B", &officer_b),
        ("reviewer", &reviewer),
        ("admin", &admin),
    ];
    for (method, path, fields, expected) in &table {
        for ((role, client), expect) in clients.iter().zip(expected) {
            // A form with errors (422) still proves the handler let the role in.
            if *expect == Allowed && *method == "POST" {
                let r = client.post_form(path, fields).await;
                assert!(
                    matches!(
                        r.status,
                        StatusCode::OK
                            | StatusCode::SEE_OTHER
                            | StatusCode::UNPROCESSABLE_ENTITY
                            | StatusCode::CONFLICT
                    ) && !r.location().starts_with("/login"),
                    "{role} {method} {path}: expected to be let in, got {} {}",
                    r.status,
                    r.location()
                );
                continue;
            }
            check(client, role, method, path, fields, *expect).await;
        }
    }
}

#[tokio::test]
async fn an_officer_lists_only_their_institutions_projects() {
    let app = TestApp::new().await;
    app.create_project("Visible to A only").await;
    let (_, officer_b) = app.signed_in("officer", Some(app.institution_b)).await;
    officer_b.create_project("Visible to B only").await;
    let a = app.get("/projects").await;
    a.assert_contains("Visible to A only");
    assert!(!a.body.contains("Visible to B only"));
    let b = officer_b.get("/projects").await;
    b.assert_contains("Visible to B only");
    assert!(!b.body.contains("Visible to A only"));
}

#[tokio::test]
async fn reviewers_never_see_drafts_and_never_edit_answers() {
    let app = TestApp::new().await;
    let project = app.create_project("Draft only").await;
    let draft = app.start_assessment(&project).await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    assert_eq!(
        reviewer.get(&format!("/assessments/{draft}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!reviewer.get("/review").await.body.contains("Draft only"));
    app.save_step(&draft, 1, &[("area", "ai"), ("sub_area", "ai_nlp")])
        .await;
    app.submit(&draft).await;
    reviewer.get("/review").await.assert_contains("Draft only");
    let version = app.lock_version(&draft).await;
    let r = reviewer
        .post_form(
            &format!("/assessments/{draft}/steps/1"),
            &[("_version", &version), ("area", "quantum")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let area: Option<String> =
        sqlx::query_scalar("SELECT area_code FROM assessments WHERE id = $1::uuid")
            .bind(&draft)
            .fetch_one(&app.db.pool)
            .await
            .expect("area");
    assert_eq!(area.as_deref(), Some("ai"));
}
