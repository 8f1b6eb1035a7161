//! The rulebook: every area, sub-area, step, question, option, rule and help text
//! of the questionnaire, as versioned data. Parsed from TOML and validated once at
//! start-up, so the rest of the program can rely on its cross-references.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::contract;

/// A traffic-light colour. The order matters: `Green < Orange < Red`, so the
/// verdict is simply the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Green,
    Orange,
    Red,
}

impl Colour {
    /// The lowercase code used in JSON, CSS classes and the database.
    pub fn code(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Orange => "orange",
            Colour::Red => "red",
        }
    }

    /// The word shown to people, so colour is never the only signal.
    pub fn word(self) -> &'static str {
        match self {
            Colour::Green => "Green",
            Colour::Orange => "Orange",
            Colour::Red => "Red",
        }
    }

    /// Parses the lowercase code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "green" => Some(Colour::Green),
            "orange" => Some(Colour::Orange),
            "red" => Some(Colour::Red),
            _ => None,
        }
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// The kind of answer a question takes (see `questionnaire.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// `"yes" | "no" | "unknown"`.
    Yn,
    /// One option value.
    One,
    /// A list of option values.
    Many,
    /// Free text.
    Text,
}

/// The options of a yes/no question, in display order.
pub const YN_OPTIONS: [(&str, &str); 3] = [("yes", "Yes"), ("no", "No"), ("unknown", "Don't know")];

/// A research area of the paper's section 2.2 with its baseline colour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub colour: Colour,
    /// Where the paper discusses it, e.g. "EU-KNOC 2021, section 2.2, area 1".
    pub source: String,
    pub summary: String,
    #[serde(default)]
    pub caveats: Vec<String>,
    #[serde(default)]
    pub opportunities: Vec<String>,
    pub sub_areas: Vec<SubArea>,
}

/// A sub-area; its colour is the baseline of the verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubArea {
    pub code: String,
    pub name: String,
    pub colour: Colour,
    /// Vulnerable to dual use (marked `*` in the catalogue).
    #[serde(default)]
    pub dual_use: bool,
    /// Named in the EU-China 2020 Strategic Agenda: counts as a benefit by itself.
    #[serde(default)]
    pub strategic_agenda: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One page of the wizard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub intro: String,
    pub questions: Vec<Question>,
}

/// Where a `one` or `many` question takes its options from when they are not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionsFrom {
    Areas,
    SubAreas,
}

/// A question of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    pub label: String,
    /// A few words for titles and tables ("Military links").
    pub short: String,
    pub help: String,
    /// How the officer finds the answer: whom to ask, what to look for and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// The section of the paper or the law the question rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Explicit options for `one` and `many`; `yn` options are implicit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_from: Option<OptionsFrom>,
    /// Branching: the question is asked only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_when: Option<Condition>,
    /// "Unknown is not safe": an unknown or missing answer raises an orange finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<UnknownRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

/// An option of a `one` or `many` question.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// An option that cannot be combined with others in a `many` answer ("none").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclusive: bool,
}

/// The "not yet cleared" finding of a question left unknown or unanswered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownRule {
    /// Mitigations that, all present, resolve the finding (revision 1). Revision 2 leaves
    /// it empty: no mitigation stands in for a missing fact.
    #[serde(default)]
    pub resolved_by: Vec<String>,
    /// Mitigations whose work would establish the fact. They never resolve the finding;
    /// when one is ticked while the answer is still unknown, the finding says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub established_by: Vec<String>,
    /// For a `many` question: the option meaning "not known"; a list containing it counts
    /// as unknown, like an empty list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    pub why: String,
    pub source: String,
}

/// A rule raising a finding when its condition holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub code: String,
    pub severity: Colour,
    /// The question that triggers it, for the explanation and the API.
    pub question: String,
    pub when: Condition,
    /// Mitigations that, all present, resolve an orange finding. Red findings have none.
    #[serde(default)]
    pub resolved_by: Vec<String>,
    /// For a finding about a missing fact: mitigations whose work would establish it
    /// (never resolving it), pointed out when ticked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub established_by: Vec<String>,
    pub title: String,
    pub why: String,
    pub source: String,
    /// What would resolve it, in words.
    pub remedy: String,
}

