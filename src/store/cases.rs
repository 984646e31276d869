//! Cases: stage changes (checked against the event history), the review
//! queue, and read access for the CLI, the daemon and notify.

use chrono::{DateTime, Duration, Utc};

use super::query::{list_json, now, q, Row, Tx};
use super::types::{directorate_str, parse_directorate, parse_language};
use super::{
    redact_doc, Advanced, Case, CaseEvent, CaseFilter, Cause, OutboxKind, Stage, Store, StoreError,
};

pub(crate) const CASE_COLS: &str = "id, travel_document, name, nationality, directorate, \
     contacts, language, stage, review_from, next_due, created_at, updated_at";

/// How long after applying the card is expected (issue text: about two weeks).
const CARD_AFTER_APPLYING: i64 = 14;
/// When to retry after "NID not generated yet" (one to two weeks).
const NID_RETRY_AFTER: i64 = 7;

/// A case and the stage it was in before `needs_review`.
pub(crate) struct Loaded {
    pub(crate) case: Case,
    pub(crate) review_from: Option<Stage>,
}

pub(crate) fn case_from_row(r: &Row) -> Result<Loaded, StoreError> {
    let directorate: Option<String> = r.get("directorate")?;
    let language: Option<String> = r.get("language")?;
    Ok(Loaded {
        case: Case {
            id: r.get("id")?,
            travel_document: r.get("travel_document")?,
            name: r.get("name")?,
            nationality: r.get("nationality")?,
            directorate: directorate
                .map(|d| parse_directorate(&d).map_err(StoreError::Corrupt))
                .transpose()?,
            contacts: r.get_list("contacts")?,
            language: language.as_deref().and_then(parse_language),
            stage: r.get_enum("stage")?,
            next_due: r.get("next_due")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        },
        review_from: r.get_opt_enum("review_from")?,
    })
}

/// Loads a case by id, locking it (PostgreSQL) for the rest of the transaction.
pub(crate) async fn load_by_id(tx: &mut Tx, id: i64) -> Result<Option<Loaded>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases WHERE id = $1{}",
        tx.for_update()
    );
    tx.fetch_optional(q(sql).bind(id))
        .await?
        .map(|r| case_from_row(&r))
        .transpose()
}

pub(crate) async fn load_by_doc(tx: &mut Tx, doc: &str) -> Result<Option<Loaded>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases WHERE travel_document = $1{}",
        tx.for_update()
    );
    tx.fetch_optional(q(sql).bind(doc))
        .await?
        .map(|r| case_from_row(&r))
        .transpose()
}

