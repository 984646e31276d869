//! What ties a message to an existing case (issue 20): the Message-IDs it
//! answers, travel-document-like words in its subject or text, and for a bounce
//! or auto-reply of leje's own mail the case and address it names.
//!
//! Filled in by [`super::parse`] for every message that is not a notification.
//! Only tokens are extracted here; whether one names a real case is the store's
//! question. Work is bounded: headers are read once; the MIME tree is walked a
//! second time only when a header or the kind makes the message a candidate, and
//! the lists and files kept are capped.

use mail_parser::MessageParser;
use serde::Serialize;

use super::fallback::raw_headers;
use super::{mime, Kind, ParsedMessage, Waybill};

/// Most Message-IDs kept from In-Reply-To and References.
const MAX_REFS: usize = 32;
/// Most travel-document candidates kept from the subject, and from the text.
const MAX_DOCS: usize = 8;
/// Most files kept from one message, and the largest kept.
const MAX_FILES: usize = 8;
const MAX_FILE: usize = 10 << 20;
/// How much of the raw message is searched for a returned leje header.
const MAX_SCAN: usize = 1 << 20;
/// How much text is searched for travel documents and card-ready wording.
const MAX_TEXT: usize = 64 << 10;

/// The follow-up tokens of one message. Empty for a notification.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Thread {
    /// Message-IDs from In-Reply-To and References, without angle brackets.
    pub refs: Vec<String>,
    /// Upper-case words of the subject that could be a travel document.
    pub subject_docs: Vec<String>,
    /// Upper-case words of the text that could be a travel document (kept only
    /// for mail whose sender is under `gov.al`: Directorate follow-ups).
    pub text_docs: Vec<String>,
    /// A bounce or auto-reply quoting leje's own mail: its `X-Leje-Case`.
    pub leje_case: Option<i64>,
    /// A bounce: Message-IDs of the returned message (`leje-…`).
    pub returned_ids: Vec<String>,
    /// A bounce: the address that failed (`Final-Recipient`).
    pub failed_recipient: Option<String>,
    /// Images and PDFs that came with the message, decoded.
    #[serde(skip)]
    pub files: Vec<Waybill>,
    /// The text says the card is ready to collect (Directorate wording). Only a
    /// verified sender (the trust verdict's `original_verified`) may move a case by it.
    pub card_ready: bool,
}

impl Thread {
    /// Whether anything could tie the message to a case.
    pub fn is_candidate(&self) -> bool {
        !self.refs.is_empty()
            || !self.subject_docs.is_empty()
            || !self.text_docs.is_empty()
            || self.leje_case.is_some()
            || !self.returned_ids.is_empty()
    }
}

/// The follow-up tokens of `raw`, whose parse is `pm`.
pub fn scan(raw: &[u8], pm: &ParsedMessage) -> Thread {
    let mut t = Thread::default();
    if matches!(
        pm.kind,
        Kind::PermitApproved | Kind::PermitRejected | Kind::OwnMail
    ) {
        return t;
    }
    let [irt, refs, subject] = raw_headers(raw, ["in-reply-to", "references", "subject"]);
    for v in [irt, refs].into_iter().flatten() {
        for id in ids_in(&v) {
            if t.refs.len() < MAX_REFS && !t.refs.contains(&id) {
                t.refs.push(id);
            }
        }
    }
    let subject = pm.subject.clone().or(subject).unwrap_or_default();
    t.subject_docs = doc_words(&subject);
    let head = &raw[..raw.len().min(MAX_SCAN)];
    if matches!(pm.kind, Kind::Bounce | Kind::AutoReply) {
        t.leje_case = returned_case(head);
        t.returned_ids = ids_in(&String::from_utf8_lossy(head))
            .into_iter()
            .filter(|i| i.starts_with("leje-"))
            .take(MAX_REFS)
            .collect();
        t.failed_recipient = final_recipient(head);
    }
    let from_office = pm
        .forwarded_by
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .is_some_and(|(_, d)| d == "gov.al" || d.ends_with(".gov.al"));
    let answers = !t.refs.is_empty() || !t.subject_docs.is_empty();
    // NOTE: without a subject or Message-ID, mail-parser failed on this message in
    // the pipeline (some inputs make it panic): do not parse it a second time.
    let parsed_before = pm.subject.is_some() || pm.message_id.is_some();
    if !(answers || from_office) || matches!(pm.kind, Kind::Bounce) || !parsed_before {
        return t;
    }
    // A candidate: walk the MIME tree for its files (and the office's text).
    let Ok(Some(m)) = std::panic::catch_unwind(|| MessageParser::default().parse(raw)) else {
        return t;
    };
    let walk = mime::walk(&m);
    if from_office {
        let mut text = String::new();
        for s in &walk.segments {
            if text.len() >= MAX_TEXT {
                break;
            }
            text.push_str(&s.text[..floor(&s.text, MAX_TEXT - text.len())]);
            text.push('\n');
        }
        t.text_docs = doc_words(&text);
        t.card_ready = says_card_ready(&text);
    }
    for a in walk.attachments.iter().filter(|a| keep_file(a)) {
        if t.files.len() >= MAX_FILES {
            break;
        }
        use sha2::{Digest, Sha256};
        t.files.push(Waybill {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.data.len() as u64,
            sha256: hex::encode(Sha256::digest(&a.data)),
            amount_lek: None,
            data: a.data.clone(),
        });
    }
    t
}

