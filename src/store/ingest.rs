//! The ingest transaction: one message in, at most one case change out
//! (several messages may share one transaction: [`Store::ingest_batch`]).
//!
//! In one transaction: the processed-message row (whose unique indexes make
//! the same origin a no-op), the notification row (whose primary key makes
//! the same notification from another origin a no-op), the case change and
//! its event, waybill rows, the outbox row, and the IMAP checkpoint.

use chrono::{DateTime, Utc};

use super::query::{now, q, Tx};
use super::{Incoming, Ingested, Origin, Outcome, Store, StoreError};
use crate::logging::Redacted;
use crate::parse::{Kind, ParsedMessage};

/// How many times a transaction that lost a race with another writer is retried.
const ATTEMPTS: usize = 5;

/// What the kind-specific step decided, written back to the processed row.
pub(super) struct Decision {
    pub(super) outcome: Outcome,
    pub(super) reason: Option<String>,
    pub(super) case_id: Option<i64>,
    pub(super) outbox_ids: Vec<i64>,
}

impl Decision {
    pub(super) fn new(outcome: Outcome, reason: Option<String>, case_id: Option<i64>) -> Decision {
        Decision {
            outcome,
            reason,
            case_id,
            outbox_ids: Vec::new(),
        }
    }
}

impl Store {
    /// One transaction: processed-message row, case create/update + events,
    /// waybills, outbox rows, and (for [`Origin::Imap`]) the mailbox
    /// checkpoint. Idempotent: the same origin, or the same notification
    /// ([`ParsedMessage::notification_hash`]) again, changes nothing and
    /// returns [`Outcome::Duplicate`].
    pub async fn ingest(&self, msg: &Incoming<'_>) -> Result<Ingested, StoreError> {
        let mut v = self.ingest_batch(std::slice::from_ref(msg)).await?;
        Ok(v.pop().expect("one result per message"))
    }

