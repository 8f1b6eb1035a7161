//! The typed boundary of the web layer: what a handler may take from a request.
//!
//! - [`Path`]: a path parameter; one that does not parse (a malformed id) is not found.
//! - [`Query`] and [`Form`]: strings by field, the first value of a repeated field, a
//!   missing field empty; never a bare framework rejection. Their text reaches the
//!   program only through [`crate::domain::text`] types.
//! - [`Officer`], [`Reviewer`], [`Admin`]: a signed-in user of that role, else 403.
//! - [`CaseOf`]: the case named by `{id}`, loaded once for every case route, with the
//!   roles that may use the route (403) and the visibility rules (404).

use std::marker::PhantomData;
use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::db;
use crate::domain::account::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::session::Signed;
use crate::web::wizard::Case;

/// A path parameter (or a tuple of them); a value that does not parse is a 404.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| AppError::NotFound)
    }
}

/// Decodes `application/x-www-form-urlencoded` text into ordered pairs. Invalid
/// percent-encoding and invalid UTF-8 become replacement characters, as browsers do.
pub fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(encoded).unwrap_or_default()
}

/// Deserialises a struct of string fields from pairs, taking the first value of a
/// repeated key (a tampered form sends one twice; that is not worth a refusal).
fn first_values<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<T, AppError> {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect();
    let encoded = serde_urlencoded::to_string(&unique).map_err(|_| unreadable())?;
    serde_urlencoded::from_str(&encoded).map_err(|_| unreadable())
}

fn unreadable() -> AppError {
    AppError::BadRequest("The form was not sent in a readable format.".into())
}

/// A query string deserialised into `T` (see [`first_values`]).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let raw = parts.uri.query().unwrap_or_default();
        first_values(pairs(raw.as_bytes())).map(Query)
    }
}

/// The body of a form, read whole within the size limit.
pub async fn form_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest("The form could not be read; please send it again.".into())
        }
    })
}

/// A URL-encoded form deserialised into `T` (see [`first_values`]).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = form_bytes(req, state).await?;
        first_values(pairs(&bytes)).map(Form)
    }
}

/// A multipart form (a file upload); a body that is not one is a 400 page.
pub struct Upload(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Upload)
            .map_err(|_| {
                AppError::BadRequest(
                    "The upload could not be read; choose the file and send the form again.".into(),
                )
            })
    }
}

/// A signed-in user whose role is one of `roles`; any other role gets 403.
async fn signed_as(
    parts: &mut Parts,
    state: &AppState,
    roles: &[Role],
) -> Result<Signed, AppError> {
    let s = Signed::from_request_parts(parts, state).await?;
    s.require(roles)?;
    Ok(s)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub Signed);

        impl FromRequestParts<AppState> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, AppError> {
                signed_as(parts, state, &[$role]).await.map($name)
            }
        }

        impl Deref for $name {
            type Target = Signed;
            fn deref(&self) -> &Signed {
                &self.0
            }
        }
    };
}

role_extractor!(
    /// A signed-in reviewer.
    Reviewer,
    Role::Reviewer
);
role_extractor!(
    /// A signed-in administrator.
    Admin,
    Role::Admin
);

/// A signed-in officer, with the institution every officer belongs to.
pub struct Officer {
    pub s: Signed,
    pub institution: Uuid,
}

impl FromRequestParts<AppState> for Officer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let s = signed_as(parts, state, &[Role::Officer]).await?;
        let institution = s.user.institution_id.ok_or(AppError::Forbidden)?;
        Ok(Officer { s, institution })
    }
}

impl Deref for Officer {
    type Target = Signed;
    fn deref(&self) -> &Signed {
        &self.s
    }
}

/// Which roles may use a case route.
pub trait CaseRoles: Send + Sync {
    const ROLES: &'static [Role];
}

/// Every role; what each sees is decided by visibility alone.
pub struct AnyRole;
/// Officers only (editing, submitting).
pub struct OfficerOnly;
/// Reviewers only (returning, deciding, screening actions).
pub struct ReviewerOnly;
/// Officers and reviewers (comments).
pub struct OfficerOrReviewer;

impl CaseRoles for AnyRole {
    const ROLES: &'static [Role] = &Role::ALL;
}
impl CaseRoles for OfficerOnly {
    const ROLES: &'static [Role] = &[Role::Officer];
}
impl CaseRoles for ReviewerOnly {
    const ROLES: &'static [Role] = &[Role::Reviewer];
}
impl CaseRoles for OfficerOrReviewer {
    const ROLES: &'static [Role] = &[Role::Officer, Role::Reviewer];
}

/// The case of the `{id}` path parameter, as the signed-in user may see it: officers
/// their institution's, reviewers every submitted one. Anything else is answered
/// exactly like a case that does not exist.
pub struct CaseOf<R: CaseRoles = AnyRole> {
    pub s: Signed,
    pub case: Case,
    roles: PhantomData<R>,
}

impl<R: CaseRoles> FromRequestParts<AppState> for CaseOf<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let s = signed_as(parts, state, R::ROLES).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let id = params
            .iter()
            .find(|(name, _)| *name == "id")
            .and_then(|(_, value)| Uuid::parse_str(value).ok())
            .ok_or(AppError::NotFound)?;
        let case = load_visible(state, &s, id).await?;
        Ok(CaseOf {
            s,
            case,
            roles: PhantomData,
        })
    }
}

/// Loads a case and applies the visibility rules (see [`CaseOf`]).
pub async fn load_visible(state: &AppState, s: &Signed, id: Uuid) -> Result<Case, AppError> {
    let assessment = db::assessments::get(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let project = db::projects::get(state.pool(), assessment.project_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let visible = match s.role() {
        Role::Officer => {
            project.institution_id.is_some() && project.institution_id == s.user.institution_id
        }
        Role::Reviewer => assessment.status.is_visible_to_reviewers(),
        Role::Admin => false,
    };
    if visible {
        Ok(Case {
            assessment,
            project,
        })
    } else {
        Err(AppError::NotFound)
    }
}