fn keep_file(a: &mime::Attachment) -> bool {
    let ct = a.content_type.as_str();
    !a.data.is_empty()
        && a.data.len() <= MAX_FILE
        && (ct.starts_with("image/") || ct == "application/pdf" || a.data.starts_with(b"%PDF"))
}

/// The largest char boundary of `s` at or below `n`.
fn floor(s: &str, n: usize) -> usize {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// `<a@b> <c@d>` → `["a@b", "c@d"]`.
fn ids_in(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let Some(j) = rest.find('>') else { break };
        let id = rest[..j].trim();
        if id.contains('@') && id.len() <= 250 && !id.contains(char::is_whitespace) {
            out.push(id.to_string());
        }
        rest = &rest[j + 1..];
    }
    out
}

/// Words of 6 to 12 letters and digits with at least four digits, upper-case.
fn doc_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let digits = w.bytes().filter(u8::is_ascii_digit).count();
        if (6..=12).contains(&w.len()) && digits >= 4 {
            let w = w.to_ascii_uppercase();
            if !out.contains(&w) {
                out.push(w);
            }
            if out.len() >= MAX_DOCS {
                break;
            }
        }
    }
    out
}

/// `X-Leje-Case: 42` anywhere in the returned message.
fn returned_case(raw: &[u8]) -> Option<i64> {
    let needle = b"x-leje-case:";
    let pos = raw
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))?;
    let rest = &raw[pos + needle.len()..];
    let digits: String = rest
        .iter()
        .skip_while(|b| **b == b' ' || **b == b'\t')
        .take_while(|b| b.is_ascii_digit())
        .take(18)
        .map(|b| *b as char)
        .collect();
    digits.parse().ok()
}

/// `Final-Recipient: rfc822; someone@example.org` → `someone@example.org`.
fn final_recipient(raw: &[u8]) -> Option<String> {
    let needle = b"final-recipient:";
    let pos = raw
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))?;
    let rest = &raw[pos + needle.len()..];
    let end = rest
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(rest.len())
        .min(300);
    let line = String::from_utf8_lossy(&rest[..end]);
    let addr = line.rsplit(';').next()?.trim().trim_matches(['<', '>']);
    (addr.contains('@') && !addr.contains(char::is_whitespace)).then(|| addr.to_lowercase())
}

/// `dkim=pass … header.d=x.gov.al` or `dmarc=pass … header.from=x.gov.al`.
/// The Directorate's wording for "the card can be collected".
fn says_card_ready(text: &str) -> bool {
    let t = text.to_lowercase();
    const PHRASES: [&str; 6] = [
        "ready for collection",
        "ready to be collected",
        "card is ready",
        "karta është gati",
        "karta eshte gati",
        "gati për t'u tërhequr",
    ];
    PHRASES.iter().any(|p| t.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(raw: &str) -> Thread {
        let pm = super::super::parse(raw.as_bytes());
        pm.followup
    }

    #[test]
    fn reply_names_leje_ids_and_keeps_a_photo() {
        let raw = "From: Maria <maria@example.it>\r\nTo: permits@agency.al\r\n\
            Subject: Re: Your next steps\r\nIn-Reply-To: <leje-01@agency.al>\r\n\
            References: <orig@asp.gov.al> <leje-01@agency.al>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            I have paid, receipt attached.\r\n--b\r\nContent-Type: image/jpeg; name=r.jpg\r\n\
            Content-Disposition: attachment; filename=r.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            /9j/4AAQSkZJRg==\r\n--b--\r\n";
        let t = with(raw);
        assert_eq!(t.refs, vec!["leje-01@agency.al", "orig@asp.gov.al"]);
        assert_eq!(t.files.len(), 1);
        assert_eq!(t.files[0].filename.as_deref(), Some("r.jpg"));
        assert!(t.is_candidate());
    }

    #[test]
    fn subject_words_that_could_be_a_document() {
        assert_eq!(
            doc_words("Re: passport ab1234567, appointment 2026"),
            vec!["AB1234567"]
        );
        assert!(doc_words("hello world 12345").is_empty());
    }

    #[test]
    fn bounce_names_the_case_and_the_address() {
        let raw = "From: MAILER-DAEMON@mx.example\r\nTo: permits@agency.al\r\n\
            Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
            --r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\n\
            Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
            Final-Recipient: rfc822; Gone@Example.org\r\nAction: failed\r\n--r\r\n\
            Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <leje-77@agency.al>\r\n\
            X-Leje-Case: 42\r\n--r--\r\n";
        let pm = super::super::parse(raw.as_bytes());
        assert_eq!(pm.kind, Kind::Bounce);
        let t = pm.followup;
        assert_eq!(t.leje_case, Some(42));
        assert_eq!(t.failed_recipient.as_deref(), Some("gone@example.org"));
        assert_eq!(t.returned_ids, vec!["leje-77@agency.al"]);
    }

    #[test]
    fn office_mail_text_is_searched() {
        let raw = "From: DVKM Tirane <dvkm.tirane@asp.gov.al>\r\nTo: permits@agency.al\r\n\
            Subject: Karta\r\n\r\nKarta eshte gati per leternjoftimin AB1234567.\r\n";
        let t = with(raw);
        assert_eq!(t.text_docs, vec!["AB1234567"]);
        assert!(t.card_ready);
        let plain = with("From: x@example.org\r\nSubject: hi\r\n\r\nAB1234567 ready\r\n");
        assert!(!plain.is_candidate());
    }
}
