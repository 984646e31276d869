//! Attachment filenames written as several RFC 2047 encoded words inside a
//! quoted parameter (`name="=?UTF-8?Q?M=C3=A4?= =?UTF-8?Q?ximilian_Gruber.pdf?="`).
//!
//! mail-parser 0.11 decodes such a value with the whitespace between the words
//! kept ("Mä ximilian Gruber.pdf"); RFC 2047 §6.2 says whitespace between
//! adjacent encoded words is not displayed. The raw parameter is read again
//! and its words decoded by mail-parser's own unstructured-header decoder,
//! which joins them.

use mail_parser::{HeaderName, Message, MessageParser, MessagePart, MimeHeaders};

/// Raw header values longer than this are not looked at again.
const MAX_RAW: usize = 8 << 10;

/// The part's decoded filename (Content-Disposition `filename`, else
/// Content-Type `name`), adjacent encoded words joined.
pub fn of(msg: &Message<'_>, p: &MessagePart<'_>) -> Option<String> {
    let decoded = p.attachment_name()?;
    if !decoded.contains(' ') {
        return Some(decoded.to_string());
    }
    let raw_of = |name: HeaderName<'_>, param: &str| {
        p.headers.iter().find(|h| h.name == name).and_then(|h| {
            let (a, b) = (h.offset_start as usize, h.offset_end as usize);
            let raw = msg.raw_message().get(a..b.min(a + MAX_RAW))?;
            raw_param(&String::from_utf8_lossy(raw), param)
        })
    };
    let raw = raw_of(HeaderName::ContentDisposition, "filename")
        .or_else(|| raw_of(HeaderName::ContentType, "name"));
    match raw {
        Some(v) if v.matches("=?").count() >= 2 => {
            Some(join_words(&v).unwrap_or_else(|| decoded.to_string()))
        }
        _ => Some(decoded.to_string()),
    }
}

/// The raw value of parameter `key` (`key="…"` or `key=token`), unfolded.
fn raw_param(header: &str, key: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(key).map(|i| from + i) {
        from = i + key.len();
        let before = lower[..i].chars().next_back();
        let after = lower[i + key.len()..].trim_start_matches([' ', '\t']);
        if !matches!(before, Some(';' | ' ' | '\t' | '\n' | '\r')) || !after.starts_with('=') {
            continue;
        }
        let v = header[header.len() - after.len() + 1..].trim_start_matches([' ', '\t']);
        let v = if let Some(q) = v.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            &q[..end]
        } else {
            let end = v.find([';', '\r', '\n']).unwrap_or(v.len());
            v[..end].trim()
        };
        return Some(v.replace(['\r', '\n'], ""));
    }
    None
}

/// Decodes a run of encoded words as an unstructured header value, where
/// mail-parser joins adjacent words as RFC 2047 §6.2 says.
fn join_words(v: &str) -> Option<String> {
    let raw = format!("Subject: {v}\r\n\r\n");
    let m = MessageParser::default().parse(raw.as_bytes())?;
    let s = m.subject()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(headers: &str) -> Option<String> {
        let raw = format!("{headers}\r\n\r\nJVBERi0=\r\n");
        let m = MessageParser::default().parse(raw.as_bytes()).unwrap();
        of(&m, &m.parts[0])
    }

    #[test]
    fn adjacent_words_are_joined() {
        assert_eq!(
            name("Content-Type: application/pdf;\r\n name=\"=?UTF-8?Q?M=C3=A4?= =?UTF-8?Q?ximilian_Gruber.pdf?=\"").as_deref(),
            Some("Mäximilian Gruber.pdf")
        );
        assert_eq!(
            name("Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n filename=\"=?utf-8?B?TSBh?=\r\n =?utf-8?B?eGltaWxpYW4gR3J1YmVyLnBkZg==?=\"").as_deref(),
            Some("M aximilian Gruber.pdf")
        );
        // A space inside one word, or between plain words, stays.
        assert_eq!(
            name("Content-Type: application/pdf; name=\"=?UTF-8?Q?Ana_Lee.pdf?=\"").as_deref(),
            Some("Ana Lee.pdf")
        );
        assert_eq!(
            name("Content-Type: application/pdf; name=\"Ana Lee.pdf\"").as_deref(),
            Some("Ana Lee.pdf")
        );
    }
}
