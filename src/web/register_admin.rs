//! Administering the partner register: upload a file of any known format, preview what
//! it changes, publish or discard it; edit, add and remove curated entries; follow the
//! re-screening of cases that every change starts.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::db;
use crate::domain::answers::FieldError;
use crate::error::{AppError, AppResult};
use crate::screening::diff::RegisterDiff;
use crate::screening::entry::{Flag, FlagKind, KNOWN_KINDS, Name, NameKind, slug};
use crate::screening::formats::MAX_FILE_BYTES;
use crate::screening::{Entry, List};
use crate::services::register::{self as service, ImportFailure, content_hash};
use crate::state::AppState;
use crate::web::extract::{Admin, Path, Query, Upload};
use crate::web::forms::{Errors, FormPairs};
use crate::web::layout::{Layout, NoticeQuery, datetime, notice, ok, render};
use crate::web::session::Signed;
use uuid::Uuid;

/// Routes with the normal body limit.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/register", get(register_get))
        .route("/admin/register/progress", get(progress_get))
        .route("/admin/register/uploads/{id}", get(upload_get))
        .route("/admin/register/uploads/{id}/publish", post(publish_post))
        .route("/admin/register/uploads/{id}/discard", post(discard_post))
        .route("/admin/register/entries/new", get(new_entry_get))
        .route("/admin/register/entries", post(entry_post))
        .route("/admin/register/entries/{id}/edit", get(edit_entry_get))
        .route("/admin/register/entries/{id}/remove", post(remove_post))
}

/// The upload route, with a body limit fit for official lists.
pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/admin/register", post(upload_post))
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_FILE_BYTES + 64 * 1024))
}

/// A re-screening job as shown.
pub struct JobView {
    pub id: i64,
    pub status: String,
    pub done: i32,
    pub total: i32,
    pub changed: i32,
    pub percent: i32,
    pub requested: String,
    pub finished: Option<String>,
    pub error: Option<String>,
}

fn job_view(j: &db::screening::Job) -> JobView {
    JobView {
        id: j.id,
        status: j.status.clone(),
        done: j.done,
        total: j.total,
        changed: j.changed,
        percent: if j.total > 0 {
            (j.done * 100 / j.total).min(100)
        } else if j.status == "done" {
            100
        } else {
            0
        },
        requested: datetime(&j.requested_at),
        finished: j.finished_at.as_ref().map(datetime),
        error: j.error.clone(),
    }
}

pub struct RevisionView {
    pub id: i64,
    pub list: String,
    pub change: String,
    pub file: String,
    pub by: String,
    pub at: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "admin/register.html")]
struct RegisterAdminPage {
    layout: Layout,
    counts: Vec<(String, i64)>,
    revisions: Vec<RevisionView>,
    jobs: Vec<JobView>,
    error: Option<String>,
}

async fn register_page(
    state: &AppState,
    s: &Signed,
    error: Option<String>,
    notice_code: Option<&str>,
) -> AppResult<RegisterAdminPage> {
    let counts = db::register::counts(state.pool())
        .await?
        .into_iter()
        .map(|(l, n)| (List::parse(&l).map_or(l, |l| l.title().to_owned()), n))
        .collect();
    let revisions = db::register::revisions(state.pool(), 15)
        .await?
        .into_iter()
        .map(|r| {
            let n = |k: &str| r.summary.0.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
            RevisionView {
                id: r.id,
                list: List::parse(&r.list).map_or(r.list.clone(), |l| l.title().to_owned()),
                change: r.change.clone(),
                file: r.file_name.clone(),
                by: r.changed_by.clone().unwrap_or_default(),
                at: datetime(&r.imported_at),
                summary: format!(
                    "{} entries; {} added, {} changed, {} removed",
                    r.entries,
                    n("added"),
                    n("changed"),
                    n("removed")
                ),
            }
        })
        .collect();
    let jobs = db::screening::jobs(state.pool(), 5)
        .await?
        .iter()
        .map(job_view)
        .collect();
    Ok(RegisterAdminPage {
        layout: Layout::new(state, &s.ctx, "Partner register", "admin")
            .with_notice(notice(notice_code)),
        counts,
        revisions,
        jobs,
        error,
    })
}

async fn register_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&register_page(&state, &s, None, q.notice.as_deref()).await?)
}

