//! The bulk part of [`Store::ingest_batch`]: the messages of a batch whose effect
//! needs nothing from the store but "is this new?" are written table by table for
//! the whole batch, instead of about eight statements each. On SQLite each table's
//! rows go through one prepared single-row statement on the writer's handle
//! ([`super::sqlite_raw`]); on PostgreSQL through multi-row statements.
//!
//! A message takes this path when its origin was never processed and no earlier
//! message in the batch has it, and, for a complete notification (approval or
//! rejection with a travel document), when neither its travel document nor its
//! notification hash is in the store or on an earlier message of the batch. That is
//! a backlog's common case: a first approval (new case, waybills, instructions
//! email) or mail that is ignored. Everything else (the same origin or notification
//! again, a second notice for a case, conflicts) takes the per-message path after
//! this one, in batch order. The two sets share no origin, document or hash, and
//! every repeat in the batch is on the per-message side, after its first, so the
//! result is what one message at a time would give.
//!
//! NOTE: the inserts have no `ON CONFLICT` (except waybills, where one message may
//! carry the same file twice, and waybill contents, shared by every case and message
//! that carries the same bytes): a concurrent writer that took the same document, hash
//! or origin after the checks below makes the statement fail with a unique
//! violation, which rolls the batch back and retries it ([`StoreError::is_retryable`]);
//! the retry sees the other writer's rows and sends those messages the per-message way.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::ingest::{contacts_of, kind_str, origin_cols, origin_name};
use super::query::{list_json, q, Arg, Tx};
use super::types::{directorate_str, language_str};
use super::{Cause, Incoming, Ingested, Origin, OutboxKind, Outcome, Stage, StoreError};
use crate::parse::Kind;

/// Rows per multi-row statement, far below both backends' limits on bound values
/// (SQLite 32,766; PostgreSQL 65,535).
// NOTE: 256 rows per statement was no faster than 64 in the ingest benchmark,
// and its larger statements and argument lists raised the daemon's peak memory
// on a 30,000-message backlog from 23.8 to 25.1 MB.
const CHUNK: usize = 64;

/// The head of a multi-row outbox insert; each row's values follow this column order.
pub(super) const OUTBOX_INSERT: &str = "INSERT INTO outbox (id, case_id, kind, message_id, \
     in_reply_to, refs, forwarded_by, forwarder_is_staff, original_to, next_attempt_at, created_at, \
     status, attempts, sent_to, source_message, forwarder_verified, original_verified)";

mod select;

use select::select;

/// One message on the bulk path, with what it will write.
struct Item<'m> {
    index: usize,
    /// The message's notification hash, if it has one.
    hash: Option<String>,
    /// `Some` for a new case: its travel document.
    doc: Option<&'m str>,
    outcome: Outcome,
    reason: Option<String>,
}

