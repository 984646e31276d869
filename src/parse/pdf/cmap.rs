//! ToUnicode CMaps: codespace ranges (how many bytes a code has), `bfchar`
//! and `bfrange` (with a start value or an array of destinations, as Qt and
//! wkhtmltopdf write). Bounded: at most [`MAX_ENTRIES`] mappings are kept.

use super::{hex_decode, utf16};
use std::collections::HashMap;

const MAX_ENTRIES: usize = 100_000;

/// Where a range of codes goes.
enum Dest {
    /// The first code's text; later codes add to its last UTF-16 unit.
    Start(Vec<u16>),
    /// One text per code.
    Each(Vec<String>),
}

#[derive(Default)]
pub(crate) struct CMap {
    chars: HashMap<u32, String>,
    /// (lo, hi, dest), sorted by lo.
    ranges: Vec<(u32, u32, Dest)>,
    /// (lo, hi, byte length) from `begincodespacerange`.
    space: Vec<(u32, u32, usize)>,
}

enum Tok<'a> {
    Hex(Vec<u8>),
    Open,
    Close,
    Word(&'a [u8]),
}

fn tokens(d: &[u8]) -> impl Iterator<Item = Tok<'_>> {
    let mut i = 0;
    std::iter::from_fn(move || loop {
        let c = *d.get(i)?;
        match c {
            b'<' if d.get(i + 1) == Some(&b'<') => i += 2,
            b'<' => {
                let end = d[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(d.len(), |p| i + p);
                let t = hex_decode(&d[i + 1..end]);
                i = end + 1;
                return Some(Tok::Hex(t));
            }
            b'[' => {
                i += 1;
                return Some(Tok::Open);
            }
            b']' => {
                i += 1;
                return Some(Tok::Close);
            }
            b'%' => {
                while d.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() || matches!(c, b'>' | b'(' | b')' | b'{' | b'}') => i += 1,
            _ => {
                let s = i;
                i += 1;
                while d.get(i).is_some_and(|&c| {
                    !c.is_ascii_whitespace() && !matches!(c, b'<' | b'[' | b']' | b'/' | b'%')
                }) {
                    i += 1;
                }
                return Some(Tok::Word(&d[s..i]));
            }
        }
    })
}

fn be(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0u32, |a, &x| (a << 8) | u32::from(x))
}

fn units(b: &[u8]) -> Vec<u16> {
    b.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect()
}

impl CMap {
    pub(crate) fn parse(d: &[u8]) -> CMap {
        #[derive(PartialEq)]
        enum Mode {
            None,
            Space,
            Char,
            Range,
        }
        let mut m = CMap::default();
        let mut mode = Mode::None;
        let mut ops: Vec<Vec<u8>> = Vec::new();
        let mut array: Option<Vec<String>> = None;
        let mut entries = 0usize;
        for t in tokens(d) {
            if entries > MAX_ENTRIES {
                break;
            }
            match t {
                Tok::Word(w) => {
                    mode = match w {
                        b"begincodespacerange" => Mode::Space,
                        b"beginbfchar" => Mode::Char,
                        b"beginbfrange" => Mode::Range,
                        b"endcodespacerange" | b"endbfchar" | b"endbfrange" => Mode::None,
                        _ => continue,
                    };
                    ops.clear();
                    array = None;
                }
                Tok::Open => array = Some(Vec::new()),
                Tok::Hex(h) if array.is_some() => {
                    if let Some(a) = array.as_mut() {
                        a.push(utf16(&h));
                    }
                }
                Tok::Close => {
                    if let (Mode::Range, Some(a), [lo, hi]) = (&mode, array.take(), &ops[..]) {
                        m.ranges.push((be(lo), be(hi), Dest::Each(a)));
                        entries += 1;
                    }
                    ops.clear();
                }
                Tok::Hex(h) => {
                    ops.push(h);
                    match (&mode, &ops[..]) {
                        (Mode::Space, [lo, hi]) => {
                            m.space.push((be(lo), be(hi), lo.len().clamp(1, 4)));
                            ops.clear();
                        }
                        (Mode::Char, [src, dst]) => {
                            m.chars.insert(be(src), utf16(dst));
                            entries += 1;
                            ops.clear();
                        }
                        (Mode::Range, [lo, hi, dst]) => {
                            m.ranges.push((be(lo), be(hi), Dest::Start(units(dst))));
                            entries += 1;
                            ops.clear();
                        }
                        (Mode::None, _) => ops.clear(),
                        _ => {}
                    }
                }
            }
        }
        m.ranges.sort_by_key(|r| r.0);
        m
    }

    /// Code length in bytes for a code starting with `bytes`: the codespace
    /// range that matches, else the first range's length, else `default`.
    pub(crate) fn code_len(&self, bytes: &[u8], default: usize) -> usize {
        for &(lo, hi, n) in &self.space {
            if bytes.len() >= n {
                let c = be(&bytes[..n]);
                if (lo..=hi).contains(&c) {
                    return n;
                }
            }
        }
        self.space.first().map_or(default, |s| s.2)
    }

    /// Whether the CMap declares codes of more than one byte.
    pub(crate) fn multi_byte(&self) -> Option<bool> {
        self.space.first().map(|s| s.2 > 1)
    }

    /// The text for one code, if the CMap maps it.
    pub(crate) fn get(&self, code: u32, out: &mut String) -> bool {
        if let Some(s) = self.chars.get(&code) {
            out.push_str(s);
            return true;
        }
        let i = self.ranges.partition_point(|r| r.0 <= code);
        // Overlaps are rare; look back a little for a range that holds the code.
        for (lo, hi, dest) in self.ranges[..i].iter().rev().take(8) {
            if code < *lo || code > *hi {
                continue;
            }
            let k = (code - lo) as usize;
            match dest {
                Dest::Start(u) => {
                    let mut u = u.clone();
                    if let Some(last) = u.last_mut() {
                        *last = last.wrapping_add(k as u16);
                    }
                    out.push_str(&String::from_utf16_lossy(&u));
                }
                Dest::Each(a) => match a.get(k) {
                    Some(s) => out.push_str(s),
                    None => return false,
                },
            }
            return true;
        }
        false
    }
}
