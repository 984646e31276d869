//! Last-resort lossy scan of the raw bytes, for mail whose MIME structure is
//! too broken for mail-parser to yield usable text (truncated parts, missing
//! boundaries, NUL bytes, raw 8-bit headers): split at boundary-looking lines,
//! decode base64/quoted-printable leniently, guess the charset, strip HTML.

use super::html;

/// Raw input scanned at most.
// NOTE: 4 MiB, not 16: the scan makes several copies of what it reads (NULs
// removed, lines joined, decoded, lower-cased), and a notice is near the top.
const MAX_SCAN: usize = 4 << 20;

/// Readable text recovered from raw message bytes.
pub fn text(raw: &[u8]) -> String {
    let raw = &raw[..raw.len().min(MAX_SCAN)];
    let cleaned: Vec<u8> = raw.iter().copied().filter(|&b| b != 0).collect();
    let (head, body) = split_head(&cleaned);
    let outer = ChunkInfo::from_headers(head);
    let mut out = String::new();
    // NOTE: the chunk is its byte range in `body`, not a list of its lines: a
    // body of millions of empty lines cost 16 bytes a line.
    let mut chunk = 0..0;
    let mut first = true;
    let mut at = 0;
    for line in body.split(|&b| b == b'\n') {
        if !crate::budget::check() {
            break;
        }
        let start = at;
        at += line.len() + 1;
        let l = strip_cr(line);
        if l.starts_with(b"--") && l.len() >= 3 && !l[2..].contains(&b' ') {
            flush(&mut out, &body[chunk.clone()], first.then_some(&outer));
            chunk = at.min(body.len())..at.min(body.len());
            first = false;
            continue;
        }
        chunk.end = (start + line.len()).min(body.len());
    }
    flush(&mut out, &body[chunk], first.then_some(&outer));
    out
}

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Splits at the first empty line; no empty line → no header.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let mut line_start = 0;
    for i in memchr::memchr_iter(b'\n', raw) {
        if strip_cr(&raw[line_start..i]).is_empty() {
            return (&raw[..line_start], &raw[i + 1..]);
        }
        line_start = i + 1;
    }
    (&[], raw)
}

#[derive(Default)]
struct ChunkInfo {
    ctype: String,
    cte: String,
    charset: String,
}

impl ChunkInfo {
    fn from_headers(head: &[u8]) -> ChunkInfo {
        let mut info = ChunkInfo::default();
        let h = String::from_utf8_lossy(head).to_ascii_lowercase();
        // Unfold continuation lines.
        let h = h
            .replace("\r\n", "\n")
            .replace("\n ", " ")
            .replace("\n\t", " ");
        for line in h.lines() {
            if let Some(v) = line.strip_prefix("content-type:") {
                info.ctype = v.split(';').next().unwrap_or("").trim().to_string();
                if let Some(p) = v.find("charset=") {
                    info.charset = v[p + 8..]
                        .trim_start_matches('"')
                        .split(['"', ';', ' '])
                        .next()
                        .unwrap_or("")
                        .to_string();
                }
            } else if let Some(v) = line.strip_prefix("content-transfer-encoding:") {
                info.cte = v.trim().to_string();
            }
        }
        info
    }
}

/// `chunk`: the chunk's lines as they are in the body (CR LF or LF).
fn flush(out: &mut String, chunk: &[u8], outer: Option<&ChunkInfo>) {
    if chunk.is_empty() {
        return;
    }
    let mut joined = Vec::with_capacity(chunk.len());
    for (i, l) in chunk.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            joined.push(b'\n');
        }
        joined.extend_from_slice(strip_cr(l));
    }
    // A part inside a multipart starts with its own headers.
    let (info, body) = match outer {
        Some(o) => (
            ChunkInfo {
                ctype: o.ctype.clone(),
                cte: o.cte.clone(),
                charset: o.charset.clone(),
            },
            &joined[..],
        ),
        None => {
            let looks_headed = joined
                .split(|&b| b == b'\n')
                .find(|l| !l.is_empty())
                .is_some_and(|l| l.to_ascii_lowercase().starts_with(b"content-"));
            if looks_headed {
                let (h, b) = split_head(&joined);
                let (h, b) = if h.is_empty() {
                    (&joined[..], &[][..])
                } else {
                    (h, b)
                };
                (ChunkInfo::from_headers(h), b)
            } else {
                (ChunkInfo::default(), &joined[..])
            }
        }
    };
    // The preamble of a multipart ("This is a multi-part message …") is not a body.
    if outer.is_some() && info.ctype.starts_with("multipart/") {
        return;
    }
    if !(info.ctype.is_empty()
        || info.ctype.starts_with("text/")
        || info.ctype.starts_with("multipart/")
        || info.ctype == "message/rfc822")
        || info.ctype == "text/calendar"
    {
        return;
    }
    let bytes = match info.cte.as_str() {
        "base64" => base64_lenient(body),
        "quoted-printable" => qp_lenient(body),
        _ => body.to_vec(),
    };
    let s = decode_charset(&bytes, &info.charset);
    let lower = s.to_ascii_lowercase();
    let is_html = info.ctype == "text/html"
        || ["<html", "<br", "<p>", "<div", "<body"]
            .iter()
            .any(|t| lower.contains(t));
    let s = if is_html { html::to_text(&s) } else { s };
    out.push_str(&s);
    out.push('\n');
}

