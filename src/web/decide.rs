//! Safe decisions: a decision is checked on a confirmation page before it is recorded;
//! lowering a verdict the installation protects waits for a second reviewer's
//! co-signature; a decision can be reopened with a reason. Every step refuses a page
//! older than the case (409) and is audited.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use crate::db;
use crate::db::audit::Entry;
use crate::db::review::NewDecision;
use crate::domain::answers::FieldError;
use crate::domain::lifecycle::{Status, Transition};
use crate::domain::rulebook::Colour;
use crate::error::{AppError, AppResult};
use crate::services::notifications::{self, CaseMail};
use crate::state::AppState;
use crate::web::case::{
    LONG_TEXT, ReviewInput, advance, as_seen, case_with_errors, reviewable, stale,
};
use crate::web::extract::{CaseOf, ReviewerOnly};
use crate::web::forms::{Check, FormPairs};
use crate::web::layout::{Layout, ok};
use crate::web::wizard::Case;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments/{id}/decision", post(decision_post))
        .route("/assessments/{id}/decision/confirm", post(confirm_post))
        .route("/assessments/{id}/cosign", post(cosign_post))
        .route("/assessments/{id}/reopen", post(reopen_post))
}

/// A decision as typed, validated.
struct Valid {
    outcome: &'static str,
    computed: Colour,
    final_verdict: Colour,
    justification: String,
    conditions: Vec<String>,
}

fn input_of(form: &FormPairs) -> ReviewInput {
    ReviewInput {
        outcome: form.raw("outcome").trim().to_owned(),
        final_verdict: form.raw("final_verdict").trim().to_owned(),
        justification: form.raw("justification"),
        conditions: form.raw("conditions"),
        ..Default::default()
    }
}

