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

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

mod notices;
use serde::Serialize;

use super::cases::{case_from_row, insert_event, load_by_doc, normalise_doc, Loaded, CASE_COLS};
use super::query::{now, q, Row, Tx};
use super::{redact_doc, Case, Cause, Store, StoreError};

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

fn show_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into())
}

fn show_yes_no(v: Option<bool>) -> String {
    yes_no(v).unwrap_or("unknown").to_string()
}

/// Applies `change` to `f`; one line per fact that changed, for the history.
fn apply(f: &mut CitizenshipFacts, change: &FactsChange) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(v) = change.born {
        if f.born != v {
            lines.push(format!(
                "date of birth {} → {}",
                show_opt(f.born),
                show_opt(v)
            ));
            f.born = v;
        }
    }
    if let Some(v) = change.albanian_origin {
        if f.albanian_origin != v {
            lines.push(format!(
                "Albanian origin {} → {}",
                show_yes_no(f.albanian_origin),
                show_yes_no(v)
            ));
            f.albanian_origin = v;
        }
    }
    if let Some(v) = change.stateless {
        if f.stateless != v {
            lines.push(format!(
                "stateless {} → {}",
                show_yes_no(f.stateless),
                show_yes_no(v)
            ));
            f.stateless = v;
        }
    }
    if let Some(m) = change.marriage {
        let (married, since) = match m {
            Marriage::Unknown => (None, None),
            Marriage::No => (Some(false), None),
            Marriage::Since(d) => (Some(true), Some(d)),
        };
        if (f.married_albanian, f.married_since) != (married, since) {
            let show = |m: Option<bool>, s: Option<NaiveDate>| match (m, s) {
                (Some(true), Some(d)) => format!("since {d}"),
                (Some(true), None) => "yes, date unknown".into(),
                (Some(false), _) => "no".into(),
                (None, _) => "unknown".into(),
            };
            lines.push(format!(
                "married to an Albanian citizen {} → {}",
                show(f.married_albanian, f.married_since),
                show(married, since)
            ));
            f.married_albanian = married;
            f.married_since = since;
        }
    }
    lines
}

/// Records a change that is not a stage move: an event from the stage to itself.
async fn fact_event(
    tx: &mut Tx,
    l: &Loaded,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_event(
        tx,
        l.case.id,
        at,
        Some(l.case.stage),
        l.case.stage,
        Cause::Cli,
        Some(detail),
        None,
    )
    .await
}

async fn case_for_doc(tx: &mut Tx, doc: &str) -> Result<Loaded, StoreError> {
    let doc = normalise_doc(doc);
    load_by_doc(tx, &doc)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no case `{}`", redact_doc(&doc))))
}

impl Store {
    /// Every case (or only `case_id`) with its citizenship facts, residence periods,
    /// approval dates and the routes already emailed, oldest case first.
    pub async fn citizenship_records(
        &self,
        case_id: Option<i64>,
    ) -> Result<Vec<CitizenshipRecord>, StoreError> {
        let mut tx = self.pool().read().await?;
        let cases = tx
            .fetch_all(
                q(format!(
                    "SELECT {CASE_COLS} FROM cases WHERE ($1 IS NULL OR id = $1) ORDER BY id"
                ))
                .bind(case_id),
            )
            .await?;
        let mut out: Vec<CitizenshipRecord> = Vec::with_capacity(cases.len());
        let mut index = HashMap::new();
        for r in &cases {
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
        fn each<'o>(
            out: &'o mut [CitizenshipRecord],
            index: &HashMap<i64, usize>,
            r: &Row,
        ) -> Result<Option<&'o mut CitizenshipRecord>, StoreError> {
            let id: i64 = r.get("case_id")?;
            Ok(index.get(&id).map(|&i| &mut out[i]))
        }
        let facts = tx
            .fetch_all(
                q(format!(
                    "SELECT {FACT_COLS} FROM citizenship_facts WHERE ($1 IS NULL OR case_id = $1)"
                ))
                .bind(case_id),
            )
            .await?;
        for r in &facts {
            if let Some(rec) = each(&mut out, &index, r)? {
                rec.facts = facts_from_row(r)?;
            }
        }
        let periods = tx
            .fetch_all(
                q(
                    "SELECT case_id, from_date, to_date, absent FROM residence_periods \
                   WHERE ($1 IS NULL OR case_id = $1) ORDER BY case_id, from_date",
                )
                .bind(case_id),
            )
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
        let approvals = tx
            .fetch_all(
                q(
                    "SELECT n.case_id, COALESCE(n.notified_at, n.at) AS t FROM notifications n \
                   JOIN processed_messages m ON m.id = n.first_message \
                   WHERE n.case_id IS NOT NULL AND ($1 IS NULL OR n.case_id = $1) \
                   AND m.kind = 'permit_approved'",
                )
                .bind(case_id),
            )
            .await?;
        for r in &approvals {
            let t: DateTime<Utc> = r.get("t")?;
            if let Some(rec) = each(&mut out, &index, r)? {
                rec.approvals.push(t);
            }
        }
        let notices = tx
            .fetch_all(
                q("SELECT case_id, route FROM citizenship_notices \
                   WHERE ($1 IS NULL OR case_id = $1) ORDER BY case_id, route")
                .bind(case_id),
            )
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

