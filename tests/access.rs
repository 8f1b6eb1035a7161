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

/// Every route the web modules declare (`.route("...")`), as path templates.
fn declared_routes() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut routes = Vec::new();
    // src/web and its module folders (src/web/wizard).
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src/web").flatten() {
        match std::fs::read_dir(entry.path()) {
            Ok(inner) => files.extend(inner.flatten().map(|e| e.path())),
            Err(_) => files.push(entry.path()),
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for piece in text.split(".route(").skip(1) {
            if let Some(path) = piece.trim_start().strip_prefix('"') {
                routes.push(path.split('"').next().unwrap_or_default().to_owned());
            }
        }
    }
    routes
}

/// Whether a concrete path matches a template such as `/assessments/{id}/report`.
fn matches_template(path: &str, template: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let (p, t): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(a, b)| a == b || (b.starts_with('{') && !a.is_empty()))
}

/// The matrix must name every route but the benchmark's (mounted only on request).
fn assert_every_route_is_in(table: &[Row]) {
    let missing: Vec<String> = declared_routes()
        .into_iter()
        .filter(|t| !t.starts_with("/bench/") && t != "/logout")
        .filter(|t| {
            !table
                .iter()
                .any(|(_, path, _, _)| matches_template(path, t))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the access matrix: {missing:?}"
    );
}

/// Sends a row's request: a page, a form, a file upload or a JSON body.
async fn send(
    client: &Client,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> common::TestResponse {
    match method {
        "GET" => client.get(path).await,
        "UPLOAD" => {
            let parts: Vec<(&str, Option<&str>, &str)> = fields
                .iter()
                .map(|(name, value)| (*name, (*name == "file").then_some("upload.csv"), *value))
                .collect();
            client.post_multipart(path, &parts).await
        }
        "JSON" => {
            client
                .post_json(path, fields.first().map_or("{}", |f| f.1))
                .await
        }
        _ => client.post_form(path, fields).await,
    }
}

async fn check(
    client: &Client,
    role: &str,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    expect: Expect,
) {
    let r = send(client, method, path, fields).await;
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

    let second = app.submitted_case("Officer A's second project").await;
    let draft_project = app.create_project("Officer A's draft project").await;
    let draft2 = app.start_assessment(&draft_project).await;
    let (user_b, officer_b) = app.signed_in("officer", Some(app.institution_b)).await;
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
    // An upload waiting for review, and a curated register entry.
    let csv = "name,aliases,city,province,kind,flags,note,source,as_of\nMatrix University,,Shanghai,Shanghai,university,,,general,2026-10\n";
    let r = admin
        .post_multipart("/admin/register", &[("file", Some("matrix.csv"), csv)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let upload = r.location().to_owned();
    let entry = app
        .state
        .register_now()
        .entries()
        .iter()
        .find(|e| e.list == triage::screening::List::Curated)
        .expect("a curated entry")
        .id
        .clone();
    // A message in the mail outbox (no SMTP in the tests: it is kept there).
    let mut tx = app.db.pool.begin().await.expect("tx");
    triage::mail::notify(
        &mut tx,
        &triage::mail::MailSettings::default(),
        &[triage::mail::Recipient {
            id: None,
            email: "someone@example.org".into(),
            digest: false,
        }],
        &triage::mail::Notification {
            kind: "case.submitted",
            assessment_id: None,
            subject: "A case was submitted".into(),
            body: "See triage.".into(),
        },
    )
    .await
    .expect("a mail");
    tx.commit().await.expect("commit");
    let mail: uuid::Uuid = sqlx::query_scalar("SELECT id FROM outbox LIMIT 1")
        .fetch_one(&app.db.pool)
        .await
        .expect("the mail");
    let mail_page = format!("/admin/outbox/{mail}");
    // A file attached to the submitted case.
    let r = app
        .post_multipart(
            &format!("/assessments/{submitted}/attachments"),
            &[
                ("target", None, "case"),
                ("file", Some("list.csv"), "a,b\n1,2\n"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let attached: uuid::Uuid = sqlx::query_scalar("SELECT id FROM attachments LIMIT 1")
        .fetch_one(&app.db.pool)
        .await
        .expect("the attachment");
    let attachment_page = format!("/assessments/{submitted}/attachments/{attached}");
    let user_b_page = format!("/admin/users/{}", user_b.id);
    let institution_b = app.institution_b.to_string();
    let compare = format!("/compare?id={submitted}&id={second}");
    let event = format!(
        "/assessments/{submitted}/screening/events/{}/acknowledge",
        uuid::Uuid::new_v4()
    );
    let evaluate = r#"{"answers": {"area": "ai"}}"#;

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
            "/areas".into(),
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
            "POST",
            format!("{s}/requests/answer"),
            vec![("request", "not-a-uuid"), ("answer", "")],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{s}/decision/confirm"),
            vec![("outcome", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/reopen"),
            vec![("reason", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/cosign"),
            vec![],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/assign"),
            vec![("to", "me")],
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
            "GET",
            "/admin/outbox".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            mail_page.clone(),
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
        (
            "GET",
            format!("/projects/{draft_project}/edit"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("/projects/{draft_project}/edit"),
            vec![
                ("_version", "1"),
                ("title", "Renamed"),
                ("lead_researcher", "L"),
            ],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            format!("{s}/submitted"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            format!("/assessments/{draft2}/delete"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("/assessments/{draft2}/delete"),
            vec![("_version", "1")],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        // Every route not covered above, so that none is left out.
        ("GET", "/static/triage.css".into(), vec![], [Allowed; 5]),
        ("GET", "/healthz/live".into(), vec![], [Allowed; 5]),
        ("GET", "/healthz/ready".into(), vec![], [Allowed; 5]),
        (
            "JSON",
            "/api/v1/evaluate".into(),
            vec![("body", evaluate)],
            [Allowed; 5],
        ),
        (
            "POST",
            "/login".into(),
            vec![
                ("email", "nobody@example.org"),
                ("password", "not it at all"),
            ],
            [Allowed; 5],
        ),
        ("GET", "/login/two-factor".into(), vec![], [SignIn; 5]),
        (
            "POST",
            "/login/two-factor".into(),
            vec![("code", "123456")],
            [SignIn; 5],
        ),
        (
            "POST",
            "/account/mail".into(),
            vec![("delivery", "immediate")],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "POST",
            "/account/password".into(),
            vec![
                ("current", "not my password"),
                ("new_password", "x"),
                ("confirm", "x"),
            ],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/account/two-factor".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "POST",
            "/account/two-factor".into(),
            vec![("code", "000000"), ("password", "x")],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "POST",
            "/account/two-factor/disable".into(),
            vec![("password", "not my password"), ("code", "000000")],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            format!("{s}/report"),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, NotFound],
        ),
        (
            "GET",
            format!("{s}/report.css"),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, NotFound],
        ),
        (
            "GET",
            format!("{d}/report"),
            vec![],
            [SignIn, Allowed, NotFound, NotFound, NotFound],
        ),
        (
            "GET",
            format!("{s}/attachments"),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "GET",
            format!("{d}/attachments"),
            vec![],
            [SignIn, Allowed, NotFound, NotFound, Forbidden],
        ),
        (
            "UPLOAD",
            format!("{s}/attachments"),
            vec![("target", "case"), ("file", "a,b\n1,2\n")],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "UPLOAD",
            format!("{d}/attachments"),
            vec![("target", "case"), ("file", "a,b\n1,2\n")],
            [SignIn, Allowed, NotFound, NotFound, Forbidden],
        ),
        (
            "GET",
            attachment_page.clone(),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "GET",
            format!("{s}/mitigations"),
            vec![],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{s}/mitigations"),
            vec![("_stamp", "x")],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "GET",
            format!("{d}/attachments/{attached}"),
            vec![],
            [SignIn, NotFound, NotFound, NotFound, Forbidden],
        ),
        (
            "GET",
            format!("{s}/review"),
            vec![],
            [SignIn, Allowed, NotFound, Forbidden, Forbidden],
        ),
        (
            "POST",
            format!("{s}/screening/dismiss"),
            vec![("entry", "none"), ("reason", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "POST",
            format!("{d}/screening/dismiss"),
            vec![("entry", "none"), ("reason", "")],
            [SignIn, Forbidden, Forbidden, NotFound, Forbidden],
        ),
        (
            "POST",
            event,
            vec![("note", "")],
            [SignIn, Forbidden, Forbidden, Allowed, Forbidden],
        ),
        (
            "GET",
            "/cases".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            "/cases.csv".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            "/cases.xlsx".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            "/cases.json".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            "/partners?name=Fudan%20University".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            compare,
            vec![],
            [SignIn, Allowed, NotFound, Allowed, Forbidden],
        ),
        (
            "GET",
            "/dashboard".into(),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Forbidden],
        ),
        (
            "GET",
            format!("/register/entries/{entry}"),
            vec![],
            [SignIn, Allowed, Allowed, Allowed, Allowed],
        ),
        (
            "GET",
            "/admin/register/progress".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            upload.clone(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("{upload}/publish"),
            vec![("base_revision", "-1")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            "/admin/register/entries/new".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            "/admin/register/entries".into(),
            vec![("name", ""), ("kind", "university")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            format!("/admin/register/entries/{entry}/edit"),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "UPLOAD",
            "/admin/register".into(),
            vec![("file", csv)],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "UPLOAD",
            "/rulebooks".into(),
            vec![("text", "not a rulebook")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            user_b_page.clone(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            user_b_page.clone(),
            vec![("role", "officer"), ("institution_id", &institution_b)],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        // Destructive ones last: discarding the upload, removing the entry.
        (
            "POST",
            format!("{upload}/discard"),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/admin/register/entries/{entry}/remove"),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        // Accounts (issue 12): an administrator exists, so setup is gone for everyone.
        ("GET", "/setup?code=nothing".into(), vec![], [NotFound; 5]),
        (
            "POST",
            "/setup".into(),
            vec![("code", "nothing")],
            [NotFound; 5],
        ),
        ("GET", "/password/forgot".into(), vec![], [Allowed; 5]),
        (
            "POST",
            "/password/forgot".into(),
            vec![("email", "nobody@example.org")],
            [Allowed; 5],
        ),
        (
            "GET",
            "/password/reset?token=unknown".into(),
            vec![],
            [NotFound; 5],
        ),
        (
            "POST",
            "/password/reset".into(),
            vec![("token", "unknown"), ("password", "x")],
            [NotFound; 5],
        ),
        (
            "GET",
            "/invitation?token=unknown".into(),
            vec![],
            [NotFound; 5],
        ),
        (
            "POST",
            "/invitation".into(),
            vec![("token", "unknown"), ("password", "x")],
            [NotFound; 5],
        ),
        (
            "GET",
            "/invitations".into(),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            "/invitations".into(),
            vec![("email", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/invitations/{}/resend", uuid::Uuid::nil()),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, NotFound],
        ),
        (
            "POST",
            format!("/invitations/{}/revoke", uuid::Uuid::nil()),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, NotFound],
        ),
        (
            "POST",
            format!("{user_b_page}/force-reset"),
            vec![("reason", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("{user_b_page}/reset-two-factor"),
            vec![("reason", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            format!("/admin/institutions/{institution_b}"),
            vec![],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/admin/institutions/{institution_b}/rename"),
            vec![("name", ""), ("_version", "0")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/admin/institutions/{institution_b}/merge"),
            vec![("into", ""), ("_version", "0")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/admin/institutions/{institution_b}/active"),
            vec![("active", "false"), ("_version", "999")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "POST",
            format!("/admin/institutions/{institution_b}/sso"),
            vec![("issuer_url", "")],
            [SignIn, Forbidden, Forbidden, Forbidden, Allowed],
        ),
        (
            "GET",
            format!("/sso/{institution_b}/login"),
            vec![],
            [NotFound; 5],
        ),
        (
            "GET",
            format!("/sso/{institution_b}/callback?code=x&state=y"),
            vec![],
            [NotFound; 5],
        ),
    ];
    assert_every_route_is_in(&table);
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
            if *expect == Allowed && *method != "GET" {
                let r = send(client, method, path, fields).await;
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
    // Signing out, last: everyone may, and is signed out afterwards.
    for (role, client) in clients {
        let r = client.post_form("/logout", &[]).await;
        assert_eq!(r.location(), "/login?signed_out=1", "{role}");
        assert!(
            client
                .get("/account")
                .await
                .location()
                .starts_with("/login"),
            "{role}"
        );
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
