//! Re-screening: after any change of the register, every submitted, returned and
//! decided case is screened again in the background. A case whose result changed gets
//! a screening event, worded from the change ("since the decision of 12 March the
//! partner is on ..."), and the verdict its own rulebook would now give; the stored
//! evaluation stays as decided. One app server carries out a job at a time (rows are
//! claimed with SKIP LOCKED); requests are never blocked.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db;
use crate::db::screening::IdentityRow;
use crate::domain::answers::Answers;
use crate::domain::verdict::{self, Evaluation, RegisterHit, screening_key};
use crate::state::{AppState, register_hits};

/// How many cases are read and screened per round trip.
const BATCH: i64 = 2000;

/// Polls for queued jobs for as long as the server runs.
pub fn spawn_worker(state: AppState) {
    let worker = format!("{}-{}", std::process::id(), Uuid::new_v4().simple());
    tokio::spawn(async move {
        loop {
            match run_next(&state, &worker).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "re-screening failed"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// What a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub job: i64,
    pub screened: i32,
    pub changed: i32,
}

/// Claims and carries out one queued job, if there is one.
pub async fn run_next(state: &AppState, worker: &str) -> anyhow::Result<Option<Outcome>> {
    let Some(job) = db::screening::claim(state.pool(), worker).await? else {
        return Ok(None);
    };
    match run(state, job.id).await {
        Ok(outcome) => Ok(Some(outcome)),
        Err(e) => {
            let message = format!("{e:#}");
            db::screening::finish(state.pool(), job.id, Some(&message)).await?;
            Err(e)
        }
    }
}

async fn run(state: &AppState, job: i64) -> anyhow::Result<Outcome> {
    let pool = state.pool();
    let register = state.register().await?;
    let revision = db::register::revision(pool).await?.unwrap_or_default();
    let total = db::screening::count_screened(pool).await? as i32;
    let (mut done, mut changed) = (0i32, 0i32);
    let mut after: Option<Uuid> = None;
    loop {
        let rows = db::screening::cases_after(pool, after, BATCH).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.id);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut decisions: HashMap<Uuid, Vec<IdentityRow>> = HashMap::new();
        for (id, row) in db::screening::identities_of(pool, &ids).await? {
            decisions.entry(id).or_default().push(row);
        }
        // Screening is CPU work: off the async runtime, so requests keep being served.
        let register = register.clone();
        let screened = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .filter_map(|row| {
                    let hits = match row.partner_name.as_deref().filter(|p| !p.trim().is_empty()) {
                        Some(name) => register_hits(
                            &register.screen(name),
                            decisions.get(&row.id).map_or(&[][..], Vec::as_slice),
                        ),
                        None => Vec::new(),
                    };
                    let key = screening_key(&hits);
                    (row.screening_key.as_deref() != Some(key.as_str())).then_some(Changed {
                        id: row.id,
                        before_key: row.screening_key,
                        key,
                        hits,
                    })
                })
                .collect::<Vec<Changed>>()
        })
        .await?;
        done += ids.len() as i32;
        changed += record_changes(state, screened, revision).await?;
        db::screening::progress(pool, job, total.max(done), done, changed).await?;
        if db::screening::superseded(pool, job).await? {
            // A newer register change is queued; its job screens everything again.
            db::screening::mark_superseded(pool, job).await?;
            return Ok(Outcome {
                job,
                screened: done,
                changed,
            });
        }
    }
    db::screening::progress(pool, job, done, done, changed).await?;
    db::screening::finish(pool, job, None).await?;
    tracing::info!(job, screened = done, changed, "re-screening finished");
    Ok(Outcome {
        job,
        screened: done,
        changed,
    })
}

/// A case whose screening differs from what is known of it.
struct Changed {
    id: Uuid,
    before_key: Option<String>,
    key: String,
    hits: Vec<RegisterHit>,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    answers: Json<Answers>,
    evaluation: Json<Evaluation>,
    rulebook_version: String,
    screening: Option<Json<Vec<RegisterHit>>>,
    decided: bool,
    since: time::OffsetDateTime,
}

