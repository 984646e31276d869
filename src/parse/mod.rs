//! Recognising residence-permit notifications in raw email.
//!
//! Entry point: [`parse`], which takes the raw RFC 5322 bytes of one message
//! (however it reached the shared inbox: direct, forwarded inline, forwarded
//! as an attachment, quoted, …) and returns a [`ParsedMessage`]. It never
//! panics and never fails: malformed input yields a [`Kind`] and a [`Reason`].
//!
//! The serialised form of [`ParsedMessage`] (minus the `file` field that
//! `leje parse` adds) is the public JSON contract documented in README.md.

mod attribution;
pub mod cli;
mod date;
mod directorate;
mod fallback;
mod filename;
mod flowed;
mod followup;
mod forward;
mod html;
mod locale;
mod mime;
mod notice;
mod pdf;
mod pipeline;
mod text;
mod waybill;
mod words;

use serde::Serialize;

pub use followup::Thread;

/// What a message is, as far as leje is concerned. Serialised in snake_case.
///
/// Only [`Kind::PermitApproved`] ever creates or advances a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An approval notification with at least a travel-document number.
    PermitApproved,
    /// A notification that the permit was rejected ("has been rejected", "është refuzuar").
    PermitRejected,
    /// Looks like an approval notification, but the travel-document number is missing,
    /// so no case can be keyed on it; a person must look at it.
    IncompleteNotification,
    /// RFC 3834 auto-reply, vacation notice, X-Autoreply, Precedence: auto_reply/bulk/junk.
    AutoReply,
    /// Delivery-status notification (multipart/report, mailer-daemon), including bounces of leje's own mail.
    Bounce,
    /// Mail that leje itself sent (carries the `X-Leje` header): never processed again.
    OwnMail,
    /// A calendar invitation (text/calendar).
    Calendar,
    /// No readable text at all (empty, or attachments only).
    Empty,
    /// MIME so broken that no text could be recovered.
    Malformed,
    /// Anything else: newsletters, questions, spam, …
    Unrelated,
}

/// Why a message was not recognised as an approval. Serialised as its stable message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    NoNotification,
    Rejected,
    MissingTravelDocument,
    AutoSubmitted,
    DeliveryReport,
    OwnMail,
    CalendarInvite,
    EmptyBody,
    Malformed,
}

impl Reason {
    /// The stable, human-readable text used in JSON output and logs.
    pub fn message(self) -> &'static str {
        match self {
            Reason::NoNotification => "no residence-permit notification found in the message",
            Reason::Rejected => "the notification says the residence permit was rejected",
            Reason::MissingTravelDocument => {
                "notification found but its travel document number is missing"
            }
            Reason::AutoSubmitted => {
                "automatic message (Auto-Submitted, X-Autoreply or Precedence header)"
            }
            Reason::DeliveryReport => "delivery status notification (bounce)",
            Reason::OwnMail => "message sent by leje itself",
            Reason::CalendarInvite => "calendar invitation",
            Reason::EmptyBody => "message has no readable text",
            Reason::Malformed => "malformed MIME structure and no readable notification in it",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.message())
    }
}

/// Language of the notification text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Sq,
}

/// One of the twelve Local Directorates for Border and Migration, one per county seat.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Directorate {
    Berat,
    Diber,
    Durres,
    Elbasan,
    Fier,
    Gjirokaster,
    Korce,
    Kukes,
    Lezhe,
    Shkoder,
    Tirane,
    Vlore,
}

/// A payment waybill (or other PDF/image attachment) that came with the notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waybill {
    /// Decoded filename (RFC 2047/2231), if the part had one.
    pub filename: Option<String>,
    /// Declared MIME type, lower-case, without parameters.
    pub content_type: String,
    /// Size of the decoded content in bytes.
    pub size: u64,
    /// Hex sha256 of the decoded content.
    pub sha256: String,
    /// Amount in Lek read from the PDF's text layer; `None` when there is no text layer or no amount.
    pub amount_lek: Option<u64>,
    /// The decoded bytes, kept for the store and the instructions email; not part of the JSON.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Everything leje learns from one message.
///
/// Serialised fields are the `leje parse` JSON contract (README.md); the
/// `#[serde(skip)]` ones are envelope data the rest of the pipeline needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedMessage {
    pub kind: Kind,
    pub reason: Option<Reason>,
    pub language: Option<Language>,
    /// Applicant's full name as written, whitespace collapsed.
    pub name: Option<String>,
    /// Upper-case, spaces removed.
    pub travel_document: Option<String>,
    /// The free field after the travel document number, as written, trimmed.
    pub nationality: Option<String>,
    pub directorate: Option<Directorate>,
    /// Lower-case address of the Immigration Office sender.
    pub original_from: Option<String>,
    /// Lower-case address in the outer message's From.
    pub forwarded_by: Option<String>,
    /// RFC 3339 (seconds precision, numeric offset, e.g. `2021-12-22T09:14:00+01:00`).
    pub notified_at: Option<String>,
    pub waybills: Vec<Waybill>,

    /// Outer Message-ID without angle brackets.
    #[serde(skip)]
    pub message_id: Option<String>,
    /// Outer References + Message-ID chain, for threading the reply (no angle brackets).
    #[serde(skip)]
    pub references: Vec<String>,
    /// Outer Subject, decoded.
    #[serde(skip)]
    pub subject: Option<String>,
    /// Lower-case address the original notification was sent to (the applicant, usually),
    /// from the forward header block's To line or the attached/direct message's To.
    #[serde(skip)]
    pub original_to: Option<String>,
    /// Outer Reply-To, lower-case, if any.
    #[serde(skip)]
    pub reply_to: Option<String>,
    /// What ties a non-notification to an existing case (replies, bounces, office follow-ups).
    #[serde(skip)]
    pub followup: Thread,
}

