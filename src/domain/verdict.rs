//! The verdict engine: a pure function of (rulebook, answers, register match).
//!
//! Semantics (domain README, "Verdict semantics"): the verdict is the worst of the
//! baseline and every unresolved finding; unknown is not safe; mitigations resolve
//! only the orange findings they address and never lower the baseline.

use serde::{Deserialize, Serialize};

use super::answers::{AnswerValue, Answers};
use super::contract;
use super::rulebook::{
    BaselineWithoutSubArea, Colour, Condition, Question, QuestionKind, REGISTER_CONFLICT_PREFIX,
    Rulebook, UNKNOWN_CODE_PREFIX,
};

/// What the partner register says about an organisation named as the partner, as far
/// as the verdict cares. An evaluation may have several: one per organisation named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterHit {
    /// The register entry's name.
    pub entry: String,
    pub flags: Vec<String>,
    /// Where the flags come from, in words (all sources).
    pub source: String,
    /// The newest date among the flags.
    pub as_of: String,
    /// Found through a close spelling rather than an exact or normalised name.
    pub close: bool,
    /// The entry's stable id (empty in evaluations stored before ids existed).
    #[serde(default)]
    pub entry_id: String,
    /// A possible match: a person has to confirm that it is the same organisation
    /// before its flags count.
    #[serde(default)]
    pub possible: bool,
    /// How it was found, in words: which name matched which part of the typed name.
    #[serde(default)]
    pub why: String,
    /// Each flag with its own source, address and date.
    #[serde(default)]
    pub evidence: Vec<FlagEvidence>,
    /// The organisation it belongs to, when that one (or one above it) is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentHit>,
    /// What a person decided about this match for this case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityDecision>,
}

/// A flag with the evidence behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagEvidence {
    pub flag: String,
    pub source: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub detail: String,
}

/// A flagged organisation that the matched one belongs to (a campus's university).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentHit {
    pub entry_id: String,
    pub entry: String,
    pub flags: Vec<String>,
    pub evidence: Vec<FlagEvidence>,
}

/// A person's decision about a register match, for one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDecision {
    pub decision: Identity,
    /// Who decided, and when, in words.
    pub by: String,
    pub at: String,
    /// Required for a dismissal.
    #[serde(default)]
    pub reason: String,
}

/// What was decided about a register match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// The officer confirmed a possible match: its flags count.
    Same,
    /// The officer said a possible match is another organisation.
    Different,
    /// A reviewer dismissed a match, with a reason: its flags no longer count.
    Dismissed,
}

impl RegisterHit {
    /// Whether its flags count towards the verdict: a match nobody dismissed, or a
    /// possible match confirmed as the same organisation.
    pub fn counts(&self) -> bool {
        let decision = self.identity.as_ref().map(|d| d.decision);
        if self.possible {
            decision == Some(Identity::Same)
        } else {
            decision != Some(Identity::Dismissed)
        }
    }

    /// A possible match nobody has answered yet.
    pub fn awaits_answer(&self) -> bool {
        self.possible && self.identity.is_none()
    }

    /// A short summary that changes when the screening result changes: certainty,
    /// entry, and the flags that count (its own and its parent's).
    pub fn key(&self) -> String {
        let mut flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        if let Some(p) = &self.parent {
            flags.extend(p.flags.iter().map(|f| f.as_str()));
        }
        flags.sort_unstable();
        flags.dedup();
        let id = if self.entry_id.is_empty() {
            &self.entry
        } else {
            &self.entry_id
        };
        let certainty = if self.possible { "possible" } else { "match" };
        let decision = match self.identity.as_ref().map(|d| d.decision) {
            Some(Identity::Same) => "/same",
            Some(Identity::Different) => "/different",
            Some(Identity::Dismissed) => "/dismissed",
            None => "",
        };
        format!("{certainty}:{id}{decision}:{}", flags.join("+"))
    }
}

/// The screening summary of a set of register hits, compared to notice changes.
pub fn screening_key(hits: &[RegisterHit]) -> String {
    let mut keys: Vec<String> = hits.iter().map(RegisterHit::key).collect();
    keys.sort();
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(" ")
    }
}

