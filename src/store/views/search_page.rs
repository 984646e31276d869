//! How a search's page of case ids is read from `case_terms`, in proportion to the
//! page rather than to how many cases a word matches.
//!
//! A word is a prefix: `cuci` names one term (`cuci`) in 8,000 cases, `bn0000`
//! names 10,000 terms of one case each. So the first thing read is how many
//! distinct terms the word names (a few index seeks, at most [`FEW_TERMS`] + 1):
//! - **few terms**: each term is walked along its index in the page's order
//!   (schema 15: `(term, updated_at, case_id)`, `(term, name, case_id)`, and the key
//!   `(term, case_id)` for newest-first), and the walks are merged; each stops after
//!   a page. `cuci` reads 50 rows, not 8,000;
//! - **many terms**: the word's range is read whole (index-only) and its top rows
//!   kept: a prefix naming thousands of documents has no order to walk.
//!
//! Several words: the one with the fewest rows drives and each of its rows is kept
//! when every other word matches its case (one index seek each, on
//! `case_terms_case`); when no word can drive cheaply, the words' ranges are
//! intersected.
//!
//! The filters (stage, directorate, nationality, stalled) are checked on the term
//! rows, which carry them (schema 15), so a filtered search reads the same rows as
//! an unfiltered one and looks nothing else up; [`super::case_list`] checks the
//! page's cases again as they are now.

use super::case_list::{filter_conds, CaseQuery, CaseSort};
use super::search::prefix_end;
use crate::store::query::{arg, q, Tx, Q};
use crate::store::StoreError;

/// A word naming at most this many distinct terms is read term by term.
const FEW_TERMS: i64 = 16;

/// A word of at most this many term rows can drive a multi-word search by reading
/// its whole range (each row probed for the other words).
const PROBE_MAX: i64 = 500;

/// Term rows counted per word at most, to choose the driving word.
const COUNT_CAP: i64 = 20_000;

/// Where the driving word's term rows come from.
#[derive(Debug)]
pub(super) enum Source {
    /// These exact terms (all the word names), each walked in page order.
    Terms(Vec<String>),
    /// The word's whole prefix range.
    Range(String),
}

/// How a search's page is read.
#[derive(Debug)]
enum Plan {
    /// The driving word's rows in page order, each kept when its case also matches
    /// every word of `probes`.
    Walk { source: Source, probes: Vec<String> },
    /// The words' ranges intersected (every word common and naming many terms).
    Intersect,
    /// A word names no term at all.
    Nothing,
}

impl Plan {
    /// A short name of the plan (`terms(2)+1`: two terms walked, one word probed).
    fn describe(&self) -> String {
        match self {
            Plan::Walk { source, probes } => {
                let s = match source {
                    Source::Terms(t) => format!("terms({})", t.len()),
                    Source::Range(_) => "range".to_owned(),
                };
                match probes.len() {
                    0 => s,
                    n => format!("{s}+{n}"),
                }
            }
            Plan::Intersect => "intersect".to_owned(),
            Plan::Nothing => "nothing".to_owned(),
        }
    }
}

/// What is known of one word.
struct Word<'a> {
    word: &'a str,
    /// Its distinct terms, when at most [`FEW_TERMS`].
    terms: Option<Vec<String>>,
    /// Its term rows, counted up to [`COUNT_CAP`] (multi-word searches only).
    rows: i64,
}

