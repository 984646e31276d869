//! The reminder pass's store side (issue 20): [`Store::remind_due`].
//!
//! A batch costs a handful of statements, not a few per reminder: per stage one
//! `UPDATE … WHERE id = ANY(ARRAY(SELECT … ORDER BY due LIMIT n FOR UPDATE SKIP
//! LOCKED)) RETURNING …` (`id IN (SELECT …)` on SQLite) claims the due cases and moves their due base (or flags them
//! stalled), one `SELECT … IN (…)` reads their instructions emails to thread
//! under, and multi-row INSERTs write the outbox rows and the events
//! (`bulk::insert`). All of it is one transaction: a reminder is in the outbox
//! exactly when its case's due date has moved, so a crash neither loses nor
//! repeats one. On PostgreSQL the claim skips rows another instance holds:
//! several instances share the due cases, never one case.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::bulk::{insert, new_ids, numbered, OUTBOX_INSERT};
use super::cases::{followup_outbox, new_message_id};
use super::followup::{DueBatch, Schedule};
use super::query::{list_json, q, trunc, Arg, Row, Tx};
use super::{Cause, OutboxKind, Stage, Store, StoreError};

/// Values per `IN (…)` list, far below both backends' limits on bound values.
const IN_CHUNK: usize = 500;

/// A case the claim took: its reminders sent in the stage (after the claim),
/// and whether it was flagged stalled instead of reminded.
struct Claimed {
    id: i64,
    sent: u32,
    stalled: bool,
}

impl Store {
    /// One batch of the reminder pass at `now`: up to `limit` due cases, in one
    /// transaction. With `commit` false (a dry run) everything is rolled back and
    /// the batch reports what it would have done. Call until it returns fewer
    /// than `limit`.
    pub async fn remind_due(
        &self,
        now: DateTime<Utc>,
        schedule: &Schedule,
        limit: usize,
        commit: bool,
    ) -> Result<DueBatch, StoreError> {
        let now = trunc(now);
        let mut tx = self.pool().write().await?;
        let mut out = DueBatch::default();
        for (stage, delay) in &schedule.delays {
            let left = limit.saturating_sub(out.reminded.len() + out.stalled.len());
            if left == 0 {
                break;
            }
            // A delay longer than the calendar: nothing is ever due.
            let Some(cutoff) = now.checked_sub_signed(*delay) else {
                continue;
            };
            let claimed = claim(&mut tx, *stage, cutoff, left, schedule, now).await?;
            out.rows_read += claimed.len() as u64;
            let (stalled, reminded): (Vec<Claimed>, Vec<Claimed>) =
                claimed.into_iter().partition(|c| c.stalled);
            let outbox = enqueue(&mut tx, &reminded, now).await?;
            events(&mut tx, *stage, &reminded, &stalled, schedule, now).await?;
            out.reminded.extend(
                reminded
                    .iter()
                    .zip(outbox)
                    .map(|(c, ob)| (c.id, *stage, ob)),
            );
            out.stalled.extend(stalled.iter().map(|c| c.id));
        }
        if commit {
            tx.commit().await?;
        } else {
            let ids: Vec<i64> = out.reminded.iter().map(|r| r.2).collect();
            out.rows = preview(&mut tx, &ids).await?;
        }
        Ok(out)
    }
}

