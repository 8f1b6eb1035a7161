//! Answers to the questionnaire, validated against a rulebook.
//!
//! The same validation serves the JSON API and the wizard's forms, so a value the
//! API refuses can never be stored through the browser either.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::contract;
use super::rulebook::{QuestionKind, Rulebook};

/// One answer: `yn`, `one` and `text` answers are strings, `many` answers are lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    Text(String),
    Many(Vec<String>),
}

/// A complete or partial set of answers, keyed by question id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(BTreeMap<String, AnswerValue>);

/// A validation message attached to the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Answers {
    /// The answer to a question, if any.
    pub fn get(&self, id: &str) -> Option<&AnswerValue> {
        self.0.get(id)
    }

    /// A string answer, if the question was answered with a string.
    pub fn text(&self, id: &str) -> Option<&str> {
        match self.0.get(id) {
            Some(AnswerValue::Text(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    /// A list answer, or an empty slice.
    pub fn list(&self, id: &str) -> &[String] {
        match self.0.get(id) {
            Some(AnswerValue::Many(v)) => v,
            _ => &[],
        }
    }

    /// Whether the question has a real answer (not missing, not blank, not an empty list).
    pub fn is_answered(&self, id: &str) -> bool {
        match self.0.get(id) {
            None => false,
            Some(AnswerValue::Text(s)) => !s.trim().is_empty(),
            Some(AnswerValue::Many(v)) => !v.is_empty(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &AnswerValue)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets or clears (with `None`) an answer without validation; callers validate.
    pub fn set(&mut self, id: &str, value: Option<AnswerValue>) {
        match value {
            Some(v) => self.0.insert(id.to_owned(), v),
            None => self.0.remove(id),
        };
    }

    /// Validates the `answers` object of an API request, naming every bad field at once.
    pub fn from_json(
        rulebook: &Rulebook,
        value: &serde_json::Value,
    ) -> Result<Answers, Vec<FieldError>> {
        let Some(object) = value.as_object() else {
            return Err(vec![FieldError::new(
                "answers",
                "must be an object of question ids to answers",
            )]);
        };
        let mut answers = Answers::default();
        let mut errors = Vec::new();
        for (id, raw) in object {
            let Some(question) = rulebook.question(id) else {
                errors.push(FieldError::new(id, "is not a question of this rulebook"));
                continue;
            };
            let parsed = match (question.kind, raw) {
                (QuestionKind::Many, serde_json::Value::Array(items)) => {
                    let mut values = Vec::with_capacity(items.len());
                    let mut ok = true;
                    for item in items {
                        match item.as_str() {
                            Some(s) => values.push(s.to_owned()),
                            None => ok = false,
                        }
                    }
                    if ok {
                        Some(AnswerValue::Many(values))
                    } else {
                        errors.push(FieldError::new(
                            id,
                            "must be a list of option values (strings)",
                        ));
                        None
                    }
                }
                (QuestionKind::Many, _) => {
                    errors.push(FieldError::new(id, "must be a list of option values"));
                    None
                }
                (_, serde_json::Value::String(s)) => Some(AnswerValue::Text(s.clone())),
                (kind, _) => {
                    let expected = match kind {
                        QuestionKind::Yn => "\"yes\", \"no\" or \"unknown\"",
                        QuestionKind::One => "one option value (a string)",
                        _ => "a string",
                    };
                    errors.push(FieldError::new(id, format!("must be {expected}")));
                    None
                }
            };
            if let Some(value) = parsed {
                match check_value(rulebook, id, value) {
                    Ok(v) => answers.set(id, v),
                    Err(message) => errors.push(FieldError::new(id, message)),
                }
            }
        }
        // A field already refused is not also reported as missing or mismatched.
        for e in answers.cross_field_errors(rulebook, true) {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(answers)
        } else {
            errors.sort_by_key(|e| rulebook.step_of(&e.field).unwrap_or(usize::MAX));
            Err(errors)
        }
    }

    /// Errors that involve more than one field. `area_required` is false for drafts.
    pub fn cross_field_errors(&self, rulebook: &Rulebook, area_required: bool) -> Vec<FieldError> {
        let mut errors = Vec::new();
        match self.text(contract::AREA) {
            None if area_required => errors.push(FieldError::new(
                contract::AREA,
                "is required: choose the research area",
            )),
            _ => {}
        }
        if let (Some(sub), area) = (self.text(contract::SUB_AREA), self.text(contract::AREA))
            && let Some((owner, sub_area)) = rulebook.sub_area(sub)
        {
            match area {
                    Some(area) if area != owner.code => errors.push(FieldError::new(
                        contract::SUB_AREA,
                        format!(
                            "\u{201c}{}\u{201d} belongs to {}, not to the chosen area; pick a sub-area of the chosen area",
                            sub_area.name, owner.name
                        ),
                    )),
                    None => errors.push(FieldError::new(
                        contract::SUB_AREA,
                        "a sub-area needs its area: choose the research area too",
                    )),
                    _ => {}
                }
        }
        errors
    }
}

/// Checks one answer against its question and normalises it: text is trimmed,
/// lists lose duplicates. `Ok(None)` means "no answer" (blank text, empty list).
pub fn check_value(
    rulebook: &Rulebook,
    id: &str,
    value: AnswerValue,
) -> Result<Option<AnswerValue>, String> {
    let Some(question) = rulebook.question(id) else {
        return Err("is not a question of this rulebook".to_owned());
    };
    match (question.kind, value) {
        (QuestionKind::Text, AnswerValue::Text(s)) => {
            let trimmed = s.trim();
            let max = question.max_length.unwrap_or(10_000);
            if trimmed.chars().count() > max {
                return Err(format!("is too long: at most {max} characters"));
            }
            if trimmed
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err("contains control characters".to_owned());
            }
            Ok((!trimmed.is_empty()).then(|| AnswerValue::Text(trimmed.to_owned())))
        }
        (QuestionKind::Yn | QuestionKind::One, AnswerValue::Text(s)) => {
            if s.is_empty() {
                return Ok(None);
            }
            if rulebook.has_option(question, &s) {
                Ok(Some(AnswerValue::Text(s)))
            } else {
                Err(unknown_option(rulebook, question, &s))
            }
        }
        (QuestionKind::Many, AnswerValue::Many(values)) => {
            let mut unique: Vec<String> = Vec::with_capacity(values.len());
            for v in values {
                if !rulebook.has_option(question, &v) {
                    return Err(unknown_option(rulebook, question, &v));
                }
                if !unique.contains(&v) {
                    unique.push(v);
                }
            }
            if unique.len() > 1
                && let Some(exclusive) = question
                    .options
                    .iter()
                    .find(|c| c.exclusive && unique.contains(&c.value))
            {
                return Err(format!(
                    "\u{201c}{}\u{201d} cannot be combined with other choices",
                    exclusive.label
                ));
            }
            Ok((!unique.is_empty()).then_some(AnswerValue::Many(unique)))
        }
        (QuestionKind::Many, AnswerValue::Text(_)) => {
            Err("must be a list of option values".to_owned())
        }
        (_, AnswerValue::Many(_)) => Err("must be a single value, not a list".to_owned()),
    }
}

fn unknown_option(
    rulebook: &Rulebook,
    question: &super::rulebook::Question,
    value: &str,
) -> String {
    let shown: String = value.chars().take(60).collect();
    let options = rulebook.options(question);
    if options.len() <= 12 {
        let list: Vec<String> = options.iter().map(|(v, _)| v.clone()).collect();
        format!(
            "`{shown}` is not an option; expected one of: {}",
            list.join(", ")
        )
    } else {
        format!("`{shown}` is not an option of this question")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rulebook() -> Rulebook {
        Rulebook::parse(include_str!("../../rulebook/rulebook.toml")).expect("valid rulebook")
    }

    #[test]
    fn valid_answers_are_normalised() {
        let rb = rulebook();
        let answers = Answers::from_json(
            &rb,
            &json!({"area": "ai", "sub_area": "ai_nlp", "partner_name": "  Fudan University ", "benefits": ["unique_access", "unique_access"], "partner_location": "   "}),
        )
        .expect("valid");
        assert_eq!(answers.text("partner_name"), Some("Fudan University"));
        assert_eq!(answers.list("benefits"), ["unique_access"]);
        assert!(!answers.is_answered("partner_location"));
    }

    #[test]
    fn every_kind_of_mistake_is_named_by_field() {
        let rb = rulebook();
        let errors = Answers::from_json(
            &rb,
            &json!({
                "sub_area": "ai_nlp", "area": "quantum", "whatever": 1, "dependency": true,
                "benefits": "unique_access", "mitigations": ["nope"], "animal_research": ["none", "non_human_primates"],
                "research_stage": ["basic"], "partner_name": "x\u{0}y"
            }),
        )
        .expect_err("invalid");
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "animal_research",
                "benefits",
                "dependency",
                "mitigations",
                "partner_name",
                "research_stage",
                "sub_area",
                "whatever"
            ]
        );
    }

    #[test]
    fn area_is_required_and_must_be_known() {
        let rb = rulebook();
        let errors = Answers::from_json(&rb, &json!({})).expect_err("no area");
        assert_eq!(
            errors,
            [FieldError::new(
                "area",
                "is required: choose the research area"
            )]
        );
        let errors = Answers::from_json(&rb, &json!({"area": "astrology"})).expect_err("bad area");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("not an option"));
        let errors = Answers::from_json(&rb, &json!({"area": null})).expect_err("null area");
        assert_eq!(errors[0].field, "area");
        assert!(Answers::from_json(&rb, &json!([])).is_err());
    }

    #[test]
    fn text_answers_have_a_length_limit() {
        let rb = rulebook();
        let long = "x".repeat(301);
        let errors = Answers::from_json(&rb, &json!({"area": "ai", "partner_name": long}))
            .expect_err("too long");
        assert_eq!(errors[0].field, "partner_name");
    }
}