/// The ids of the search's page of cases (`cq.words` not empty), in page order.
pub(super) async fn page_ids(tx: &mut Tx, cq: &CaseQuery) -> Result<Vec<i64>, StoreError> {
    let plan = plan(tx, cq).await?;
    // The plan's shape only: the words may be a travel document's number.
    tracing::trace!(plan = %plan.describe(), "search plan");
    let (probes, source) = match plan {
        Plan::Nothing => return Ok(Vec::new()),
        Plan::Intersect => {
            return tx
                .fetch_all(intersect_sql(cq))
                .await?
                .iter()
                .map(|r| r.get("case_id"))
                .collect();
        }
        Plan::Walk { source, probes } => (probes, source),
    };
    let want = cq.offset.saturating_add(cq.limit);
    // A case appears once per matching term: once in a single term's walk, maybe
    // more often in a range or across terms (side by side, as its rows share its
    // sort keys and every order ends on the case id).
    let single = matches!(&source, Source::Terms(t) if t.len() == 1);
    let mut rows = if single { want } else { want + want / 2 + 8 };
    loop {
        let got = tx.fetch_all(walk_sql(cq, &source, &probes, rows)).await?;
        let mut seen = std::collections::HashSet::with_capacity(got.len());
        let mut ids: Vec<i64> = Vec::with_capacity(got.len());
        for r in &got {
            let id: i64 = r.get("case_id")?;
            if seen.insert(id) {
                ids.push(id);
            }
        }
        // Enough distinct cases, or every matching row read.
        if ids.len() as u64 >= want || (got.len() as u64) < rows {
            return Ok(ids
                .into_iter()
                .skip(cq.offset as usize)
                .take(cq.limit as usize)
                .collect());
        }
        rows = rows.saturating_mul(4);
    }
}

/// How the search would be read (for tests and `trace` logs).
pub(super) async fn describe(tx: &mut Tx, cq: &CaseQuery) -> Result<String, StoreError> {
    Ok(plan(tx, cq).await?.describe())
}

async fn plan(tx: &mut Tx, cq: &CaseQuery) -> Result<Plan, StoreError> {
    let multi = cq.words.len() > 1;
    let mut words = Vec::with_capacity(cq.words.len());
    for w in &cq.words {
        let terms = distinct_terms(tx, w).await?;
        let rows = if multi {
            word_rows(tx, w, COUNT_CAP).await?
        } else {
            0
        };
        if terms.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Plan::Nothing);
        }
        words.push(Word {
            word: w,
            terms,
            rows,
        });
    }
    let others = |i: usize| -> Vec<String> {
        cq.words
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, w)| w.clone())
            .collect()
    };
    let walk = |i: usize, words: &mut Vec<Word>| {
        let w: &mut Word = &mut words[i];
        let source = match w.terms.take() {
            Some(t) => Source::Terms(t),
            None => Source::Range(w.word.to_owned()),
        };
        Plan::Walk {
            source,
            probes: others(i),
        }
    };
    // The rarest word drives, if it names few terms or has few rows; otherwise
    // the rarest word that names few terms; otherwise the ranges are intersected.
    let rarest = (0..words.len()).min_by_key(|&i| words[i].rows).unwrap_or(0);
    if !multi || words[rarest].terms.is_some() || words[rarest].rows <= PROBE_MAX {
        return Ok(walk(rarest, &mut words));
    }
    match (0..words.len())
        .filter(|&i| words[i].terms.is_some())
        .min_by_key(|&i| words[i].rows)
    {
        Some(i) => Ok(walk(i, &mut words)),
        None => Ok(Plan::Intersect),
    }
}