/// One reason behind the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub severity: Colour,
    pub resolved: bool,
    /// The question id that triggered it.
    pub question: String,
    pub title: String,
    pub why: String,
    pub source: String,
    pub resolved_by: Vec<String>,
    /// What would resolve it, in words.
    pub remedy: String,
    /// What triggered it: the answers or register entry, in words.
    pub trigger: String,
    /// What would change: which mitigations are missing and what the verdict would become.
    pub hint: String,
    /// For a missing fact: the mitigations whose work would establish it (they never resolve it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub established_by: Vec<String>,
    /// Set when such a mitigation is ticked while the fact is still missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How much the project stands to gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenefitLevel {
    Low,
    Medium,
    High,
}

impl BenefitLevel {
    pub fn word(self) -> &'static str {
        match self {
            BenefitLevel::Low => "Low",
            BenefitLevel::Medium => "Medium",
            BenefitLevel::High => "High",
        }
    }
}

/// The benefit level with its reasons; benefits never change the colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benefits {
    pub level: BenefitLevel,
    pub reasons: Vec<String>,
}

/// The whole result of an evaluation, as stored with an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: Colour,
    pub baseline: Colour,
    /// Why the baseline has its colour.
    pub baseline_reason: String,
    pub rulebook_version: String,
    /// Red first, then orange; open before resolved; rulebook order within.
    pub findings: Vec<Finding>,
    pub benefits: Benefits,
    /// The research stage as worded in the rulebook, with its note.
    pub research_stage: Option<String>,
    pub register: Option<RegisterHit>,
    /// Further organisations named in the partner name, besides `register`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub register_also: Vec<RegisterHit>,
    /// What it would take to change the verdict, in sentences.
    pub outlook: Vec<String>,
}

impl Finding {
    /// A "not yet cleared" finding: a question left unknown or unanswered.
    pub fn is_uncleared(&self) -> bool {
        self.code.starts_with(UNCLEARED_PREFIX)
    }
}

/// The code prefix of "not yet cleared" findings, followed by the question id.
pub const UNCLEARED_PREFIX: &str = UNKNOWN_CODE_PREFIX;

impl Evaluation {
    pub fn open_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.resolved)
    }
    pub fn resolved_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.resolved)
    }
    /// How many findings are open, not yet cleared and resolved: the one count every page shows.
    pub fn counts(&self) -> FindingCounts {
        FindingCounts::of(self.findings.iter().map(|f| (f.is_uncleared(), f.resolved)))
    }
}

/// The findings of an evaluation counted the one way every page shows them: `open` is
/// every finding that still counts towards the verdict, the not-yet-cleared ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCounts {
    pub open: usize,
    /// Of the open ones, those about a fact not yet established.
    pub uncleared: usize,
    pub resolved: usize,
}

impl FindingCounts {
    /// Counts (uncleared, resolved) flags.
    pub fn of(findings: impl Iterator<Item = (bool, bool)>) -> Self {
        let mut counts = FindingCounts::default();
        for (uncleared, resolved) in findings {
            if resolved {
                counts.resolved += 1;
            } else {
                counts.open += 1;
                if uncleared {
                    counts.uncleared += 1;
                }
            }
        }
        counts
    }

    /// Open findings raised by an answer (not about a missing fact).
    pub fn raised(&self) -> usize {
        self.open - self.uncleared
    }

    /// "3 open findings (2 not yet cleared), 1 resolved by mitigations".
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} open finding{}",
            self.open,
            if self.open == 1 { "" } else { "s" }
        );
        if self.uncleared > 0 {
            text.push_str(&format!(" ({} not yet cleared)", self.uncleared));
        }
        text.push_str(&format!(", {} resolved by mitigations", self.resolved));
        text
    }
}

impl Evaluation {
    /// Every register hit of the evaluation, best first.
    pub fn register_hits(&self) -> Vec<RegisterHit> {
        self.register
            .iter()
            .chain(&self.register_also)
            .cloned()
            .collect()
    }
}

/// Evaluates answers with a rulebook and an optional register match.
pub fn evaluate(
    rulebook: &Rulebook,
    answers: &Answers,
    register: Option<&RegisterHit>,
) -> Evaluation {
    let hits: Vec<RegisterHit> = register.into_iter().cloned().collect();
    evaluate_screened(rulebook, answers, &hits)
}

