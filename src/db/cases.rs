//! The case list: filters, full-text search, sorting and keyset pagination, plus the
//! aggregates of the dashboard. Every query is scoped: an institution's cases, or every
//! submitted case for reviewers.

use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

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
    pub partner: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// A row of the case list.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CaseRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub institution: Option<String>,
    pub partner_name: Option<String>,
    pub register_entry: Option<String>,
    pub area: Option<String>,
    pub sub_area: Option<String>,
    pub status: String,
    pub verdict: String,
    pub final_verdict: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT a.id, a.project_id, p.title, i.name AS institution, a.partner_name, a.register_entry,
        ar.name AS area, sa.name AS sub_area, a.status, a.verdict, a.final_verdict, a.submitted_at, a.updated_at
 FROM assessments a
 JOIN projects p ON p.id = a.project_id
 LEFT JOIN institutions i ON i.id = a.institution_id
 LEFT JOIN areas ar ON ar.code = a.area_code
 LEFT JOIN sub_areas sa ON sa.code = a.sub_area_code
 WHERE ";

fn push_scope(q: &mut QueryBuilder<'_, Postgres>, scope: Scope) {
    match scope {
        Scope::Institution(id) => {
            q.push("a.institution_id = ").push_bind(id);
        }
        Scope::Submitted => {
            q.push("a.status <> 'draft'");
        }
    }
}

fn push_filters<'a>(q: &mut QueryBuilder<'a, Postgres>, f: &'a Filters) {
    if let Some(text) = &f.text {
        q.push(" AND a.search @@ websearch_to_tsquery('simple', ")
            .push_bind(text)
            .push(")");
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
        q.push(" AND (a.register_entry = ")
            .push_bind(p)
            .push(" OR a.partner_normalised = ")
            .push_bind(crate::screening::normalise_name(p))
            .push(")");
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
            q.push(" AND (p.title, a.id) > (")
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
        Sort::Title => " ORDER BY p.title ASC, a.id ASC",
    });
    q.push(" LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

/// How many cases match.
pub async fn count(pool: &PgPool, scope: Scope, f: &Filters) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(
        "SELECT count(*) FROM assessments a JOIN projects p ON p.id = a.project_id WHERE ",
    );
    push_scope(&mut q, scope);
    push_filters(&mut q, f);
    q.build_query_scalar().fetch_one(pool).await
}

/// Every matching case, for exports (capped).
pub async fn all(pool: &PgPool, scope: Scope, f: &Filters, cap: i64) -> sqlx::Result<Vec<CaseRow>> {
    page(pool, scope, f, Sort::Updated, None, cap).await
}

/// Cases by area and verdict.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AreaVerdict {
    pub area_code: Option<String>,
    pub verdict: String,
    pub n: i64,
}

pub async fn by_area_and_verdict(pool: &PgPool, scope: Scope) -> sqlx::Result<Vec<AreaVerdict>> {
    let mut q =
        QueryBuilder::new("SELECT a.area_code, a.verdict, count(*) AS n FROM assessments a WHERE ");
    push_scope(&mut q, scope);
    q.push(" GROUP BY a.area_code, a.verdict");
    q.build_query_as().fetch_all(pool).await
}

/// Submissions per month.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Monthly {
    pub month: Date,
    pub verdict: String,
    pub n: i64,
}

pub async fn by_month(pool: &PgPool, scope: Scope) -> sqlx::Result<Vec<Monthly>> {
    let mut q = QueryBuilder::new(
        "SELECT date_trunc('month', a.submitted_at)::date AS month, a.verdict, count(*) AS n
         FROM assessments a WHERE a.submitted_at IS NOT NULL AND ",
    );
    push_scope(&mut q, scope);
    q.push(" GROUP BY 1, 2 ORDER BY 1");
    q.build_query_as().fetch_all(pool).await
}

/// Cases waiting for a reviewer, by how long they have waited.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Workload {
    pub status: String,
    pub under_week: i64,
    pub under_month: i64,
    pub older: i64,
}

pub async fn workload(pool: &PgPool, scope: Scope) -> sqlx::Result<Vec<Workload>> {
    let mut q = QueryBuilder::new(
        "SELECT a.status,
                count(*) FILTER (WHERE a.submitted_at > now() - interval '7 days') AS under_week,
                count(*) FILTER (WHERE a.submitted_at <= now() - interval '7 days' AND a.submitted_at > now() - interval '30 days') AS under_month,
                count(*) FILTER (WHERE a.submitted_at <= now() - interval '30 days') AS older
         FROM assessments a WHERE a.status IN ('submitted', 'resubmitted', 'returned') AND ",
    );
    push_scope(&mut q, scope);
    q.push(" GROUP BY a.status ORDER BY a.status");
    q.build_query_as().fetch_all(pool).await
}
