//! The case page (the due-diligence memo with its review record) and the review
//! workflow: queue, comments, returns, decisions, and what changed between submissions.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::db;
use crate::db::assessments::Assessment;
use crate::db::audit::Entry;
use crate::db::projects::Project;
use crate::db::review::{Comment, Decision, Reopening, Return, ReviewerLoad, Submission};
use crate::domain::account::Role;
use crate::domain::answers::FieldError;
use crate::domain::compare::FindingsDiff;
use crate::domain::contract;
use crate::domain::digest::record_digest_with_files;
use crate::domain::lifecycle::{Status, Transition};
use crate::domain::memo::{NextSteps, next_steps};
use crate::domain::rulebook::{Colour, Rulebook};
use crate::domain::verdict::{self, Evaluation, Finding, FindingCounts};
use crate::error::{AppError, AppResult};
use crate::services::notifications::{self, CaseMail};
use crate::state::AppState;
use crate::web::extract::{AnyRole, CaseOf, OfficerOrReviewer, Query, ReviewerOnly};
use crate::web::forms::{Check, Errors, FormPairs};
use crate::web::layout::{Layout, NoticeQuery, datetime, notice, ok, render};
use crate::web::session::Signed;
use crate::web::wizard::{
    Case, ChangedAnswer, StepAnswers, answers_by_step, changed_answers, rate_changes,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments/{id}", get(case_get))
        .route("/assessments/{id}/comments", post(comment_post))
        .route("/assessments/{id}/return", post(return_post))
        .route("/assessments/{id}/report", get(report_get))
}

pub struct FindingView {
    pub finding: Finding,
    pub question_label: String,
    pub step_number: Option<usize>,
    pub resolved_by: Vec<String>,
    pub comments: Vec<Comment>,
}

/// What the active rulebook would conclude from a case computed by another version.
pub struct CurrentRulebook {
    pub version: String,
    pub verdict: Colour,
    /// The colour differs from the stored verdict.
    pub changes_colour: bool,
    pub reasons: Vec<String>,
}

/// What changed from one submission to the next.
pub struct SubmissionChange {
    pub number: i32,
    pub submitted_by: String,
    pub submitted_at: String,
    pub verdict_before: String,
    pub verdict_after: String,
    pub answers: Vec<ChangedAnswer>,
    pub findings_added: Vec<String>,
    pub findings_removed: Vec<String>,
    pub findings_resolved: Vec<String>,
    pub findings_reopened: Vec<String>,
}

pub struct AuditLine {
    pub at: String,
    pub actor: String,
    pub summary: String,
}

/// The forms a reviewer fills in, kept as typed when they come back with errors.
#[derive(Default)]
pub struct ReviewInput {
    pub return_message: String,
    pub outcome: String,
    pub final_verdict: String,
    pub justification: String,
    pub conditions: String,
    pub comment: String,
    pub comment_finding: String,
    pub dismiss_entry: String,
    pub dismiss_reason: String,
    /// The note of a screening acknowledgement.
    pub note: String,
    /// Why a decision is reopened.
    pub reopen_reason: String,
    /// The question a return is about.
    pub return_question: String,
    /// The officer's answer to a request, and which request.
    pub answer: String,
    pub answer_request: String,
}

/// A request for more information with its thread, and the question it is about.
pub struct RequestView {
    pub request: Return,
    pub question_label: Option<String>,
    /// The step that asks the question (1-based).
    pub step: Option<usize>,
    pub messages: Vec<crate::db::requests::RequestMessage>,
}

impl RequestView {
    pub fn is_open(&self) -> bool {
        self.request.answered_at.is_none()
    }
}

