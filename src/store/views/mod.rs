//! What the console's pages read, kept apart from the ledger that ingest writes.
//!
//! Every query here is bounded (a page of rows) and served by an index of
//! schema 9 (schemas 14 and 15 for the search terms: `search_page`, `terms`): no page
//! reads a whole table. Rows are plain, serialisable
//! structs with strings where a status may grow new values (the outbox's `held`).

pub mod case_list;
#[cfg(test)]
mod plan_tests;
pub mod search;
mod search_page;
pub mod terms;

pub use case_list::{CaseQuery, CaseSort, ACTIVE_STAGES};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::cases::{case_from_row, CASE_COLS};
use super::query::{q, Row};
use super::types::directorate_str;
use super::{Case, Stage, Store, StoreError};

/// One line of a case's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `stage`, `note`, `edit`, `retry`, `email`, `message`.
    pub kind: String,
    /// Who did it (a staff address, `cli:…`), or the system component.
    pub actor: Option<String>,
    pub text: String,
    pub detail: Option<String>,
}

/// An outbox row as the console lists it (status as text: new statuses show as they are).
#[derive(Debug, Clone, Serialize)]
pub struct OutboxLine {
    pub id: i64,
    pub case_id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub sent_to: Vec<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub forwarded_by: Option<String>,
    pub forwarder_is_staff: bool,
    pub original_to: Option<String>,
    /// The trust verdict the row was written with, and who released it (held mail).
    pub forwarder_verified: bool,
    pub original_verified: bool,
    pub released_by: Option<String>,
}

fn outbox_line(r: &Row) -> Result<OutboxLine, StoreError> {
    Ok(OutboxLine {
        id: r.get("id")?,
        case_id: r.get("case_id")?,
        kind: r.get("kind")?,
        status: r.get("status")?,
        attempts: r.get("attempts")?,
        last_error: r.get("last_error")?,
        created_at: r.get("created_at")?,
        sent_at: r.get("sent_at")?,
        sent_to: r.get_list("sent_to")?,
        next_attempt_at: r.get("next_attempt_at")?,
        forwarded_by: r.get("forwarded_by")?,
        forwarder_is_staff: r.get("forwarder_is_staff")?,
        original_to: r.get("original_to")?,
        forwarder_verified: r.get("forwarder_verified")?,
        original_verified: r.get("original_verified")?,
        released_by: r.get("released_by")?,
    })
}

const OUTBOX_LINE_COLS: &str = "id, case_id, kind, status, attempts, last_error, created_at, \
     sent_at, sent_to, next_attempt_at, forwarded_by, forwarder_is_staff, original_to, \
     forwarder_verified, original_verified, released_by";

/// A processed message as the console lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageLine {
    pub id: i64,
    pub origin: String,
    pub mailbox: Option<String>,
    pub uid: Option<i64>,
    pub path: Option<String>,
    pub message_id: Option<String>,
    pub size: i64,
    pub kind: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub case_id: Option<i64>,
    pub at: DateTime<Utc>,
}

fn message_line(r: &Row) -> Result<MessageLine, StoreError> {
    Ok(MessageLine {
        id: r.get("id")?,
        origin: r.get("origin")?,
        mailbox: r.get("mailbox")?,
        uid: r.get("uid")?,
        path: r.get("path")?,
        message_id: r.get("message_id")?,
        size: r.get("size")?,
        kind: r.get("kind")?,
        outcome: r.get("outcome")?,
        reason: r.get("reason")?,
        case_id: r.get("case_id")?,
        at: r.get("at")?,
    })
}

const MESSAGE_LINE_COLS: &str =
    "id, origin, mailbox, uid, path, message_id, size, kind, outcome, reason, case_id, at";

/// Outcomes with a partial index (the rare ones staff look for).
const INDEXED_OUTCOMES: [&str; 4] = ["ignored", "failed", "skipped", "needs_review"];

