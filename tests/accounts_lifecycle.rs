//! First-run setup, password reset by mail (through a real SMTP server, maildev) and the
//! administrators' forced reset and two-factor reset, through the real router.

mod common;

use axum::http::StatusCode;
use common::maildev::MailDev;
use common::{PASSWORD, TestApp};
use time::OffsetDateTime;
use triage::mail::MailSettings;
use triage::mail::sender::{Sender, send_due};
use triage::state::RuntimeConfig;

const NEW_PASSWORD: &str = "lantern kestrel orchard 1887";

fn mail_settings(maildev: &MailDev) -> MailSettings {
    MailSettings {
        smtp_url: Some(maildev.url()),
        from: "triage <triage@example.org>".into(),
        public_url: "https://triage.example.org".into(),
        digest_hour: 7,
    }
}

async fn app_with_mail(maildev: &MailDev) -> TestApp {
    TestApp::with_config(RuntimeConfig {
        mail: mail_settings(maildev),
        ..RuntimeConfig::default()
    })
    .await
}

/// Sends what is due through maildev.
async fn deliver(app: &TestApp) -> usize {
    let sender = Sender::new(&app.state.config().mail)
        .unwrap()
        .expect("SMTP configured");
    send_due(&app.db.pool, &sender, OffsetDateTime::now_utc())
        .await
        .expect("sending")
}

/// The path and query of the first link to triage in a mail's text.
pub fn link_in(mail: &serde_json::Value, prefix: &str) -> String {
    let text = mail["text"].as_str().expect("text");
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[at..]
        .split_whitespace()
        .next()
        .expect("link")
        .trim_start_matches("https://triage.example.org")
        .to_owned()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT action, summary FROM audit_log ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .expect("audit")
}

