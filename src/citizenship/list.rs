//! The console's Citizenship list: every case's clock, filtered by "eligible by
//! DATE" (as `leje citizenship --eligible-by`), sorted by case or by earliest date,
//! a page at a time behind a cursor.
//!
//! The clock is computed, not stored (it depends on today and on `[citizenship]`),
//! so the store hands out cases a chunk at a time
//! ([`Store::citizenship_records_after`]) and this keeps what the page needs:
//! - by case, unfiltered: one chunk of the page's size, from the cursor's id;
//! - by case, filtered: chunks from the cursor's id until the page is full, of
//!   the cases whose age is known only ([`RecordsOf::AgeKnown`]: no route opens
//!   without it);
//! - by earliest date: every case whose age is known, in chunks, keeping only the
//!   page's worth of the smallest dates after the cursor (memory of one page
//!   whatever the number of cases); then, unfiltered, the cases without a date by
//!   case, as by case.

use chrono::NaiveDate;
use serde::Serialize;

use super::{listed, Listed};
use crate::config::CitizenshipSettings;
use crate::store::{RecordsOf, Store, StoreError};

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
    let mut walk = Walk {
        store,
        settings,
        today,
        read: &mut read,
    };
    match q.sort {
        Sort::Case => {
            // Only a case whose age is known can be eligible by a date (see [`RecordsOf::AgeKnown`]).
            let (of, chunk) = match q.eligible_by {
                None => (RecordsOf::All, u32::try_from(limit + 1).unwrap_or(CHUNK)),
                Some(_) => (RecordsOf::AgeKnown, CHUNK),
            };
            walk.each(q.after.map(|c| c.id), chunk, of, |row| {
                if eligible(&row.listed, q.eligible_by) {
                    rows.push(row);
                }
                rows.len() > limit
            })
            .await?;
        }
        Sort::Earliest => {
            // The cases with a date: among those whose age is known, all of them,
            // keeping the smallest (memory of about two pages).
            if q.after.is_none_or(|c| c.earliest != NaiveDate::MAX) {
                walk.each(None, CHUNK, RecordsOf::AgeKnown, |row| {
                    let key = Cursor::of(&row);
                    if row.listed.earliest.is_some()
                        && eligible(&row.listed, q.eligible_by)
                        && q.after.is_none_or(|c| key > c)
                    {
                        rows.push(row);
                    }
                    if rows.len() > 2 * (limit + 1) {
                        rows.sort_by_key(Cursor::of);
                        rows.truncate(limit + 1);
                    }
                    false
                })
                .await?;
                rows.sort_by_key(Cursor::of);
                rows.truncate(limit + 1);
            }
            // Then the cases without one, by case (none is eligible by a date).
            if q.eligible_by.is_none() && rows.len() <= limit {
                let from = q.after.filter(|c| c.earliest == NaiveDate::MAX);
                walk.each(from.map(|c| c.id), CHUNK, RecordsOf::All, |row| {
                    if row.listed.earliest.is_none() {
                        rows.push(row);
                    }
                    rows.len() > limit
                })
                .await?;
            }
        }
    }
    let next = (rows.len() > limit).then(|| Cursor::of(&rows[limit - 1]).text(q.sort));
    rows.truncate(limit);
    Ok(Page { rows, next, read })
}

/// Reads the store's pages of cases and hands each one's row on.
struct Walk<'a> {
    store: &'a Store,
    settings: &'a CitizenshipSettings,
    today: NaiveDate,
    read: &'a mut usize,
}

impl Walk<'_> {
    /// Every case of `of` after `after`, `chunk` at a time, until `take` says stop.
    async fn each(
        &mut self,
        mut after: Option<i64>,
        chunk: u32,
        of: RecordsOf,
        mut take: impl FnMut(Row) -> bool,
    ) -> Result<(), StoreError> {
        loop {
            let recs = self
                .store
                .citizenship_records_after(after, chunk, of)
                .await?;
            let Some(last) = recs.last() else {
                return Ok(());
            };
            after = Some(last.case.id);
            *self.read += recs.len();
            for rec in &recs {
                let row = Row {
                    case_id: rec.case.id,
                    listed: listed(rec, self.settings, self.today),
                };
                if take(row) {
                    return Ok(());
                }
            }
            if recs.len() < chunk as usize {
                return Ok(());
            }
        }
    }
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

    /// What [`RecordsOf::AgeKnown`] relies on: without a date of birth no route
    /// has a date, unless the person is stateless.
    #[test]
    fn no_route_opens_without_the_age_unless_stateless() {
        use crate::citizenship::{clock, Input, Law};
        use crate::store::{CitizenshipFacts, ResidencePeriod};
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let periods = [ResidencePeriod {
            from: day(2000),
            to: None,
        }];
        let mut facts = CitizenshipFacts {
            albanian_origin: Some(true),
            stateless: Some(false),
            married_albanian: Some(true),
            married_since: Some(day(2001)),
            born: None,
        };
        let earliest = |facts: &CitizenshipFacts| {
            let input = Input {
                facts,
                periods: &periods,
                absences: &[],
                approvals: &[day(2005)],
            };
            clock(&input, &Law::default(), 30, day(2026)).earliest
        };
        assert_eq!(earliest(&facts), None);
        facts.stateless = None;
        assert_eq!(earliest(&facts), None);
        facts.stateless = Some(true);
        assert!(earliest(&facts).is_some());
        facts.stateless = Some(false);
        facts.born = Some(day(1980));
        assert!(earliest(&facts).is_some());
    }
}
