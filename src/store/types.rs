//! Plain data types of the store: stages, cases, outcomes, outbox rows.
//!
//! Every enum here has a stable lower-case `as_str()` form; that string is
//! what the database holds and what the CLI and JSON output show.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::parse::{Directorate, Language, ParsedMessage};

/// Generates `as_str`, `ALL`, `Display`, `FromStr` and `Serialize` for a
/// fieldless enum from one table, so the database strings live in one place.
macro_rules! string_enum {
    ($ty:ident, $what:literal, { $($var:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];
            /// The stable string stored in the database and shown to people.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$var => $s),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($s => Ok($ty::$var),)+
                    other => Err(format!(
                        "unknown {} `{}`; expected one of: {}",
                        $what,
                        other,
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// Where a case stands in the biometric-card process (issue 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Approval notification received (with or without waybill).
    Approved,
    /// Address confirmed at the Civil Registry Office.
    AddressConfirmed,
    /// The 5700 Lek fee is paid.
    FeePaid,
    /// Biometric application made at the Local Directorate.
    Applied,
    /// The card can be collected (about two weeks after applying).
    CardReady,
    /// The applicant has the card.
    Collected,
    /// The ID number (NID) was not generated yet: retry in one to two weeks.
    NidPending,
    /// The permit was rejected.
    Rejected,
    /// Conflicting information or a failure a person must look at.
    NeedsReview,
    /// Nothing more to do (terminal).
    Closed,
}

string_enum!(Stage, "stage", {
    Approved => "approved",
    AddressConfirmed => "address_confirmed",
    FeePaid => "fee_paid",
    Applied => "applied",
    CardReady => "card_ready",
    Collected => "collected",
    NidPending => "nid_pending",
    Rejected => "rejected",
    NeedsReview => "needs_review",
    Closed => "closed",
});

/// The main chain, in order; forward moves along it may skip steps
/// (an applicant may report several steps at once), backward moves are refused.
const CHAIN: [Stage; 6] = [
    Stage::Approved,
    Stage::AddressConfirmed,
    Stage::FeePaid,
    Stage::Applied,
    Stage::CardReady,
    Stage::Collected,
];

impl Stage {
    /// The stages a case may move to from `self`. For `NeedsReview` the way
    /// back is the stage it came from, so the caller passes it as `review_from`.
    pub fn allowed_next(self, review_from: Option<Stage>) -> Vec<Stage> {
        use Stage::*;
        let mut out = Vec::new();
        if let Some(i) = CHAIN.iter().position(|s| *s == self) {
            out.extend_from_slice(&CHAIN[i + 1..]);
        }
        match self {
            Applied => out.push(NidPending),
            NidPending => out.push(Applied),
            NeedsReview => out.extend(review_from.filter(|s| *s != NeedsReview)),
            _ => {}
        }
        if matches!(
            self,
            Approved | AddressConfirmed | FeePaid | Applied | NidPending
        ) {
            out.push(Rejected);
        }
        if !matches!(self, NeedsReview | Closed) {
            out.push(NeedsReview);
        }
        if self != Closed {
            out.push(Closed);
        }
        out
    }
}

/// What caused a stage change or case event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// An ingested email.
    Message,
    /// A person using the CLI.
    Cli,
    /// A scheduled reminder (daemon).
    Reminder,
    /// The outbox sender (a message that could not be delivered).
    Outbox,
    /// An approval for a renewed permit: the case started over at `approved`.
    Renewal,
    /// The applicant, through a signed one-click link (issue 20).
    Applicant,
    /// A staff member in the web console (the event's `actor` names who).
    Staff,
}

string_enum!(Cause, "cause", {
    Message => "message",
    Cli => "cli",
    Reminder => "reminder",
    Outbox => "outbox",
    Renewal => "renewal",
    Applicant => "applicant",
    Staff => "staff",
});

/// What ingesting one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A new case was created.
    CaseCreated,
    /// An existing case was updated (a new waybill, a filled-in field, a rejection).
    CaseUpdated,
    /// A person must look at it (conflict with the existing case, or no travel document).
    NeedsReview,
    /// The same message or the same notification was already processed: nothing changed.
    Duplicate,
    /// Not a notification (newsletter, auto-reply, bounce, …); the reason says which.
    Ignored,
    /// Could not be processed (malformed); the reason says why.
    Failed,
    /// Not parsed at all (over the size limit, unreadable); see `Store::record_skipped`.
    Skipped,
}

string_enum!(Outcome, "outcome", {
    CaseCreated => "case_created",
    CaseUpdated => "case_updated",
    NeedsReview => "needs_review",
    Duplicate => "duplicate",
    Ignored => "ignored",
    Failed => "failed",
    Skipped => "skipped",
});

/// Which email an outbox row is (one template set each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// The next-steps email after an approval.
    Instructions,
    /// The card is ready to collect.
    CardReady,
    /// The NID was not generated yet: retry in one to two weeks.
    NidPending,
    /// A route to Albanian citizenship opens (or will open soon): issue 21.
    Citizenship,
    /// A reminder of the case's open step (the reminder pass, issue 20).
    Reminder,
}

string_enum!(OutboxKind, "outbox kind", {
    Instructions => "instructions",
    CardReady => "card_ready",
    NidPending => "nid_pending",
    Citizenship => "citizenship",
    Reminder => "reminder",
});

/// Delivery state of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Waiting for its `next_attempt_at`.
    Pending,
    /// Handed to the SMTP server.
    Sent,
    /// Given up on; the case went to needs_review.
    Failed,
    /// From a message that is not trusted ([`crate::trust`]): waits for a
    /// person to release it ([`crate::store::Store::outbox_release`]).
    Held,
}