    /// [`Store::ingest`] for several messages in one transaction, in order: all
    /// or nothing. The checkpoint moves once, to the last IMAP message of each
    /// mailbox in the slice, so a crash leaves it exactly where the last
    /// committed batch ended. One commit (one fsync of the WAL) instead of one
    /// per message is what lets a large backlog go at the speed of parsing rather
    /// than of the disk.
    pub async fn ingest_batch(&self, msgs: &[Incoming<'_>]) -> Result<Vec<Ingested>, StoreError> {
        self.ingest_batch_fenced(msgs, None).await
    }

    /// [`Store::ingest_batch`] under a lease: the transaction commits only if
    /// `fence` is still the live lease ([`StoreError::LeaseLost`] otherwise).
    pub async fn ingest_batch_fenced(
        &self,
        msgs: &[Incoming<'_>],
        fence: Option<&super::Fence>,
    ) -> Result<Vec<Ingested>, StoreError> {
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.ingest_batch_once(msgs, fence).await {
                // NOTE: two processes racing on the same notification: the loser
                // hits a unique index (or a deadlock/serialization failure) and
                // rolls back; on retry it sees the winner's rows → Duplicate.
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "ingest lost a race; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        20 * attempt as u64 + fastrand::u64(..20),
                    ))
                    .await;
                }
                other => return other,
            }
        }
    }

    async fn ingest_batch_once(
        &self,
        msgs: &[Incoming<'_>],
        fence: Option<&super::Fence>,
    ) -> Result<Vec<Ingested>, StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        // NOTE: a single message goes the per-message way: the bulk path's three
        // look-ups would cost more than they save.
        let mut bulk = if msgs.len() > 1 && self.bulk_ingest() {
            super::bulk::ingest_bulk(&mut tx, msgs, at).await?
        } else {
            vec![None; msgs.len()]
        };
        let mut out = Vec::with_capacity(msgs.len());
        for (i, m) in msgs.iter().enumerate() {
            out.push(match bulk[i].take() {
                Some(done) => done,
                None => self.ingest_in(&mut tx, m, at).await?,
            });
            let next_same_box = msgs
                .get(i + 1)
                .is_some_and(|n| same_mailbox(&n.origin, &m.origin));
            if !next_same_box {
                advance_checkpoint(&mut tx, &m.origin, at).await?;
            }
        }
        if let Some(f) = fence {
            super::cluster::check_fence(&mut tx, f).await?;
        }
        tx.commit().await?;
        // NOTE: at debug level: the daemon logs one line per message at info,
        // with its mailbox and UID, once the commit is done; a second line here,
        // inside the commit's critical path, cost a backlog time for nothing new.
        // `Redacted` formats only when the line is written.
        for (m, r) in msgs.iter().zip(&out) {
            let p = m.parsed;
            let doc = p.travel_document.as_deref().map(Redacted);
            tracing::debug!(outcome = %r.outcome, case = ?r.case_id, doc = ?doc, kind = kind_str(p.kind), "message ingested");
        }
        Ok(out)
    }

    /// One message's rows inside `w`; the caller moves the checkpoint and commits.
    async fn ingest_in(
        &self,
        tx: &mut Tx,
        msg: &Incoming<'_>,
        at: DateTime<Utc>,
    ) -> Result<Ingested, StoreError> {
        let p = msg.parsed;
        let hash = p.notification_hash();
        let (mailbox, uidvalidity, uid, path) = origin_cols(&msg.origin);
        // Everything but a complete notification is decided by the parse alone and
        // written in one statement; a notification's row is completed below.
        let notice = classify(p, hash.as_deref());
        let (outcome, reason) = match &notice {
            Err(d) => (d.outcome.as_str(), d.reason.clone()),
            Ok(_) => ("pending", None),
        };
        let row = tx
            .fetch_optional(
                q(
                    "INSERT INTO processed_messages (origin, mailbox, uidvalidity, uid, path, \
                   message_id, raw_sha256, size, notification_hash, kind, outcome, reason, at, \
                   action_pending, forwarder_verified, original_verified, verified_forwarder, \
                   verified_staff, trusted, trust_reason) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                   $17, $18, $19, $20) \
                   ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(origin_name(&msg.origin))
                .bind(mailbox)
                .bind(uidvalidity)
                .bind(uid)
                .bind(path)
                .bind(p.message_id.as_deref())
                .bind(msg.raw_sha256)
                .bind(msg.size)
                .bind(hash.clone())
                .bind(kind_str(p.kind))
                .bind(outcome)
                .bind(reason)
                .bind(at)
                .bind(matches!(msg.origin, Origin::Imap { .. }))
                .bind(msg.trust.forwarder_verified)
                .bind(msg.trust.original_verified)
                .bind(verified_forwarder(msg))
                .bind(msg.trust.staff)
                .bind(msg.trust.trusted)
                .bind(msg.trust.reason.as_str()),
            )
            .await?;
        let Some(row) = row else {
            // The same origin was processed before: report what it led to.
            let prev = previous_case(tx, &msg.origin, msg.raw_sha256).await?;
            return Ok(Ingested {
                outcome: Outcome::Duplicate,
                case_id: prev,
                outbox_ids: Vec::new(),
            });
        };
        let pm: i64 = row.get("id")?;

        let (doc, hash) = match notice {
            Ok(n) => n,
            Err(d) => {
                // A reply, bounce or office follow-up of an existing case (issue 20).
                if let Some(f) = super::replies::attach(tx, msg, pm, at).await? {
                    return finish(tx, pm, f).await;
                }
                return Ok(Ingested {
                    outcome: d.outcome,
                    case_id: None,
                    outbox_ids: Vec::new(),
                });
            }
        };
        let d = match claim_notification(tx, p, hash, pm, at).await? {
            Some(prev) => Decision::new(
                Outcome::Duplicate,
                Some("the same notification was already processed".into()),
                prev,
            ),
            None => {
                let d = if p.kind == Kind::PermitApproved {
                    super::notice::approved(tx, msg, doc, pm, at).await?
                } else {
                    super::notice::rejected(tx, msg, doc, pm, at).await?
                };
                tx.execute(
                    q("UPDATE notifications SET case_id = $1 WHERE hash = $2")
                        .bind(d.case_id)
                        .bind(hash),
                )
                .await?;
                d
            }
        };
        finish(tx, pm, d).await
    }
}

