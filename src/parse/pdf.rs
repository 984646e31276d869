//! A bounded reader for a PDF's text layer: enough to read the amount on a
//! payment waybill.
//!
//! The file structure (cross-reference tables and streams, object streams,
//! filter chains, decryption with an empty user password) is lopdf's; leje
//! walks the pages' content streams itself (`content`), with fonts given by
//! reference, ToUnicode CMaps (`cmap`), simple encodings and glyph widths
//! (`font`) so that glyphs placed one at a time come out as words.
//!
//! Everything an attacker controls is bounded: each stream decodes to at most
//! [`MAX_STREAM`] bytes, a file to at most [`MAX_FILE_DECODED`] (images are
//! never decoded, so they cost nothing), a PDF gets [`TIME_BUDGET`] of wall
//! clock, Form XObjects nest at most [`MAX_FORM_DEPTH`] deep and
//! [`MAX_FORM_CALLS`] times, and the operand stack is linear. Because lopdf
//! parses every object up front, a file with more than [`MAX_TOKENS`] tokens
//! outside streams, or an object stream over [`MAX_LOAD_STREAM`], is not read.
//! lopdf runs inside `catch_unwind`; a file it cannot read, or one that
//! panics, has no text.

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

mod cmap;
mod content;
mod font;

/// Bytes one content, form or CMap stream may decode to.
pub(crate) const MAX_STREAM: usize = 4 << 20;
/// Bytes an object or cross-reference stream may decode to while lopdf loads
/// the file: lopdf parses every object in them up front, at up to ~100 bytes
/// of memory per token, so this bounds a compressed token bomb (~15 MB).
const MAX_LOAD_STREAM: usize = 256 << 10;
/// Tokens outside streams a file may have; beyond this it is not read (the
/// same ~100 bytes per token once lopdf has parsed them). A waybill has a few
/// thousand, a 200-page document some tens of thousands.
const MAX_TOKENS: usize = 200_000;
/// Bytes all content, form and CMap streams of one file may decode to.
pub(crate) const MAX_FILE_DECODED: usize = 16 << 20;
/// Text returned, in bytes.
pub(crate) const MAX_TEXT: usize = 1 << 20;
/// Operands kept on the content-stream stack.
pub(crate) const MAX_STACK: usize = 4096;
/// Pages read.
pub(crate) const MAX_PAGES: usize = 500;
/// Nesting of Form XObjects drawn by Form XObjects.
pub(crate) const MAX_FORM_DEPTH: usize = 8;
/// Form XObjects drawn per file.
pub(crate) const MAX_FORM_CALLS: usize = 512;
/// Wall-clock time one PDF may take (checked between pages, streams and every
/// few thousand content tokens; lopdf's own load is linear in the file).
pub const TIME_BUDGET: Duration = Duration::from_millis(500);

/// What a file may still spend.
pub(crate) struct Budget {
    deadline: Instant,
    decoded_left: usize,
    pub(crate) forms_left: usize,
    pub(crate) exhausted: bool,
}

impl Budget {
    fn new(limit: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + limit,
            decoded_left: MAX_FILE_DECODED,
            forms_left: MAX_FORM_CALLS,
            exhausted: false,
        }
    }

    /// True (and stays true) once the clock has run out.
    /// The message's own budget ([`crate::budget`]) counts too: a PDF stops when
    /// either runs out.
    pub(crate) fn out_of_time(&mut self) -> bool {
        if !self.exhausted && (Instant::now() >= self.deadline || !crate::budget::check()) {
            self.exhausted = true;
        }
        self.exhausted
    }
}

/// Extracts the text layer; `None` when the file has no readable text.
pub fn text(pdf: &[u8]) -> Option<String> {
    text_within(pdf, TIME_BUDGET)
}

/// [`text`] with a given time budget.
pub fn text_within(pdf: &[u8], limit: Duration) -> Option<String> {
    let head = &pdf[..pdf.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") || !crate::budget::check_now() {
        return None;
    }
    let mut budget = Budget::new(limit);
    // NOTE: lopdf is hardened against hostile files but not written never to
    // panic; a panic there (or here) costs this PDF its text, nothing more.
    let out = catch_unwind(AssertUnwindSafe(|| extract(pdf, &mut budget)))
        .ok()
        .flatten()?;
    out.chars().any(char::is_alphanumeric).then_some(out)
}