/// A register flag and the question whose answer it corroborates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterFlag {
    pub flag: String,
    pub label: String,
    /// The yes/no question the flag answers "yes" to; a "no" there is a conflict.
    pub question: String,
}

/// A condition over the answers, the sub-area and the partner-register match.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The answer equals the value.
    Is {
        question: String,
        value: String,
    },
    /// The answer is one of the values.
    OneOf {
        question: String,
        values: Vec<String>,
    },
    /// A `many` answer contains the value.
    Contains {
        question: String,
        value: String,
    },
    /// The question has no answer (missing, blank text or empty list).
    Unanswered(String),
    /// The matched register entry carries the flag.
    RegisterFlag(String),
    /// The chosen sub-area is marked vulnerable to dual use.
    DualUseSubArea(bool),
    /// The baseline of the verdict is at least this colour.
    BaselineAtLeast(Colour),
    Any(Vec<Condition>),
    All(Vec<Condition>),
    Not(Box<Condition>),
}

/// Benefit thresholds: `high` with at least `high_at` benefits, `medium` with at least `medium_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitLevels {
    pub high_at: usize,
    pub medium_at: usize,
    /// The reason given when the sub-area itself is on the Strategic Agenda.
    pub agenda_reason: String,
}

/// Where the baseline comes from when no sub-area is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineWithoutSubArea {
    /// The area's own colour (revision 1).
    #[default]
    AreaColour,
    /// The worst colour among the area's sub-areas; the `sub_area` question's `unknown`
    /// rule then makes the missing sub-area a "not yet cleared" finding.
    WorstSubArea,
}

/// Engine behaviour a rulebook chooses explicitly, so that older versions keep theirs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub baseline_without_sub_area: BaselineWithoutSubArea,
}

fn first_revision() -> u8 {
    1
}

/// The rulebook as written in the TOML file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulebookData {
    /// A short slug, part of the version ("eu-knoc-2021").
    pub name: String,
    pub title: String,
    pub description: String,
    /// The revision of the stable contract (questionnaire.md) the rulebook follows.
    #[serde(default = "first_revision")]
    pub contract: u8,
    #[serde(default)]
    pub settings: Settings,
    pub benefit_levels: BenefitLevels,
    pub areas: Vec<Area>,
    pub steps: Vec<Step>,
    pub register_flags: Vec<RegisterFlag>,
    pub rules: Vec<Rule>,
}

/// A validated rulebook with its version and lookup indexes.
#[derive(Debug, Clone)]
pub struct Rulebook {
    data: RulebookData,
    version: String,
    content_hash: String,
    source_text: String,
    questions: HashMap<String, (usize, usize)>,
    sub_areas: HashMap<String, (usize, usize)>,
}

/// Everything wrong with a rulebook, each line naming the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rulebook is invalid:\n  - {}", .problems.join("\n  - "))]
pub struct RulebookError {
    pub problems: Vec<String>,
}

impl Rulebook {
    /// Parses and validates a rulebook; the version is its name plus a content hash.
    pub fn parse(source_text: &str) -> Result<Self, RulebookError> {
        let data: RulebookData = toml::from_str(source_text).map_err(|e| RulebookError {
            problems: vec![format!("TOML: {e}")],
        })?;
        let content_hash = hex(&Sha256::digest(source_text.as_bytes()));
        let version = format!("{}@{}", data.name, &content_hash[..12]);
        let mut questions = HashMap::new();
        for (s, step) in data.steps.iter().enumerate() {
            for (q, question) in step.questions.iter().enumerate() {
                questions.entry(question.id.clone()).or_insert((s, q));
            }
        }
        let mut sub_areas = HashMap::new();
        for (a, area) in data.areas.iter().enumerate() {
            for (s, sub) in area.sub_areas.iter().enumerate() {
                sub_areas.entry(sub.code.clone()).or_insert((a, s));
            }
        }
        let rulebook = Rulebook {
            data,
            version,
            content_hash,
            source_text: source_text.to_owned(),
            questions,
            sub_areas,
        };
        let problems = rulebook.problems();
        if problems.is_empty() {
            Ok(rulebook)
        } else {
            Err(RulebookError { problems })
        }
    }

