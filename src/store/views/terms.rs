//! Keeping `case_terms` up to date with the cases, without a search paying for it.
//!
//! Three writers, one rule (a case's rows are replaced together, carrying the
//! case's `updated_at` and `name`, the search's sort keys, and its `stage`,
//! `directorate` and `nationality`, what the case list filters by):
//! - a person's change (console or CLI: `staff_actions`) re-indexes its case in
//!   the same transaction, so a search never shows a case as it was before a
//!   change made through the console;
//! - the daemon's background job ([`Store::sync_case_terms`], under a job lease)
//!   follows `cases.updated_at` from a mark, for ingest, imports and upgrades;
//! - a search catches up itself only on a small backlog
//!   ([`Store::sync_case_terms_upto`] with [`INLINE_MAX`]); a bigger one (the first
//!   start after an upgrade, a large import) is left to the job, and the search
//!   answers from the terms indexed so far.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::search::terms;
use crate::store::bulk::insert;
use crate::store::query::{q, Arg, Row, Tx};
use crate::store::{Store, StoreError};

/// Cases whose last change is within this much of the mark are looked at again:
/// a transaction that stamped its change earlier may commit after the mark moved.
/// (One whose terms already carry its `updated_at` is skipped.)
const LAG: i64 = 10;

const MARK: &str = "case_terms";

/// Cases read per transaction of a catch-up.
const BATCH: i64 = 2000;

/// The largest backlog a search indexes itself before it answers (a few
/// milliseconds of work); above it the background job does.
pub const INLINE_MAX: u64 = 200;

/// What a case's term rows are made of: its terms, and what a search sorts and
/// filters by (schema 15: stage, directorate and nationality too).
const COLS: &str =
    "id, name, travel_document, contacts, updated_at, stage, directorate, nationality";

impl Store {
    /// Brings `case_terms` up to date with every case changed since the last call;
    /// returns how many cases were (re-)indexed. The daemon's background job.
    pub async fn sync_case_terms(&self) -> Result<u64, StoreError> {
        self.sync_from_mark(None).await.map(|n| n.unwrap_or(0))
    }

    /// Like [`Store::sync_case_terms`] when at most `max` cases changed since the
    /// mark; `None` (and nothing done) when more did.
    pub async fn sync_case_terms_upto(&self, max: u64) -> Result<Option<u64>, StoreError> {
        self.sync_from_mark(Some(max)).await
    }

    async fn sync_from_mark(&self, max: Option<u64>) -> Result<Option<u64>, StoreError> {
        let mut tx = self.pool().read().await?;
        let latest: Option<DateTime<Utc>> = tx
            .fetch_one(q("SELECT MAX(updated_at) AS m FROM cases"))
            .await?
            .get("m")?;
        let mark = read_mark(&mut tx).await?;
        let Some(latest) = latest else {
            return Ok(Some(0));
        };
        if mark.is_some_and(|m| m >= latest) {
            return Ok(Some(0));
        }
        let since = mark.map_or(DateTime::<Utc>::UNIX_EPOCH, |m| m - Duration::seconds(LAG));
        if let Some(max) = max {
            // Index-only on cases_updated, and never more than max + 1 entries.
            let n: i64 = tx
                .fetch_one(
                    q("SELECT COUNT(*) AS n FROM \
                       (SELECT 1 FROM cases WHERE updated_at >= $1 LIMIT $2) x")
                    .bind(since)
                    .bind(max.saturating_add(1)),
                )
                .await?
                .get("n")?;
            if n as u64 > max {
                return Ok(None);
            }
        }
        drop(tx);
        let mut done = 0;
        // Keyset paging on (updated_at, id): a batch of ingest gives hundreds of
        // cases one timestamp, so a page may end inside such a run.
        let mut from = (since, 0i64);
        loop {
            let mut tx = self.pool().write().await?;
            let rows = tx
                .fetch_all(
                    q(format!(
                        "SELECT {COLS} FROM cases \
                         WHERE updated_at > $1 OR (updated_at = $1 AND id >= $2) \
                         ORDER BY updated_at, id LIMIT $3"
                    ))
                    .bind(from.0)
                    .bind(from.1)
                    .bind(BATCH),
                )
                .await?;
            let n = rows.len();
            done += index_rows(&mut tx, &rows, false).await?;
            let last = match rows.last() {
                Some(r) => Some((
                    r.get::<DateTime<Utc>>("updated_at")?,
                    r.get::<i64>("id")? + 1,
                )),
                None => None,
            };
            if let Some(l) = last {
                tx.execute(
                    q("INSERT INTO view_marks (name, at) VALUES ($1, $2) \
                       ON CONFLICT (name) DO UPDATE SET at = excluded.at")
                    .bind(MARK)
                    .bind(l.0),
                )
                .await?;
            }
            tx.commit().await?;
            match last {
                Some(l) if n as i64 == BATCH => from = l,
                _ => break,
            }
        }
        Ok(Some(done))
    }
}

