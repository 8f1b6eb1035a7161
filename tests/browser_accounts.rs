//! Accounts in a real headless Chromium: the first-run setup link, an invitation that
//! arrives by mail (maildev) and creates an account, a reset link that works once, and
//! single sign-on through a real OpenID provider (oidc-provider from npm, started here
//! by tests/support/oidc-provider.mjs), with axe-core on every new page. Without
//! Chromium the tests say loudly that they skipped, unless TRIAGE_REQUIRE_BROWSER=1.
#![allow(dead_code)]
mod common;

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use common::TestApp;

const CHROMIUM: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| (*p).to_owned())
}

/// Chromium and its driver, or `None` after saying loudly why the test is skipped.
fn browser_or_skip() -> Option<(String, String)> {
    match (find(CHROMIUM), find(CHROMEDRIVER)) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => {
            let message = "SKIPPED: browser test needs chromium and chromedriver \
                           (apt-get install chromium chromium-driver)";
            if std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{message}, and TRIAGE_REQUIRE_BROWSER=1 makes that a failure");
            }
            eprintln!("\n********************************************************************");
            eprintln!("{message}");
            eprintln!("********************************************************************\n");
            None
        }
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

async fn start_browser(chromium: &str, driver: &str) -> (Driver, Client, tempdir::Dir) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let driver = Driver(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempdir::Dir::new();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path.display()),
            ]
        }
    });
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps.as_object().cloned().expect("object"))
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connecting to chromedriver");
    (driver, client, profile)
}

/// A throwaway Chromium profile directory.
mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir()
                .join(format!("triage-chromium-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("profile dir");
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"));
    el.clear().await.ok();
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// The text of `main` once it contains `needle`: after a click the old page may still be
/// showing, so this waits for the new one.
async fn wait_for_text(c: &Client, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = match c.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "page never showed {needle:?}; it shows:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.expect("goto");
    type_into(c, "#email", email).await;
    type_into(c, "#password", common::PASSWORD).await;
    click(c, "form[action='/login'] button").await;
    let start = Instant::now();
    loop {
        let header = match c.find(Locator::Css(".account-bar")).await {
            Ok(bar) => bar.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if header.contains("Sign out") {
            break;
        }
        let main = c.find(Locator::Css("main")).await.ok();
        let text = match main {
            Some(m) => m.text().await.unwrap_or_default(),
            None => String::new(),
        };
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not signed in: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn axe_script() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            let message = "SKIPPED: accessibility test needs axe-core (run `npm install` in the project folder)";
            if std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{message}, and TRIAGE_REQUIRE_BROWSER=1 makes that a failure");
            }
            eprintln!(
                "\n********************************************************************\n{message}\n********************************************************************\n"
            );
            None
        }
    }
}

/// Runs axe-core on the current page for WCAG 2.1 A and AA; returns the violations.
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("injecting axe-core");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
          .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                 v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
          .catch(e => done(['axe failed: ' + e]));
    "#;
    let result = c
        .execute_async(script, vec![])
        .await
        .expect("running axe-core");
    serde_json::from_value(result).unwrap_or_default()
}

async fn sign_out(c: &Client) {
    if c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .is_ok()
    {
        click(c, "form[action='/logout'] button").await;
        wait_for_text(c, "Sign in").await;
    }
}

use common::maildev::MailDev;
use time::OffsetDateTime;
use triage::mail::MailSettings;
use triage::mail::sender::{Sender, send_due};
use triage::state::RuntimeConfig;

const NEW_PASSWORD: &str = "lantern kestrel orchard 1887";

/// The app served on a real port whose links (mail, OpenID redirect) point at it.
async fn served(smtp: Option<String>) -> (TestApp, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = TestApp::with_config(RuntimeConfig {
        mail: MailSettings {
            smtp_url: smtp,
            from: "triage <triage@example.org>".into(),
            public_url: base.clone(),
            digest_hour: 7,
        },
        ..RuntimeConfig::default()
    })
    .await;
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (app, base)
}

async fn deliver(app: &TestApp) {
    let sender = Sender::new(&app.state.config().mail)
        .unwrap()
        .expect("SMTP configured");
    send_due(&app.db.pool, &sender, OffsetDateTime::now_utc())
        .await
        .expect("sending");
}