/// The distinct terms `w` prefixes when at most [`FEW_TERMS`], else `None`: a
/// skip scan, one index seek per term (a recursive query on both backends).
async fn distinct_terms(tx: &mut Tx, w: &str) -> Result<Option<Vec<String>>, StoreError> {
    let rows = tx
        .fetch_all(
            q("WITH RECURSIVE d (term, n) AS ( \
                 SELECT (SELECT MIN(term) FROM case_terms WHERE term >= $1 AND term < $2), 1 \
                 UNION ALL \
                 SELECT (SELECT MIN(term) FROM case_terms WHERE term > d.term AND term < $2), \
                        d.n + 1 \
                 FROM d WHERE d.term IS NOT NULL AND d.n <= $3) \
               SELECT term FROM d WHERE term IS NOT NULL")
            .bind(w)
            .bind(prefix_end(w))
            .bind(FEW_TERMS),
        )
        .await?;
    if rows.len() as i64 > FEW_TERMS {
        return Ok(None);
    }
    rows.iter()
        .map(|r| r.get("term"))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The number of term rows a word prefixes, counted up to `cap` (index-only).
async fn word_rows(tx: &mut Tx, w: &str, cap: i64) -> Result<i64, StoreError> {
    tx.fetch_one(
        q("SELECT COUNT(*) AS n FROM \
           (SELECT 1 FROM case_terms WHERE term >= $1 AND term < $2 LIMIT $3) x")
        .bind(w)
        .bind(prefix_end(w))
        .bind(cap),
    )
    .await?
    .get("n")
}

/// The page order's columns (after `case_id`) and its `ORDER BY`, columns of `t`.
fn order(sort: CaseSort, t: &str) -> (String, String) {
    match sort {
        CaseSort::Updated => (
            format!(", {t}updated_at"),
            format!("{t}updated_at DESC, {t}case_id DESC"),
        ),
        CaseSort::Created => (String::new(), format!("{t}case_id DESC")),
        CaseSort::Name => (format!(", {t}name"), format!("{t}name, {t}case_id")),
    }
}

/// The first `rows` term rows of the driving word in page order, each kept when its
/// case matches every probe word and the filters.
pub(super) fn walk_sql(cq: &CaseQuery, source: &Source, probes: &[String], rows: u64) -> Q {
    let mut args = Vec::new();
    // NOTE: the filters are checked on the term rows (schema 15), not on a join
    // to `cases`: SQLite drove such a join from the nationality's index (a quarter
    // of the cases) and sorted, 50 ms for `bn0000`; forced the other way round, a
    // prefix of 10,000 documents still looked up 10,000 cases.
    let mut filter = filter_conds(cq, &mut args, "t");
    for (j, w) in probes.iter().enumerate() {
        let (a, b) = (arg(&mut args, w.clone()), arg(&mut args, prefix_end(w)));
        filter.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_terms u{j} \
             WHERE u{j}.case_id = t.case_id AND u{j}.term >= {a} AND u{j}.term < {b})"
        ));
    }
    let limit = arg(&mut args, rows);
    let (cols, by) = order(cq.sort, "t.");
    let one = |cond: String| {
        format!(
            "SELECT t.case_id{cols} FROM case_terms t WHERE {cond}{filter} \
             ORDER BY {by} LIMIT {limit}"
        )
    };
    let (sql, varies) = match source {
        Source::Range(w) => {
            let (a, b) = (arg(&mut args, w.clone()), arg(&mut args, prefix_end(w)));
            (one(format!("t.term >= {a} AND t.term < {b}")), false)
        }
        Source::Terms(terms) if terms.len() == 1 => {
            let a = arg(&mut args, terms[0].clone());
            (one(format!("t.term = {a}")), false)
        }
        Source::Terms(terms) => {
            let parts: Vec<String> = terms
                .iter()
                .enumerate()
                .map(|(k, term)| {
                    let a = arg(&mut args, term.clone());
                    format!("SELECT * FROM ({}) w{k}", one(format!("t.term = {a}")))
                })
                .collect();
            let (_, by) = order(cq.sort, "");
            (
                format!("{} ORDER BY {by} LIMIT {limit}", parts.join(" UNION ALL ")),
                true,
            )
        }
    };
    let mut query = q(sql);
    // NOTE: a statement whose text depends on how many terms a word names is
    // prepared for this run only, not kept in every connection's cache.
    if varies || probes.len() > 1 || cq.has_filters() {
        query = query.once();
    }
    query.bind_all(args)
}

/// The page itself, one row per case: the words' ranges, each filtered, intersected.
fn intersect_sql(cq: &CaseQuery) -> Q {
    let mut args = Vec::new();
    let (cols, _) = order(cq.sort, "t.");
    let (_, by) = order(cq.sort, "");
    let filter = filter_conds(cq, &mut args, "t");
    let parts: Vec<String> = cq
        .words
        .iter()
        .map(|w| {
            let (a, b) = (arg(&mut args, w.clone()), arg(&mut args, prefix_end(w)));
            format!(
                "SELECT t.case_id{cols} FROM case_terms t \
                 WHERE t.term >= {a} AND t.term < {b}{filter}"
            )
        })
        .collect();
    let (limit, offset) = (arg(&mut args, cq.limit), arg(&mut args, cq.offset));
    let mut query = q(format!(
        "{} ORDER BY {by} LIMIT {limit} OFFSET {offset}",
        parts.join(" INTERSECT ")
    ));
    if cq.words.len() > 2 || cq.has_filters() {
        query = query.once();
    }
    query.bind_all(args)
}
