//! The reviewers' desk: the case list with filters, search, sort and keyset pagination,
//! exports, the partner page and the comparison of cases.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db;
use crate::db::audit::Entry;
use crate::db::cases::PartnerFilter;
use crate::db::cases::{CaseRow, Cursor, Filters, Scope, Sort};
use crate::db::users::Institution;
use crate::domain::account::Role;
use crate::domain::answers::FieldError;
use crate::domain::lifecycle::Status;
use crate::domain::rulebook::{Area, Colour};
use crate::domain::text::{Text, parse_day};
use crate::error::{AppError, AppResult};
use crate::screening::{Certainty, Entry as RegisterEntry, Register, grouping_key};
use crate::state::AppState;
use crate::web::extract::{Query, load_visible};
use crate::web::forms::{Check, Errors};
use crate::web::layout::{Layout, ok, render};
use crate::web::session::Signed;
use crate::web::wizard::answer_text;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases", get(cases_get))
        .route("/cases.csv", get(cases_csv_get))
        .route("/cases.json", get(cases_json_get))
        .route("/cases.xlsx", get(crate::web::exports::cases_xlsx_get))
        .route("/partners", get(partner_get))
        .route("/compare", get(compare_get))
}

const PAGE_SIZE: i64 = 50;
/// Exports stop here; a filter narrows a larger set.
const EXPORT_CAP: i64 = 20_000;

/// The filters as typed in the URL, kept verbatim so a view can be bookmarked.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct CaseQuery {
    pub q: String,
    pub verdict: String,
    pub final_verdict: String,
    pub area: String,
    pub sub_area: String,
    pub status: String,
    pub institution: String,
    pub partner: String,
    #[serde(default)]
    pub screening: String,
    pub from: String,
    pub to: String,
    pub sort: String,
    pub after: String,
}

/// Whose cases the user may list: officers their institution's, reviewers all submitted.
pub fn scope(s: &Signed) -> AppResult<Scope> {
    match s.role() {
        Role::Officer => s
            .user
            .institution_id
            .map(Scope::Institution)
            .ok_or(AppError::Forbidden),
        Role::Reviewer => Ok(Scope::Submitted),
        Role::Admin => Err(AppError::Forbidden),
    }
}

impl CaseQuery {
    /// Valid filters, and a message for each one that is not (it is then ignored).
    /// The register the partner filter screens against: checked for a newer import only
    /// when the list is filtered by partner (no other filter reads it).
    async fn register(&self, state: &AppState) -> sqlx::Result<Arc<Register>> {
        if self.partner.trim().is_empty() {
            Ok(state.register_now())
        } else {
            state.register().await
        }
    }

