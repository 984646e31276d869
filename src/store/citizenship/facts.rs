//! Changes to a case's citizenship facts and residence periods, each an event
//! in the case's history with the actor.

use chrono::{DateTime, NaiveDate, Utc};

use super::super::cases::{insert_event, load_by_doc, normalise_doc, Loaded};
use super::super::query::{now, q, Tx};
use super::super::{redact_doc, Store, StoreError};
use super::{date_text, load_facts, yes_no, Actor, CitizenshipFacts, FactsChange, Marriage};

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
/// The event names who made it (`case_events.actor`), as a stage move by a person does.
async fn fact_event(
    tx: &mut Tx,
    l: &Loaded,
    detail: &str,
    actor: Actor<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_event(
        tx,
        l.case.id,
        at,
        Some(l.case.stage),
        l.case.stage,
        actor.cause,
        Some(detail),
        None,
    )
    .await?;
    tx.execute(
        q(
            "UPDATE case_events SET actor = $1 WHERE id = (SELECT MAX(id) FROM case_events \
           WHERE case_id = $2)",
        )
        .bind(actor.name)
        .bind(l.case.id),
    )
    .await?;
    Ok(())
}

async fn case_for_doc(tx: &mut Tx, doc: &str) -> Result<Loaded, StoreError> {
    let doc = normalise_doc(doc);
    load_by_doc(tx, &doc)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no case `{}`", redact_doc(&doc))))
}

impl Store {
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
        actor: impl Into<Actor<'_>>,
    ) -> Result<(CitizenshipFacts, Vec<String>), StoreError> {
        let actor = actor.into();
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
        let detail = format!("citizenship facts by {}: {}", actor.name, lines.join("; "));
        fact_event(&mut tx, &l, &detail, actor, at).await?;
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
        actor: impl Into<Actor<'_>>,
    ) -> Result<(), StoreError> {
        let actor = actor.into();
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
        let detail = format!(
            "citizenship: residence period from {from} {until} added by {}",
            actor.name
        );
        fact_event(&mut tx, &l, &detail, actor, at).await?;
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
        actor: impl Into<Actor<'_>>,
    ) -> Result<(), StoreError> {
        let actor = actor.into();
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
                format!(
                    "citizenship: residence period from {from} removed by {}",
                    actor.name
                )
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
                format!(
                    "citizenship: not resident from {from} to {to}, entered by {}",
                    actor.name
                )
            }
        };
        fact_event(&mut tx, &l, &detail, actor, at).await?;
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
