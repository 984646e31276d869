//! What a complete notification does to its case: an approval creates the
//! case (with its waybills and the instructions email) or updates, renews or
//! flags the existing one; a rejection moves it to `rejected`.
//!
//! A case is one travel document. The same notice arriving again (another
//! forward, another origin) never gets here: its notification hash is already
//! claimed ([`super::ingest`]). What does get here for an existing case is a
//! different notice for the same document: the same approval re-sent or
//! corrected, a renewal, or a conflict a person must look at.

use chrono::{DateTime, Duration, Utc};

use super::cases::{insert_event, insert_outbox, load_by_doc, transition, Loaded, NewOutbox};
use super::ingest::{contacts_of, notice_time, Decision};
use super::query::{list_json, q, Tx};
use super::review::{describe, differences, fill_missing, flag, unverified_fills, Diff};
use super::types::{directorate_str, language_str};
use super::{Case, Cause, Incoming, OutboxKind, Outcome, Stage, StoreError};
use crate::parse::ParsedMessage;

/// How long after the case's latest notice a new approval counts as a renewal
/// (the case starts over and the applicant gets the instructions again) rather
/// than the same approval re-sent. Permits run for a year or more; a notice
/// corrected or re-sent by the office comes within days.
pub(crate) const RENEWAL_AFTER_DAYS: i64 = 180;

/// An approval: create the case, or update / flag the existing one.
///
/// Trust ([`crate::trust`]): an untrusted message's email is held; a notice
/// dated in the future, a renewal from an untrusted message, and new contacts
/// or a missing name from a message that is not from the case's own verified
/// forwarder or verified staff go to review.
pub(super) async fn approved(
    tx: &mut Tx,
    msg: &Incoming<'_>,
    doc: &str,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    let p = msg.parsed;
    let contacts = contacts_of(msg);
    let future = future_dated(p, at);
    if let Some(id) = insert_case(tx, p, doc, &contacts, Stage::Approved, at).await? {
        insert_event(
            tx,
            id,
            at,
            None,
            Stage::Approved,
            Cause::Message,
            Some("approval notification received"),
            Some(pm),
        )
        .await?;
        store_waybills(tx, id, p, pm, at).await?;
        let mut o = instructions(id, msg, pm);
        o.held |= future.is_some();
        let ob = insert_outbox(tx, o, at).await?;
        let mut d = Decision::new(Outcome::CaseCreated, None, Some(id));
        if let Some(f) = future {
            let l = load_by_doc(tx, doc)
                .await?
                .ok_or_else(|| StoreError::Corrupt("case vanished during ingest".into()))?;
            let conflicts = vec![f];
            flag(tx, &l, &conflicts, pm, at).await?;
            d = Decision::new(Outcome::NeedsReview, Some(describe(&conflicts)), Some(id));
        }
        d.outbox_ids.push(ob);
        return Ok(d);
    }
    let l = load_by_doc(tx, doc)
        .await?
        .ok_or_else(|| StoreError::Corrupt("case vanished during ingest".into()))?;
    let id = l.case.id;
    let added = store_waybills(tx, id, p, pm, at).await?;
    let mut conflicts = differences(&l.case, p, &contacts);
    if !same_source(tx, &l.case, msg).await? {
        conflicts.extend(unverified_fills(&l.case, p, &contacts));
    }
    conflicts.extend(future);
    // NOTE: a case under review waits for a person, whatever arrives.
    let renewal = match l.case.stage {
        Stage::NeedsReview => None,
        _ => renewal_of(tx, &l.case, p).await?,
    };
    if let Some(r) = renewal {
        if conflicts.is_empty() && msg.trust.trusted {
            return renew(tx, &l, msg, &contacts, pm, r, at).await;
        }
        // A renewal that disagrees with the case (another name, contact or
        // directorate), or that comes from a message that is not trusted: a
        // person decides, and keeping the new values renews it
        // (`Store::resolve_review`).
        let new = format!("the notice of {}", r.notice);
        conflicts.push(("renewal", Some(r.previous), Some(new)));
    } else if l.case.stage == Stage::Rejected {
        conflicts.push(("stage", Some("rejected".into()), Some("approved".into())));
    }
    if conflicts.is_empty() {
        fill_missing(tx, &l.case, p, &contacts, at).await?;
        let detail = format!("approval notification again; {added} new waybill(s)");
        insert_event(
            tx,
            id,
            at,
            Some(l.case.stage),
            l.case.stage,
            Cause::Message,
            Some(&detail),
            Some(pm),
        )
        .await?;
        return Ok(Decision::new(Outcome::CaseUpdated, None, Some(id)));
    }
    flag(tx, &l, &conflicts, pm, at).await?;
    Ok(Decision::new(
        Outcome::NeedsReview,
        Some(describe(&conflicts)),
        Some(id),
    ))
}