impl ParsedMessage {
    /// A hash of the notification itself (kind, travel document, name, directorate
    /// and the day the office sent it), independent of who forwarded it, how, or
    /// when. The store uses it to recognise the same notice arriving twice. `None`
    /// when there is no travel document.
    ///
    /// NOTE: the day is what tells next year's renewal (same person, same passport,
    /// same office) from this notice forwarded again. A copy whose date could not
    /// be read hashes apart from a dated one; the store then takes it as the same
    /// approval again on the existing case, and sends nothing twice.
    pub fn notification_hash(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        let doc = self.travel_document.as_deref()?;
        let mut h = Sha256::new();
        h.update(b"leje-notification-v2\0");
        h.update(
            serde_json::to_string(&self.kind)
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(b"\0");
        h.update(doc.as_bytes());
        h.update(b"\0");
        h.update(self.name.as_deref().unwrap_or("").to_uppercase().as_bytes());
        h.update(b"\0");
        if let Some(d) = self.directorate {
            h.update(serde_json::to_string(&d).unwrap_or_default().as_bytes());
        }
        h.update(b"\0");
        // The date as the office wrote it (`YYYY-MM-DD` of its RFC 3339 form).
        if let Some(day) = self.notified_at.as_deref().and_then(|t| t.get(..10)) {
            h.update(day.as_bytes());
        }
        Some(hex::encode(h.finalize()))
    }
}

/// Parse one raw message. Never panics, never fails.
///
/// Every kind of input, however broken, yields a [`Kind`] and (unless it is an
/// approval) a [`Reason`]. Work is bounded: input size, nesting depth, HTML and
/// PDF sizes are all capped.
pub fn parse(raw: &[u8]) -> ParsedMessage {
    // NOTE: the parser is written not to panic; catch_unwind is the last line of
    // defence so one hostile message can never take the daemon down.
    std::panic::catch_unwind(|| {
        let mut pm = pipeline::run(raw);
        pm.followup = followup::scan(raw, &pm);
        pm
    })
    .unwrap_or_else(|_| pipeline::panicked(raw))
}

/// Reads the amount in Lek from a PDF's text layer (`None` without a text layer
/// or amount). Exposed for `leje` tools and tests of waybill handling.
pub fn pdf_amount_lek(pdf: &[u8]) -> Option<u64> {
    pdf::text(pdf).and_then(|t| waybill::amount(&t))
}

/// The text layer of a PDF as the waybill reader sees it (bounded; `None`
/// without one). For tests and diagnostics.
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    pdf::text(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(forwarder: &str, notified_at: Option<&str>) -> ParsedMessage {
        ParsedMessage {
            kind: Kind::PermitApproved,
            reason: None,
            language: Some(Language::En),
            name: Some("Maria Rossi".into()),
            travel_document: Some("AB1234567".into()),
            nationality: Some("Italian".into()),
            directorate: Some(Directorate::Tirane),
            original_from: Some("migracioni@mb.gov.al".into()),
            forwarded_by: Some(forwarder.into()),
            notified_at: notified_at.map(str::to_owned),
            waybills: Vec::new(),
            message_id: Some(format!("{forwarder}.1@mail.example")),
            references: Vec::new(),
            subject: None,
            original_to: None,
            reply_to: None,
            followup: Thread::default(),
        }
    }

    #[test]
    fn notification_hash_is_the_notice_not_the_forward() {
        let at = Some("2024-03-04T10:00:00+01:00");
        let a = notice("maria@example.it", at).notification_hash();
        assert!(a.is_some());
        // Another forwarder, Message-ID, time of day: the same notice.
        let mut b = notice("agency@example.al", Some("2024-03-04T17:30:00+01:00"));
        b.name = Some("MARIA ROSSI".into());
        assert_eq!(a, b.notification_hash());
        // Another day (next year's renewal), or no date read: another notice.
        let c = notice("maria@example.it", Some("2025-03-04T10:00:00+01:00"));
        assert_ne!(a, c.notification_hash());
        assert_ne!(a, notice("maria@example.it", None).notification_hash());
        let mut d = notice("maria@example.it", at);
        d.travel_document = None;
        assert_eq!(d.notification_hash(), None);
    }
}