/// Evaluates answers with a rulebook and every organisation screening found in the
/// partner name (best first).
pub fn evaluate_screened(
    rulebook: &Rulebook,
    answers: &Answers,
    register: &[RegisterHit],
) -> Evaluation {
    let answers = asked_answers(rulebook, answers);
    let (baseline, baseline_reason) = baseline(rulebook, &answers);
    let ctx = Context {
        rulebook,
        answers: &answers,
        register,
        baseline,
    };
    let mitigations = answers.list(contract::MITIGATIONS);

    let mut findings = Vec::new();
    for rule in rulebook.rules() {
        if let Some(triggers) = ctx.holds(&rule.when) {
            let question = triggers
                .iter()
                .find_map(|t| t.question.clone())
                .unwrap_or_else(|| rule.question.clone());
            findings.push(Finding {
                code: rule.code.clone(),
                severity: rule.severity,
                resolved: false,
                question,
                title: rule.title.clone(),
                why: rule.why.clone(),
                source: rule.source.clone(),
                resolved_by: rule.resolved_by.clone(),
                remedy: rule.remedy.clone(),
                trigger: join_triggers(&triggers),
                hint: String::new(),
                note: (!rule.established_by.is_empty())
                    .then(|| {
                        established_note(
                            rulebook,
                            &rule.established_by,
                            mitigations,
                            &format!("the fact is still missing ({})", join_triggers(&triggers)),
                        )
                    })
                    .flatten(),
                established_by: rule.established_by.clone(),
            });
        }
    }
    findings.extend(register_conflicts(&ctx));
    findings.extend(identity_findings(&ctx));
    findings.extend(parent_findings(&ctx));
    findings.extend(unknown_findings(&ctx));

    for f in &mut findings {
        f.resolved = f.severity == Colour::Orange
            && !f.resolved_by.is_empty()
            && f.resolved_by.iter().all(|m| mitigations.contains(m));
    }
    let verdict = findings
        .iter()
        .filter(|f| !f.resolved)
        .map(|f| f.severity)
        .fold(baseline, Colour::max);

    for i in 0..findings.len() {
        let without = findings
            .iter()
            .enumerate()
            .filter(|(j, f)| *j != i && !f.resolved)
            .map(|(_, f)| f.severity)
            .fold(baseline, Colour::max);
        findings[i].hint = hint(
            rulebook,
            &findings[i],
            mitigations,
            baseline,
            verdict,
            without,
        );
    }
    // Red before orange, open before resolved; the sort is stable, so rulebook order stays within.
    findings.sort_by_key(|f| (f.resolved, std::cmp::Reverse(f.severity)));

    let outlook = outlook(baseline, verdict, &findings);
    Evaluation {
        verdict,
        baseline,
        baseline_reason,
        rulebook_version: rulebook.version().to_owned(),
        benefits: benefits(rulebook, &answers),
        research_stage: research_stage(rulebook, &answers),
        register: register.first().cloned(),
        register_also: register.iter().skip(1).cloned().collect(),
        outlook,
        findings,
    }
}

/// Whether a question is asked, given the answers so far (branching).
pub fn is_asked(rulebook: &Rulebook, question: &Question, answers: &Answers) -> bool {
    match &question.asked_when {
        None => true,
        Some(cond) => Context {
            rulebook,
            answers,
            register: &[],
            baseline: baseline_colour(rulebook, answers),
        }
        .holds(cond)
        .is_some(),
    }
}

/// The answers without those to questions that branching does not ask: they raise nothing.
pub fn asked_answers(rulebook: &Rulebook, answers: &Answers) -> Answers {
    let mut kept = answers.clone();
    // Steps are in order and `asked_when` only looks back, so one pass suffices.
    for question in rulebook.steps().iter().flat_map(|s| s.questions.iter()) {
        if !is_asked(rulebook, question, &kept) {
            kept.set(&question.id, None);
        }
    }
    kept
}

/// The baseline colour alone, for conditions on it.
fn baseline_colour(rulebook: &Rulebook, answers: &Answers) -> Colour {
    if let Some((_, sub)) = answers
        .text(contract::SUB_AREA)
        .and_then(|s| rulebook.sub_area(s))
    {
        return sub.colour;
    }
    match answers.text(contract::AREA).and_then(|a| rulebook.area(a)) {
        Some(area) => area_baseline(rulebook, area),
        None => Colour::Orange,
    }
}