#[derive(Template)]
#[template(path = "assessments/result.html")]
struct CasePage {
    layout: Layout,
    project: Project,
    assessment: Assessment,
    status: Status,
    evaluation: Evaluation,
    counts: FindingCounts,
    next: NextSteps,
    /// The next steps are the active rulebook's (an editable case computed by another version).
    next_by_current: bool,
    /// The step that asks for mitigations, for the next steps' link.
    mitigations_step: usize,
    /// Set when the active rulebook would conclude otherwise.
    current: Option<CurrentRulebook>,
    open: Vec<FindingView>,
    /// Open "not yet cleared" findings, listed compactly after the others.
    uncleared: Vec<FindingView>,
    resolved: Vec<FindingView>,
    steps: Vec<StepAnswers>,
    area: String,
    sub_area: String,
    partner_name: String,
    /// The department, school or laboratory at the partner, when given.
    partner_unit: Option<String>,
    screening: crate::web::screening::CaseScreening,
    benefit_notes: Option<String>,
    mitigations: Vec<String>,
    institution: String,
    /// Case-level comments (not attached to a finding).
    comments: Vec<Comment>,
    returns: Vec<Return>,
    /// The requests with their threads, oldest first.
    requests: Vec<RequestView>,
    /// Where "Continue" leads: the step an open request is about, else where the officer
    /// left off.
    continue_to: String,
    /// (question id, "Step n: label") for a request about one question.
    question_choices: Vec<(String, String)>,
    decision: Option<Decision>,
    /// Decisions reopened, with who and why.
    reopenings: Vec<Reopening>,
    /// A reviewer may co-sign the pending decision now.
    can_cosign: bool,
    /// Why this reviewer may not co-sign a pending decision, if so.
    cosign_refusal: Option<&'static str>,
    /// A reviewer may reopen the decision (decided or pending a co-signature).
    can_reopen: bool,
    /// The reviewer the case is assigned to.
    assigned_name: Option<String>,
    assigned_to_me: bool,
    /// Reviewers a lead reviewer may assign the case to (empty for others).
    assignable: Vec<ReviewerLoad>,
    changes: Vec<SubmissionChange>,
    submissions: usize,
    audit: Vec<AuditLine>,
    can_edit: bool,
    can_comment: bool,
    /// A reviewer may return or decide now.
    can_review: bool,
    /// Why a reviewer may not decide (they submitted it), if so.
    own_submission: bool,
    input: ReviewInput,
    errors: Errors,
    /// (code, title) of findings, for attaching a comment.
    finding_choices: Vec<(String, String)>,
    /// SHA-256 of answers, rulebook version and attached files' SHA-256, matching
    /// printed reports to the record.
    digest: String,
    /// Files attached to the case, its mitigations and comments.
    attachments: Vec<crate::web::attachments::FileView>,
    /// The ticked mitigations with their status (done or planned).
    mitigation_lines: Vec<crate::web::mitigations::MitigationLine>,
}

impl CasePage {
    /// The first request still waiting for the officer's answer.
    fn first_open(&self) -> Option<&RequestView> {
        self.requests.iter().find(|r| r.is_open())
    }
}

fn submission_changes(rulebook: &Rulebook, subs: &[Submission]) -> Vec<SubmissionChange> {
    let titles = |list: Vec<crate::domain::compare::FindingBrief>| -> Vec<String> {
        list.into_iter().map(|f| f.title).collect()
    };
    subs.windows(2)
        .map(|pair| {
            let (a, b) = (&pair[0], &pair[1]);
            let diff = FindingsDiff::between(&a.evaluation.0.briefs(), &b.evaluation.0.briefs());
            SubmissionChange {
                number: b.number,
                submitted_by: b.submitted_by_name.clone(),
                submitted_at: datetime(&b.submitted_at),
                verdict_before: a.verdict.word().to_owned(),
                verdict_after: b.verdict.word().to_owned(),
                answers: {
                    let mut changes = changed_answers(rulebook, &a.answers.0, &b.answers.0);
                    rate_changes(&mut changes, &a.evaluation.0, &b.evaluation.0);
                    changes
                },
                findings_added: titles(diff.added),
                findings_removed: titles(diff.removed),
                findings_resolved: titles(diff.resolved),
                findings_reopened: titles(diff.reopened),
            }
        })
        .collect()
}