/// UTF-8 when valid, else the declared charset, else windows-1250.
pub fn decode_charset(bytes: &[u8], charset: &str) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let cs = if charset.is_empty() || charset.starts_with("utf") {
        "windows-1250"
    } else {
        charset
    };
    match mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()) {
        Some(dec) => dec(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Base64 that skips anything outside the alphabet and stops at `=`.
pub fn base64_lenient(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() * 3 / 4);
    let mut acc = 0u32;
    let mut n = 0;
    for &c in b {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                if n >= 2 {
                    break;
                }
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Quoted-printable that keeps malformed escapes as they are.
pub fn qp_lenient(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A header value from raw bytes (first occurrence, unfolded), for when
/// mail-parser returned nothing.
pub fn raw_header(raw: &[u8], name: &str) -> Option<String> {
    let [v] = raw_headers(raw, [name]);
    v
}

/// [`raw_header`] for several names in one pass over the header.
///
/// NOTE: matched on bytes, line by line; only the values found are decoded. The
/// pipeline asks for several headers of every message: decoding the whole header
/// each time was a tenth of its parse time, and a pass per name still 7 %.
pub fn raw_headers<const N: usize>(raw: &[u8], names: [&str; N]) -> [Option<String>; N] {
    let mut out = [const { None }; N];
    let (head, _) = split_head(&raw[..raw.len().min(1 << 20)]);
    let head = if head.is_empty() { raw } else { head };
    let mut left = N;
    let mut lines = head.split(|&b| b == b'\n').map(strip_cr).peekable();
    while let Some(l) = lines.next() {
        if left == 0 {
            break;
        }
        let Some(colon) = memchr::memchr(b':', l) else {
            continue;
        };
        let key = l[..colon].trim_ascii();
        let Some(i) = names
            .iter()
            .position(|n| key.eq_ignore_ascii_case(n.as_bytes()))
        else {
            continue;
        };
        let mut v = String::from_utf8_lossy(l[colon + 1..].trim_ascii()).into_owned();
        while let Some(n) = lines.next_if(|n| n.starts_with(b" ") || n.starts_with(b"\t")) {
            if !v.is_empty() {
                v.push(' ');
            }
            v.push_str(&String::from_utf8_lossy(n.trim_ascii()));
        }
        if out[i].is_none() {
            out[i] = Some(v);
            left -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_base64_part_is_recovered() {
        let raw = b"From: a@x.com\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSnUgaW5mb3Jtb2ptw6sgc2U=\n--q\nContent-Type: image/png\n\n\x89PNG";
        let t = text(raw);
        assert!(t.contains("Ju informojmë se"), "{t}");
        assert!(!t.contains("PNG"));
    }

    #[test]
    fn nul_bytes_and_cp1250() {
        let raw = b"Subject: x\n\nLeja e Q\xebndrimit\x00 p\xebr";
        assert_eq!(text(raw).trim(), "Leja e Qëndrimit për");
    }

    #[test]
    fn several_headers_in_one_pass() {
        let raw = b"Precedence: bulk\r\nX-Autoreply:\r\n  yes\r\nprecedence: list\r\n\r\nAuto-Submitted: no\r\n";
        let [p, a, s, m] = raw_headers(
            raw,
            ["precedence", "x-autoreply", "auto-submitted", "x-leje"],
        );
        // The first occurrence, unfolded; nothing from the body.
        assert_eq!(p.as_deref(), Some("bulk"));
        assert_eq!(a.as_deref(), Some("yes"));
        assert_eq!((s, m), (None, None));
        assert_eq!(raw_header(raw, "PRECEDENCE").as_deref(), Some("bulk"));
    }

    #[test]
    fn qp_and_headers() {
        assert_eq!(qp_lenient(b"p=C3=ABr=\nx=ZZ"), "përx=ZZ".as_bytes());
        assert_eq!(
            raw_header(b"From: A\n <a@b.c>\nX: y\n\nbody", "from").as_deref(),
            Some("A <a@b.c>")
        );
    }
}
