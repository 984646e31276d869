//! Which waybills may travel with an email: only PDFs and images whose bytes
//! are what they claim (magic numbers), at most `trust.max_attachments` of
//! them and `trust.max_attachment_bytes` in all, each named with the extension
//! of what it really is. Anything else stays in the store for staff to see.

/// What a file's first bytes say it is: its MIME type and file extension.
pub fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    const KINDS: [(&[u8], &str, &str); 6] = [
        (b"%PDF-", "application/pdf", "pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
        (b"\xff\xd8\xff", "image/jpeg", "jpg"),
        (b"GIF87a", "image/gif", "gif"),
        (b"GIF89a", "image/gif", "gif"),
        (b"II*\x00", "image/tiff", "tif"),
    ];
    // NOTE: a PDF may start after a little junk (Acrobat reads up to 1 KB).
    let head = &data[..data.len().min(1024)];
    if memchr::memmem::find(head, b"%PDF-").is_some() {
        return Some(("application/pdf", "pdf"));
    }
    if data.starts_with(b"MM\x00*") {
        return Some(("image/tiff", "tif"));
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Some(("image/webp", "webp"));
    }
    KINDS
        .iter()
        .find(|(magic, _, _)| data.starts_with(magic))
        .map(|(_, ct, ext)| (*ct, *ext))
}

/// Whether a declared type agrees with the sniffed one (vague types agree with anything).
fn agrees(declared: &str, sniffed: &str) -> bool {
    let d = declared.trim().to_ascii_lowercase();
    let d = d.split(';').next().unwrap_or("").trim();
    d == sniffed
        || d.is_empty()
        || matches!(
            d,
            "application/octet-stream" | "application/x-download" | "application/download"
        )
        || (d == "image/jpg" && sniffed == "image/jpeg")
        || (d == "application/x-pdf" && sniffed == "application/pdf")
}

/// One waybill as it will be attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub filename: String,
    pub content_type: String,
}

/// The file name to send: the original stem (or `waybill-N`) with the real extension.
fn named(filename: Option<&str>, index: usize, ext: &str) -> String {
    let stem = filename
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .map(|f| f.rsplit_once('.').map_or(f, |(s, _)| s))
        // One sanitiser for every name from email (control characters and escapes out).
        .and_then(crate::sanitize::filename)
        .map(|s| s.chars().take(80).collect::<String>())
        .filter(|s| !s.trim().is_empty());
    match stem {
        Some(s) => format!("{}.{ext}", s.trim()),
        None => format!("waybill-{}.{ext}", index + 1),
    }
}

/// Decides one waybill given those already taken (`count` files, `bytes` in
/// all): `Ok(what to attach)` or `Err(why it stays behind)`.
pub fn check(
    filename: Option<&str>,
    declared: &str,
    data: &[u8],
    index: usize,
    (count, bytes): (usize, u64),
    (max_count, max_bytes): (usize, u64),
) -> Result<Checked, String> {
    let Some((ct, ext)) = sniff(data) else {
        return Err("not a PDF or image".into());
    };
    if !agrees(declared, ct) {
        return Err(format!("declared {declared} but is {ct}"));
    }
    if count >= max_count {
        return Err(format!("more than {max_count} attachments"));
    }
    if bytes + data.len() as u64 > max_bytes {
        return Err(format!("over {max_bytes} bytes of attachments"));
    }
    Ok(Checked {
        filename: named(filename, index, ext),
        content_type: ct.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: (usize, u64) = (2, 100);

    #[test]
    fn bytes_must_be_what_they_claim() {
        let pdf = b"%PDF-1.4 ...";
        let c = check(
            Some("Mandat.PDF"),
            "application/pdf",
            pdf,
            0,
            (0, 0),
            LIMITS,
        )
        .unwrap();
        assert_eq!(c.filename, "Mandat.pdf");
        // An executable declared as an image, named .exe: not attached.
        let exe = b"MZ\x90\x00\x03\x00\x00\x00";
        assert!(check(Some("Invoice.exe"), "image/png", exe, 0, (0, 0), LIMITS).is_err());
        // A real PNG called .exe goes out as .png.
        let png = b"\x89PNG\r\n\x1a\nrest";
        let c = check(Some("Invoice.exe"), "image/png", png, 0, (0, 0), LIMITS).unwrap();
        assert_eq!(
            (c.filename.as_str(), c.content_type.as_str()),
            ("Invoice.png", "image/png")
        );
        // A PDF declared as an image is refused; a vague type is fine.
        assert!(check(None, "image/png", pdf, 0, (0, 0), LIMITS).is_err());
        let c = check(None, "application/octet-stream", pdf, 1, (0, 0), LIMITS).unwrap();
        assert_eq!(c.filename, "waybill-2.pdf");
        assert_eq!(named(Some("a\u{1b}c\u{7}.pdf"), 0, "pdf"), "ac.pdf");
    }

    #[test]
    fn caps_on_count_and_size() {
        let pdf = [b"%PDF-".as_slice(), &[b'x'; 45]].concat();
        assert!(check(None, "application/pdf", &pdf, 0, (1, 50), LIMITS).is_ok());
        assert!(check(None, "application/pdf", &pdf, 0, (2, 0), LIMITS).is_err());
        assert!(check(None, "application/pdf", &pdf, 0, (1, 51), LIMITS).is_err());
    }
}