/// How far ahead of the store's clock a notice may be dated (clocks differ).
pub(crate) const CLOCK_SKEW_MINUTES: i64 = 10;

/// A conflict for a notice dated after `now` (beyond the clock skew): nobody
/// can have sent it yet, so a person looks at it.
pub(crate) fn future_dated(p: &ParsedMessage, now: DateTime<Utc>) -> Option<Diff> {
    let t = notice_time(p)?;
    (t > now + Duration::minutes(CLOCK_SKEW_MINUTES)).then(|| {
        (
            "notice_date",
            Some(format!("received {}", now.to_rfc3339())),
            Some(format!("dated {}", t.to_rfc3339())),
        )
    })
}

/// Whether `msg` comes from the case's own source: verified staff, or the
/// verified forwarder of one of the case's earlier messages.
async fn same_source(tx: &mut Tx, case: &Case, msg: &Incoming<'_>) -> Result<bool, StoreError> {
    if msg.trust.staff {
        return Ok(true);
    }
    let Some(f) = super::ingest::verified_forwarder(msg) else {
        return Ok(false);
    };
    let r = tx
        .fetch_optional(
            q(
                "SELECT id FROM processed_messages WHERE case_id = $1 AND verified_forwarder = $2 \
               LIMIT 1",
            )
            .bind(case.id)
            .bind(f),
        )
        .await?;
    Ok(r.is_some())
}

/// Records the message's waybills for the case (their contents once per sha256);
/// returns how many were new to the case.
async fn store_waybills(
    tx: &mut Tx,
    case_id: i64,
    p: &ParsedMessage,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut added = 0;
    for w in &p.waybills {
        debug_assert_eq!(w.sha256, super::attachments::sha256_hex(&w.data));
        tx.execute(
            q("INSERT INTO waybill_data (sha256, data) VALUES ($1, $2) \
               ON CONFLICT (sha256) DO NOTHING")
            .bind(w.sha256.as_str())
            .bind(w.data.as_slice()),
        )
        .await?;
        added += tx
            .execute(
                q("INSERT INTO waybills (case_id, message, filename, content_type, sha256, size, \
                   amount_lek, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                   ON CONFLICT DO NOTHING")
                .bind(case_id)
                .bind(pm)
                .bind(w.filename.as_deref())
                .bind(w.content_type.as_str())
                .bind(w.sha256.as_str())
                .bind(w.size)
                .bind(w.amount_lek)
                .bind(at),
            )
            .await?;
    }
    Ok(added)
}

/// A rejection: the case goes to `rejected` (created as rejected if new).
pub(super) async fn rejected(
    tx: &mut Tx,
    msg: &Incoming<'_>,
    doc: &str,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    let p = msg.parsed;
    let contacts = contacts_of(msg);
    if let Some(id) = insert_case(tx, p, doc, &contacts, Stage::Rejected, at).await? {
        insert_event(
            tx,
            id,
            at,
            None,
            Stage::Rejected,
            Cause::Message,
            Some("rejection notification received"),
            Some(pm),
        )
        .await?;
        return Ok(Decision::new(Outcome::CaseCreated, None, Some(id)));
    }
    let l = load_by_doc(tx, doc)
        .await?
        .ok_or_else(|| StoreError::Corrupt("case vanished during ingest".into()))?;
    let mut conflicts = differences(&l.case, p, &contacts);
    let allowed = l
        .case
        .stage
        .allowed_next(l.review_from)
        .contains(&Stage::Rejected);
    if l.case.stage == Stage::Rejected && conflicts.is_empty() {
        return Ok(Decision::new(Outcome::CaseUpdated, None, Some(l.case.id)));
    }
    if (!allowed || !msg.trust.trusted) && l.case.stage != Stage::Rejected {
        // NOTE: an untrusted rejection never closes a case on its own.
        conflicts.push((
            "stage",
            Some(l.case.stage.as_str().into()),
            Some("rejected".into()),
        ));
    }
    if conflicts.is_empty() {
        transition(
            tx,
            &l,
            Stage::Rejected,
            Cause::Message,
            Some("rejection notification received"),
            Some(pm),
            at,
        )
        .await?;
        return Ok(Decision::new(Outcome::CaseUpdated, None, Some(l.case.id)));
    }
    flag(tx, &l, &conflicts, pm, at).await?;
    Ok(Decision::new(
        Outcome::NeedsReview,
        Some(describe(&conflicts)),
        Some(l.case.id),
    ))
}

