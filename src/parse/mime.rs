//! Walking the MIME tree (mail-parser 0.11): text segments in document order
//! (HTML converted), attachments, nested message/rfc822 with their own
//! From/Date/To, and signs of a broken structure.

use super::{date, fallback, filename, flowed, forward::find_email, html};
use chrono::{DateTime, FixedOffset};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use std::collections::HashSet;

/// Nested messages deeper than this are not opened.
const MAX_DEPTH: usize = 8;
/// Parts visited per message tree.
const MAX_PARTS: usize = 2000;
/// Text kept over all segments.
// NOTE: 4 MiB: each byte of text analysed costs about seven more (folded copy,
// its offset map, the unquoted copy); a notice, even deep in a forward chain,
// is within the first few hundred kilobytes.
const MAX_TEXT: usize = 4 << 20;

/// Envelope of an attached message (or of the outer message).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub from: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
    pub to: Option<String>,
}

impl Origin {
    pub fn of(m: &Message<'_>) -> Origin {
        Origin {
            from: addr(m.from()),
            date: m.date().and_then(date::from_header),
            to: addr(m.to()),
        }
    }
}

/// First address of an address header, lower-case.
pub fn addr(a: Option<&mail_parser::Address<'_>>) -> Option<String> {
    let a = a?;
    a.iter()
        .filter_map(|x| x.address())
        .find_map(|s| find_email(s).or_else(|| (!s.is_empty()).then(|| s.to_lowercase())))
}

/// A run of readable text and the attached message it came from (if any).
#[derive(Debug)]
pub struct Segment {
    pub text: String,
    /// Index into [`Walk::origins`]; `None` for the outer message's own text.
    pub origin: Option<usize>,
    /// mail-parser could not decode the part (e.g. garbage base64) and kept it raw.
    pub undecoded: bool,
}

/// A leaf part that is not text.
#[derive(Debug)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub data: Vec<u8>,
    pub content_id: Option<String>,
    pub inline: bool,
    pub in_related: bool,
}

/// Everything collected from one message tree.
#[derive(Debug, Default)]
pub struct Walk {
    pub segments: Vec<Segment>,
    pub origins: Vec<Origin>,
    pub attachments: Vec<Attachment>,
    /// Content-IDs referenced as `cid:` from HTML parts.
    pub cids: HashSet<String>,
    pub has_calendar: bool,
    pub is_report: bool,
    pub broken: bool,
    text_len: usize,
    parts: usize,
    boundary_checks: usize,
}

/// Walks a parsed message.
pub fn walk(msg: &Message<'_>) -> Walk {
    let mut w = Walk::default();
    if let Some(ct) = msg.root_part().content_type() {
        w.is_report = ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    }
    part(&mut w, msg, 0, None, 0, false);
    w
}

