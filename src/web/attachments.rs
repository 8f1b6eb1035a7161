//! Files attached to a case, to one of its mitigations or to a comment: the list with
//! each file's SHA-256, the streamed upload, and audited downloads.
//!
//! The upload is read as it arrives (see `storage`), so its CSRF token is checked here,
//! from the form's first field, before any of the file is read: the CSRF middleware
//! would otherwise hold the whole body in memory (see [`is_upload_path`]).

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use object_store::path::Path as Key;
use tower_http::limit::RequestBodyLimitLayer;
use uuid::Uuid;

use crate::auth::constant_time_eq;
use crate::db;
use crate::db::attachments::{Attachment, NewAttachment};
use crate::db::audit::Entry;
use crate::domain::answers::FieldError;
use crate::domain::attachment::{self, Target};
use crate::domain::contract;
use crate::domain::text::MultiLine;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::storage::Received;
use crate::web::extract::{CaseOf, OfficerOrReviewer, Path, Query, Upload};
use crate::web::layout::{Layout, NoticeQuery, datetime, notice, ok, render};
use crate::web::session::Signed;
use crate::web::wizard::Case;

/// The page and the download (small bodies, under the app's usual limit).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assessments/{id}/attachments", get(list_get))
        .route(
            "/assessments/{id}/attachments/{attachment}",
            get(download_get),
        )
}

/// The upload, whose body may be as large as the largest file (and a little form).
pub fn upload_router(max_bytes: u64) -> Router<AppState> {
    let limit = usize::try_from(max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024);
    Router::new()
        .route("/assessments/{id}/attachments", post(upload_post))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
}

/// Whether a request is the streamed upload, whose token the handler checks itself.
pub fn is_upload_path(path: &str) -> bool {
    let mut parts = path.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("assessments"), Some(id), Some("attachments"), None)
            if Uuid::parse_str(id).is_ok()
    )
}

/// One file as listed.
pub struct FileView {
    pub id: Uuid,
    pub name: String,
    pub target: String,
    pub media_type: String,
    pub size: String,
    pub sha256: String,
    pub note: String,
    pub by: String,
    pub at: String,
}

/// The form as typed, kept when it comes back with an error.
#[derive(Default)]
pub struct UploadInput {
    pub target: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "attachments/list.html")]
struct ListPage {
    layout: Layout,
    case_id: Uuid,
    title: String,
    files: Vec<FileView>,
    /// (form value, words) of what a file may be attached to.
    targets: Vec<(String, String)>,
    input: UploadInput,
    errors: crate::web::forms::Errors,
    max_size: String,
    accepted: String,
}

