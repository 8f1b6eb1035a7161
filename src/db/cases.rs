//! The case list: filters, full-text search, sorting and keyset pagination, plus the
//! aggregates of the dashboard. Every query is scoped: an institution's cases, or every
//! submitted case for reviewers.

use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::lifecycle::Status;
use crate::domain::rulebook::Colour;

/// Whose cases a query may see.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// An officer: their institution's cases, drafts included.
    Institution(Uuid),
    /// A reviewer: every case that has been submitted at least once.
    Submitted,
}

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Most recent activity first.
    Updated,
    /// Oldest submission first (the review order).
    Submitted,
    /// By project title.
    Title,
}

impl Sort {
    pub fn parse(s: &str) -> Sort {
        match s {
            "submitted" => Sort::Submitted,
            "title" => Sort::Title,
            _ => Sort::Updated,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Sort::Updated => "updated",
            Sort::Submitted => "submitted",
            Sort::Title => "title",
        }
    }
}

/// Where the previous page ended: the sort key of its last row and that row's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Time(OffsetDateTime, Uuid),
    Text(String, Uuid),
}

/// Validated filters.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub text: Option<String>,
    pub verdict: Option<String>,
    pub final_verdict: Option<String>,
    pub area: Option<String>,
    pub sub_area: Option<String>,
    pub status: Option<String>,
    pub institution: Option<Uuid>,
    pub partner: Option<PartnerFilter>,
    /// Only cases whose screening changed since they were submitted or decided and
    /// that a reviewer has still to acknowledge.
    pub screening_changed: bool,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// Cases of one partner: those grouped under its register entries, and those whose
/// partner name reads the same.
#[derive(Debug, Clone, Default)]
pub struct PartnerFilter {
    pub entry_ids: Vec<String>,
    pub key: String,
}

/// A row of the case list.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CaseRow {
    pub id: Uuid,
    /// The human reference, `TRI-2026-0042`.
    pub reference: String,
    pub project_id: Uuid,
    pub title: String,
    pub institution: Option<String>,
    pub partner_name: Option<String>,
    pub register_entry: Option<String>,
    pub register_entry_id: Option<String>,
    pub screening_changed: bool,
    pub area: Option<String>,
    pub sub_area: Option<String>,
    pub status: Status,
    pub verdict: Colour,
    pub final_verdict: Option<Colour>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How many rows match the filters (before the cursor and the limit), capped at COUNT_CAP + 1.
    #[serde(skip)]
    pub total: i64,
}

/// Counts stop here: past it the list says "more than".
pub const COUNT_CAP: i64 = 5_000;

const SELECT: &str = "SELECT a.id, a.reference, a.project_id, coalesce(a.title, '') AS title, i.name AS institution, a.partner_name,
        a.register_entry, a.register_entry_id, a.screening_changed, ar.name AS area, sa.name AS sub_area, a.status, a.verdict, a.final_verdict,
        a.submitted_at, a.updated_at";

const FROM: &str = " FROM assessments a
 LEFT JOIN institutions i ON i.id = a.institution_id
 LEFT JOIN areas ar ON ar.code = a.area_code
 LEFT JOIN sub_areas sa ON sa.code = a.sub_area_code
 WHERE ";

fn push_scope(q: &mut QueryBuilder<'_, Postgres>, scope: Scope) {
    match scope {
        Scope::Institution(id) => {
            q.push("a.deleted_at IS NULL AND a.institution_id = ")
                .push_bind(id);
        }
        Scope::Submitted => {
            q.push("a.status <> 'draft' AND a.deleted_at IS NULL");
        }
    }
}

fn push_filters<'a>(q: &mut QueryBuilder<'a, Postgres>, f: &'a Filters) {
    if let Some(text) = &f.text {
        // A reference finds its case; any other text searches the words.
        match crate::domain::reference::parse(text) {
            Some(reference) => {
                q.push(" AND a.reference = ").push_bind(reference);
            }
            None => {
                q.push(" AND a.search @@ websearch_to_tsquery('simple', ")
                    .push_bind(crate::domain::search::search_query(text))
                    .push(")");
            }
        }
    }
    let eq = |q: &mut QueryBuilder<'a, Postgres>, column: &str, value: &'a Option<String>| {
        if let Some(v) = value {
            q.push(format!(" AND {column} = ")).push_bind(v);
        }
    };
    eq(q, "a.verdict", &f.verdict);
    eq(q, "a.area_code", &f.area);
    eq(q, "a.sub_area_code", &f.sub_area);
    eq(q, "a.status", &f.status);
    match f.final_verdict.as_deref() {
        Some("none") => {
            q.push(" AND a.final_verdict IS NULL");
        }
        Some(v) => {
            q.push(" AND a.final_verdict = ").push_bind(v);
        }
        None => {}
    }
    if let Some(i) = f.institution {
        q.push(" AND a.institution_id = ").push_bind(i);
    }
    if let Some(p) = &f.partner {
        q.push(" AND (a.register_entry_id = ANY(")
            .push_bind(&p.entry_ids)
            .push(") OR a.partner_normalised = ")
            .push_bind(&p.key)
            .push(")");
    }
    if f.screening_changed {
        q.push(" AND a.screening_changed");
    }
    // Dates filter on the (latest) submission, or on the last change of a draft.
    if let Some(d) = f.from {
        q.push(" AND coalesce(a.submitted_at, a.updated_at) >= ")
            .push_bind(d);
    }
    if let Some(d) = f.to {
        q.push(" AND coalesce(a.submitted_at, a.updated_at) < ")
            .push_bind(d)
            .push("::date + 1");
    }
}