/// An area's baseline when no sub-area is chosen, as the rulebook's settings say.
fn area_baseline(rulebook: &Rulebook, area: &super::rulebook::Area) -> Colour {
    match rulebook.settings().baseline_without_sub_area {
        BaselineWithoutSubArea::AreaColour => area.colour,
        BaselineWithoutSubArea::WorstSubArea => area
            .sub_areas
            .iter()
            .map(|s| s.colour)
            .max()
            .unwrap_or(area.colour),
    }
}

fn baseline(rulebook: &Rulebook, answers: &Answers) -> (Colour, String) {
    let colour = baseline_colour(rulebook, answers);
    if let Some((area, sub)) = answers
        .text(contract::SUB_AREA)
        .and_then(|s| rulebook.sub_area(s))
    {
        let reason = format!(
            "The sub-area \u{201c}{}\u{201d} of {} is {} ({}).",
            sub.name,
            area.name,
            sub.colour.word(),
            area.source
        );
        return (sub.colour, reason);
    }
    if let Some(area) = answers.text(contract::AREA).and_then(|a| rulebook.area(a)) {
        let reason = match rulebook.settings().baseline_without_sub_area {
            BaselineWithoutSubArea::AreaColour => format!(
                "The area {} is {} ({}); no sub-area was chosen.",
                area.name,
                area.colour.word(),
                area.source
            ),
            BaselineWithoutSubArea::WorstSubArea => format!(
                "No sub-area was chosen, so the baseline is the worst colour among the sub-areas of {}: {} ({}). \
                 Choosing the sub-area gives the project its own baseline.",
                area.name,
                colour.word(),
                area.source
            ),
        };
        return (colour, reason);
    }
    (
        Colour::Orange,
        "No research area has been chosen yet, so the area cannot be cleared.".to_owned(),
    )
}

/// A piece of what made a condition hold.
struct Trigger {
    question: Option<String>,
    text: String,
}

struct Context<'a> {
    rulebook: &'a Rulebook,
    answers: &'a Answers,
    register: &'a [RegisterHit],
    baseline: Colour,
}

impl Context<'_> {
    /// `Some(triggers)` when the condition holds.
    fn holds(&self, cond: &Condition) -> Option<Vec<Trigger>> {
        match cond {
            Condition::Is { question, value } => (self.answers.text(question)
                == Some(value.as_str()))
            .then(|| vec![self.answered(question)]),
            Condition::OneOf { question, values } => self
                .answers
                .text(question)
                .is_some_and(|a| values.iter().any(|v| v == a))
                .then(|| vec![self.answered(question)]),
            Condition::Contains { question, value } => {
                self.answers.list(question).contains(value).then(|| {
                    let label = self.option_label(question, value);
                    vec![Trigger {
                        question: Some(question.clone()),
                        text: format!("{}: includes \u{201c}{label}\u{201d}", self.short(question)),
                    }]
                })
            }
            Condition::Unanswered(question) => (!self.answers.is_answered(question)).then(|| {
                vec![Trigger {
                    question: Some(question.clone()),
                    text: format!("{}: not answered", self.short(question)),
                }]
            }),
            Condition::RegisterFlag(flag) => {
                let label = self
                    .rulebook
                    .register_flags()
                    .iter()
                    .find(|f| &f.flag == flag)
                    .map_or(flag.as_str(), |f| f.label.as_str());
                let triggers: Vec<Trigger> = self
                    .register
                    .iter()
                    .filter(|h| h.counts())
                    .filter_map(|h| {
                        let text = if h.flags.contains(flag) {
                            register_text(h, flag, label)
                        } else {
                            let parent = h.parent.as_ref().filter(|p| p.flags.contains(flag))?;
                            parent_text(h, parent, flag, label)
                        };
                        Some(Trigger {
                            question: Some(contract::PARTNER_NAME.to_owned()),
                            text,
                        })
                    })
                    .collect();
                (!triggers.is_empty()).then_some(triggers)
            }
            Condition::DualUseSubArea(wanted) => {
                let sub = self
                    .answers
                    .text(contract::SUB_AREA)
                    .and_then(|s| self.rulebook.sub_area(s));
                let vulnerable = sub.is_some_and(|(_, s)| s.dual_use);
                (vulnerable == *wanted).then(|| match (sub, vulnerable) {
                    (Some((_, s)), true) => vec![Trigger {
                        question: None,
                        text: format!(
                            "the sub-area \u{201c}{}\u{201d} is vulnerable to dual use",
                            s.name
                        ),
                    }],
                    _ => Vec::new(),
                })
            }
            Condition::BaselineAtLeast(colour) => (self.baseline >= *colour).then(|| {
                vec![Trigger {
                    question: None,
                    text: format!("the baseline is {}", self.baseline.word()),
                }]
            }),
            Condition::Any(list) => {
                let mut found: Option<Vec<Trigger>> = None;
                for c in list {
                    if let Some(t) = self.holds(c) {
                        found.get_or_insert_with(Vec::new).extend(t);
                    }
                }
                found
            }
            Condition::All(list) => {
                let mut all = Vec::new();
                for c in list {
                    all.extend(self.holds(c)?);
                }
                Some(all)
            }
            Condition::Not(inner) => match self.holds(inner) {
                Some(_) => None,
                None => Some(Vec::new()),
            },
        }
    }

    fn answered(&self, question: &str) -> Trigger {
        let value = self.answers.text(question).unwrap_or_default();
        Trigger {
            question: Some(question.to_owned()),
            text: format!(
                "{}: {}",
                self.short(question),
                self.option_label(question, value)
            ),
        }
    }

    fn short(&self, question: &str) -> String {
        self.rulebook
            .question(question)
            .map_or_else(|| question.to_owned(), |q| q.short.clone())
    }

    fn option_label(&self, question: &str, value: &str) -> String {
        match self.rulebook.question(question) {
            Some(q) => self.rulebook.option_label(q, value),
            None => value.to_owned(),
        }
    }
}

