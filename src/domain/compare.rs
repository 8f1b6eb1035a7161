//! What changes between two evaluations of the same case: between two submissions,
//! between the stored verdict and the current rulebook's, and across every stored
//! case when a candidate rulebook is simulated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rulebook::Colour;
use super::verdict::{Evaluation, Finding};

/// The part of a finding that a comparison needs. Deserialises from a stored finding,
/// so a simulation reads no more of the stored evaluation than this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingBrief {
    pub code: String,
    pub title: String,
    pub severity: Colour,
    pub resolved: bool,
}

impl From<&Finding> for FindingBrief {
    fn from(f: &Finding) -> Self {
        FindingBrief {
            code: f.code.clone(),
            title: f.title.clone(),
            severity: f.severity,
            resolved: f.resolved,
        }
    }
}

impl Evaluation {
    /// Every finding in brief, in the evaluation's order.
    pub fn briefs(&self) -> Vec<FindingBrief> {
        self.findings.iter().map(FindingBrief::from).collect()
    }
}

/// How the findings of a case differ between two evaluations. A finding whose severity
/// changed counts as removed (with its old severity) and added (with its new one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsDiff {
    pub added: Vec<FindingBrief>,
    pub removed: Vec<FindingBrief>,
    /// Present in both, resolved now but not before.
    pub resolved: Vec<FindingBrief>,
    /// Present in both, resolved before but not now.
    pub reopened: Vec<FindingBrief>,
}

impl FindingsDiff {
    /// Compares findings by code.
    pub fn between(before: &[FindingBrief], after: &[FindingBrief]) -> Self {
        let same =
            |a: &FindingBrief, b: &FindingBrief| a.code == b.code && a.severity == b.severity;
        let mut diff = FindingsDiff::default();
        for f in after {
            match before.iter().find(|b| same(b, f)) {
                None => diff.added.push(f.clone()),
                Some(b) if f.resolved && !b.resolved => diff.resolved.push(f.clone()),
                Some(b) if !f.resolved && b.resolved => diff.reopened.push(f.clone()),
                Some(_) => {}
            }
        }
        diff.removed = before
            .iter()
            .filter(|b| !after.iter().any(|f| same(b, f)))
            .cloned()
            .collect();
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.resolved.is_empty()
            && self.reopened.is_empty()
    }

    /// The change in words, one sentence per kind: "New findings: A (Orange); B (Red)".
    pub fn sentences(&self) -> Vec<String> {
        let titles = |list: &[FindingBrief]| -> String {
            list.iter()
                .map(|f| format!("{} ({})", f.title, f.severity.word()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut out = Vec::new();
        if !self.added.is_empty() {
            out.push(format!("New findings: {}", titles(&self.added)));
        }
        if !self.removed.is_empty() {
            out.push(format!("No longer raised: {}", titles(&self.removed)));
        }
        if !self.resolved.is_empty() {
            out.push(format!("Now resolved: {}", titles(&self.resolved)));
        }
        if !self.reopened.is_empty() {
            out.push(format!("No longer resolved: {}", titles(&self.reopened)));
        }
        out
    }
}

/// A case as the simulation sees it: what it records now and what the candidate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseChange {
    pub id: String,
    pub title: String,
    pub status: String,
    /// The rulebook version that computed the stored verdict.
    pub version: String,
    pub before: Colour,
    pub after: Colour,
    pub diff: FindingsDiff,
}

/// How often one finding appears or disappears across the simulated cases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingTally {
    pub code: String,
    pub title: String,
    pub severity: Option<Colour>,
    pub added: usize,
    pub removed: usize,
    pub resolved: usize,
    pub reopened: usize,
}

/// The result of evaluating every stored case under a candidate rulebook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationReport {
    pub candidate: String,
    pub cases: usize,
    /// Cases whose verdict would change colour.
    pub changed_colour: usize,
    /// Cases whose verdict stays but whose findings change.
    pub changed_reasons: usize,
    /// (before, after, cases), every pair that occurs, unchanged ones included.
    pub transitions: Vec<(Colour, Colour, usize)>,
    /// Per finding code, most frequent first.
    pub findings: Vec<FindingTally>,
    /// The cases that change colour (up to `LISTED_CASES`), worst change first.
    pub colour_changes: Vec<CaseChange>,
}