    pub fn filters(&self, state: &AppState, register: &Register) -> (Filters, Vec<FieldError>) {
        let rulebook = state.rulebook_now();
        let mut errors = Vec::new();
        let mut pick = |field: &str, raw: &str, ok: bool| -> Option<String> {
            let raw = raw.trim();
            if raw.is_empty() {
                None
            } else if ok {
                Some(raw.to_owned())
            } else {
                errors.push(FieldError::new(
                    field,
                    "Not one of the choices; this filter was ignored.",
                ));
                None
            }
        };
        // Choices are checked against known codes, so NUL and the like never reach SQL.
        let verdict = pick(
            "verdict",
            &self.verdict,
            Colour::from_code(self.verdict.trim()).is_some(),
        );
        let final_verdict = pick(
            "final_verdict",
            &self.final_verdict,
            self.final_verdict.trim() == "none"
                || Colour::from_code(self.final_verdict.trim()).is_some(),
        );
        let area = pick(
            "area",
            &self.area,
            rulebook.area(self.area.trim()).is_some(),
        );
        let sub_area = pick(
            "sub_area",
            &self.sub_area,
            rulebook.sub_area(self.sub_area.trim()).is_some(),
        );
        let status = pick(
            "status",
            &self.status,
            Status::parse(self.status.trim()).is_some(),
        );
        let institution = match self.institution.trim() {
            "" => None,
            raw => match Uuid::parse_str(raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "institution",
                        "Not one of the choices; this filter was ignored.",
                    ));
                    None
                }
            },
        };
        let mut check = Check(errors);
        let text = check
            .text::<200>("q", &self.q)
            .filter(|t| !t.is_empty())
            .map(Text::into_string);
        let partner = check
            .text::<300>("partner", &self.partner)
            .filter(|p| !p.is_empty())
            .map(|p| partner_filter(register, &p));
        let mut errors = check.into_errors();
        let screening_changed = match self.screening.trim() {
            "" => false,
            "changed" => true,
            _ => {
                errors.push(FieldError::new(
                    "screening",
                    "Not one of the choices; this filter was ignored.",
                ));
                false
            }
        };
        let mut day = |field: &str, raw: &str| {
            parse_day(raw)
                .map_err(|m| errors.push(FieldError::new(field, m)))
                .ok()
                .flatten()
        };
        let (from, to) = (day("from", &self.from), day("to", &self.to));
        (
            Filters {
                text,
                verdict,
                final_verdict,
                area,
                sub_area,
                status,
                institution,
                partner,
                screening_changed,
                from,
                to,
            },
            errors,
        )
    }

    /// Where the previous page ended; a cursor that is not one of ours starts at the top.
    fn cursor(&self, sort: Sort) -> Option<Cursor> {
        let (key, id) = self.after.rsplit_once('~')?;
        let id = Uuid::parse_str(id).ok()?;
        match sort {
            Sort::Title => Text::<200>::parse(key)
                .ok()
                .map(|t| Cursor::Text(t.into_string(), id)),
            _ => {
                let nanos: i128 = key.parse().ok()?;
                OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .ok()
                    .map(|t| Cursor::Time(t, id))
            }
        }
    }

    /// This view's query string with some parameters replaced.
    pub fn link(&self, path: &str, changes: &[(&str, &str)]) -> String {
        let mut pairs: BTreeMap<&str, String> = BTreeMap::new();
        let fields = [
            ("q", &self.q),
            ("verdict", &self.verdict),
            ("final_verdict", &self.final_verdict),
            ("area", &self.area),
            ("sub_area", &self.sub_area),
            ("status", &self.status),
            ("institution", &self.institution),
            ("partner", &self.partner),
            ("screening", &self.screening),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ];
        for (k, v) in fields {
            if !v.trim().is_empty() {
                pairs.insert(k, v.trim().to_owned());
            }
        }
        for (k, v) in changes {
            if v.is_empty() {
                pairs.remove(k);
            } else {
                pairs.insert(k, (*v).to_owned());
            }
        }
        let query =
            serde_urlencoded::to_string(pairs.iter().collect::<Vec<_>>()).unwrap_or_default();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

fn next_cursor(sort: Sort, last: &CaseRow) -> String {
    match sort {
        Sort::Title => format!("{}~{}", last.title, last.id),
        Sort::Submitted => format!(
            "{}~{}",
            last.submitted_at.map_or(0, |t| t.unix_timestamp_nanos()),
            last.id
        ),
        Sort::Updated => format!("{}~{}", last.updated_at.unix_timestamp_nanos(), last.id),
    }
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct CasesPage<'a> {
    layout: Layout,
    query: CaseQuery,
    rows: Vec<CaseRow>,
    total: i64,
    /// The count stopped at the cap: show "more than".
    capped: bool,
    next: Option<String>,
    first: Option<String>,
    areas: &'a [Area],
    institutions: Vec<Institution>,
    reviewer: bool,
    errors: Errors,
    csv: String,
    xlsx: String,
    json: String,
}

async fn cases_get(
    State(state): State<AppState>,
    s: Signed,
    Query(query): Query<CaseQuery>,
) -> AppResult<Response> {
    let scope = scope(&s)?;
    let register = query.register(&state).await?;
    let (filters, errors) = query.filters(&state, &register);
    let sort = Sort::parse(&query.sort);
    let cursor = query.cursor(sort);
    let mut rows = db::cases::page(
        state.pool(),
        scope,
        &filters,
        sort,
        cursor.as_ref(),
        PAGE_SIZE + 1,
    )
    .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    // The count comes with the rows; an empty page needs its own.
    let total = match rows.first() {
        Some(r) => r.total,
        None => db::cases::count(state.pool(), scope, &filters).await?,
    };
    let next = (more)
        .then(|| {
            rows.last()
                .map(|last| query.link("/cases", &[("after", &next_cursor(sort, last))]))
        })
        .flatten();
    let first = (!query.after.is_empty()).then(|| query.link("/cases", &[]));
    let reviewer = s.role() == Role::Reviewer;
    let rulebook = state.rulebook_now();
    let page = CasesPage {
        layout: Layout::new(&state, &s.ctx, "Cases", "cases"),
        csv: query.link("/cases.csv", &[]),
        xlsx: query.link("/cases.xlsx", &[]),
        json: query.link("/cases.json", &[]),
        institutions: if reviewer {
            db::users::institutions(state.pool()).await?
        } else {
            Vec::new()
        },
        areas: rulebook.areas(),
        rows,
        capped: total > db::cases::COUNT_CAP,
        total: total.min(db::cases::COUNT_CAP),
        next,
        first,
        reviewer,
        errors: Errors(errors),
        query,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(status, &page)
}

/// The rows of an export with their decisions, audited as an export in `format`.
pub(crate) async fn export_rows(
    state: &AppState,
    s: &Signed,
    query: &CaseQuery,
    format: &str,
) -> AppResult<Vec<CaseRow>> {
    let scope = scope(s)?;
    let register = query.register(state).await?;
    let (filters, errors) = query.filters(state, &register);
    if let Some(e) = errors.first() {
        return Err(AppError::BadRequest(format!(
            "Filter {}: {}",
            e.field, e.message
        )));
    }
    let rows = db::cases::all(state.pool(), scope, &filters, EXPORT_CAP).await?;
    db::audit::record_alone(
        state.pool(),
        &s.actor(),
        Entry {
            action: "case.export",
            assessment_id: None,
            project_id: None,
            summary: format!(
                "Exported {} case{} as {format}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            ),
            details: serde_json::json!({ "format": format, "rows": rows.len(), "filters": query }),
        },
    )
    .await?;
    Ok(rows)
}

async fn cases_csv_get(
    State(state): State<AppState>,
    s: Signed,
    Query(query): Query<CaseQuery>,
) -> AppResult<Response> {
    let rows = export_rows(&state, &s, &query, "csv").await?;
    let rows = crate::web::exports::with_decisions(&state, rows).await?;
    let body = crate::web::exports::csv(&rows)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"triage-cases.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV
/// injection, OWASP): a cell starting with `=`, `+`, `-`, `@`, a tab or a line break.
pub(crate) fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

async fn cases_json_get(
    State(state): State<AppState>,
    s: Signed,
    Query(query): Query<CaseQuery>,
) -> AppResult<Response> {
    let rows = export_rows(&state, &s, &query, "json").await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"triage-cases.json\"",
        )],
        axum::Json(serde_json::json!({ "cases": rows, "count": rows.len() })),
    )
        .into_response())
}

