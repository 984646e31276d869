//! After-processing actions that survive a crash.
//!
//! Every message from IMAP is recorded with `action_pending` set, in the same
//! transaction as its effects. The daemon clears it once the message has been
//! moved or flagged on the server (or the action failed for good). A daemon that
//! crashed in between finds the flag on restart and applies the action then,
//! so a processed message never stays in the watched folder by accident.

use super::query::q;
use super::{Outcome, Store, StoreError};

/// UIDs per statement when clearing flags (well under every bind limit).
const CHUNK: usize = 500;

impl Store {
    /// Messages of this folder (mailbox name and UIDVALIDITY) whose action has
    /// not been applied yet, with the outcome that chooses the action, in UID order.
    pub async fn pending_actions(
        &self,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<Vec<(u32, Outcome)>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(
                    "SELECT uid, outcome FROM processed_messages WHERE action_pending \
                   AND origin = 'imap' AND mailbox = $1 AND uidvalidity = $2 ORDER BY uid",
                )
                .bind(mailbox)
                .bind(uidvalidity),
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.get_u32("uid")?, r.get_enum("outcome")?)))
            .collect()
    }

    /// The actions of these UIDs are done (applied, or given up on and logged).
    pub async fn actions_done(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), StoreError> {
        if uids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().write().await?;
        for chunk in uids.chunks(CHUNK) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let mut stmt = q(format!(
                "UPDATE processed_messages SET action_pending = FALSE WHERE action_pending \
                 AND origin = 'imap' AND mailbox = $1 AND uidvalidity = $2 AND uid IN ({list})"
            ))
            .bind(mailbox)
            .bind(uidvalidity);
            for &u in chunk {
                stmt = stmt.bind(u);
            }
            tx.execute(stmt).await?;
        }
        tx.commit().await
    }

    /// Forgets pending actions of this mailbox under any other UIDVALIDITY: the
    /// folder was recreated and those UIDs now name other messages (or none).
    /// Returns how many were dropped.
    pub async fn drop_stale_actions(
        &self,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q(
                    "UPDATE processed_messages SET action_pending = FALSE WHERE action_pending \
                   AND origin = 'imap' AND mailbox = $1 AND uidvalidity <> $2",
                )
                .bind(mailbox)
                .bind(uidvalidity),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
