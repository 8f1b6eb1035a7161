//! The assessment wizard: one page per rulebook step, saved as a draft at every
//! step, a review page, submission, and the result memo.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use uuid::Uuid;

use crate::db;
use crate::db::assessments::{Assessment, Saved};
use crate::db::audit::Entry;
use crate::db::projects::Project;
use crate::db::screening::IdentityRow;
use crate::domain::answers::{AnswerValue, Answers, FieldError, check_value};
use crate::domain::contract;
use crate::domain::lifecycle::{Status, Transition};
use crate::domain::rulebook::{Colour, Condition, OptionsFrom, Question, QuestionKind, Rulebook};
use crate::domain::verdict::{Evaluation, FindingCounts, Identity, asked_answers, is_asked};
use crate::error::{AppError, AppResult};
use crate::screening::Certainty;
use crate::screening::grouping_key;
use crate::state::AppState;
use crate::state::register_hits;
use crate::web::extract::{CaseOf, OfficerOnly, Path, Query, load_visible};
use crate::web::forms::{FormPairs, Typed};
use crate::web::layout::{Layout, NoticeQuery, datetime, notice, ok, render};
use crate::web::register::{ScreeningView, screening_view};
use crate::web::session::{Ctx, Signed};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/assessments/{id}/steps/{step}",
            get(step_get).post(step_post),
        )
        .route("/assessments/{id}/review", get(review_get))
        .route("/assessments/{id}/submit", post(submit_post))
}

/// An assessment with its project, loaded together for every page.
pub struct Case {
    pub assessment: Assessment,
    pub project: Project,
}

impl Case {
    pub fn status(&self) -> Status {
        self.assessment.status
    }
}

/// The case of an officer's editing route, when its answers may change now: a locked
/// one is a conflict (someone else's was already not found).
fn editable(c: CaseOf<OfficerOnly>) -> AppResult<(Signed, Case)> {
    if !c.case.status().is_editable() {
        return Err(AppError::Conflict(
            "This assessment has been submitted, so its answers are locked and nothing was changed.".into(),
        ));
    }
    Ok((c.s, c.case))
}

/// A step number from the path, 1-based; anything else is not found.
fn step_index(rulebook: &Rulebook, number: usize) -> AppResult<usize> {
    if (1..=rulebook.steps().len()).contains(&number) {
        Ok(number - 1)
    } else {
        Err(AppError::NotFound)
    }
}

// ----- views -----

pub struct StepNav {
    pub number: usize,
    pub title: String,
    pub current: bool,
    pub answered: usize,
    pub total: usize,
}

pub struct OptionView {
    pub value: String,
    pub label: String,
    pub help: Option<String>,
    pub checked: bool,
}

pub struct GroupView {
    pub label: String,
    pub options: Vec<OptionView>,
}

pub struct QuestionView {
    pub id: String,
    /// How it is drawn: radio, select, checkbox, text or textarea.
    pub control: &'static str,
    pub label: String,
    pub help: String,
    /// How to find the answer, when the rulebook says.
    pub how: Option<String>,
    pub source: Option<String>,
    pub required: bool,
    pub options: Vec<OptionView>,
    pub groups: Vec<GroupView>,
    pub text: String,
    pub max_length: Option<usize>,
    pub placeholder: Option<String>,
    pub error: Option<String>,
    /// Branching, for the script and for readers without it: (question, value, sentence).
    pub condition: Option<(String, String, String)>,
    /// On a conflict: the answer saved by someone else, when it differs.
    pub newer: Option<String>,
}

pub struct ErrorLink {
    pub field: String,
    pub label: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "assessments/step.html")]
struct StepPage {
    layout: Layout,
    project: Project,
    assessment_id: Uuid,
    lock_version: i32,
    number: usize,
    total: usize,
    title: String,
    intro: String,
    steps: Vec<StepNav>,
    questions: Vec<QuestionView>,
    errors: Vec<ErrorLink>,
    /// The register screening of the typed partner name, on the partner step.
    partner: Option<ScreeningView>,
    verdict: Colour,
    counts: FindingCounts,
    conflict: Option<String>,
    request: Option<String>,
}

