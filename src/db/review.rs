//! The review workflow: submission snapshots, returns, comments, decisions, the queue.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::account::Role;
use crate::domain::answers::Answers;
use crate::domain::lifecycle::{CosignPolicy, Status};
use crate::domain::rulebook::Colour;
use crate::domain::verdict::Evaluation;

/// An immutable snapshot taken at each submission.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Submission {
    pub id: Uuid,
    pub number: i32,
    pub answers: Json<Answers>,
    pub evaluation: Json<Evaluation>,
    pub rulebook_version: String,
    pub verdict: Colour,
    pub submitted_by_name: String,
    pub submitted_at: OffsetDateTime,
}

pub async fn insert_submission(
    tx: &mut Transaction<'_, Postgres>,
    assessment_id: Uuid,
    answers: &Answers,
    evaluation: &Evaluation,
    submitted_by: Uuid,
) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "INSERT INTO submissions (id, assessment_id, number, answers, evaluation, rulebook_version, verdict, submitted_by, declared_at)
         VALUES ($1, $2, (SELECT coalesce(max(number), 0) + 1 FROM submissions WHERE assessment_id = $2),
                 $3, $4, $5, $6, $7, now())
         RETURNING number",
    )
    .bind(Uuid::new_v4())
    .bind(assessment_id)
    .bind(Json(answers))
    .bind(Json(evaluation))
    .bind(&evaluation.rulebook_version)
    .bind(evaluation.verdict.code())
    .bind(submitted_by)
    .fetch_one(&mut **tx)
    .await
}

pub async fn submissions(pool: &PgPool, assessment_id: Uuid) -> sqlx::Result<Vec<Submission>> {
    sqlx::query_as(
        "SELECT s.id, s.number, s.answers, s.evaluation, s.rulebook_version, s.verdict,
                u.display_name AS submitted_by_name, s.submitted_at
         FROM submissions s JOIN users u ON u.id = s.submitted_by
         WHERE s.assessment_id = $1 ORDER BY s.number",
    )
    .bind(assessment_id)
    .fetch_all(pool)
    .await
}

/// Moves a case on from the status and version a page showed; false when it changed
/// meanwhile.
pub async fn set_status(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    from: Status,
    lock_version: i32,
    to: Status,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE assessments SET status = $4, lock_version = lock_version + 1
         WHERE id = $1 AND status = $2 AND lock_version = $3",
    )
    .bind(id)
    .bind(from)
    .bind(lock_version)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A return: the reviewer's request for more information, with the question it is
/// about (if any) and, once the officer answered, when.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Return {
    pub id: Uuid,
    pub message: String,
    pub question: Option<String>,
    pub returned_by: Uuid,
    pub returned_by_name: String,
    pub returned_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
}

pub async fn insert_return(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    by: Uuid,
    message: &str,
    question: Option<&str>,
) -> sqlx::Result<Uuid> {
    let request = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO returns (id, assessment_id, returned_by, message, question) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request)
    .bind(id)
    .bind(by)
    .bind(message)
    .bind(question)
    .execute(&mut **tx)
    .await?;
    Ok(request)
}

