//! The facts the citizenship clock needs (issue 21), and its exactly-once emails.
//!
//! The store keeps facts, not conclusions: date of birth, Albanian origin,
//! statelessness, marriage to an Albanian citizen, the periods of residence staff
//! entered, and the dates of the approvals leje saw. The rules that turn them into
//! dates live in [`crate::citizenship`]; the console and the CLI read
//! [`Store::citizenship_records`] and hand each record to them.
//!
//! Every change of a fact is an event in the case's history, with the actor.
//! [`Store::citizenship_enqueue`] queues the eligibility email of one route in the
//! same transaction as the row that claims it, whose primary key (case, route)
//! makes it exactly-once even for two passes running at once (`citizenship/notices.rs`).
//! Changes to the facts are in `citizenship/facts.rs`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

mod facts;
mod notices;
use serde::Serialize;

use super::cases::{case_from_row, CASE_COLS};
use super::query::{q, Row, Tx};
use super::{Case, Cause, Store, StoreError};

/// What is known about a case for the citizenship rules; `None` = unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CitizenshipFacts {
    pub born: Option<NaiveDate>,
    /// Of Albanian origin up to the second degree (law 8389, art. 9).
    pub albanian_origin: Option<bool>,
    pub stateless: Option<bool>,
    /// Married to an Albanian citizen (art. 10).
    pub married_albanian: Option<bool>,
    /// Since when, when married to an Albanian citizen.
    pub married_since: Option<NaiveDate>,
}

/// A change to [`CitizenshipFacts`]: `None` leaves a fact as it is,
/// `Some(None)` makes it unknown again, `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactsChange {
    pub born: Option<Option<NaiveDate>>,
    pub albanian_origin: Option<Option<bool>>,
    pub stateless: Option<Option<bool>>,
    pub marriage: Option<Marriage>,
}

/// Marriage to an Albanian citizen, as `cases set --married-albanian-since` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marriage {
    Unknown,
    No,
    Since(NaiveDate),
}

/// Who changes a fact, for the event in the case's history: `Cause::Cli` and the
/// Unix user (`leje cases set`), or `Cause::Staff` and the staff member's address
/// (the console). A plain `&str` is a CLI actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub cause: Cause,
    pub name: &'a str,
}

impl<'a> Actor<'a> {
    /// A staff member in the console.
    pub fn staff(email: &'a str) -> Actor<'a> {
        Actor {
            cause: Cause::Staff,
            name: email,
        }
    }
}

impl<'a> From<&'a str> for Actor<'a> {
    fn from(name: &'a str) -> Actor<'a> {
        Actor {
            cause: Cause::Cli,
            name,
        }
    }
}

impl<'a> From<&'a String> for Actor<'a> {
    fn from(name: &'a String) -> Actor<'a> {
        Actor::from(name.as_str())
    }
}

/// A period of lawful residence entered by staff; `to: None` = still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResidencePeriod {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// Everything the rules need about one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenshipRecord {
    pub case: Case,
    pub facts: CitizenshipFacts,
    /// Entered by staff, by start date.
    pub periods: Vec<ResidencePeriod>,
    /// Absences entered by staff (`cases residence DOC remove FROM TO`): not
    /// resident from `from` to `to`, whatever the periods say.
    pub absences: Vec<ResidencePeriod>,
    /// When each approval of this case was sent by the office (when leje received
    /// it, if the notice had no readable date), oldest first.
    pub approvals: Vec<DateTime<Utc>>,
    /// Routes whose eligibility email is already queued or sent.
    pub notified: Vec<String>,
}

/// The queued eligibility email of one route, as the notifier renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenshipNotice {
    pub case_id: i64,
    /// `general`, `albanian_origin` or `marriage`.
    pub route: String,
    pub opens_on: NaiveDate,
    /// Queued before `opens_on` (the configured days ahead).
    pub early: bool,
    pub stateless: bool,
    /// The years of residence the route asked for when it was decided.
    pub residence_years: u32,
    /// For the marriage route: the years of marriage it asked for.
    pub marriage_years: Option<u32>,
}

/// How a fact is kept: `yes`/`no`/NULL, dates as `YYYY-MM-DD`.
fn yes_no(v: Option<bool>) -> Option<&'static str> {
    v.map(|b| if b { "yes" } else { "no" })
}

fn read_yes_no(r: &Row, col: &str) -> Result<Option<bool>, StoreError> {
    let s: Option<String> = r.get(col)?;
    match s.as_deref() {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(o) => Err(StoreError::Corrupt(format!("`{col}` = `{o}`"))),
    }
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn read_date(r: &Row, col: &str) -> Result<Option<NaiveDate>, StoreError> {
    let s: Option<String> = r.get(col)?;
    s.map(|s| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("`{col}` = `{s}` is not a date")))
    })
    .transpose()
}

