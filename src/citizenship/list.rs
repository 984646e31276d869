//! The console's Citizenship list: every case's clock, filtered by "eligible by
//! DATE" (as `leje citizenship --eligible-by`), sorted by case or by earliest date,
//! a page at a time behind a cursor.
//!
//! The clock is computed, not stored (it depends on today and on `[citizenship]`),
//! so the store hands out cases a chunk at a time
//! ([`Store::citizenship_records_after`]) and this keeps what the page needs:
//! - by case, unfiltered: one chunk of the page's size, from the cursor's id;
//! - by case, filtered: chunks from the cursor's id until the page is full;
//! - by earliest date: every case, in chunks, keeping only the page's worth of
//!   the smallest dates after the cursor, so memory stays that of one page
//!   whatever the number of cases.

use chrono::NaiveDate;
use serde::Serialize;

use super::{listed, Listed};
use crate::config::CitizenshipSettings;
use crate::store::{Store, StoreError};

/// Cases read per store call when the page cannot be read in one.
const CHUNK: u32 = 500;

/// The order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Oldest case first (as `leje citizenship`).
    #[default]
    Case,
    /// Earliest opening date first; cases without one last.
    Earliest,
}

impl Sort {
    /// `case` or `earliest`; anything else is the default.
    pub fn parse(s: &str) -> Sort {
        match s {
            "earliest" => Sort::Earliest,
            _ => Sort::Case,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Case => "case",
            Sort::Earliest => "earliest",
        }
    }
}

/// Where a page starts: after this (earliest date, case id). By case, only the id counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// `NaiveDate::MAX` for a case without a date (they sort last).
    pub earliest: NaiveDate,
    pub id: i64,
}

impl Cursor {
    fn of(l: &Row) -> Cursor {
        Cursor {
            earliest: l.listed.earliest.unwrap_or(NaiveDate::MAX),
            id: l.case_id,
        }
    }

    /// `ID` or `YYYY-MM-DD.ID` (`none.ID` for no date), as in a link.
    pub fn parse(s: &str) -> Option<Cursor> {
        match s.split_once('.') {
            None => Some(Cursor {
                earliest: NaiveDate::MIN,
                id: s.trim().parse().ok()?,
            }),
            Some((d, id)) => Some(Cursor {
                earliest: match d {
                    "none" => NaiveDate::MAX,
                    d => NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?,
                },
                id: id.trim().parse().ok()?,
            }),
        }
    }

    fn text(self, sort: Sort) -> String {
        match sort {
            Sort::Case => self.id.to_string(),
            Sort::Earliest if self.earliest == NaiveDate::MAX => format!("none.{}", self.id),
            Sort::Earliest => format!("{}.{}", self.earliest.format("%Y-%m-%d"), self.id),
        }
    }
}

/// What the list shows.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only cases with a route open on or before this day.
    pub eligible_by: Option<NaiveDate>,
    pub sort: Sort,
    pub after: Option<Cursor>,
    /// Rows per page.
    pub limit: usize,
}

/// One line of the list: the case's id (for its link) and its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub case_id: i64,
    #[serde(flatten)]
    pub listed: Listed,
}

/// One page, and the cursor of the next (if there is one).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Page {
    pub rows: Vec<Row>,
    pub next: Option<String>,
    /// Cases read to make it.
    pub read: usize,
}

/// `eligible_by` as `leje citizenship --eligible-by` reads it.
pub fn eligible(l: &Listed, by: Option<NaiveDate>) -> bool {
    by.is_none_or(|by| l.earliest.is_some_and(|e| e <= by))
}

/// One page of the list on `today`.
pub async fn page(
    store: &Store,
    settings: &CitizenshipSettings,
    today: NaiveDate,
    q: &Query,
) -> Result<Page, StoreError> {
    let limit = q.limit.max(1);
    let mut rows: Vec<Row> = Vec::new();
    let mut read = 0;
    let mut after = match q.sort {
        Sort::Case => q.after.map(|c| c.id),
        Sort::Earliest => None,
    };
    let chunk = if q.sort == Sort::Case && q.eligible_by.is_none() {
        u32::try_from(limit + 1).unwrap_or(CHUNK)
    } else {
        CHUNK
    };
    loop {
        let recs = store.citizenship_records_after(after, chunk).await?;
        let Some(last) = recs.last() else { break };
        after = Some(last.case.id);
        read += recs.len();
        let done = recs.len() < chunk as usize;
        for rec in &recs {
            let l = listed(rec, settings, today);
            if !eligible(&l, q.eligible_by) {
                continue;
            }
            let row = Row {
                case_id: rec.case.id,
                listed: l,
            };
            if q.sort == Sort::Earliest && q.after.is_some_and(|c| Cursor::of(&row) <= c) {
                continue;
            }
            rows.push(row);
        }
        match q.sort {
            Sort::Case if rows.len() > limit => break,
            Sort::Case => {}
            // Keep the smallest dates only: memory of about two pages.
            Sort::Earliest if rows.len() > 2 * (limit + 1) => {
                rows.sort_by_key(Cursor::of);
                rows.truncate(limit + 1);
            }
            Sort::Earliest => {}
        }
        if done {
            break;
        }
    }
    if q.sort == Sort::Earliest {
        rows.sort_by_key(Cursor::of);
    }
    let next = (rows.len() > limit).then(|| Cursor::of(&rows[limit - 1]).text(q.sort));
    rows.truncate(limit);
    Ok(Page { rows, next, read })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written() {
        let d = NaiveDate::from_ymd_opt(2027, 2, 28).unwrap();
        let c = Cursor {
            earliest: d,
            id: 42,
        };
        assert_eq!(c.text(Sort::Earliest), "2027-02-28.42");
        assert_eq!(Cursor::parse("2027-02-28.42"), Some(c));
        let none = Cursor {
            earliest: NaiveDate::MAX,
            id: 7,
        };
        assert_eq!(Cursor::parse(&none.text(Sort::Earliest)), Some(none));
        assert_eq!(Cursor::parse("9").map(|c| c.id), Some(9));
        assert_eq!(Cursor::parse("x.9"), None);
        assert_eq!(Cursor::parse("<script>"), None);
    }
}
