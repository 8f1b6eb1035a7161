//! The portfolio dashboard: charts drawn on the server as SVG, each with a title, a
//! description and the data table beside it, so screen readers and printers get it all.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::db;
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::cases::scope;
use crate::web::layout::{Layout, ok};
use crate::web::session::Signed;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard_get))
}

const VERDICTS: [(&str, &str); 3] = [("green", "Green"), ("orange", "Orange"), ("red", "Red")];

/// A rectangle of a bar chart.
pub struct Segment {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub class: &'static str,
    pub label: String,
    pub count: i64,
}

/// One area's row: its counts per verdict and its bar.
pub struct AreaRow {
    pub name: String,
    pub counts: [i64; 3],
    pub total: i64,
    pub y: f64,
    pub segments: Vec<Segment>,
    /// Heat-map cells: (x, shade 0-4, count).
    pub heat: Vec<(f64, u8, i64)>,
}

pub struct MonthColumn {
    pub label: String,
    pub counts: [i64; 3],
    pub x: f64,
    pub segments: Vec<Segment>,
}

pub struct WorkloadRow {
    pub status: String,
    pub under_week: i64,
    pub under_month: i64,
    pub older: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    areas: Vec<AreaRow>,
    area_chart_height: f64,
    months: Vec<MonthColumn>,
    month_max: i64,
    workload: Vec<WorkloadRow>,
    total: i64,
    verdict_totals: [i64; 3],
    reviewer: bool,
    /// Cases whose screening changed since submission or decision, not yet acknowledged.
    screening_changed: i64,
}

const BAR_LEFT: f64 = 300.0;
const BAR_WIDTH: f64 = 380.0;
const ROW: f64 = 26.0;
const MONTH_HEIGHT: f64 = 180.0;

async fn dashboard_get(State(state): State<AppState>, s: Signed) -> AppResult<Response> {
    let scope = scope(&s)?;
    let figures = state.dashboard(scope).await?;
    let rows: Vec<&db::cases::DashboardFigure> = figures.iter().filter(|f| f.set == 0).collect();
    let rulebook = state.rulebook_now();
    let mut areas: Vec<AreaRow> = Vec::new();
    let mut names: Vec<(Option<String>, String)> = rulebook
        .areas()
        .iter()
        .map(|a| (Some(a.code.clone()), a.name.clone()))
        .collect();
    names.push((None, "No area chosen".to_owned()));
    for (code, name) in names {
        let mut counts = [0i64; 3];
        for r in rows.iter().filter(|r| r.area_code == code) {
            if let Some(i) = VERDICTS
                .iter()
                .position(|(v, _)| Some(*v) == r.verdict.as_deref())
            {
                counts[i] += r.n;
            }
        }
        let total = counts.iter().sum();
        if total == 0 && code.is_none() {
            continue;
        }
        areas.push(AreaRow {
            name,
            counts,
            total,
            y: 0.0,
            segments: Vec::new(),
            heat: Vec::new(),
        });
    }
    let max_total = areas.iter().map(|a| a.total).max().unwrap_or(0).max(1);
    let max_cell = areas
        .iter()
        .flat_map(|a| a.counts)
        .max()
        .unwrap_or(0)
        .max(1);
    for (i, area) in areas.iter_mut().enumerate() {
        area.y = 10.0 + i as f64 * ROW;
        let mut x = BAR_LEFT;
        for (k, (code, word)) in VERDICTS.iter().enumerate() {
            let width = area.counts[k] as f64 / max_total as f64 * BAR_WIDTH;
            if area.counts[k] > 0 {
                area.segments.push(Segment {
                    x,
                    y: area.y,
                    width,
                    height: ROW - 6.0,
                    class: code,
                    label: format!("{}: {} {word}", area.name, area.counts[k]),
                    count: area.counts[k],
                });
            }
            x += width;
            let shade = if area.counts[k] == 0 {
                0
            } else {
                (1 + area.counts[k] * 3 / max_cell).min(4) as u8
            };
            area.heat
                .push((BAR_LEFT + k as f64 * 90.0, shade, area.counts[k]));
        }
    }
    let area_chart_height = 20.0 + areas.len() as f64 * ROW;

    // Submissions per month, the last 24 months that have any.
    let mut monthly: Vec<(time::Date, &str, i64)> = figures
        .iter()
        .filter(|f| f.set == 1)
        .filter_map(|f| Some((f.month?, f.verdict.as_deref()?, f.n)))
        .collect();
    monthly.sort();
    let mut months: Vec<MonthColumn> = Vec::new();
    for (month, verdict, n) in monthly {
        let label = format!("{}-{:02}", month.year(), u8::from(month.month()));
        if months.last().is_none_or(|c| c.label != label) {
            months.push(MonthColumn {
                label,
                counts: [0; 3],
                x: 0.0,
                segments: Vec::new(),
            });
        }
        if let (Some(col), Some(i)) = (
            months.last_mut(),
            VERDICTS.iter().position(|(v, _)| *v == verdict),
        ) {
            col.counts[i] += n;
        }
    }
    let skip = months.len().saturating_sub(24);
    let mut months: Vec<MonthColumn> = months.into_iter().skip(skip).collect();
    let month_max = months
        .iter()
        .map(|c| c.counts.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    for (i, col) in months.iter_mut().enumerate() {
        col.x = 40.0 + i as f64 * 26.0;
        let mut top = 10.0 + MONTH_HEIGHT;
        for (k, (code, word)) in VERDICTS.iter().enumerate() {
            let height = col.counts[k] as f64 / month_max as f64 * MONTH_HEIGHT;
            top -= height;
            if col.counts[k] > 0 {
                col.segments.push(Segment {
                    x: col.x,
                    y: top,
                    width: 20.0,
                    height,
                    class: code,
                    label: format!("{}: {} {word}", col.label, col.counts[k]),
                    count: col.counts[k],
                });
            }
        }
    }

    let mut workload: Vec<WorkloadRow> = Vec::new();
    for status in ["submitted", "resubmitted", "returned"] {
        let count = |age: i32| {
            figures
                .iter()
                .filter(|f| f.set == 2 && f.status.as_deref() == Some(status) && f.age == Some(age))
                .map(|f| f.n)
                .sum::<i64>()
        };
        let row = WorkloadRow {
            status: status.to_owned(),
            under_week: count(0),
            under_month: count(1),
            older: count(2),
        };
        if row.under_week + row.under_month + row.older > 0 {
            workload.push(row);
        }
    }
    let mut verdict_totals = [0i64; 3];
    for a in &areas {
        for (total, n) in verdict_totals.iter_mut().zip(a.counts) {
            *total += n;
        }
    }

    ok(&DashboardPage {
        layout: Layout::new(&state, &s.ctx, "Dashboard", "dashboard"),
        total: verdict_totals.iter().sum(),
        verdict_totals,
        areas,
        area_chart_height,
        months,
        month_max,
        workload,
        screening_changed: db::cases::screening_changed(state.pool(), scope).await?,
        reviewer: s.role() == crate::domain::account::Role::Reviewer,
    })
}
