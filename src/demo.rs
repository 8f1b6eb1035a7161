//! `triage seed-demo`: realistic, varied cases for demonstrations and benchmarks.
//! Areas, partners (from the register and outside it), every status, comments and
//! decisions; answers are drawn so that all three verdicts occur.

use anyhow::Context as _;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::hash_password;
use crate::db;
use crate::db::demo::DemoCase;
use crate::domain::answers::{AnswerValue, Answers};
use crate::domain::contract;
use crate::domain::rulebook::{QuestionKind, Rulebook};
use crate::domain::verdict::{asked_answers, evaluate_screened};
use crate::screening::grouping_key;
use crate::state::{AppState, register_hits};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "triage demo password";

const INSTITUTIONS: [&str; 5] = [
    "Universiteit Leiden",
    "KU Leuven",
    "Technische Universität München",
    "Université Paris-Saclay",
    "Lunds universitet",
];

/// Chinese organisations that are not in the register.
const OTHER_PARTNERS: [&str; 12] = [
    "Peking University",
    "Fudan University",
    "Zhejiang University",
    "Shanghai Jiao Tong University",
    "Sun Yat-sen University",
    "Wuhan University",
    "Xiamen University",
    "Sichuan University",
    "China Agricultural University",
    "Nanjing University",
    "Ocean University of China",
    "Shandong University",
];

const TOPICS: [&str; 16] = [
    "Joint modelling of",
    "Comparative study of",
    "Open data platform for",
    "Early-career exchange on",
    "Benchmarking",
    "Field trials of",
    "Shared testbed for",
    "Long-term monitoring of",
    "Clinical cohort on",
    "Doctoral network on",
    "Methods for",
    "Standards for",
    "Sensors for",
    "Safety of",
    "Governance of",
    "Life-cycle analysis of",
];

const LEADS: [&str; 10] = [
    "Prof. Anna de Vries",
    "Dr. Lukas Meyer",
    "Prof. Sofia Lindqvist",
    "Dr. Marc Dubois",
    "Prof. Elena Rossi",
    "Dr. Jan Peeters",
    "Prof. Katarzyna Nowak",
    "Dr. Tomás García",
    "Prof. Ingrid Hansen",
    "Dr. Pieter Janssens",
];

/// Accounts created for the demonstration: one officer per institution, two reviewers, one admin.
pub struct DemoAccounts {
    pub institutions: Vec<(Uuid, Uuid)>,
    pub reviewers: Vec<Uuid>,
}

async fn account(
    state: &AppState,
    hash: &str,
    email: &str,
    name: &str,
    role: &str,
    institution: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    if let Some(u) = db::users::by_email(state.pool(), email).await? {
        return Ok(u.id);
    }
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO users (id, email, display_name, role, institution_id, password_hash) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(email)
        .bind(name)
        .bind(role)
        .bind(institution)
        .bind(hash)
        .execute(state.pool())
        .await?;
    Ok(id)
}