async fn case_page(
    state: &AppState,
    s: &Signed,
    case: Case,
    input: ReviewInput,
    errors: Vec<FieldError>,
    notice_code: Option<&str>,
) -> AppResult<CasePage> {
    let id = case.assessment.id;
    // The memo is worded by the rulebook version that computed it, not today's.
    let rulebook: Arc<Rulebook> = state
        .rulebook_version(&case.assessment.rulebook_version)
        .await?;
    let answers = &case.assessment.answers.0;
    let evaluation = case.assessment.evaluation.0.clone();
    // The active rulebook's view of the same answers, when another version computed the case.
    let active = state.active_rulebook().await?;
    let now = (active.version() != evaluation.rulebook_version)
        .then(|| verdict::evaluate_screened(&active, answers, &evaluation.register_hits()));
    let current = now
        .as_ref()
        .and_then(|now| current_rulebook(active.version(), &evaluation, now));
    let status = case.status();
    let can_edit = s.role() == Role::Officer && status.is_editable();
    // An editable case will be evaluated with the active rulebook when it is saved, so its
    // next steps are the active rulebook's; a submitted one's are those it records.
    let next = match (&now, can_edit) {
        (Some(now), true) => next_steps(&active, now, answers.list(contract::MITIGATIONS)),
        _ => next_steps(&rulebook, &evaluation, answers.list(contract::MITIGATIONS)),
    };
    let all_comments = db::review::comments(state.pool(), id).await?;
    let view = |f: &Finding| FindingView {
        question_label: rulebook
            .question(&f.question)
            .map_or_else(|| f.question.clone(), |q| q.label.clone()),
        step_number: rulebook.step_of(&f.question).map(|s| s + 1),
        resolved_by: f
            .resolved_by
            .iter()
            .map(|m| rulebook.mitigation_label(m))
            .collect(),
        comments: all_comments
            .iter()
            .filter(|c| c.finding_code.as_deref() == Some(f.code.as_str()))
            .cloned()
            .collect(),
        finding: f.clone(),
    };
    let area = answers
        .text(contract::AREA)
        .and_then(|a| rulebook.area(a))
        .map_or_else(|| "Not chosen".to_owned(), |a| a.name.clone());
    let sub_area = answers
        .text(contract::SUB_AREA)
        .and_then(|s| rulebook.sub_area(s))
        .map_or_else(|| "Not chosen".to_owned(), |(_, s)| s.name.clone());
    let mitigations = answers
        .list(contract::MITIGATIONS)
        .iter()
        .map(|m| rulebook.mitigation_label(m))
        .collect();
    let submissions = db::review::submissions(state.pool(), id).await?;
    let institution = match case.project.institution_id {
        Some(i) => db::users::institution(state.pool(), i)
            .await?
            .map(|i| i.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let attachments = crate::web::attachments::files_of(state, &case).await?;
    let mitigation_lines = crate::web::mitigations::lines_of(state, &case).await?;
    let audit = db::audit::for_assessment(state.pool(), id)
        .await?
        .into_iter()
        .map(|r| AuditLine {
            at: datetime(&r.at),
            actor: r.actor_email.unwrap_or_else(|| "system".to_owned()),
            summary: r.summary,
        })
        .collect();
    let own_submission = case.assessment.submitted_by == Some(s.user.id);
    let decision = db::review::decision(state.pool(), id).await?;
    let reviewer = s.role() == Role::Reviewer;
    let cosign_refusal = match &decision {
        Some(d) if reviewer && d.pending() => {
            if d.decided_by == s.user.id {
                Some("You made this decision, so another reviewer must co-sign it.")
            } else if own_submission {
                Some("You submitted this case, so another reviewer must co-sign it.")
            } else {
                None
            }
        }
        _ => None,
    };
    let assignment = db::review::assignment(state.pool(), id).await?;
    let returns = db::review::returns(state.pool(), id).await?;
    let messages = db::requests::messages(state.pool(), id).await?;
    let requests: Vec<RequestView> = returns
        .iter()
        .map(|r| RequestView {
            question_label: r
                .question
                .as_deref()
                .and_then(|q| rulebook.question(q))
                .map(|q| q.label.clone()),
            step: r
                .question
                .as_deref()
                .and_then(|q| rulebook.step_of(q))
                .map(|s| s + 1),
            messages: messages
                .iter()
                .filter(|m| m.return_id == r.id)
                .cloned()
                .collect(),
            request: r.clone(),
        })
        .collect();
    let question_choices = rulebook
        .steps()
        .iter()
        .enumerate()
        .flat_map(|(n, step)| {
            step.questions
                .iter()
                .map(move |q| (q.id.clone(), format!("Step {}: {}", n + 1, q.label)))
        })
        .collect();
    let lead = reviewer && s.user.lead_reviewer && status.awaits_reviewer();
    Ok(CasePage {
        layout: Layout::new(
            state,
            &s.ctx,
            format!("Case \u{2013} {}", case.project.title),
            match s.role() {
                Role::Reviewer => "review",
                _ => "projects",
            },
        )
        .with_notice(notice(notice_code)),
        counts: evaluation.counts(),
        next,
        next_by_current: now.is_some() && can_edit,
        mitigations_step: active.step_of(contract::MITIGATIONS).map_or(1, |s| s + 1),
        current,
        open: evaluation
            .open_findings()
            .filter(|f| !f.is_uncleared())
            .map(view)
            .collect(),
        uncleared: evaluation
            .open_findings()
            .filter(|f| f.is_uncleared())
            .map(view)
            .collect(),
        resolved: evaluation.resolved_findings().map(view).collect(),
        digest: record_digest_with_files(
            answers,
            &case.assessment.rulebook_version,
            &attachments
                .iter()
                .map(|f| f.sha256.clone())
                .collect::<Vec<_>>(),
        ),
        attachments,
        mitigation_lines,
        finding_choices: evaluation
            .findings
            .iter()
            .map(|f| (f.code.clone(), f.title.clone()))
            .collect(),
        steps: answers_by_step(&rulebook, answers),
        partner_name: answers
            .text(contract::PARTNER_NAME)
            .unwrap_or("Not named")
            .to_owned(),
        partner_unit: answers.text("partner_unit").map(str::to_owned),
        screening: crate::web::screening::case_screening(state, s, &case).await?,
        benefit_notes: answers.text(contract::BENEFIT_NOTES).map(str::to_owned),
        area,
        sub_area,
        mitigations,
        institution,
        comments: all_comments
            .iter()
            .filter(|c| c.finding_code.is_none())
            .cloned()
            .collect(),
        continue_to: requests
            .iter()
            .find(|r| r.is_open() && r.step.is_some())
            .and_then(|r| Some((r.step?, r.request.question.clone()?)))
            .map_or_else(
                || format!("/assessments/{id}/steps/{}", case.assessment.current_step),
                |(step, q)| format!("/assessments/{id}/steps/{step}#q-{q}"),
            ),
        returns,
        requests,
        question_choices,
        can_cosign: reviewer
            && status == Status::Cosign
            && decision.as_ref().is_some_and(Decision::pending)
            && cosign_refusal.is_none(),
        cosign_refusal,
        can_reopen: reviewer && matches!(status, Status::Decided | Status::Cosign),
        decision,
        reopenings: db::review::reopenings(state.pool(), id).await?,
        assigned_to_me: assignment.as_ref().is_some_and(|(u, _)| *u == s.user.id),
        assigned_name: assignment.map(|(_, name)| name),
        assignable: if lead {
            db::review::reviewer_loads(state.pool()).await?
        } else {
            Vec::new()
        },
        changes: submission_changes(&rulebook, &submissions),
        submissions: submissions.len(),
        audit,
        can_edit,
        can_comment: matches!(s.role(), Role::Officer | Role::Reviewer),
        can_review: s.role() == Role::Reviewer && status.awaits_review(),
        own_submission,
        status,
        input,
        errors: Errors(errors),
        evaluation,
        project: case.project,
        assessment: case.assessment,
    })
}

/// What the active rulebook concludes from the same answers, with the register match the
/// case recorded, when that differs from the stored evaluation.
fn current_rulebook(
    version: &str,
    stored: &Evaluation,
    now: &Evaluation,
) -> Option<CurrentRulebook> {
    let diff = FindingsDiff::between(&stored.briefs(), &now.briefs());
    if diff.is_empty() && now.verdict == stored.verdict {
        return None;
    }
    Some(CurrentRulebook {
        version: version.to_owned(),
        verdict: now.verdict,
        changes_colour: now.verdict != stored.verdict,
        reasons: diff.sentences(),
    })
}

async fn case_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<AnyRole>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&case_page(
        &state,
        &s,
        case,
        ReviewInput::default(),
        Vec::new(),
        q.notice.as_deref(),
    )
    .await?)
}

