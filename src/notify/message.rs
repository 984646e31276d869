//! Building the RFC 5322 message: headers for threading and loop protection, the
//! text/HTML alternative, and the waybills as attachments.

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::render::Rendered;

/// A file to attach, already read from the store's attachment directory.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub filename: String,
    /// As stored (declared by the sender); corrected by [`effective_content_type`].
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Everything but the body: who, and how it threads.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `smtp.from`, e.g. `leje <permits@example.al>`.
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The outbox row's stable Message-ID, without angle brackets.
    pub message_id: String,
    /// Message-ID of the email being answered, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// For `X-Leje-Case`; an internal number, no personal data.
    pub case_id: i64,
    /// For `X-Leje-Kind`, e.g. `instructions`.
    pub kind: &'static str,
    /// More headers (`Reply-To`, `List-Unsubscribe`, `List-Unsubscribe-Post`), ASCII values.
    pub extra: Vec<(&'static str, String)>,
}

/// Why a message could not be built (bad address in the config or on the case).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid address `{address}`: {reason}")]
    Address { address: String, reason: String },
    #[error("cannot build the message: {0}")]
    Message(#[from] lettre::error::Error),
}

fn mailbox(s: &str) -> Result<Mailbox, BuildError> {
    s.parse::<Mailbox>().map_err(|e| BuildError::Address {
        address: s.to_string(),
        reason: e.to_string(),
    })
}

/// `<id>`: brackets added, anything that could break the header removed.
fn angle(id: &str) -> String {
    let clean: String = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'))
        .collect();
    format!("<{clean}>")
}

/// `id` as the world sees it: a Message-ID the store minted (`…@sender.leje.invalid`)
/// takes the sender's domain, as RFC 5322 §3.6.4 recommends for an ID's right-hand side;
/// any other (the applicant's, the office's, or one minted before this rewrite
/// existed, which went out as `…@leje.invalid`) is left as it is.
///
/// NOTE: done here, where every header that names one of leje's IDs is written
/// (Message-ID, In-Reply-To, References), so a follow-up threads under the email
/// that was actually sent, and a retried send keeps its ID. A non-ASCII domain
/// keeps the placeholder rather than be mangled by [`angle`].
fn public_id(id: &str, domain: &str) -> String {
    let minted = id
        .strip_suffix(crate::store::MINTED_DOMAIN)
        .and_then(|s| s.strip_suffix('@'))
        .filter(|local| local.starts_with("leje-"));
    match minted {
        Some(local) if !domain.is_empty() && domain.chars().all(|c| c.is_ascii_graphic()) => {
            format!("{local}@{domain}")
        }
        _ => id.to_owned(),
    }
}

/// The declared type, unless it says nothing useful and the bytes are a PDF.
pub fn effective_content_type(declared: &str, data: &[u8]) -> String {
    let d = declared.trim().to_ascii_lowercase();
    let vague = d.is_empty()
        || d == "application/octet-stream"
        || d == "application/x-download"
        || d == "application/download"
        || d.parse::<ContentType>().is_err();
    if vague && data.starts_with(b"%PDF") {
        "application/pdf".to_string()
    } else if d.is_empty() || d.parse::<ContentType>().is_err() {
        "application/octet-stream".to_string()
    } else {
        d
    }
}

fn raw(name: &'static str, value: impl Into<String>) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.into())
}

/// Assemble the message. Body: text/plain, or multipart/alternative (text, HTML);
/// wrapped in multipart/mixed with the attachments when there are any.
pub fn build(
    env: &Envelope,
    body: &Rendered,
    attachments: &[AttachmentFile],
) -> Result<Message, BuildError> {
    let from = mailbox(&env.from)?;
    let id = |s: &str| angle(&public_id(s, from.email.domain()));
    let mut b = Message::builder()
        .from(from.clone())
        .subject(body.subject.clone())
        .message_id(Some(id(&env.message_id)))
        .date_now()
        // NOTE: RFC 3834 §5: an automatic response says so, so that well-behaved
        // autoresponders (and leje's own parser) never answer it.
        .raw_header(raw("Auto-Submitted", "auto-replied"))
        .raw_header(raw("X-Auto-Response-Suppress", "All"))
        .raw_header(raw("X-Leje", "1"))
        .raw_header(raw("X-Leje-Case", env.case_id.to_string()))
        .raw_header(raw("X-Leje-Kind", env.kind));
    for (name, value) in &env.extra {
        b = b.raw_header(raw(name, value.clone()));
    }
    for to in &env.to {
        b = b.to(mailbox(to)?);
    }
    for cc in &env.cc {
        b = b.cc(mailbox(cc)?);
    }
    if let Some(irt) = &env.in_reply_to {
        b = b.in_reply_to(id(irt));
    }
    let mut refs: Vec<String> = env.references.iter().map(|r| id(r)).collect();
    if let Some(irt) = &env.in_reply_to {
        let irt = id(irt);
        if !refs.contains(&irt) {
            refs.push(irt);
        }
    }
    if !refs.is_empty() {
        b = b.references(refs.join(" "));
    }

    let text = SinglePart::plain(body.text.clone());
    let content = match &body.html {
        Some(html) => Content::Multi(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(html.clone())),
        ),
        None => Content::Single(text),
    };
    let msg = if attachments.is_empty() {
        match content {
            Content::Single(p) => b.singlepart(p)?,
            Content::Multi(m) => b.multipart(m)?,
        }
    } else {
        let mut mixed = match content {
            Content::Single(p) => MultiPart::mixed().singlepart(p),
            Content::Multi(m) => MultiPart::mixed().multipart(m),
        };
        for a in attachments {
            let ct = effective_content_type(&a.content_type, &a.data);
            let ct = ContentType::parse(&ct).unwrap_or(ContentType::TEXT_PLAIN);
            // NOTE: always base64. Left to itself lettre picks 7bit/quoted-printable for
            // ASCII-looking bytes and rewrites LF to CRLF, which corrupts a PDF.
            let body = Body::new_with_encoding(a.data.clone(), ContentTransferEncoding::Base64)
                .unwrap_or_else(Body::new);
            mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(body, ct));
        }
        b.multipart(mixed)?
    };
    Ok(msg)
}

