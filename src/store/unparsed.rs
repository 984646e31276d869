//! Messages without a parse result: given up on (over their time or memory
//! budget, `[limits]`, or the parser crashed: `failed`) or never parsed (over
//! the size limit: `skipped`). Recorded with the reason, so the message is moved
//! aside by its action, listed by `leje messages list`, and never read again.

use super::cluster::{check_fence, Fence};
use super::ingest::{advance_checkpoint, origin_cols, origin_name};
use super::query::{now, q};
use super::{Origin, Outcome, Store, StoreError};

impl Store {
    /// Records a message that has no parse result with `outcome` (`failed`:
    /// over its budget or the parser crashed; `skipped`: over the size limit)
    /// and `reason`, and advances the checkpoint. `raw_sha256` keeps a re-import
    /// of the same file a no-op.
    pub async fn record_unparsed(
        &self,
        origin: &Origin<'_>,
        message_id: Option<&str>,
        raw_sha256: Option<&str>,
        size: u64,
        outcome: Outcome,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.record_unparsed_fenced(origin, message_id, raw_sha256, size, outcome, reason, None)
            .await
    }

    /// [`Store::record_unparsed`], committed only while `fence` is the live lease
    /// (the daemon's mailbox workers; `import` has none).
    // NOTE: the same columns as record_unparsed plus the fence; a struct for five
    // of them would only move the list.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_unparsed_fenced(
        &self,
        origin: &Origin<'_>,
        message_id: Option<&str>,
        raw_sha256: Option<&str>,
        size: u64,
        outcome: Outcome,
        reason: &str,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        let at = now();
        let (mailbox, uidvalidity, uid, path) = origin_cols(origin);
        let mut tx = self.pool().write().await?;
        tx.execute(
            q(
                "INSERT INTO processed_messages (origin, mailbox, uidvalidity, uid, path, \
               message_id, raw_sha256, size, outcome, reason, at, action_pending) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
               ON CONFLICT DO NOTHING",
            )
            .bind(origin_name(origin))
            .bind(mailbox)
            .bind(uidvalidity)
            .bind(uid)
            .bind(path)
            .bind(message_id)
            .bind(raw_sha256)
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(outcome.as_str())
            .bind(reason)
            .bind(at)
            .bind(matches!(origin, Origin::Imap { .. })),
        )
        .await?;
        advance_checkpoint(&mut tx, origin, at).await?;
        if let Some(f) = fence {
            check_fence(&mut tx, f).await?;
        }
        tx.commit().await
    }
}