fn register_text(hit: &RegisterHit, flag: &str, label: &str) -> String {
    let close = if hit.close {
        " (found through a close spelling)"
    } else {
        ""
    };
    let confirmed = if hit.possible {
        " (a possible match the officer confirmed)"
    } else {
        ""
    };
    format!(
        "Partner register: \u{201c}{}\u{201d}{close}{confirmed} is recorded for {label} ({})",
        hit.entry,
        evidence_text(&hit.evidence, flag, &hit.source, &hit.as_of)
    )
}

fn parent_text(hit: &RegisterHit, parent: &ParentHit, flag: &str, label: &str) -> String {
    format!(
        "Partner register: \u{201c}{}\u{201d} belongs to \u{201c}{}\u{201d}, which is recorded for {label} ({})",
        hit.entry,
        parent.entry,
        evidence_text(&parent.evidence, flag, "", "")
    )
}

/// "source: US Entity List, 2020-06-05, 85 FR 34495" for one flag, from its own
/// evidence where the register gives it.
fn evidence_text(evidence: &[FlagEvidence], flag: &str, source: &str, as_of: &str) -> String {
    let mine: Vec<String> = evidence
        .iter()
        .filter(|e| e.flag == flag)
        .map(|e| {
            let mut parts = vec![e.source.clone()];
            if !e.date.is_empty() {
                parts.push(format!("since {}", e.date));
            }
            if !e.url.is_empty() {
                parts.push(e.url.clone());
            }
            parts.join(", ")
        })
        .collect();
    if mine.is_empty() {
        format!("source: {source}; as of {as_of}")
    } else {
        format!("source: {}", mine.join("; "))
    }
}

fn join_triggers(triggers: &[Trigger]) -> String {
    let mut texts: Vec<&str> = Vec::new();
    for t in triggers {
        if !texts.contains(&t.text.as_str()) {
            texts.push(&t.text);
        }
    }
    texts.join("; ")
}

/// A register flag contradicted by a "no" answer is shown as a finding of its own.
fn register_conflicts(ctx: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for hit in ctx.register.iter().filter(|h| h.counts()) {
        for finding in register_conflicts_of(ctx, hit) {
            if !findings.iter().any(|f| f.code == finding.code) {
                findings.push(finding);
            }
        }
    }
    findings
}