fn facts_from_row(r: &Row) -> Result<CitizenshipFacts, StoreError> {
    Ok(CitizenshipFacts {
        born: read_date(r, "born")?,
        albanian_origin: read_yes_no(r, "albanian_origin")?,
        stateless: read_yes_no(r, "stateless")?,
        married_albanian: read_yes_no(r, "married_albanian")?,
        married_since: read_date(r, "married_since")?,
    })
}

const FACT_COLS: &str =
    "case_id, born, albanian_origin, stateless, married_albanian, married_since";

async fn load_facts(tx: &mut Tx, case_id: i64) -> Result<CitizenshipFacts, StoreError> {
    let r = tx
        .fetch_optional(
            q(format!(
                "SELECT {FACT_COLS} FROM citizenship_facts WHERE case_id = $1"
            ))
            .bind(case_id),
        )
        .await?;
    r.map(|r| facts_from_row(&r))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Which cases a page of records holds ([`Store::citizenship_records_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordsOf {
    /// Every case.
    #[default]
    All,
    /// Only cases whose age is known: a date of birth, or stateless (for whom age
    /// is not considered). No route opens without it, so the Citizenship list
    /// filtered by a date, or sorted by one, reads only these.
    AgeKnown,
}

impl Store {
    /// Every case (or only `case_id`) with its citizenship facts, residence periods,
    /// approval dates and the routes already emailed, oldest case first.
    pub async fn citizenship_records(
        &self,
        case_id: Option<i64>,
    ) -> Result<Vec<CitizenshipRecord>, StoreError> {
        let mut tx = self.pool().read().await?;
        let cases = match case_id {
            Some(id) => {
                tx.fetch_all(q(format!("SELECT {CASE_COLS} FROM cases WHERE id = $1")).bind(id))
                    .await?
            }
            None => {
                tx.fetch_all(q(format!("SELECT {CASE_COLS} FROM cases ORDER BY id")))
                    .await?
            }
        };
        records(&mut tx, &cases).await
    }

    /// At most `limit` cases with an id above `after` (`None`: from the first),
    /// by id, as [`Store::citizenship_records`] gives them: a page of the
    /// console's Citizenship list. Each table is read for the page's case ids
    /// through an index, so a page costs the same at 100,000 cases as at 10.
    pub async fn citizenship_records_after(
        &self,
        after: Option<i64>,
        limit: u32,
        of: RecordsOf,
    ) -> Result<Vec<CitizenshipRecord>, StoreError> {
        let mut tx = self.pool().read().await?;
        let after = after.unwrap_or(i64::MIN);
        let cases = match of {
            RecordsOf::All => {
                tx.fetch_all(
                    q(format!(
                        "SELECT {CASE_COLS} FROM cases WHERE id > $1 ORDER BY id LIMIT $2"
                    ))
                    .bind(after)
                    .bind(limit),
                )
                .await?
            }
            RecordsOf::AgeKnown => {
                let ids = tx
                    .fetch_all(
                        q("SELECT case_id FROM citizenship_facts WHERE case_id > $1 \
                           AND (born IS NOT NULL OR stateless = 'yes') ORDER BY case_id LIMIT $2")
                        .bind(after)
                        .bind(limit),
                    )
                    .await?
                    .iter()
                    .map(|r| r.get("case_id"))
                    .collect::<Result<Vec<i64>, _>>()?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let (cond, stmt) = of_cases("id", &ids);
                tx.fetch_all(stmt(format!(
                    "SELECT {CASE_COLS} FROM cases WHERE {cond} ORDER BY id"
                )))
                .await?
            }
        };
        records(&mut tx, &cases).await
    }
}

/// The most ids read by an `IN` list; more are read by their range.
const MAX_LIST: usize = 500;

/// Whether `ids` (sorted) are read by their range rather than listed: when they
/// are consecutive (one cached statement), or too many to bind (every case at
/// once: the rows in between are few, and [`records`] skips them).
fn by_range(ids: &[i64]) -> bool {
    let (lo, hi) = (ids[0], ids[ids.len() - 1]);
    ids.len() > MAX_LIST
        || hi
            .checked_sub(lo)
            .and_then(|d| usize::try_from(d).ok())
            .is_some_and(|d| d + 1 == ids.len())
}

/// `col` among `ids` (sorted, not empty): a range or an `IN` list prepared for
/// this run only ([`by_range`]); and a maker of the statement with the values bound.
fn of_cases<'a>(col: &str, ids: &'a [i64]) -> (String, impl Fn(String) -> super::query::Q + 'a) {
    let (lo, hi) = (ids[0], ids[ids.len() - 1]);
    let range = by_range(ids);
    let cond = if range {
        format!("{col} >= $1 AND {col} <= $2")
    } else {
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        format!("{col} IN ({})", list.join(", "))
    };
    let stmt = move |sql: String| {
        if range {
            q(sql).bind(lo).bind(hi)
        } else {
            ids.iter().fold(q(sql).once(), |s, &id| s.bind(id))
        }
    };
    (cond, stmt)
}

/// The records of these rows of `cases` (by id).
// NOTE: each query selects the page's case ids plainly (a range or a list), never
// `$1 IS NULL OR case_id = $1`, which neither SQLite nor a generic PostgreSQL
// plan can answer from an index.
async fn records(tx: &mut Tx, cases: &[Row]) -> Result<Vec<CitizenshipRecord>, StoreError> {
    let mut out: Vec<CitizenshipRecord> = Vec::with_capacity(cases.len());
    let mut index = HashMap::new();
    for r in cases {
        let case = case_from_row(r)?.case;
        index.insert(case.id, out.len());
        out.push(CitizenshipRecord {
            case,
            facts: CitizenshipFacts::default(),
            periods: Vec::new(),
            absences: Vec::new(),
            approvals: Vec::new(),
            notified: Vec::new(),
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = out.iter().map(|r| r.case.id).collect();
    let (cond, stmt) = of_cases("case_id", &ids);
    fn each<'o>(
        out: &'o mut [CitizenshipRecord],
        index: &HashMap<i64, usize>,
        r: &Row,
    ) -> Result<Option<&'o mut CitizenshipRecord>, StoreError> {
        let id: i64 = r.get("case_id")?;
        Ok(index.get(&id).map(|&i| &mut out[i]))
    }
    let facts = tx
        .fetch_all(stmt(format!(
            "SELECT {FACT_COLS} FROM citizenship_facts WHERE {cond}"
        )))
        .await?;
    for r in &facts {
        if let Some(rec) = each(&mut out, &index, r)? {
            rec.facts = facts_from_row(r)?;
        }
    }
    let periods = tx
        .fetch_all(stmt(format!(
            "SELECT case_id, from_date, to_date, absent FROM residence_periods \
               WHERE {cond} ORDER BY case_id, from_date"
        )))
        .await?;
    for r in &periods {
        let from = read_date(r, "from_date")?
            .ok_or_else(|| StoreError::Corrupt("a residence period without a start".into()))?;
        let to = read_date(r, "to_date")?;
        let absent: bool = r.get("absent")?;
        if let Some(rec) = each(&mut out, &index, r)? {
            let list = if absent {
                &mut rec.absences
            } else {
                &mut rec.periods
            };
            list.push(ResidencePeriod { from, to });
        }
    }
    // NOTE: only approvals start or extend residence; a rejection notice of the
    // same case does not. `first_message` is the message that brought it.
    let (ncond, nstmt) = of_cases("n.case_id", &ids);
    let approvals = tx
        .fetch_all(nstmt(format!(
            "SELECT n.case_id, COALESCE(n.notified_at, n.at) AS t FROM notifications n \
               JOIN processed_messages m ON m.id = n.first_message \
               WHERE {ncond} AND m.kind = 'permit_approved'"
        )))
        .await?;
    for r in &approvals {
        let t: DateTime<Utc> = r.get("t")?;
        if let Some(rec) = each(&mut out, &index, r)? {
            rec.approvals.push(t);
        }
    }
    let notices = tx
        .fetch_all(stmt(format!(
            "SELECT case_id, route FROM citizenship_notices WHERE {cond} \
                 ORDER BY case_id, route"
        )))
        .await?;
    for r in &notices {
        let route: String = r.get("route")?;
        if let Some(rec) = each(&mut out, &index, r)? {
            rec.notified.push(route);
        }
    }
    for rec in &mut out {
        rec.approvals.sort();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_page_is_read_by_range_when_consecutive_or_too_many_to_list() {
        use super::by_range;
        assert!(by_range(&[7]));
        assert!(by_range(&[3, 4, 5]));
        assert!(!by_range(&[2, 3, 5, 6]));
        assert!(!by_range(&[1, i64::MAX]));
        // Every case at once, with gaps (a PostgreSQL sequence skips on rollback):
        // never a list of 100,000 bound values, which neither backend takes.
        let sparse: Vec<i64> = (0..100_000).map(|i| i * 2).collect();
        assert!(by_range(&sparse));
        assert!(!by_range(&sparse[..super::MAX_LIST]));
    }
}