    /// `name@hash`, recorded with every assessment.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// SHA-256 of the TOML text, hex.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }
    /// The TOML text, stored so an old version can be reloaded exactly.
    pub fn source_text(&self) -> &str {
        &self.source_text
    }
    pub fn name(&self) -> &str {
        &self.data.name
    }
    pub fn title(&self) -> &str {
        &self.data.title
    }
    pub fn description(&self) -> &str {
        &self.data.description
    }
    pub fn data(&self) -> &RulebookData {
        &self.data
    }
    pub fn areas(&self) -> &[Area] {
        &self.data.areas
    }
    pub fn steps(&self) -> &[Step] {
        &self.data.steps
    }
    pub fn rules(&self) -> &[Rule] {
        &self.data.rules
    }
    pub fn register_flags(&self) -> &[RegisterFlag] {
        &self.data.register_flags
    }
    pub fn benefit_levels(&self) -> &BenefitLevels {
        &self.data.benefit_levels
    }
    pub fn settings(&self) -> &Settings {
        &self.data.settings
    }

    /// Whether some mitigation resolves a "not yet cleared" finding (revision 1 lets a
    /// screening do so; revision 2 lets only an answer clear a missing fact).
    pub fn mitigations_resolve_unknowns(&self) -> bool {
        self.steps()
            .iter()
            .flat_map(|s| &s.questions)
            .filter_map(|q| q.unknown.as_ref())
            .any(|u| !u.resolved_by.is_empty())
            || self
                .rules()
                .iter()
                .any(|r| r.code.starts_with(UNKNOWN_CODE_PREFIX) && !r.resolved_by.is_empty())
    }

    pub fn area(&self, code: &str) -> Option<&Area> {
        self.data.areas.iter().find(|a| a.code == code)
    }

    /// A sub-area with the area it belongs to.
    pub fn sub_area(&self, code: &str) -> Option<(&Area, &SubArea)> {
        let &(a, s) = self.sub_areas.get(code)?;
        let area = &self.data.areas[a];
        Some((area, &area.sub_areas[s]))
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        let &(s, q) = self.questions.get(id)?;
        Some(&self.data.steps[s].questions[q])
    }

    /// The index of the step that asks a question.
    pub fn step_of(&self, id: &str) -> Option<usize> {
        self.questions.get(id).map(|&(s, _)| s)
    }

    /// The options of a `one` or `many` question as (value, label) pairs, in order.
    pub fn options(&self, question: &Question) -> Vec<(String, String)> {
        match (question.kind, question.options_from) {
            (QuestionKind::Yn, _) => YN_OPTIONS
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect(),
            (_, Some(OptionsFrom::Areas)) => self
                .data
                .areas
                .iter()
                .map(|a| (a.code.clone(), a.name.clone()))
                .collect(),
            (_, Some(OptionsFrom::SubAreas)) => self
                .data
                .areas
                .iter()
                .flat_map(|a| a.sub_areas.iter())
                .map(|s| (s.code.clone(), s.name.clone()))
                .collect(),
            _ => question
                .options
                .iter()
                .map(|c| (c.value.clone(), c.label.clone()))
                .collect(),
        }
    }

    /// Whether a value is a valid option of the question.
    pub fn has_option(&self, question: &Question, value: &str) -> bool {
        match (question.kind, question.options_from) {
            (QuestionKind::Yn, _) => YN_OPTIONS.iter().any(|(v, _)| *v == value),
            (_, Some(OptionsFrom::Areas)) => self.area(value).is_some(),
            (_, Some(OptionsFrom::SubAreas)) => self.sub_area(value).is_some(),
            _ => question.options.iter().any(|c| c.value == value),
        }
    }

    /// The label of an option, or the value itself when unknown.
    pub fn option_label(&self, question: &Question, value: &str) -> String {
        match (question.kind, question.options_from) {
            (QuestionKind::Yn, _) => YN_OPTIONS
                .iter()
                .find(|(v, _)| *v == value)
                .map(|(_, l)| (*l).to_owned()),
            (_, Some(OptionsFrom::Areas)) => self.area(value).map(|a| a.name.clone()),
            (_, Some(OptionsFrom::SubAreas)) => self.sub_area(value).map(|(_, s)| s.name.clone()),
            _ => question
                .options
                .iter()
                .find(|c| c.value == value)
                .map(|c| c.label.clone()),
        }
        .unwrap_or_else(|| value.to_owned())
    }