// ----- the partner page -----

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct PartnerQuery {
    name: String,
}

#[derive(Template)]
#[template(path = "cases/partner.html")]
struct PartnerPage {
    layout: Layout,
    name: String,
    entry: Option<RegisterEntry>,
    rows: Vec<CaseRow>,
    decided: usize,
    by_verdict: Vec<(String, usize)>,
}

/// The organisations a typed partner name stands for: the register entries it
/// certainly matches (any name or alias, in any case), and its spelling.
pub fn partner_filter(register: &Register, typed: &str) -> PartnerFilter {
    let screening = register.screen(typed);
    PartnerFilter {
        entry_ids: screening
            .hits
            .iter()
            .filter(|h| h.certainty == Certainty::Match)
            .map(|h| h.entry.id.clone())
            .collect(),
        key: grouping_key(typed),
    }
}

async fn partner_get(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<PartnerQuery>,
) -> AppResult<Response> {
    let scope = scope(&s)?;
    // A name no register entry or case could carry is simply not found.
    let typed = Text::<300>::parse(&q.name)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or(AppError::NotFound)?
        .into_string();
    // Cases are grouped by register entry whatever the spelling; other partners by name.
    let register = state.register().await?;
    let filter = partner_filter(&register, &typed);
    let entry = filter
        .entry_ids
        .first()
        .and_then(|id| register.get(id))
        .cloned();
    let key = entry.as_ref().map_or(typed.clone(), |e| e.name.clone());
    let filters = Filters {
        partner: Some(filter),
        ..Filters::default()
    };
    let rows = db::cases::all(state.pool(), scope, &filters, 2_000).await?;
    let by_verdict = [Colour::Red, Colour::Orange, Colour::Green]
        .into_iter()
        .map(|v| {
            (
                v.word().to_owned(),
                rows.iter().filter(|r| r.verdict == v).count(),
            )
        })
        .collect();
    ok(&PartnerPage {
        layout: Layout::new(&state, &s.ctx, format!("Partner {key}"), "cases"),
        decided: rows.iter().filter(|r| r.final_verdict.is_some()).count(),
        name: key,
        entry,
        by_verdict,
        rows,
    })
}

