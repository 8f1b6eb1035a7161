//! Simulating a candidate rulebook: every stored case is evaluated under it, with its
//! own answers and the register match it recorded, and compared with the verdict and
//! findings it records now. Cases are streamed from the database in batches, and each
//! batch is evaluated off the async runtime while the next one is read.

use std::sync::Arc;

use anyhow::Context as _;
use sqlx::PgPool;

use crate::db;
use crate::db::rulebooks::StoredCase;
use crate::domain::compare::{SimulationBuilder, SimulationReport};
use crate::domain::rulebook::{Colour, Rulebook};
use crate::domain::verdict::evaluate;

/// Cases read per round trip.
const BATCH: i64 = 2000;

/// Evaluates every stored case under `candidate` and reports what changes.
pub async fn simulate(pool: &PgPool, candidate: Arc<Rulebook>) -> anyhow::Result<SimulationReport> {
    let mut builder = SimulationBuilder::new(candidate.version());
    let mut batch = db::rulebooks::cases_after(pool, None, BATCH).await?;
    while !batch.is_empty() {
        let after = batch.last().map(|c| c.id);
        let rulebook = candidate.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            for case in batch {
                add(&mut builder, &rulebook, case);
            }
            builder
        });
        let next = db::rulebooks::cases_after(pool, after, BATCH);
        let (evaluated, next) = tokio::join!(evaluated, next);
        builder = evaluated.context("evaluating a batch of cases")?;
        batch = next?;
    }
    Ok(builder.finish())
}

fn add(builder: &mut SimulationBuilder, rulebook: &Rulebook, case: StoredCase) {
    let after = evaluate(rulebook, &case.answers.0, case.register.0.as_ref());
    // A verdict column outside the three colours cannot be stored (CHECK constraint).
    let before = Colour::from_code(&case.verdict).unwrap_or(Colour::Orange);
    builder.add(
        case.id.to_string(),
        case.title,
        case.status,
        case.rulebook_version,
        (before, &case.findings.0),
        &after,
    );
}

/// The report in plain text, for `triage rulebook diff`.
pub fn text_report(report: &SimulationReport, active: &str) -> String {
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(&mut out, format!("Candidate rulebook {}", report.candidate));
    line(&mut out, format!("Active rulebook    {active}"));
    line(
        &mut out,
        format!(
            "{} case{} simulated: {} would change colour, {} would keep their colour with other reasons, {} unchanged.",
            report.cases,
            if report.cases == 1 { "" } else { "s" },
            report.changed_colour,
            report.changed_reasons,
            report.cases - report.changed_colour - report.changed_reasons
        ),
    );
    if !report.transitions.is_empty() {
        line(&mut out, String::new());
        line(&mut out, "Verdicts now -> under the candidate:".to_owned());
        for (before, after, n) in &report.transitions {
            let mark = if before == after { "" } else { "  (changes)" };
            line(
                &mut out,
                format!("  {:<6} -> {:<6} {n:>7}{mark}", before.word(), after.word()),
            );
        }
    }
    if !report.findings.is_empty() {
        line(&mut out, String::new());
        line(
            &mut out,
            "Why: findings across the cases that change".to_owned(),
        );
        for t in &report.findings {
            let mut parts = Vec::new();
            for (n, what) in [
                (t.added, "added"),
                (t.removed, "removed"),
                (t.resolved, "now resolved"),
                (t.reopened, "no longer resolved"),
            ] {
                if n > 0 {
                    parts.push(format!("{what} in {n}"));
                }
            }
            let severity = t.severity.map_or("", |c| c.word());
            line(
                &mut out,
                format!(
                    "  {} [{}, {severity}]: {}",
                    t.title,
                    t.code,
                    parts.join(", ")
                ),
            );
        }
    }
    if !report.colour_changes.is_empty() {
        line(&mut out, String::new());
        line(&mut out, "Cases that change colour:".to_owned());
        for c in &report.colour_changes {
            line(
                &mut out,
                format!(
                    "  {} {} -> {}  {} ({}, computed by {})",
                    c.id,
                    c.before.word(),
                    c.after.word(),
                    c.title,
                    c.status,
                    c.version
                ),
            );
            for sentence in c.diff.sentences() {
                line(&mut out, format!("      {sentence}"));
            }
        }
        if report.truncated() {
            line(
                &mut out,
                format!(
                    "  ... and {} more (the first {} are listed).",
                    report.changed_colour - report.colour_changes.len(),
                    report.colour_changes.len()
                ),
            );
        }
    }
    out
}