string_enum!(OutboxStatus, "outbox status", {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
    Held => "held",
});

/// Which value to keep when resolving a review conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keep {
    /// The value the case had before the conflicting message.
    Old,
    /// The value from the conflicting message.
    New,
}

string_enum!(Keep, "choice", { Old => "old", New => "new" });

/// Position of a mailbox: everything up to `last_uid` under `uidvalidity` is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// Where an ingested message came from; the key that makes re-ingestion a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A message in an IMAP folder.
    Imap {
        mailbox: &'a str,
        uidvalidity: u32,
        uid: u32,
    },
    /// A local file (`leje import`); for mbox, `path#index`.
    File { path: &'a str },
}

/// One message handed to [`crate::store::Store::ingest`].
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub origin: Origin<'a>,
    /// Hex sha256 of the raw message bytes.
    pub raw_sha256: &'a str,
    /// Raw size in bytes.
    pub size: u64,
    pub parsed: &'a ParsedMessage,
    /// The outer From is a staff member (agency), so it is not an applicant contact.
    pub forwarder_is_staff: bool,
    /// Who sent it ([`crate::trust`]): stored with the message; an untrusted
    /// message's emails are held, and it may not change a case's contacts or name.
    pub trust: &'a crate::trust::Verdict,
}

/// What [`crate::store::Store::ingest`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub outcome: Outcome,
    /// The case created, updated or (for duplicates) already holding the notification.
    pub case_id: Option<i64>,
    /// Outbox rows created by this message (empty for duplicates).
    pub outbox_ids: Vec<i64>,
}

/// One applicant, keyed by the normalised travel-document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub id: i64,
    pub travel_document: String,
    pub name: Option<String>,
    pub nationality: Option<String>,
    pub directorate: Option<Directorate>,
    /// Lower-case applicant addresses (never staff addresses).
    pub contacts: Vec<String>,
    pub language: Option<Language>,
    pub stage: Stage,
    pub next_due: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a case's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    /// `None` for the event that created the case.
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub cause: Cause,
    pub detail: Option<String>,
}

/// Two values that disagree; kept until a person resolves them (`leje cases resolve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub id: i64,
    pub case_id: i64,
    /// `name`, `contacts`, `directorate`, `stage` or `renewal` (the old and new
    /// notice dates: keeping the new values renews the case).
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// The result of a stage change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    pub case_id: i64,
    pub from: Stage,
    pub to: Stage,
    /// CardReady / NidPending rows enqueued by the change.
    pub outbox_ids: Vec<i64>,
}

/// A waybill kept for a case; its contents are [`crate::store::Store::waybill_data`] of `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredWaybill {
    pub filename: Option<String>,
    pub content_type: String,
    pub sha256: String,
    pub size: u64,
    pub amount_lek: Option<u64>,
}