#[derive(Template)]
#[template(path = "admin/register_progress.html")]
struct ProgressFragment {
    jobs: Vec<JobView>,
}

/// The re-screening progress, for the page's script (and readable on its own).
async fn progress_get(State(state): State<AppState>, Admin(_s): Admin) -> AppResult<Response> {
    let jobs = db::screening::jobs(state.pool(), 5)
        .await?
        .iter()
        .map(job_view)
        .collect();
    ok(&ProgressFragment { jobs })
}

/// Reads the uploaded file, field by field, never more than the limit.
async fn read_file(multipart: &mut Multipart) -> Result<Option<(String, Vec<u8>)>, String> {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let name: String = field
            .file_name()
            .unwrap_or("upload")
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
            .take(200)
            .collect();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(format!(
                            "The file is larger than {} MB.",
                            MAX_FILE_BYTES / 1024 / 1024
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Err("The upload was interrupted; send the file again.".to_owned()),
            }
        }
        return Ok(Some((
            if name.is_empty() {
                "upload".to_owned()
            } else {
                name
            },
            bytes,
        )));
    }
    Ok(None)
}

/// Stores the upload and shows what it would change; nothing is published yet.
async fn upload_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Upload(mut multipart): Upload,
) -> AppResult<Response> {
    let problem = match read_file(&mut multipart).await {
        Ok(Some((_, bytes))) if bytes.is_empty() => Some("The file is empty.".to_owned()),
        Ok(Some((name, bytes))) => match service::preview(state.pool(), &bytes).await {
            Ok(preview) => {
                let id = db::register::insert_upload(
                    state.pool(),
                    &name,
                    &bytes,
                    preview.base_revision,
                    s.user.id,
                )
                .await?;
                return Ok(Redirect::to(&format!("/admin/register/uploads/{id}")).into_response());
            }
            Err(ImportFailure::File(e)) => Some(format!(
                "The file was not accepted: {e}. Nothing was changed."
            )),
            Err(ImportFailure::Database(e)) => return Err(e.into()),
        },
        Ok(None) => Some("Choose a file to upload.".to_owned()),
        Err(message) => Some(message),
    };
    let page = register_page(&state, &s, problem, None).await?;
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// One entry of a preview, in words.
pub struct ChangeView {
    pub id: String,
    pub name: String,
    pub flags: String,
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/register_preview.html")]
struct PreviewPage {
    layout: Layout,
    upload_id: uuid::Uuid,
    file: String,
    format: String,
    list: String,
    entries: usize,
    skipped: Vec<(String, usize)>,
    added: Vec<ChangeView>,
    removed: Vec<ChangeView>,
    changed: Vec<ChangeView>,
    flags_added: usize,
    flags_removed: usize,
    unchanged: usize,
    base_revision: i64,
    stale: bool,
}

const PREVIEW_ROWS: usize = 200;

fn change_views(d: &RegisterDiff) -> (Vec<ChangeView>, Vec<ChangeView>, Vec<ChangeView>) {
    let flags = |e: &Entry| {
        e.flag_kinds()
            .iter()
            .map(|f| f.label())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let plain = |e: &Entry| ChangeView {
        id: e.id.clone(),
        name: e.name.clone(),
        flags: flags(e),
        changes: Vec::new(),
    };
    (
        d.added.iter().take(PREVIEW_ROWS).map(plain).collect(),
        d.removed.iter().take(PREVIEW_ROWS).map(plain).collect(),
        d.changed
            .iter()
            .take(PREVIEW_ROWS)
            .map(|c| ChangeView {
                changes: c.changes.clone(),
                ..plain(&c.after)
            })
            .collect(),
    )
}

async fn upload_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let upload = db::register::upload(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let preview = match service::preview(state.pool(), &upload.content).await {
        Ok(p) => p,
        Err(ImportFailure::File(e)) => {
            return Err(AppError::BadRequest(format!(
                "The stored upload is no longer valid: {e}"
            )));
        }
        Err(ImportFailure::Database(e)) => return Err(e.into()),
    };
    let current = db::register::revision(state.pool()).await?;
    let (added, removed, changed) = change_views(&preview.diff);
    let list = preview.imported.format.list();
    ok(&PreviewPage {
        layout: Layout::new(&state, &s.ctx, "Register upload", "admin"),
        upload_id: upload.id,
        file: upload.file_name,
        format: preview.imported.format.title().to_owned(),
        list: list.title().to_owned(),
        entries: preview.imported.entries.len(),
        skipped: preview.imported.skipped.clone(),
        flags_added: preview.diff.flags_added.len(),
        flags_removed: preview.diff.flags_removed.len(),
        unchanged: preview.diff.unchanged,
        added,
        removed,
        changed,
        base_revision: current.unwrap_or(0),
        stale: upload.base_revision != current,
    })
}

/// Publishes a previewed upload, unless the register changed since the preview.
async fn publish_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<Uuid>,
    form: FormPairs,
) -> AppResult<Response> {
    let upload = db::register::upload(state.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let seen: Option<i64> = form.first("base_revision").and_then(|v| v.parse().ok());
    let current = db::register::revision(state.pool()).await?.unwrap_or(0);
    if seen != Some(current) {
        return Err(AppError::Conflict(
            "The register changed after this preview was shown; nothing was published. Open the upload again to see what it would change now.".into(),
        ));
    }
    let imported = crate::screening::formats::parse(&upload.content)
        .map_err(|e| AppError::BadRequest(format!("The stored upload is no longer valid: {e}")))?;
    let hash = content_hash(&upload.content);
    match service::publish(
        state.pool(),
        &imported,
        &upload.file_name,
        &hash,
        &s.actor(),
    )
    .await
    {
        Ok(_) => {}
        Err(ImportFailure::File(e)) => {
            return Err(AppError::BadRequest(format!("Not published: {e}")));
        }
        Err(ImportFailure::Database(e)) => return Err(e.into()),
    }
    let mut tx = state.pool().begin().await?;
    db::register::delete_upload(&mut tx, upload.id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/register?notice=register_imported").into_response())
}

async fn discard_post(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let mut tx = state.pool().begin().await?;
    if !db::register::delete_upload(&mut tx, id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/admin/register?notice=upload_discarded").into_response())
}

// ----- editing curated entries -----

/// The entry form as typed.
#[derive(Default)]
pub struct EntryInput {
    pub original_id: String,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub city: String,
    pub province: String,
    pub parent: String,
    pub note: String,
    /// (name, kind) rows.
    pub names: Vec<(String, String)>,
    /// (flag, source, url, date, detail) rows.
    pub flags: Vec<(String, String, String, String, String)>,
}

const NAME_ROWS: usize = 12;
const FLAG_ROWS: usize = 6;

impl EntryInput {
    fn from_entry(e: &Entry) -> Self {
        EntryInput {
            original_id: e.id.clone(),
            id: e.id.clone(),
            name: e.name.clone(),
            kind: e.kind.clone(),
            city: e.city.clone(),
            province: e.province.clone(),
            parent: e.parent.clone().unwrap_or_default(),
            note: e.note.clone(),
            names: e
                .names
                .iter()
                .map(|n| (n.name.clone(), format!("{:?}", n.kind).to_lowercase()))
                .collect(),
            flags: e
                .flags
                .iter()
                .map(|f| {
                    (
                        f.flag.code().to_owned(),
                        f.source.clone(),
                        f.url.clone(),
                        f.date.clone(),
                        f.detail.clone(),
                    )
                })
                .collect(),
        }
    }

    fn padded(mut self) -> Self {
        while self.names.len() < NAME_ROWS {
            self.names.push(Default::default());
        }
        while self.flags.len() < FLAG_ROWS {
            self.flags.push(Default::default());
        }
        self
    }

    fn from_form(form: &FormPairs) -> Self {
        let get = |k: &str| form.first(k).unwrap_or_default().trim().to_owned();
        let list = |k: &str| {
            form.0
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_owned())
                .collect::<Vec<_>>()
        };
        let (name_texts, name_kinds) = (list("names_name"), list("names_kind"));
        let names = name_texts.into_iter().zip(name_kinds).collect();
        let (f, s, u, d, t) = (
            list("flag_flag"),
            list("flag_source"),
            list("flag_url"),
            list("flag_date"),
            list("flag_detail"),
        );
        let flags = (0..f.len().min(s.len()).min(u.len()).min(d.len()).min(t.len()))
            .map(|i| {
                (
                    f[i].clone(),
                    s[i].clone(),
                    u[i].clone(),
                    d[i].clone(),
                    t[i].clone(),
                )
            })
            .collect();
        EntryInput {
            original_id: get("original_id"),
            id: get("id"),
            name: get("name"),
            kind: get("kind"),
            city: get("city"),
            province: get("province"),
            parent: get("parent"),
            note: get("note"),
            names,
            flags,
        }
    }

    /// The entry, or every problem next to its field.
    fn parse(&self) -> Result<Entry, Vec<FieldError>> {
        let mut errors = Vec::new();
        let text_ok = |field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>| {
            if value.chars().count() > max {
                errors.push(FieldError::new(field, format!("At most {max} characters.")));
            }
            if value.chars().any(|c| c.is_control()) {
                errors.push(FieldError::new(field, "Remove the control characters."));
            }
        };
        if self.name.is_empty() {
            errors.push(FieldError::new(
                "name",
                "Give the organisation's canonical name.",
            ));
        }
        for (field, value, max) in [
            ("name", &self.name, 500),
            ("city", &self.city, 200),
            ("province", &self.province, 200),
            ("note", &self.note, 2000),
            ("parent", &self.parent, 200),
            ("id", &self.id, 200),
        ] {
            text_ok(field, value, max, &mut errors);
        }
        if !KNOWN_KINDS.contains(&self.kind.as_str()) {
            errors.push(FieldError::new("kind", "Choose the kind of organisation."));
        }
        let mut names = Vec::new();
        for (i, (text, kind)) in self.names.iter().enumerate() {
            if text.is_empty() {
                continue;
            }
            text_ok(&format!("names_{i}"), text, 500, &mut errors);
            let kind = match kind.as_str() {
                "official" => NameKind::Official,
                "former" => NameKind::Former,
                "chinese" => NameKind::Chinese,
                "abbreviation" => NameKind::Abbreviation,
                "alias" => NameKind::Alias,
                _ => {
                    errors.push(FieldError::new(
                        format!("names_{i}"),
                        "Choose what kind of name it is.",
                    ));
                    continue;
                }
            };
            names.push(Name {
                name: text.clone(),
                kind,
            });
        }
        let mut flags = Vec::new();
        for (i, (flag, source, url, date, detail)) in self.flags.iter().enumerate() {
            if flag.is_empty()
                && source.is_empty()
                && url.is_empty()
                && date.is_empty()
                && detail.is_empty()
            {
                continue;
            }
            let field = format!("flag_{i}");
            let Some(kind) = FlagKind::parse(flag) else {
                errors.push(FieldError::new(&field, "Choose the flag."));
                continue;
            };
            for (value, max) in [(source, 500), (url, 1000), (date, 10), (detail, 2000)] {
                text_ok(&field, value, max, &mut errors);
            }
            flags.push(Flag {
                flag: kind,
                source: source.clone(),
                url: url.clone(),
                date: date.clone(),
                detail: detail.clone(),
            });
        }
        let id = if self.id.is_empty() {
            slug(&self.name)
        } else {
            self.id.clone()
        };
        let entry = Entry {
            id,
            list: List::Curated,
            name: self.name.clone(),
            names,
            kind: self.kind.clone(),
            city: self.city.clone(),
            province: self.province.clone(),
            country: String::new(),
            parent: (!self.parent.is_empty()).then(|| self.parent.clone()),
            flags,
            note: self.note.clone(),
        };
        if errors.is_empty() {
            for problem in entry.problems() {
                let (field, message) = problem
                    .split_once(": ")
                    .unwrap_or(("name", problem.as_str()));
                let field = if field.starts_with("flag") {
                    "flag_0"
                } else if field.starts_with("name") {
                    "name"
                } else {
                    field
                };
                errors.push(FieldError::new(
                    field.split(' ').next().unwrap_or("name"),
                    message,
                ));
            }
        }
        if errors.is_empty() {
            Ok(entry)
        } else {
            Err(errors)
        }
    }
}

/// One row of the names table, with its error.
pub struct NameRow {
    pub id: String,
    pub number: usize,
    pub text: String,
    pub kind: String,
    pub error: Option<String>,
}

/// One row of the flags table, with its error.
pub struct FlagRow {
    pub id: String,
    pub number: usize,
    pub flag: String,
    pub source: String,
    pub url: String,
    pub date: String,
    pub detail: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/register_entry.html")]
struct EntryForm {
    layout: Layout,
    input: EntryInput,
    names: Vec<NameRow>,
    flags: Vec<FlagRow>,
    errors: Errors,
    kinds: &'static [&'static str],
    is_new: bool,
}

fn entry_form(
    state: &AppState,
    s: &Signed,
    input: EntryInput,
    errors: Vec<FieldError>,
) -> EntryForm {
    let is_new = input.original_id.is_empty();
    let input = input.padded();
    let errors = Errors(errors);
    let error = |id: &str| errors.get(id).map(str::to_owned);
    let names = input
        .names
        .iter()
        .enumerate()
        .map(|(i, (text, kind))| NameRow {
            id: format!("names_{i}"),
            number: i + 1,
            text: text.clone(),
            kind: kind.clone(),
            error: error(&format!("names_{i}")),
        })
        .collect();
    let flags = input
        .flags
        .iter()
        .enumerate()
        .map(|(i, (flag, source, url, date, detail))| FlagRow {
            id: format!("flag_{i}"),
            number: i + 1,
            flag: flag.clone(),
            source: source.clone(),
            url: url.clone(),
            date: date.clone(),
            detail: detail.clone(),
            error: error(&format!("flag_{i}")),
        })
        .collect();
    EntryForm {
        layout: Layout::new(
            state,
            &s.ctx,
            if is_new {
                "New register entry"
            } else {
                "Edit register entry"
            },
            "admin",
        ),
        input,
        names,
        flags,
        errors,
        kinds: KNOWN_KINDS,
        is_new,
    }
}

/// A curated entry by id; official-list entries are changed only by importing their list.
async fn curated_entry(state: &AppState, id: &str) -> AppResult<Entry> {
    let register = state.register().await?;
    register
        .get(id)
        .filter(|e| e.list == List::Curated)
        .cloned()
        .ok_or(AppError::NotFound)
}

async fn new_entry_get(State(state): State<AppState>, Admin(s): Admin) -> AppResult<Response> {
    ok(&entry_form(&state, &s, EntryInput::default(), Vec::new()))
}

async fn edit_entry_get(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let entry = curated_entry(&state, &id).await?;
    ok(&entry_form(
        &state,
        &s,
        EntryInput::from_entry(&entry),
        Vec::new(),
    ))
}

async fn entry_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    form: FormPairs,
) -> AppResult<Response> {
    let input = EntryInput::from_form(&form);
    let register = state.register().await?;
    let mut errors = match input.parse() {
        Ok(entry) => {
            let renamed = !input.original_id.is_empty() && input.original_id != entry.id;
            let taken =
                register.get(&entry.id).is_some() && (input.original_id.is_empty() || renamed);
            if renamed {
                vec![FieldError::new(
                    "id",
                    "The id of an entry never changes; cases refer to it.",
                )]
            } else if taken {
                vec![FieldError::new(
                    "id",
                    "Another entry has this id; choose another one.",
                )]
            } else {
                match service::save_entry(state.pool(), &entry, &s.actor()).await {
                    Ok(_) => {
                        return Ok(Redirect::to(&format!(
                            "/register/entries/{}?notice=register_saved",
                            entry.id
                        ))
                        .into_response());
                    }
                    Err(ImportFailure::File(e)) => vec![FieldError::new(
                        e.field
                            .as_deref()
                            .and_then(|f| f.rsplit(", ").next())
                            .unwrap_or("name"),
                        e.message,
                    )],
                    Err(ImportFailure::Database(e)) => return Err(e.into()),
                }
            }
        }
        Err(errors) => errors,
    };
    errors.dedup_by(|a, b| a.field == b.field);
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &entry_form(&state, &s, input, errors),
    )
}

async fn remove_post(
    State(state): State<AppState>,
    Admin(s): Admin,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let entry = curated_entry(&state, &id).await?;
    match service::remove_entry(state.pool(), &entry, &s.actor()).await {
        Ok(_) => Ok(Redirect::to("/admin/register?notice=register_removed").into_response()),
        Err(ImportFailure::File(e)) => Err(AppError::Conflict(format!("Not removed: {e}"))),
        Err(ImportFailure::Database(e)) => Err(e.into()),
    }
}