pub async fn returns(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Return>> {
    sqlx::query_as(
        "SELECT r.id, r.message, r.question, r.returned_by, u.display_name AS returned_by_name,
                r.returned_at, r.answered_at
         FROM returns r JOIN users u ON u.id = r.returned_by WHERE r.assessment_id = $1
         ORDER BY r.returned_at, r.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// A comment on a case, optionally on one finding.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub author_name: String,
    pub author_role: Role,
    pub finding_code: Option<String>,
    pub body: String,
    pub created_at: OffsetDateTime,
}

pub async fn insert_comment(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    author: Uuid,
    finding: Option<&str>,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO comments (id, assessment_id, author_id, finding_code, body) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::new_v4())
        .bind(id)
        .bind(author)
        .bind(finding)
        .bind(body)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn comments(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Comment>> {
    sqlx::query_as(
        "SELECT c.id, u.display_name AS author_name, u.role AS author_role, c.finding_code, c.body, c.created_at
         FROM comments c JOIN users u ON u.id = c.author_id WHERE c.assessment_id = $1 ORDER BY c.created_at, c.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// A reviewer's decision on a case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Decision {
    pub outcome: String,
    pub computed_verdict: Colour,
    pub final_verdict: Colour,
    pub justification: String,
    pub conditions: Vec<String>,
    pub decided_by: Uuid,
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
    /// The decision lowers the verdict and waits for (or had) a second signature.
    pub cosign_required: bool,
    pub cosigned_by_name: Option<String>,
    pub cosigned_at: Option<OffsetDateTime>,
}

impl Decision {
    /// Waiting for the second reviewer: not in effect yet.
    pub fn pending(&self) -> bool {
        self.cosign_required && self.cosigned_at.is_none()
    }
}

pub struct NewDecision<'a> {
    pub outcome: &'a str,
    pub computed_verdict: Colour,
    pub final_verdict: Colour,
    pub justification: &'a str,
    pub conditions: &'a [String],
    /// It takes effect only when a second reviewer co-signs.
    pub cosign_required: bool,
}

pub async fn insert_decision(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    by: Uuid,
    d: &NewDecision<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO decisions (assessment_id, decided_by, outcome, computed_verdict, final_verdict, justification, conditions, cosign_required)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(by)
    .bind(d.outcome)
    .bind(d.computed_verdict)
    .bind(d.final_verdict)
    .bind(d.justification)
    .bind(d.conditions)
    .bind(d.cosign_required)
    .execute(&mut **tx)
    .await?;
    if d.cosign_required {
        return Ok(());
    }
    sqlx::query("UPDATE assessments SET final_verdict = $2 WHERE id = $1")
        .bind(id)
        .bind(d.final_verdict)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn decision(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Decision>> {
    sqlx::query_as(
        "SELECT d.outcome, d.computed_verdict, d.final_verdict, d.justification, d.conditions,
                d.decided_by, u.display_name AS decided_by_name, d.decided_at,
                d.cosign_required, c.display_name AS cosigned_by_name, d.cosigned_at
         FROM decisions d JOIN users u ON u.id = d.decided_by
         LEFT JOIN users c ON c.id = d.cosigned_by
         WHERE d.assessment_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A case waiting for review, oldest submission first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueItem {
    pub id: Uuid,
    /// The human reference, `TRI-2026-0042`.
    pub reference: String,
    pub title: String,
    pub institution_name: Option<String>,
    pub partner_name: Option<String>,
    pub area_name: Option<String>,
    pub status: Status,
    pub verdict: Colour,
    pub submitted_at: Option<OffsetDateTime>,
    pub screening_changed: bool,
    /// Whole days since the last submission.
    pub days_waiting: i32,
    pub assigned_to: Option<Uuid>,
    pub assigned_name: Option<String>,
}

/// Whom the queue shows cases of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assigned {
    #[default]
    Anyone,
    Nobody,
    To(Uuid),
}

/// The queue's filters, validated.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Cases whose screening changed instead of those awaiting a decision.
    pub screening_changed: bool,
    pub verdict: Option<Colour>,
    pub area: Option<String>,
    pub institution: Option<Uuid>,
    /// One of the statuses awaiting a reviewer.
    pub status: Option<Status>,
    /// Waiting at least this many days.
    pub min_days: Option<i32>,
    pub assigned: Assigned,
}

pub const QUEUE_PAGE: i64 = 50;

const QUEUE_WHERE: &str = "
         WHERE CASE WHEN $1 THEN a.screening_changed AND a.status <> 'draft'
                    ELSE a.status IN ('submitted', 'resubmitted', 'cosign') END
           AND ($2::text IS NULL OR a.verdict = $2)
           AND ($3::text IS NULL OR a.area_code = $3)
           AND ($4::uuid IS NULL OR p.institution_id = $4)
           AND ($5::text IS NULL OR a.status = $5)
           AND ($6::int IS NULL OR a.submitted_at <= now() - make_interval(days => $6))
           AND CASE $7 WHEN 'nobody' THEN a.assigned_to IS NULL
                       WHEN 'to' THEN a.assigned_to = $8
                       ELSE true END";

fn assigned_bind(a: Assigned) -> (&'static str, Option<Uuid>) {
    match a {
        Assigned::Anyone => ("anyone", None),
        Assigned::Nobody => ("nobody", None),
        Assigned::To(u) => ("to", Some(u)),
    }
}

/// One page of the queue (oldest first) and how many cases the filters match.
pub async fn queue(
    pool: &PgPool,
    f: &QueueFilter,
    page: i64,
) -> sqlx::Result<(Vec<QueueItem>, i64)> {
    let (kind, user) = assigned_bind(f.assigned);
    let items = sqlx::query_as(&format!(
        "SELECT a.id, a.reference, p.title, i.name AS institution_name, a.partner_name, ar.name AS area_name,
                a.status, a.verdict, a.submitted_at, a.screening_changed,
                coalesce(floor(extract(epoch FROM now() - a.submitted_at) / 86400), 0)::int AS days_waiting,
                a.assigned_to, u.display_name AS assigned_name
         FROM assessments a
         JOIN projects p ON p.id = a.project_id
         LEFT JOIN institutions i ON i.id = p.institution_id
         LEFT JOIN areas ar ON ar.code = a.area_code
         LEFT JOIN users u ON u.id = a.assigned_to
         {QUEUE_WHERE}
         ORDER BY a.submitted_at, a.id
         LIMIT $9 OFFSET $10"
    ))
    .bind(f.screening_changed)
    .bind(f.verdict)
    .bind(&f.area)
    .bind(f.institution)
    .bind(f.status)
    .bind(f.min_days)
    .bind(kind)
    .bind(user)
    .bind(QUEUE_PAGE)
    .bind(page.max(0) * QUEUE_PAGE)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM assessments a JOIN projects p ON p.id = a.project_id {QUEUE_WHERE}"
    ))
    .bind(f.screening_changed)
    .bind(f.verdict)
    .bind(&f.area)
    .bind(f.institution)
    .bind(f.status)
    .bind(f.min_days)
    .bind(kind)
    .bind(user)
    .fetch_one(pool)
    .await?;
    Ok((items, total))
}

/// Who a case is assigned to: their id and name.
pub async fn assignment(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT u.id, u.display_name FROM assessments a JOIN users u ON u.id = a.assigned_to WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A reviewer and how many cases awaiting review are assigned to them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewerLoad {
    pub id: Uuid,
    pub display_name: String,
    pub lead_reviewer: bool,
    pub assigned: i64,
}

/// Every active reviewer with the count of cases awaiting review assigned to them.
pub async fn reviewer_loads(pool: &PgPool) -> sqlx::Result<Vec<ReviewerLoad>> {
    sqlx::query_as(
        "SELECT u.id, u.display_name, u.lead_reviewer, count(a.id) AS assigned
         FROM users u
         LEFT JOIN assessments a ON a.assigned_to = u.id AND a.status IN ('submitted', 'resubmitted', 'cosign')
         WHERE u.role = 'reviewer' AND NOT u.disabled
         GROUP BY u.id, u.display_name, u.lead_reviewer
         ORDER BY u.display_name, u.id",
    )
    .fetch_all(pool)
    .await
}

/// Assigns a case to a reviewer (or to nobody). The case's version does not move: an
/// assignment changes nothing a decision rests on.
pub async fn assign(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    to: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE assessments SET assigned_to = $2, assigned_at = CASE WHEN $2 IS NULL THEN NULL ELSE now() END WHERE id = $1",
    )
    .bind(id)
    .bind(to)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The second reviewer co-signs a pending decision: it takes effect.
pub async fn cosign(tx: &mut Transaction<'_, Postgres>, id: Uuid, by: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE decisions SET cosigned_by = $2, cosigned_at = now()
         WHERE assessment_id = $1 AND cosign_required AND cosigned_at IS NULL AND decided_by <> $2",
    )
    .bind(id)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE assessments SET final_verdict = (SELECT final_verdict FROM decisions WHERE assessment_id = $1) WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Reopens a decision: it is kept in `reopenings` with the reason, and the case has no
/// final verdict until it is decided again.
pub async fn reopen(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    by: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO reopenings (id, assessment_id, reopened_by, reason, decision)
         SELECT $1, d.assessment_id, $3, $4,
                to_jsonb(d) || jsonb_build_object('decided_by_name', u.display_name)
         FROM decisions d JOIN users u ON u.id = d.decided_by WHERE d.assessment_id = $2",
    )
    .bind(Uuid::new_v4())
    .bind(id)
    .bind(by)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM decisions WHERE assessment_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE assessments SET final_verdict = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A reopened decision.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reopening {
    pub reason: String,
    pub reopened_by_name: String,
    pub reopened_at: OffsetDateTime,
    pub decided_by_name: String,
    pub final_verdict: Colour,
}

pub async fn reopenings(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Reopening>> {
    sqlx::query_as(
        "SELECT r.reason, u.display_name AS reopened_by_name, r.reopened_at,
                r.decision ->> 'decided_by_name' AS decided_by_name,
                r.decision ->> 'final_verdict' AS final_verdict
         FROM reopenings r JOIN users u ON u.id = r.reopened_by
         WHERE r.assessment_id = $1 ORDER BY r.reopened_at, r.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// The installation's co-signature policy. An unknown stored value is an error.
pub async fn cosign_policy(pool: &PgPool) -> sqlx::Result<CosignPolicy> {
    let v: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'cosign_policy'")
            .fetch_optional(pool)
            .await?;
    let code = v.as_ref().and_then(|v| v.as_str()).unwrap_or("");
    CosignPolicy::parse(code).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown co-signature policy `{code}` in the settings").into())
    })
}

pub async fn set_cosign_policy(
    tx: &mut Transaction<'_, Postgres>,
    policy: CosignPolicy,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('cosign_policy', $1) ON CONFLICT (key) DO UPDATE SET value = $1",
    )
    .bind(serde_json::Value::String(policy.code().to_owned()))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// How many submitted cases have a screening change nobody acknowledged.
pub async fn screening_changed_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM assessments WHERE screening_changed AND status <> 'draft'",
    )
    .fetch_one(pool)
    .await
}