/// Inserts a new case; `None` if one with this travel document exists.
async fn insert_case(
    tx: &mut Tx,
    p: &ParsedMessage,
    doc: &str,
    contacts: &[String],
    stage: Stage,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let r = tx
        .fetch_optional(
            q("INSERT INTO cases (travel_document, name, nationality, directorate, contacts, \
               language, stage, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
               ON CONFLICT (travel_document) DO NOTHING RETURNING id")
            .bind(doc)
            .bind(p.name.as_deref())
            .bind(p.nationality.as_deref())
            .bind(p.directorate.map(directorate_str))
            .bind(list_json(contacts))
            .bind(p.language.map(language_str))
            .bind(stage.as_str())
            .bind(at),
        )
        .await?;
    r.map(|r| r.get("id")).transpose()
}

/// The instructions email for a case, threaded under the message `pm` that led
/// to it, held unless that message is trusted.
fn instructions(case_id: i64, msg: &Incoming<'_>, pm: i64) -> NewOutbox {
    let p = msg.parsed;
    NewOutbox {
        case_id,
        kind: OutboxKind::Instructions,
        in_reply_to: p.message_id.clone(),
        references: p.references.clone(),
        forwarded_by: p.forwarded_by.clone(),
        forwarder_is_staff: msg.forwarder_is_staff,
        original_to: p.original_to.clone(),
        held: !msg.trust.trusted,
        source_message: Some(pm),
        forwarder_verified: msg.trust.forwarder_verified,
        original_verified: msg.trust.original_verified,
    }
}

/// An approval found to be a renewal.
struct Renewal {
    /// The day the office sent this approval.
    notice: chrono::NaiveDate,
    /// What it renews: `the notice of YYYY-MM-DD` (the case's latest), or the
    /// undated case's creation day.
    previous: String,
}

/// This approval as a renewal, when it was sent at least [`RENEWAL_AFTER_DAYS`]
/// after the case's latest notice. A notice whose date could not be read is
/// never taken for a renewal (nothing is sent twice on a guess).
///
/// NOTE: where none of the case's notices has a date (stored before schema 7, or
/// unreadable), the time leje created the case stands in for it: every notice
/// it had then was sent before that, so one sent long after it is a new one.
async fn renewal_of(
    tx: &mut Tx,
    case: &Case,
    p: &ParsedMessage,
) -> Result<Option<Renewal>, StoreError> {
    let Some(new) = notice_time(p) else {
        return Ok(None);
    };
    let rows = tx
        .fetch_all(
            q("SELECT notified_at FROM notifications WHERE case_id = $1 AND notified_at IS NOT NULL")
                .bind(case.id),
        )
        .await?;
    let mut latest: Option<DateTime<Utc>> = None;
    for r in rows {
        let t: DateTime<Utc> = r.get("notified_at")?;
        latest = latest.max(Some(t));
    }
    let (at, what) = match latest {
        Some(t) => (t, "the notice of"),
        None => (case.created_at, "the case, undated, created on"),
    };
    Ok(
        (new - at >= Duration::days(RENEWAL_AFTER_DAYS)).then(|| Renewal {
            notice: new.date_naive(),
            previous: format!("{what} {}", at.date_naive()),
        }),
    )
}

/// Starts the case over at `approved`, from whatever stage its last cycle
/// reached, and enqueues the instructions again: the applicant has the same
/// steps to take (address, fee, biometric card) for the renewed permit.
async fn renew(
    tx: &mut Tx,
    l: &Loaded,
    msg: &Incoming<'_>,
    contacts: &[String],
    pm: i64,
    r: Renewal,
    at: DateTime<Utc>,
) -> Result<Decision, StoreError> {
    let p = msg.parsed;
    let id = l.case.id;
    fill_missing(tx, &l.case, p, contacts, at).await?;
    let detail = format!(
        "renewal approved: notice of {}, renewing {}",
        r.notice, r.previous
    );
    let ob = restart(
        tx,
        id,
        l.case.stage,
        pm,
        &detail,
        instructions(id, msg, pm),
        at,
    )
    .await?;
    let mut d = Decision::new(Outcome::CaseUpdated, Some(detail), Some(id));
    d.outbox_ids.push(ob);
    Ok(d)
}

/// A case's new cycle: the case goes to `approved` from `from`, a renewal event
/// (tied to message `pm`, whose waybills are the cycle's) is recorded, and
/// `instructions` is enqueued. Returns the outbox id.
///
/// NOTE: not `transition`: no stage of the last cycle leads back to `approved`;
/// the event records the jump, so the history still ends at the case's stage.
pub(super) async fn restart(
    tx: &mut Tx,
    case_id: i64,
    from: Stage,
    pm: i64,
    detail: &str,
    instructions: NewOutbox,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        q(
            "UPDATE cases SET stage = $1, review_from = NULL, next_due = NULL, updated_at = $2 \
           WHERE id = $3",
        )
        .bind(Stage::Approved.as_str())
        .bind(at)
        .bind(case_id),
    )
    .await?;
    insert_event(
        tx,
        case_id,
        at,
        Some(from),
        Stage::Approved,
        Cause::Renewal,
        Some(detail),
        Some(pm),
    )
    .await?;
    insert_outbox(tx, instructions, at).await
}
