//! Inserts for demonstration data: whole cases with their history in one go.

use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::answers::Answers;
use crate::domain::verdict::Evaluation;

/// One generated case with everything that happened to it.
pub struct DemoCase {
    pub institution_id: Uuid,
    pub officer_id: Uuid,
    pub reviewer_id: Uuid,
    pub title: String,
    pub summary: String,
    pub lead_researcher: String,
    pub answers: Answers,
    pub evaluation: Evaluation,
    pub partner_normalised: Option<String>,
    pub status: &'static str,
    pub created_at: OffsetDateTime,
    /// Submission times, oldest first (empty for drafts).
    pub submissions: Vec<OffsetDateTime>,
    pub return_message: Option<String>,
    /// (outcome, final verdict, justification, conditions)
    pub decision: Option<(&'static str, String, String, Vec<String>)>,
    pub comments: Vec<(bool, Option<String>, String)>,
}

pub async fn insert_case(tx: &mut Transaction<'_, Postgres>, c: &DemoCase) -> sqlx::Result<Uuid> {
    let project_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO projects (id, title, summary, lead_researcher, institution_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(project_id)
    .bind(&c.title)
    .bind(&c.summary)
    .bind(&c.lead_researcher)
    .bind(c.institution_id)
    .bind(c.officer_id)
    .bind(c.created_at)
    .execute(&mut **tx)
    .await?;
    let id = Uuid::new_v4();
    let last = c.submissions.last().copied();
    let updated = c
        .decision
        .as_ref()
        .and(last)
        .or(last)
        .unwrap_or(c.created_at);
    sqlx::query(
        "INSERT INTO assessments
           (id, project_id, status, answers, current_step, rulebook_version, evaluation, verdict, baseline,
            area_code, sub_area_code, partner_name, partner_normalised, register_entry,
            created_at, updated_at, submitted_at, submitted_by, final_verdict,
            register_entry_id, screening_key)
         VALUES ($1, $2, $3, $4, 9, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(id)
    .bind(project_id)
    .bind(c.status)
    .bind(Json(&c.answers))
    .bind(&c.evaluation.rulebook_version)
    .bind(Json(&c.evaluation))
    .bind(c.evaluation.verdict.code())
    .bind(c.evaluation.baseline.code())
    .bind(c.answers.text("area"))
    .bind(c.answers.text("sub_area"))
    .bind(c.answers.text("partner_name"))
    .bind(&c.partner_normalised)
    .bind(c.evaluation.register.as_ref().map(|r| r.entry.as_str()))
    .bind(c.created_at)
    .bind(updated)
    .bind(last)
    .bind(last.map(|_| c.officer_id))
    .bind(c.decision.as_ref().map(|d| d.1.as_str()))
    .bind(
        c.evaluation
            .register
            .as_ref()
            .map(|r| r.entry_id.as_str())
            .filter(|i| !i.is_empty()),
    )
    .bind(crate::domain::verdict::screening_key(&c.evaluation.register_hits()))
    .execute(&mut **tx)
    .await?;
    for (n, at) in c.submissions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO submissions (id, assessment_id, number, answers, evaluation, rulebook_version, verdict, submitted_by, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::new_v4())
        .bind(id)
        .bind(n as i32 + 1)
        .bind(Json(&c.answers))
        .bind(Json(&c.evaluation))
        .bind(&c.evaluation.rulebook_version)
        .bind(c.evaluation.verdict.code())
        .bind(c.officer_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    if let (Some(message), Some(first)) = (&c.return_message, c.submissions.first()) {
        // A request of a case that was resubmitted since counts as answered then.
        let answered = (c.status != "returned").then_some(last).flatten();
        sqlx::query("INSERT INTO returns (id, assessment_id, returned_by, message, returned_at, answered_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(Uuid::new_v4())
            .bind(id)
            .bind(c.reviewer_id)
            .bind(message)
            .bind(*first + time::Duration::days(3))
            .bind(answered)
            .execute(&mut **tx)
            .await?;
    }
    if let (Some((outcome, final_verdict, justification, conditions)), Some(at)) =
        (&c.decision, last)
    {
        sqlx::query(
            "INSERT INTO decisions (assessment_id, decided_by, outcome, computed_verdict, final_verdict, justification, conditions, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(c.reviewer_id)
        .bind(*outcome)
        .bind(c.evaluation.verdict.code())
        .bind(final_verdict)
        .bind(justification)
        .bind(conditions)
        .bind(at + time::Duration::days(5))
        .execute(&mut **tx)
        .await?;
    }
    for (by_reviewer, finding, body) in &c.comments {
        sqlx::query(
            "INSERT INTO comments (id, assessment_id, author_id, finding_code, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::new_v4())
        .bind(id)
        .bind(if *by_reviewer { c.reviewer_id } else { c.officer_id })
        .bind(finding)
        .bind(body)
        .bind(last.unwrap_or(c.created_at) + time::Duration::days(1))
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}
