//! Mail through a real SMTP server (maildev): the outbox is written in the change's
//! transaction, sent by the worker, retried with back-off while the server is down,
//! gathered into daily digests, and kept for administrators when no SMTP is configured.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use common::maildev::MailDev;
use time::OffsetDateTime;
use triage::mail::sender::{Sender, send_due};
use triage::mail::{MailSettings, Notification, Recipient, notify};
use triage::state::RuntimeConfig;

fn settings(smtp: Option<String>) -> MailSettings {
    MailSettings {
        smtp_url: smtp,
        from: "triage <triage@example.org>".into(),
        public_url: "https://triage.example.org".into(),
        digest_hour: 7,
    }
}

async fn app_with(mail: MailSettings) -> TestApp {
    TestApp::with_config(RuntimeConfig {
        mail,
        ..RuntimeConfig::default()
    })
    .await
}

fn note(subject: &str, settings: &MailSettings) -> Notification {
    Notification {
        kind: "case.returned",
        assessment_id: None,
        subject: subject.to_owned(),
        body: format!(
            "A reviewer asked for more information.\n\n{}",
            settings.link("/assessments/x")
        ),
    }
}

/// Writes one notification in its own committed transaction.
async fn queue(app: &TestApp, s: &MailSettings, recipient: Recipient, subject: &str) {
    let mut tx = app.db.pool.begin().await.unwrap();
    notify(&mut tx, s, &[recipient], &note(subject, s))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn to(email: &str, digest: bool) -> Recipient {
    Recipient {
        id: None,
        email: email.to_owned(),
        digest,
    }
}

async fn statuses(app: &TestApp) -> Vec<(String, String, i32)> {
    sqlx::query_as("SELECT subject, status, attempts FROM outbox ORDER BY created_at, subject")
        .fetch_all(&app.db.pool)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn a_notification_is_sent_through_smtp_once_and_only_after_the_change_commits() {
    let maildev = MailDev::start();
    let s = settings(Some(maildev.url()));
    let app = app_with(s.clone()).await;
    // A rolled-back change sends nothing.
    let mut tx = app.db.pool.begin().await.unwrap();
    notify(
        &mut tx,
        &s,
        &[to("officer@example.org", false)],
        &note("Rolled back", &s),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    queue(
        &app,
        &s,
        to("officer@example.org", false),
        "TRI-2026-0042 returned",
    )
    .await;

    let sender = Sender::new(&s).unwrap().expect("SMTP configured");
    assert_eq!(
        send_due(&app.db.pool, &sender, OffsetDateTime::now_utc())
            .await
            .unwrap(),
        1
    );
    // Two servers sending at once never send a message twice.
    assert_eq!(
        send_due(&app.db.pool, &sender, OffsetDateTime::now_utc())
            .await
            .unwrap(),
        0
    );
    let mails = maildev.wait_for(1);
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "TRI-2026-0042 returned");
    assert_eq!(mails[0]["to"][0]["address"], "officer@example.org");
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("https://triage.example.org/assessments/x")
    );
    assert_eq!(
        statuses(&app).await,
        [("TRI-2026-0042 returned".to_owned(), "sent".to_owned(), 1)]
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_with_back_off_without_losing_the_message() {
    let s_down = settings(Some(format!("smtp://127.0.0.1:{}", common_free_port())));
    let app = app_with(s_down.clone()).await;
    queue(
        &app,
        &s_down,
        to("reviewer@example.org", false),
        "Submitted",
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let down = Sender::new(&s_down).unwrap().unwrap();
    send_due(&app.db.pool, &down, now).await.unwrap();
    let (status, attempts, next, error): (String, i32, OffsetDateTime, Option<String>) =
        sqlx::query_as("SELECT status, attempts, next_attempt_at, last_error FROM outbox")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(
        next >= now + time::Duration::seconds(59),
        "tried again in a minute, not at once"
    );
    assert!(error.is_some());
    // Not due yet: nothing happens.
    assert_eq!(send_due(&app.db.pool, &down, now).await.unwrap(), 0);
    // The server is back: the retry goes through.
    let maildev = MailDev::start();
    let up = Sender::new(&settings(Some(maildev.url())))
        .unwrap()
        .unwrap();
    send_due(&app.db.pool, &up, now + time::Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(maildev.wait_for(1).len(), 1);
    assert_eq!(statuses(&app).await[0].1, "sent");
}

fn common_free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

#[tokio::test]
async fn digest_recipients_get_one_mail_at_the_digest_hour() {
    let maildev = MailDev::start();
    let s = settings(Some(maildev.url()));
    let app = app_with(s.clone()).await;
    let mut tx = app.db.pool.begin().await.unwrap();
    for subject in ["First case returned", "Second case decided"] {
        notify(
            &mut tx,
            &s,
            &[to("digest@example.org", true)],
            &note(subject, &s),
        )
        .await
        .unwrap();
    }
    notify(
        &mut tx,
        &s,
        &[to("now@example.org", false)],
        &note("Immediate", &s),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sender = Sender::new(&s).unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    send_due(&app.db.pool, &sender, now).await.unwrap();
    assert_eq!(
        maildev.wait_for(1).len(),
        1,
        "only the immediate mail before the digest hour"
    );
    send_due(&app.db.pool, &sender, s.next_digest(now))
        .await
        .unwrap();
    let mails = maildev.wait_for(2);
    assert_eq!(mails.len(), 2);
    let digest = mails
        .iter()
        .find(|m| m["to"][0]["address"] == "digest@example.org")
        .expect("digest");
    assert_eq!(digest["subject"], "triage daily digest: 2 notifications");
    let text = digest["text"].as_str().unwrap();
    assert!(
        text.contains("First case returned") && text.contains("Second case decided"),
        "{text}"
    );
    let digested: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE status = 'digested' AND digest_id IS NOT NULL",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(digested, 2);
}

#[tokio::test]
async fn without_smtp_mail_is_kept_in_the_outbox_for_administrators() {
    let s = settings(None);
    let app = app_with(s.clone()).await;
    queue(
        &app,
        &s,
        to("officer@example.org", false),
        "Held <b>subject</b>",
    )
    .await;
    assert!(Sender::new(&s).unwrap().is_none());
    assert_eq!(statuses(&app).await[0].1, "held");
    let (_, admin) = app.signed_in("admin", None).await;
    let page = admin.get("/admin/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Held &#60;b&#62;subject&#60;/b&#62;");
    page.assert_contains("no SMTP server is configured");
    let id = page
        .body
        .split("/admin/outbox/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let mail = admin.get(&format!("/admin/outbox/{id}")).await;
    mail.assert_contains("https://triage.example.org/assessments/x");
    // Others may not read it.
    assert_eq!(app.get("/admin/outbox").await.status, StatusCode::FORBIDDEN);
}
