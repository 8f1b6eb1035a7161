//! The review workflow: submission snapshots, returns, comments, decisions, the queue.

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::account::Role;
use crate::domain::answers::Answers;
use crate::domain::lifecycle::Status;
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

/// A return: the reviewer's request for more information.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Return {
    pub message: String,
    pub returned_by_name: String,
    pub returned_at: OffsetDateTime,
}

pub async fn insert_return(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    by: Uuid,
    message: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO returns (id, assessment_id, returned_by, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4())
    .bind(id)
    .bind(by)
    .bind(message)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn returns(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Return>> {
    sqlx::query_as(
        "SELECT r.message, u.display_name AS returned_by_name, r.returned_at
         FROM returns r JOIN users u ON u.id = r.returned_by WHERE r.assessment_id = $1 ORDER BY r.returned_at",
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
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
}

pub struct NewDecision<'a> {
    pub outcome: &'a str,
    pub computed_verdict: Colour,
    pub final_verdict: Colour,
    pub justification: &'a str,
    pub conditions: &'a [String],
}

pub async fn insert_decision(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    by: Uuid,
    d: &NewDecision<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO decisions (assessment_id, decided_by, outcome, computed_verdict, final_verdict, justification, conditions)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(by)
    .bind(d.outcome)
    .bind(d.computed_verdict)
    .bind(d.final_verdict)
    .bind(d.justification)
    .bind(d.conditions)
    .execute(&mut **tx)
    .await?;
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
                u.display_name AS decided_by_name, d.decided_at
         FROM decisions d JOIN users u ON u.id = d.decided_by WHERE d.assessment_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A case waiting for review, oldest submission first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueItem {
    pub id: Uuid,
    pub title: String,
    pub institution_name: Option<String>,
    pub partner_name: Option<String>,
    pub area_name: Option<String>,
    pub status: Status,
    pub verdict: Colour,
    pub submitted_at: Option<OffsetDateTime>,
    pub screening_changed: bool,
}

/// Cases waiting for a decision, oldest first; or, with `screening_changed`, every
/// submitted case whose screening changed and is not yet acknowledged.
pub async fn queue(pool: &PgPool, screening_changed: bool) -> sqlx::Result<Vec<QueueItem>> {
    sqlx::query_as(
        "SELECT a.id, p.title, i.name AS institution_name, a.partner_name, ar.name AS area_name,
                a.status, a.verdict, a.submitted_at, a.screening_changed
         FROM assessments a
         JOIN projects p ON p.id = a.project_id
         LEFT JOIN institutions i ON i.id = p.institution_id
         LEFT JOIN areas ar ON ar.code = a.area_code
         WHERE CASE WHEN $1 THEN a.screening_changed AND a.status <> 'draft'
                    ELSE a.status IN ('submitted', 'resubmitted') END
         ORDER BY a.submitted_at, a.id",
    )
    .bind(screening_changed)
    .fetch_all(pool)
    .await
}

/// How many submitted cases have a screening change nobody acknowledged.
pub async fn screening_changed_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM assessments WHERE screening_changed AND status <> 'draft'",
    )
    .fetch_one(pool)
    .await
}
