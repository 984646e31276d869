//! The messages of the trust tests: the Directorate's notice (direct, signed
//! with a test DKIM key, forwarded inline or attached), as genuine senders and
//! as an attacker would write them.

use chrono::{Duration, Utc};
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;

pub const GMAIL: &str = "mx.google.com";
pub const AGENCY_MX: &str = "mail.agency.example";

/// The notice's text for `name` and `doc`.
pub fn notice_text(name: &str, doc: &str) -> String {
    format!(
        "Dear Sir/Madam,\r\n\r\nWe inform you that your Residence Permit for citizen {name}, Travel Document no. {doc}, Italy has been approved.\r\n\r\n\
         Please print the attached payment notice and pay the fee of 5700 Lek at any bank.\r\n\r\n\
         Drejtoria Vendore p\u{eb}r Kufirin dhe Migracionin TIRANE\r\n"
    )
}

/// An RFC 2822 date `days_ago` days before now.
pub fn date(days_ago: i64) -> String {
    (Utc::now() - Duration::days(days_ago)).to_rfc2822()
}

/// A small PDF whose text says `amount`.
pub fn pdf(amount: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% waybill: {amount}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
        .into_bytes()
}

pub fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A body (plain text, or multipart with a PDF) and its Content-Type header.
fn body(text: &str, pdf: Option<(&str, &[u8])>) -> String {
    match pdf {
        None => format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}"),
        Some((name, data)) => format!(
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
             --b1\r\nContent-Type: application/pdf; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            b64(data)
        ),
    }
}

/// The Directorate's notice as it sends it to `to`.
pub fn direct(
    name: &str,
    doc: &str,
    to: &str,
    days_ago: i64,
    pdf: Option<(&str, &[u8])>,
) -> String {
    format!(
        "From: Leje Qendrimi <LejeQendrimi@asp.gov.al>\r\nTo: {to}\r\nSubject: Residence Permit\r\nDate: {}\r\n\
         Message-ID: <{doc}.{days_ago}@asp.gov.al>\r\nMIME-Version: 1.0\r\n{}",
        date(days_ago),
        body(&notice_text(name, doc), pdf)
    )
}

/// `from` forwards the notice inline; `auth` is a receiving server's header, if any.
#[allow(clippy::too_many_arguments)]
pub fn inline_forward(
    auth: Option<&str>,
    from: &str,
    name: &str,
    doc: &str,
    applicant: Option<&str>,
    days_ago: i64,
    pdf: Option<(&str, &[u8])>,
    id: &str,
) -> Vec<u8> {
    let to = applicant
        .map(|a| format!("To: <{a}>\r\n"))
        .unwrap_or_default();
    let text = format!(
        "Please see below.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Leje Qendrimi <LejeQendrimi@asp.gov.al>\r\n\
         Date: {}\r\nSubject: Residence Permit\r\n{to}\r\n{}",
        date(days_ago),
        notice_text(name, doc)
    );
    format!(
        "{}From: {from}\r\nTo: permits@agency.example\r\nSubject: Fwd: Residence Permit\r\nDate: {}\r\n\
         Message-ID: <{id}@fwd.example>\r\nMIME-Version: 1.0\r\n{}",
        auth.map(|a| format!("Authentication-Results: {a}\r\n")).unwrap_or_default(),
        date(0),
        body(&text, pdf)
    )
    .into_bytes()
}

/// `from` forwards `original` (raw) as an attachment (message/rfc822).
pub fn attached_forward(auth: Option<&str>, from: &str, original: &[u8], id: &str) -> Vec<u8> {
    let mut out = format!(
        "{}From: {from}\r\nTo: permits@agency.example\r\nSubject: Fwd: Residence Permit\r\nDate: {}\r\n\
         Message-ID: <{id}@fwd.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe notice is attached.\r\n\r\n\
         --outer\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"notice.eml\"\r\n\r\n",
        auth.map(|a| format!("Authentication-Results: {a}\r\n")).unwrap_or_default(),
        date(0),
    )
    .into_bytes();
    out.extend_from_slice(original);
    out.extend_from_slice(b"\r\n--outer--\r\n");
    out
}

/// A test signing key for `domain` (selector `s1`): signs messages, and the
/// TXT record to serve at `s1._domainkey.<domain>`.
pub struct Key {
    pkcs8: Vec<u8>,
    pub domain: String,
}

impl Key {
    pub fn new(domain: &str) -> Key {
        Key {
            pkcs8: Ed25519Key::generate_pkcs8().unwrap(),
            domain: domain.into(),
        }
    }

    pub fn record(&self) -> (String, String) {
        let k = Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap();
        (
            format!("s1._domainkey.{}", self.domain),
            format!("v=DKIM1; k=ed25519; p={}", b64(&k.public_key())),
        )
    }

    /// `raw` with a DKIM-Signature of this key prepended.
    pub fn sign(&self, raw: &str) -> Vec<u8> {
        let k = Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap();
        let sig = DkimSigner::from_key(k)
            .domain(self.domain.clone())
            .selector("s1")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .sign(raw.as_bytes())
            .unwrap();
        let mut out = sig.to_header().into_bytes();
        out.extend_from_slice(raw.as_bytes());
        out
    }
}
