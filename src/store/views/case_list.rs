//! The case list: filters, sort, paging, and the search box.
//!
//! A search without filters is read from `case_terms` alone (schema 14: each term
//! row carries its case's sort keys, and the table's key covers them): the page is
//! a top-N of the matching term rows, and only the page's cases are looked up. A
//! search with filters, or a list without search, is one query on `cases`.

use super::search;
use super::terms::INLINE_MAX;
use crate::store::cases::{case_from_row, CASE_COLS};
use crate::store::query::{q, Arg, Tx, Q};
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
    /// Words of the search box (see [`search::query_words`]); each must prefix a term.
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

/// The list's SQL with filters (and maybe search words): walked along the sort
/// order's index, or driven from a filter's index; each search word is a prefix
/// range of `case_terms` the cases must be in.
fn case_list_sql(cq: &CaseQuery) -> Q {
    let mut sql = format!("SELECT {CASE_COLS} FROM cases c WHERE 1=1");
    let mut args: Vec<Arg> = Vec::new();
    let mut n = 0;
    let mut next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        n += 1;
        format!("${n}")
    };
    for w in &cq.words {
        let a = next(&mut args, w.clone().into());
        let b = next(&mut args, search::prefix_end(w).into());
        sql.push_str(&format!(
            " AND c.id IN (SELECT case_id FROM case_terms WHERE term >= {a} AND term < {b})"
        ));
    }
    if let Some(s) = cq.stage {
        let a = next(&mut args, s.as_str().into());
        sql.push_str(&format!(" AND c.stage = {a}"));
    }
    if let Some(d) = cq.directorate {
        let a = next(&mut args, directorate_str(d).into());
        sql.push_str(&format!(" AND c.directorate = {a}"));
    }
    if let Some(nat) = &cq.nationality {
        let a = next(&mut args, nat.clone().into());
        sql.push_str(&format!(" AND c.nationality = {a}"));
    }
    if let Some(t) = cq.stalled_before {
        let a = next(&mut args, t.into());
        let list = ACTIVE_STAGES
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" AND c.updated_at < {a} AND c.stage IN ({list})"));
    }
    sql.push_str(match cq.sort {
        CaseSort::Updated => " ORDER BY c.updated_at DESC, c.id DESC",
        CaseSort::Created => " ORDER BY c.id DESC",
        CaseSort::Name => " ORDER BY c.name, c.id",
    });
    let a = next(&mut args, (cq.limit as i64).into());
    let b = next(&mut args, (cq.offset as i64).into());
    sql.push_str(&format!(" LIMIT {a} OFFSET {b}"));
    let mut query = q(sql);
    for a in args {
        query = query.bind(a);
    }
    query
}

impl CaseQuery {
    fn has_filters(&self) -> bool {
        self.stage.is_some()
            || self.directorate.is_some()
            || self.nationality.is_some()
            || self.stalled_before.is_some()
    }
}

/// A multi-word search is driven from its rarest word, the others checked per
/// case through `case_terms_case`, when that word names at most this many terms;
/// when every word is common, the words' ranges are intersected (each an
/// index-only range: cheaper than thousands of probes).
const PROBE_MAX: i64 = 500;

/// How a search's term rows are read.
enum Plan {
    /// One range (one word).
    One,
    /// The rarest word's range, the others probed per case.
    Drive(usize),
    /// The ranges intersected.
    Intersect,
}