    /// The label of a mitigation value.
    pub fn mitigation_label(&self, value: &str) -> String {
        match self.question(contract::MITIGATIONS) {
            Some(q) => self.option_label(q, value),
            None => value.to_owned(),
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let data = &self.data;
        if data.name.trim().is_empty()
            || !data
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            problems.push(format!(
                "name `{}`: must be a non-empty slug of letters, digits and dashes",
                data.name
            ));
        }
        let lv = &data.benefit_levels;
        if lv.medium_at == 0 || lv.high_at <= lv.medium_at {
            problems.push("benefit_levels: need 0 < medium_at < high_at".to_owned());
        }

        check_unique(
            &mut problems,
            "area",
            data.areas.iter().map(|a| a.code.as_str()),
        );
        check_unique(
            &mut problems,
            "sub-area",
            data.areas
                .iter()
                .flat_map(|a| a.sub_areas.iter())
                .map(|s| s.code.as_str()),
        );
        check_unique(
            &mut problems,
            "step",
            data.steps.iter().map(|s| s.id.as_str()),
        );
        check_unique(
            &mut problems,
            "question",
            data.steps
                .iter()
                .flat_map(|s| s.questions.iter())
                .map(|q| q.id.as_str()),
        );
        check_unique(
            &mut problems,
            "rule",
            data.rules.iter().map(|r| r.code.as_str()),
        );
        check_unique(
            &mut problems,
            "register flag",
            data.register_flags.iter().map(|f| f.flag.as_str()),
        );
        for area in &data.areas {
            if area.sub_areas.is_empty() {
                problems.push(format!("area `{}`: has no sub-areas", area.code));
            }
        }

        // The stable contract of questionnaire.md: ids, kinds and option values.
        if !(1..=contract::LATEST_REVISION).contains(&data.contract) {
            problems.push(format!(
                "contract = {}: this program knows contract revisions 1 to {}",
                data.contract,
                contract::LATEST_REVISION
            ));
        }
        for expected in contract::questions_at(data.contract) {
            let Some(q) = self.question(expected.id) else {
                problems.push(format!(
                    "question `{}`: missing (it is part of the stable contract)",
                    expected.id
                ));
                continue;
            };
            if q.kind != expected.kind {
                problems.push(format!(
                    "question `{}`: kind must be {:?}",
                    q.id, expected.kind
                ));
            }
            let expected_options = expected.options_at(data.contract);
            if !expected_options.is_empty() {
                let have: Vec<&str> = q.options.iter().map(|c| c.value.as_str()).collect();
                let mut missing: Vec<&str> = expected_options
                    .iter()
                    .copied()
                    .filter(|o| !have.contains(o))
                    .collect();
                let mut extra: Vec<&str> = have
                    .iter()
                    .copied()
                    .filter(|o| !expected_options.contains(o))
                    .collect();
                missing.sort_unstable();
                extra.sort_unstable();
                if !missing.is_empty() || !extra.is_empty() {
                    problems.push(format!(
                        "question `{}`: options must be exactly the contract's (missing: {:?}, not in the contract: {:?})",
                        q.id, missing, extra
                    ));
                }
            }
        }
        for expected in contract::AREAS {
            match self.area(expected.0) {
                None => problems.push(format!(
                    "area `{}`: missing (it is part of the stable contract)",
                    expected.0
                )),
                Some(area) => {
                    let have: HashSet<&str> =
                        area.sub_areas.iter().map(|s| s.code.as_str()).collect();
                    let want: HashSet<&str> = expected.1.iter().copied().collect();
                    if have != want {
                        let mut missing: Vec<_> = want.difference(&have).collect();
                        let mut extra: Vec<_> = have.difference(&want).collect();
                        missing.sort();
                        extra.sort();
                        problems.push(format!(
                            "area `{}`: sub-areas must be exactly the contract's (missing: {missing:?}, not in the contract: {extra:?})",
                            area.code
                        ));
                    }
                }
            }
        }

        let mitigations: HashSet<&str> = self
            .question(contract::MITIGATIONS)
            .map(|q| q.options.iter().map(|c| c.value.as_str()).collect())
            .unwrap_or_default();
        let mut seen_questions: HashSet<&str> = HashSet::new();
        for step in &data.steps {
            if step.questions.is_empty() {
                problems.push(format!("step `{}`: has no questions", step.id));
            }
            for q in &step.questions {
                let at = format!("question `{}`", q.id);
                match (q.kind, q.options_from, q.options.is_empty()) {
                    (QuestionKind::Yn | QuestionKind::Text, None, true) => {}
                    (QuestionKind::Yn | QuestionKind::Text, _, _) => {
                        problems.push(format!("{at}: a {:?} question takes no options", q.kind))
                    }
                    (QuestionKind::One | QuestionKind::Many, Some(_), true) => {}
                    (QuestionKind::One | QuestionKind::Many, None, false) => {}
                    (QuestionKind::One | QuestionKind::Many, Some(_), false) => {
                        problems.push(format!("{at}: has both options and options_from"))
                    }
                    (QuestionKind::One | QuestionKind::Many, None, true) => {
                        problems.push(format!("{at}: has no options"))
                    }
                }
                check_unique(
                    &mut problems,
                    &format!("{at} option"),
                    q.options.iter().map(|c| c.value.as_str()),
                );
                if q.kind != QuestionKind::Many && q.options.iter().any(|c| c.exclusive) {
                    problems.push(format!(
                        "{at}: only a `many` question can have an exclusive option"
                    ));
                }
                if let Some(cond) = &q.asked_when {
                    // Branching may only look back, so a page never depends on a later one.
                    for id in cond.questions() {
                        if !seen_questions.contains(id) {
                            problems.push(format!(
                                "{at}: asked_when refers to `{id}`, which is not asked before it"
                            ));
                        }
                    }
                    self.check_condition(&mut problems, &at, cond);
                }
                if let Some(unknown) = &q.unknown {
                    check_mitigations(
                        &mut problems,
                        &at,
                        "unknown.",
                        &mitigations,
                        &unknown.resolved_by,
                        &unknown.established_by,
                    );
                    match (&unknown.option, q.kind) {
                        (None, _) => {}
                        (Some(o), QuestionKind::Many) => {
                            if !q.options.iter().any(|c| &c.value == o) {
                                problems.push(format!(
                                    "{at}: unknown.option `{o}` is not an option of the question"
                                ));
                            }
                        }
                        (Some(_), _) => problems.push(format!(
                            "{at}: unknown.option applies to `many` questions only"
                        )),
                    }
                }
                seen_questions.insert(&q.id);
            }
        }

        for flag in &data.register_flags {
            match self.question(&flag.question) {
                Some(q) if q.kind == QuestionKind::Yn => {}
                _ => problems.push(format!(
                    "register flag `{}`: `{}` is not a yes/no question",
                    flag.flag, flag.question
                )),
            }
        }

        for rule in &data.rules {
            let at = format!("rule `{}`", rule.code);
            if self.question(&rule.question).is_none() {
                problems.push(format!("{at}: question `{}` does not exist", rule.question));
            }
            if rule.severity == Colour::Green {
                problems.push(format!("{at}: severity must be orange or red"));
            }
            if rule.severity == Colour::Red
                && !(rule.resolved_by.is_empty() && rule.established_by.is_empty())
            {
                problems.push(format!(
                    "{at}: a red finding is never resolved or established by mitigations"
                ));
            }
            check_mitigations(
                &mut problems,
                &at,
                "",
                &mitigations,
                &rule.resolved_by,
                &rule.established_by,
            );
            // Codes the engine generates itself must stay unambiguous.
            if let Some(id) = rule.code.strip_prefix(UNKNOWN_CODE_PREFIX)
                && self.question(id).is_some_and(|q| q.unknown.is_some())
            {
                problems.push(format!(
                        "{at}: the code is the one of question `{id}`'s own unknown rule; choose another"
                    ));
            }
            if rule.code.starts_with(REGISTER_CONFLICT_PREFIX) {
                problems.push(format!(
                    "{at}: codes starting with `{REGISTER_CONFLICT_PREFIX}` are reserved for register conflicts"
                ));
            }
            self.check_condition(&mut problems, &at, &rule.when);
        }

        if data.settings.baseline_without_sub_area == BaselineWithoutSubArea::WorstSubArea
            && self
                .question(contract::SUB_AREA)
                .is_none_or(|q| q.unknown.is_none())
        {
            problems.push(format!(
                "settings.baseline_without_sub_area = \"worst_sub_area\": question `{}` needs an [unknown] rule, so that a missing sub-area is not yet cleared",
                contract::SUB_AREA
            ));
        }
        problems
    }