fn typed_from_answers(answers: &Answers) -> Typed {
    answers
        .iter()
        .map(|(k, v)| {
            let values = match v {
                AnswerValue::Text(s) => vec![s.clone()],
                AnswerValue::Many(list) => list.clone(),
            };
            (k.clone(), values)
        })
        .collect()
}

fn question_view(
    rulebook: &Rulebook,
    q: &Question,
    typed: &Typed,
    errors: &[FieldError],
) -> QuestionView {
    let values: &[String] = typed.get(&q.id).map(Vec::as_slice).unwrap_or(&[]);
    let option = |value: &str, label: &str, help: Option<&String>| OptionView {
        value: value.to_owned(),
        label: label.to_owned(),
        help: help.cloned(),
        checked: values.iter().any(|v| v == value),
    };
    let mut options = Vec::new();
    let mut groups = Vec::new();
    let control = match (q.kind, q.options_from) {
        (QuestionKind::Text, _) if q.max_length.unwrap_or(0) > 300 => "textarea",
        (QuestionKind::Text, _) => "text",
        (_, Some(OptionsFrom::SubAreas)) => {
            for area in rulebook.areas() {
                groups.push(GroupView {
                    label: area.name.clone(),
                    options: area
                        .sub_areas
                        .iter()
                        .map(|s| {
                            let mut notes = vec![s.colour.word()];
                            if s.dual_use {
                                notes.push("dual use");
                            }
                            option(&s.code, &format!("{} ({})", s.name, notes.join(", ")), None)
                        })
                        .collect(),
                });
            }
            "select"
        }
        (_, Some(OptionsFrom::Areas)) => {
            for area in rulebook.areas() {
                let help = format!("{}: {}", area.colour.word(), area.source);
                options.push(option(&area.code, &area.name, Some(&help)));
            }
            "radio"
        }
        (QuestionKind::Many, _) => {
            options = q
                .options
                .iter()
                .map(|c| option(&c.value, &c.label, c.help.as_ref()))
                .collect();
            "checkbox"
        }
        _ => {
            options = rulebook
                .options(q)
                .into_iter()
                .map(|(value, label)| {
                    let help = q
                        .options
                        .iter()
                        .find(|c| c.value == value)
                        .and_then(|c| c.help.as_ref());
                    option(&value, &label, help)
                })
                .collect();
            "radio"
        }
    };
    let condition = match &q.asked_when {
        Some(Condition::Is { question, value }) => rulebook.question(question).map(|parent| {
            let sentence = format!(
                "Asked only when \u{201c}{}\u{201d} is answered \u{201c}{}\u{201d}.",
                parent.short,
                rulebook.option_label(parent, value)
            );
            (question.clone(), value.clone(), sentence)
        }),
        _ => None,
    };
    QuestionView {
        id: q.id.clone(),
        control,
        label: q.label.clone(),
        help: q.help.clone(),
        how: q.how.clone(),
        source: q.source.clone(),
        required: q.required,
        options,
        groups,
        text: values.first().cloned().unwrap_or_default(),
        max_length: q.max_length,
        placeholder: q.placeholder.clone(),
        error: errors
            .iter()
            .find(|e| e.field == q.id)
            .map(|e| e.message.clone()),
        condition,
        newer: None,
    }
}

/// Progress per step: how many of the asked questions have an answer.
fn step_navigation(rulebook: &Rulebook, answers: &Answers, current: usize) -> Vec<StepNav> {
    rulebook
        .steps()
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let asked: Vec<&Question> = step
                .questions
                .iter()
                .filter(|q| is_asked(rulebook, q, answers))
                .collect();
            StepNav {
                number: i + 1,
                title: step.title.clone(),
                current: i == current,
                answered: asked.iter().filter(|q| answers.is_answered(&q.id)).count(),
                total: asked.len(),
            }
        })
        .collect()
}

struct StepRender<'a> {
    case: &'a Case,
    rulebook: &'a Rulebook,
    index: usize,
    typed: Typed,
    errors: Vec<FieldError>,
    partner: Option<ScreeningView>,
    lock_version: i32,
    conflict: Option<(String, Answers)>,
    notice: Option<&'static str>,
    /// A reviewer's request, when the case was returned.
    request: Option<String>,
}