/// The link starting with `prefix` in a mail's text.
fn link_in(mail: &serde_json::Value, prefix: &str) -> String {
    let text = mail["text"].as_str().expect("text");
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[at..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}

async fn assert_axe_clean(c: &Client, axe: &str, page: &str) {
    let violations = axe_violations(c, axe).await;
    assert!(violations.is_empty(), "{page}: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_servers_setup_link_creates_the_first_administrator() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let (app, base) = served(None).await;
    let link = triage::web::setup::announce(&app.state)
        .await
        .unwrap()
        .expect("a setup link");
    assert!(link.starts_with(&format!("{base}/setup?code=")), "{link}");
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;
    c.goto(&format!("{base}/")).await.expect("goto");
    wait_for_text(&c, "No administrator exists yet").await;
    c.goto(&link).await.expect("goto");
    wait_for_text(&c, "First-run setup").await;
    assert_axe_clean(&c, &axe, "setup").await;
    type_into(&c, "#institution", "Universiteit Leiden").await;
    type_into(&c, "#email", "ada@example.org").await;
    type_into(&c, "#display_name", "Ada Admin").await;
    type_into(&c, "#password", NEW_PASSWORD).await;
    click(&c, "form[action='/setup'] button").await;
    wait_for_text(&c, "Setup finished").await;
    // The link is spent and the page gone.
    c.goto(&link).await.expect("goto");
    wait_for_text(&c, "Not found").await;
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE email = 'ada@example.org'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_mail_creates_an_account_and_a_reset_link_works_once() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let maildev = MailDev::start();
    let (app, base) = served(Some(maildev.url())).await;
    let admin = app.user("admin", None).await;
    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;
    sign_in(&c, &base, &admin.email).await;
    c.goto(&format!("{base}/invitations")).await.expect("goto");
    wait_for_text(&c, "Invite someone").await;
    assert_axe_clean(&c, &axe, "invitations").await;
    type_into(&c, "#email", "nina@uni-a.example.org").await;
    type_into(&c, "#display_name", "Nina Officer").await;
    c.find(Locator::Css("#role option[value='officer']"))
        .await
        .expect("option")
        .click()
        .await
        .expect("choose");
    c.find(Locator::Css(&format!(
        "#institution_id option[value='{}']",
        app.institution_a
    )))
    .await
    .expect("option")
    .click()
    .await
    .expect("choose");
    click(&c, "form[action='/invitations'] button[type=submit]").await;
    wait_for_text(&c, "Invitation sent").await;
    wait_for_text(&c, "nina@uni-a.example.org").await;
    sign_out(&c).await;

    deliver(&app).await;
    let mails = maildev.wait_for(1);
    assert_eq!(mails[0]["to"][0]["address"], "nina@uni-a.example.org");
    let link = link_in(&mails[0], &format!("{base}/invitation?token="));
    c.goto(&link).await.expect("goto");
    wait_for_text(&c, "Set up your account").await;
    assert_axe_clean(&c, &axe, "invitation").await;
    type_into(&c, "#password", NEW_PASSWORD).await;
    click(&c, "form[action='/invitation'] button").await;
    wait_for_text(&c, "Welcome").await;
    let (role, institution): (String, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT role, institution_id FROM users WHERE email = 'nina@uni-a.example.org'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (role.as_str(), institution),
        ("officer", Some(app.institution_a))
    );
    // The invitation link works once.
    sign_out(&c).await;
    c.goto(&link).await.expect("goto");
    wait_for_text(&c, "This invitation no longer works").await;

    // Forgot the password: the link works once and ends the other sessions.
    let other = app.anonymous();
    other.sign_in("nina@uni-a.example.org", NEW_PASSWORD).await;
    c.goto(&format!("{base}/login")).await.expect("goto");
    click(&c, "a[href='/password/forgot']").await;
    wait_for_text(&c, "Forgot your password?").await;
    assert_axe_clean(&c, &axe, "forgot").await;
    type_into(&c, "#email", "nina@uni-a.example.org").await;
    click(&c, "form[action='/password/forgot'] button").await;
    wait_for_text(&c, "If an account has this address").await;
    deliver(&app).await;
    let mails = maildev.wait_for(2);
    let reset = link_in(&mails[1], &format!("{base}/password/reset?token="));
    c.goto(&reset).await.expect("goto");
    wait_for_text(&c, "Choose a new password").await;
    assert_axe_clean(&c, &axe, "reset").await;
    type_into(&c, "#password", "another orchard lantern 77").await;
    click(&c, "form[action='/password/reset'] button").await;
    wait_for_text(&c, "every other session of your account has ended").await;
    let r = other.get("/account").await;
    assert!(
        r.location().starts_with("/login"),
        "the other session ended"
    );
    c.goto(&reset).await.expect("goto");
    wait_for_text(&c, "This link no longer works").await;
}

/// oidc-provider on a free port, stopped when dropped.
struct OidcProvider {
    child: Child,
    issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_oidc_provider(redirect_uri: &str, post_logout: &str) -> OidcProvider {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc-provider.mjs");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("node_modules/oidc-provider")
            .exists(),
        "oidc-provider is missing: run `npm ci` (it is in package.json)"
    );
    let port = free_port();
    let clients = json!([{
        "client_id": "triage-test",
        "client_secret": "a client secret for the tests",
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout],
    }]);
    let accounts = json!({
        "ana": { "email": "ana@uni-a.example.org", "email_verified": true, "name": "Ana Jansen" },
        "eve": { "email": "eve@elsewhere.example.com", "email_verified": true, "name": "Eve Other" },
    });
    let child = Command::new("node")
        .arg(script)
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_CLIENTS", clients.to_string())
        .env("OIDC_ACCOUNTS", accounts.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting node");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "oidc-provider did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    OidcProvider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    }
}

/// Signs in at the provider's login form and consents.
async fn at_provider(c: &Client, login: &str) {
    let start = Instant::now();
    while c.find(Locator::Css("input[name=login]")).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no provider login form"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    type_into(c, "input[name=login]", login).await;
    type_into(c, "input[name=password]", "any password").await;
    click(c, "button[type=submit]").await;
    let start = Instant::now();
    loop {
        let url = c.current_url().await.expect("url");
        if !url.as_str().contains("/interaction/") || start.elapsed() > Duration::from_secs(15) {
            break;
        }
        // The consent page: "Continue".
        if let Ok(b) = c
            .find(Locator::Css(
                "form[action$='/confirm'] button, button[autofocus]",
            ))
            .await
        {
            b.click().await.ok();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_through_the_openid_provider_as_an_officer_and_another_domain_is_refused() {
    let Some((chromium, driver)) = browser_or_skip() else {
        return;
    };
    let Some(axe) = axe_script() else { return };
    let (app, base) = served(None).await;
    let institution = app.institution_a;
    let redirect = format!("{base}/sso/{institution}/callback");
    let provider = start_oidc_provider(&redirect, &format!("{base}/login?signed_out=1"));
    // The administrator sets single sign-on up for Institution A.
    let admin = app.user("admin", None).await;
    let admin_client = app.client_for(&admin).await;
    let saved = admin_client
        .post_form(
            &format!("/admin/institutions/{institution}/sso"),
            &[
                ("issuer_url", &provider.issuer),
                ("client_id", "triage-test"),
                ("client_secret", "a client secret for the tests"),
                ("email_domain", "uni-a.example.org"),
                ("create_accounts", "1"),
            ],
        )
        .await;
    assert_eq!(
        saved.status,
        axum::http::StatusCode::SEE_OTHER,
        "{}",
        saved.body
    );
    let page = admin_client
        .get(&format!("/admin/institutions/{institution}"))
        .await;
    assert!(
        !page.body.contains("a client secret for the tests"),
        "the secret is never shown"
    );
    page.assert_contains(&redirect);

    let (_driver, c, _profile) = start_browser(&chromium, &driver).await;
    c.goto(&format!("{base}/login")).await.expect("goto");
    wait_for_text(&c, "Sign in with Institution A").await;
    assert_axe_clean(&c, &axe, "sign-in with providers").await;
    click(&c, &format!("a[href^='/sso/{institution}/login']")).await;
    at_provider(&c, "ana").await;
    let start = Instant::now();
    loop {
        let header = match c.find(Locator::Css(".account-bar")).await {
            Ok(bar) => bar.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if header.contains("Ana Jansen") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not signed in through the provider"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (role, inst): (String, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT role, institution_id FROM users WHERE email = 'ana@uni-a.example.org'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!((role.as_str(), inst), ("officer", Some(institution)));
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM user_identities i JOIN users u ON u.id = i.user_id WHERE u.email = 'ana@uni-a.example.org'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(linked, 1);
    // Signing out ends the triage session and offers the provider's logout.
    click(&c, "form[action='/logout'] button").await;
    wait_for_text(&c, "sign out of Institution A too").await;
    let href = c
        .find(Locator::Css("#provider-logout a"))
        .await
        .expect("logout link")
        .attr("href")
        .await
        .expect("href")
        .expect("an address");
    assert!(
        href.starts_with(&format!("{}/session/end", provider.issuer)),
        "{href}"
    );

    // A user of another email domain is refused, with a clear message (a fresh
    // browser: no session at the provider).
    let (_driver2, c2, _profile2) = start_browser(&chromium, &driver).await;
    c2.goto(&format!("{base}/login")).await.expect("goto");
    click(&c2, &format!("a[href^='/sso/{institution}/login']")).await;
    at_provider(&c2, "eve").await;
    wait_for_text(&c2, "only for addresses ending in @uni-a.example.org").await;
    assert_axe_clean(&c2, &axe, "single sign-on refused").await;
    let eve: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'eve@elsewhere.example.com'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(eve, 0);
    let refused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.sso_refused'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(refused, 1);
}
