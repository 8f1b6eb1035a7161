//! Whether a changed answer made a case riskier or safer: the worst open finding the
//! question raises, before and after. Used to colour "what changed" by risk rather than
//! by novelty (a new answer is not good news by itself).

use super::rulebook::Colour;
use super::verdict::Evaluation;

/// How a changed answer moved the risk of its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskChange {
    /// An open finding appeared or got more severe.
    Worse,
    /// An open finding went away or got less severe.
    Better,
    /// The findings of the question are as severe as before.
    Same,
}

impl RiskChange {
    /// The word shown beside the change (never colour alone).
    pub fn word(self) -> &'static str {
        match self {
            RiskChange::Worse => "Riskier",
            RiskChange::Better => "Safer",
            RiskChange::Same => "Same risk",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            RiskChange::Worse => "worse",
            RiskChange::Better => "better",
            RiskChange::Same => "same",
        }
    }
}

/// The most severe open finding a question raises, if any.
fn worst_open(e: &Evaluation, question: &str) -> Option<Colour> {
    e.findings
        .iter()
        .filter(|f| f.question == question && !f.resolved)
        .map(|f| f.severity)
        .max()
}

/// How the answer to `question` moved its risk from `before` to `after`.
pub fn rate(question: &str, before: &Evaluation, after: &Evaluation) -> RiskChange {
    match (worst_open(before, question), worst_open(after, question)) {
        (b, a) if a > b => RiskChange::Worse,
        (b, a) if a < b => RiskChange::Better,
        _ => RiskChange::Same,
    }
}