fn step_page(state: &AppState, ctx: &Ctx, r: StepRender<'_>) -> StepPage {
    let step = &r.rulebook.steps()[r.index];
    let answers = &r.case.assessment.answers.0;
    let mut questions: Vec<QuestionView> = step
        .questions
        .iter()
        .map(|q| question_view(r.rulebook, q, &r.typed, &r.errors))
        .collect();
    if let Some((_, newer)) = &r.conflict {
        for (view, q) in questions.iter_mut().zip(&step.questions) {
            let mine = r.typed.get(&q.id).cloned().unwrap_or_default();
            let theirs = typed_from_answers(newer).remove(&q.id).unwrap_or_default();
            if mine != theirs {
                view.newer = Some(answer_text(r.rulebook, q, newer.get(&q.id)));
            }
        }
    }
    let errors = r
        .errors
        .iter()
        .map(|e| ErrorLink {
            field: e.field.clone(),
            label: r
                .rulebook
                .question(&e.field)
                .map_or_else(|| e.field.clone(), |q| q.short.clone()),
            message: e.message.clone(),
        })
        .collect();
    let evaluation = &r.case.assessment.evaluation.0;
    StepPage {
        layout: Layout::new(
            state,
            ctx,
            format!("{} \u{2013} {}", step.title, r.case.project.title),
            "projects",
        )
        .with_notice(r.notice),
        project: r.case.project.clone(),
        assessment_id: r.case.assessment.id,
        lock_version: r.lock_version,
        number: r.index + 1,
        total: r.rulebook.steps().len(),
        title: step.title.clone(),
        intro: step.intro.clone(),
        steps: step_navigation(r.rulebook, answers, r.index),
        questions,
        errors,
        partner: r.partner,
        verdict: evaluation.verdict,
        counts: evaluation.counts(),
        conflict: r.conflict.map(|(message, _)| message),
        request: r.request,
    }
}

/// The screening of the typed partner name, with what was decided on this case.
async fn partner_view(
    state: &AppState,
    typed: &Typed,
    decisions: &[IdentityRow],
) -> AppResult<Option<ScreeningView>> {
    let Some(name) = typed.get(contract::PARTNER_NAME).and_then(|v| v.first()) else {
        return Ok(None);
    };
    if name.trim().is_empty() {
        return Ok(None);
    }
    let (_, screening) = state.screen(name).await?;
    let hits = register_hits(&screening, decisions);
    Ok(Some(screening_view(&screening, &hits)))
}

/// The officer's answer to "Is this the same organisation?", when given.
fn identity_answer(form: &FormPairs) -> Result<Option<(String, Identity)>, FieldError> {
    let Some(entry) = form
        .first("partner_identity_entry")
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    let decision = match form.first("partner_identity").unwrap_or_default() {
        "" => return Ok(None),
        "same" => Identity::Same,
        "different" => Identity::Different,
        _ => {
            return Err(FieldError::new(
                contract::PARTNER_NAME,
                "Answer whether the register entry is the same organisation: yes or no.",
            ));
        }
    };
    Ok(Some((entry.chars().take(200).collect(), decision)))
}

async fn step_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
    Path((_, step)): Path<(uuid::Uuid, usize)>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    if !case.status().is_editable() {
        return Ok(Redirect::to(&format!("/assessments/{}", case.assessment.id)).into_response());
    }
    let rulebook = state.active_rulebook().await?;
    let index = step_index(&rulebook, step)?;
    let typed = typed_from_answers(&case.assessment.answers.0);
    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let partner = partner_view(&state, &typed, &decisions).await?;
    let lock_version = case.assessment.lock_version;
    let request = if case.status() == Status::Returned {
        db::review::returns(state.pool(), case.assessment.id)
            .await?
            .pop()
            .map(|r| r.message)
    } else {
        None
    };
    ok(&step_page(
        &state,
        &s.ctx,
        StepRender {
            case: &case,
            rulebook: &rulebook,
            index,
            typed,
            errors: Vec::new(),
            partner,
            lock_version,
            conflict: None,
            notice: notice(q.notice.as_deref()),
            request,
        },
    ))
}

