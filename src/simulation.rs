//! Simulating a candidate rulebook: every stored case is evaluated under it, with its
//! own answers and the register match it recorded, and compared with the verdict and
//! findings it records now. The cases are streamed by one query and evaluated in
//! batches off the async runtime, each batch while the next one is read.

use std::sync::Arc;

use anyhow::Context as _;
use futures_util::TryStreamExt;
use sqlx::PgPool;

use crate::db;
use crate::db::rulebooks::StoredCase;
use crate::domain::compare::{SimulationBuilder, SimulationReport};
use crate::domain::rulebook::{Colour, Rulebook};
use crate::domain::verdict::evaluate_screened;

/// Cases evaluated per batch.
const BATCH: usize = 2000;

/// Evaluates every stored case under `candidate` and reports what changes.
pub async fn simulate(pool: &PgPool, candidate: Arc<Rulebook>) -> anyhow::Result<SimulationReport> {
    let mut builder = SimulationBuilder::new(candidate.version());
    let mut rows = db::rulebooks::stored_cases(pool);
    let mut batch = next_batch(&mut rows).await?;
    while !batch.is_empty() {
        let rulebook = candidate.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            builder.merge(evaluate_batch(&rulebook, batch));
            builder
        });
        let (evaluated, next) = tokio::join!(evaluated, next_batch(&mut rows));
        builder = evaluated.context("evaluating a batch of cases")?;
        batch = next?;
    }
    Ok(builder.finish())
}

async fn next_batch(
    rows: &mut futures_util::stream::BoxStream<'_, sqlx::Result<StoredCase>>,
) -> sqlx::Result<Vec<StoredCase>> {
    let mut batch = Vec::with_capacity(BATCH);
    while batch.len() < BATCH {
        match rows.try_next().await? {
            Some(case) => batch.push(case),
            None => break,
        }
    }
    Ok(batch)
}

/// Evaluates a batch on every core: contiguous chunks, merged back in order.
fn evaluate_batch(rulebook: &Rulebook, batch: Vec<StoredCase>) -> SimulationBuilder {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = batch.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<StoredCase>> = Vec::new();
    let mut rest = batch;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    let parts: Vec<SimulationBuilder> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|cases| {
                scope.spawn(move || {
                    let mut part = SimulationBuilder::new(rulebook.version());
                    for case in cases {
                        add(&mut part, rulebook, case);
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut merged = SimulationBuilder::new(rulebook.version());
    for part in parts {
        merged.merge(part);
    }
    merged
}

fn add(builder: &mut SimulationBuilder, rulebook: &Rulebook, case: StoredCase) {
    let after = evaluate_screened(rulebook, &case.answers.0, &case.register.0);
    // A verdict column outside the three colours cannot be stored (CHECK constraint).
    let before = Colour::from_code(&case.verdict).unwrap_or(Colour::Orange);
    let findings = case.findings();
    builder.add(
        case.id.to_string(),
        case.title,
        case.status,
        case.rulebook_version,
        (before, &findings),
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
