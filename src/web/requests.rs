//! Answers to requests for more information: the officer answers each request of a
//! returned case on the case page; the case cannot be resubmitted before (the database
//! refuses it, see the `requests` migration).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::domain::lifecycle::Status;
use crate::error::{AppError, AppResult};
use crate::services::notifications::{self, CaseMail};
use crate::state::AppState;
use crate::web::case::{LONG_TEXT, ReviewInput, case_with_errors};
use crate::web::extract::{CaseOf, OfficerOnly};
use crate::web::forms::{Check, FormPairs};

pub fn router() -> Router<AppState> {
    Router::new().route("/assessments/{id}/requests/answer", post(answer_post))
}

async fn answer_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    if case.status() != Status::Returned {
        return Err(AppError::Conflict(
            "Only a case returned for more information has requests to answer; nothing was changed."
                .into(),
        ));
    }
    let input = ReviewInput {
        answer: form.raw("answer"),
        answer_request: form.raw("request").trim().to_owned(),
        ..Default::default()
    };
    let request = Uuid::parse_str(&input.answer_request).map_err(|_| {
        AppError::BadRequest(
            "The form does not name the request it answers; reload the case.".into(),
        )
    })?;
    let mut check = Check::default();
    let answer = check.required_lines::<LONG_TEXT>(
        "answer",
        &input.answer,
        "Your answer: write what you added or changed, or why nothing needs to change.",
    );
    let Some(answer) = answer else {
        return case_with_errors(&state, &s, case, input, check.into_errors()).await;
    };
    let assigned = db::review::assignment(state.pool(), case.assessment.id).await?;
    let mut tx = state.pool().begin().await?;
    let Some(asked_by) =
        db::requests::answer(&mut tx, case.assessment.id, request, s.user.id, &answer).await?
    else {
        return Err(AppError::Conflict(
            "This request is already answered, or is not a request of this case; nothing was changed. Reload the case."
                .into(),
        ));
    };
    let mut to = vec![asked_by];
    to.extend(assigned.map(|(id, _)| id).filter(|id| *id != asked_by));
    notifications::answered(
        &mut tx,
        &state.config().mail,
        &CaseMail {
            id: case.assessment.id,
            reference: &case.assessment.reference,
            title: &case.project.title,
        },
        &to,
        &answer,
    )
    .await?;
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.request_answer",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: "Answered a request for more information".to_owned(),
            details: serde_json::json!({ "request": request, "answer": answer.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}?notice=answered#requests",
        case.assessment.id
    ))
    .into_response())
}
