//! Mail notifications. A notification is written to the outbox in the same transaction
//! as the change it reports; a background worker sends it through SMTP (lettre) with
//! retries and back-off, so mail never blocks or fails a request. Each user chooses
//! immediate mail or a daily digest. Without `SMTP_URL` the messages are kept in the
//! outbox ("held"), where administrators read them.

pub mod sender;

use sqlx::{Postgres, Transaction};
use time::{Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::db;
use crate::db::outbox::NewMail;

/// How this installation sends mail.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS) or `smtps://...`; with a
    /// user and password where the server wants them. `None`: mail stays in the outbox.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `triage <triage@example.org>`.
    pub from: String,
    /// The address users reach triage at, for links in mail.
    pub public_url: String,
    /// The hour (UTC) at which daily digests go out.
    pub digest_hour: u8,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "triage <triage@localhost>".to_owned(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            digest_hour: 7,
        }
    }
}

impl MailSettings {
    /// An absolute link to a path of triage.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }

    /// The next time digests go out after `now`.
    pub fn next_digest(&self, now: OffsetDateTime) -> OffsetDateTime {
        let at = Time::from_hms(self.digest_hour.min(23), 0, 0).unwrap_or(Time::MIDNIGHT);
        let today = now.to_offset(time::UtcOffset::UTC).replace_time(at);
        if today > now {
            today
        } else {
            today + Duration::days(1)
        }
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: Option<Uuid>,
    pub email: String,
    /// Gathered into a daily digest rather than sent at once.
    pub digest: bool,
}

/// A message about one event.
#[derive(Debug, Clone)]
pub struct Notification {
    /// What happened, e.g. `case.returned`.
    pub kind: &'static str,
    pub assessment_id: Option<Uuid>,
    pub subject: String,
    /// Plain text; it ends with the link to the page concerned.
    pub body: String,
}

/// Kinds of mail that carry a secret link (an invitation, a password reset): always sent
/// at once, never gathered into a digest, and the link is removed from the outbox
/// copy once the mail is sent (see [`crate::db::outbox::mark_sent`]).
pub const SECRET_KINDS: [&str; 2] = ["account.invitation", "account.password_reset"];

/// Whether mail of this kind carries a secret link.
pub fn is_secret(kind: &str) -> bool {
    SECRET_KINDS.contains(&kind)
}

/// Writes a notification for each recipient to the outbox, in the caller's transaction:
/// it is sent only if the change commits.
pub async fn notify(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    recipients: &[Recipient],
    n: &Notification,
) -> sqlx::Result<()> {
    let now = OffsetDateTime::now_utc();
    for r in recipients {
        let held = settings.smtp_url.is_none();
        let digest = r.digest && !is_secret(n.kind);
        db::outbox::insert(
            tx,
            &NewMail {
                recipient_id: r.id,
                recipient_email: &r.email,
                subject: &n.subject,
                body: &n.body,
                kind: n.kind,
                assessment_id: n.assessment_id,
                delivery: if digest { "digest" } else { "immediate" },
                status: if held { "held" } else { "queued" },
                not_before: if digest {
                    settings.next_digest(now)
                } else {
                    now
                },
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn digests_go_out_at_the_next_digest_hour() {
        let s = MailSettings::default();
        assert_eq!(
            s.next_digest(datetime!(2026-11-29 05:00 UTC)),
            datetime!(2026-11-29 07:00 UTC)
        );
        assert_eq!(
            s.next_digest(datetime!(2026-11-29 07:00 UTC)),
            datetime!(2026-11-30 07:00 UTC)
        );
        assert_eq!(
            s.next_digest(datetime!(2026-11-29 23:59 UTC)),
            datetime!(2026-11-30 07:00 UTC)
        );
    }

    #[test]
    fn links_are_absolute() {
        let s = MailSettings {
            public_url: "https://triage.example.org/".into(),
            ..MailSettings::default()
        };
        assert_eq!(
            s.link("/assessments/1"),
            "https://triage.example.org/assessments/1"
        );
    }
}
