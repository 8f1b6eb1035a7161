//! The machine interface of `questionnaire.md`: `POST /api/v1/evaluate` and
//! `GET /api/v1/rulebook`. Errors are JSON, never HTML.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::domain::answers::{Answers, FieldError};
use crate::domain::rulebook::Rulebook;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/evaluate", post(evaluate_post))
        .route("/api/v1/rulebook", get(rulebook_get))
}

/// An API error: a status and the fields at fault.
struct ApiError(StatusCode, Vec<FieldError>);

impl ApiError {
    fn one(status: StatusCode, field: &str, message: impl Into<String>) -> Self {
        ApiError(status, vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "errors": self.1 }))).into_response()
    }
}

async fn evaluate_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::one(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
            "must be application/json",
        ));
    }
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::one(
            StatusCode::BAD_REQUEST,
            "body",
            format!("malformed JSON: {e}"),
        )
    })?;
    let Some(raw_answers) = body.get("answers") else {
        return Err(ApiError::one(
            StatusCode::UNPROCESSABLE_ENTITY,
            "answers",
            "is required: send {\"answers\": {\"<question id>\": <value>, ...}}",
        ));
    };
    let rulebook = state.active_rulebook().await.map_err(unavailable)?;
    let answers = Answers::from_json(&rulebook, raw_answers)
        .map_err(|errors| ApiError(StatusCode::UNPROCESSABLE_ENTITY, errors))?;
    let (evaluation, _) = state
        .evaluate(&rulebook, &answers)
        .await
        .map_err(|e| unavailable(e.into()))?;
    Ok(Json(evaluation).into_response())
}

/// The database did not answer: a JSON 503, the detail logged.
fn unavailable(e: anyhow::Error) -> ApiError {
    tracing::error!(error = %e, "api: database unavailable");
    ApiError::one(
        StatusCode::SERVICE_UNAVAILABLE,
        "",
        "the database is unavailable; try again",
    )
}

async fn rulebook_get(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rulebook = state.active_rulebook().await.map_err(unavailable)?;
    Ok(Json(rulebook_json(&rulebook)))
}

/// The rulebook as JSON, with the options of `area` and `sub_area` spelled out.
pub fn rulebook_json(rulebook: &Rulebook) -> Value {
    let mut value = serde_json::to_value(rulebook.data()).unwrap_or(Value::Null);
    if let Some(steps) = value.get_mut("steps").and_then(Value::as_array_mut) {
        for (step, step_value) in rulebook.steps().iter().zip(steps) {
            let Some(questions) = step_value
                .get_mut("questions")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for (question, q_value) in step.questions.iter().zip(questions) {
                if question.options_from.is_some()
                    || question.kind == crate::domain::rulebook::QuestionKind::Yn
                {
                    let options: Vec<Value> = rulebook
                        .options(question)
                        .into_iter()
                        .map(|(value, label)| json!({ "value": value, "label": label }))
                        .collect();
                    q_value["options"] = Value::Array(options);
                }
            }
        }
    }
    if let Some(obj) = value.as_object_mut() {
        obj.insert("version".into(), json!(rulebook.version()));
        obj.insert("content_hash".into(), json!(rulebook.content_hash()));
    }
    value
}