/// Where the officer goes after saving a step.
enum Action {
    Next,
    Back,
    Save,
    /// Save and show the register screening of the typed partner name.
    Check,
}

async fn step_post(
    State(state): State<AppState>,
    case: CaseOf<OfficerOnly>,
    Path((_, step)): Path<(uuid::Uuid, usize)>,
    form: FormPairs,
) -> AppResult<Response> {
    let (s, case) = editable(case)?;
    let rulebook = state.active_rulebook().await?;
    let index = step_index(&rulebook, step)?;
    let action = match form.first("_action") {
        Some("back") => Action::Back,
        Some("save") => Action::Save,
        Some("check") => Action::Check,
        _ => Action::Next,
    };
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };

    // Apply this step's fields to the saved answers; every field of the step is on the
    // page, so a missing checkbox group means "none ticked".
    let step_def = &rulebook.steps()[index];
    let mut answers = case.assessment.answers.0.clone();
    let mut typed = typed_from_answers(&answers);
    let mut errors = Vec::new();
    for q in &step_def.questions {
        let value = match q.kind {
            QuestionKind::Many => AnswerValue::Many(form.all(&q.id)),
            _ => AnswerValue::Text(form.first(&q.id).unwrap_or_default().to_owned()),
        };
        typed.insert(
            q.id.clone(),
            match &value {
                AnswerValue::Text(s) => vec![s.clone()],
                AnswerValue::Many(v) => v.clone(),
            },
        );
        match check_value(&rulebook, &q.id, value) {
            Ok(v) => answers.set(&q.id, v),
            Err(message) => errors.push(FieldError::new(&q.id, message)),
        }
    }
    let on_this_step = |e: &FieldError| step_def.questions.iter().any(|q| q.id == e.field);
    errors.extend(
        answers
            .cross_field_errors(&rulebook, false)
            .into_iter()
            .filter(on_this_step),
    );
    if matches!(action, Action::Next) {
        for q in step_def.questions.iter().filter(|q| q.required) {
            if !answers.is_answered(&q.id) && !errors.iter().any(|e| e.field == q.id) {
                errors.push(FieldError::new(&q.id, "Required before you go on."));
            }
        }
    }
    let identity = match identity_answer(&form) {
        Ok(answer) => answer,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    if !errors.is_empty() {
        let partner = partner_view(&state, &typed, &decisions).await?;
        let page = step_page(
            &state,
            &s.ctx,
            StepRender {
                case: &case,
                rulebook: &rulebook,
                index,
                typed,
                errors,
                partner,
                lock_version,
                conflict: None,
                notice: None,
                request: None,
            },
        );
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }

    let answers = asked_answers(&rulebook, &answers);
    let target = match action {
        Action::Next => index + 1,
        Action::Back => index.saturating_sub(1),
        Action::Save | Action::Check => index,
    };
    // The answer counts only for a possible match of the name being saved.
    let identity = match (identity, answers.text(contract::PARTNER_NAME)) {
        (Some((entry, decision)), Some(name)) => {
            let (_, screening) = state.screen(name).await?;
            screening
                .hits
                .iter()
                .any(|h| h.entry.id == entry && h.certainty == Certainty::Possible)
                .then_some((entry, decision))
        }
        _ => None,
    };
    if let Some((entry, decision)) = &identity {
        decisions.retain(|d| &d.entry_id != entry);
        decisions.push(IdentityRow {
            entry_id: entry.clone(),
            decision: if *decision == Identity::Same {
                "same"
            } else {
                "different"
            }
            .to_owned(),
            reason: String::new(),
            decided_by: s.user.id,
            decided_by_name: s.user.display_name.clone(),
            decided_at: time::OffsetDateTime::now_utc(),
        });
    }
    let (evaluation, _) = state.evaluate_with(&rulebook, &answers, &decisions).await?;
    let saved = Saved {
        answers: &answers,
        evaluation: &evaluation,
        current_step: (target.min(rulebook.steps().len() - 1) + 1) as i32,
        partner_normalised: answers.text(contract::PARTNER_NAME).map(grouping_key),
    };
    let changed = changed_answers(&rulebook, &case.assessment.answers.0, &answers);
    let mut tx = state.pool().begin().await?;
    if !db::assessments::save_draft(&mut tx, case.assessment.id, lock_version, &saved).await? {
        tx.rollback().await?;
        return conflict_page(
            &state,
            &s,
            &rulebook,
            index,
            typed,
            lock_version,
            case.assessment.id,
        )
        .await;
    }
    if let Some((entry, decision)) = &identity {
        db::screening::set_identity(&mut tx, case.assessment.id, entry, *decision, "", s.user.id)
            .await?;
        let name = evaluation
            .register_hits()
            .into_iter()
            .find(|h| &h.entry_id == entry)
            .map_or_else(|| entry.clone(), |h| h.entry);
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "assessment.partner_identity",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!(
                    "Answered that the partner is {} the register entry {name}",
                    if *decision == Identity::Same { "the same organisation as" } else { "not" }
                ),
                details: serde_json::json!({ "entry": entry, "decision": if *decision == Identity::Same { "same" } else { "different" } }),
            },
        )
        .await?;
    }
    if !changed.is_empty() {
        let names: Vec<&str> = changed.iter().map(|c| c.label.as_str()).collect();
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "assessment.edit",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!("Step {}: changed {}", index + 1, names.join(", ")),
                details: serde_json::to_value(&changed).unwrap_or_default(),
            },
        )
        .await?;
    }
    tx.commit().await?;

    let id = case.assessment.id;
    let location = match action {
        Action::Next if target >= rulebook.steps().len() => format!("/assessments/{id}/review"),
        Action::Save => format!("/assessments/{id}/steps/{}?notice=saved", target + 1),
        Action::Check => format!("/assessments/{id}/steps/{}#partner-screening", target + 1),
        _ => format!("/assessments/{id}/steps/{}", target + 1),
    };
    Ok(Redirect::to(&location).into_response())
}

