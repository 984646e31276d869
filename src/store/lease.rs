//! Mailbox leases, checkpoints and skipped messages: the daemon's bookkeeping.
//!
//! A lease is a row (mailbox, holder, expires_at). Taking or renewing it is a
//! single `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, which both
//! backends execute atomically under the row's lock: the update only happens
//! if the lease is ours or has expired, so a process that died without
//! releasing loses the mailbox after its TTL.

use std::time::Duration;

use super::ingest::{advance_checkpoint, origin_cols, origin_name};
use super::query::{now, q};
use super::{Checkpoint, Origin, Store, StoreError};

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
        tx.commit().await
    }

    /// Takes the mailbox's lease for `holder`, or renews it; `false` if another
    /// holder has an unexpired lease.
    pub async fn try_lease(
        &self,
        mailbox: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().write().await?;
        let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2);
        // NOTE: on PostgreSQL the database's clock decides expiry, so machines
        // with skewed clocks still agree; SQLite is one machine anyway.
        let sql = if tx.is_pg() {
            "INSERT INTO leases (mailbox, holder, expires_at) \
             VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1000000)) \
             ON CONFLICT (mailbox) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < now() \
             RETURNING holder"
        } else {
            "INSERT INTO leases (mailbox, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (mailbox) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4 \
             RETURNING holder"
        };
        let at = now();
        let mut query = q(sql).bind(mailbox).bind(holder);
        if tx.is_pg() {
            query = query.bind(ttl_us);
        } else {
            query = query
                .bind(at + chrono::Duration::microseconds(ttl_us))
                .bind(at);
        }
        let got = tx.fetch_optional(query).await?.is_some();
        tx.commit().await?;
        Ok(got)
    }

    /// Gives the lease up (on shutdown) so another process can take it at once.
    pub async fn release_lease(&self, mailbox: &str, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(
            q("DELETE FROM leases WHERE mailbox = $1 AND holder = $2")
                .bind(mailbox)
                .bind(holder),
        )
        .await?;
        tx.commit().await
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
        let at = now();
        let (mailbox, uidvalidity, uid, path) = origin_cols(origin);
        let mut tx = self.pool().write().await?;
        tx.execute(
            q("INSERT INTO processed_messages (origin, mailbox, uidvalidity, uid, path, message_id, \
               size, outcome, reason, at, action_pending) \
               VALUES ($1, $2, $3, $4, $5, $6, 0, 'skipped', $7, $8, $9) \
               ON CONFLICT DO NOTHING")
            .bind(origin_name(origin))
            .bind(mailbox)
            .bind(uidvalidity)
            .bind(uid)
            .bind(path)
            .bind(message_id)
            .bind(reason)
            .bind(at)
            .bind(matches!(origin, Origin::Imap { .. })),
        )
        .await?;
        advance_checkpoint(&mut tx, origin, at).await?;
        tx.commit().await
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