/// Re-renders the case page with the reviewer's entries and the errors beside them.
pub async fn case_with_errors(
    state: &AppState,
    s: &Signed,
    case: Case,
    input: ReviewInput,
    errors: Vec<FieldError>,
) -> AppResult<Response> {
    let page = case_page(state, s, case, input, errors, None).await?;
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Re-renders the case page with a reviewer's entries, to change them (no errors).
pub async fn case_with_input(
    state: &AppState,
    s: &Signed,
    case: Case,
    input: ReviewInput,
) -> AppResult<Response> {
    let page = case_page(state, s, case, input, Vec::new(), None).await?;
    ok(&page)
}

/// The status a reviewer's action leads to, when the case allows it now.
pub(crate) fn reviewable(case: &Case, t: Transition) -> AppResult<Status> {
    case.status().after(t).ok_or_else(|| {
        AppError::Conflict(format!(
            "This action is not possible on a case that is {}; nothing was changed.",
            case.status().word().to_lowercase()
        ))
    })
}

/// Refuses a form sent from a page older than the case (someone returned, resubmitted or
/// decided it meanwhile): nobody records a decision on a verdict they did not see.
pub(crate) fn as_seen(case: &Case, form: &FormPairs) -> AppResult<()> {
    if form.version() == Some(case.assessment.lock_version) {
        Ok(())
    } else {
        Err(stale())
    }
}

pub(crate) fn stale() -> AppError {
    AppError::Conflict(
        "The case changed after you opened this page (it was returned, resubmitted or decided \
         meanwhile), so nothing was recorded. Reload the case, check its verdict and answers, \
         and act again."
            .into(),
    )
}

/// Moves the case on in the life cycle from the version the page showed; a change by
/// someone else meanwhile is a conflict, and dropping the transaction undoes everything.
pub(crate) async fn advance(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    case: &Case,
    next: Status,
) -> AppResult<()> {
    let moved = db::review::set_status(
        tx,
        case.assessment.id,
        case.status(),
        case.assessment.lock_version,
        next,
    )
    .await?;
    if moved { Ok(()) } else { Err(stale()) }
}

/// The longest comment, request or justification.
pub(crate) const LONG_TEXT: usize = 5_000;

async fn comment_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOrReviewer>,
    form: FormPairs,
) -> AppResult<Response> {
    let input = ReviewInput {
        comment: form.raw("body"),
        comment_finding: form.raw("finding"),
        ..Default::default()
    };
    let mut check = Check::default();
    let body = check.required_lines::<LONG_TEXT>("body", &input.comment, "Write a comment.");
    let finding = check
        .text::<100>("finding", &input.comment_finding)
        .filter(|f| !f.is_empty());
    if let Some(code) = &finding
        && !case
            .assessment
            .evaluation
            .0
            .findings
            .iter()
            .any(|f| f.code == code.as_str())
    {
        check.add("finding", "Choose a finding of this case.");
    }
    let (Some(body), true) = (body, check.is_empty()) else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    let mut tx = state.pool().begin().await?;
    db::review::insert_comment(
        &mut tx,
        case.assessment.id,
        s.user.id,
        finding.as_deref(),
        &body,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.comment",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: match &finding {
                Some(code) => format!("Commented on finding {code}"),
                None => "Commented on the case".to_owned(),
            },
            details: serde_json::json!({ "finding": finding, "length": body.chars().count() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=commented#comments",
        case.assessment.id
    ))
    .into_response())
}