/// A mailbox's position in the store.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxMark {
    pub mailbox: String,
    pub last_uid: i64,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Cases per stage (index-only).
    pub async fn view_stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(
                "SELECT stage, COUNT(*) AS n FROM cases GROUP BY stage ORDER BY stage",
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.get("stage")?, r.get("n")?)))
            .collect()
    }

    /// Distinct nationalities (for the filter), at most 300.
    pub async fn view_nationalities(&self) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(
                "SELECT DISTINCT nationality FROM cases WHERE nationality IS NOT NULL \
                 ORDER BY nationality LIMIT 300",
            ))
            .await?;
        rows.iter().map(|r| r.get("nationality")).collect()
    }

    /// Everything that happened to a case, newest first: stage changes, notes and
    /// edits, emails, messages received.
    pub async fn view_timeline(&self, case_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut tx = self.pool().read().await?;
        let emails = self.view_case_outbox_tx(&mut tx, case_id).await?;
        let msgs = self.view_case_messages_tx(&mut tx, case_id).await?;
        timeline_tx(&mut tx, case_id, &emails, &msgs).await
    }

    /// Everything the case page shows but its waybills and conflicts, in one
    /// snapshot (one transaction: on PostgreSQL a round trip per query, not three).
    pub async fn view_case_page(&self, case_id: i64) -> Result<Option<CaseView>, StoreError> {
        let mut tx = self.pool().read().await?;
        let Some(r) = tx
            .fetch_optional(q(format!("SELECT {CASE_COLS} FROM cases WHERE id = $1")).bind(case_id))
            .await?
        else {
            return Ok(None);
        };
        let l = case_from_row(&r)?;
        let emails = self.view_case_outbox_tx(&mut tx, case_id).await?;
        let messages = self.view_case_messages_tx(&mut tx, case_id).await?;
        let timeline = timeline_tx(&mut tx, case_id, &emails, &messages).await?;
        Ok(Some(CaseView {
            case: l.case,
            review_from: l.review_from,
            timeline,
            emails,
            messages,
        }))
    }
}

/// What [`Store::view_case_page`] reads.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: Case,
    /// The stage a case in review returns to.
    pub review_from: Option<Stage>,
    pub timeline: Vec<TimelineEntry>,
    pub emails: Vec<OutboxLine>,
    pub messages: Vec<MessageLine>,
}