impl SimulationReport {
    /// How many changed cases a report lists by name; the counts cover all of them.
    pub const LISTED_CASES: usize = 1000;

    /// Whether the listing stops short of every case that changes colour.
    pub fn truncated(&self) -> bool {
        self.colour_changes.len() < self.changed_colour
    }
}

/// Accumulates a simulation case by case, so cases can be streamed in batches.
#[derive(Debug, Default)]
pub struct SimulationBuilder {
    report: SimulationReport,
    transitions: BTreeMap<(Colour, Colour), usize>,
    tallies: BTreeMap<String, FindingTally>,
}

impl SimulationBuilder {
    pub fn new(candidate: &str) -> Self {
        SimulationBuilder {
            report: SimulationReport {
                candidate: candidate.to_owned(),
                ..SimulationReport::default()
            },
            ..SimulationBuilder::default()
        }
    }

    /// Adds one case: its stored verdict and findings, and the candidate's evaluation.
    pub fn add(
        &mut self,
        id: String,
        title: String,
        status: String,
        version: String,
        before: (Colour, &[FindingBrief]),
        after: &Evaluation,
    ) {
        let r = &mut self.report;
        r.cases += 1;
        *self
            .transitions
            .entry((before.0, after.verdict))
            .or_default() += 1;
        let diff = FindingsDiff::between(before.1, &after.briefs());
        if diff.is_empty() && before.0 == after.verdict {
            return;
        }
        let mut tally = |f: &FindingBrief, field: fn(&mut FindingTally) -> &mut usize| {
            let t = self
                .tallies
                .entry(format!("{}/{}", f.code, f.severity.code()))
                .or_insert_with(|| FindingTally {
                    code: f.code.clone(),
                    title: f.title.clone(),
                    severity: Some(f.severity),
                    ..FindingTally::default()
                });
            *field(t) += 1;
        };
        for f in &diff.added {
            tally(f, |t| &mut t.added);
        }
        for f in &diff.removed {
            tally(f, |t| &mut t.removed);
        }
        for f in &diff.resolved {
            tally(f, |t| &mut t.resolved);
        }
        for f in &diff.reopened {
            tally(f, |t| &mut t.reopened);
        }
        if before.0 == after.verdict {
            r.changed_reasons += 1;
            return;
        }
        r.changed_colour += 1;
        if r.colour_changes.len() < SimulationReport::LISTED_CASES {
            r.colour_changes.push(CaseChange {
                id,
                title,
                status,
                version,
                before: before.0,
                after: after.verdict,
                diff,
            });
        }
    }

    /// Adds what another builder accumulated (cases evaluated in parallel), after this
    /// builder's cases.
    pub fn merge(&mut self, other: SimulationBuilder) {
        let (r, o) = (&mut self.report, other.report);
        r.cases += o.cases;
        r.changed_colour += o.changed_colour;
        r.changed_reasons += o.changed_reasons;
        let room = SimulationReport::LISTED_CASES.saturating_sub(r.colour_changes.len());
        r.colour_changes
            .extend(o.colour_changes.into_iter().take(room));
        for (key, n) in other.transitions {
            *self.transitions.entry(key).or_default() += n;
        }
        for (key, t) in other.tallies {
            let mine = self.tallies.entry(key).or_insert_with(|| FindingTally {
                added: 0,
                removed: 0,
                resolved: 0,
                reopened: 0,
                ..t.clone()
            });
            mine.added += t.added;
            mine.removed += t.removed;
            mine.resolved += t.resolved;
            mine.reopened += t.reopened;
        }
    }