/// Checks the decision form field by field; every message names its field.
fn validate(case: &Case, input: &ReviewInput) -> Result<Valid, Vec<FieldError>> {
    let computed = case.assessment.evaluation.0.verdict;
    let mut check = Check::default();
    let (outcome, final_verdict) = match input.outcome.as_str() {
        "endorse" => ("endorse", Some(computed)),
        "override" => (
            "override",
            match Colour::from_code(&input.final_verdict) {
                Some(c) if c != computed => Some(c),
                Some(_) => {
                    check.add(
                        "final_verdict",
                        "Final verdict: an override must differ from the computed verdict; to keep it, choose \"Endorse\".",
                    );
                    None
                }
                None => {
                    check.add(
                        "final_verdict",
                        "Final verdict: choose Green, Orange or Red when overriding.",
                    );
                    None
                }
            },
        ),
        _ => {
            check.add(
                "outcome",
                "Decision: choose to endorse or to override the computed verdict.",
            );
            ("", None)
        }
    };
    let justification = if outcome == "override" {
        check.required_lines::<LONG_TEXT>(
            "justification",
            &input.justification,
            "Justification: write why you override the computed verdict.",
        )
    } else {
        check.multi_line::<LONG_TEXT>("justification", &input.justification)
    };
    // One condition a line, each at most 500 characters: 30 lines of 500 at the most.
    let conditions: Vec<String> = check
        .multi_line::<{ 30 * 501 }>("conditions", &input.conditions)
        .map(|c| c.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    if conditions.len() > 30 || conditions.iter().any(|c| c.chars().count() > 500) {
        check.add(
            "conditions",
            "Conditions: write at most 30 conditions, one a line, of at most 500 characters each.",
        );
    }
    match (final_verdict, justification, check.is_empty()) {
        (Some(final_verdict), Some(justification), true) => Ok(Valid {
            outcome,
            computed,
            final_verdict,
            justification: justification.as_str().to_owned(),
            conditions,
        }),
        _ => Err(check.into_errors()),
    }
}

/// Refuses a decision by the reviewer who submitted the case.
fn not_own(case: &Case, s: &crate::web::session::Signed) -> AppResult<()> {
    if case.assessment.submitted_by == Some(s.user.id) {
        Err(AppError::Conflict(
            "Nobody decides a case they submitted; ask another reviewer.".into(),
        ))
    } else {
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "review/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    case: Case,
    input: ReviewInput,
    outcome: &'static str,
    computed: Colour,
    final_verdict: Colour,
    justification: String,
    conditions: Vec<String>,
    cosign_required: bool,
}

/// The decision form: checked, then shown for confirmation; nothing is recorded yet.
async fn decision_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    reviewable(&case, Transition::Decide)?;
    not_own(&case, &s)?;
    let input = input_of(&form);
    let valid = match validate(&case, &input) {
        Ok(v) => v,
        Err(errors) => return case_with_errors(&state, &s, case, input, errors).await,
    };
    as_seen(&case, &form)?;
    let policy = db::review::cosign_policy(state.pool()).await?;
    ok(&ConfirmPage {
        layout: Layout::new(&state, &s.ctx, "Check your decision", "review"),
        cosign_required: policy.requires(valid.computed, valid.final_verdict),
        outcome: valid.outcome,
        computed: valid.computed,
        final_verdict: valid.final_verdict,
        justification: valid.justification,
        conditions: valid.conditions,
        input,
        case,
    })
}

/// Records the confirmed decision, or goes back to the form to change it.
async fn confirm_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    reviewable(&case, Transition::Decide)?;
    not_own(&case, &s)?;
    let input = input_of(&form);
    if form.raw("_action") == "change" {
        as_seen(&case, &form)?;
        return crate::web::case::case_with_input(&state, &s, case, input).await;
    }
    let valid = match validate(&case, &input) {
        Ok(v) => v,
        Err(errors) => return case_with_errors(&state, &s, case, input, errors).await,
    };
    as_seen(&case, &form)?;
    let policy = db::review::cosign_policy(state.pool()).await?;
    let cosign_required = policy.requires(valid.computed, valid.final_verdict);
    let next = reviewable(
        &case,
        if cosign_required {
            Transition::DecidePending
        } else {
            Transition::Decide
        },
    )?;
    let mut tx = state.pool().begin().await?;
    advance(&mut tx, &case, next).await?;
    db::review::insert_decision(
        &mut tx,
        case.assessment.id,
        s.user.id,
        &NewDecision {
            outcome: valid.outcome,
            computed_verdict: valid.computed,
            final_verdict: valid.final_verdict,
            justification: &valid.justification,
            conditions: &valid.conditions,
            cosign_required,
        },
    )
    .await?;
    let mut summary = if valid.outcome == "endorse" {
        format!("Endorsed the computed verdict {}", valid.computed.word())
    } else {
        format!(
            "Overrode the computed verdict {} with {}",
            valid.computed.word(),
            valid.final_verdict.word()
        )
    };
    let mail_case = CaseMail {
        id: case.assessment.id,
        reference: &case.assessment.reference,
        title: &case.project.title,
    };
    let words = format!(
        "{}.{}",
        summary,
        if valid.conditions.is_empty() {
            String::new()
        } else {
            format!("\nConditions:\n- {}", valid.conditions.join("\n- "))
        }
    );
    if cosign_required {
        let mut except = vec![s.user.id];
        except.extend(case.assessment.submitted_by);
        notifications::cosign_needed(&mut tx, &state.config().mail, &mail_case, &except, &words)
            .await?;
        summary.push_str(" (takes effect when a second reviewer co-signs)");
    } else {
        notifications::decided(
            &mut tx,
            &state.config().mail,
            &mail_case,
            case.assessment.submitted_by,
            &words,
        )
        .await?;
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.decide",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary,
            details: serde_json::json!({
                "outcome": valid.outcome,
                "computed": valid.computed.code(),
                "final": valid.final_verdict.code(),
                "justification": valid.justification,
                "conditions": valid.conditions,
                "cosign_required": cosign_required,
                "cosign_policy": policy.code(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice={}",
        case.assessment.id,
        if cosign_required {
            "cosign_pending"
        } else {
            "decided"
        }
    ))
    .into_response())
}

/// A second reviewer co-signs a pending decision: it takes effect. The co-signer differs
/// from the reviewer who decided and from the one who submitted the case.
async fn cosign_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let next = reviewable(&case, Transition::Cosign)?;
    as_seen(&case, &form)?;
    let decision = db::review::decision(state.pool(), case.assessment.id)
        .await?
        .filter(|d| d.pending())
        .ok_or_else(stale)?;
    let refusal = if decision.decided_by == s.user.id {
        Some("You made this decision; a second reviewer must co-sign it.")
    } else if case.assessment.submitted_by == Some(s.user.id) {
        Some("You submitted this case; another reviewer must co-sign its decision.")
    } else {
        None
    };
    if let Some(message) = refusal {
        db::audit::record_alone(
            state.pool(),
            &s.actor(),
            Entry {
                action: "case.cosign_refused",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!("Co-signature refused: {message}"),
                details: serde_json::json!({ "decided_by": decision.decided_by }),
            },
        )
        .await?;
        return Err(AppError::Conflict(message.into()));
    }
    let mut tx = state.pool().begin().await?;
    advance(&mut tx, &case, next).await?;
    if !db::review::cosign(&mut tx, case.assessment.id, s.user.id).await? {
        return Err(stale());
    }
    notifications::decided(
        &mut tx,
        &state.config().mail,
        &CaseMail {
            id: case.assessment.id,
            reference: &case.assessment.reference,
            title: &case.project.title,
        },
        case.assessment.submitted_by,
        &format!(
            "final verdict {} (computed {}), decided by {} and co-signed by {}.{}",
            decision.final_verdict.word(),
            decision.computed_verdict.word(),
            decision.decided_by_name,
            s.user.display_name,
            if decision.conditions.is_empty() {
                String::new()
            } else {
                format!("\nConditions:\n- {}", decision.conditions.join("\n- "))
            }
        ),
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.cosign",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!(
                "Co-signed the decision of {}: final verdict {} instead of the computed {}",
                decision.decided_by_name,
                decision.final_verdict.word(),
                decision.computed_verdict.word()
            ),
            details: serde_json::json!({
                "decided_by": decision.decided_by,
                "final": decision.final_verdict.code(),
                "computed": decision.computed_verdict.code(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=cosigned",
        case.assessment.id
    ))
    .into_response())
}