    fn check_condition(&self, problems: &mut Vec<String>, at: &str, cond: &Condition) {
        let check_value = |problems: &mut Vec<String>, question: &str, value: &str| match self
            .question(question)
        {
            None => problems.push(format!(
                "{at}: condition refers to unknown question `{question}`"
            )),
            Some(q) if !self.has_option(q, value) => {
                problems.push(format!("{at}: `{value}` is not an option of `{question}`"))
            }
            Some(_) => {}
        };
        match cond {
            Condition::Is { question, value } => check_value(problems, question, value),
            Condition::OneOf { question, values } => {
                for v in values {
                    check_value(problems, question, v);
                }
            }
            Condition::Contains { question, value } => {
                if self
                    .question(question)
                    .is_some_and(|q| q.kind != QuestionKind::Many)
                {
                    problems.push(format!(
                        "{at}: `contains` needs a `many` question, `{question}` is not"
                    ));
                }
                check_value(problems, question, value)
            }
            Condition::Unanswered(question) => {
                if self.question(question).is_none() {
                    problems.push(format!(
                        "{at}: condition refers to unknown question `{question}`"
                    ));
                }
            }
            Condition::RegisterFlag(flag) => {
                if !self.data.register_flags.iter().any(|f| &f.flag == flag) {
                    problems.push(format!(
                        "{at}: register flag `{flag}` is not declared in register_flags"
                    ));
                }
            }
            Condition::DualUseSubArea(_) => {}
            Condition::BaselineAtLeast(colour) => {
                if *colour == Colour::Green {
                    problems.push(format!(
                        "{at}: `baseline_at_least = \"green\"` always holds; use orange or red"
                    ));
                }
            }
            Condition::Any(list) | Condition::All(list) => {
                if list.is_empty() {
                    problems.push(format!("{at}: an empty any/all list"));
                }
                for c in list {
                    self.check_condition(problems, at, c);
                }
            }
            Condition::Not(inner) => self.check_condition(problems, at, inner),
        }
    }
}

