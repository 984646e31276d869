//! The case list: filters, sort, paging, and the search box.
//!
//! A search reads its page of case ids from `case_terms` ([`search_page`]; with
//! filters, each term row's case is checked as it is read), then looks up only the
//! page's cases. A list without search is one query on `cases` ([`list_drive`]
//! says along which index, on SQLite).

use super::search_page;
use super::terms::INLINE_MAX;
use crate::store::cases::{case_from_row, CASE_COLS};
use crate::store::query::{arg, q, Arg, Tx, Q};
use crate::store::types::directorate_str;
use crate::store::{Case, Stage, Store, StoreError};

use chrono::{DateTime, Utc};

/// How the case list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Most recently changed first (default).
    #[default]
    Updated,
    /// Newest case first.
    Created,
    /// By name, A to Z.
    Name,
}

impl CaseSort {
    pub fn parse(s: &str) -> CaseSort {
        match s {
            "created" => CaseSort::Created,
            "name" => CaseSort::Name,
            _ => CaseSort::Updated,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::Updated => "updated",
            CaseSort::Created => "created",
            CaseSort::Name => "name",
        }
    }
}

/// The case list's filters, search and page.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Words of the search box (see [`super::search::query_words`]); each must prefix a term.
    pub words: Vec<String>,
    pub stage: Option<Stage>,
    pub directorate: Option<crate::parse::Directorate>,
    pub nationality: Option<String>,
    /// Only cases in an active stage unchanged since this time.
    pub stalled_before: Option<DateTime<Utc>>,
    pub sort: CaseSort,
    pub offset: u64,
    pub limit: u64,
}

/// Stages in which a case is waiting for something to happen.
pub const ACTIVE_STAGES: [Stage; 5] = [
    Stage::Approved,
    Stage::AddressConfirmed,
    Stage::FeePaid,
    Stage::Applied,
    Stage::NidPending,
];

/// One of the case list's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filter {
    Stage,
    Directorate,
    Nationality,
    Stalled,
}

/// `AND …` for each filter, on the columns of table `t` (`cases` or `case_terms`,
/// which carries the same), its arguments bound in `args` (placeholders numbered
/// from `args.len()`).
pub(super) fn filter_conds(cq: &CaseQuery, args: &mut Vec<Arg>, t: &str) -> String {
    conds(cq, args, t, |_| false)
}

/// [`filter_conds`], with the columns of the filters `hide` names written `+t.col`:
/// the same test, which SQLite will not answer from an index.
fn conds(cq: &CaseQuery, args: &mut Vec<Arg>, t: &str, hide: impl Fn(Filter) -> bool) -> String {
    let mut sql = String::new();
    let col = |f: Filter, c: &str| match hide(f) {
        true => format!("+{t}.{c}"),
        false => format!("{t}.{c}"),
    };
    if let Some(s) = cq.stage {
        let a = arg(args, s.as_str());
        sql.push_str(&format!(" AND {} = {a}", col(Filter::Stage, "stage")));
    }
    if let Some(d) = cq.directorate {
        let a = arg(args, directorate_str(d));
        sql.push_str(&format!(
            " AND {} = {a}",
            col(Filter::Directorate, "directorate")
        ));
    }
    if let Some(nat) = &cq.nationality {
        let a = arg(args, nat.clone());
        sql.push_str(&format!(
            " AND {} = {a}",
            col(Filter::Nationality, "nationality")
        ));
    }
    if let Some(before) = cq.stalled_before {
        let a = arg(args, before);
        let list = ACTIVE_STAGES
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            " AND {} < {a} AND {} IN ({list})",
            col(Filter::Stalled, "updated_at"),
            col(Filter::Stalled, "stage")
        ));
    }
    sql
}

/// How a filtered list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drive {
    /// As the database plans it (PostgreSQL, which has statistics; the list by last
    /// change, which has an index per filter in that order; no filter).
    Planner,
    /// From this filter's index: its matches sorted, or read in order where the
    /// index has it (nationality by name).
    Filter(Filter),
    /// Along the sort order's index, each case checked against the filters.
    SortOrder,
}

/// Matches of a filter counted at most, to choose a [`Drive`].
const COUNT_CAP: i64 = 20_000;