#[tokio::test]
async fn the_setup_link_creates_the_first_administrator_once_and_then_is_gone() {
    let app = TestApp::new().await;
    let visitor = app.anonymous();
    // Without an administrator, every page for visitors points to the log.
    visitor
        .get("/login")
        .await
        .assert_contains("No administrator exists yet");
    let link = triage::web::setup::announce(&app.state)
        .await
        .unwrap()
        .expect("a setup link while no administrator exists");
    let path = link.trim_start_matches("http://127.0.0.1:8080");
    assert!(path.starts_with("/setup?code="), "{path}");
    let code = path.trim_start_matches("/setup?code=");
    assert_eq!(code.len(), 64);
    // Only the hash is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM setup_codes")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, [triage::auth::token_hash(code)]);
    assert_eq!(visitor.get("/setup").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        visitor
            .get(&format!("/setup?code={}", "0".repeat(64)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = visitor.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("First-run setup");

    // Errors come back beside their fields, with what was typed.
    let bad = visitor
        .post_form(
            "/setup",
            &[
                ("code", code),
                ("institution", ""),
                ("email", "not an address"),
                ("display_name", "Ada Admin"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("href=\"#institution\"");
    bad.assert_contains("href=\"#email\"");
    bad.assert_contains("href=\"#password\"");
    bad.assert_contains("value=\"Ada Admin\"");

    let done = visitor
        .post_form(
            "/setup",
            &[
                ("code", code),
                ("institution", "Universiteit Leiden"),
                ("email", "Ada@Example.org"),
                ("display_name", "Ada Admin"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/admin?notice=setup_done");
    // Signed in as the new administrator.
    let admin_page = visitor.get(done.location()).await;
    assert_eq!(admin_page.status, StatusCode::OK);
    admin_page.assert_contains("Setup finished");
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE email = 'ada@example.org'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "admin");
    let institutions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM institutions WHERE name = 'Universiteit Leiden'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(institutions, 1);
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, s)| a == "setup.complete" && s.contains("ada@example.org"))
    );
    // The page is gone, the code too, and no new code is made.
    let other = app.anonymous();
    assert_eq!(other.get(path).await.status, StatusCode::NOT_FOUND);
    assert!(
        !other
            .get("/login")
            .await
            .body
            .contains("No administrator exists yet")
    );
    assert_eq!(
        triage::web::setup::announce(&app.state).await.unwrap(),
        None
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM setup_codes")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_reset_link_arrives_by_mail_works_once_and_ends_every_other_session() {
    let maildev = MailDev::start();
    let app = app_with_mail(&maildev).await;
    let email = app.officer.email.clone();
    // The officer is signed in on two devices.
    let laptop = app.client_for(&app.officer).await;
    assert_eq!(laptop.get("/projects").await.status, StatusCode::OK);

    let visitor = app.anonymous();
    let forgot = visitor.get("/login").await;
    forgot.assert_contains("href=\"/password/forgot\"");
    let known = visitor
        .post_form("/password/forgot", &[("email", &email)])
        .await;
    let unknown = visitor
        .post_form("/password/forgot", &[("email", "nobody@example.org")])
        .await;
    // The same answer whether or not the address has an account.
    assert_eq!(known.status, StatusCode::SEE_OTHER);
    assert_eq!(
        (known.status, known.location()),
        (unknown.status, unknown.location())
    );
    visitor
        .get(known.location())
        .await
        .assert_contains("If an account has this address");
    let bad = visitor
        .post_form("/password/forgot", &[("email", "no at sign")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("href=\"#email\"");

    assert_eq!(deliver(&app).await, 1);
    let mails = maildev.wait_for(1);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"][0]["address"], email.as_str());
    let link = link_in(
        &mails[0],
        "https://triage.example.org/password/reset?token=",
    );
    let token = link.trim_start_matches("/password/reset?token=").to_owned();
    // The outbox keeps no usable copy of the link, and the database only its hash.
    let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM outbox")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(bodies.iter().all(|b| !b.contains(&token)), "{bodies:?}");
    assert!(bodies.iter().any(|b| b.contains("[removed once sent]")));
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM password_resets")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(hashes, [triage::auth::token_hash(&token)]);

    let reset = app.anonymous();
    let page = reset.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let weak = reset
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "password1234")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    weak.assert_contains("href=\"#password\"");
    let done = reset
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/login?notice=password_reset");
    // Every other session ended.
    for client in [&*app, &laptop] {
        let r = client.get("/projects").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location().starts_with("/login"), "{}", r.location());
    }
    // The link works once.
    let again = app.anonymous();
    let second = again.get(&link).await;
    assert_eq!(second.status, StatusCode::NOT_FOUND);
    second.assert_contains("This link no longer works");
    let reuse = again
        .post_form(
            "/password/reset",
            &[
                ("token", &token),
                ("password", "another orchard lantern 77"),
            ],
        )
        .await;
    assert_eq!(reuse.status, StatusCode::NOT_FOUND);
    // The old password is gone, the new one signs in.
    let old = app.anonymous().sign_in_response(&email, PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.anonymous().sign_in(&email, NEW_PASSWORD).await;
    let actions = audit_actions(&app).await;
    assert!(actions.iter().any(|(a, _)| a == "auth.reset_requested"));
    assert!(actions.iter().any(|(a, _)| a == "auth.password_reset"));
}

#[tokio::test]
async fn an_administrator_forces_a_reset_and_resets_two_factor_with_a_reason() {
    let maildev = MailDev::start();
    let app = app_with_mail(&maildev).await;
    let (_, admin) = app.signed_in("admin", None).await;
    let officer = app.officer.clone();
    sqlx::query(
        "UPDATE users SET totp_enabled = true, totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = $1",
    )
    .bind(officer.id)
    .execute(&app.db.pool)
    .await
    .unwrap();

    let page = admin.get(&format!("/admin/users/{}", officer.id)).await;
    page.assert_contains("Force a password reset");
    let no_reason = admin
        .post_form(
            &format!("/admin/users/{}/force-reset", officer.id),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    no_reason.assert_contains("href=\"#reason\"");
    let forced = admin
        .post_form(
            &format!("/admin/users/{}/force-reset", officer.id),
            &[("reason", "Laptop stolen, ticket 4711")],
        )
        .await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER);
    // The officer's session ended and the old password no longer works.
    assert_eq!(app.get("/projects").await.status, StatusCode::SEE_OTHER);
    let old = app
        .anonymous()
        .sign_in_response(&officer.email, PASSWORD)
        .await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(deliver(&app).await, 1);
    let mails = maildev.wait_for(1);
    assert_eq!(mails[0]["to"][0]["address"], officer.email.as_str());
    assert!(mails[0]["text"].as_str().unwrap().contains("administrator"));

    let totp = admin
        .post_form(
            &format!("/admin/users/{}/reset-two-factor", officer.id),
            &[("reason", "Phone replaced")],
        )
        .await;
    assert_eq!(totp.status, StatusCode::SEE_OTHER);
    let enabled: bool = sqlx::query_scalar("SELECT totp_enabled FROM users WHERE id = $1")
        .bind(officer.id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(!enabled);
    let actions = audit_actions(&app).await;
    assert!(actions.iter().any(
        |(a, s)| a == "admin.force_password_reset" && s.contains("Laptop stolen, ticket 4711")
    ));
    assert!(
        actions
            .iter()
            .any(|(a, s)| a == "admin.reset_two_factor" && s.contains("Phone replaced"))
    );
    // Officers may do neither.
    let other = app.user("officer", Some(app.institution_a)).await;
    let officer_client = app.client_for(&other).await;
    let refused = officer_client
        .post_form(
            &format!("/admin/users/{}/force-reset", other.id),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