impl Condition {
    /// The question ids the condition reads.
    pub fn questions(&self) -> Vec<&str> {
        match self {
            Condition::Is { question, .. }
            | Condition::OneOf { question, .. }
            | Condition::Contains { question, .. }
            | Condition::Unanswered(question) => vec![question.as_str()],
            Condition::RegisterFlag(_) => vec![contract::PARTNER_NAME],
            Condition::DualUseSubArea(_) => vec![contract::SUB_AREA],
            Condition::BaselineAtLeast(_) => vec![contract::AREA, contract::SUB_AREA],
            Condition::Any(list) | Condition::All(list) => {
                list.iter().flat_map(|c| c.questions()).collect()
            }
            Condition::Not(inner) => inner.questions(),
        }
    }
}

/// The code prefix of "not yet cleared" findings, followed by the question id.
pub const UNKNOWN_CODE_PREFIX: &str = "unknown_";
/// The code prefix of findings about a register flag contradicted by an answer.
pub const REGISTER_CONFLICT_PREFIX: &str = "register_conflict_";

/// Mitigation lists must name mitigations, and one mitigation cannot both resolve a
/// finding and merely establish its fact.
fn check_mitigations(
    problems: &mut Vec<String>,
    at: &str,
    prefix: &str,
    mitigations: &HashSet<&str>,
    resolved_by: &[String],
    established_by: &[String],
) {
    for (field, list) in [
        ("resolved_by", resolved_by),
        ("established_by", established_by),
    ] {
        for m in list {
            if !mitigations.contains(m.as_str()) {
                problems.push(format!(
                    "{at}: {prefix}{field} names `{m}`, which is not a mitigation"
                ));
            }
        }
    }
    for m in established_by {
        if resolved_by.contains(m) {
            problems.push(format!(
                "{at}: `{m}` is in both {prefix}resolved_by and {prefix}established_by"
            ));
        }
    }
}

