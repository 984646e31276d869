//! A small, bounded reader for a PDF's text layer: enough to read the amount
//! on a payment waybill. Finds streams, inflates FlateDecode ones (with a hard
//! output cap), reads ToUnicode CMaps (bfchar/bfrange), and extracts the
//! strings shown by Tj/TJ/'/" in content streams. No recursion; every loop and
//! allocation is bounded, so hostile files cost at most a few MiB and
//! milliseconds.

use flate2::read::ZlibDecoder;
use std::collections::HashMap;
use std::io::Read;

/// Total inflated bytes over all streams.
const MAX_INFLATED: usize = 4 << 20;
/// Streams looked at.
const MAX_STREAMS: usize = 2000;
/// Text returned.
const MAX_TEXT: usize = 1 << 20;
/// Operands kept on the content-stream stack.
const MAX_STACK: usize = 4096;

struct Stream {
    /// Object number, when the stream is a numbered object.
    obj: Option<u32>,
    dict: Vec<u8>,
    data: Vec<u8>,
}

/// Extracts the text layer; `None` when the file has no readable text.
pub fn text(pdf: &[u8]) -> Option<String> {
    if !crate::budget::check_now() {
        return None;
    }
    if !pdf.starts_with(b"%PDF") && find(pdf, b"%PDF-", 0).is_none_or(|p| p > 1024) {
        return None;
    }
    let streams = streams(pdf);
    // ToUnicode CMaps by object number, and font resource names → CMap.
    let mut cmaps: HashMap<u32, CMap> = HashMap::new();
    for s in &streams {
        if let Some(o) = s.obj {
            if find(&s.data, b"begincmap", 0).is_some() {
                cmaps.insert(o, CMap::parse(&s.data));
            }
        }
    }
    let font_cmap = font_cmaps(pdf, &streams, &cmaps);
    let mut out = String::new();
    for s in &streams {
        if !crate::budget::check() {
            break;
        }
        if is_content(s) {
            content_text(&s.data, &font_cmap, &mut out);
            out.push('\n');
        }
        if out.len() > MAX_TEXT {
            break;
        }
    }
    out.chars().any(|c| c.is_alphanumeric()).then_some(out)
}

fn is_content(s: &Stream) -> bool {
    let d = &s.dict;
    !(find(d, b"/Subtype", 0).is_some()
        || find(d, b"/Type/XRef", 0).is_some()
        || find(d, b"/Type /XRef", 0).is_some()
        || find(d, b"/Type/ObjStm", 0).is_some()
        || find(d, b"/Type /ObjStm", 0).is_some()
        || find(d, b"/Length1", 0).is_some()
        || find(&s.data, b"begincmap", 0).is_some())
        && (find(&s.data, b"Tj", 0).is_some() || find(&s.data, b"TJ", 0).is_some())
}

pub(crate) fn find(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    if from >= h.len() || n.is_empty() || h.len() - from < n.len() {
        return None;
    }
    h[from..]
        .windows(n.len())
        .position(|w| w == n)
        .map(|p| p + from)
}

/// All streams, decoded where the filter is FlateDecode (or none).
fn streams(pdf: &[u8]) -> Vec<Stream> {
    let mut out = Vec::new();
    let mut budget = MAX_INFLATED;
    let mut at = 0;
    while let Some(p) = find(pdf, b"stream", at) {
        at = p + 6;
        if out.len() >= MAX_STREAMS {
            break;
        }
        // "endstream" also contains "stream"; real starts are followed by EOL.
        if p >= 3 && &pdf[p - 3..p] == b"end" {
            continue;
        }
        let mut s = p + 6;
        if pdf.get(s) == Some(&b'\r') {
            s += 1;
        }
        if pdf.get(s) == Some(&b'\n') {
            s += 1;
        } else if s == p + 6 {
            continue;
        }
        let dict_start = p.saturating_sub(4096);
        let before = &pdf[dict_start..p];
        let Some(d0) = rfind(before, b"<<") else {
            continue;
        };
        let obj_at = rfind(&before[..d0], b" obj");
        let dict = before[d0..].to_vec();
        let obj = obj_at.and_then(|o| obj_number(&before[..o]));
        let end = find(pdf, b"endstream", s).unwrap_or(pdf.len());
        let raw = &pdf[s..end];
        at = end;
        let filtered = find(&dict, b"/Filter", 0).is_some();
        let data = if find(&dict, b"/FlateDecode", 0).is_some() || find(&dict, b"/Fl ", 0).is_some()
        {
            if find(&dict, b"/DCTDecode", 0).is_some() {
                continue;
            }
            let d = inflate(raw, budget);
            budget = budget.saturating_sub(d.len());
            d
        } else if filtered {
            continue;
        } else {
            raw.to_vec()
        };
        out.push(Stream { obj, dict, data });
        if budget == 0 {
            break;
        }
    }
    out
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    if h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| &h[i..i + n.len()] == n)
}