fn register_conflicts_of(ctx: &Context, hit: &RegisterHit) -> Vec<Finding> {
    ctx.rulebook
        .register_flags()
        .iter()
        .filter(|f| hit.flags.contains(&f.flag) && ctx.answers.text(&f.question) == Some("no"))
        .map(|f| Finding {
            code: format!("{REGISTER_CONFLICT_PREFIX}{}", f.flag),
            severity: Colour::Orange,
            resolved: false,
            question: f.question.clone(),
            title: format!("Answer contradicts the partner register: {}", f.label),
            why: format!(
                "The answer says No, but the partner register records \u{201c}{}\u{201d} for {}. \
                 The register finding stands until the discrepancy is explained; an unexplained \
                 contradiction is itself a due-diligence gap.",
                hit.entry, f.label
            ),
            source: format!(
                "Partner register ({})",
                evidence_text(&hit.evidence, &f.flag, &hit.source, &hit.as_of)
            ),
            resolved_by: Vec::new(),
            remedy: "Check the partner's record against the register's source, then correct the \
                     answer or document for the reviewer why the entry does not apply."
                .to_owned(),
            trigger: format!(
                "{}: No; {}",
                ctx.short(&f.question),
                register_text(hit, &f.flag, &f.label)
            ),
            hint: String::new(),
            established_by: Vec::new(),
            note: None,
        })
        .collect()
}

/// A possible register match nobody has answered is a "not yet cleared" finding:
/// the officer has to say whether it is the same organisation.
fn identity_findings(ctx: &Context) -> Vec<Finding> {
    ctx.register
        .iter()
        .filter(|h| h.awaits_answer())
        .map(|hit| Finding {
            code: format!("{UNCLEARED_PREFIX}partner_identity"),
            severity: Colour::Orange,
            resolved: false,
            question: contract::PARTNER_NAME.to_owned(),
            title: format!("Not yet cleared: is the partner {}?", hit.entry),
            why: format!(
                "The partner name may name \u{201c}{}\u{201d}, which the partner register records{}. \
                 Until someone who knows the partner confirms or rules this out, the partner is not screened.",
                hit.entry,
                if hit.flags.is_empty() {
                    String::new()
                } else {
                    format!(" for {}", hit.flags.join(", ").replace('_', " "))
                }
            ),
            source: "Partner register; EU-KNOC 2021, section 2.1".to_owned(),
            resolved_by: Vec::new(),
            remedy: format!(
                "Answer \u{201c}Is this the same organisation?\u{201d} on the partner step: compare the partner's \
                 address, website and contract with the register entry \u{201c}{}\u{201d}.",
                hit.entry
            ),
            trigger: format!("Partner name: possible match. {}", hit.why),
            hint: String::new(),
            established_by: Vec::new(),
            note: None,
        })
        .take(1)
        .collect()
}