fn check_unique<'a>(problems: &mut Vec<String>, what: &str, items: impl Iterator<Item = &'a str>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    for (item, n) in counts {
        if n > 1 {
            problems.push(format!("{what} `{item}`: defined {n} times"));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = include_str!("../../rulebook/eu-knoc-2021-r1.toml");
    const R2: &str = include_str!("../../rulebook/rulebook.toml");

    fn problems(text: &str) -> Vec<String> {
        Rulebook::parse(text).map_or_else(|e| e.problems, |_| Vec::new())
    }

    #[track_caller]
    fn refused(text: &str, needle: &str) {
        let problems = problems(text);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "expected a problem mentioning {needle:?}, got {problems:#?}"
        );
    }

    #[test]
    fn revision_1_is_kept_byte_for_byte_with_its_version() {
        let r1 = Rulebook::parse(R1).expect("revision 1 is valid");
        assert_eq!(r1.version(), "eu-knoc-2021@86ff279d6997");
        assert_eq!(r1.data().contract, 1);
        assert_eq!(
            r1.settings().baseline_without_sub_area,
            BaselineWithoutSubArea::AreaColour
        );
    }

    #[test]
    fn revision_2_follows_contract_2_under_its_own_name() {
        let r2 = Rulebook::parse(R2).expect("revision 2 is valid");
        assert!(
            r2.version().starts_with("eu-knoc-2021-r2@"),
            "{}",
            r2.version()
        );
        assert_eq!(r2.data().contract, 2);
        for expected in contract::questions_at(2) {
            assert!(r2.question(expected.id).is_some(), "{}", expected.id);
        }
        // The extra question the partner screening relies on, right after the name.
        let partner = &r2.steps()[1];
        assert_eq!(partner.questions[0].id, contract::PARTNER_NAME);
        let unit = &partner.questions[1];
        assert_eq!(unit.id, contract::PARTNER_UNIT);
        assert_eq!(unit.kind, QuestionKind::Text);
        assert_eq!(unit.max_length, Some(200));
        assert!(unit.unknown.is_none());
        assert!(
            !r2.rules()
                .iter()
                .any(|r| r.when.questions().contains(&contract::PARTNER_UNIT))
        );
    }

    #[test]
    fn every_question_of_revision_2_says_how_to_find_the_answer() {
        let r2 = Rulebook::parse(R2).expect("valid");
        for q in r2.steps().iter().flat_map(|s| &s.questions) {
            let how = q.how.as_deref().unwrap_or_default();
            assert!(how.len() > 40, "question `{}` has no useful `how`", q.id);
        }
    }

    #[test]
    fn in_revision_2_no_mitigation_resolves_a_missing_fact() {
        let r2 = Rulebook::parse(R2).expect("valid");
        for q in r2.steps().iter().flat_map(|s| &s.questions) {
            if let Some(u) = &q.unknown {
                assert!(u.resolved_by.is_empty(), "question `{}`", q.id);
            }
        }
        for rule in r2
            .rules()
            .iter()
            .filter(|r| r.code.starts_with(UNKNOWN_CODE_PREFIX))
        {
            assert!(rule.resolved_by.is_empty(), "rule `{}`", rule.code);
        }
        assert!(!r2.mitigations_resolve_unknowns());
        assert!(
            Rulebook::parse(R1)
                .expect("r1")
                .mitigations_resolve_unknowns()
        );
    }

    #[test]
    fn chinese_laws_are_named_with_their_year_in_revision_2() {
        let laws = [
            "Cybersecurity Law",
            "Measures for the Management of Scientific Data",
            "Human Genetic Resources regulations",
            "Export Control Law",
            "Data Security Law",
            "Personal Information Protection Law",
            "Anti-Foreign Sanctions Law",
            "Biosecurity Law",
            "Provisions on Promoting and Regulating Cross-Border Data Flows",
        ];
        for law in laws {
            for (at, _) in R2.match_indices(law) {
                // The year follows the name at once, in brackets: "Data Security Law (2021)";
                // a section title of the paper in quotes is not a mention of the law.
                let after = &R2[at + law.len()..];
                if after.starts_with('\'') {
                    continue;
                }
                let year = after
                    .strip_prefix(" (")
                    .map(|rest| &rest[..rest.len().min(4)]);
                assert!(
                    year.is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())),
                    "{law} without its year: ...{}",
                    &after[..after.len().min(60)]
                );
            }
        }
    }

    #[test]
    fn a_contract_revision_this_program_does_not_know_is_refused() {
        let text = R2.replace("contract = 2", "contract = 3");
        refused(&text, "contract = 3");
    }

    #[test]
    fn revision_2_without_a_new_question_is_refused_naming_it() {
        let text = R2.replace("id = \"declined_elsewhere\"", "id = \"declined_somewhere\"");
        refused(&text, "question `declined_elsewhere`: missing");
        // Revision 1 never had it and stays valid.
        assert!(problems(R1).is_empty());
    }

    #[test]
    fn the_new_mitigation_belongs_to_revision_2_only() {
        let text = R2.replace("value = \"abs_agreement\"", "value = \"abs_contract\"");
        refused(&text, "question `mitigations`: options must be exactly");
    }

    #[test]
    fn unknown_rules_are_checked() {
        let text = R2.replace(
            "option = \"unknown\"\nestablished_by = [\"affiliation_screening\"]",
            "option = \"maybe\"\nestablished_by = [\"affiliation_screening\"]",
        );
        refused(&text, "question `visitor_funding`: unknown.option `maybe`");
        let text = R2.replacen(
            "established_by = [\"export_control_check\"]\nwhy = \"Researchers",
            "established_by = [\"export_control_check\", \"wishful_thinking\"]\nwhy = \"Researchers",
            1,
        );
        refused(
            &text,
            "question `dual_use_potential`: unknown.established_by names `wishful_thinking`",
        );
        let text = R2.replacen(
            "established_by = [\"export_control_check\"]\nwhy = \"Researchers",
            "resolved_by = [\"export_control_check\"]\nestablished_by = [\"export_control_check\"]\nwhy = \"Researchers",
            1,
        );
        refused(
            &text,
            "question `dual_use_potential`: `export_control_check` is in both",
        );
    }

    #[test]
    fn the_worst_sub_area_baseline_needs_a_sub_area_unknown_rule() {
        let start = R2
            .find("[steps.questions.unknown]\nwhy = \"The sub-area, not the area")
            .expect("the sub_area unknown rule");
        let end = start + R2[start..].find("\n\n").expect("end of table");
        let text = format!("{}{}", &R2[..start], &R2[end..]);
        refused(&text, "settings.baseline_without_sub_area");
    }

    #[test]
    fn a_baseline_condition_must_be_able_to_fail() {
        let text = R2.replacen(
            "{ baseline_at_least = \"orange\" }",
            "{ baseline_at_least = \"green\" }",
            1,
        );
        refused(
            &text,
            "rule `no_specialist_review`: `baseline_at_least = \"green\"`",
        );
    }

    #[test]
    fn rule_codes_may_not_clash_with_generated_ones() {
        let text = R2.replace("code = \"dependency\"", "code = \"unknown_dependency\"");
        refused(
            &text,
            "rule `unknown_dependency`: the code is the one of question `dependency`",
        );
        let text = R2.replace(
            "code = \"dependency\"",
            "code = \"register_conflict_dependency\"",
        );
        refused(
            &text,
            "rule `register_conflict_dependency`: codes starting with",
        );
    }

    #[test]
    fn a_red_rule_cannot_be_established_away() {
        let text = R2.replace(
            "remedy = \"Do not host researchers sponsored",
            "established_by = [\"affiliation_screening\"]\nremedy = \"Do not host researchers sponsored",
        );
        refused(&text, "rule `military_visitor_sponsor`: a red finding");
    }
}
