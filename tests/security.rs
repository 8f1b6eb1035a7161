//! The findings of the security review of issue 9, each tried as the reviewer did: a
//! test per finding, failing before its fix.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Client, PASSWORD, TestApp, set_cookies};
use triage::state::RuntimeConfig;
use uuid::Uuid;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The client is sent to the sign-in page: its session has ended.
async fn assert_signed_out(client: &Client) {
    let r = client.get("/projects").await;
    assert!(
        r.location().starts_with("/login"),
        "still signed in: {} {}",
        r.status,
        r.location()
    );
}

fn header_of<'a>(r: &'a common::TestResponse, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

// ----- 1. open redirect -----

/// Next addresses a browser turns into another site (it drops tabs and line breaks), or
/// that are not valid in a Location header at all.
const HOSTILE_NEXT: [&str; 8] = [
    "/%09/evil.example/x",
    "/%09%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%00",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%E2%80%8B/evil.example",
];

#[tokio::test]
async fn sign_in_never_sends_anyone_to_another_site_whatever_next_holds() {
    let app = TestApp::new().await;
    for next in HOSTILE_NEXT {
        // Signed in already: the sign-in page redirects at once.
        let r = app.get(&format!("/login?next={next}")).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "GET next={next}: {}",
            r.body
        );
        assert_eq!(r.location(), "/", "GET next={next}");
        // Signing in with the form.
        let decoded: String =
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("next={next}"))
                .expect("decode")
                .remove(0)
                .1;
        let v = app.anonymous();
        let r = v
            .post_form(
                "/login",
                &[
                    ("email", &app.officer.email),
                    ("password", PASSWORD),
                    ("next", &decoded),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "POST next={next}: {}",
            r.body
        );
        assert_eq!(r.location(), "/", "POST next={next}");
    }
    // A local path still works.
    let r = app.get("/login?next=/projects%3Fnotice%3Dsaved").await;
    assert_eq!(r.location(), "/projects?notice=saved");
}

// ----- 2. audit-log flooding without an account -----