/// One page of cases after `cursor`, `limit` rows at most.
pub async fn page(
    pool: &PgPool,
    scope: Scope,
    f: &Filters,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    let mut q = QueryBuilder::new(SELECT);
    // The count rides along in the same round trip, bounded so deep lists stay cheap.
    q.push(", (SELECT count(*) FROM (SELECT 1 FROM assessments a WHERE ");
    push_scope(&mut q, scope);
    push_filters(&mut q, f);
    q.push(" LIMIT ")
        .push_bind(COUNT_CAP + 1)
        .push(") c) AS total");
    q.push(FROM);
    push_scope(&mut q, scope);
    push_filters(&mut q, f);
    match (sort, cursor) {
        (Sort::Updated, Some(Cursor::Time(t, id))) => {
            q.push(" AND (a.updated_at, a.id) < (")
                .push_bind(*t)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Sort::Submitted, Some(Cursor::Time(t, id))) => {
            q.push(" AND (a.submitted_at, a.id) > (")
                .push_bind(*t)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        (Sort::Title, Some(Cursor::Text(t, id))) => {
            q.push(" AND (a.title, a.id) > (")
                .push_bind(t.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        _ => {}
    }
    if sort == Sort::Submitted {
        q.push(" AND a.submitted_at IS NOT NULL");
    }
    q.push(match sort {
        Sort::Updated => " ORDER BY a.updated_at DESC, a.id DESC",
        Sort::Submitted => " ORDER BY a.submitted_at ASC, a.id ASC",
        Sort::Title => " ORDER BY a.title ASC, a.id ASC",
    });
    q.push(" LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

/// How many cases match.
pub async fn count(pool: &PgPool, scope: Scope, f: &Filters) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM assessments a WHERE ");
    push_scope(&mut q, scope);
    push_filters(&mut q, f);
    q.push(" LIMIT ").push_bind(COUNT_CAP + 1).push(") c");
    q.build_query_scalar().fetch_one(pool).await
}

/// Every matching case, for exports (capped).
pub async fn all(pool: &PgPool, scope: Scope, f: &Filters, cap: i64) -> sqlx::Result<Vec<CaseRow>> {
    page(pool, scope, f, Sort::Updated, None, cap).await
}

/// One figure of the dashboard; which of the three groupings it belongs to is `set`:
/// 0 area x verdict, 1 month x verdict, 2 waiting status x age (0 under a week, 1 under a month, 2 older).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DashboardFigure {
    pub set: i32,
    pub area_code: Option<String>,
    pub verdict: Option<String>,
    pub month: Option<Date>,
    pub status: Option<String>,
    pub age: Option<i32>,
    pub n: i64,
}

/// Every figure of the dashboard in one pass over the cases.
pub async fn dashboard(pool: &PgPool, scope: Scope) -> sqlx::Result<Vec<DashboardFigure>> {
    let mut q = QueryBuilder::new(
        "SELECT CASE WHEN GROUPING(a.area_code) = 0 THEN 0 WHEN GROUPING(a.status) = 0 THEN 2 ELSE 1 END AS set,
                a.area_code, a.verdict, date_trunc('month', a.submitted_at)::date AS month, a.status,
                CASE WHEN a.submitted_at > now() - interval '7 days' THEN 0
                     WHEN a.submitted_at > now() - interval '30 days' THEN 1 ELSE 2 END AS age,
                count(*) AS n
         FROM assessments a WHERE ",
    );
    push_scope(&mut q, scope);
    q.push(
        " GROUP BY GROUPING SETS (
             (a.area_code, a.verdict),
             (date_trunc('month', a.submitted_at)::date, a.verdict),
             (a.status, CASE WHEN a.submitted_at > now() - interval '7 days' THEN 0
                             WHEN a.submitted_at > now() - interval '30 days' THEN 1 ELSE 2 END))",
    );
    q.build_query_as().fetch_all(pool).await
}

/// Submitted cases whose screening changed and that no reviewer has acknowledged yet.
pub async fn screening_changed(pool: &PgPool, scope: Scope) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new("SELECT count(*) FROM assessments a WHERE ");
    push_scope(&mut q, scope);
    q.push(" AND a.screening_changed AND a.status <> 'draft'");
    q.build_query_scalar().fetch_one(pool).await
}

/// The decision on a case, for the exports.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DecisionColumns {
    pub assessment_id: Uuid,
    pub decided_by: String,
    pub decided_at: OffsetDateTime,
    pub conditions: Vec<String>,
}

/// The decisions of some cases (those without one are absent).
pub async fn decisions(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<DecisionColumns>> {
    sqlx::query_as(
        "SELECT d.assessment_id, u.display_name AS decided_by, d.decided_at, d.conditions
         FROM decisions d JOIN users u ON u.id = d.decided_by
         WHERE d.assessment_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}