/// Accepts repeated `id` keys.
fn ids_from_query(raw: Option<String>) -> Vec<Uuid> {
    let pairs: Vec<(String, String)> = raw
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let mut ids: Vec<Uuid> = Vec::new();
    for (_, v) in pairs.into_iter().filter(|(k, _)| k == "id") {
        if let Ok(id) = Uuid::parse_str(v.trim())
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

// ----- comparison -----

pub struct CompareColumn {
    pub id: Uuid,
    pub title: String,
    pub institution: String,
    pub verdict: Colour,
    pub final_verdict: Option<Colour>,
    pub status: String,
}

pub struct CompareRow {
    pub label: String,
    pub cells: Vec<String>,
    pub differs: bool,
}

#[derive(Template)]
#[template(path = "cases/compare.html")]
struct ComparePage {
    layout: Layout,
    columns: Vec<CompareColumn>,
    answers: Vec<(String, Vec<CompareRow>)>,
    findings: Vec<CompareRow>,
    error: Option<String>,
}

async fn compare_get(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    scope(&s)?;
    let ids = ids_from_query(raw);
    let layout = Layout::new(&state, &s.ctx, "Compare cases", "cases");
    if !(2..=6).contains(&ids.len()) {
        let page = ComparePage {
            layout,
            columns: Vec::new(),
            answers: Vec::new(),
            findings: Vec::new(),
            error: Some("Choose two to six cases to compare: tick them in the case list.".into()),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut cases = Vec::new();
    for id in &ids {
        cases.push(load_visible(&state, &s, *id).await?);
    }
    let rulebook = state.active_rulebook().await?;
    let mut columns = Vec::new();
    for c in &cases {
        let institution = match c.project.institution_id {
            Some(i) => db::users::institution(state.pool(), i)
                .await?
                .map(|i| i.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        columns.push(CompareColumn {
            id: c.assessment.id,
            title: c.project.title.clone(),
            institution,
            verdict: c.assessment.evaluation.0.verdict,
            final_verdict: c.assessment.final_verdict,
            status: c.status().word().to_owned(),
        });
    }
    let answers = rulebook
        .steps()
        .iter()
        .map(|step| {
            let rows = step
                .questions
                .iter()
                .map(|q| {
                    let cells: Vec<String> = cases
                        .iter()
                        .map(|c| answer_text(&rulebook, q, c.assessment.answers.0.get(&q.id)))
                        .collect();
                    CompareRow {
                        label: q.short.clone(),
                        differs: cells.windows(2).any(|w| w[0] != w[1]),
                        cells,
                    }
                })
                .collect();
            (step.title.clone(), rows)
        })
        .collect();
    // Every finding of any of the cases, aligned by code.
    let mut codes: Vec<(String, String)> = Vec::new();
    for c in &cases {
        for f in &c.assessment.evaluation.0.findings {
            if !codes.iter().any(|(code, _)| *code == f.code) {
                codes.push((f.code.clone(), f.title.clone()));
            }
        }
    }
    let findings = codes
        .into_iter()
        .map(|(code, title)| {
            let cells: Vec<String> = cases
                .iter()
                .map(|c| {
                    match c
                        .assessment
                        .evaluation
                        .0
                        .findings
                        .iter()
                        .find(|f| f.code == code)
                    {
                        Some(f) if f.resolved => format!("{}, resolved", f.severity.word()),
                        Some(f) => format!("{}, open", f.severity.word()),
                        None => "Not raised".to_owned(),
                    }
                })
                .collect();
            CompareRow {
                label: title,
                differs: cells.windows(2).any(|w| w[0] != w[1]),
                cells,
            }
        })
        .collect();
    ok(&ComparePage {
        layout,
        columns,
        answers,
        findings,
        error: None,
    })
}