/// Someone saved the draft after this form was opened: show what they saved next to
/// what was typed, and let the officer save again knowingly.
async fn conflict_page(
    state: &AppState,
    s: &Signed,
    rulebook: &Rulebook,
    index: usize,
    typed: Typed,
    my_version: i32,
    id: Uuid,
) -> AppResult<Response> {
    let case = load_visible(state, s, id).await?;
    if !case.status().is_editable() {
        return Err(AppError::Conflict(
            "While you were editing, this assessment was submitted, so its answers are locked. \
             Your entries on this page were not saved."
                .into(),
        ));
    }
    tracing::info!(assessment = %id, my_version, newer = case.assessment.lock_version, "edit conflict");
    let message = format!(
        "Someone else saved this draft at {} while you were editing. Nothing you typed was saved. \
         Your entries are kept below; where the newer saved answer differs it is shown under the question. \
         Save again to keep your entries, or reload the step to take the newer answers.",
        datetime(&case.assessment.updated_at)
    );
    let newer = case.assessment.answers.0.clone();
    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let partner = partner_view(state, &typed, &decisions).await?;
    let lock_version = case.assessment.lock_version;
    let page = step_page(
        state,
        &s.ctx,
        StepRender {
            case: &case,
            rulebook,
            index,
            typed,
            errors: Vec::new(),
            partner,
            lock_version,
            conflict: Some((message, newer)),
            notice: None,
            request: None,
        },
    );
    render(StatusCode::CONFLICT, &page)
}

// ----- review and submission -----

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

#[derive(Template)]
#[template(path = "assessments/review.html")]
struct ReviewPage {
    layout: Layout,
    project: Project,
    assessment_id: Uuid,
    lock_version: i32,
    steps: Vec<StepAnswers>,
    unanswered: usize,
    evaluation: Evaluation,
    errors: Vec<ErrorLink>,
}