enum Content {
    Single(SinglePart),
    Multi(MultiPart),
}

/// A safe file name for an attachment that had none: `waybill-1.pdf`, `waybill-2.jpg`, …
pub fn fallback_filename(index: usize, content_type: &str) -> String {
    let ext = match content_type {
        "application/pdf" => "pdf",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/tiff" => "tif",
        _ => "bin",
    };
    format!("waybill-{}.{ext}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(html: bool) -> Rendered {
        Rendered {
            subject: "Residence permit approved: your next steps (Ana Müller)".into(),
            text: "Dear Ana,\nstep 1\n".into(),
            html: html.then(|| "<p>Dear Ana</p>".into()),
        }
    }

    fn env() -> Envelope {
        Envelope {
            from: "leje <permits@example.al>".into(),
            to: vec!["ana@example.com".into()],
            cc: vec!["agency@example.al".into()],
            message_id: "leje.1.abc@example.al".into(),
            in_reply_to: Some("<fwd-1@mail.example.com>".into()),
            references: vec!["orig@asp.gov.al".into()],
            case_id: 7,
            kind: "instructions",
            extra: Vec::new(),
        }
    }

    /// The store's IDs leave under the sender's domain, in all three headers that
    /// can name them; the applicant's and the office's IDs are untouched.
    #[test]
    fn minted_ids_take_the_senders_domain() {
        let mut e = env();
        e.message_id = "leje-0192a1b2c3d4e5f60718293a4b5c@sender.leje.invalid".into();
        e.in_reply_to = Some("leje-00aa@sender.leje.invalid".into());
        e.references = vec![
            "orig@asp.gov.al".into(),
            "leje-00aa@sender.leje.invalid".into(),
        ];
        let m = build(&e, &rendered(false), &[]).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        for h in [
            "Message-ID: <leje-0192a1b2c3d4e5f60718293a4b5c@example.al>",
            "In-Reply-To: <leje-00aa@example.al>",
            "References: <orig@asp.gov.al> <leje-00aa@example.al>",
        ] {
            assert!(raw.contains(h), "missing {h:?} in\n{raw}");
        }
        assert!(!raw.contains("leje.invalid"), "{raw}");

        // An ID minted before the rewrite existed went out as it is: it stays so,
        // and a follow-up threads under the email actually sent then.
        assert_eq!(
            public_id("leje-1@leje.invalid", "example.al"),
            "leje-1@leje.invalid"
        );

        // Only IDs of the store's own shape; a non-ASCII domain keeps the placeholder.
        assert_eq!(
            public_id("x-1@sender.leje.invalid", "example.al"),
            "x-1@sender.leje.invalid"
        );
        assert_eq!(
            public_id("leje-1@sender.leje.invalid.al", "example.al"),
            "leje-1@sender.leje.invalid.al"
        );
        assert_eq!(
            public_id("leje-1@sender.leje.invalid", "shqipëri.al"),
            "leje-1@sender.leje.invalid"
        );
        assert_eq!(
            public_id("leje-1@sender.leje.invalid", "Example.AL"),
            "leje-1@Example.AL"
        );
    }

    #[test]
    fn headers_and_structure() {
        let pdf = AttachmentFile {
            filename: "mandatpagesa.pdf".into(),
            content_type: "application/octet-stream".into(),
            data: b"%PDF-1.4\nfake\n%%EOF\n".to_vec(),
        };
        let m = build(&env(), &rendered(true), &[pdf]).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        for h in [
            "Message-ID: <leje.1.abc@example.al>",
            "In-Reply-To: <fwd-1@mail.example.com>",
            "References: <orig@asp.gov.al> <fwd-1@mail.example.com>",
            "Auto-Submitted: auto-replied",
            "X-Leje: 1",
            "X-Leje-Case: 7",
            "X-Leje-Kind: instructions",
            "Cc: agency@example.al",
            "multipart/mixed",
            "multipart/alternative",
            "text/html",
            "application/pdf",
            "filename=\"mandatpagesa.pdf\"",
        ] {
            assert!(raw.contains(h), "missing {h:?} in\n{raw}");
        }
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Residence permit approved: your next steps (Ana Müller)")
        );
        assert_eq!(parsed.attachment_count(), 1);
        // byte for byte: no LF → CRLF rewriting of the PDF
        assert_eq!(
            parsed.attachment(0).unwrap().contents(),
            b"%PDF-1.4\nfake\n%%EOF\n"
        );
    }

    #[test]
    fn plain_only_without_html_or_attachments() {
        let m = build(&env(), &rendered(false), &[]).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Content-Type: text/plain"));
        assert!(!raw.contains("multipart"));
    }

    #[test]
    fn bad_address_is_an_error() {
        let mut e = env();
        e.to = vec!["not an address".into()];
        assert!(matches!(
            build(&e, &rendered(false), &[]),
            Err(BuildError::Address { .. })
        ));
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            effective_content_type("application/octet-stream", b"%PDF-1.7"),
            "application/pdf"
        );
        assert_eq!(
            effective_content_type("image/JPEG", b"\xff\xd8"),
            "image/jpeg"
        );
        assert_eq!(
            effective_content_type("", b"xx"),
            "application/octet-stream"
        );
        assert_eq!(fallback_filename(0, "application/pdf"), "waybill-1.pdf");
    }
}