    pub fn finish(mut self) -> SimulationReport {
        self.report.transitions = self
            .transitions
            .into_iter()
            .map(|((a, b), n)| (a, b, n))
            .collect();
        let mut findings: Vec<FindingTally> = self.tallies.into_values().collect();
        findings.sort_by(|a, b| {
            let weight = |t: &FindingTally| t.added + t.removed + t.resolved + t.reopened;
            weight(b).cmp(&weight(a)).then_with(|| a.code.cmp(&b.code))
        });
        self.report.findings = findings;
        // The biggest changes first: red to green before orange to green.
        self.report.colour_changes.sort_by_key(|c| {
            let distance = (c.after as i32 - c.before as i32).abs();
            (std::cmp::Reverse(distance), c.before, c.after)
        });
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(code: &str, severity: Colour, resolved: bool) -> FindingBrief {
        FindingBrief {
            code: code.into(),
            title: code.to_uppercase(),
            severity,
            resolved,
        }
    }

    #[test]
    fn a_diff_names_added_removed_resolved_and_reopened_findings() {
        let before = [
            brief("a", Colour::Orange, false),
            brief("b", Colour::Orange, true),
            brief("c", Colour::Orange, false),
            brief("d", Colour::Orange, false),
        ];
        let after = [
            brief("a", Colour::Orange, true),
            brief("b", Colour::Orange, false),
            brief("d", Colour::Red, false),
            brief("e", Colour::Red, false),
        ];
        let diff = FindingsDiff::between(&before, &after);
        let codes = |l: &[FindingBrief]| l.iter().map(|f| f.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&diff.added), ["d", "e"]);
        assert_eq!(codes(&diff.removed), ["c", "d"]);
        assert_eq!(codes(&diff.resolved), ["a"]);
        assert_eq!(codes(&diff.reopened), ["b"]);
        assert!(FindingsDiff::between(&before, &before).is_empty());
        assert_eq!(diff.sentences().len(), 4);
    }

    #[test]
    fn builders_merged_give_the_report_of_one_builder() {
        use crate::domain::verdict::{BenefitLevel, Benefits, Evaluation};
        let evaluation = |verdict: Colour, findings: &[FindingBrief]| Evaluation {
            verdict,
            baseline: Colour::Green,
            baseline_reason: String::new(),
            rulebook_version: "candidate".into(),
            findings: findings
                .iter()
                .map(|f| crate::domain::verdict::Finding {
                    code: f.code.clone(),
                    severity: f.severity,
                    resolved: f.resolved,
                    question: String::new(),
                    title: f.title.clone(),
                    why: String::new(),
                    source: String::new(),
                    resolved_by: Vec::new(),
                    remedy: String::new(),
                    trigger: String::new(),
                    hint: String::new(),
                    established_by: Vec::new(),
                    note: None,
                })
                .collect(),
            benefits: Benefits {
                level: BenefitLevel::Low,
                reasons: Vec::new(),
            },
            research_stage: None,
            register: None,
            register_also: Vec::new(),
            outlook: Vec::new(),
        };
        /// (verdict before, findings before, verdict after, findings after)
        type Case = (Colour, Vec<FindingBrief>, Colour, Vec<FindingBrief>);
        let cases: Vec<Case> = (0..9)
            .map(|i| {
                let a = brief("a", Colour::Orange, i % 2 == 0);
                let b = brief("b", Colour::Red, false);
                match i % 3 {
                    0 => (Colour::Green, vec![], Colour::Orange, vec![a]),
                    1 => (
                        Colour::Orange,
                        vec![a.clone()],
                        Colour::Orange,
                        vec![a, b.clone()],
                    ),
                    _ => (Colour::Red, vec![b.clone()], Colour::Red, vec![b]),
                }
            })
            .collect();
        let add = |builder: &mut SimulationBuilder, (i, c): (usize, &Case)| {
            builder.add(
                i.to_string(),
                String::new(),
                String::new(),
                String::new(),
                (c.0, &c.1),
                &evaluation(c.2, &c.3),
            );
        };
        let mut one = SimulationBuilder::new("candidate");
        cases.iter().enumerate().for_each(|c| add(&mut one, c));
        let (mut first, mut second) = (
            SimulationBuilder::new("candidate"),
            SimulationBuilder::new("candidate"),
        );
        cases
            .iter()
            .enumerate()
            .take(4)
            .for_each(|c| add(&mut first, c));
        cases
            .iter()
            .enumerate()
            .skip(4)
            .for_each(|c| add(&mut second, c));
        first.merge(second);
        assert_eq!(first.finish(), one.finish());
    }
}