fn content_type(p: &mail_parser::MessagePart<'_>) -> String {
    match p.content_type() {
        Some(ct) => match ct.subtype() {
            Some(st) => format!("{}/{}", ct.ctype(), st).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".into(),
    }
}

/// Keeps at most what is left of [`MAX_TEXT`] of `text` (copied only that far):
/// a 25 MB one-line body costs one bounded copy, not a copy per stage.
fn push_text(w: &mut Walk, text: &str, origin: Option<usize>, undecoded: bool) {
    if w.text_len >= MAX_TEXT {
        return;
    }
    let mut end = text.len().min(MAX_TEXT - w.text_len);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = text[..end].to_owned();
    w.text_len += text.len();
    w.segments.push(Segment {
        text,
        origin,
        undecoded,
    });
}

fn part(
    w: &mut Walk,
    msg: &Message<'_>,
    id: usize,
    origin: Option<usize>,
    depth: usize,
    in_related: bool,
) {
    w.parts += 1;
    if w.parts > MAX_PARTS || !crate::budget::check_now() {
        return;
    }
    let Some(p) = msg.parts.get(id) else {
        w.broken = true;
        return;
    };
    if p.is_encoding_problem {
        w.broken = true;
    }
    let ct = content_type(p);
    let filename = filename::of(msg, p);
    let is_attachment = p
        .content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
    match &p.body {
        PartType::Multipart(children) => {
            if let Some(ct) = p.content_type() {
                match ct.attribute("boundary") {
                    None => w.broken = true,
                    Some(b) if w.boundary_checks < 16 => {
                        w.boundary_checks += 1;
                        let raw = msg.raw_message();
                        let closing = format!("--{b}--");
                        // NOTE: from the end: a closing boundary is nearly always there.
                        if memchr::memmem::rfind(raw, closing.as_bytes()).is_none() {
                            w.broken = true;
                        }
                    }
                    Some(_) => {}
                }
            }
            let related = ct == "multipart/related";
            for &c in children.iter() {
                if c as usize <= id {
                    continue; // never loop back
                }
                part(w, msg, c as usize, origin, depth, related);
            }
        }
        PartType::Message(m) => nested(w, m, depth),
        PartType::Text(t) if !ct.starts_with("text/") && !ct.starts_with("message/") => {
            // A binary part mail-parser could not decode (e.g. the last part of a
            // multipart with no closing boundary): decode it leniently ourselves.
            let cte = p
                .content_transfer_encoding()
                .unwrap_or("")
                .to_ascii_lowercase();
            let data = match cte.as_str() {
                "base64" => fallback::base64_lenient(t.as_bytes()),
                "quoted-printable" => fallback::qp_lenient(t.as_bytes()),
                _ => t.as_bytes().to_vec(),
            };
            attachment(w, p, filename, ct, data, in_related);
        }
        PartType::Text(t) => {
            if ct == "text/calendar" || ct == "application/ics" {
                w.has_calendar = true;
            } else if is_attachment && ct != "text/plain" && ct != "text/html" {
                // A text attachment that is not a body (csv, vcard, …): not read.
            } else if let Some(delsp) = flowed_params(p) {
                // Only what push_text keeps is unflowed (a huge body is not copied whole).
                let mut end = t.len().min(MAX_TEXT.saturating_sub(w.text_len));
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                let text = flowed::unflow(&t[..end], delsp);
                push_text(w, &text, origin, p.is_encoding_problem);
            } else {
                push_text(w, t, origin, p.is_encoding_problem);
            }
        }
        PartType::Html(h) => {
            collect_cids(&mut w.cids, h);
            push_text(w, &html::to_text(h), origin, p.is_encoding_problem);
        }
        PartType::Binary(b) | PartType::InlineBinary(b) => {
            let is_eml = ct == "message/rfc822"
                || filename
                    .as_deref()
                    .is_some_and(|f| f.to_ascii_lowercase().ends_with(".eml"));
            if ct == "text/calendar" || ct == "application/ics" {
                w.has_calendar = true;
            }
            if is_eml && depth < MAX_DEPTH {
                let bytes: &[u8] = b.as_ref();
                let m = std::panic::catch_unwind(|| MessageParser::default().parse(bytes));
                if let Ok(Some(m)) = m {
                    nested(w, &m, depth);
                    return;
                }
            }
            attachment(w, p, filename, ct, b.to_vec(), in_related);
        }
    }
}

/// `Some(delsp)` for a `text/plain; format=flowed` part (RFC 3676).
fn flowed_params(p: &mail_parser::MessagePart<'_>) -> Option<bool> {
    let ct = p.content_type()?;
    if !ct.attribute("format")?.eq_ignore_ascii_case("flowed") {
        return None;
    }
    Some(
        ct.attribute("delsp")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes")),
    )
}

fn attachment(
    w: &mut Walk,
    p: &mail_parser::MessagePart<'_>,
    filename: Option<String>,
    content_type: String,
    data: Vec<u8>,
    in_related: bool,
) {
    w.attachments.push(Attachment {
        filename,
        content_type,
        data,
        content_id: p
            .content_id()
            .map(|s| s.trim_matches(['<', '>', ' ']).to_string()),
        inline: p
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"))
            || matches!(p.body, PartType::InlineBinary(_)),
        in_related,
    });
}

fn nested(w: &mut Walk, m: &Message<'_>, depth: usize) {
    if depth >= MAX_DEPTH {
        return;
    }
    w.origins.push(Origin::of(m));
    let o = w.origins.len() - 1;
    part(w, m, 0, Some(o), depth + 1, false);
}

fn collect_cids(set: &mut HashSet<String>, html: &str) {
    let mut at = 0;
    while let Some(p) = find_ci(&html.as_bytes()[at..], b"cid:") {
        let s = at + p + 4;
        let end = html[s..]
            .find(['"', '\'', ')', ' ', '>', '<'])
            .map_or(html.len(), |q| s + q);
        set.insert(html[s..end].to_string());
        at = end.max(s);
        if set.len() > 1000 {
            break;
        }
    }
}

fn find_ci(h: &[u8], n: &[u8]) -> Option<usize> {
    if h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&k| h[k..k + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternative_and_nested() {
        let raw = b"From: A <a@x.com>\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>html <img src=\"cid:sig1\"></p>\r\n--b2--\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Office <Office@gov.al>\r\nDate: Wed, 22 Dec 2021 09:14:00 +0100\r\nTo: me@x.com\r\n\r\ninner text\r\n--b1\r\nContent-Type: application/pdf; name=\"w.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b1--\r\n";
        let m = MessageParser::default().parse(&raw[..]).unwrap();
        let w = walk(&m);
        let texts: Vec<&str> = w.segments.iter().map(|s| s.text.trim()).collect();
        assert_eq!(texts, vec!["plain", "html", "inner text"]);
        assert_eq!(w.segments[2].origin, Some(0));
        assert_eq!(w.origins[0].from.as_deref(), Some("office@gov.al"));
        assert_eq!(w.attachments.len(), 1);
        assert_eq!(w.attachments[0].filename.as_deref(), Some("w.pdf"));
        assert_eq!(w.attachments[0].data, b"%PDF-1.4");
        assert!(w.cids.contains("sig1"));
        assert!(!w.broken);
    }

    #[test]
    fn truncated_multipart_is_broken() {
        let raw = b"From: a@x.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhello";
        let m = MessageParser::default().parse(&raw[..]).unwrap();
        assert!(walk(&m).broken);
    }
}
