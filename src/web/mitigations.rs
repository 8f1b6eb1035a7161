//! The status of each ticked mitigation of a case: done (with a note or attached
//! evidence) or planned (with an owner and a due date).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::mitigations::Recorded;
use crate::domain::account::Role;
use crate::domain::attachment::Target;
use crate::domain::contract;
use crate::domain::mitigation::{self, MitigationStatus, StatusInput};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{CaseOf, OfficerOnly, OfficerOrReviewer, Query};
use crate::web::forms::{Errors, FormPairs};
use crate::web::layout::{Layout, NoticeQuery, notice, ok, render};
use crate::web::session::Signed;
use crate::web::wizard::Case;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/assessments/{id}/mitigations",
        get(page_get).post(page_post),
    )
}

/// One ticked mitigation with its status, in words (case page, report, this page).
pub struct MitigationLine {
    pub code: String,
    pub label: String,
    /// "done", "planned" or "" (not recorded).
    pub status: String,
    pub words: String,
    pub files: usize,
    pub input: StatusInput,
    /// Errors of this mitigation's fields: status, note, owner, due date.
    pub errors: [Option<String>; 4],
}

/// A stamp of the recorded statuses, so a change from a stale page is refused.
fn stamp(recorded: &BTreeMap<String, Recorded>) -> String {
    let mut h = Sha256::new();
    for (code, r) in recorded {
        h.update(format!("{code}\u{1f}{:?}\u{1e}", r.status).as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn words(r: &Recorded, today: time::Date) -> String {
    match &r.status {
        MitigationStatus::Planned { due, .. } if *due < today => format!(
            "Overdue: planned for {due} ({} sees to it) and not yet recorded as done. Its findings stay resolved only provisionally.",
            r.owner_name.as_deref().unwrap_or("an officer"),
        ),
        MitigationStatus::Done { note } if note.is_empty() => {
            "Done; the evidence is attached.".to_owned()
        }
        MitigationStatus::Done { note } => format!("Done. Evidence: {note}"),
        MitigationStatus::Planned { due, note, .. } => format!(
            "Planned: {} sees to it by {due}. Resolves its findings provisionally until done.{}",
            r.owner_name.as_deref().unwrap_or("an officer"),
            if note.is_empty() {
                String::new()
            } else {
                format!(" {note}")
            }
        ),
    }
}

/// The case's ticked mitigations with their status.
pub async fn lines_of(state: &AppState, case: &Case) -> AppResult<Vec<MitigationLine>> {
    let (lines, _) = lines_and_stamp(state, case).await?;
    Ok(lines)
}

async fn lines_and_stamp(
    state: &AppState,
    case: &Case,
) -> AppResult<(Vec<MitigationLine>, String)> {
    let rulebook = state
        .rulebook_version(&case.assessment.rulebook_version)
        .await?;
    let recorded = db::mitigations::for_assessment(state.pool(), case.assessment.id).await?;
    let files = db::attachments::for_assessment(state.pool(), case.assessment.id).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let lines = case
        .assessment
        .answers
        .0
        .list(contract::MITIGATIONS)
        .iter()
        .map(|code| {
            let r = recorded.get(code);
            MitigationLine {
                code: code.clone(),
                label: rulebook.mitigation_label(code),
                status: r.map_or("", |r| r.status.code()).to_owned(),
                words: r.map_or_else(
                    || "Status not recorded: say whether it is done or planned.".to_owned(),
                    words,
                ),
                files: files
                    .iter()
                    .filter(|f| f.target == Target::Mitigation(code.clone()))
                    .count(),
                input: match r.map(|r| &r.status) {
                    Some(MitigationStatus::Done { note }) => StatusInput {
                        status: "done".into(),
                        note: note.clone(),
                        ..Default::default()
                    },
                    Some(MitigationStatus::Planned { owner, due, note }) => StatusInput {
                        status: "planned".into(),
                        note: note.clone(),
                        owner: owner.to_string(),
                        due: due.to_string(),
                    },
                    None => StatusInput::default(),
                },
                errors: Default::default(),
            }
        })
        .collect();
    Ok((lines, stamp(&recorded)))
}

#[derive(Template)]
#[template(path = "mitigations/status.html")]
struct StatusPage {
    layout: Layout,
    case_id: Uuid,
    title: String,
    lines: Vec<MitigationLine>,
    owners: Vec<(Uuid, String)>,
    can_edit: bool,
    stamp: String,
    errors: Errors,
}

async fn page(
    state: &AppState,
    s: &Signed,
    case: &Case,
    typed: Option<&BTreeMap<String, StatusInput>>,
    errors: Vec<crate::domain::answers::FieldError>,
    notice_code: Option<&str>,
) -> AppResult<StatusPage> {
    let (mut lines, stamp) = lines_and_stamp(state, case).await?;
    for line in &mut lines {
        if let Some(input) = typed.and_then(|t| t.get(&line.code)) {
            line.input = input.clone();
        }
        for (i, kind) in ["status", "note", "owner", "due"].iter().enumerate() {
            let field = format!("{kind}_{}", line.code);
            line.errors[i] = errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone());
        }
    }
    let owners = match case.project.institution_id {
        Some(i) => db::mitigations::officers_of(state.pool(), i).await?,
        None => Vec::new(),
    };
    Ok(StatusPage {
        layout: Layout::new(
            state,
            &s.ctx,
            format!("Mitigations: {}", case.project.title),
            "cases",
        )
        .with_notice(notice(notice_code)),
        case_id: case.assessment.id,
        title: case.project.title.clone(),
        lines,
        owners,
        can_edit: s.role() == Role::Officer,
        stamp,
        errors: Errors(errors),
    })
}

async fn page_get(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOrReviewer>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    ok(&page(&state, &s, &case, None, Vec::new(), q.notice.as_deref()).await?)
}

async fn page_post(
    State(state): State<AppState>,
    CaseOf { s, case, .. }: CaseOf<OfficerOnly>,
    form: FormPairs,
) -> AppResult<Response> {
    let (lines, current) = lines_and_stamp(&state, &case).await?;
    if form.raw("_stamp") != current {
        return Err(AppError::Conflict(
            "The mitigations' status was changed by someone else after you opened the page. Reload it, check their changes and record yours again.".into(),
        ));
    }
    let owners = match case.project.institution_id {
        Some(i) => db::mitigations::officers_of(state.pool(), i).await?,
        None => Vec::new(),
    };
    let owner_ids: Vec<Uuid> = owners.iter().map(|(id, _)| *id).collect();
    let today = time::OffsetDateTime::now_utc().date();
    let mut typed = BTreeMap::new();
    let mut errors = Vec::new();
    let mut chosen = Vec::new();
    for line in &lines {
        let input = StatusInput {
            status: form.raw(&format!("status_{}", line.code)),
            note: form.raw(&format!("note_{}", line.code)),
            owner: form.raw(&format!("owner_{}", line.code)),
            due: form.raw(&format!("due_{}", line.code)),
        };
        match mitigation::validate(
            &line.code,
            &line.label,
            &input,
            &owner_ids,
            line.files > 0,
            today,
        ) {
            Ok(status) => chosen.push((line, status)),
            Err(mut e) => errors.append(&mut e),
        }
        typed.insert(line.code.clone(), input);
    }
    if !errors.is_empty() {
        let page = page(&state, &s, &case, Some(&typed), errors, None).await?;
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.pool().begin().await?;
    let mut summary = Vec::new();
    for (line, status) in &chosen {
        match status {
            Some(status) => {
                db::mitigations::set(&mut tx, case.assessment.id, &line.code, status, s.user.id)
                    .await?;
                summary.push(format!("{}: {}", line.label, status.code()));
            }
            None => {
                db::mitigations::clear(&mut tx, case.assessment.id, &line.code).await?;
                summary.push(format!("{}: not recorded", line.label));
            }
        }
    }
    db::audit::record(
        &mut tx,
        &s.actor(),
        Entry {
            action: "case.mitigation_status",
            assessment_id: Some(case.assessment.id),
            project_id: Some(case.project.id),
            summary: format!("Recorded the mitigations' status ({})", summary.join("; ")),
            details: serde_json::json!({
                "mitigations": chosen.iter().map(|(l, st)| serde_json::json!({
                    "code": l.code,
                    "status": st.as_ref().map(|s| s.code()),
                    "due": match st { Some(MitigationStatus::Planned { due, .. }) => Some(due.to_string()), _ => None },
                })).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/assessments/{}/mitigations?notice=mitigations_saved",
        case.assessment.id
    ))
    .into_response())
}
