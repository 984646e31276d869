//! Mailbox leases, checkpoints and skipped messages: the daemon's bookkeeping.
//!
//! A lease is a row (mailbox, holder, expires_at). Taking or renewing it is a
//! single `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, which both
//! backends execute atomically under the row's lock: the update only happens
//! if the lease is ours or has expired, so a process that died without
//! releasing loses the mailbox after its TTL. Fencing tokens, releases and the
//! instance registry are in `cluster`.

use std::time::Duration;

use super::cluster::check_fence;
use super::query::{now, q};
use super::{Checkpoint, Fence, Origin, Outcome, Store, StoreError};

impl Store {
    /// The mailbox's checkpoint, if anything was processed from it.
    pub async fn checkpoint(&self, mailbox: &str) -> Result<Option<Checkpoint>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q("SELECT uidvalidity, last_uid FROM checkpoints WHERE mailbox = $1").bind(mailbox),
            )
            .await?;
        r.map(|r| {
            Ok(Checkpoint {
                uidvalidity: r.get_u32("uidvalidity")?,
                last_uid: r.get_u32("last_uid")?,
            })
        })
        .transpose()
    }

    /// Sets the checkpoint exactly (e.g. after a UIDVALIDITY change, or to skip
    /// old mail on first start).
    pub async fn set_checkpoint(&self, mailbox: &str, cp: Checkpoint) -> Result<(), StoreError> {
        self.set_checkpoint_fenced(mailbox, cp, None).await
    }

    /// [`Store::set_checkpoint`], committed only while `fence` is the live lease.
    pub async fn set_checkpoint_fenced(
        &self,
        mailbox: &str,
        cp: Checkpoint,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(
            q(
                "INSERT INTO checkpoints (mailbox, uidvalidity, last_uid, updated_at) \
               VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox) DO UPDATE SET \
               uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, \
               updated_at = excluded.updated_at",
            )
            .bind(mailbox)
            .bind(cp.uidvalidity)
            .bind(cp.last_uid)
            .bind(now()),
        )
        .await?;
        if let Some(f) = fence {
            check_fence(&mut tx, f).await?;
        }
        tx.commit().await
    }

    /// Takes the mailbox's lease for `holder`, or renews it; `false` if another
    /// holder has an unexpired lease. See [`Store::take_lease`] for its fencing token.
    pub async fn try_lease(
        &self,
        mailbox: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.take_lease(mailbox, holder, ttl).await?.is_some())
    }

    /// Who holds the mailbox's lease now (unexpired), if anyone.
    pub async fn lease_holder(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q("SELECT holder, expires_at FROM leases WHERE mailbox = $1").bind(mailbox),
            )
            .await?;
        let Some(r) = r else { return Ok(None) };
        let expires: chrono::DateTime<chrono::Utc> = r.get("expires_at")?;
        (expires > now()).then(|| r.get("holder")).transpose()
    }

    /// Record a message that was not parsed (over the size limit, unreadable)
    /// and advance the checkpoint.
    pub async fn record_skipped(
        &self,
        origin: &Origin<'_>,
        message_id: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.record_skipped_fenced(origin, message_id, reason, None)
            .await
    }

    /// [`Store::record_skipped`], committed only while `fence` is the live lease.
    pub async fn record_skipped_fenced(
        &self,
        origin: &Origin<'_>,
        message_id: Option<&str>,
        reason: &str,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        // NOTE: a skipped message is an unparsed one with no size or hash to record.
        self.record_unparsed_fenced(origin, message_id, None, 0, Outcome::Skipped, reason, fence)
            .await
    }

    /// After a UIDVALIDITY change: was this message (by Message-ID, else raw
    /// sha256) already processed?
    pub async fn already_processed(
        &self,
        message_id: Option<&str>,
        raw_sha256: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = match message_id {
            Some(mid) => {
                tx.fetch_optional(
                    q("SELECT id FROM processed_messages WHERE message_id = $1 LIMIT 1").bind(mid),
                )
                .await?
            }
            None => {
                tx.fetch_optional(
                    // NOTE: `message_id IS NULL` lets the partial index `processed_raw`
                    // serve this; the same bytes have no Message-ID either.
                    q("SELECT id FROM processed_messages WHERE raw_sha256 = $1 \
                       AND message_id IS NULL LIMIT 1")
                    .bind(raw_sha256),
                )
                .await?
            }
        };
        Ok(r.is_some())
    }
}
