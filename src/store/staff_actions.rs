//! What a person does to a case, from the console or the CLI, each recorded with
//! its actor (a staff address, or `cli:<unix user>`): stage moves, review
//! decisions, notes, edits of the applicant's details, email retries.
//!
//! Stage moves go through the same transition rules as everything else
//! (`cases::transition`); the actor is stamped on the events the move wrote,
//! in the same transaction, and the case's search terms are rewritten in it too
//! (`views::terms`): a search never shows a case as it was before a person's change.

use chrono::{DateTime, Utc};

use super::cases::{load_by_id, transition};
use super::query::{list_json, q, Tx};
use super::types::language_str;
use super::views::terms::reindex_case_tx;
use super::{redact_doc, Advanced, Cause, Keep, Stage, Store, StoreError};
use crate::parse::Language;

/// A change to an applicant's details (each one is its own timeline entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseEdit {
    Name(Option<String>),
    /// Replaces the list; addresses are lower-cased and de-duplicated.
    Contacts(Vec<String>),
    Language(Option<Language>),
}

/// The longest note kept.
pub const MAX_NOTE: usize = 4000;

async fn max_event_id(tx: &mut Tx, case_id: i64) -> Result<i64, StoreError> {
    let r = tx
        .fetch_one(
            q("SELECT COALESCE(MAX(id), 0) AS m FROM case_events WHERE case_id = $1").bind(case_id),
        )
        .await?;
    r.get("m")
}

async fn stamp_actor(tx: &mut Tx, case_id: i64, after: i64, actor: &str) -> Result<(), StoreError> {
    tx.execute(
        q("UPDATE case_events SET actor = $1 WHERE case_id = $2 AND id > $3 AND actor IS NULL")
            .bind(actor)
            .bind(case_id)
            .bind(after),
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_note(
    tx: &mut Tx,
    case_id: i64,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        q("INSERT INTO case_notes (case_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(case_id)
            .bind(at)
            .bind(actor)
            .bind(kind)
            .bind(detail),
    )
    .await?;
    Ok(())
}

impl Store {
    /// Moves a case to `to` on a person's behalf (the rules of every stage change):
    /// `Cause::Staff` from the console, `Cause::Cli` from `leje cases advance`.
    pub async fn advance_as(
        &self,
        case_id: i64,
        to: Stage,
        cause: Cause,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Advanced, StoreError> {
        let mut tx = self.pool().write().await?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        let before = max_event_id(&mut tx, case_id).await?;
        let outbox_ids = transition(&mut tx, &l, to, cause, note, None, at).await?;
        stamp_actor(&mut tx, case_id, before, actor).await?;
        reindex_case_tx(&mut tx, case_id).await?;
        tx.commit().await?;
        tracing::info!(
            case = case_id,
            doc = %redact_doc(&l.case.travel_document),
            from = %l.case.stage,
            to = %to,
            actor,
            "case stage changed"
        );
        Ok(Advanced {
            case_id,
            from: l.case.stage,
            to,
            outbox_ids,
        })
    }

    /// Resolves a case's review on a person's behalf ([`Store::resolve_review`]).
    // NOTE: resolve_review commits its own transaction; the actor is stamped on the
    // events it wrote right after, in a second one (an event of a concurrent ingest
    // in between would be stamped too only if it had no actor, i.e. never a staff one).
    pub async fn resolve_as(
        &self,
        case_id: i64,
        keep: Keep,
        actor: &str,
        note: Option<&str>,
    ) -> Result<Advanced, StoreError> {
        let doc = {
            let mut tx = self.pool().read().await?;
            let r = tx
                .fetch_optional(q("SELECT travel_document FROM cases WHERE id = $1").bind(case_id))
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
            let d: String = r.get("travel_document")?;
            d
        };
        let before = {
            let mut tx = self.pool().read().await?;
            max_event_id(&mut tx, case_id).await?
        };
        let done = self.resolve_review(&doc, keep, note).await?;
        let mut tx = self.pool().write().await?;
        stamp_actor(&mut tx, case_id, before, actor).await?;
        reindex_case_tx(&mut tx, case_id).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Adds a note to a case's timeline.
    pub async fn add_note(
        &self,
        case_id: i64,
        actor: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let text: String = text.trim().chars().take(MAX_NOTE).collect();
        let mut tx = self.pool().write().await?;
        if load_by_id(&mut tx, case_id).await?.is_none() {
            return Err(StoreError::NotFound(format!("no case with id {case_id}")));
        }
        insert_note(&mut tx, case_id, at, actor, "note", &text).await?;
        tx.commit().await
    }

    /// Changes an applicant's name, addresses or language; returns whether anything changed.
    pub async fn edit_case(
        &self,
        case_id: i64,
        edit: CaseEdit,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().write().await?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        let c = &l.case;
        let (sql, value, detail) = match edit {
            CaseEdit::Name(n) => {
                let n = n.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
                if n == c.name {
                    return Ok(false);
                }
                let d = format!(
                    "name: {} → {}",
                    c.name.as_deref().unwrap_or("—"),
                    n.as_deref().unwrap_or("—")
                );
                (
                    "UPDATE cases SET name = $1, updated_at = $2 WHERE id = $3",
                    n,
                    d,
                )
            }
            CaseEdit::Contacts(v) => {
                let mut v: Vec<String> = v
                    .iter()
                    .map(|a| a.trim().to_lowercase())
                    .filter(|a| !a.is_empty())
                    .collect();
                v.dedup();
                if v == c.contacts {
                    return Ok(false);
                }
                let d = format!("addresses: {} → {}", c.contacts.join(", "), v.join(", "));
                (
                    "UPDATE cases SET contacts = $1, updated_at = $2 WHERE id = $3",
                    Some(list_json(&v)),
                    d,
                )
            }
            CaseEdit::Language(lang) => {
                if lang == c.language {
                    return Ok(false);
                }
                let s = |l: Option<Language>| l.map(language_str).unwrap_or("—");
                let d = format!("language: {} → {}", s(c.language), s(lang));
                (
                    "UPDATE cases SET language = $1, updated_at = $2 WHERE id = $3",
                    lang.map(|l| language_str(l).to_owned()),
                    d,
                )
            }
        };
        tx.execute(q(sql).bind(value).bind(at).bind(case_id))
            .await?;
        insert_note(&mut tx, case_id, at, actor, "edit", &detail).await?;
        reindex_case_tx(&mut tx, case_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts an unsent email back in the queue, due now ([`Store::outbox_requeue`]),
    /// and records who did it on the case.
    pub async fn outbox_retry_as(
        &self,
        id: i64,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let case_id: i64 = {
            let mut tx = self.pool().read().await?;
            tx.fetch_optional(q("SELECT case_id FROM outbox WHERE id = $1").bind(id))
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no outbox row {id}")))?
                .get("case_id")?
        };
        self.outbox_requeue(id).await?;
        let mut tx = self.pool().write().await?;
        insert_note(
            &mut tx,
            case_id,
            at,
            actor,
            "retry",
            &format!("email #{id} queued again"),
        )
        .await?;
        tx.commit().await
    }
}
