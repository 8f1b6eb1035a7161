//! Form extraction that never rejects with a bare framework message: malformed
//! bodies become a clear 400 page, and repeated keys (checkbox groups) are kept.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::domain::answers::FieldError;
use crate::error::AppError;

/// A URL-encoded form deserialised into `T`.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest("The form could not be read; please send it again.".into())
            }
        })?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| AppError::BadRequest("The form was not sent in a readable format.".into()))
    }
}

/// A form as ordered (key, value) pairs, for forms whose fields come from the rulebook.
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
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state).await?;
        Ok(FormPairs(pairs))
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

/// A path id that is not a UUID is simply not found.
pub fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}