async fn timeline_tx(
    tx: &mut super::query::Tx,
    case_id: i64,
    emails: &[OutboxLine],
    msgs: &[MessageLine],
) -> Result<Vec<TimelineEntry>, StoreError> {
    {
        let mut out = Vec::new();
        for r in tx
            .fetch_all(
                q(
                    "SELECT at, from_stage, to_stage, cause, detail, actor FROM case_events \
                   WHERE case_id = $1 ORDER BY id DESC LIMIT 500",
                )
                .bind(case_id),
            )
            .await?
        {
            let from: Option<String> = r.get("from_stage")?;
            let to: String = r.get("to_stage")?;
            let cause: String = r.get("cause")?;
            let actor: Option<String> = r.get("actor")?;
            out.push(TimelineEntry {
                at: r.get("at")?,
                kind: "stage".into(),
                actor: actor.or(Some(cause)),
                text: match from {
                    Some(f) => format!("{f} → {to}"),
                    None => format!("→ {to}"),
                },
                detail: r.get("detail")?,
            });
        }
        for r in tx
            .fetch_all(
                q(
                    "SELECT at, actor, kind, detail FROM case_notes WHERE case_id = $1 \
                   ORDER BY id DESC LIMIT 500",
                )
                .bind(case_id),
            )
            .await?
        {
            out.push(TimelineEntry {
                at: r.get("at")?,
                kind: r.get("kind")?,
                actor: r.get("actor")?,
                text: r.get("detail")?,
                detail: None,
            });
        }
        for o in emails {
            out.push(TimelineEntry {
                at: o.created_at,
                kind: "email".into(),
                actor: Some("outbox".into()),
                text: format!("{} #{}: queued", o.kind, o.id),
                detail: None,
            });
            if let Some(s) = o.sent_at {
                out.push(TimelineEntry {
                    at: s,
                    kind: "email".into(),
                    actor: Some("outbox".into()),
                    text: format!("{} #{}: sent to {}", o.kind, o.id, o.sent_to.join(", ")),
                    detail: None,
                });
            } else if o.status != "pending" {
                out.push(TimelineEntry {
                    at: o.next_attempt_at,
                    kind: "email".into(),
                    actor: Some("outbox".into()),
                    text: format!("{} #{}: {}", o.kind, o.id, o.status),
                    detail: o.last_error.clone(),
                });
            }
        }
        for m in msgs {
            out.push(TimelineEntry {
                at: m.at,
                kind: "message".into(),
                actor: m.mailbox.clone(),
                text: format!("message #{} received: {}", m.id, m.outcome),
                detail: m.reason.clone(),
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.at));
        Ok(out)
    }
}

impl Store {
    async fn view_case_outbox_tx(
        &self,
        tx: &mut super::query::Tx,
        case_id: i64,
    ) -> Result<Vec<OutboxLine>, StoreError> {
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {OUTBOX_LINE_COLS} FROM outbox WHERE case_id = $1 ORDER BY id DESC LIMIT 200"
                ))
                .bind(case_id),
            )
            .await?;
        rows.iter().map(outbox_line).collect()
    }

    async fn view_case_messages_tx(
        &self,
        tx: &mut super::query::Tx,
        case_id: i64,
    ) -> Result<Vec<MessageLine>, StoreError> {
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {MESSAGE_LINE_COLS} FROM processed_messages WHERE case_id = $1 \
                     ORDER BY id DESC LIMIT 200"
                ))
                .bind(case_id),
            )
            .await?;
        rows.iter().map(message_line).collect()
    }

    /// A case's emails, newest first.
    pub async fn view_case_outbox(&self, case_id: i64) -> Result<Vec<OutboxLine>, StoreError> {
        let mut tx = self.pool().read().await?;
        self.view_case_outbox_tx(&mut tx, case_id).await
    }

    /// The messages that named a case, newest first.
    pub async fn view_case_messages(&self, case_id: i64) -> Result<Vec<MessageLine>, StoreError> {
        let mut tx = self.pool().read().await?;
        self.view_case_messages_tx(&mut tx, case_id).await
    }

    /// A page of outbox rows, newest first, optionally of one status.
    pub async fn view_outbox(
        &self,
        status: Option<&str>,
        before_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<OutboxLine>, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = match status {
            Some(_) => format!(
                "SELECT {OUTBOX_LINE_COLS} FROM outbox WHERE status = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
            None => format!(
                "SELECT {OUTBOX_LINE_COLS} FROM outbox WHERE $1 = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
        };
        let rows = tx
            .fetch_all(
                q(sql)
                    .bind(status.unwrap_or(""))
                    .bind(before_id.unwrap_or(i64::MAX))
                    .bind(limit as i64),
            )
            .await?;
        rows.iter().map(outbox_line).collect()
    }

    /// One outbox row (status as text).
    pub async fn view_outbox_row(&self, id: i64) -> Result<Option<OutboxLine>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q(format!(
                    "SELECT {OUTBOX_LINE_COLS} FROM outbox WHERE id = $1"
                ))
                .bind(id),
            )
            .await?;
        r.as_ref().map(outbox_line).transpose()
    }

    /// A page of processed messages, newest first, optionally of one outcome.
    pub async fn view_messages(
        &self,
        outcome: Option<&str>,
        before_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<MessageLine>, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = match outcome {
            // NOTE: the partial index only serves its own outcomes; the common ones
            // (case_created, duplicate …) are found quickly walking the primary key.
            Some(o) if INDEXED_OUTCOMES.contains(&o) => format!(
                "SELECT {MESSAGE_LINE_COLS} FROM processed_messages WHERE outcome = $1 \
                 AND outcome IN ('ignored', 'failed', 'skipped', 'needs_review') AND id < $2 \
                 ORDER BY outcome, id DESC LIMIT $3"
            ),
            Some(_) => format!(
                "SELECT {MESSAGE_LINE_COLS} FROM processed_messages WHERE outcome = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
            None => format!(
                "SELECT {MESSAGE_LINE_COLS} FROM processed_messages WHERE $1 = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ),
        };
        let rows = tx
            .fetch_all(
                q(sql)
                    .bind(outcome.unwrap_or(""))
                    .bind(before_id.unwrap_or(i64::MAX))
                    .bind(limit as i64),
            )
            .await?;
        rows.iter().map(message_line).collect()
    }

    /// The mailboxes' checkpoints: last UID processed and when.
    pub async fn view_mailbox_marks(&self) -> Result<Vec<MailboxMark>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(
                "SELECT mailbox, last_uid, updated_at FROM checkpoints ORDER BY mailbox LIMIT 100",
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MailboxMark {
                    mailbox: r.get("mailbox")?,
                    last_uid: r.get("last_uid")?,
                    updated_at: r.get("updated_at")?,
                })
            })
            .collect()
    }
}

/// `now - days`, for the stalled filter.
pub fn stalled_since(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    now - Duration::days(days)
}

/// A directorate as stored (`tirane`).
pub fn directorate_name(d: crate::parse::Directorate) -> String {
    directorate_str(d)
}
