//! The case list: filters, sort, paging, and the search box.
//!
//! A search reads its page of case ids from `case_terms` ([`search_page`]; with
//! filters, each term row's case is checked as it is read), then looks up only the
//! page's cases. A list without search is one query on `cases`.

use super::search_page;
use super::terms::INLINE_MAX;
use crate::store::cases::{case_from_row, CASE_COLS};
use crate::store::query::{q, Arg, Q};
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

/// `AND …` for each filter, on the columns of table `t` (`cases` or `case_terms`,
/// which carries the same), its arguments bound in `args` (placeholders numbered
/// from `args.len()`).
pub(super) fn filter_conds(cq: &CaseQuery, args: &mut Vec<Arg>, t: &str) -> String {
    let mut sql = String::new();
    let mut next = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    if let Some(s) = cq.stage {
        sql.push_str(&format!(" AND {t}.stage = {}", next(s.as_str().into())));
    }
    if let Some(d) = cq.directorate {
        sql.push_str(&format!(
            " AND {t}.directorate = {}",
            next(directorate_str(d).into())
        ));
    }
    if let Some(nat) = &cq.nationality {
        sql.push_str(&format!(
            " AND {t}.nationality = {}",
            next(nat.clone().into())
        ));
    }
    if let Some(before) = cq.stalled_before {
        let a = next(before.into());
        let list = ACTIVE_STAGES
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            " AND {t}.updated_at < {a} AND {t}.stage IN ({list})"
        ));
    }
    sql
}

/// The list without search: walked along the sort order's index, or driven from a
/// filter's index.
fn case_list_sql(cq: &CaseQuery) -> Q {
    let mut args: Vec<Arg> = Vec::new();
    let mut sql = format!(
        "SELECT {CASE_COLS} FROM cases c WHERE 1=1{}",
        filter_conds(cq, &mut args, "c")
    );
    sql.push_str(match cq.sort {
        CaseSort::Updated => " ORDER BY c.updated_at DESC, c.id DESC",
        CaseSort::Created => " ORDER BY c.id DESC",
        CaseSort::Name => " ORDER BY c.name, c.id",
    });
    args.push((cq.limit as i64).into());
    args.push((cq.offset as i64).into());
    let n = args.len();
    sql.push_str(&format!(" LIMIT ${} OFFSET ${n}", n - 1));
    let mut query = q(sql);
    for a in args {
        query = query.bind(a);
    }
    query
}

impl CaseQuery {
    pub(super) fn has_filters(&self) -> bool {
        self.stage.is_some()
            || self.directorate.is_some()
            || self.nationality.is_some()
            || self.stalled_before.is_some()
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
            let rows = tx.fetch_all(case_list_sql(cq)).await?;
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