/// One email waiting for, or done with, delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: i64,
    pub kind: OutboxKind,
    /// Stable Message-ID (no angle brackets), generated once when the row is created.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub forwarded_by: Option<String>,
    pub forwarder_is_staff: bool,
    pub original_to: Option<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub sent_to: Vec<String>,
    /// When the first temporary failure happened (`retry_for` counts from here).
    pub failing_since: Option<DateTime<Utc>>,
    /// The processed message this email answers; only its waybills are attached.
    pub source_message: Option<i64>,
    /// That message's forwarder was verified (else it is never written to unreleased).
    pub forwarder_verified: bool,
    /// That message's notice was verified (its `original_to` may be written to).
    pub original_verified: bool,
    /// Who released it from `held`, and when.
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

/// One processed email, as `leje messages list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    pub id: i64,
    /// `imap` or `file`.
    pub origin: String,
    pub mailbox: Option<String>,
    pub uidvalidity: Option<u32>,
    pub uid: Option<u32>,
    pub path: Option<String>,
    pub message_id: Option<String>,
    pub raw_sha256: Option<String>,
    pub size: u64,
    pub notification_hash: Option<String>,
    pub kind: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub case_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// The trust verdict ([`crate::trust::Verdict`]); `None` for messages
    /// stored before schema 8.
    pub trusted: Option<bool>,
    pub forwarder_verified: Option<bool>,
    pub original_verified: Option<bool>,
    pub trust_reason: Option<String>,
}

/// Counts for health checks and `leje messages`/metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Processed messages per outcome (`Outcome::as_str`).
    pub messages_by_outcome: std::collections::BTreeMap<String, u64>,
    /// Cases per stage (`Stage::as_str`).
    pub cases_by_stage: std::collections::BTreeMap<String, u64>,
    /// Outbox rows per status (`OutboxStatus::as_str`).
    pub outbox_by_status: std::collections::BTreeMap<String, u64>,
    /// When the last message was processed.
    pub last_processed_at: Option<DateTime<Utc>>,
    /// The oldest pending outbox row's creation time (a stuck sender shows here).
    pub oldest_pending_outbox: Option<DateTime<Utc>>,
}

/// Filter of [`crate::store::Store::cases`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseFilter {
    pub stage: Option<Stage>,
    pub directorate: Option<Directorate>,
}

/// `Directorate` as its lower-case name.
pub(crate) fn directorate_str(d: Directorate) -> String {
    serde_json::to_value(d)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Parses a lower-case directorate name (as stored).
pub fn parse_directorate(s: &str) -> Result<Directorate, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_lowercase())).map_err(|_| {
        format!(
            "unknown directorate `{s}`; expected one of: berat, diber, durres, elbasan, fier, \
             gjirokaster, korce, kukes, lezhe, shkoder, tirane, vlore"
        )
    })
}

pub(crate) fn language_str(l: Language) -> &'static str {
    match l {
        Language::En => "en",
        Language::Sq => "sq",
    }
}

pub(crate) fn parse_language(s: &str) -> Option<Language> {
    match s {
        "en" => Some(Language::En),
        "sq" => Some(Language::Sq),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        for s in Stage::ALL {
            assert_eq!(s.as_str().parse::<Stage>().unwrap(), *s);
        }
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
        }
        let err = "done".parse::<Stage>().unwrap_err();
        assert!(
            err.contains("`done`") && err.contains("card_ready"),
            "{err}"
        );
        assert_eq!(parse_directorate("Tirane").unwrap(), Directorate::Tirane);
        assert_eq!(directorate_str(Directorate::Gjirokaster), "gjirokaster");
    }

    #[test]
    fn chain_moves_forward_only() {
        assert!(Stage::Approved.allowed_next(None).contains(&Stage::FeePaid));
        assert!(!Stage::FeePaid.allowed_next(None).contains(&Stage::Approved));
        assert!(Stage::Closed.allowed_next(None).is_empty());
        assert_eq!(
            Stage::NeedsReview.allowed_next(Some(Stage::Applied)),
            vec![Stage::Applied, Stage::Closed]
        );
        assert!(Stage::NidPending
            .allowed_next(None)
            .contains(&Stage::Applied));
        assert!(!Stage::Collected
            .allowed_next(None)
            .contains(&Stage::Rejected));
    }
}