/// Records a screening event for each changed case of a batch, in one transaction;
/// returns how many got one (a case stored before screening keys existed whose result
/// did not change only gets its key).
async fn record_changes(
    state: &AppState,
    changes: Vec<Changed>,
    revision: i64,
) -> anyhow::Result<i32> {
    if changes.is_empty() {
        return Ok(0);
    }
    let pool = state.pool();
    let ids: Vec<Uuid> = changes.iter().map(|c| c.id).collect();
    let cases: Vec<CaseRow> = sqlx::query_as(
        "SELECT a.id, a.answers, a.evaluation, a.rulebook_version, a.screening,
                d.decided_at IS NOT NULL AS decided,
                coalesce(d.decided_at, a.submitted_at, a.created_at) AS since
         FROM assessments a LEFT JOIN decisions d ON d.assessment_id = a.id
         WHERE a.id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut cases: HashMap<Uuid, CaseRow> = cases.into_iter().map(|c| (c.id, c)).collect();
    let mut recorded = 0;
    let mut tx = pool.begin().await?;
    for change in changes {
        let Some(case) = cases.remove(&change.id) else {
            continue; // deleted meanwhile
        };
        let stored = case.evaluation.0;
        let before_hits = case
            .screening
            .map(|s| s.0)
            .unwrap_or_else(|| stored.register_hits());
        let known_key = screening_key(&before_hits);
        if change.before_key.is_none() && known_key == change.key {
            // Stored before screening keys existed and unchanged: remember the key only.
            sqlx::query("UPDATE assessments SET screening_key = $2 WHERE id = $1")
                .bind(change.id)
                .bind(&change.key)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        let rulebook = state
            .rulebook_version(&case.rulebook_version)
            .await
            .with_context(|| format!("the rulebook of case {}", change.id))?;
        let now = verdict::evaluate_screened(&rulebook, &case.answers.0, &change.hits);
        let summary = describe_change(
            case.decided,
            case.since,
            &before_hits,
            &change.hits,
            stored.verdict,
            now.verdict,
        );
        db::screening::record_event(
            &mut tx,
            change.id,
            revision,
            &summary,
            Some(known_key.as_str()),
            &change.key,
            &change.hits,
            stored.verdict.code(),
            now.verdict.code(),
        )
        .await?;
        recorded += 1;
    }
    tx.commit().await?;
    Ok(recorded)
}

fn flag_words(flag: &str) -> &'static str {
    match flag {
        "restricted_list" => "on a sanctions or restricted-party list",
        "military_links" => "recorded for military or defence links",
        "talent_programme" => "recorded for state talent-programme recruitment",
        _ => "flagged",
    }
}

fn evidence(hit: &RegisterHit, flag: &str) -> String {
    let sources: Vec<String> = hit
        .evidence
        .iter()
        .filter(|e| e.flag == flag)
        .map(|e| {
            if e.date.is_empty() {
                e.source.clone()
            } else {
                format!("{}, since {}", e.source, e.date)
            }
        })
        .collect();
    if sources.is_empty() {
        String::new()
    } else {
        format!(" ({})", sources.join("; "))
    }
}

/// "Since the decision of 12 March 2026 the partner (Harbin Institute of Technology) is
/// on a sanctions or restricted-party list (US Entity List, since 2020-06-05)."
pub fn describe_change(
    decided: bool,
    since: time::OffsetDateTime,
    before: &[RegisterHit],
    after: &[RegisterHit],
    verdict_before: crate::domain::rulebook::Colour,
    verdict_after: crate::domain::rulebook::Colour,
) -> String {
    let when = format!(
        "Since the {} of {} {} {}",
        if decided { "decision" } else { "submission" },
        since.day(),
        month(since.month()),
        since.year()
    );
    let mut sentences: Vec<String> = Vec::new();
    let find = |list: &[RegisterHit], id: &str| {
        list.iter()
            .find(|h| h.entry_id == id || h.entry == id)
            .cloned()
    };
    for h in after {
        let id = if h.entry_id.is_empty() {
            &h.entry
        } else {
            &h.entry_id
        };
        match find(before, id) {
            None => {
                let what = if h.possible {
                    format!(
                        "the partner name may name {} (a possible match to confirm)",
                        h.entry
                    )
                } else {
                    format!("the partner name matches the register entry {}", h.entry)
                };
                let flags: Vec<String> = h
                    .flags
                    .iter()
                    .map(|f| format!("{}{}", flag_words(f), evidence(h, f)))
                    .collect();
                if flags.is_empty() {
                    sentences.push(format!("{what}."));
                } else {
                    sentences.push(format!("{what}, which is {}.", flags.join(" and ")));
                }
            }
            Some(old) => {
                for f in h.flags.iter().filter(|f| !old.flags.contains(f)) {
                    sentences.push(format!(
                        "the partner ({}) is {}{}.",
                        h.entry,
                        flag_words(f),
                        evidence(h, f)
                    ));
                }
                for f in old.flags.iter().filter(|f| !h.flags.contains(f)) {
                    sentences.push(format!(
                        "the partner ({}) is no longer {}.",
                        h.entry,
                        flag_words(f)
                    ));
                }
                if old.possible && !h.possible {
                    sentences.push(format!("{} is now a certain match.", h.entry));
                }
                if !old.possible && h.possible {
                    sentences.push(format!("{} is now only a possible match.", h.entry));
                }
                let parent_flags = |x: &RegisterHit| {
                    x.parent
                        .as_ref()
                        .map(|p| p.flags.clone())
                        .unwrap_or_default()
                };
                for f in parent_flags(h)
                    .iter()
                    .filter(|f| !parent_flags(&old).contains(f))
                {
                    let parent = h.parent.as_ref().map_or("", |p| p.entry.as_str());
                    sentences.push(format!(
                        "the organisation it belongs to ({parent}) is {}.",
                        flag_words(f)
                    ));
                }
            }
        }
    }
    for h in before {
        let id = if h.entry_id.is_empty() {
            &h.entry
        } else {
            &h.entry_id
        };
        if find(after, id).is_none() {
            sentences.push(format!(
                "the partner name no longer matches the register entry {}.",
                h.entry
            ));
        }
    }
    if sentences.is_empty() {
        sentences.push("the register's evidence for the partner changed.".to_owned());
    }
    let verdict = if verdict_before == verdict_after {
        format!(" The verdict would stay {}.", verdict_after.word())
    } else {
        format!(
            " Under the case's own rulebook the verdict would now be {} instead of {}.",
            verdict_after.word(),
            verdict_before.word()
        )
    };
    let mut text = format!("{when} {}", sentences.join(" Also, "));
    text.push_str(&verdict);
    text
}

fn month(m: time::Month) -> &'static str {
    use time::Month::*;
    match m {
        January => "January",
        February => "February",
        March => "March",
        April => "April",
        May => "May",
        June => "June",
        July => "July",
        August => "August",
        September => "September",
        October => "October",
        November => "November",
        December => "December",
    }
}