/// What a file may be attached to on this case, in words.
async fn targets(state: &AppState, case: &Case) -> AppResult<Vec<(Target, String)>> {
    let rulebook = state
        .rulebook_version(&case.assessment.rulebook_version)
        .await?;
    let mut out = vec![(Target::Case, "The case as a whole".to_owned())];
    for code in case.assessment.answers.0.list(contract::MITIGATIONS) {
        out.push((
            Target::Mitigation(code.clone()),
            format!("Mitigation: {}", rulebook.mitigation_label(code)),
        ));
    }
    for c in db::review::comments(state.pool(), case.assessment.id).await? {
        let brief: String = c.body.chars().take(60).collect();
        out.push((
            Target::Comment(c.id),
            format!(
                "Comment by {} on {}: “{brief}{}”",
                c.author_name,
                datetime(&c.created_at),
                if c.body.chars().count() > 60 {
                    "…"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(out)
}

fn view(a: &Attachment, targets: &[(Target, String)]) -> FileView {
    FileView {
        id: a.id,
        name: a.file_name.clone(),
        target: targets
            .iter()
            .find(|(t, _)| *t == a.target)
            .map_or_else(|| "The case as a whole".to_owned(), |(_, w)| w.clone()),
        media_type: a.media_type.clone(),
        size: attachment::size_words(a.size_bytes),
        sha256: a.sha256.clone(),
        note: a.note.clone(),
        by: a.uploaded_by_name.clone(),
        at: datetime(&a.uploaded_at),
    }
}

/// The views of a case's files (for the case page and the report).
pub async fn files_of(state: &AppState, case: &Case) -> AppResult<Vec<FileView>> {
    let targets = targets(state, case).await?;
    Ok(
        db::attachments::for_assessment(state.pool(), case.assessment.id)
            .await?
            .iter()
            .map(|a| view(a, &targets))
            .collect(),
    )
}

async fn page(
    state: &AppState,
    s: &Signed,
    case: &Case,
    input: UploadInput,
    errors: Vec<FieldError>,
    notice_code: Option<&str>,
) -> AppResult<ListPage> {
    let targets = targets(state, case).await?;
    let files = db::attachments::for_assessment(state.pool(), case.assessment.id)
        .await?
        .iter()
        .map(|a| view(a, &targets))
        .collect();
    Ok(ListPage {
        layout: Layout::new(
            state,
            &s.ctx,
            format!("Evidence and attachments: {}", case.project.title),
            "cases",
        )
        .with_notice(notice(notice_code)),
        case_id: case.assessment.id,
        title: case.project.title.clone(),
        files,
        targets: targets
            .into_iter()
            .map(|(t, w)| (t.form_value(), w))
            .collect(),
        input,
        errors: crate::web::forms::Errors(errors),
        max_size: attachment::size_words(state.storage().max_bytes as i64),
        accepted: attachment::accepted_endings(),
    })
}

async fn list_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOrReviewer>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let page = page(
        &state,
        &s,
        &case,
        UploadInput::default(),
        Vec::new(),
        q.notice.as_deref(),
    )
    .await?;
    ok(&page)
}

/// A text field of the upload form, read whole (it is small: the body limit of a text
/// field is checked as it is read).
async fn small_text(field: Field<'_>) -> Result<String, AppError> {
    const MAX: usize = 16 * 1024;
    let mut field = field;
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| interrupted())? {
        if bytes.len() + chunk.len() > MAX {
            return Err(AppError::BadRequest(
                "A field of the form was longer than triage accepts.".into(),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn interrupted() -> AppError {
    AppError::BadRequest(
        "The upload could not be read; choose the file and send the form again.".into(),
    )
}

async fn upload_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOrReviewer>,
    Upload(mut multipart): Upload,
) -> AppResult<Response> {
    // The token comes first (every triage form puts it first), before any file byte.
    let first = multipart.next_field().await.map_err(|_| interrupted())?;
    let token = match first {
        Some(field) if field.name() == Some("_csrf") => small_text(field).await?,
        _ => String::new(),
    };
    if !constant_time_eq(&token, &s.ctx.csrf) {
        return Ok(crate::web::security::refuse_csrf(
            &state,
            &s.actor(),
            &format!("/assessments/{}/attachments", case.assessment.id),
        )
        .await);
    }
    let mut input = UploadInput::default();
    let mut received: Option<(String, Key, Received)> = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| interrupted())? {
        match field.name() {
            Some("target") => input.target = small_text(field).await?,
            Some("note") => input.note = small_text(field).await?,
            Some("file") if received.is_none() => {
                let raw = field.file_name().unwrap_or_default().to_owned();
                if raw.is_empty() {
                    // No file chosen: browsers send an empty part without a name.
                    small_text(field).await.ok();
                    continue;
                }
                let name = attachment::sanitise_name(&raw);
                let key = Key::from(format!(
                    "cases/{}/{}",
                    case.assessment.id,
                    Uuid::new_v4().simple()
                ));
                let outcome = state
                    .storage()
                    .receive(&key, &name, field)
                    .await
                    .map_err(AppError::Internal)?;
                received = Some((name, key, outcome));
            }
            _ => {
                small_text(field).await?;
            }
        }
    }
    let targets = targets(&state, &case).await?;
    let mut errors = Vec::new();
    let target =
        Target::from_form(&input.target).filter(|t| targets.iter().any(|(known, _)| known == t));
    if target.is_none() {
        errors.push(FieldError::new(
            "target",
            "Choose what the file is evidence for: the case, one of its mitigations or a comment.",
        ));
    }
    let note = match MultiLine::<2000>::parse(&input.note) {
        Ok(n) => Some(n),
        Err(e) => {
            errors.push(FieldError::new("note", format!("Note: {}", e.message())));
            None
        }
    };
    let stored = match &received {
        None => {
            errors.push(FieldError::new(
                "file",
                "Choose a file to attach (a PDF, an image, an Office document or plain text).",
            ));
            None
        }
        Some((_, _, Received::Refused(why))) => {
            errors.push(FieldError::new("file", format!("File: {why}")));
            None
        }
        Some((name, key, Received::Stored(stored))) => Some((name, key, stored)),
    };
    let (Some(target), Some(note), Some((name, key, stored)), true) =
        (target, note, stored, errors.is_empty())
    else {
        if let Some((_, key, Received::Stored(_))) = &received {
            state.storage().remove(key).await;
        }
        let page = page(&state, &s, &case, input, errors, None).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let id = Uuid::new_v4();
    let target_words = targets
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, w)| w.clone())
        .unwrap_or_default();
    let saved = async {
        let mut tx = state.pool().begin().await?;
        db::attachments::insert(
            &mut tx,
            &NewAttachment {
                id,
                assessment_id: case.assessment.id,
                target: &target,
                file_name: name,
                media_type: stored.kind.media_type,
                size_bytes: i64::try_from(stored.size).unwrap_or(i64::MAX),
                sha256: &stored.sha256,
                storage_key: key.as_ref(),
                note: note.as_str(),
                uploaded_by: s.user.id,
            },
        )
        .await?;
        db::audit::record(
            &mut tx,
            &s.actor(),
            Entry {
                action: "attachment.add",
                assessment_id: Some(case.assessment.id),
                project_id: Some(case.project.id),
                summary: format!(
                    "Attached “{name}” ({}, {}, SHA-256 {}) to {}",
                    stored.kind.description,
                    attachment::size_words(stored.size as i64),
                    stored.sha256,
                    target_words
                ),
                details: serde_json::json!({
                    "attachment": id, "target": target.form_value(), "sha256": stored.sha256,
                    "size": stored.size, "media_type": stored.kind.media_type,
                }),
            },
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = saved {
        state.storage().remove(key).await;
        return Err(e.into());
    }
    Ok(Redirect::to(&format!(
        "/assessments/{}/attachments?notice=attached",
        case.assessment.id
    ))
    .into_response())
}

async fn download_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOrReviewer>,
    Path((_, attachment_id)): Path<(Uuid, Uuid)>,
) -> AppResult<Response> {
    let file = db::attachments::get(state.pool(), case.assessment.id, attachment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stream = state
        .storage()
        .open(&Key::from(file.storage_key.as_str()))
        .await
        .map_err(AppError::Internal)?;
    db::audit::record_alone(
        state.pool(),
        &s.actor(),
        Entry {
            action: "attachment.download",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!("Downloaded “{}” (SHA-256 {})", file.file_name, file.sha256),
            details: serde_json::json!({ "attachment": file.id, "sha256": file.sha256 }),
        },
    )
    .await?;
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        attachment::ascii_name(&file.file_name),
        attachment::rfc8187(&file.file_name)
    );
    Ok((
        [
            (header::CONTENT_TYPE, file.media_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_LENGTH, file.size_bytes.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