/// Writes the decision back to the processed row.
async fn finish(tx: &mut Tx, pm: i64, d: Decision) -> Result<Ingested, StoreError> {
    tx.execute(
        q("UPDATE processed_messages SET outcome = $1, reason = $2, case_id = $3 WHERE id = $4")
            .bind(d.outcome.as_str())
            .bind(d.reason.clone())
            .bind(d.case_id)
            .bind(pm),
    )
    .await?;
    Ok(Ingested {
        outcome: d.outcome,
        case_id: d.case_id,
        outbox_ids: d.outbox_ids,
    })
}

/// Claims a notification hash for this message; `Some(case)` if it was already claimed.
async fn claim_notification(
    tx: &mut Tx,
    p: &ParsedMessage,
    hash: &str,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<Option<Option<i64>>, StoreError> {
    let r = tx
        .fetch_optional(
            q(
                "INSERT INTO notifications (hash, first_message, at, notified_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING hash",
            )
            .bind(hash)
            .bind(pm)
            .bind(at)
            .bind(notice_time(p)),
        )
        .await?;
    if r.is_some() {
        return Ok(None);
    }
    let prev = tx
        .fetch_optional(q("SELECT case_id FROM notifications WHERE hash = $1").bind(hash))
        .await?;
    Ok(Some(prev.map(|r| r.get("case_id")).transpose()?.flatten()))
}

/// When the office sent the notification, if the parse found it.
pub(crate) fn notice_time(p: &ParsedMessage) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(p.notified_at.as_deref()?).ok()?;
    Some(t.with_timezone(&Utc))
}

/// The lower-case outer From when the trust verdict verified it.
pub(crate) fn verified_forwarder(msg: &Incoming<'_>) -> Option<String> {
    msg.trust
        .forwarder_verified
        .then(|| msg.parsed.forwarded_by.as_deref().map(str::to_lowercase))
        .flatten()
}

/// The applicant contacts a message gives: the forwarder (unless staff) and
/// the address the office sent the notification to (unless it is the office).
/// Only verified ones: the forwarder when its address is verified, the
/// original recipient when the forwarder or the notice itself is; an address
/// that came only from an unverified message's headers is never a contact.
pub(crate) fn contacts_of(msg: &Incoming<'_>) -> Vec<String> {
    let p = msg.parsed;
    let v = msg.trust;
    let mut out: Vec<String> = Vec::new();
    if !msg.forwarder_is_staff && v.forwarder_verified {
        if let Some(f) = &p.forwarded_by {
            if p.original_from.as_deref() != Some(f.as_str()) {
                out.push(f.to_lowercase());
            }
        }
    }
    if let Some(to) = p
        .original_to
        .as_ref()
        .filter(|_| v.forwarder_verified || v.original_verified)
    {
        let to = to.to_lowercase();
        if p.original_from.as_deref() != Some(to.as_str()) && !out.contains(&to) {
            out.push(to);
        }
    }
    out
}

/// A complete notification's travel document and notification hash (`hash` is
/// [`ParsedMessage::notification_hash`], computed once by the caller); for anything
/// else, what the parse alone decides.
pub(super) fn classify<'p, 'h>(
    p: &'p ParsedMessage,
    hash: Option<&'h str>,
) -> Result<(&'p str, &'h str), Decision> {
    match (p.kind, p.travel_document.as_deref(), hash) {
        (Kind::PermitApproved | Kind::PermitRejected, Some(doc), Some(hash)) => Ok((doc, hash)),
        (Kind::PermitApproved | Kind::PermitRejected | Kind::IncompleteNotification, ..) => {
            Err(Decision::new(
                Outcome::NeedsReview,
                Some(crate::parse::Reason::MissingTravelDocument.message().into()),
                None,
            ))
        }
        (Kind::Malformed, ..) => Err(Decision::new(Outcome::Failed, reason_of(p), None)),
        _ => Err(Decision::new(Outcome::Ignored, reason_of(p), None)),
    }
}