/// Re-indexes one case inside the transaction that changed it.
pub(crate) async fn reindex_case_tx(tx: &mut Tx, case_id: i64) -> Result<(), StoreError> {
    let rows = tx
        .fetch_all(q(format!("SELECT {COLS} FROM cases WHERE id = $1")).bind(case_id))
        .await?;
    index_rows(tx, &rows, true).await?;
    Ok(())
}

/// Replaces the terms of these cases (rows of [`COLS`]); unless `force`, a case
/// whose terms already carry its `updated_at` is left as it is. Returns how many
/// cases were written.
async fn index_rows(tx: &mut Tx, rows: &[Row], force: bool) -> Result<u64, StoreError> {
    let mut done = 0;
    // NOTE: a chunk of cases per statement (ids in one DELETE, terms through
    // `bulk::insert`: multi-row statements on PostgreSQL, rows stepped on one
    // prepared statement on SQLite): one statement per term made indexing 100,000
    // cases take minutes on PostgreSQL, a round trip each.
    for chunk in rows.chunks(200) {
        let all: Vec<i64> = chunk
            .iter()
            .map(|r| r.get("id"))
            .collect::<Result<_, _>>()?;
        let indexed: HashMap<i64, DateTime<Utc>> = if force {
            HashMap::new()
        } else {
            tx.fetch_all(
                q(format!(
                    "SELECT DISTINCT case_id, updated_at FROM case_terms WHERE case_id IN ({})",
                    id_list(&all)
                ))
                .once(),
            )
            .await?
            .iter()
            .map(|r| Ok((r.get("case_id")?, r.get("updated_at")?)))
            .collect::<Result<_, StoreError>>()?
        };
        let mut ids = Vec::with_capacity(chunk.len());
        let mut rows: Vec<Vec<Arg>> = Vec::new();
        for r in chunk {
            let id: i64 = r.get("id")?;
            let at: DateTime<Utc> = r.get("updated_at")?;
            if indexed.get(&id) == Some(&at) {
                continue;
            }
            let name: Option<String> = r.get("name")?;
            let doc: String = r.get("travel_document")?;
            let contacts = r.get_list("contacts")?;
            let (stage, directorate, nationality): (String, Option<String>, Option<String>) = (
                r.get("stage")?,
                r.get("directorate")?,
                r.get("nationality")?,
            );
            for t in terms(name.as_deref(), &doc, &contacts) {
                rows.push(vec![
                    t.into(),
                    id.into(),
                    at.into(),
                    name.clone().into(),
                    stage.clone().into(),
                    directorate.clone().into(),
                    nationality.clone().into(),
                ]);
            }
            ids.push(id);
        }
        if ids.is_empty() {
            continue;
        }
        done += ids.len() as u64;
        tx.execute(
            q(format!(
                "DELETE FROM case_terms WHERE case_id IN ({})",
                id_list(&ids)
            ))
            .once(),
        )
        .await?;
        insert(
            tx,
            "INSERT INTO case_terms \
             (term, case_id, updated_at, name, stage, directorate, nationality)",
            rows,
            " ON CONFLICT DO NOTHING",
        )
        .await?;
    }
    Ok(done)
}

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn read_mark(tx: &mut Tx) -> Result<Option<DateTime<Utc>>, StoreError> {
    tx.fetch_optional(q("SELECT at FROM view_marks WHERE name = $1").bind(MARK))
        .await?
        .map(|r| r.get("at"))
        .transpose()
}