/// Writes the batch's bulk-path messages inside `w`. Returns, per message of `msgs`,
/// its result when it was written here, `None` when the per-message path must take it.
pub(super) async fn ingest_bulk(
    tx: &mut Tx,
    msgs: &[Incoming<'_>],
    at: DateTime<Utc>,
) -> Result<Vec<Option<Ingested>>, StoreError> {
    let mut out: Vec<Option<Ingested>> = vec![None; msgs.len()];
    let items = select(tx, msgs).await?;
    if items.is_empty() {
        return Ok(out);
    }

    // Every row's id is chosen here, so no INSERT has to return one. Per item
    // of `items`: its new case's id, if it makes one.
    let new_case: Vec<bool> = items.iter().map(|i| i.doc.is_some()).collect();
    let case_of = ids_for(tx, "cases", &new_case).await?;
    let pm_ids = new_ids(tx, "processed_messages", items.len()).await?;

    // Cases first: every other row refers to them.
    let rows = items
        .iter()
        .zip(&case_of)
        .filter_map(|(i, id)| Some((i, (*id)?, i.doc?)))
        .map(|(i, id, doc)| {
            let m = &msgs[i.index];
            let p = m.parsed;
            let stage = stage_of(p.kind);
            vec![
                id.into(),
                doc.into(),
                p.name.as_deref().into(),
                p.nationality.as_deref().into(),
                p.directorate.map(directorate_str).into(),
                list_json(&contacts_of(m)).into(),
                p.language.map(language_str).into(),
                stage.as_str().into(),
                at.into(),
                at.into(),
            ]
        })
        .collect();
    insert(
        tx,
        "INSERT INTO cases (id, travel_document, name, nationality, directorate, contacts, \
         language, stage, created_at, updated_at)",
        rows,
        "",
    )
    .await?;

    // The processed rows, with their final outcome.
    let mut rows = Vec::with_capacity(items.len());
    for ((i, case_id), pm) in items.iter().zip(&case_of).zip(&pm_ids) {
        let m = &msgs[i.index];
        let p = m.parsed;
        let (mailbox, uidvalidity, uid, path) = origin_cols(&m.origin);
        rows.push(vec![
            (*pm).into(),
            origin_name(&m.origin).into(),
            mailbox.into(),
            uidvalidity.into(),
            uid.into(),
            path.into(),
            p.message_id.as_deref().into(),
            m.raw_sha256.into(),
            m.size.into(),
            i.hash.clone().into(),
            kind_str(p.kind).into(),
            i.outcome.as_str().into(),
            i.reason.clone().into(),
            (*case_id).into(),
            at.into(),
            matches!(m.origin, Origin::Imap { .. }).into(),
            m.trust.forwarder_verified.into(),
            m.trust.original_verified.into(),
            super::ingest::verified_forwarder(m).into(),
            m.trust.staff.into(),
            m.trust.trusted.into(),
            m.trust.reason.as_str().into(),
        ]);
    }
    insert(
        tx,
        "INSERT INTO processed_messages (id, origin, mailbox, uidvalidity, uid, path, \
         message_id, raw_sha256, size, notification_hash, kind, outcome, reason, case_id, at, \
         action_pending, forwarder_verified, original_verified, verified_forwarder, \
         verified_staff, trusted, trust_reason)",
        rows,
        "",
    )
    .await?;

    // Notifications, the cases' first events, waybills.
    let mut notes = Vec::new();
    let mut events = Vec::new();
    let mut waybills = Vec::new();
    let mut contents = Vec::new();
    let mut seen_contents = HashSet::new();
    let new = items.iter().zip(&case_of).zip(&pm_ids);
    for ((i, case_id), &pm) in new.filter(|((_, c), _)| c.is_some()) {
        let case_id = *case_id;
        let p = msgs[i.index].parsed;
        notes.push(vec![
            i.hash.clone().into(),
            case_id.into(),
            pm.into(),
            at.into(),
            super::ingest::notice_time(p).into(),
        ]);
        let stage = stage_of(p.kind);
        let detail = if stage == Stage::Approved {
            "approval notification received"
        } else {
            "rejection notification received"
        };
        events.push(vec![
            case_id.into(),
            at.into(),
            Arg::Text(None),
            stage.as_str().into(),
            Cause::Message.as_str().into(),
            detail.into(),
            pm.into(),
        ]);
        if stage != Stage::Approved {
            continue;
        }
        for wb in &p.waybills {
            debug_assert_eq!(wb.sha256, super::attachments::sha256_hex(&wb.data));
            if seen_contents.insert(wb.sha256.as_str()) {
                contents.push(vec![wb.sha256.as_str().into(), wb.data.as_slice().into()]);
            }
            waybills.push(vec![
                case_id.into(),
                pm.into(),
                wb.filename.as_deref().into(),
                wb.content_type.as_str().into(),
                wb.sha256.as_str().into(),
                wb.size.into(),
                wb.amount_lek.into(),
                at.into(),
            ]);
        }
    }
    insert(
        tx,
        "INSERT INTO notifications (hash, case_id, first_message, at, notified_at)",
        notes,
        "",
    )
    .await?;
    insert(
        tx,
        "INSERT INTO case_events (case_id, at, from_stage, to_stage, cause, detail, message)",
        events,
        "",
    )
    .await?;
    insert(
        tx,
        "INSERT INTO waybill_data (sha256, data)",
        contents,
        " ON CONFLICT (sha256) DO NOTHING",
    )
    .await?;
    insert(
        tx,
        "INSERT INTO waybills (case_id, message, filename, content_type, sha256, size, \
         amount_lek, created_at)",
        waybills,
        " ON CONFLICT DO NOTHING",
    )
    .await?;

    // The instructions email of each new approved case, addressed like the
    // per-message path does (`cases::insert_outbox`).
    let approved: Vec<bool> = items
        .iter()
        .map(|i| i.doc.is_some() && msgs[i.index].parsed.kind == Kind::PermitApproved)
        .collect();
    let outbox_of = ids_for(tx, "outbox", &approved).await?;
    let mut rows = Vec::new();
    let each = items.iter().zip(&case_of).zip(&outbox_of).zip(&pm_ids);
    for (((i, case_id), id), pm) in each {
        let (Some(case_id), Some(id)) = (case_id, id) else {
            continue;
        };
        let m = &msgs[i.index];
        let p = m.parsed;
        rows.push(vec![
            (*id).into(),
            (*case_id).into(),
            OutboxKind::Instructions.as_str().into(),
            super::cases::new_message_id().into(),
            p.message_id.clone().into(),
            list_json(&p.references).into(),
            p.forwarded_by.clone().into(),
            m.forwarder_is_staff.into(),
            p.original_to.clone().into(),
            at.into(),
            at.into(),
            "pending".into(),
            0i64.into(),
            "[]".into(),
            (*pm).into(),
            m.trust.forwarder_verified.into(),
            m.trust.original_verified.into(),
        ]);
    }
    // NOTE: only trusted notices take this path (`select`), so every row here
    // is `pending`; an untrusted one's `held` email is written the per-message way.
    insert(tx, OUTBOX_INSERT, rows, "").await?;

    for ((i, case_id), outbox) in items.iter().zip(case_of).zip(outbox_of) {
        out[i.index] = Some(Ingested {
            outcome: i.outcome,
            case_id,
            outbox_ids: outbox.into_iter().collect(),
        });
    }
    Ok(out)
}

/// `n` unused ids for `table`'s `id` column, so its rows can be written (and
/// referred to) without an `INSERT … RETURNING` per chunk.
///
/// NOTE: on SQLite they follow the largest id in the table, which is what SQLite
/// itself would give (`INTEGER PRIMARY KEY` without AUTOINCREMENT), and nobody
/// else can take them: the transaction began IMMEDIATE and holds the write lock
/// until it commits. On PostgreSQL they come from the column's identity sequence,
/// as a row inserted without an id would take them.
pub(super) async fn new_ids(tx: &mut Tx, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if tx.is_pg() {
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id \
                     FROM generate_series(1, $1)"
                ))
                .bind(n as i64),
            )
            .await?;
        return rows.iter().map(|r| r.get("id")).collect();
    }
    let row = tx
        .fetch_one(q(format!("SELECT COALESCE(MAX(id), 0) AS id FROM {table}")))
        .await?;
    let max: i64 = row.get("id")?;
    Ok((max + 1..=max + n as i64).collect())
}