fn reason_of(p: &ParsedMessage) -> Option<String> {
    p.reason.map(|r| r.message().to_owned())
}

/// The snake_case name of a parse kind.
pub(crate) fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::PermitApproved => "permit_approved",
        Kind::PermitRejected => "permit_rejected",
        Kind::IncompleteNotification => "incomplete_notification",
        Kind::AutoReply => "auto_reply",
        Kind::Bounce => "bounce",
        Kind::OwnMail => "own_mail",
        Kind::Calendar => "calendar",
        Kind::Empty => "empty",
        Kind::Malformed => "malformed",
        Kind::Unrelated => "unrelated",
    }
}

pub(crate) fn origin_name(o: &Origin<'_>) -> &'static str {
    match o {
        Origin::Imap { .. } => "imap",
        Origin::File { .. } => "file",
    }
}

#[allow(clippy::type_complexity)]
pub(crate) fn origin_cols(
    o: &Origin<'_>,
) -> (Option<String>, Option<u32>, Option<u32>, Option<String>) {
    match *o {
        Origin::Imap {
            mailbox,
            uidvalidity,
            uid,
        } => (Some(mailbox.to_owned()), Some(uidvalidity), Some(uid), None),
        Origin::File { path } => (None, None, None, Some(path.to_owned())),
    }
}

/// For an IMAP origin: moves the mailbox checkpoint forward to this UID
/// (or resets it under a new UIDVALIDITY). Never moves it backwards.
pub(crate) async fn advance_checkpoint(
    tx: &mut Tx,
    o: &Origin<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Origin::Imap {
        mailbox,
        uidvalidity,
        uid,
    } = *o
    else {
        return Ok(());
    };
    tx.execute(
        q("INSERT INTO checkpoints (mailbox, uidvalidity, last_uid, updated_at) VALUES ($1, $2, $3, $4) \
           ON CONFLICT (mailbox) DO UPDATE SET \
             last_uid = CASE WHEN checkpoints.uidvalidity <> excluded.uidvalidity THEN excluded.last_uid \
                             WHEN excluded.last_uid > checkpoints.last_uid THEN excluded.last_uid \
                             ELSE checkpoints.last_uid END, \
             uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at")
        .bind(mailbox)
        .bind(uidvalidity)
        .bind(uid)
        .bind(at),
    )
    .await?;
    Ok(())
}

/// Whether two origins are the same IMAP folder (same checkpoint row).
fn same_mailbox(a: &Origin<'_>, b: &Origin<'_>) -> bool {
    match (a, b) {
        (
            Origin::Imap {
                mailbox: m1,
                uidvalidity: v1,
                ..
            },
            Origin::Imap {
                mailbox: m2,
                uidvalidity: v2,
                ..
            },
        ) => m1 == m2 && v1 == v2,
        _ => false,
    }
}

/// The case an earlier processing of this origin led to.
async fn previous_case(
    tx: &mut Tx,
    o: &Origin<'_>,
    raw_sha256: &str,
) -> Result<Option<i64>, StoreError> {
    let r = match *o {
        Origin::Imap { mailbox, uidvalidity, uid } => {
            tx.fetch_optional(
                q("SELECT case_id FROM processed_messages WHERE origin = 'imap' AND mailbox = $1 \
                   AND uidvalidity = $2 AND uid = $3")
                .bind(mailbox)
                .bind(uidvalidity)
                .bind(uid),
            )
            .await?
        }
        Origin::File { path } => {
            tx.fetch_optional(
                q("SELECT case_id FROM processed_messages WHERE origin = 'file' AND path = $1 \
                   AND raw_sha256 = $2")
                .bind(path)
                .bind(raw_sha256),
            )
            .await?
        }
    };
    Ok(r.map(|r| r.get("case_id")).transpose()?.flatten())
}