/// `(case_id, updated_at, name)` of the matching term rows, in page order: for
/// [`Plan::Intersect`] the page itself (one row per case); otherwise the first
/// `rows` term rows, where a case matched by two terms appears twice, side by side
/// (every order ends on `case_id`, and a case's rows share its sort keys).
// NOTE: measured on 100,000 cases (SQLite): `DISTINCT` over the ~8,000 rows of a
// common word cost 12 ms of CPU for its temporary B-tree, the top-N sort of the raw
// rows 2.6 ms; so duplicates are dropped in Rust from a few pages' worth of rows.
fn search_page_sql(cq: &CaseQuery, plan: &Plan, rows: u64) -> Q {
    let mut args: Vec<Arg> = Vec::new();
    let range = |args: &mut Vec<Arg>, w: &str, col: &str| {
        args.push(w.to_owned().into());
        args.push(search::prefix_end(w).into());
        let n = args.len();
        format!("{col} >= ${} AND {col} < ${n}", n - 1)
    };
    let mut sql = match plan {
        Plan::One => format!(
            "SELECT case_id, updated_at, name FROM case_terms WHERE {}",
            range(&mut args, &cq.words[0], "term")
        ),
        Plan::Drive(d) => {
            let mut s = format!(
                "SELECT t.case_id, t.updated_at, t.name FROM case_terms t WHERE {}",
                range(&mut args, &cq.words[*d], "t.term")
            );
            for (i, w) in cq.words.iter().enumerate() {
                if i != *d {
                    s.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM case_terms u \
                         WHERE u.case_id = t.case_id AND {})",
                        range(&mut args, w, "u.term")
                    ));
                }
            }
            s
        }
        Plan::Intersect => cq
            .words
            .iter()
            .map(|w| {
                format!(
                    "SELECT case_id, updated_at, name FROM case_terms WHERE {}",
                    range(&mut args, w, "term")
                )
            })
            .collect::<Vec<_>>()
            .join(" INTERSECT "),
    };
    let col = |c: &str| match plan {
        Plan::Drive(_) => format!("t.{c}"),
        _ => c.to_owned(),
    };
    sql.push_str(&match cq.sort {
        CaseSort::Updated => format!(
            " ORDER BY {} DESC, {} DESC",
            col("updated_at"),
            col("case_id")
        ),
        CaseSort::Created => format!(" ORDER BY {} DESC", col("case_id")),
        CaseSort::Name => format!(" ORDER BY {}, {}", col("name"), col("case_id")),
    });
    let n = args.len();
    sql.push_str(&format!(" LIMIT ${} OFFSET ${}", n + 1, n + 2));
    let (limit, offset) = match plan {
        Plan::Intersect => (cq.limit, cq.offset),
        _ => (rows, 0),
    };
    args.push(limit.into());
    args.push(offset.into());
    let mut query = q(sql);
    for a in args {
        query = query.bind(a);
    }
    query
}

/// The number of term rows a word prefixes, counted up to `cap` (index-only).
async fn word_rows(tx: &mut Tx, w: &str, cap: i64) -> Result<i64, StoreError> {
    tx.fetch_one(
        q("SELECT COUNT(*) AS n FROM \
           (SELECT 1 FROM case_terms WHERE term >= $1 AND term < $2 LIMIT $3) x")
        .bind(w)
        .bind(search::prefix_end(w))
        .bind(cap),
    )
    .await?
    .get("n")
}

impl Store {
    /// A page of cases (search, filters, sort). A search first indexes the cases
    /// changed since the terms were last brought up to date, when they are few
    /// ([`INLINE_MAX`]); more are the background job's (`terms`).
    pub async fn view_cases(&self, cq: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        if !cq.words.is_empty() && self.sync_case_terms_upto(INLINE_MAX).await?.is_none() {
            tracing::debug!("search: the term index is being brought up to date in the background");
        }
        let mut tx = self.pool().read().await?;
        if cq.words.is_empty() || cq.has_filters() {
            let rows = tx.fetch_all(case_list_sql(cq)).await?;
            return rows
                .iter()
                .map(|r| case_from_row(r).map(|l| l.case))
                .collect();
        }
        let plan = if cq.words.len() == 1 {
            Plan::One
        } else {
            let mut rarest = (0, i64::MAX);
            for (i, w) in cq.words.iter().enumerate() {
                let n = word_rows(&mut tx, w, PROBE_MAX + 1).await?;
                if n < rarest.1 {
                    rarest = (i, n);
                }
            }
            if rarest.1 <= PROBE_MAX {
                Plan::Drive(rarest.0)
            } else {
                Plan::Intersect
            }
        };
        let ids = match plan {
            Plan::Intersect => tx
                .fetch_all(search_page_sql(cq, &plan, 0))
                .await?
                .iter()
                .map(|r| r.get("case_id"))
                .collect::<Result<Vec<i64>, _>>()?,
            _ => {
                let want = cq.offset.saturating_add(cq.limit);
                let mut rows = want.saturating_mul(3).max(64);
                loop {
                    let got = tx.fetch_all(search_page_sql(cq, &plan, rows)).await?;
                    let mut seen = std::collections::HashSet::new();
                    let mut ids = Vec::new();
                    for r in &got {
                        let id: i64 = r.get("case_id")?;
                        if seen.insert(id) {
                            ids.push(id);
                        }
                    }
                    // Enough distinct cases, or every matching row read.
                    if ids.len() as u64 >= want || (got.len() as u64) < rows {
                        break ids
                            .into_iter()
                            .skip(cq.offset as usize)
                            .take(cq.limit as usize)
                            .collect();
                    }
                    rows = rows.saturating_mul(4);
                }
            }
        };
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
        // A case deleted since its terms were written is left out.
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}