/// Fresh ids ([`new_ids`]) handed out in order to the items `wants` marks;
/// `None` for the others.
async fn ids_for(tx: &mut Tx, table: &str, wants: &[bool]) -> Result<Vec<Option<i64>>, StoreError> {
    let n = wants.iter().filter(|&&w| w).count();
    let mut ids = new_ids(tx, table, n).await?.into_iter();
    Ok(wants
        .iter()
        .map(|&w| if w { ids.next() } else { None })
        .collect())
}

/// The stage a new case starts in.
fn stage_of(kind: Kind) -> Stage {
    if kind == Kind::PermitApproved {
        Stage::Approved
    } else {
        Stage::Rejected
    }
}

/// `n` placeholders for the values from the `from`th on: `$from, $from+1, …` on
/// PostgreSQL, `?, ?, …` on SQLite.
///
/// NOTE: SQLite looks a named parameter (`$7`) up by walking the statement's list of
/// names, and sqlx asks for every parameter's name: quadratic in the number of
/// values, which made a 256-row INSERT slower than 256 one-row ones. Anonymous `?`
/// parameters have no names to walk.
pub(super) fn numbered(pg: bool, from: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in from..from + n {
        if i > from {
            s.push_str(", ");
        }
        if pg {
            s.push('$');
            s.push_str(&i.to_string());
        } else {
            s.push('?');
        }
    }
    s
}

/// A statement of `rows` rows (or values): kept prepared when it is a full
/// [`CHUNK`], whose text is the same every time, so a backlog prepares each of
/// these once, not once per chunk; the last, shorter chunk of a group varies
/// and is prepared for that run only (see [`super::query::Q::once`]).
fn prepared(sql: String, rows: usize) -> super::query::Q {
    if rows == CHUNK {
        q(sql)
    } else {
        q(sql).once()
    }
}

/// `INSERT … VALUES (…) <tail>` for each of `rows` (all the same width). Nothing is
/// returned: the rows' ids were chosen before ([`new_ids`]).
///
/// On SQLite, one single-row statement stepped per row on the writer's handle
/// ([`super::sqlite_raw`]); on PostgreSQL, multi-row statements of [`CHUNK`] rows,
/// one round trip each.
pub(super) async fn insert(
    tx: &mut Tx,
    head: &str,
    rows: Vec<Vec<Arg>>,
    tail: &str,
) -> Result<(), StoreError> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let on_sqlite = tx
        .on_sqlite_handle(|db| {
            let sql = format!("{head} VALUES ({}){tail}", numbered(false, 1, width));
            super::sqlite_raw::insert_rows(db, &sql, &rows)
        })
        .await?;
    if on_sqlite.is_some() {
        return Ok(());
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows.by_ref().take(CHUNK).collect();
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 6);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for r in 0..chunk.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&numbered(tx.is_pg(), r * width + 1, width));
            sql.push(')');
        }
        sql.push_str(tail);
        let mut stmt = prepared(sql, chunk.len());
        for a in chunk.into_iter().flatten() {
            stmt = stmt.bind(a);
        }
        tx.execute(stmt).await?;
    }
    Ok(())
}
