//! The mail notifications of the review workflow. Each is written to the outbox in the
//! transaction of the change it reports (see `crate::mail::notify`), to the people it
//! concerns, each as they chose: at once or in the daily digest. Every message names the
//! case and ends with an absolute link to it.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::mail::{MailSettings, Notification, Recipient, notify};

/// The case a notification is about.
pub struct CaseMail<'a> {
    pub id: Uuid,
    /// The human reference, `TRI-2026-0042`.
    pub reference: &'a str,
    pub title: &'a str,
}

impl CaseMail<'_> {
    /// "TRI-2026-0042 Soil microbiome", as subjects name the case.
    fn name(&self) -> String {
        format!("{} {}", self.reference, self.title)
    }

    fn link(&self, settings: &MailSettings) -> String {
        settings.link(&format!("/assessments/{}", self.id))
    }
}

/// The active accounts among `ids`, each with their delivery choice.
async fn recipients(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> sqlx::Result<Vec<Recipient>> {
    let rows: Vec<(Uuid, String, bool)> = sqlx::query_as(
        "SELECT id, email, mail_delivery = 'digest' FROM users
         WHERE id = ANY($1) AND NOT disabled ORDER BY email",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, digest)| Recipient {
            id: Some(id),
            email,
            digest,
        })
        .collect())
}

/// Every active reviewer but `except`.
async fn reviewers(tx: &mut Transaction<'_, Postgres>, except: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'reviewer' AND NOT disabled AND NOT (id = ANY($1))",
    )
    .bind(except)
    .fetch_all(&mut **tx)
    .await
}

async fn send(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    to: &[Uuid],
    kind: &'static str,
    case: &CaseMail<'_>,
    subject: String,
    text: String,
) -> sqlx::Result<()> {
    let list = recipients(tx, to).await?;
    if list.is_empty() {
        return Ok(());
    }
    notify(
        tx,
        settings,
        &list,
        &Notification {
            kind,
            assessment_id: Some(case.id),
            subject,
            body: format!("{text}\n\nOpen the case: {}\n", case.link(settings)),
        },
    )
    .await
}

/// A case was submitted or resubmitted: to the reviewer it is assigned to, or, when it
/// is assigned to nobody, to every active reviewer.
pub async fn submitted(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    resubmitted: bool,
    verdict: &str,
) -> sqlx::Result<()> {
    let assigned: Option<Uuid> =
        sqlx::query_scalar("SELECT assigned_to FROM assessments WHERE id = $1")
            .bind(case.id)
            .fetch_one(&mut **tx)
            .await?;
    let to = match assigned {
        Some(reviewer) => vec![reviewer],
        None => reviewers(tx, &[]).await?,
    };
    let (kind, done) = if resubmitted {
        ("case.resubmitted", "resubmitted")
    } else {
        ("case.submitted", "submitted")
    };
    send(
        tx,
        settings,
        &to,
        kind,
        case,
        format!("{} was {done} for review", case.name()),
        format!(
            "The case {} was {done} for review. Its computed verdict is {verdict}.",
            case.name()
        ),
    )
    .await
}

/// A reviewer returned the case: to the officer who submitted it.
pub async fn returned(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    officer: Option<Uuid>,
    message: &str,
) -> sqlx::Result<()> {
    send(
        tx,
        settings,
        &officer.into_iter().collect::<Vec<_>>(),
        "case.returned",
        case,
        format!("{} was returned: a reviewer asks for more information", case.name()),
        format!(
            "A reviewer returned the case {} with this request:\n\n{message}\n\nAnswer it on the case page, change what is needed, and submit again.",
            case.name()
        ),
    )
    .await
}

/// The officer answered a request: to the reviewer who asked and the assigned one.
pub async fn answered(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    to: &[Uuid],
    answer: &str,
) -> sqlx::Result<()> {
    send(
        tx,
        settings,
        to,
        "case.answered",
        case,
        format!("{}: the officer answered your request", case.name()),
        format!(
            "The officer answered the request on the case {}:\n\n{answer}",
            case.name()
        ),
    )
    .await
}

/// A decision took effect: to the officer. `words` says what was decided.
pub async fn decided(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    officer: Option<Uuid>,
    words: &str,
) -> sqlx::Result<()> {
    send(
        tx,
        settings,
        &officer.into_iter().collect::<Vec<_>>(),
        "case.decided",
        case,
        format!("{} was decided", case.name()),
        format!("The case {} was decided: {words}", case.name()),
    )
    .await
}

/// A decision waits for a second signature: to every other reviewer who may give it.
pub async fn cosign_needed(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    except: &[Uuid],
    words: &str,
) -> sqlx::Result<()> {
    let to = reviewers(tx, except).await?;
    send(
        tx,
        settings,
        &to,
        "case.cosign_needed",
        case,
        format!("{}: a decision waits for your co-signature", case.name()),
        format!(
            "A reviewer decided the case {}: {words}\nIt lowers a protected verdict and takes effect when a second reviewer co-signs it.",
            case.name()
        ),
    )
    .await
}

/// A decision was reopened: to the officer and the reviewer who had decided.
pub async fn reopened(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    to: &[Uuid],
    reason: &str,
) -> sqlx::Result<()> {
    send(
        tx,
        settings,
        to,
        "case.reopened",
        case,
        format!("{}: the decision was reopened", case.name()),
        format!(
            "The decision on the case {} was reopened; the case waits for a decision again. The reason given:\n\n{reason}",
            case.name()
        ),
    )
    .await
}

/// A case was assigned to a reviewer by someone else: to that reviewer.
pub async fn assigned(
    tx: &mut Transaction<'_, Postgres>,
    settings: &MailSettings,
    case: &CaseMail<'_>,
    to: Uuid,
    by_name: &str,
) -> sqlx::Result<()> {
    send(
        tx,
        settings,
        &[to],
        "case.assigned",
        case,
        format!("{} was assigned to you", case.name()),
        format!("{by_name} assigned the case {} to you.", case.name()),
    )
    .await
}