#[tokio::test]
async fn refused_sign_ins_during_a_lockout_are_counted_not_logged_one_by_one() {
    let app = TestApp::with_config(RuntimeConfig {
        max_failures_per_address: 3,
        ..RuntimeConfig::default()
    })
    .await;
    let v = app.anonymous();
    for i in 0..3 {
        let r = v
            .post_sign_in(&format!("nobody{i}@example.org"), "wrong password here")
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let rows = count(&app, "SELECT count(*) FROM audit_log").await;
    let bytes = count(
        &app,
        "SELECT coalesce(sum(pg_column_size(audit_log.*)), 0)::bigint FROM audit_log",
    )
    .await;
    let huge = format!("{}@example.org", "x".repeat(240_000));
    for _ in 0..20 {
        let r = v.post_sign_in(&huge, "whatever it is").await;
        assert!(
            matches!(
                r.status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{}",
            r.status
        );
    }
    for i in 0..20 {
        let r = v
            .post_sign_in(&format!("other{i}@example.org"), "wrong password here")
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let added = count(&app, "SELECT count(*) FROM audit_log").await - rows;
    assert!(added <= 2, "{added} audit rows for 40 refused attempts");
    let grown = count(
        &app,
        "SELECT coalesce(sum(pg_column_size(audit_log.*)), 0)::bigint FROM audit_log",
    )
    .await
        - bytes;
    assert!(grown < 4_000, "the audit log grew by {grown} bytes");
}

#[tokio::test]
async fn a_sign_in_email_longer_than_an_address_can_be_is_refused_beside_the_field() {
    let app = TestApp::new().await;
    let v = app.anonymous();
    for email in [
        format!("{}@example.org", "x".repeat(3_000)),
        format!("{}@example.org", "y".repeat(240_000)),
    ] {
        let r = v.post_sign_in(&email, "anything at all").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        assert!(r.body.len() < 40_000, "the page does not echo it whole");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM failed_logins WHERE length(email) > 254"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn looking_at_the_sign_in_page_stores_no_session() {
    let app = TestApp::new().await;
    let before = count(&app, "SELECT count(*) FROM tower_sessions.session").await;
    for _ in 0..5 {
        let v = app.anonymous();
        let r = v.get("/login").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            v.session_cookie().is_none(),
            "no session cookie for a visitor"
        );
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM tower_sessions.session").await,
        before
    );
    // The form still works from that page.
    let v = app.anonymous();
    v.get("/login").await;
    v.sign_in(&app.officer.email, PASSWORD).await;
    assert_eq!(v.get("/projects").await.status, StatusCode::OK);
}

// ----- 3. back after sign-out -----

#[tokio::test]
async fn dynamic_pages_are_never_stored_and_the_session_cookie_ends_with_the_browser() {
    let app = TestApp::new().await;
    let project = app.create_project("Kept out of caches").await;
    for path in [
        format!("/projects/{project}"),
        "/projects".into(),
        "/".into(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(header_of(&r, "cache-control"), "no-store", "{path}");
    }
    let r = app.get("/static/triage.css").await;
    assert!(header_of(&r, "cache-control").contains("max-age"));

    let cookie = session_set_cookie(&app).await;
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(!cookie.contains("Expires"), "{cookie}");
}

/// The session cookie a sign-in from the sign-in page sets.
async fn session_set_cookie(app: &TestApp) -> String {
    let r = app
        .anonymous()
        .sign_in_response(&app.officer.email, PASSWORD)
        .await;
    set_cookies(&r)
        .into_iter()
        .find(|c| c.contains("triage_session="))
        .expect("a session cookie at sign-in")
}

// ----- 4. sessions outlive what should end them -----

const NEW_PASSWORD: &str = "lantern kestrel orchard 1887";

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::new().await;
    let other = app.client_for(&app.officer).await;
    assert_eq!(other.get("/projects").await.status, StatusCode::OK);
    let r = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_signed_out(&other).await;
    assert_eq!(
        app.get("/projects").await.status,
        StatusCode::OK,
        "this one goes on"
    );
}

#[tokio::test]
async fn a_disabled_accounts_sessions_stay_ended_when_it_is_enabled_again() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", None).await;
    let institution = app.institution_a.to_string();
    let user = format!("/admin/users/{}", app.officer.id);
    let r = admin
        .post_form(
            &user,
            &[
                ("role", "officer"),
                ("institution_id", &institution),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.get("/projects").await.location().starts_with("/login"));
    let r = admin
        .post_form(
            &user,
            &[("role", "officer"), ("institution_id", &institution)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.get("/projects").await;
    assert!(
        r.location().starts_with("/login"),
        "the old session works again: {} {}",
        r.status,
        r.location()
    );
    app.anonymous().sign_in(&app.officer.email, PASSWORD).await;
}

// ----- 5. TRUST_PROXY -----

#[tokio::test]
async fn behind_a_proxy_the_client_is_the_right_most_forwarded_address() {
    let app = TestApp::with_config(RuntimeConfig {
        trust_proxy: true,
        max_failures_per_address: 3,
        ..RuntimeConfig::default()
    })
    .await;
    let v = app.anonymous();
    v.get("/login").await;
    let token = v.csrf().await;
    let attempt = |email: String, forwarded: String, password: &'static str| {
        let token = token.clone();
        let v = &v;
        async move {
            v.post_form_with(
                "/login",
                &[("_csrf", &token), ("email", &email), ("password", password)],
                &[("x-forwarded-for", &forwarded)],
            )
            .await
        }
    };
    // The client varies the left-most entry; the proxy appends the real address.
    for i in 0..3 {
        let r = attempt(
            format!("nobody{i}@example.org"),
            format!("203.0.113.{i}, 198.51.100.7"),
            "wrong password here",
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = attempt(
        app.officer.email.clone(),
        "203.0.113.99, 198.51.100.7".into(),
        "wrong password here",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is locked"
    );
    let addresses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT address FROM failed_logins")
        .fetch_all(&app.db.pool)
        .await
        .expect("addresses");
    assert_eq!(addresses, ["198.51.100.7"]);

    // Text that is not an address is never taken as one.
    let w = app.anonymous();
    w.get("/login").await;
    let token = w.csrf().await;
    w.post_form_with(
        "/login",
        &[
            ("_csrf", &token),
            ("email", "junk@example.org"),
            ("password", "wrong password here"),
        ],
        &[("x-forwarded-for", "<script>alert(1)</script>")],
    )
    .await;
    let junk = count(
        &app,
        "SELECT count(*) FROM audit_log WHERE address LIKE '%script%'",
    )
    .await;
    assert_eq!(junk, 0);
}

// ----- 6. 500s on bad input -----

/// A form to send: who, where, which fields.
type Post<'a> = (&'a Client, String, Vec<(&'a str, &'a str)>);

/// The review's 16 places that answered 500; every one must now be refused (or ignored)
/// without a server error, and nothing with control characters stored.
#[tokio::test]
async fn bad_input_in_every_place_the_review_found_is_refused_without_a_server_error() {
    let app = TestApp::new().await;
    let case = app.submitted_case("Bad input").await;
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let anon = app.anonymous();
    let version = app.lock_version(&case).await;
    let uuid = Uuid::new_v4();
    let long_name = "n".repeat(4_000);
    let long_email = format!("{}@example.org", "e".repeat(3_000));
    let gets: Vec<(&Client, String)> = vec![
        (&app, "/cases?q=%00".into()),
        (&app, "/cases?partner=a%00b".into()),
        (&app, format!("/cases?after=%00~{uuid}&sort=title")),
        (&app, format!("/cases?after=a%00b~{uuid}&sort=title")),
        (&app, "/cases?from=-9999-01-01".into()),
        (&app, "/cases?to=%2B99999-01-01".into()),
        (&app, "/cases.csv?q=%00".into()),
        (&app, "/cases.json?partner=%00".into()),
        (&app, "/cases.csv?from=-9999-01-01".into()),
        (&app, "/partners?name=%00".into()),
        (&reviewer, "/partners?name=x%00y".into()),
        (&admin, "/admin/audit?actor=%00".into()),
        (&admin, "/admin/audit?action=%00&case=%00".into()),
        (
            &admin,
            "/admin/audit?from=-9999-01-01&to=%2B10000-01-01".into(),
        ),
        (&app, "/register?q=%00".into()),
        (&app, "/register/match?name=%00".into()),
    ];
    for (client, path) in &gets {
        let r = client.get(path).await;
        assert!(r.status.as_u16() < 500, "GET {path}: {}", r.status);
    }
    let posts: Vec<Post> = vec![
        (
            &anon,
            "/login".into(),
            vec![("email", "a\0b@example.org"), ("password", "x")],
        ),
        (
            &anon,
            "/login".into(),
            vec![("email", &long_email), ("password", "x")],
        ),
        (
            &admin,
            "/admin/users".into(),
            vec![
                ("email", "new@example.org"),
                ("display_name", "Ana\0Bell"),
                ("role", "reviewer"),
                ("password", "kestrel lantern orchard 1887"),
            ],
        ),
        (
            &admin,
            "/admin/users".into(),
            vec![
                ("email", "new2@example.org"),
                ("display_name", "Ana\u{7}\u{1b}[31mBell"),
                ("role", "reviewer"),
                ("password", "kestrel lantern orchard 1887"),
            ],
        ),
        (
            &admin,
            "/admin/institutions".into(),
            vec![("name", "Uni\0")],
        ),
        (
            &reviewer,
            format!("/assessments/{case}/decision"),
            vec![
                ("_version", &version),
                ("outcome", "endorse"),
                ("conditions", "first\0second"),
            ],
        ),
        (
            &reviewer,
            format!("/assessments/{case}/decision"),
            vec![
                ("_version", &version),
                ("outcome", "endorse"),
                ("conditions", "first\u{1b}[31m red"),
            ],
        ),
        (
            &admin,
            "/admin/register/entries".into(),
            vec![("name", &long_name), ("kind", "university")],
        ),
        (
            &admin,
            "/admin/register/entries".into(),
            vec![("name", "Nul\0 University"), ("kind", "university")],
        ),
        (
            &app,
            "/projects".into(),
            vec![
                ("title", "Dated"),
                ("lead_researcher", "L"),
                ("planned_start", "-9999-01-01"),
            ],
        ),
    ];
    for (client, path, fields) in &posts {
        let r = client.post_form(path, fields).await;
        assert!(
            r.status.as_u16() < 500,
            "POST {path} {fields:?}: {}",
            r.status
        );
    }
    for (name, content) in [
        (
            "register.csv",
            format!(
                "name,aliases,city,province,kind,flags,note,source,as_of\n{long_name},,,,university,,,,\n"
            ),
        ),
        (
            "register.csv",
            "name,aliases,city,province,kind,flags,note,source,as_of\nNul\0 U,,,,university,,,,\n"
                .to_owned(),
        ),
        (
            "reg\0ister.csv",
            "name,aliases,city,province,kind,flags,note,source,as_of\nA U,,,,university,,,,\n"
                .to_owned(),
        ),
    ] {
        let r = admin
            .post_multipart("/admin/register", &[("file", Some(name), &content)])
            .await;
        assert!(r.status.as_u16() < 500, "upload {name}: {}", r.status);
    }
    let stored = count(
        &app,
        "SELECT (SELECT count(*) FROM users WHERE display_name ~ '[[:cntrl:]]')
              + (SELECT count(*) FROM decisions WHERE array_to_string(conditions, ' ') ~ '[[:cntrl:]]')
              + (SELECT count(*) FROM register_uploads WHERE file_name ~ '[[:cntrl:]]')",
    )
    .await;
    assert_eq!(stored, 0, "control characters were stored");
}

// ----- 7. CSV formula injection -----

#[tokio::test]
async fn every_exported_column_is_safe_from_spreadsheet_formulas() {
    let app = TestApp::new().await;
    let case = app.submitted_case("Formulas").await;
    sqlx::query(
        "UPDATE assessments SET register_entry = '=HYPERLINK(\"http://evil.example\",\"x\")',
                partner_name = '@SUM(1+1)' WHERE id = $1::uuid",
    )
    .bind(&case)
    .execute(&app.db.pool)
    .await
    .expect("update");
    let r = app.get("/cases.csv").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(r.body.as_bytes());
    for record in reader.records() {
        for cell in record.expect("record").iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
}

// ----- 8. missing protections -----

#[tokio::test]
async fn over_https_the_session_cookie_is_host_only_and_hsts_is_sent() {
    let app = TestApp::with_config(RuntimeConfig {
        secure_cookies: true,
        ..RuntimeConfig::default()
    })
    .await;
    let r = app.get("/").await;
    assert!(
        header_of(&r, "strict-transport-security").contains("max-age="),
        "{:?}",
        r.headers
    );
    let cookie = session_set_cookie(&app).await;
    assert!(cookie.starts_with("__Host-triage_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    // Plain http keeps the plain name and sends no HSTS.
    let plain = TestApp::new().await;
    assert_eq!(
        header_of(&plain.get("/").await, "strict-transport-security"),
        ""
    );
}

#[tokio::test]
async fn common_and_breached_passwords_are_refused_beside_the_field() {
    let app = TestApp::new().await;
    for weak in [
        "aaaaaaaaaaaa",
        "password1234",
        "qwertyuiopas",
        "123456789012",
    ] {
        let r = app
            .post_form(
                "/account/password",
                &[
                    ("current", PASSWORD),
                    ("new_password", weak),
                    ("confirm", weak),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        r.assert_contains("id=\"new_password-error\"");
    }
    let (_, admin) = app.signed_in("admin", None).await;
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "weak@example.org"),
                ("display_name", "Weak"),
                ("role", "reviewer"),
                ("password", "aaaaaaaaaaaa"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"password-error\"");
}

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

fn enrolment_secret(page: &str) -> String {
    page.split("<code class=\"secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret")
        .to_owned()
}

#[tokio::test]
async fn turning_two_factor_on_or_off_asks_for_the_password_and_codes_are_stored_salted() {
    let app = TestApp::new().await;
    let secret = enrolment_secret(&app.get("/account/two-factor").await.body);
    let code = triage::auth::totp_code(&secret, now()).expect("code");
    for password in [None, Some("not my password at all")] {
        let mut fields = vec![("code", code.as_str())];
        if let Some(p) = password {
            fields.push(("password", p));
        }
        let r = app.post_form("/account/two-factor", &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}");
    }
    let enabled = count(
        &app,
        &format!(
            "SELECT count(*) FROM users WHERE totp_enabled AND id = '{}'",
            app.officer.id
        ),
    )
    .await;
    assert_eq!(enabled, 0, "not turned on without the password");
    let r = app
        .post_form(
            "/account/two-factor",
            &[("code", &code), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1")
            .bind(app.officer.id)
            .fetch_all(&app.db.pool)
            .await
            .expect("codes");
    assert_eq!(hashes.len(), 10);
    assert!(
        hashes.iter().all(|h| h.starts_with("$argon2id$")),
        "{hashes:?}"
    );

    // Off needs the password and a current code.
    let r = app
        .post_form("/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let next = triage::auth::totp_code(&secret, now() + 30).expect("code");
    let r = app
        .post_form(
            "/account/two-factor/disable",
            &[("password", PASSWORD), ("code", &next)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn turning_two_factor_on_ends_every_other_session() {
    let app = TestApp::new().await;
    let other = app.client_for(&app.officer).await;
    let secret = enrolment_secret(&app.get("/account/two-factor").await.body);
    let code = triage::auth::totp_code(&secret, now()).expect("code");
    let r = app
        .post_form(
            "/account/two-factor",
            &[("code", &code), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        other
            .get("/projects")
            .await
            .location()
            .starts_with("/login")
    );
    assert_eq!(app.get("/projects").await.status, StatusCode::OK);
}

// ----- 9. refusals -----

#[tokio::test]
async fn refusals_leave_a_bounded_audit_trail() {
    let app = TestApp::new().await;
    let project = app.create_project("Private").await;
    let case = app.start_assessment(&project).await;
    let (officer_b, b) = app.signed_in("officer", Some(app.institution_b)).await;
    for _ in 0..15 {
        assert_eq!(
            b.get(&format!("/assessments/{case}")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(b.get("/admin/users").await.status, StatusCode::FORBIDDEN);
        let r = b
            .post_form_raw("/projects", &[("title", "x"), ("lead_researcher", "y")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    for action in ["access.not_found", "access.forbidden", "access.csrf"] {
        let rows: Vec<(Option<String>, String, Option<String>)> =
            sqlx::query_as("SELECT actor_email, summary, address FROM audit_log WHERE action = $1")
                .bind(action)
                .fetch_all(&app.db.pool)
                .await
                .expect("rows");
        assert_eq!(
            rows.len(),
            1,
            "{action}: one row for 15 refusals, counted: {rows:?}"
        );
        let (email, summary, address) = &rows[0];
        assert_eq!(email.as_deref(), Some(officer_b.email.as_str()), "{action}");
        assert!(
            summary.contains('/'),
            "{action}: the path is named: {summary}"
        );
        assert!(address.is_some(), "{action}");
    }
}

#[tokio::test]
async fn a_csrf_token_is_read_from_the_form_never_from_the_address() {
    let app = TestApp::new().await;
    let token = app.csrf().await;
    let r = app
        .post_form_raw(
            &format!("/projects?_csrf={token}"),
            &[("title", "Via the query"), ("lead_researcher", "L")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, admin) = app.signed_in("admin", None).await;
    let page = admin.get("/admin/register").await;
    assert!(
        !page.body.contains("?_csrf="),
        "the upload form keeps its token out of its URL"
    );
    page.assert_contains("enctype=\"multipart/form-data\"");
    let form = page
        .body
        .split("enctype=\"multipart/form-data\"")
        .nth(1)
        .and_then(|rest| rest.split("</form>").next())
        .expect("upload form");
    assert!(form.contains("name=\"_csrf\""), "{form}");
}

#[tokio::test]
async fn a_body_too_large_is_refused_with_the_security_headers() {
    let app = TestApp::new().await;
    let big = "x".repeat(400 * 1024);
    let r = app
        .send(
            Request::post("/projects")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(format!("title={big}")))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(header_of(&r, "content-security-policy").contains("default-src"));
    assert_eq!(header_of(&r, "x-content-type-options"), "nosniff");
}

// ----- 10. the database protects the record from the app too -----

#[tokio::test]
async fn submission_snapshots_refuse_deletion_in_the_database() {
    let app = TestApp::new().await;
    app.submitted_case("Snapshots").await;
    for sql in ["DELETE FROM submissions", "TRUNCATE submissions CASCADE"] {
        let err = sqlx::query(sql)
            .execute(&app.db.pool)
            .await
            .expect_err(sql)
            .to_string();
        assert!(err.contains("immutable"), "{sql}: {err}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM submissions").await, 1);
}

// ----- 8. an absolute session lifetime, inactivity, the half-finished sign-in -----

#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_even_while_in_use() {
    let app = TestApp::with_config(RuntimeConfig {
        session_lifetime_secs: 3,
        ..RuntimeConfig::default()
    })
    .await;
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(2) {
        assert_eq!(app.get("/projects").await.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_signed_out(&app).await;
}

#[tokio::test]
async fn a_session_ends_after_inactivity_and_is_kept_by_use() {
    let app = TestApp::with_config(RuntimeConfig {
        session_idle_secs: 4,
        ..RuntimeConfig::default()
    })
    .await;
    let idle = app.client_for(&app.officer).await;
    // Used every second for five seconds: it stays signed in.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert_eq!(app.get("/projects").await.status, StatusCode::OK);
    }
    // The other one, unused as long, is over.
    assert_signed_out(&idle).await;
}

#[tokio::test]
async fn the_half_finished_two_factor_sign_in_expires() {
    let app = TestApp::with_config(RuntimeConfig {
        pending_secs: 1,
        ..RuntimeConfig::default()
    })
    .await;
    let secret = enrolment_secret(&app.get("/account/two-factor").await.body);
    let code = triage::auth::totp_code(&secret, now()).expect("code");
    let r = app
        .post_form(
            "/account/two-factor",
            &[("code", &code), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = app.anonymous();
    let r = v.post_sign_in(&app.officer.email, PASSWORD).await;
    assert!(
        r.location().starts_with("/login/two-factor"),
        "{}",
        r.location()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let next = triage::auth::totp_code(&secret, now() + 30).expect("code");
    let r = v.post_form("/login/two-factor", &[("code", &next)]).await;
    assert_eq!(r.location(), "/login?expired=1");
    assert!(v.get("/projects").await.location().starts_with("/login"));
    v.get("/login?expired=1")
        .await
        .assert_contains("not finished in time");
}

#[tokio::test]
async fn the_app_role_owns_nothing_and_may_only_append_to_the_record() {
    let app = TestApp::new().await;
    app.submitted_case("The record").await;
    let pool = app.db.app_pool().await;
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(owned, 0, "the app's role owns no table, index or sequence");
    for sql in [
        "UPDATE audit_log SET summary = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE submissions SET verdict = 'green'",
        "DELETE FROM submissions",
        "TRUNCATE submissions",
        "DELETE FROM register_history",
        "DELETE FROM rulebook_activations",
        "DELETE FROM _sqlx_migrations",
        "CREATE TABLE mine (x int)",
        "DROP TABLE projects",
        "ALTER TABLE users ADD COLUMN x int",
    ] {
        let err = sqlx::query(sql)
            .execute(&pool)
            .await
            .expect_err(sql)
            .to_string();
        assert!(
            err.contains("permission denied") || err.contains("must be owner"),
            "{sql}: {err}"
        );
    }
    // Appending is what the app does.
    let appended = sqlx::query(
        "INSERT INTO audit_log (action, summary, address) VALUES ('test.append', 'appended', 'test')",
    )
    .execute(&pool)
    .await;
    assert!(appended.is_ok(), "{appended:?}");
}
