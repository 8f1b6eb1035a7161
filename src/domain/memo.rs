//! The memo's opening: what the officer does next, in order. First the facts that are
//! still missing, then the mitigations that would resolve open findings, then submit.

use super::contract;
use super::rulebook::{Colour, Rulebook};
use super::verdict::Evaluation;

/// A question whose answer is still missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionToAnswer {
    pub id: String,
    pub label: String,
    /// 1-based step of the wizard that asks it.
    pub step: Option<usize>,
    /// Set when a mitigation that would establish the fact is ticked already.
    pub note: Option<String>,
}

/// A mitigation that is missing for at least one open orange finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MitigationToRecord {
    pub code: String,
    pub label: String,
    /// Titles of the open findings it is needed for.
    pub findings: Vec<String>,
}

/// The ordered next steps of a case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextSteps {
    pub answer: Vec<QuestionToAnswer>,
    pub record: Vec<MitigationToRecord>,
    /// Open red findings: nothing recorded lowers them.
    pub red: usize,
}

impl NextSteps {
    pub fn is_empty(&self) -> bool {
        self.answer.is_empty() && self.record.is_empty()
    }
}

/// What remains to be done for an evaluation, worded with its own rulebook.
pub fn next_steps(
    rulebook: &Rulebook,
    evaluation: &Evaluation,
    mitigations: &[String],
) -> NextSteps {
    let mut steps = NextSteps::default();
    for f in evaluation.open_findings() {
        if f.severity == Colour::Red {
            steps.red += 1;
            continue;
        }
        if f.is_uncleared() {
            if let Some(known) = steps.answer.iter_mut().find(|q| q.id == f.question) {
                if known.note.is_none() {
                    known.note.clone_from(&f.note);
                }
                continue;
            }
            steps.answer.push(QuestionToAnswer {
                id: f.question.clone(),
                label: rulebook
                    .question(&f.question)
                    .map_or_else(|| f.question.clone(), |q| q.label.clone()),
                step: rulebook.step_of(&f.question).map(|s| s + 1),
                note: f.note.clone(),
            });
            continue;
        }
        for m in f.resolved_by.iter().filter(|m| !mitigations.contains(m)) {
            match steps.record.iter_mut().find(|r| &r.code == m) {
                Some(r) => r.findings.push(f.title.clone()),
                None => steps.record.push(MitigationToRecord {
                    code: m.clone(),
                    label: rulebook.mitigation_label(m),
                    findings: vec![f.title.clone()],
                }),
            }
        }
    }
    // Questionnaire order for questions, the mitigation list's order for mitigations.
    steps.answer.sort_by_key(|q| q.step.unwrap_or(usize::MAX));
    if let Some(q) = rulebook.question(contract::MITIGATIONS) {
        let position = |code: &str| q.options.iter().position(|c| c.value == code);
        steps.record.sort_by_key(|r| position(&r.code));
    }
    steps
}
