//! The worker that sends the outbox: due messages are claimed with `SKIP LOCKED` (so
//! several app servers never send one twice), sent through SMTP, and retried with
//! back-off when the server is unreachable. Digest items due for one recipient go out
//! as one mail.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::MailSettings;
use crate::db;
use crate::db::outbox::{Mail, NewMail};

/// Waits between attempts; after the last one the message is given up as failed.
const BACKOFF_MINUTES: [i64; 6] = [1, 5, 15, 60, 240, 720];

/// When to try again after `attempts` failed attempts, or `None` to give up.
pub fn retry_at(now: OffsetDateTime, attempts: i32) -> Option<OffsetDateTime> {
    let minutes = BACKOFF_MINUTES.get(usize::try_from(attempts).ok()?)?;
    Some(now + time::Duration::minutes(*minutes))
}

/// An SMTP connection to the configured server.
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Sender {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Option<Sender>> {
        let Some(url) = &settings.smtp_url else {
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid SMTP address")?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: Mailbox = settings
            .from
            .parse()
            .with_context(|| format!("MAIL_FROM {:?} is not a mail address", settings.from))?;
        Ok(Some(Sender { transport, from }))
    }

    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), (String, bool)> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| (format!("not a mail address: {e}"), true))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| (format!("the message could not be built: {e}"), true))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| (e.to_string(), e.is_permanent()))
    }
}

/// Sends what is due in every 5 seconds, for as long as the server runs.
pub fn spawn_worker(pool: PgPool, settings: MailSettings) -> anyhow::Result<()> {
    let Some(sender) = Sender::new(&settings)? else {
        tracing::info!("no SMTP_URL: mail is kept in the outbox for administrators to read");
        return Ok(());
    };
    tokio::spawn(async move {
        loop {
            match send_due(&pool, &sender, OffsetDateTime::now_utc()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "sending mail failed"),
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    Ok(())
}

/// Sends the messages due at `now` (at most a batch); returns how many were handled.
pub async fn send_due(
    pool: &PgPool,
    sender: &Sender,
    now: OffsetDateTime,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let due = db::outbox::claim_due(&mut tx, now, 50).await?;
    let handled = due.len();
    let (digest, immediate): (Vec<Mail>, Vec<Mail>) =
        due.into_iter().partition(|m| m.delivery == "digest");
    for mail in immediate {
        match sender
            .send(&mail.recipient_email, &mail.subject, &mail.body)
            .await
        {
            Ok(()) => db::outbox::mark_sent(&mut tx, &[mail.id], "sent", None).await?,
            Err((error, permanent)) => {
                let retry = if permanent {
                    None
                } else {
                    retry_at(now, mail.attempts)
                };
                tracing::warn!(mail = %mail.id, %error, "mail not sent");
                db::outbox::mark_failed(&mut tx, &[mail.id], &error, retry).await?;
            }
        }
    }
    let mut by_recipient: BTreeMap<String, Vec<Mail>> = BTreeMap::new();
    for item in digest {
        by_recipient
            .entry(item.recipient_email.clone())
            .or_default()
            .push(item);
    }
    for (email, items) in by_recipient {
        let (subject, body) = digest_text(&items);
        let ids: Vec<Uuid> = items.iter().map(|m| m.id).collect();
        match sender.send(&email, &subject, &body).await {
            Ok(()) => {
                let digest_id = db::outbox::insert_sent(
                    &mut tx,
                    &NewMail {
                        recipient_id: items[0].recipient_id,
                        recipient_email: &email,
                        subject: &subject,
                        body: &body,
                        kind: "digest",
                        assessment_id: None,
                        delivery: "immediate",
                        status: "sent",
                        not_before: now,
                    },
                )
                .await?;
                db::outbox::mark_sent(&mut tx, &ids, "digested", Some(digest_id)).await?;
            }
            Err((error, permanent)) => {
                let attempts = items.iter().map(|m| m.attempts).max().unwrap_or(0);
                let retry = if permanent {
                    None
                } else {
                    retry_at(now, attempts)
                };
                db::outbox::mark_failed(&mut tx, &ids, &error, retry).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(handled)
}

/// One mail gathering a recipient's notifications, oldest first.
pub fn digest_text(items: &[Mail]) -> (String, String) {
    let subject = match items.len() {
        1 => format!("triage daily digest: {}", items[0].subject),
        n => format!("triage daily digest: {n} notifications"),
    };
    let mut body = format!(
        "Your triage notifications of the last day ({}). You chose a daily digest; you can change that on your account page.\n",
        items.len()
    );
    for item in items {
        body.push_str("\n----------------------------------------\n");
        body.push_str(&item.subject);
        body.push_str("\n\n");
        body.push_str(&item.body);
        body.push('\n');
    }
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retries_back_off_and_then_give_up() {
        let now = datetime!(2026-11-29 08:00 UTC);
        assert_eq!(retry_at(now, 0), Some(datetime!(2026-11-29 08:01 UTC)));
        assert_eq!(retry_at(now, 3), Some(datetime!(2026-11-29 09:00 UTC)));
        assert_eq!(retry_at(now, 5), Some(datetime!(2026-11-29 20:00 UTC)));
        assert_eq!(retry_at(now, 6), None);
    }
}