fn review_page(
    state: &AppState,
    ctx: &Ctx,
    rulebook: &Rulebook,
    case: Case,
    errors: Vec<ErrorLink>,
) -> ReviewPage {
    let answers = &case.assessment.answers.0;
    let steps = answers_by_step(rulebook, answers);
    let unanswered = steps
        .iter()
        .flat_map(|s| &s.rows)
        .filter(|r| !r.answered)
        .count();
    ReviewPage {
        layout: Layout::new(
            state,
            ctx,
            format!("Review \u{2013} {}", case.project.title),
            "projects",
        ),
        lock_version: case.assessment.lock_version,
        assessment_id: case.assessment.id,
        evaluation: case.assessment.evaluation.0.clone(),
        project: case.project,
        steps,
        unanswered,
        errors,
    }
}

async fn review_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
) -> AppResult<Response> {
    if !case.status().is_editable() {
        return Ok(Redirect::to(&format!("/assessments/{}", case.assessment.id)).into_response());
    }
    let rulebook = state.active_rulebook().await?;
    ok(&review_page(&state, &s.ctx, &rulebook, case, Vec::new()))
}

async fn submit_post(
    State(state): State<AppState>,
    case: CaseOf<OfficerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let (s, case) = editable(case)?;
    let rulebook = state.active_rulebook().await?;
    let Some(lock_version) = form.version() else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".into(),
        ));
    };
    let Some(next) = case.status().after(Transition::Submit) else {
        return Err(AppError::Conflict(
            "This assessment cannot be submitted now; nothing was changed.".into(),
        ));
    };
    // Re-check everything against the active rulebook: it may have changed since the draft began.
    let answers = asked_answers(&rulebook, &case.assessment.answers.0);
    let json = serde_json::to_value(&answers).map_err(anyhow::Error::from)?;
    let mut problems: Vec<FieldError> = Answers::from_json(&rulebook, &json)
        .err()
        .unwrap_or_default();
    if problems.is_empty() && lock_version != case.assessment.lock_version {
        problems.push(FieldError::new(
            "",
            "The draft changed after you opened this page. Check the answers below, then submit again.",
        ));
    }
    if !problems.is_empty() {
        let errors = problems
            .into_iter()
            .map(|e| ErrorLink {
                label: rulebook
                    .question(&e.field)
                    .map_or_else(String::new, |q| q.short.clone()),
                field: e.field,
                message: e.message,
            })
            .collect();
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &review_page(&state, &s.ctx, &rulebook, case, errors),
        );
    }

    let decisions = db::screening::identities(state.pool(), case.assessment.id).await?;
    let (evaluation, _) = state.evaluate_with(&rulebook, &answers, &decisions).await?;
    let saved = Saved {
        answers: &answers,
        evaluation: &evaluation,
        current_step: rulebook.steps().len() as i32,
        partner_normalised: answers.text(contract::PARTNER_NAME).map(grouping_key),
    };
    let mut tx = state.pool().begin().await?;
    let saved_ok =
        db::assessments::save_draft(&mut tx, case.assessment.id, lock_version, &saved).await?;
    let submitted = saved_ok
        && db::assessments::mark_submitted(
            &mut tx,
            case.assessment.id,
            case.status().code(),
            next.code(),
            s.user.id,
        )
        .await?;
    if !submitted {
        // Nothing is written: the draft stays exactly as it was.
        tx.rollback().await?;
        return Err(AppError::Conflict(
            "The draft changed while you were submitting it. Nothing was submitted; open the review page again.".into(),
        ));
    }
    let number = db::review::insert_submission(
        &mut tx,
        case.assessment.id,
        &answers,
        &evaluation,
        s.user.id,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: if next == Status::Resubmitted {
                "assessment.resubmit"
            } else {
                "assessment.submit"
            },
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!(
                "Submission {number}: computed verdict {}",
                evaluation.verdict.word()
            ),
            details: serde_json::json!({
                "submission": number,
                "verdict": evaluation.verdict.code(),
                "rulebook_version": evaluation.rulebook_version,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(assessment = %case.assessment.id, verdict = %evaluation.verdict, "assessment submitted");
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=submitted",
        case.assessment.id
    ))
    .into_response())
}

/// One changed answer, for the audit log and the comparison of submissions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangedAnswer {
    pub question: String,
    pub label: String,
    pub before: String,
    pub after: String,
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
        })
        .collect()
}