/// How a list filtered and sorted by name or creation is read on SQLite, which
/// has no statistics and would otherwise always read a filter's index and sort
/// every match (all 100,000 cases for `stage=approved`): from the filter with the
/// fewest matches, sorting them, when that costs less than walking the sort order
/// until the page is full (about the page's end × cases ÷ matches rows).
// NOTE: the other way out, an index on (filter, name) and (filter, id) for each
// filter, cost ingest 15 % more CPU per message (five more indexes on `cases`);
// only the nationality has one, by name, as names follow it (schema 16).
pub(super) async fn list_drive(tx: &mut Tx, cq: &CaseQuery) -> Result<Drive, StoreError> {
    if tx.is_pg() || cq.sort == CaseSort::Updated || !cq.has_filters() {
        return Ok(Drive::Planner);
    }
    // The nationality has its own index by name (schema 16: names follow it).
    if cq.sort == CaseSort::Name && cq.nationality.is_some() {
        return Ok(Drive::Filter(Filter::Nationality));
    }
    let mut fewest: Option<(Filter, i64)> = None;
    for f in cq.filters() {
        let mut args = Vec::new();
        let cond = filter_conds(&cq.only(f), &mut args, "c");
        let cap = arg(&mut args, COUNT_CAP);
        let stmt = q(format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM cases c WHERE 1=1{cond} LIMIT {cap}) x"
        ))
        .bind_all(args);
        let n: i64 = tx.fetch_one(stmt).await?.get("n")?;
        if fewest.is_none_or(|(_, m)| n < m) {
            fewest = Some((f, n));
        }
    }
    let Some((f, n)) = fewest else {
        return Ok(Drive::Planner);
    };
    let cases: i64 = tx
        .fetch_one(q("SELECT COALESCE(MAX(id), 0) AS n FROM cases"))
        .await?
        .get("n")?;
    let page_end = cq.offset.saturating_add(cq.limit).min(i64::MAX as u64) as i64;
    // Sorting n matches against walking page_end × cases / n rows.
    Ok(if n.saturating_mul(n) > page_end.saturating_mul(cases) {
        Drive::SortOrder
    } else {
        Drive::Filter(f)
    })
}

/// The list without search, read as `drive` says.
pub(super) fn case_list_sql(cq: &CaseQuery, drive: Drive) -> Q {
    let mut args: Vec<Arg> = Vec::new();
    let cond = conds(cq, &mut args, "c", |f| match drive {
        Drive::Planner => false,
        Drive::Filter(keep) => f != keep,
        Drive::SortOrder => true,
    });
    let mut sql = format!("SELECT {CASE_COLS} FROM cases c WHERE 1=1{cond}");
    sql.push_str(match cq.sort {
        CaseSort::Updated => " ORDER BY c.updated_at DESC, c.id DESC",
        CaseSort::Created => " ORDER BY c.id DESC",
        CaseSort::Name => " ORDER BY c.name, c.id",
    });
    let limit = arg(&mut args, cq.limit as i64);
    let offset = arg(&mut args, cq.offset as i64);
    sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    q(sql).bind_all(args)
}

impl CaseQuery {
    pub(super) fn has_filters(&self) -> bool {
        !self.filters().is_empty()
    }

    /// The filters set.
    fn filters(&self) -> Vec<Filter> {
        [
            (self.stage.is_some(), Filter::Stage),
            (self.directorate.is_some(), Filter::Directorate),
            (self.nationality.is_some(), Filter::Nationality),
            (self.stalled_before.is_some(), Filter::Stalled),
        ]
        .into_iter()
        .filter_map(|(set, f)| set.then_some(f))
        .collect()
    }

    /// This query with only filter `f`.
    fn only(&self, f: Filter) -> CaseQuery {
        CaseQuery {
            stage: self.stage.filter(|_| f == Filter::Stage),
            directorate: self.directorate.filter(|_| f == Filter::Directorate),
            nationality: self
                .nationality
                .clone()
                .filter(|_| f == Filter::Nationality),
            stalled_before: self.stalled_before.filter(|_| f == Filter::Stalled),
            ..CaseQuery::default()
        }
    }

    /// Whether the case passes the filters as it is now (a search filters on its
    /// term rows, which the background job may not have brought up to date yet).
    fn admits(&self, c: &Case) -> bool {
        self.stage.is_none_or(|s| c.stage == s)
            && self.directorate.is_none_or(|d| c.directorate == Some(d))
            && (self.nationality.as_deref()).is_none_or(|n| c.nationality.as_deref() == Some(n))
            && self
                .stalled_before
                .is_none_or(|t| c.updated_at < t && ACTIVE_STAGES.contains(&c.stage))
    }
}

impl Store {
    /// How a search without filters reads its page: `terms(N)` (N terms each
    /// walked in page order), `range`, `intersect` or `nothing`, with `+K` when K
    /// more words are checked per case. For tests.
    #[doc(hidden)]
    pub async fn search_plan(&self, cq: &CaseQuery) -> Result<String, StoreError> {
        let mut tx = self.pool().read().await?;
        search_page::describe(&mut tx, cq).await
    }

    /// A page of cases (search, filters, sort). A search first indexes the cases
    /// changed since the terms were last brought up to date, when they are few
    /// ([`INLINE_MAX`]); more are the background job's (`terms`).
    pub async fn view_cases(&self, cq: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        if !cq.words.is_empty() && self.sync_case_terms_upto(INLINE_MAX).await?.is_none() {
            tracing::debug!("search: the term index is being brought up to date in the background");
        }
        let mut tx = self.pool().read().await?;
        if cq.words.is_empty() {
            let drive = list_drive(&mut tx, cq).await?;
            let rows = tx.fetch_all(case_list_sql(cq, drive)).await?;
            return rows
                .iter()
                .map(|r| case_from_row(r).map(|l| l.case))
                .collect();
        }
        let ids = search_page::page_ids(&mut tx, cq).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {CASE_COLS} FROM cases WHERE id IN ({list})"
                ))
                .once(),
            )
            .await?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let c = case_from_row(r)?.case;
            by_id.insert(c.id, c);
        }
        // A case deleted since its terms were written is left out, and so is one
        // changed since that no longer passes the filters.
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|c| cq.admits(c))
            .collect())
    }
}
