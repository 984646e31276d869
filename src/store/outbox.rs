//! The outbox: emails written in the same transaction as the case change that
//! causes them, delivered later by notify; plus waybills and counters.

use chrono::{DateTime, Utc};

use super::attachments::blob_path;
use super::cases::{load_by_id, transition};
use super::query::{list_json, now, q, Row, Tx, Q};
use super::{
    Cause, MessageRecord, OutboxRow, OutboxStatus, Outcome, Stage, Stats, Store, StoreError,
    StoredWaybill,
};

pub(super) const OUTBOX_COLS: &str =
    "id, case_id, kind, message_id, in_reply_to, refs, forwarded_by, \
     forwarder_is_staff, original_to, status, attempts, next_attempt_at, last_error, created_at, \
     sent_at, sent_to, failing_since";

pub(super) fn outbox_from_row(r: &Row) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.get("id")?,
        case_id: r.get("case_id")?,
        kind: r.get_enum("kind")?,
        message_id: r.get("message_id")?,
        in_reply_to: r.get("in_reply_to")?,
        references: r.get_list("refs")?,
        forwarded_by: r.get("forwarded_by")?,
        forwarder_is_staff: r.get("forwarder_is_staff")?,
        original_to: r.get("original_to")?,
        status: r.get_enum("status")?,
        attempts: r.get_u32("attempts")?,
        next_attempt_at: r.get("next_attempt_at")?,
        last_error: r.get("last_error")?,
        created_at: r.get("created_at")?,
        sent_at: r.get("sent_at")?,
        sent_to: r.get_list("sent_to")?,
        failing_since: r.get("failing_since")?,
    })
}