pub async fn accounts(state: &AppState) -> anyhow::Result<DemoAccounts> {
    let hash = hash_password(DEMO_PASSWORD.to_owned()).await?;
    let mut institutions = Vec::new();
    for (i, name) in INSTITUTIONS.iter().enumerate() {
        let existing = db::users::institutions(state.pool())
            .await?
            .into_iter()
            .find(|x| x.name == *name);
        let id = match existing {
            Some(x) => x.id,
            None => {
                let mut tx = state.pool().begin().await?;
                let id = db::users::insert_institution(&mut tx, name)
                    .await?
                    .context("institution")?;
                tx.commit().await?;
                id
            }
        };
        let officer = account(
            state,
            &hash,
            &format!("officer{}@triage.demo", i + 1),
            &format!("Officer, {name}"),
            "officer",
            Some(id),
        )
        .await?;
        institutions.push((id, officer));
    }
    let reviewers = vec![
        account(
            state,
            &hash,
            "reviewer1@triage.demo",
            "Reviewer One",
            "reviewer",
            None,
        )
        .await?,
        account(
            state,
            &hash,
            "reviewer2@triage.demo",
            "Reviewer Two",
            "reviewer",
            None,
        )
        .await?,
    ];
    account(
        state,
        &hash,
        "admin@triage.demo",
        "Demo Administrator",
        "admin",
        None,
    )
    .await?;
    Ok(DemoAccounts {
        institutions,
        reviewers,
    })
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// Answers of one generated case: mostly careful, with some gaps and some red flags.
fn answers(state: &AppState, rulebook: &Rulebook, rng: &mut fastrand::Rng) -> Answers {
    let mut a = Answers::default();
    let area = pick(rng, rulebook.areas());
    let sub = pick(rng, &area.sub_areas);
    a.set(contract::AREA, Some(AnswerValue::Text(area.code.clone())));
    a.set(
        contract::SUB_AREA,
        Some(AnswerValue::Text(sub.code.clone())),
    );
    // A third of the officers are thorough: everything answered, nothing alarming.
    let careful = rng.f64() < 0.35;
    let diligence = if careful { 1.0 } else { rng.f64() };
    for q in rulebook.steps().iter().flat_map(|s| &s.questions) {
        if matches!(
            q.id.as_str(),
            "area" | "sub_area" | "partner_name" | "partner_location" | "benefit_notes"
        ) {
            continue;
        }
        if rng.f64() > 0.35 + diligence * 0.65 {
            continue; // left unanswered
        }
        let value = match q.kind {
            QuestionKind::Yn => {
                let risky_yes = matches!(
                    q.id.as_str(),
                    "intended_military_use"
                        | "surveillance_use"
                        | "germline_editing"
                        | "partner_restricted_list"
                );
                let good_yes = matches!(
                    q.id.as_str(),
                    "affiliations_disclosed"
                        | "local_rules_checked"
                        | "publication_freedom"
                        | "fair_contribution"
                        | "mobility_equal"
                        | "ethics_approval_both"
                        | "specialist_review"
                );
                let roll = if careful { 0.5 } else { rng.f64() };
                let v = if roll < 0.06 {
                    "unknown"
                } else if risky_yes {
                    if roll < 0.09 { "yes" } else { "no" }
                } else if good_yes {
                    if roll < 0.85 { "yes" } else { "no" }
                } else if roll < 0.25 {
                    "yes"
                } else {
                    "no"
                };
                AnswerValue::Text(v.to_owned())
            }
            QuestionKind::One if careful => {
                let safe = match q.id.as_str() {
                    "equal_access" => "full",
                    "ipr_agreement" => "signed",
                    "export_licence" => "obtained",
                    "partner_type" => "university",
                    _ => "",
                };
                let options = rulebook.options(q);
                AnswerValue::Text(if safe.is_empty() {
                    pick(rng, &options).0.clone()
                } else {
                    safe.to_owned()
                })
            }
            QuestionKind::One => {
                let options = rulebook.options(q);
                AnswerValue::Text(pick(rng, &options).0.clone())
            }
            QuestionKind::Many if careful && q.id == "partner_funding" => {
                AnswerValue::Many(vec!["nsfc".to_owned()])
            }
            QuestionKind::Many if careful && q.id == "animal_research" => {
                AnswerValue::Many(vec!["none".to_owned()])
            }
            QuestionKind::Many => {
                let options: Vec<&str> = q
                    .options
                    .iter()
                    .filter(|c| !c.exclusive && c.value != "unknown")
                    .map(|c| c.value.as_str())
                    .collect();
                let mut chosen: Vec<String> = options
                    .iter()
                    .filter(|_| rng.f64() < 0.3)
                    .map(|s| (*s).to_owned())
                    .collect();
                if q.id == "animal_research" && chosen.is_empty() {
                    chosen.push("none".to_owned());
                }
                if q.id == "partner_funding" {
                    chosen.retain(|v| v != "military_defence" || rng.f64() < 0.2);
                }
                if q.id == "visitor_funding" {
                    chosen.retain(|v| v != "military_sponsor" || rng.f64() < 0.2);
                }
                AnswerValue::Many(chosen)
            }
            QuestionKind::Text => continue,
        };
        if let Ok(v) = crate::domain::answers::check_value(rulebook, &q.id, value) {
            a.set(&q.id, v);
        }
    }
    let register = state.register_now();
    let partner = if careful {
        (*pick(rng, &OTHER_PARTNERS)).to_owned()
    } else if rng.f64() < 0.55 {
        // Demo partners come from the curated register: official lists hold companies
        // more than research partners.
        let curated: Vec<&crate::screening::Entry> = register
            .entries()
            .iter()
            .filter(|e| e.list == crate::screening::List::Curated)
            .collect();
        let e = *pick(rng, &curated);
        let spellings: Vec<&str> = e.all_names().map(|(n, _)| n).collect();
        let chosen = (*pick(rng, &spellings)).to_owned();
        if rng.f64() < 0.2 {
            chosen.to_uppercase()
        } else {
            chosen
        }
    } else {
        (*pick(rng, &OTHER_PARTNERS)).to_owned()
    };
    a.set(contract::PARTNER_NAME, Some(AnswerValue::Text(partner)));
    if rng.f64() < 0.4 {
        a.set(
            contract::BENEFIT_NOTES,
            Some(AnswerValue::Text(
                "Access to a large cohort and shared equipment; joint PhD supervision.".to_owned(),
            )),
        );
    }
    asked_answers(rulebook, &a)
}

/// Fills the database with `n` cases evaluated with `rulebook` (the configured one, which
/// need not be the active one: demo cases of an older revision show what a newer changes);
/// returns how many were written.
pub async fn seed(
    state: &AppState,
    rulebook: &Rulebook,
    n: usize,
    seed: u64,
) -> anyhow::Result<usize> {
    // The cases refer to the rulebook version that computed them.
    db::rulebooks::record(state.pool(), rulebook, None).await?;
    let accounts = accounts(state).await?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let now = OffsetDateTime::now_utc();
    let mut written = 0;
    while written < n {
        let batch = (n - written).min(250);
        let mut tx = state.pool().begin().await?;
        for _ in 0..batch {
            let (institution_id, officer_id) = *pick(&mut rng, &accounts.institutions);
            let reviewer_id = *pick(&mut rng, &accounts.reviewers);
            let answers = answers(state, rulebook, &mut rng);
            let register = state.register_now();
            let hits = answers
                .text(contract::PARTNER_NAME)
                .map(|p| register_hits(&register.screen(p), &[]))
                .unwrap_or_default();
            let evaluation = evaluate_screened(rulebook, &answers, &hits);
            let area_name = answers
                .text(contract::SUB_AREA)
                .and_then(|s| rulebook.sub_area(s))
                .map_or_else(String::new, |(_, s)| s.name.to_lowercase());
            let partner = answers
                .text(contract::PARTNER_NAME)
                .unwrap_or_default()
                .to_owned();
            let created_at = now
                - time::Duration::days(rng.i64(10..730))
                - time::Duration::minutes(rng.i64(0..1440));
            let roll = rng.f64();
            let status = match roll {
                r if r < 0.12 => "draft",
                r if r < 0.35 => "submitted",
                r if r < 0.43 => "returned",
                r if r < 0.52 => "resubmitted",
                _ => "decided",
            };
            let first = created_at + time::Duration::days(rng.i64(1..20));
            let submissions = match status {
                "draft" => vec![],
                "submitted" | "returned" => vec![first],
                "resubmitted" => vec![first, first + time::Duration::days(rng.i64(5..30))],
                _ => {
                    if rng.f64() < 0.3 {
                        vec![first, first + time::Duration::days(rng.i64(5..30))]
                    } else {
                        vec![first]
                    }
                }
            };
            let submissions: Vec<OffsetDateTime> =
                submissions.into_iter().map(|t| t.min(now)).collect();
            let return_message = (matches!(status, "returned" | "resubmitted") || submissions.len() > 1)
                .then(|| "Please attach the legal compliance review and say who funds the partner's part.".to_owned());
            let decision = (status == "decided").then(|| {
                let computed = evaluation.verdict.code();
                if rng.f64() < 0.75 {
                    ("endorse", computed.to_owned(), String::new(), vec![])
                } else {
                    let other = match computed {
                        "green" => "orange",
                        "orange" => if rng.bool() { "red" } else { "green" },
                        _ => "orange",
                    };
                    (
                        "override",
                        other.to_owned(),
                        "The committee weighed the benefits and the partner's record differently from the rules; see the minutes.".to_owned(),
                        vec!["Export-control check before start".to_owned(), "Annual report to the committee".to_owned()],
                    )
                }
            });
            let mut comments = Vec::new();
            if status != "draft" {
                for _ in 0..rng.usize(0..3) {
                    let finding = evaluation
                        .findings
                        .first()
                        .filter(|_| rng.bool())
                        .map(|f| f.code.clone());
                    comments.push((
                        rng.bool(),
                        finding,
                        "Discussed with the research-security committee.".to_owned(),
                    ));
                }
            }
            let case = DemoCase {
                institution_id,
                officer_id,
                reviewer_id,
                title: format!("{} {} with {}", pick(&mut rng, &TOPICS), area_name, partner),
                summary: format!("A {}-month collaboration on {area_name}.", rng.i64(12..60)),
                lead_researcher: (*pick(&mut rng, &LEADS)).to_owned(),
                partner_normalised: Some(grouping_key(&partner)),
                answers,
                evaluation,
                status,
                created_at,
                submissions,
                return_message,
                decision,
                comments,
            };
            db::demo::insert_case(&mut tx, &case).await?;
        }
        tx.commit().await?;
        written += batch;
    }
    Ok(written)
}
