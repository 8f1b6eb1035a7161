//! The print style of one case's report: CSS paged media margin boxes with the case
//! reference, the confidentiality marking and "Page x of y" on every printed page.
//! It is served as a style sheet of its own because the content security policy
//! allows no inline style, and the reference differs per case.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::domain::reference;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::extract::{AnyRole, CaseOf};

/// The marking printed at the top of every page of a report.
pub const MARKING: &str = "Confidential: for the review committee";

pub fn router() -> Router<AppState> {
    Router::new().route("/assessments/{id}/report.css", get(report_css_get))
}

/// The @page rules of a report with this reference.
pub fn page_rules(reference: &str) -> String {
    format!(
        r#"@page {{
  size: A4;
  margin: 22mm 15mm 20mm 15mm;
  @top-left {{ content: "triage \00B7  {reference}"; font: 9pt system-ui, sans-serif; color: #333; vertical-align: bottom; padding-bottom: 3mm; }}
  @top-right {{ content: "{MARKING}"; font: 700 9pt system-ui, sans-serif; color: #333; vertical-align: bottom; padding-bottom: 3mm; }}
  @bottom-left {{ content: "{reference} \00B7  {MARKING}"; font: 8pt system-ui, sans-serif; color: #333; vertical-align: top; padding-top: 3mm; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font: 9pt system-ui, sans-serif; color: #333; vertical-align: top; padding-top: 3mm; }}
}}
@media print {{ .report-marking {{ display: none; }} }}
"#
    )
}

async fn report_css_get(CaseOf { case, .. }: CaseOf<AnyRole>) -> AppResult<Response> {
    // The reference is letters, digits and hyphens (checked by the database too), so it
    // cannot end the CSS string; anything else is refused rather than written out.
    let reference = reference::parse(&case.assessment.reference)
        .filter(|r| *r == case.assessment.reference)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("malformed case reference")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        page_rules(&reference),
    )
        .into_response())
}