fn extract(pdf: &[u8], budget: &mut Budget) -> Option<String> {
    if too_many_tokens(pdf) {
        return None;
    }
    let opts = LoadOptions {
        max_decompressed_size: Some(MAX_LOAD_STREAM),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(pdf, opts.clone()) {
        Ok(d) => d,
        // Over a decompression limit: a bomb, not a file to repair.
        Err(lopdf::Error::Decompress(_)) => return None,
        Err(_) => Document::load_mem_with_options(&with_catalog(pdf), opts).ok()?,
    };
    let mut walker = content::Walker::new(&doc);
    let mut pages = 0;
    for page in doc.page_iter().take(MAX_PAGES) {
        pages += 1;
        if budget.out_of_time() || walker.out.len() > MAX_TEXT {
            break;
        }
        let Ok(dict) = doc.get_dictionary(page) else {
            continue;
        };
        let resources = inherited(&doc, dict, b"Resources").and_then(|o| as_dict(&doc, o));
        let mut data = Vec::new();
        for s in contents(&doc, dict) {
            if let Some(d) = decode(s, budget) {
                data.extend_from_slice(&d);
                data.push(b'\n');
            }
        }
        walker.run(&data, resources, budget, 0);
        walker.end_page();
    }
    if pages == 0 {
        loose_streams(&doc, &mut walker, budget);
    }
    Some(walker.out)
}

/// A file without a readable page tree: walks the streams that look like
/// page content (no subtype, not a font file, object or xref stream), as
/// viewers that rebuild such files do.
fn loose_streams(doc: &Document, walker: &mut content::Walker<'_>, budget: &mut Budget) {
    for o in doc.objects.values().take(10_000) {
        if budget.out_of_time() || walker.out.len() > MAX_TEXT {
            break;
        }
        let Object::Stream(s) = o else { continue };
        let d = &s.dict;
        let skip = [
            &b"Subtype"[..],
            b"Length1",
            b"Length2",
            b"Length3",
            b"N",
            b"W",
        ]
        .iter()
        .any(|k| d.has(k))
            || d.get(b"Type").ok().and_then(|t| name(doc, t)).is_some();
        if skip {
            continue;
        }
        if let Some(data) = decode(s, budget) {
            if data.windows(2).any(|w| w == b"BT") {
                walker.run(&data, None, budget, 0);
                walker.end_page();
            }
        }
    }
}

/// Whether the file has more than [`MAX_TOKENS`] tokens outside its streams
/// (a rough, generous count: every run of regular characters and every
/// delimiter). One pass; stream data is skipped, not counted.
fn too_many_tokens(pdf: &[u8]) -> bool {
    let delim = |c: u8| b"()<>[]{}/%".contains(&c);
    let (mut tokens, mut i, mut prev_regular) = (0usize, 0usize, false);
    let finder = memchr::memmem::Finder::new(b"endstream");
    while i < pdf.len() {
        let c = pdf[i];
        if c == b's' && pdf[i..].starts_with(b"stream") && !pdf[..i].ends_with(b"end") {
            let after = i + 6;
            if matches!(pdf.get(after), Some(b'\r' | b'\n')) {
                i = finder
                    .find(&pdf[after..])
                    .map_or(pdf.len(), |p| after + p + 9);
                prev_regular = false;
                tokens += 1;
                continue;
            }
        }
        let regular = !c.is_ascii_whitespace() && c != 0 && !delim(c);
        if delim(c) || (regular && !prev_regular) {
            tokens += 1;
            if tokens > MAX_TOKENS {
                return true;
            }
        }
        prev_regular = regular;
        i += 1;
    }
    false
}

/// A file lopdf cannot open (no trailer, no catalog) with an empty catalog
/// and a trailer appended, so that its objects are found by lopdf's
/// reconstruction and its loose content streams can be read.
fn with_catalog(pdf: &[u8]) -> Vec<u8> {
    let mut v = pdf.to_vec();
    // NOTE: lopdf's reconstruction takes object numbers under 1,000,000 and a
    // catalog only with a page tree; the empty one leads to `loose_streams`.
    v.extend_from_slice(
        b"\n999998 0 obj\n<< /Type /Catalog /Pages 999999 0 R >>\nendobj\n\
          999999 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
          trailer\n<< /Size 1000000 /Root 999998 0 R >>\n%%EOF\n",
    );
    v
}

/// A page attribute, inherited from the page tree when the page lacks it.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut d = page;
    for _ in 0..32 {
        if let Ok(v) = d.get(key) {
            return Some(v);
        }
        d = as_dict(doc, d.get(b"Parent").ok()?)?;
    }
    None
}

/// The content streams of a page (one stream or an array of them).
fn contents<'a>(doc: &'a Document, page: &'a Dictionary) -> Vec<&'a lopdf::Stream> {
    let Some(c) = page.get(b"Contents").ok().map(|o| deref(doc, o)) else {
        return Vec::new();
    };
    match c {
        Object::Stream(s) => vec![s],
        Object::Array(a) => a
            .iter()
            .take(1000)
            .filter_map(|o| match deref(doc, o) {
                Object::Stream(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Decodes a stream within the file's budget; `None` when over it, or when
/// the filter is one leje does not decode (images).
pub(crate) fn decode(s: &lopdf::Stream, budget: &mut Budget) -> Option<Vec<u8>> {
    let cap = MAX_STREAM.min(budget.decoded_left);
    if cap == 0 || budget.out_of_time() {
        return None;
    }
    let data = s.decompressed_content_with_limit(cap).ok()?;
    budget.decoded_left -= data.len().min(budget.decoded_left);
    Some(data)
}

/// Follows references (lopdf bounds the chain).
pub(crate) fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map_or(&Object::Null, |(_, o)| o)
}

/// The object id a value refers to, if it is a reference.
pub(crate) fn ref_id(o: &Object) -> Option<ObjectId> {
    match o {
        Object::Reference(id) => Some(*id),
        _ => None,
    }
}

pub(crate) fn as_dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, o) {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

pub(crate) fn num(doc: &Document, o: &Object) -> Option<f32> {
    match deref(doc, o) {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

pub(crate) fn name<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a [u8]> {
    match deref(doc, o) {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

pub(crate) fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

pub(crate) fn hex_decode(h: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = h
        .iter()
        .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests;