/// Claims up to `limit` cases of `stage` due by `cutoff`, in one statement: a
/// case with reminders left gets its due base moved to `now` and its count
/// raised; one whose reminders are used up is flagged stalled.
// NOTE: the inner WHERE and ORDER BY match the partial index cases_remind_due
// exactly, so this reads only the due rows of this stage. On PostgreSQL, a row
// another instance changed after this statement's snapshot is checked again
// against the WHERE once its lock is free, so a case reminded there is skipped.
async fn claim(
    tx: &mut Tx,
    stage: Stage,
    cutoff: DateTime<Utc>,
    limit: usize,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, StoreError> {
    let due = "SELECT id FROM cases WHERE stage = $3 AND remind_state IS NULL \
               AND COALESCE(remind_from, created_at) <= $4 \
               ORDER BY COALESCE(remind_from, created_at) LIMIT $5";
    // NOTE: on PostgreSQL the ids go through an array: with `id IN (SELECT …)` the
    // generic plan of the prepared statement (which cannot see LIMIT's value)
    // hash-joined the claimed ids against a sequential scan of every case.
    let which = if tx.is_pg() {
        format!("id = ANY(ARRAY({due} FOR UPDATE SKIP LOCKED))")
    } else {
        format!("id IN ({due})")
    };
    let sql = format!(
        "UPDATE cases SET \
         remind_state = CASE WHEN reminders_sent >= $1 THEN 'stalled' END, \
         remind_from = CASE WHEN reminders_sent >= $1 THEN remind_from ELSE $2 END, \
         reminders_sent = CASE WHEN reminders_sent >= $1 THEN reminders_sent \
         ELSE reminders_sent + 1 END \
         WHERE {which} RETURNING id, reminders_sent, remind_state"
    );
    let rows = tx
        .fetch_all(
            q(sql)
                .bind(schedule.max_per_stage)
                .bind(now)
                .bind(stage.as_str())
                .bind(cutoff)
                .bind(limit as i64),
        )
        .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: r.get("id")?,
                sent: r.get_u32("reminders_sent")?,
                stalled: r.get::<Option<String>>("remind_state")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // RETURNING has no order; the report lists cases in id order.
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// The latest instructions email of each case in `ids` (a renewed case has one
/// per cycle), which its reminder is threaded under and addressed like.
async fn instructions_of(tx: &mut Tx, ids: &[i64]) -> Result<HashMap<i64, Row>, StoreError> {
    let mut latest: HashMap<i64, (i64, Row)> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT id, case_id, message_id, refs, forwarded_by, forwarder_is_staff, original_to, \
             status, forwarder_verified, original_verified, released_by FROM outbox \
             WHERE kind = 'instructions' AND case_id IN ({})",
            numbered(tx.is_pg(), 1, chunk.len())
        );
        let mut stmt = q(sql).once();
        for id in chunk {
            stmt = stmt.bind(*id);
        }
        for r in tx.fetch_all(stmt).await? {
            let (case, id): (i64, i64) = (r.get("case_id")?, r.get("id")?);
            if latest.get(&case).is_none_or(|(seen, _)| *seen < id) {
                latest.insert(case, (id, r));
            }
        }
    }
    Ok(latest.into_iter().map(|(c, (_, r))| (c, r)).collect())
}

/// Writes one reminder per case of `cases` to the outbox; their ids, in order.
async fn enqueue(
    tx: &mut Tx,
    cases: &[Claimed],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    let first = instructions_of(tx, &ids).await?;
    let outbox = new_ids(tx, "outbox", cases.len()).await?;
    let mut rows = Vec::with_capacity(cases.len());
    for (c, id) in cases.iter().zip(&outbox) {
        let o = followup_outbox(c.id, OutboxKind::Reminder, first.get(&c.id))?;
        rows.push(vec![
            Arg::from(*id),
            o.case_id.into(),
            o.kind.as_str().into(),
            new_message_id().into(),
            o.in_reply_to.into(),
            list_json(&o.references).into(),
            o.forwarded_by.into(),
            o.forwarder_is_staff.into(),
            o.original_to.into(),
            now.into(),
            now.into(),
            (if o.held { "held" } else { "pending" }).into(),
            0i64.into(),
            "[]".into(),
            o.source_message.into(),
            o.forwarder_verified.into(),
            o.original_verified.into(),
        ]);
    }
    insert(tx, OUTBOX_INSERT, rows, "").await?;
    Ok(outbox)
}

/// One event per reminder queued and per case flagged stalled.
async fn events(
    tx: &mut Tx,
    stage: Stage,
    reminded: &[Claimed],
    stalled: &[Claimed],
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = |c: &Claimed, detail: String| {
        vec![
            Arg::from(c.id),
            now.into(),
            stage.as_str().into(),
            stage.as_str().into(),
            Cause::Reminder.as_str().into(),
            detail.into(),
            Option::<i64>::None.into(),
        ]
    };
    let mut rows: Vec<Vec<Arg>> = reminded
        .iter()
        .map(|c| {
            let detail = format!("reminder {} of {} sent", c.sent, schedule.max_per_stage);
            row(c, detail)
        })
        .collect();
    rows.extend(stalled.iter().map(|c| {
        let detail = format!("stalled: no progress after {} reminders; for staff", c.sent);
        row(c, detail)
    }));
    insert(
        tx,
        "INSERT INTO case_events (case_id, at, from_stage, to_stage, cause, detail, message)",
        rows,
        "",
    )
    .await
}

/// A dry run's outbox rows, read back before the rollback.
async fn preview(tx: &mut Tx, ids: &[i64]) -> Result<Vec<super::OutboxRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT {} FROM outbox WHERE id IN ({}) ORDER BY id",
            super::outbox::OUTBOX_COLS,
            numbered(tx.is_pg(), 1, chunk.len())
        );
        let mut stmt = q(sql).once();
        for id in chunk {
            stmt = stmt.bind(*id);
        }
        for r in tx.fetch_all(stmt).await? {
            out.push(super::outbox::outbox_from_row(&r)?);
        }
    }
    Ok(out)
}
