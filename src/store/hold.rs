//! Held emails and the hourly caps: an email from an untrusted message waits
//! as `held` until a person releases it ([`Store::outbox_release`], the one
//! function the CLI and the console call), and the sender counts what went out
//! in the last hour, in all and per forwarder domain.

use chrono::{DateTime, Utc};

use super::cases::{insert_event, load_by_id};
use super::query::{now, q};
use super::{Cause, MessageRecord, Store, StoreError};

impl Store {
    /// Releases the held email `id`: it becomes pending, due now, and the
    /// case's history records who released it. `NotFound` unless it is held.
    pub async fn outbox_release(&self, id: i64, actor: &str) -> Result<(), StoreError> {
        // NOTE: the CLI and the console always name someone; a blank name is
        // still recorded as a release, visibly.
        let actor = match actor.trim() {
            "" => "(unnamed)",
            a => a,
        };
        let at = now();
        let mut tx = self.pool().write().await?;
        let r = tx
            .fetch_optional(
                q("UPDATE outbox SET status = 'pending', next_attempt_at = $1, released_by = $2, \
                   released_at = $1 WHERE id = $3 AND status = 'held' RETURNING case_id, kind")
                .bind(at)
                .bind(actor)
                .bind(id),
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no held outbox row {id}")))?;
        let case_id: i64 = r.get("case_id")?;
        let kind: String = r.get("kind")?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("outbox row {id} without its case")))?;
        let detail = format!("held {kind} email (outbox {id}) released by {actor}");
        let stage = l.case.stage;
        insert_event(
            &mut tx,
            case_id,
            at,
            Some(stage),
            stage,
            Cause::Cli,
            Some(&detail),
            None,
        )
        .await?;
        tx.commit().await
    }

    /// The processed messages that led to a case, oldest first, with their trust verdicts.
    pub async fn case_messages(&self, case_id: i64) -> Result<Vec<MessageRecord>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {} FROM processed_messages WHERE case_id = $1 ORDER BY id",
                    super::outbox::MESSAGE_COLS
                ))
                .bind(case_id),
            )
            .await?;
        rows.iter().map(super::outbox::message_from_row).collect()
    }

    /// Emails sent since `since`, in all (the hourly cap).
    pub async fn sent_total_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_one(
                q("SELECT COUNT(*) AS n FROM outbox WHERE sent_at >= $1 AND status = 'sent'")
                    .bind(since),
            )
            .await?;
        r.get_u64("n")
    }

    /// Emails sent since `since` for messages forwarded from `domain` (lower-case).
    pub async fn sent_for_forwarder_domain_since(
        &self,
        domain: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_one(
                q(
                    "SELECT COUNT(*) AS n FROM outbox WHERE sent_at >= $1 AND status = 'sent' \
                   AND LOWER(forwarded_by) LIKE $2",
                )
                .bind(since)
                .bind(format!("%@{}", domain.replace(['%', '_'], ""))),
            )
            .await?;
        r.get_u64("n")
    }
}