    /// The citizenship facts of the case with this travel document.
    pub async fn citizenship_facts(&self, doc: &str) -> Result<CitizenshipFacts, StoreError> {
        let mut tx = self.pool().read().await?;
        let l = case_for_doc(&mut tx, doc).await?;
        load_facts(&mut tx, l.case.id).await
    }

    /// Changes the citizenship facts of a case (`leje cases set`, the console); one
    /// event records what changed and who changed it. Returns the facts after the
    /// change and the lines of the event (empty: nothing changed, no event).
    pub async fn citizenship_set(
        &self,
        doc: &str,
        change: &FactsChange,
        actor: &str,
    ) -> Result<(CitizenshipFacts, Vec<String>), StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        let l = case_for_doc(&mut tx, doc).await?;
        let mut f = load_facts(&mut tx, l.case.id).await?;
        // NOTE: a day of slack, so that a date entered in Tirana just after midnight
        // is not "after today" in UTC.
        let latest = at.date_naive() + chrono::Duration::days(1);
        let marriage = match change.marriage {
            Some(Marriage::Since(d)) => Some(d),
            _ => None,
        };
        for (what, d) in [
            ("date of birth", change.born.flatten()),
            ("marriage date", marriage),
        ] {
            if let Some(d) = d.filter(|d| *d > latest) {
                return Err(StoreError::CitizenshipInput(format!(
                    "the {what} {d} is in the future"
                )));
            }
        }
        let lines = apply(&mut f, change);
        if lines.is_empty() {
            return Ok((f, lines));
        }
        tx.execute(
            q(
                "INSERT INTO citizenship_facts (case_id, born, albanian_origin, stateless, \
               married_albanian, married_since, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
               ON CONFLICT (case_id) DO UPDATE SET born = excluded.born, \
               albanian_origin = excluded.albanian_origin, stateless = excluded.stateless, \
               married_albanian = excluded.married_albanian, \
               married_since = excluded.married_since, updated_at = excluded.updated_at",
            )
            .bind(l.case.id)
            .bind(f.born.map(date_text))
            .bind(yes_no(f.albanian_origin))
            .bind(yes_no(f.stateless))
            .bind(yes_no(f.married_albanian))
            .bind(f.married_since.map(date_text))
            .bind(at),
        )
        .await?;
        let detail = format!("citizenship facts by {actor}: {}", lines.join("; "));
        fact_event(&mut tx, &l, &detail, at).await?;
        tx.commit().await?;
        Ok((f, lines))
    }

    /// Adds a period of lawful residence from `from` to `to` (`None`: still going on),
    /// or replaces the end of the one starting on `from`; an absence entered from
    /// the same day is withdrawn.
    pub async fn residence_add(
        &self,
        doc: &str,
        from: NaiveDate,
        to: Option<NaiveDate>,
        actor: &str,
    ) -> Result<(), StoreError> {
        if to.is_some_and(|t| t < from) {
            return Err(StoreError::CitizenshipInput(format!(
                "a residence period cannot end ({}) before it starts ({from})",
                show_opt(to)
            )));
        }
        let at = now();
        let mut tx = self.pool().write().await?;
        let l = case_for_doc(&mut tx, doc).await?;
        tx.execute(
            q("DELETE FROM residence_periods WHERE case_id = $1 AND from_date = $2 AND absent")
                .bind(l.case.id)
                .bind(date_text(from)),
        )
        .await?;
        tx.execute(
            q(
                "INSERT INTO residence_periods (case_id, from_date, to_date, absent, created_at) \
               VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (case_id, from_date, absent) DO UPDATE \
               SET to_date = excluded.to_date",
            )
            .bind(l.case.id)
            .bind(date_text(from))
            .bind(to.map(date_text))
            .bind(at),
        )
        .await?;
        let until = to
            .map(|t| format!("to {t}"))
            .unwrap_or_else(|| "ongoing".into());
        let detail = format!("citizenship: residence period from {from} {until} added by {actor}");
        fact_event(&mut tx, &l, &detail, at).await?;
        tx.commit().await
    }

    /// `to: None`: removes the residence period entered from `from`. `to: Some`:
    /// records that the person was not resident from `from` to `to`, which cuts
    /// any period, those of the approvals leje saw included.
    pub async fn residence_remove(
        &self,
        doc: &str,
        from: NaiveDate,
        to: Option<NaiveDate>,
        actor: &str,
    ) -> Result<(), StoreError> {
        if let Some(to) = to.filter(|t| *t < from) {
            return Err(StoreError::CitizenshipInput(format!(
                "an absence cannot end ({to}) before it starts ({from})"
            )));
        }
        let at = now();
        let mut tx = self.pool().write().await?;
        let l = case_for_doc(&mut tx, doc).await?;
        let detail = match to {
            None => {
                let n = tx
                    .execute(
                        q(
                            "DELETE FROM residence_periods WHERE case_id = $1 AND from_date = $2 \
                           AND NOT absent",
                        )
                        .bind(l.case.id)
                        .bind(date_text(from)),
                    )
                    .await?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!(
                        "no residence period starting on {from} was entered for case `{}` \
                         (to record an absence, give its last day too)",
                        redact_doc(&l.case.travel_document)
                    )));
                }
                format!("citizenship: residence period from {from} removed by {actor}")
            }
            Some(to) => {
                tx.execute(
                    q("INSERT INTO residence_periods (case_id, from_date, to_date, absent, \
                       created_at) VALUES ($1, $2, $3, TRUE, $4) \
                       ON CONFLICT (case_id, from_date, absent) DO UPDATE SET to_date = excluded.to_date")
                    .bind(l.case.id)
                    .bind(date_text(from))
                    .bind(date_text(to))
                    .bind(at),
                )
                .await?;
                format!("citizenship: not resident from {from} to {to}, entered by {actor}")
            }
        };
        fact_event(&mut tx, &l, &detail, at).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_described_and_only_real_changes_count() {
        let mut f = CitizenshipFacts::default();
        let d = NaiveDate::from_ymd_opt(1990, 5, 1).unwrap();
        let change = FactsChange {
            born: Some(Some(d)),
            marriage: Some(Marriage::No),
            ..Default::default()
        };
        let lines = apply(&mut f, &change);
        assert_eq!(
            lines,
            vec![
                "date of birth unknown → 1990-05-01",
                "married to an Albanian citizen unknown → no"
            ]
        );
        assert!(
            apply(&mut f, &change).is_empty(),
            "the same change again changes nothing"
        );
        let lines = apply(
            &mut f,
            &FactsChange {
                born: Some(None),
                ..Default::default()
            },
        );
        assert_eq!(lines, vec!["date of birth 1990-05-01 → unknown"]);
        assert_eq!(f.born, None);
    }
}