async fn return_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let next = reviewable(&case, Transition::Return)?;
    let input = ReviewInput {
        return_message: form.raw("message"),
        return_question: form.raw("question").trim().to_owned(),
        ..Default::default()
    };
    let mut check = Check::default();
    let message = check.required_lines::<LONG_TEXT>(
        "message",
        &input.return_message,
        "Request: write what the officer should add or clarify.",
    );
    let rulebook = state
        .rulebook_version(&case.assessment.rulebook_version)
        .await?;
    let question = match input.return_question.as_str() {
        "" => None,
        q if rulebook.question(q).is_some() => Some(q.to_owned()),
        _ => {
            check.add(
                "question",
                "About: choose a question of the questionnaire, or \"The case as a whole\".",
            );
            None
        }
    };
    let (Some(message), true) = (message, check.is_empty()) else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    as_seen(&case, &form)?;
    let mut tx = state.pool().begin().await?;
    advance(&mut tx, &case, next).await?;
    db::review::insert_return(
        &mut tx,
        case.assessment.id,
        s.user.id,
        &message,
        question.as_deref(),
    )
    .await?;
    notifications::returned(
        &mut tx,
        &state.config().mail,
        &CaseMail {
            id: case.assessment.id,
            reference: &case.assessment.reference,
            title: &case.project.title,
        },
        case.assessment.submitted_by,
        &message,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.return",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: "Returned to the officer for more information".to_owned(),
            details: serde_json::json!({ "message": message.as_str(), "question": question }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=returned",
        case.assessment.id
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "assessments/report.html")]
struct ReportPage {
    page: CasePage,
    generated: String,
}

/// The print-ready report: the memo with its record, reasons and digest, laid out for A4.
async fn report_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<AnyRole>,
) -> AppResult<Response> {
    let (assessment_id, project_id) = (case.assessment.id, case.project.id);
    let page = case_page(&state, &s, case, ReviewInput::default(), Vec::new(), None).await?;
    db::audit::record_alone(
        state.pool(),
        &s.actor(),
        Entry {
            action: "case.report",
            assessment_id: Some(assessment_id),
            project_id: Some(project_id),
            summary: format!(
                "Opened the printable report (digest {})",
                &page.digest[..16]
            ),
            details: serde_json::json!({ "digest": page.digest }),
        },
    )
    .await?;
    ok(&ReportPage {
        page,
        generated: datetime(&time::OffsetDateTime::now_utc()),
    })
}