impl Store {
    /// Pending rows whose next attempt is due at `now`, oldest first.
    pub async fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {OUTBOX_COLS} FROM outbox WHERE status = 'pending' \
                     AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
                ))
                .bind(now)
                .bind(i64::from(limit)),
            )
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// One outbox row.
    pub async fn outbox_get(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(q(format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id = $1")).bind(id))
            .await?;
        r.map(|r| outbox_from_row(&r)).transpose()
    }

    /// The row was accepted by the SMTP server for these recipients.
    pub async fn outbox_mark_sent(&self, id: i64, sent_to: &[String]) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q(
                    "UPDATE outbox SET status = 'sent', sent_at = $1, sent_to = $2, \
                   attempts = attempts + 1, last_error = NULL WHERE id = $3",
                )
                .bind(at)
                .bind(list_json(sent_to))
                .bind(id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no outbox row {id}")));
        }
        for a in sent_to {
            tx.execute(
                q("INSERT INTO outbox_recipients (outbox_id, address, sent_at) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(a.to_lowercase())
                    .bind(at),
            )
            .await?;
        }
        tx.commit().await
    }

    /// A temporary failure: try again at `next_at`.
    pub async fn outbox_mark_retry(
        &self,
        id: i64,
        error: &str,
        next_at: DateTime<Utc>,
        failed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_pending_row(
            id,
            q("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, \
               failing_since = COALESCE(failing_since, $3) WHERE id = $4 AND status = 'pending'")
            .bind(error)
            .bind(super::query::trunc(next_at))
            .bind(super::query::trunc(failed_at))
            .bind(id),
        )
        .await
    }

    /// Holds a pending row back until `until` without counting an attempt (the
    /// daily limit per recipient): neither the backoff nor `retry_for` moves.
    pub async fn outbox_defer(
        &self,
        id: i64,
        note: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_pending_row(
            id,
            q("UPDATE outbox SET last_error = $1, next_attempt_at = $2 \
               WHERE id = $3 AND status = 'pending'")
            .bind(note)
            .bind(super::query::trunc(until))
            .bind(id),
        )
        .await
    }

    /// Runs `stmt`, an UPDATE of the pending outbox row `id`; `NotFound` if it
    /// changed nothing (no such row, or not pending any more).
    async fn update_pending_row(&self, id: i64, stmt: Q) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        if tx.execute(stmt).await? == 0 {
            return Err(StoreError::NotFound(format!("no pending outbox row {id}")));
        }
        tx.commit().await
    }

    /// A permanent failure (or retries exhausted): the row is failed and its
    /// case goes to needs_review, in one transaction.
    pub async fn outbox_mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        let r = tx
            .fetch_optional(
                q("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1 \
                   WHERE id = $2 RETURNING case_id, kind")
                .bind(error)
                .bind(id),
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no outbox row {id}")))?;
        let case_id: i64 = r.get("case_id")?;
        let kind: String = r.get("kind")?;
        if let Some(l) = load_by_id(&mut tx, case_id).await? {
            if !matches!(l.case.stage, Stage::NeedsReview | Stage::Closed) {
                let detail = format!("the {kind} email could not be delivered: {error}");
                transition(
                    &mut tx,
                    &l,
                    Stage::NeedsReview,
                    Cause::Outbox,
                    Some(&detail),
                    None,
                    at,
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// All rows, or those with `status`, newest first.
    pub async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {OUTBOX_COLS} FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC"
                ))
                .bind(status.map(|s| s.as_str())),
            )
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Puts a failed (or pending) row back in the queue, due now.
    pub async fn outbox_requeue(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = $1 \
                   WHERE id = $2 AND status <> 'sent'",
                )
                .bind(now())
                .bind(id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no unsent outbox row {id}")));
        }
        tx.commit().await
    }

    /// How many emails went to `address` since `since` (per-recipient rate limit).
    pub async fn sent_count_since(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_one(
                q("SELECT COUNT(*) AS n FROM outbox_recipients WHERE address = $1 AND sent_at >= $2")
                    .bind(address.to_lowercase())
                    .bind(since),
            )
            .await?;
        r.get_u64("n")
    }

    /// The waybills kept for a case, in the order they arrived.
    pub async fn case_waybills(&self, case_id: i64) -> Result<Vec<StoredWaybill>, StoreError> {
        let mut tx = self.pool().read().await?;
        waybills_from(&mut tx, case_id, None).await
    }

    /// The waybills of the case's current cycle: those that came with or after
    /// its latest renewal (all of them if it was never renewed). These are the
    /// ones to pay now; last year's slip must not go out with this year's
    /// instructions.
    pub async fn cycle_waybills(&self, case_id: i64) -> Result<Vec<StoredWaybill>, StoreError> {
        // NOTE: one snapshot for both statements, so a renewal committed in
        // between cannot pair its start with the waybills of the cycle before.
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_one(
                q("SELECT MAX(message) AS m FROM case_events WHERE case_id = $1 AND cause = $2")
                    .bind(case_id)
                    .bind(Cause::Renewal.as_str()),
            )
            .await?;
        let since: Option<i64> = r.get("m")?;
        waybills_from(&mut tx, case_id, since).await
    }

    /// A waybill's contents by sha256: from the database, or for one stored before
    /// schema 5 from its file under [`Store::attachments_dir`]. `None` when neither
    /// has it.
    pub async fn waybill_data(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tx = self.pool().read().await?;
        let row = tx
            .fetch_optional(q("SELECT data FROM waybill_data WHERE sha256 = $1").bind(sha256))
            .await?;
        drop(tx);
        if let Some(r) = row {
            return Ok(Some(r.get::<Vec<u8>>("data")?));
        }
        let path = blob_path(self.attachments_dir(), sha256);
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Messages by outcome, cases by stage, outbox depth by status.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let mut tx = self.pool().read().await?;
        let mut s = Stats::default();
        for (sql, map) in [
            (
                "SELECT outcome AS k, COUNT(*) AS n FROM processed_messages GROUP BY outcome",
                &mut s.messages_by_outcome,
            ),
            (
                "SELECT stage AS k, COUNT(*) AS n FROM cases GROUP BY stage",
                &mut s.cases_by_stage,
            ),
            (
                "SELECT status AS k, COUNT(*) AS n FROM outbox GROUP BY status",
                &mut s.outbox_by_status,
            ),
        ] {
            for r in tx.fetch_all(q(sql)).await? {
                map.insert(r.get("k")?, r.get_u64("n")?);
            }
        }
        s.last_processed_at = tx
            .fetch_optional(q(
                "SELECT at FROM processed_messages ORDER BY id DESC LIMIT 1",
            ))
            .await?
            .map(|r| r.get("at"))
            .transpose()?;
        s.oldest_pending_outbox = tx
            .fetch_optional(q(
                "SELECT created_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1",
            ))
            .await?
            .map(|r| r.get("created_at"))
            .transpose()?;
        Ok(s)
    }

    /// Processed messages, newest first, optionally only one outcome.
    pub async fn messages(
        &self,
        outcome: Option<Outcome>,
        limit: u32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q("SELECT id, origin, mailbox, uidvalidity, uid, path, message_id, raw_sha256, size, \
                   notification_hash, kind, outcome, reason, case_id, at FROM processed_messages \
                   WHERE ($1 IS NULL OR outcome = $1) ORDER BY id DESC LIMIT $2")
                .bind(outcome.map(|o| o.as_str()))
                .bind(i64::from(limit)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let uv: Option<i64> = r.get("uidvalidity")?;
                let uid: Option<i64> = r.get("uid")?;
                Ok(MessageRecord {
                    id: r.get("id")?,
                    origin: r.get("origin")?,
                    mailbox: r.get("mailbox")?,
                    uidvalidity: uv.and_then(|v| u32::try_from(v).ok()),
                    uid: uid.and_then(|v| u32::try_from(v).ok()),
                    path: r.get("path")?,
                    message_id: r.get("message_id")?,
                    raw_sha256: r.get("raw_sha256")?,
                    size: r.get_u64("size")?,
                    notification_hash: r.get("notification_hash")?,
                    kind: r.get("kind")?,
                    outcome: r.get_enum("outcome")?,
                    reason: r.get("reason")?,
                    case_id: r.get("case_id")?,
                    at: r.get("at")?,
                })
            })
            .collect()
    }
}

/// The case's waybills whose message is `since` or later (all when `None`).
async fn waybills_from(
    tx: &mut Tx,
    case_id: i64,
    since: Option<i64>,
) -> Result<Vec<StoredWaybill>, StoreError> {
    let rows = tx
        .fetch_all(
            q(
                "SELECT filename, content_type, sha256, size, amount_lek FROM waybills \
               WHERE case_id = $1 AND ($2 IS NULL OR message >= $2) ORDER BY id",
            )
            .bind(case_id)
            .bind(since),
        )
        .await?;
    rows.iter()
        .map(|r| {
            let sha256: String = r.get("sha256")?;
            let amount: Option<i64> = r.get("amount_lek")?;
            Ok(StoredWaybill {
                filename: r.get("filename")?,
                content_type: r.get("content_type")?,
                sha256,
                size: r.get_u64("size")?,
                amount_lek: amount.and_then(|a| u64::try_from(a).ok()),
            })
        })
        .collect()
}