/// Appends one event to a case's history.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_event(
    tx: &mut Tx,
    case_id: i64,
    at: DateTime<Utc>,
    from: Option<Stage>,
    to: Stage,
    cause: Cause,
    detail: Option<&str>,
    message: Option<i64>,
) -> Result<(), StoreError> {
    tx.execute(
        q(
            "INSERT INTO case_events (case_id, at, from_stage, to_stage, cause, detail, message) \
           VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(case_id)
        .bind(at)
        .bind(from.map(|s| s.as_str()))
        .bind(to.as_str())
        .bind(cause.as_str())
        .bind(detail)
        .bind(message),
    )
    .await?;
    Ok(())
}

/// A new outbox row's threading and recipient hints.
pub(crate) struct NewOutbox {
    pub(crate) case_id: i64,
    pub(crate) kind: OutboxKind,
    pub(crate) in_reply_to: Option<String>,
    pub(crate) references: Vec<String>,
    pub(crate) forwarded_by: Option<String>,
    pub(crate) forwarder_is_staff: bool,
    pub(crate) original_to: Option<String>,
    /// Written as `held` (a person must release it) rather than `pending`.
    pub(crate) held: bool,
    /// The processed message it answers (its waybills are the email's).
    pub(crate) source_message: Option<i64>,
    pub(crate) forwarder_verified: bool,
    pub(crate) original_verified: bool,
}

/// A Message-ID generated once per outbox row, so a retried send is the same message.
///
/// NOTE: it starts with the time in milliseconds, so new rows go to the end of the
/// outbox's unique index instead of a random page of it: a backlog commit then
/// rewrites a few pages of that index, not most of them. The random part keeps
/// it unique across processes.
pub(crate) fn new_message_id() -> String {
    let ms = chrono::Utc::now().timestamp_millis().max(0);
    format!(
        "leje-{ms:012x}{:020x}@{MINTED_DOMAIN}",
        fastrand::u128(..) >> 48
    )
}

/// The domain of every Message-ID the store mints. The store does not know the
/// sender's address; the notifier gives each such ID `smtp.from`'s domain as the
/// email leaves ([`crate::notify::message::build`]), threading included.
// NOTE: not `leje.invalid`, the domain IDs were minted and sent under before:
// those keep it, so a follow-up to an email sent then still names the ID that
// email went out with.
pub(crate) const MINTED_DOMAIN: &str = "sender.leje.invalid";

pub(crate) async fn insert_outbox(
    tx: &mut Tx,
    o: NewOutbox,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let row = tx
        .fetch_one(
            q("INSERT INTO outbox (case_id, kind, message_id, in_reply_to, refs, forwarded_by, \
               forwarder_is_staff, original_to, status, attempts, next_attempt_at, created_at, sent_to, \
               source_message, forwarder_verified, original_verified) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, 0, $9, $9, '[]', $11, $12, $13) RETURNING id")
            .bind(o.case_id)
            .bind(o.kind.as_str())
            .bind(new_message_id())
            .bind(o.in_reply_to)
            .bind(list_json(&o.references))
            .bind(o.forwarded_by)
            .bind(o.forwarder_is_staff)
            .bind(o.original_to)
            .bind(at)
            .bind(if o.held { "held" } else { "pending" })
            .bind(o.source_message)
            .bind(o.forwarder_verified)
            .bind(o.original_verified),
        )
        .await?;
    row.get("id")
}

/// Enqueues a follow-up (CardReady, NidPending) threaded under the case's
/// latest Instructions email (a renewed case has one per cycle) and addressed
/// like it.
pub(crate) async fn enqueue_followup(
    tx: &mut Tx,
    case_id: i64,
    kind: OutboxKind,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let first = tx
        .fetch_optional(
            q(
                "SELECT message_id, refs, forwarded_by, forwarder_is_staff, original_to, status, \
               forwarder_verified, original_verified, released_by FROM outbox \
               WHERE case_id = $1 AND kind = 'instructions' ORDER BY id DESC LIMIT 1",
            )
            .bind(case_id),
        )
        .await?;
    let o = followup_outbox(case_id, kind, first.as_ref())?;
    insert_outbox(tx, o, at).await
}

/// A follow-up's outbox row threaded under `first`, the case's latest
/// Instructions email (its `message_id`, `refs`, `forwarded_by`,
/// `forwarder_is_staff`, `original_to`, `status`, `forwarder_verified`,
/// `original_verified` and `released_by`), and addressed like it.
pub(crate) fn followup_outbox(
    case_id: i64,
    kind: OutboxKind,
    first: Option<&Row>,
) -> Result<NewOutbox, StoreError> {
    Ok(match first {
        Some(r) => {
            let mid: String = r.get("message_id")?;
            let mut references = r.get_list("refs")?;
            references.push(mid.clone());
            // NOTE: a person who released the instructions vouched for their addresses;
            // the case's later emails go to the same addresses without asking again.
            let released = r.get::<Option<String>>("released_by")?.is_some();
            NewOutbox {
                case_id,
                kind,
                in_reply_to: Some(mid),
                references,
                forwarded_by: r.get("forwarded_by")?,
                forwarder_is_staff: r.get("forwarder_is_staff")?,
                original_to: r.get("original_to")?,
                // NOTE: while the instructions wait for a person, so does this.
                held: r.get::<String>("status")? == "held",
                source_message: None,
                forwarder_verified: released || r.get::<bool>("forwarder_verified")?,
                original_verified: released || r.get::<bool>("original_verified")?,
            }
        }
        None => NewOutbox {
            case_id,
            kind,
            in_reply_to: None,
            references: Vec::new(),
            forwarded_by: None,
            forwarder_is_staff: false,
            original_to: None,
            held: false,
            source_message: None,
            forwarder_verified: false,
            original_verified: false,
        },
    })
}

/// Moves a loaded case to `to` inside `tx`: checks the stage against the last
/// event and the allowed transitions, records the event, enqueues follow-ups.
pub(crate) async fn transition(
    tx: &mut Tx,
    l: &Loaded,
    to: Stage,
    cause: Cause,
    detail: Option<&str>,
    message: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let case = &l.case;
    check_history(tx, case).await?;
    let allowed = case.stage.allowed_next(l.review_from);
    if !allowed.contains(&to) {
        return Err(StoreError::InvalidTransition {
            from: case.stage,
            to,
            allowed,
        });
    }
    let review_from = (to == Stage::NeedsReview).then_some(case.stage);
    let next_due = match to {
        Stage::Applied => Some(at + Duration::days(CARD_AFTER_APPLYING)),
        Stage::NidPending => Some(at + Duration::days(NID_RETRY_AFTER)),
        Stage::NeedsReview => case.next_due,
        _ => None,
    };
    tx.execute(
        q("UPDATE cases SET stage = $1, review_from = $2, next_due = $3, updated_at = $4 WHERE id = $5")
            .bind(to.as_str())
            .bind(review_from.map(|s| s.as_str()))
            .bind(next_due)
            .bind(at)
            .bind(case.id),
    )
    .await?;
    insert_event(
        tx,
        case.id,
        at,
        Some(case.stage),
        to,
        cause,
        detail,
        message,
    )
    .await?;
    let mut ids = Vec::new();
    let kind = match to {
        Stage::CardReady => Some(OutboxKind::CardReady),
        Stage::NidPending => Some(OutboxKind::NidPending),
        _ => None,
    };
    if let Some(kind) = kind {
        ids.push(enqueue_followup(tx, case.id, kind, at).await?);
    }
    Ok(ids)
}

/// The case's stage must equal the `to_stage` of its last event.
async fn check_history(tx: &mut Tx, case: &Case) -> Result<(), StoreError> {
    let last = tx
        .fetch_optional(
            q("SELECT to_stage FROM case_events WHERE case_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(case.id),
        )
        .await?;
    let last: Option<String> = last.map(|r| r.get("to_stage")).transpose()?;
    match last {
        Some(s) if s == case.stage.as_str() => Ok(()),
        other => Err(StoreError::Inconsistent {
            case_id: case.id,
            stage: case.stage,
            last_event: other.unwrap_or_else(|| "no event".into()),
        }),
    }
}

impl Store {
    /// The case with this id.
    pub async fn case_by_id(&self, id: i64) -> Result<Option<Case>, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = $1");
        let r = tx.fetch_optional(q(sql).bind(id)).await?;
        r.map(|r| case_from_row(&r).map(|l| l.case)).transpose()
    }

    /// The case with this travel document (normalised: upper-case, no spaces).
    pub async fn case_by_document(&self, doc: &str) -> Result<Option<Case>, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE travel_document = $1");
        let r = tx.fetch_optional(q(sql).bind(normalise_doc(doc))).await?;
        r.map(|r| case_from_row(&r).map(|l| l.case)).transpose()
    }

    /// Cases, oldest first, optionally filtered by stage and directorate.
    pub async fn cases(&self, filter: CaseFilter) -> Result<Vec<Case>, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = format!(
            "SELECT {CASE_COLS} FROM cases WHERE ($1 IS NULL OR stage = $1) \
             AND ($2 IS NULL OR directorate = $2) ORDER BY id"
        );
        let rows = tx
            .fetch_all(
                q(sql)
                    .bind(filter.stage.map(|s| s.as_str()))
                    .bind(filter.directorate.map(directorate_str)),
            )
            .await?;
        rows.iter()
            .map(|r| case_from_row(r).map(|l| l.case))
            .collect()
    }

    /// A case's history, oldest first.
    pub async fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(
                    "SELECT id, case_id, at, from_stage, to_stage, cause, detail FROM case_events \
                   WHERE case_id = $1 ORDER BY id",
                )
                .bind(case_id),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(CaseEvent {
                    id: r.get("id")?,
                    case_id: r.get("case_id")?,
                    at: r.get("at")?,
                    from_stage: r.get_opt_enum("from_stage")?,
                    to_stage: r.get_enum("to_stage")?,
                    cause: r.get_enum("cause")?,
                    detail: r.get("detail")?,
                })
            })
            .collect()
    }

    /// Moves the case with this travel document to `to` (CLI `cases advance`).
    /// Moving to card_ready / nid_pending enqueues the matching email in the same transaction.
    pub async fn advance(
        &self,
        doc: &str,
        to: Stage,
        cause: Cause,
        note: Option<&str>,
    ) -> Result<Advanced, StoreError> {
        let doc = normalise_doc(doc);
        let mut tx = self.pool().write().await?;
        let l = load_by_doc(&mut tx, &doc)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case `{}`", redact_doc(&doc))))?;
        self.advance_loaded(tx, l, to, cause, note).await
    }

    /// Moves the case with this id to `to` (daemon reminders, notify).
    pub async fn advance_by_id(
        &self,
        case_id: i64,
        to: Stage,
        cause: Cause,
        note: Option<&str>,
    ) -> Result<Advanced, StoreError> {
        let mut tx = self.pool().write().await?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        self.advance_loaded(tx, l, to, cause, note).await
    }

    async fn advance_loaded(
        &self,
        mut tx: Tx,
        l: Loaded,
        to: Stage,
        cause: Cause,
        note: Option<&str>,
    ) -> Result<Advanced, StoreError> {
        let at = now();
        let outbox_ids = transition(&mut tx, &l, to, cause, note, None, at).await?;
        tx.commit().await?;
        tracing::info!(
            case = l.case.id,
            doc = %redact_doc(&l.case.travel_document),
            from = %l.case.stage,
            to = %to,
            cause = %cause,
            "case stage changed"
        );
        Ok(Advanced {
            case_id: l.case.id,
            from: l.case.stage,
            to,
            outbox_ids,
        })
    }
}

/// Travel documents are keyed upper-case without whitespace (as the parser gives them).
pub fn normalise_doc(doc: &str) -> String {
    doc.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}