/// Reopens a decision (in effect or waiting for its co-signature) with a reason: the
/// case waits for a decision again, and the reopened decision stays on the record.
async fn reopen_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<ReviewerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let next = reviewable(&case, Transition::Reopen)?;
    let input = ReviewInput {
        reopen_reason: form.raw("reason"),
        ..Default::default()
    };
    let mut check = Check::default();
    let reason = check.required_lines::<LONG_TEXT>(
        "reason",
        &input.reopen_reason,
        "Reason for reopening: write why the decision is reopened.",
    );
    let Some(reason) = reason else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    as_seen(&case, &form)?;
    let decision = db::review::decision(state.pool(), case.assessment.id)
        .await?
        .ok_or_else(stale)?;
    let mut tx = state.pool().begin().await?;
    advance(&mut tx, &case, next).await?;
    db::review::reopen(&mut tx, case.assessment.id, s.user.id, reason.as_str()).await?;
    let mut to: Vec<uuid::Uuid> = case.assessment.submitted_by.into_iter().collect();
    if decision.decided_by != s.user.id {
        to.push(decision.decided_by);
    }
    notifications::reopened(
        &mut tx,
        &state.config().mail,
        &CaseMail {
            id: case.assessment.id,
            reference: &case.assessment.reference,
            title: &case.project.title,
        },
        &to,
        reason.as_str(),
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.reopen",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!(
                "Reopened the decision of {} (final verdict {}{})",
                decision.decided_by_name,
                decision.final_verdict.word(),
                if case.status() == Status::Cosign {
                    ", waiting for its co-signature"
                } else {
                    ""
                }
            ),
            details: serde_json::json!({
                "reason": reason.as_str(),
                "decided_by": decision.decided_by,
                "final": decision.final_verdict.code(),
                "was": case.status().code(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=reopened",
        case.assessment.id
    ))
    .into_response())
}