/// A campus, institute or subsidiary of a flagged organisation: its parent is listed.
fn parent_findings(ctx: &Context) -> Vec<Finding> {
    ctx.register
        .iter()
        .filter(|h| h.counts())
        .filter_map(|hit| {
            let parent = hit.parent.as_ref().filter(|p| !p.flags.is_empty())?;
            let labels: Vec<String> = parent
                .flags
                .iter()
                .map(|flag| {
                    ctx.rulebook
                        .register_flags()
                        .iter()
                        .find(|f| &f.flag == flag)
                        .map_or_else(|| flag.replace('_', " "), |f| f.label.clone())
                })
                .collect();
            Some(Finding {
                code: "register_parent_listed".to_owned(),
                severity: Colour::Orange,
                resolved: false,
                question: contract::PARTNER_NAME.to_owned(),
                title: format!("Its parent organisation is listed: {}", parent.entry),
                why: format!(
                    "\u{201c}{}\u{201d} belongs to \u{201c}{}\u{201d}, which the partner register records for {}. \
                     A campus, institute or subsidiary usually shares its parent's legal personality, laboratories \
                     and staff, so the parent's listing is taken to apply unless its own records show otherwise.",
                    hit.entry,
                    parent.entry,
                    join_words(&labels)
                ),
                source: format!(
                    "Partner register ({})",
                    parent
                        .flags
                        .iter()
                        .map(|f| evidence_text(&parent.evidence, f, "", ""))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                resolved_by: Vec::new(),
                remedy: "Ask the export-control officer whether the parent's listing covers this unit; only a \
                         reviewer can dismiss the match, with a written reason."
                    .to_owned(),
                trigger: format!("Partner register: {} is part of {}", hit.entry, parent.entry),
                hint: String::new(),
                established_by: Vec::new(),
                note: None,
            })
        })
        .take(1)
        .collect()
}

/// "Unknown is not safe": every question with an `unknown` rule that is asked and left
/// unknown or unanswered raises an orange "not yet cleared" finding.
fn unknown_findings(ctx: &Context) -> Vec<Finding> {
    let rulebook = ctx.rulebook;
    let mitigations = ctx.answers.list(contract::MITIGATIONS);
    let mut findings = Vec::new();
    for question in rulebook.steps().iter().flat_map(|s| s.questions.iter()) {
        let Some(rule) = &question.unknown else {
            continue;
        };
        if !is_asked(rulebook, question, ctx.answers) {
            continue;
        }
        let (state, still) = match ctx.answers.get(&question.id) {
            Some(AnswerValue::Text(v))
                if v == "unknown"
                    && matches!(question.kind, QuestionKind::Yn | QuestionKind::One) =>
            {
                let label = rulebook.option_label(question, v);
                (
                    format!("{}: {label}", question.short),
                    format!("the answer is still \u{201c}{label}\u{201d}"),
                )
            }
            Some(AnswerValue::Many(list))
                if rule.option.as_ref().is_some_and(|o| list.contains(o)) =>
            {
                let label = rule
                    .option
                    .as_deref()
                    .map(|o| rulebook.option_label(question, o))
                    .unwrap_or_default();
                (
                    format!("{}: includes \u{201c}{label}\u{201d}", question.short),
                    format!("the answer still includes \u{201c}{label}\u{201d}"),
                )
            }
            _ if !ctx.answers.is_answered(&question.id) => (
                format!("{}: not answered", question.short),
                "the question is still unanswered".to_owned(),
            ),
            _ => continue,
        };
        let remedy = if !rule.established_by.is_empty() {
            let labels: Vec<String> = rule
                .established_by
                .iter()
                .map(|m| rulebook.mitigation_label(m))
                .collect();
            format!(
                "Find out and answer: {} {} can establish the fact, but only the answer clears this finding.",
                question.label,
                join_words(&labels)
            )
        } else if rule.resolved_by.is_empty() {
            format!("Find out and answer: {}", question.label)
        } else {
            let labels: Vec<String> = rule
                .resolved_by
                .iter()
                .map(|m| rulebook.mitigation_label(m))
                .collect();
            format!(
                "Find out and answer: {} Until then, recording {} establishes the fact.",
                question.label,
                join_words(&labels)
            )
        };
        findings.push(Finding {
            code: format!("{UNCLEARED_PREFIX}{}", question.id),
            severity: Colour::Orange,
            resolved: false,
            question: question.id.clone(),
            title: format!("Not yet cleared: {}", question.short),
            why: rule.why.clone(),
            source: rule.source.clone(),
            resolved_by: rule.resolved_by.clone(),
            remedy,
            note: established_note(rulebook, &rule.established_by, mitigations, &still),
            trigger: state,
            hint: String::new(),
            established_by: rule.established_by.clone(),
        });
    }
    findings
}

/// "Partner and affiliation screening is ticked but the answer is still Don't know: record
/// what it found." A ticked mitigation that would establish a missing fact does not clear it.
fn established_note(
    rulebook: &Rulebook,
    established_by: &[String],
    mitigations: &[String],
    still: &str,
) -> Option<String> {
    let ticked: Vec<String> = established_by
        .iter()
        .filter(|m| mitigations.contains(m))
        .map(|m| rulebook.mitigation_label(m))
        .collect();
    if ticked.is_empty() {
        return None;
    }
    let (verb, pronoun) = if ticked.len() == 1 {
        ("is", "it")
    } else {
        ("are", "they")
    };
    Some(format!(
        "{} {verb} ticked but {still}: record what {pronoun} found.",
        join_words(&ticked)
    ))
}

fn hint(
    rulebook: &Rulebook,
    f: &Finding,
    mitigations: &[String],
    baseline: Colour,
    verdict: Colour,
    without: Colour,
) -> String {
    if f.resolved {
        let labels: Vec<String> = f
            .resolved_by
            .iter()
            .map(|m| rulebook.mitigation_label(m))
            .collect();
        return format!(
            "Resolved by {}; it no longer counts towards the verdict.",
            join_words(&labels)
        );
    }
    let effect = if without < verdict {
        format!(" Without it the verdict would be {}.", without.word())
    } else if baseline >= verdict {
        format!(
            " The area's baseline keeps the verdict {} in any case.",
            verdict.word()
        )
    } else if f.severity == verdict {
        format!(" Other findings also keep the verdict {}.", verdict.word())
    } else {
        String::new()
    };
    match f.severity {
        Colour::Red => format!(
            "No mitigation lowers a red finding; only a change in the facts removes it.{effect}"
        ),
        _ if f.resolved_by.is_empty() => {
            format!(
                "No mitigation resolves this finding; it changes only when the underlying answer does.{effect}"
            )
        }
        _ => {
            let missing: Vec<String> = f
                .resolved_by
                .iter()
                .filter(|m| !mitigations.contains(m))
                .map(|m| rulebook.mitigation_label(m))
                .collect();
            format!(
                "Recording {} would resolve it.{effect}",
                join_words(&missing)
            )
        }
    }
}

fn outlook(baseline: Colour, verdict: Colour, findings: &[Finding]) -> Vec<String> {
    let open_red = findings
        .iter()
        .filter(|f| !f.resolved && f.severity == Colour::Red)
        .count();
    let open_orange = findings
        .iter()
        .filter(|f| !f.resolved && f.severity == Colour::Orange)
        .count();
    let resolvable = findings
        .iter()
        .filter(|f| !f.resolved && f.severity == Colour::Orange && !f.resolved_by.is_empty())
        .count();
    let mut lines = Vec::new();
    match baseline {
        Colour::Red => lines.push(
            "The research area itself is Red: collaboration is not recommended in general, whatever the answers."
                .to_owned(),
        ),
        Colour::Orange => lines.push(
            "The research area is Orange: an in-depth risk-benefit assessment is required, so the verdict \
             cannot be better than Orange."
                .to_owned(),
        ),
        Colour::Green => {}
    }
    if open_red > 0 {
        lines.push(format!(
            "{open_red} red finding{} make{} the verdict Red; mitigations do not lower {}.",
            plural(open_red),
            if open_red == 1 { "s" } else { "" },
            if open_red == 1 { "it" } else { "them" }
        ));
    }
    if open_orange > 0 && verdict == Colour::Orange && baseline == Colour::Green {
        lines.push(format!(
            "{open_orange} open orange finding{} keep{} the verdict from Green; {resolvable} of them can be resolved by mitigations.",
            plural(open_orange),
            if open_orange == 1 { "s" } else { "" }
        ));
    }
    if verdict == Colour::Green {
        lines.push(
            "Every caveat raised by the answers is handled. Green still means the project is assessed on its \
             own merits, not that it is risk-free."
                .to_owned(),
        );
    }
    lines
}

fn benefits(rulebook: &Rulebook, answers: &Answers) -> Benefits {
    let mut chosen: Vec<String> = answers.list(contract::BENEFITS).to_vec();
    let mut reasons: Vec<String> = Vec::new();
    if let Some(question) = rulebook.question(contract::BENEFITS) {
        for choice in &question.options {
            if chosen.contains(&choice.value) {
                reasons.push(match &choice.help {
                    Some(help) => format!("{}: {}", choice.label, help),
                    None => choice.label.clone(),
                });
            }
        }
    }
    let agenda_sub_area = answers
        .text(contract::SUB_AREA)
        .and_then(|s| rulebook.sub_area(s))
        .filter(|(_, s)| s.strategic_agenda);
    if let Some((_, sub)) = agenda_sub_area
        && !chosen.iter().any(|c| c == contract::STRATEGIC_AGENDA_TOPIC)
    {
        chosen.push(contract::STRATEGIC_AGENDA_TOPIC.to_owned());
        reasons.push(format!(
            "{} ({})",
            rulebook.benefit_levels().agenda_reason,
            sub.name
        ));
    }
    let levels = rulebook.benefit_levels();
    let level = match chosen.len() {
        n if n >= levels.high_at => BenefitLevel::High,
        n if n >= levels.medium_at => BenefitLevel::Medium,
        _ => BenefitLevel::Low,
    };
    Benefits { level, reasons }
}

fn research_stage(rulebook: &Rulebook, answers: &Answers) -> Option<String> {
    let value = answers.text(contract::RESEARCH_STAGE)?;
    let question = rulebook.question(contract::RESEARCH_STAGE)?;
    let choice = question.options.iter().find(|c| c.value == value)?;
    Some(match &choice.help {
        Some(help) => format!("{}. {}", choice.label, help),
        None => choice.label.clone(),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "a", "a and b", "a, b and c".
pub fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
