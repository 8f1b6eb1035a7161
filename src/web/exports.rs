//! The case exports for spreadsheets: CSV with a byte-order mark (so Excel reads it as
//! UTF-8) and an .xlsx workbook with typed columns, a header row, filters and a frozen
//! header. Both carry the decision: final verdict, who decided, when, the conditions.
//! The rows come from the case list's filters and every export is audited there.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};
use time::OffsetDateTime;

use crate::db;
use crate::db::cases::{CaseRow, DecisionColumns};
use crate::domain::rulebook::Colour;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::cases::{CaseQuery, export_rows, spreadsheet_safe};
use crate::web::extract::Query;
use crate::web::session::Signed;

/// A case with its decision, if it has one.
pub struct ExportRow {
    pub case: CaseRow,
    pub decision: Option<DecisionColumns>,
}

pub async fn with_decisions(state: &AppState, rows: Vec<CaseRow>) -> AppResult<Vec<ExportRow>> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let mut decisions = db::cases::decisions(state.pool(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|case| {
            let decision = decisions
                .iter()
                .position(|d| d.assessment_id == case.id)
                .map(|i| decisions.swap_remove(i));
            ExportRow { case, decision }
        })
        .collect())
}

const HEADER: [&str; 17] = [
    "reference",
    "id",
    "title",
    "institution",
    "partner",
    "register_entry",
    "area",
    "sub_area",
    "status",
    "computed_verdict",
    "final_verdict",
    "decided_by",
    "decision_date",
    "conditions",
    "conditions_count",
    "submitted_at",
    "updated_at",
];

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The CSV bytes: a UTF-8 byte-order mark, then a header row and one row per case.
pub fn csv(rows: &[ExportRow]) -> AppResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let fail = |e: csv::Error| AppError::Internal(e.into());
    out.write_record(HEADER).map_err(fail)?;
    for ExportRow { case: r, decision } in rows {
        let cells = [
            r.reference.clone(),
            r.id.to_string(),
            r.title.clone(),
            r.institution.clone().unwrap_or_default(),
            r.partner_name.clone().unwrap_or_default(),
            r.register_entry.clone().unwrap_or_default(),
            r.area.clone().unwrap_or_default(),
            r.sub_area.clone().unwrap_or_default(),
            r.status.code().to_owned(),
            r.verdict.word().to_owned(),
            r.final_verdict
                .map(Colour::word)
                .unwrap_or_default()
                .to_owned(),
            decision
                .as_ref()
                .map(|d| d.decided_by.clone())
                .unwrap_or_default(),
            decision
                .as_ref()
                .map(|d| d.decided_at.date().to_string())
                .unwrap_or_default(),
            decision
                .as_ref()
                .map(|d| d.conditions.join("; "))
                .unwrap_or_default(),
            decision
                .as_ref()
                .map_or(0, |d| d.conditions.len())
                .to_string(),
            r.submitted_at.as_ref().map(rfc3339).unwrap_or_default(),
            rfc3339(&r.updated_at),
        ];
        // Every column: register names come from official lists, not from our forms.
        out.write_record(cells.iter().map(|c| spreadsheet_safe(c)))
            .map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))
}

/// An Excel date-time of a moment, in UTC.
fn excel_time(t: &OffsetDateTime) -> Result<ExcelDateTime, XlsxError> {
    let t = t.to_offset(time::UtcOffset::UTC);
    ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day())?.and_hms(
        t.hour() as u16,
        t.minute(),
        t.second(),
    )
}

/// The workbook bytes: one sheet, a bold frozen header row with filters, text as text,
/// counts as numbers, dates and times as Excel dates.
pub fn xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let sheet = book.add_worksheet();
    sheet.set_name("Cases")?;
    for (col, name) in HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold)?;
    }
    for (i, ExportRow { case: r, decision }) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        // Text cells are written as text: a spreadsheet never runs them as formulas.
        let texts: [(u16, String); 11] = [
            (0, r.reference.clone()),
            (1, r.id.to_string()),
            (2, r.title.clone()),
            (3, r.institution.clone().unwrap_or_default()),
            (4, r.partner_name.clone().unwrap_or_default()),
            (5, r.register_entry.clone().unwrap_or_default()),
            (6, r.area.clone().unwrap_or_default()),
            (7, r.sub_area.clone().unwrap_or_default()),
            (8, r.status.code().to_owned()),
            (9, r.verdict.word().to_owned()),
            (
                10,
                r.final_verdict
                    .map(Colour::word)
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ];
        for (col, text) in texts {
            sheet.write_string(row, col, text)?;
        }
        if let Some(d) = decision {
            sheet.write_string(row, 11, &d.decided_by)?;
            let day = d.decided_at.to_offset(time::UtcOffset::UTC).date();
            sheet.write_datetime_with_format(
                row,
                12,
                ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day())?,
                &date,
            )?;
            sheet.write_string(row, 13, d.conditions.join("; "))?;
        }
        sheet.write_number(
            row,
            14,
            decision.as_ref().map_or(0, |d| d.conditions.len()) as f64,
        )?;
        if let Some(t) = &r.submitted_at {
            sheet.write_datetime_with_format(row, 15, excel_time(t)?, &datetime)?;
        }
        sheet.write_datetime_with_format(row, 16, excel_time(&r.updated_at)?, &datetime)?;
    }
    for (col, width) in [
        (0, 16),
        (2, 40),
        (3, 28),
        (4, 32),
        (11, 22),
        (12, 12),
        (13, 40),
        (15, 17),
        (16, 17),
    ] {
        sheet.set_column_width(col, width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, rows.len() as u32, HEADER.len() as u16 - 1)?;
    book.save_to_buffer()
}

pub async fn cases_xlsx_get(
    State(state): State<AppState>,
    s: Signed,
    Query(query): Query<CaseQuery>,
) -> AppResult<Response> {
    let rows = export_rows(&state, &s, &query, "xlsx").await?;
    let rows = with_decisions(&state, rows).await?;
    let body = xlsx(&rows).map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"triage-cases.xlsx\"",
            ),
        ],
        body,
    )
        .into_response())
}
