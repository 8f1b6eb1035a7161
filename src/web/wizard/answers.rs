//! Answers in words, as officers and reviewers read them: on the check-answers page,
//! the case page, the comparison of cases, the report and the audit log.

use crate::domain::answers::{AnswerValue, Answers};
use crate::domain::risk_change::{self, RiskChange};
use crate::domain::rulebook::{Question, QuestionKind, Rulebook};
use crate::domain::verdict::{Evaluation, is_asked};

pub struct AnswerRow {
    pub id: String,
    pub label: String,
    pub answer: String,
    pub answered: bool,
}

pub struct StepAnswers {
    pub number: usize,
    pub title: String,
    pub rows: Vec<AnswerRow>,
}

/// An answer in words, as a reviewer reads it.
pub fn answer_text(rulebook: &Rulebook, q: &Question, value: Option<&AnswerValue>) -> String {
    match value {
        None => "Not answered".to_owned(),
        Some(AnswerValue::Text(s)) if q.kind == QuestionKind::Text => s.clone(),
        Some(AnswerValue::Text(s)) => rulebook.option_label(q, s),
        Some(AnswerValue::Many(v)) if v.is_empty() => "Not answered".to_owned(),
        Some(AnswerValue::Many(v)) => v
            .iter()
            .map(|x| rulebook.option_label(q, x))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

pub fn answers_by_step(rulebook: &Rulebook, answers: &Answers) -> Vec<StepAnswers> {
    rulebook
        .steps()
        .iter()
        .enumerate()
        .map(|(i, step)| StepAnswers {
            number: i + 1,
            title: step.title.clone(),
            rows: step
                .questions
                .iter()
                .filter(|q| is_asked(rulebook, q, answers))
                .map(|q| AnswerRow {
                    id: q.id.clone(),
                    label: q.label.clone(),
                    answer: answer_text(rulebook, q, answers.get(&q.id)),
                    answered: answers.is_answered(&q.id),
                })
                .collect(),
        })
        .collect()
}

/// One changed answer, for the audit log and the comparison of submissions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangedAnswer {
    pub question: String,
    pub label: String,
    pub before: String,
    pub after: String,
    /// Riskier, safer or the same, once rated against both evaluations (see
    /// [`rate_changes`]); `Same` until then.
    pub risk: RiskChange,
}

/// Rates each changed answer by the findings its question raised before and after.
pub fn rate_changes(changes: &mut [ChangedAnswer], before: &Evaluation, after: &Evaluation) {
    for c in changes {
        c.risk = risk_change::rate(&c.question, before, after);
    }
}

/// The answers that differ between two sets, in questionnaire order.
pub fn changed_answers(
    rulebook: &Rulebook,
    before: &Answers,
    after: &Answers,
) -> Vec<ChangedAnswer> {
    rulebook
        .steps()
        .iter()
        .flat_map(|s| &s.questions)
        .filter(|q| before.get(&q.id) != after.get(&q.id))
        .map(|q| ChangedAnswer {
            question: q.id.clone(),
            label: q.short.clone(),
            before: answer_text(rulebook, q, before.get(&q.id)),
            after: answer_text(rulebook, q, after.get(&q.id)),
            risk: RiskChange::Same,
        })
        .collect()
}
