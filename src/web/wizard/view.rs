//! The view models of a step page, and how they are built from the rulebook, the
//! saved answers and what was typed.

use askama::Template;
use uuid::Uuid;

use crate::db::projects::Project;
use crate::db::screening::IdentityRow;
use crate::domain::answers::{AnswerValue, Answers, FieldError};
use crate::domain::contract;
use crate::domain::rulebook::{Colour, Condition, OptionsFrom, Question, QuestionKind, Rulebook};
use crate::domain::verdict::{FindingCounts, is_asked};
use crate::error::AppResult;
use crate::state::{AppState, register_hits};
use crate::web::forms::Typed;
use crate::web::layout::Layout;
use crate::web::register::{ScreeningView, screening_view};
use crate::web::session::Ctx;

use super::Case;
use super::answers::answer_text;

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
pub(super) struct StepPage {
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
    /// The case reference, shown beside the step count.
    reference: String,
    /// Opened from "Change" on the check-answers page: saving goes back there.
    return_to_review: bool,
}

pub(super) fn typed_from_answers(answers: &Answers) -> Typed {
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

pub(super) fn question_view(
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
pub(super) fn step_navigation(
    rulebook: &Rulebook,
    answers: &Answers,
    current: usize,
) -> Vec<StepNav> {
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

pub(super) struct StepRender<'a> {
    pub(super) case: &'a Case,
    pub(super) rulebook: &'a Rulebook,
    pub(super) index: usize,
    pub(super) typed: Typed,
    pub(super) errors: Vec<FieldError>,
    pub(super) partner: Option<ScreeningView>,
    pub(super) lock_version: i32,
    pub(super) conflict: Option<(String, Answers)>,
    pub(super) notice: Option<&'static str>,
    /// A reviewer's request, when the case was returned.
    pub(super) request: Option<String>,
    pub(super) return_to_review: bool,
}

pub(super) fn step_page(state: &AppState, ctx: &Ctx, r: StepRender<'_>) -> StepPage {
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
        reference: r.case.assessment.reference.clone(),
        return_to_review: r.return_to_review,
    }
}

/// The screening of the typed partner name, with what was decided on this case.
pub(super) async fn partner_view(
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
