//! Forms: ordered pairs for forms whose fields come from the rulebook, field errors for
//! templates, and [`Check`], which turns typed text into validated values field by field.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};

use crate::domain::answers::FieldError;
use crate::domain::text::{MultiLine, Text, TextError};
use crate::error::AppError;
use crate::web::extract::{form_bytes, pairs};

/// A form as ordered (key, value) pairs, for forms whose fields come from the rulebook
/// and for repeated keys (checkbox groups, table rows).
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// The first value of a key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of a key, in order.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The first value of a key, or "" when it is missing.
    pub fn raw(&self, key: &str) -> String {
        self.first(key).unwrap_or_default().to_owned()
    }

    /// The optimistic-concurrency version the page was rendered with.
    pub fn version(&self) -> Option<i32> {
        self.first("_version").and_then(|v| v.trim().parse().ok())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = form_bytes(req, state).await?;
        Ok(FormPairs(pairs(&bytes)))
    }
}

/// Field errors by field, for templates.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// The message for a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn count(&self) -> usize {
        self.0.len()
    }
}

/// Raw values typed into a form, by field, so a page with errors can show them again.
pub type Typed = HashMap<String, Vec<String>>;

/// Validates typed text field by field, collecting a message for each field at fault,
/// so a page shows every error at once, each beside its field.
#[derive(Debug, Default)]
pub struct Check(pub Vec<FieldError>);

impl Check {
    fn keep<T>(&mut self, field: &str, parsed: Result<T, TextError>) -> Option<T> {
        parsed
            .map_err(|e| self.0.push(FieldError::new(field, e.message())))
            .ok()
    }

    /// One line, possibly empty.
    pub fn text<const MAX: usize>(&mut self, field: &str, raw: &str) -> Option<Text<MAX>> {
        self.keep(field, Text::parse(raw))
    }

    /// A required text: `missing` is the message when it is empty.
    fn keep_required<T>(
        &mut self,
        field: &str,
        parsed: Result<T, TextError>,
        missing: &str,
    ) -> Option<T> {
        match parsed {
            Err(TextError::Empty) => {
                self.add(field, missing);
                None
            }
            other => self.keep(field, other),
        }
    }

    /// One line that must be given; `missing` is the message when it is empty.
    pub fn required<const MAX: usize>(
        &mut self,
        field: &str,
        raw: &str,
        missing: &str,
    ) -> Option<Text<MAX>> {
        self.keep_required(field, Text::required(raw), missing)
    }

    /// Several lines, possibly empty.
    pub fn multi_line<const MAX: usize>(
        &mut self,
        field: &str,
        raw: &str,
    ) -> Option<MultiLine<MAX>> {
        self.keep(field, MultiLine::parse(raw))
    }

    /// Several lines that must be given.
    pub fn required_lines<const MAX: usize>(
        &mut self,
        field: &str,
        raw: &str,
        missing: &str,
    ) -> Option<MultiLine<MAX>> {
        self.keep_required(field, MultiLine::required(raw), missing)
    }

    /// A message of the caller's own.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }
}
