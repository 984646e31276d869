//! After-processing actions: move to a folder, flag \Seen or a keyword, or leave alone.
//!
//! Actions run after the store has committed, so a failed action never loses a
//! message: it stays where it is, already recorded, and is not processed again
//! (its UID is at or below the checkpoint).

use futures::StreamExt;

use super::error::ImapError;
use super::session::{op, quote, uid_sets, Session, MAX_SET_LEN};
use crate::config::Action;

impl Session {
    /// Creates `folder` (configured name, `/`-separated) unless it exists. Idempotent.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        let name = self.server_folder(folder);
        let quoted = quote(&name);
        let exists = op("LIST", async {
            let s = self.raw.list(Some(""), Some(&quoted)).await?;
            let names: Vec<_> = s.collect().await;
            Ok(names.into_iter().any(|n| n.is_ok()))
        })
        .await?;
        if exists {
            return Ok(());
        }
        match op("CREATE", self.raw.create(&name)).await {
            Ok(()) => {
                tracing::info!(folder = %name, "created folder");
                Ok(())
            }
            // Another process may have created it in between ("[ALREADYEXISTS]").
            Err(ImapError::Command { reason, .. })
                if reason.to_ascii_uppercase().contains("ALREADYEXISTS")
                    || reason.to_ascii_lowercase().contains("already exists") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Applies `action` to `uids` (sorted) in the selected folder.
    pub async fn apply(&mut self, action: &Action, uids: &[u32]) -> Result<(), ImapError> {
        for set in uid_sets(uids, MAX_SET_LEN) {
            self.apply_set(action, &set).await?;
        }
        Ok(())
    }

    /// Applies `action` to one UID set.
    async fn apply_set(&mut self, action: &Action, set: &str) -> Result<(), ImapError> {
        match action {
            Action::Leave => Ok(()),
            Action::Seen => self.add_flags(set, "\\Seen").await,
            Action::Keyword(k) => self.add_flags(set, k).await,
            Action::Move(folder) => {
                let target = self.server_folder(folder);
                if self.caps.r#move {
                    op("UID MOVE", self.raw.uid_mv(set, &target)).await
                } else {
                    op("UID COPY", self.raw.uid_copy(set, &target)).await?;
                    self.add_flags(set, "\\Deleted").await?;
                    if self.caps.uidplus {
                        op("UID EXPUNGE", async {
                            let s = self.raw.uid_expunge(set).await?;
                            let v: Vec<_> = s.collect().await;
                            v.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ())
                        })
                        .await
                    } else {
                        // NOTE: without UIDPLUS a plain EXPUNGE also removes messages
                        // someone else marked \Deleted in this folder; that is what
                        // every client without UIDPLUS does.
                        op("EXPUNGE", async {
                            let s = self.raw.expunge().await?;
                            let v: Vec<_> = s.collect().await;
                            v.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ())
                        })
                        .await
                    }
                }
            }
        }
    }

    async fn add_flags(&mut self, set: &str, flag: &str) -> Result<(), ImapError> {
        let query = format!("+FLAGS.SILENT ({flag})");
        op("UID STORE", async {
            let s = self.raw.uid_store(set, &query).await?;
            let v: Vec<_> = s.collect().await;
            v.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ())
        })
        .await
    }
}

/// The folders an [`crate::config::Actions`] set moves messages to, deduplicated.
pub fn move_targets(actions: &crate::config::Actions) -> Vec<String> {
    let mut v: Vec<String> = [
        &actions.processed,
        &actions.ignored,
        &actions.review,
        &actions.failed,
        &actions.oversize,
    ]
    .into_iter()
    .filter_map(|a| match a {
        Action::Move(f) => Some(f.clone()),
        _ => None,
    })
    .collect();
    v.sort();
    v.dedup();
    v
}
