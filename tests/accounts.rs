//! Sign-in, sessions, CSRF, lockout, two-factor sign-in and the append-only audit log,
//! tried as an attacker would.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, set_cookies};
use triage::state::RuntimeConfig;

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

#[tokio::test]
async fn signing_in_renews_the_session_id_so_a_planted_id_is_worthless() {
    let app = TestApp::new().await;
    let visitor = app.anonymous();
    visitor.get("/login").await;
    // Visitors get no session; an attacker plants an id (here, one of their own).
    let attacker_session = app.client_for(&app.officer).await;
    let planted = attacker_session.session_cookie().expect("a session id");
    attacker_session.post_form("/logout", &[]).await;
    visitor.set_session_cookie(Some(planted.clone()));
    visitor.sign_in(&app.officer.email, PASSWORD).await;
    let after = visitor.session_cookie().expect("a session after sign-in");
    assert_ne!(planted, after, "the id changes at sign-in");

    // The attacker who planted the old id is not signed in with it.
    let attacker = app.anonymous();
    attacker.set_session_cookie(Some(planted));
    assert_eq!(
        attacker.get("/projects").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(visitor.get("/projects").await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::new().await;
    let stolen = app.session_cookie().expect("cookie");
    let r = app.post_form("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let thief = app.anonymous();
    thief.set_session_cookie(Some(stolen));
    let r = thief.get("/projects").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"));
}

/// The cookies a sign-in sets: the session's, and the visitor token's from the page.
async fn sign_in_cookies(app: &TestApp) -> Vec<String> {
    let visitor = app.anonymous();
    let page = visitor.get("/login").await;
    let r = visitor.sign_in_response(&app.officer.email, PASSWORD).await;
    [set_cookies(&page), set_cookies(&r)].concat()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::new().await;
    let cookies = sign_in_cookies(&app).await;
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
    // Not Secure on plain http; with PUBLIC_URL=https://... the config sets secure_cookies.
    let secure = TestApp::with_config(RuntimeConfig {
        secure_cookies: true,
        ..RuntimeConfig::default()
    })
    .await;
    for cookie in sign_in_cookies(&secure).await {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test]
async fn forged_and_cross_site_state_changes_are_refused() {
    let app = TestApp::new().await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM projects")
            .fetch_one(&app.db.pool)
            .await
            .expect("count")
    };
    let fields = [("title", "Forged"), ("lead_researcher", "Mallory")];
    // No token.
    let r = app.post_form_raw("/projects", &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A wrong token.
    let r = app
        .post_form_raw(
            "/projects",
            &[
                ("_csrf", "0000"),
                ("title", "Forged"),
                ("lead_researcher", "M"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another session's valid token.
    let other = app.anonymous();
    other.get("/login").await;
    let theirs = other.csrf().await;
    let r = app
        .post_form_raw(
            "/projects",
            &[
                ("_csrf", theirs.as_str()),
                ("title", "Forged"),
                ("lead_researcher", "M"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The right token from another site.
    let token = app.csrf().await;
    let body = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("title", "Forged"),
        ("lead_researcher", "M"),
    ])
    .expect("form");
    let r = app
        .send(
            Request::post("/projects")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(body))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Signing out someone by a forged form does not work either.
    let r = app.post_form_raw("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/projects").await.status,
        StatusCode::OK,
        "still signed in"
    );
    assert_eq!(count().await, 0, "nothing was created");
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_for_the_window_then_the_lock_expires() {
    let app = TestApp::with_config(RuntimeConfig {
        max_failures_per_account: 3,
        ..RuntimeConfig::default()
    })
    .await;
    let visitor = app.anonymous();
    for _ in 0..3 {
        let r = visitor
            .post_form(
                "/login",
                &[
                    ("email", &app.officer.email),
                    ("password", "wrong password!"),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        r.assert_contains("The email address or the password is not right.");
        r.assert_contains(&app.officer.email);
    }
    let r = visitor
        .post_form(
            "/login",
            &[
                ("email", &app.officer.email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    r.assert_contains("Too many failed sign-ins for this account");
    // Another address is locked out of this account too: the lock is per account.
    let elsewhere = app.anonymous();
    elsewhere.set_address("10.1.2.3:5000");
    let r = elsewhere
        .post_form(
            "/login",
            &[
                ("email", &app.officer.email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // The window passes.
    sqlx::query("UPDATE failed_logins SET at = at - interval '16 minutes'")
        .execute(&app.db.pool)
        .await
        .expect("age");
    visitor.sign_in(&app.officer.email, PASSWORD).await;
    let (failed, locked): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE action = 'auth.login_failed'), count(*) FILTER (WHERE action = 'auth.login_locked')
         FROM audit_log",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(
        (failed, locked),
        (3, 2),
        "every failed and refused attempt is on the record"
    );
}

#[tokio::test]
async fn many_accounts_tried_from_one_address_lock_that_address() {
    let app = TestApp::with_config(RuntimeConfig {
        max_failures_per_address: 4,
        ..RuntimeConfig::default()
    })
    .await;
    let attacker = app.anonymous();
    attacker.set_address("192.0.2.7:1234");
    for i in 0..4 {
        let email = format!("guess{i}@example.org");
        let r = attacker
            .post_form(
                "/login",
                &[
                    ("email", &email),
                    ("password", "password123456"),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = attacker
        .post_form(
            "/login",
            &[
                ("email", &app.officer.email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    r.assert_contains("from your network address");
    // The officer signing in from their own address is not affected.
    app.anonymous().sign_in(&app.officer.email, PASSWORD).await;
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = TestApp::new().await;
    let v = app.anonymous();
    let a = v
        .post_form(
            "/login",
            &[
                ("email", "nobody@example.org"),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    let b = v
        .post_form(
            "/login",
            &[
                ("email", &app.officer.email),
                ("password", "not the password"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(a.status, b.status);
    a.assert_contains("The email address or the password is not right.");
    b.assert_contains("The email address or the password is not right.");
}

#[tokio::test]
async fn the_sign_in_page_only_redirects_to_local_paths() {
    let app = TestApp::new().await;
    for next in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let v = app.anonymous();
        let r = v
            .post_form(
                "/login",
                &[
                    ("email", &app.officer.email),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.location(), "/", "{next}");
    }
}

/// Enrols the default client's account in TOTP and returns (secret, recovery codes).
async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let page = app.get("/account/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("<svg");
    let secret = page
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret")
        .to_owned();
    let wrong = app
        .post_form(
            "/account/two-factor",
            &[("code", "000000"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = triage::auth::totp_code(&secret, now()).expect("code");
    let done = app
        .post_form(
            "/account/two-factor",
            &[("code", &code), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn once_enrolled_a_totp_code_is_required_and_a_recovery_code_works_only_once() {
    let app = TestApp::new().await;
    let (secret, codes) = enrol(&app).await;

    // Password alone does not sign in.
    let v = app.anonymous();
    let r = v
        .post_form(
            "/login",
            &[
                ("email", &app.officer.email),
                ("password", PASSWORD),
                ("next", "/projects"),
            ],
        )
        .await;
    assert!(
        r.location().starts_with("/login/two-factor"),
        "{}",
        r.location()
    );
    assert_eq!(
        v.get("/projects").await.status,
        StatusCode::SEE_OTHER,
        "half signed in is not signed in"
    );
    let r = v
        .post_form(
            "/login/two-factor",
            &[("code", "123456"), ("next", "/projects")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The code of the next time step (the current one was used at enrolment).
    let code = triage::auth::totp_code(&secret, now() + 30).expect("code");
    let r = v
        .post_form(
            "/login/two-factor",
            &[("code", &code), ("next", "/projects")],
        )
        .await;
    assert_eq!(r.location(), "/projects", "{}", r.body);
    assert_eq!(v.get("/projects").await.status, StatusCode::OK);

    // The same code cannot be replayed.
    let w = app.anonymous();
    w.post_form(
        "/login",
        &[
            ("email", &app.officer.email),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    )
    .await;
    let r = w
        .post_form("/login/two-factor", &[("code", &code), ("next", "/")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a used code is refused"
    );

    // A recovery code works once.
    let r = w
        .post_form("/login/two-factor", &[("code", &codes[0]), ("next", "/")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let x = app.anonymous();
    x.post_form(
        "/login",
        &[
            ("email", &app.officer.email),
            ("password", PASSWORD),
            ("next", "/"),
        ],
    )
    .await;
    let r = x
        .post_form("/login/two-factor", &[("code", &codes[0]), ("next", "/")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a used recovery code does not work twice"
    );
    let r = x
        .post_form(
            "/login/two-factor",
            &[("code", &codes[1].to_uppercase()), ("next", "/")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn when_admins_require_two_factor_an_account_without_it_must_enrol_first() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", None).await;
    let r = admin
        .post_form("/admin/settings", &[("require_totp", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app.get("/projects").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/account/two-factor"),
        "{}",
        r.location()
    );
    app.get("/account/two-factor?required=1")
        .await
        .assert_contains("requires two-factor sign-in");
    enrol(&app).await;
    assert_eq!(app.get("/projects").await.status, StatusCode::OK);
    // It cannot be turned off while required.
    let r = app
        .post_form("/account/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_audit_log_refuses_updates_deletes_and_truncation_in_the_database() {
    let app = TestApp::new().await;
    app.create_project("Audited").await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert!(n >= 2, "sign-in and creation are logged");
    for sql in [
        "UPDATE audit_log SET summary = 'nothing happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql)
            .execute(&app.db.pool)
            .await
            .expect_err(sql)
            .to_string();
        assert!(err.contains("immutable"), "{sql}: {err}");
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(after, n);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_and_changing_one_needs_the_current() {
    let app = TestApp::new().await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(app.officer.id)
        .fetch_one(&app.db.pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"));
    let r = app
        .post_form(
            "/account/password",
            &[
                ("current", "wrong"),
                ("new_password", "another long password"),
                ("confirm", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"current-error\"");
    let r = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", "another long password"),
                ("confirm", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.anonymous()
        .sign_in(&app.officer.email, "another long password")
        .await;
}

#[tokio::test]
async fn admins_manage_accounts_and_institutions_in_the_browser_with_errors_beside_fields() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", None).await;
    let r = admin
        .post_form("/admin/institutions", &[("name", "Universiteit Test")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = admin
        .post_form("/admin/institutions", &[("name", "universiteit test")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "names are unique whatever the case"
    );
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "not-an-email"),
                ("display_name", "<b>X</b>"),
                ("role", "officer"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("id=\"email-error\"");
    r.assert_contains("id=\"password-error\"");
    r.assert_contains("id=\"institution_id-error\"");
    r.assert_contains("&#60;b&#62;X&#60;/b&#62;");
    let inst = app.institution_b.to_string();
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "New.Officer@Example.org"),
                ("display_name", "New Officer"),
                ("role", "officer"),
                ("institution_id", &inst),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.anonymous()
        .sign_in("new.officer@example.org", PASSWORD)
        .await;
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "new.officer@example.org"),
                ("display_name", "Again"),
                ("role", "reviewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("already exists");
    let audit = admin.get("/admin/audit?action=admin.user_create").await;
    audit.assert_contains("Created account new.officer@example.org");
    // Disabling an account stops its sessions at the next request.
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'new.officer@example.org'")
            .fetch_one(&app.db.pool)
            .await
            .expect("id");
    let officer = app.anonymous();
    officer.sign_in("new.officer@example.org", PASSWORD).await;
    let r = admin
        .post_form(
            &format!("/admin/users/{id}"),
            &[
                ("role", "officer"),
                ("institution_id", &inst),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(officer.get("/projects").await.status, StatusCode::SEE_OTHER);
}