/// "12 0" at the end of `b` → 12.
fn obj_number(b: &[u8]) -> Option<u32> {
    let mut i = b.len();
    let field = |i: &mut usize| -> Option<u32> {
        while *i > 0 && b[*i - 1].is_ascii_whitespace() {
            *i -= 1;
        }
        let end = *i;
        while *i > 0 && b[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        std::str::from_utf8(&b[*i..end]).ok()?.parse().ok()
    };
    let _gen = field(&mut i)?;
    field(&mut i)
}

/// Inflates at most `cap` bytes; a corrupt or truncated stream yields what was read.
fn inflate(raw: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = ZlibDecoder::new(raw).take(cap as u64);
    let mut buf = [0u8; 16384];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// A ToUnicode CMap: code (1 or 2 bytes) → text.
#[derive(Default, Clone)]
struct CMap {
    map: HashMap<u32, String>,
    two_byte: bool,
}

impl CMap {
    fn parse(d: &[u8]) -> CMap {
        let mut m = CMap::default();
        if let Some(p) = find(d, b"begincodespacerange", 0) {
            let toks = hex_tokens(&d[p..(p + 200).min(d.len())], 1);
            m.two_byte = toks.first().is_some_and(|t| t.len() >= 2);
        }
        let mut at = 0;
        while let Some(p) = find(d, b"beginbfchar", at) {
            let end = find(d, b"endbfchar", p).unwrap_or(d.len());
            let toks = hex_tokens(&d[p..end], 20_000);
            for pair in toks.chunks(2) {
                if let [src, dst] = pair {
                    m.two_byte |= src.len() >= 2;
                    m.map.insert(be(src), utf16(dst));
                }
            }
            at = end;
        }
        at = 0;
        while let Some(p) = find(d, b"beginbfrange", at) {
            let end = find(d, b"endbfrange", p).unwrap_or(d.len());
            let seg = &d[p..end];
            // Lines of <lo> <hi> <dst> (arrays of destinations are read as a start value).
            let toks = hex_tokens(seg, 30_000);
            for tri in toks.chunks(3) {
                if let [lo, hi, dst] = tri {
                    m.two_byte |= lo.len() >= 2;
                    let (lo, hi) = (be(lo), be(hi));
                    let base = be(dst);
                    for (k, code) in (lo..=hi).take(256).enumerate() {
                        let v = base.wrapping_add(k as u32);
                        if let Some(c) = char::from_u32(v) {
                            m.map.insert(code, c.to_string());
                        }
                    }
                }
            }
            at = end;
        }
        m
    }

    fn decode(&self, bytes: &[u8], out: &mut String) {
        if self.two_byte {
            for c in bytes.chunks(2) {
                match self.map.get(&be(c)) {
                    Some(s) => out.push_str(s),
                    None => out.push(' '),
                }
            }
        } else {
            for &b in bytes {
                match self.map.get(&u32::from(b)) {
                    Some(s) => out.push_str(s),
                    None => out.push(b as char),
                }
            }
        }
    }
}

fn be(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0u32, |a, &x| (a << 8) | u32::from(x))
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// `<hex>` tokens in a region, decoded.
fn hex_tokens(d: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() && out.len() < max {
        if d[i] == b'<' && d.get(i + 1) != Some(&b'<') {
            let end = d[i..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(d.len(), |p| i + p);
            out.push(hex_decode(&d[i + 1..end]));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    out
}

fn hex_decode(h: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = h
        .iter()
        .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|c| c[0] << 4 | c.get(1).copied().unwrap_or(0))
        .collect()
}

/// Font resource names (`/F1`) → CMap, via `/F1 5 0 R` and font objects' `/ToUnicode 9 0 R`.
fn font_cmaps(
    pdf: &[u8],
    streams: &[Stream],
    cmaps: &HashMap<u32, CMap>,
) -> HashMap<Vec<u8>, CMap> {
    let mut out = HashMap::new();
    if cmaps.is_empty() {
        return out;
    }
    // Font object number → ToUnicode object number, searched in the file and in object streams.
    let mut font_to_cmap: HashMap<u32, u32> = HashMap::new();
    let mut sources: Vec<&[u8]> = vec![pdf];
    sources.extend(streams.iter().map(|s| s.data.as_slice()));
    for src in &sources {
        let mut at = 0;
        while let Some(p) = find(src, b"/ToUnicode", at) {
            at = p + 10;
            let cm = ref_after(&src[at..]);
            let before = &src[p.saturating_sub(2048)..p];
            let font_obj = rfind(before, b" obj").and_then(|o| obj_number(&before[..o]));
            if let (Some(f), Some(c)) = (font_obj, cm) {
                font_to_cmap.insert(f, c);
            }
            if font_to_cmap.len() > 1000 {
                break;
            }
        }
    }
    // Resource names: "/Font << /F1 5 0 R /F2 6 0 R >>".
    for src in &sources {
        let mut at = 0;
        while let Some(p) = find(src, b"/Font", at) {
            at = p + 5;
            let rest = &src[at..(at + 2048).min(src.len())];
            let Some(open) = rest.iter().position(|&c| !c.is_ascii_whitespace()) else {
                continue;
            };
            if !rest[open..].starts_with(b"<<") {
                continue;
            }
            let close = find(rest, b">>", open).unwrap_or(rest.len());
            let body = &rest[open + 2..close];
            for part in body.split(|&c| c == b'/').skip(1) {
                let name_len = part
                    .iter()
                    .position(|c| c.is_ascii_whitespace())
                    .unwrap_or(part.len());
                let name = &part[..name_len];
                if let Some(font) = ref_after(&part[name_len..]) {
                    let cm = font_to_cmap.get(&font).and_then(|c| cmaps.get(c));
                    if let Some(cm) = cm {
                        out.insert(name.to_vec(), cm.clone());
                    }
                }
            }
            if out.len() > 256 {
                break;
            }
        }
    }
    out
}

/// "  12 0 R" → 12.
fn ref_after(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(&b[..b.len().min(32)])
        .ok()
        .or_else(|| {
            let n = b.iter().take(32).take_while(|c| c.is_ascii()).count();
            std::str::from_utf8(&b[..n]).ok()
        })?;
    let mut it = s.split_whitespace();
    let n: u32 = it.next()?.parse().ok()?;
    it.next()?.parse::<u32>().ok()?;
    it.next()?.starts_with('R').then_some(n)
}

mod content;
use content::content_text;

#[cfg(test)]
mod tests;
