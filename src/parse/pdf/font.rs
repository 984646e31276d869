//! Fonts as far as reading text needs them: how a string splits into codes,
//! what text each code stands for (ToUnicode, else the simple encoding with
//! its `/Differences`), and how far each glyph moves the pen (`/Widths`,
//! `/W`), so that glyphs placed one at a time can be told from words.

use super::cmap::CMap;
use super::{as_dict, decode, deref, name, num, Budget};
use lopdf::{Dictionary, Document, Object};
use std::collections::HashMap;

/// Entries read from a `/W` or `/Widths` array.
const MAX_WIDTHS: usize = 65_536;

pub(crate) struct Font {
    cmap: Option<CMap>,
    /// Codes are two bytes unless the CMap says otherwise (Type0 fonts).
    composite: bool,
    /// Code → character for simple fonts without (or missing from) a ToUnicode.
    encoding: Vec<char>,
    widths: HashMap<u32, f32>,
    /// Width of a glyph not in `widths`, in thousandths of an em.
    default_width: f32,
    /// Glyph space to text space, 1/1000 except for Type3 fonts.
    scale: f32,
}

impl Font {
    /// A font with nothing known about it: single bytes, WinAnsi, half an em wide.
    pub(crate) fn unknown() -> Font {
        Font {
            cmap: None,
            composite: false,
            encoding: win_ansi(),
            widths: HashMap::new(),
            default_width: 500.0,
            scale: 0.001,
        }
    }

    pub(crate) fn load(doc: &Document, d: &Dictionary, budget: &mut Budget) -> Font {
        let subtype = d.get(b"Subtype").ok().and_then(|o| name(doc, o));
        let composite = subtype == Some(b"Type0");
        let cmap = match d.get(b"ToUnicode").map(|o| deref(doc, o)) {
            Ok(Object::Stream(s)) => decode(s, budget).map(|b| CMap::parse(&b)),
            _ => None,
        };
        let mut f = Font {
            cmap,
            composite,
            ..Font::unknown()
        };
        let base = d
            .get(b"BaseFont")
            .ok()
            .and_then(|o| name(doc, o))
            .unwrap_or(b"");
        if base.windows(7).any(|w| w.eq_ignore_ascii_case(b"courier")) {
            f.default_width = 600.0;
        }
        if composite {
            f.default_width = 1000.0;
            let desc = d
                .get(b"DescendantFonts")
                .ok()
                .and_then(|o| match deref(doc, o) {
                    Object::Array(a) => a.first(),
                    _ => None,
                })
                .and_then(|o| as_dict(doc, o));
            if let Some(desc) = desc {
                if let Some(dw) = desc.get(b"DW").ok().and_then(|o| num(doc, o)) {
                    f.default_width = dw;
                }
                if let Ok(Object::Array(w)) = desc.get(b"W").map(|o| deref(doc, o)) {
                    f.widths = cid_widths(doc, w);
                }
            }
        } else {
            f.simple_widths(doc, d);
            f.simple_encoding(doc, d);
            if subtype == Some(b"Type3") {
                if let Ok(Object::Array(m)) = d.get(b"FontMatrix").map(|o| deref(doc, o)) {
                    if let Some(a) = m.first().and_then(|o| num(doc, o)) {
                        f.scale = a.abs().clamp(1e-6, 1.0);
                    }
                }
            }
        }
        f
    }

    fn simple_widths(&mut self, doc: &Document, d: &Dictionary) {
        let first = d
            .get(b"FirstChar")
            .ok()
            .and_then(|o| num(doc, o))
            .unwrap_or(0.0);
        if let Ok(Object::Array(w)) = d.get(b"Widths").map(|o| deref(doc, o)) {
            for (k, o) in w.iter().take(256).enumerate() {
                if let Some(v) = num(doc, o) {
                    self.widths.insert(first.max(0.0) as u32 + k as u32, v);
                }
            }
        }
        let missing = d
            .get(b"FontDescriptor")
            .ok()
            .and_then(|o| as_dict(doc, o))
            .and_then(|fd| fd.get(b"MissingWidth").ok())
            .and_then(|o| num(doc, o));
        if let Some(m) = missing.filter(|m| *m > 0.0) {
            self.default_width = m;
        }
    }

    fn simple_encoding(&mut self, doc: &Document, d: &Dictionary) {
        let Ok(enc) = d.get(b"Encoding") else {
            return;
        };
        let base = match as_dict(doc, enc) {
            Some(e) => e.get(b"BaseEncoding").ok().and_then(|o| name(doc, o)),
            None => name(doc, enc),
        };
        if base == Some(b"MacRomanEncoding") {
            self.encoding = mac_roman();
        }
        let Some(enc) = as_dict(doc, enc) else {
            return;
        };
        let Ok(Object::Array(diffs)) = enc.get(b"Differences").map(|o| deref(doc, o)) else {
            return;
        };
        let mut code = 0usize;
        for o in diffs.iter().take(512) {
            match deref(doc, o) {
                Object::Integer(i) => code = (*i).clamp(0, 256) as usize,
                Object::Name(n) => {
                    if let (Some(c), Some(slot)) = (glyph(n), self.encoding.get_mut(code)) {
                        *slot = c;
                    }
                    code += 1;
                }
                _ => {}
            }
        }
    }

    /// Calls `each(text, width_in_text_space_per_unit_size, is_single_byte_space)`
    /// for every code in `bytes`.
    pub(crate) fn codes(&self, bytes: &[u8], mut each: impl FnMut(&str, f32, bool)) {
        let mut i = 0;
        let mut buf = String::new();
        while i < bytes.len() {
            let default = if self.composite { 2 } else { 1 };
            let n = match &self.cmap {
                Some(cm) if self.composite || cm.multi_byte() == Some(true) => {
                    cm.code_len(&bytes[i..], default)
                }
                _ => default,
            }
            .min(bytes.len() - i)
            .max(1);
            let code = bytes[i..i + n]
                .iter()
                .fold(0u32, |a, &b| (a << 8) | u32::from(b));
            i += n;
            buf.clear();
            let mapped = self.cmap.as_ref().is_some_and(|cm| cm.get(code, &mut buf));
            if !mapped {
                if n == 1 {
                    buf.push(self.encoding[code as usize]);
                } else {
                    // NOTE: an unreadable glyph must never vanish (5?00 read as
                    // 500); a replacement character keeps numbers apart.
                    buf.push('\u{fffd}');
                }
            }
            let w = self
                .widths
                .get(&code)
                .copied()
                .unwrap_or(self.default_width)
                * self.scale;
            each(&buf, w, n == 1 && code == 32);
        }
    }
}

/// `/W [c [w1 w2 …] c1 c2 w …]` → code → width.
fn cid_widths(doc: &Document, w: &[Object]) -> HashMap<u32, f32> {
    let mut out = HashMap::new();
    let mut i = 0;
    while i < w.len() && out.len() < MAX_WIDTHS {
        let Some(c) = num(doc, &w[i]) else {
            i += 1;
            continue;
        };
        let c = c.max(0.0) as u32;
        match w.get(i + 1).map(|o| deref(doc, o)) {
            Some(Object::Array(ws)) => {
                for (k, o) in ws.iter().take(MAX_WIDTHS).enumerate() {
                    if let Some(v) = num(doc, o) {
                        out.insert(c + k as u32, v);
                    }
                }
                i += 2;
            }
            Some(o) => {
                let hi = num(doc, o).unwrap_or(0.0).max(0.0) as u32;
                let v = w.get(i + 2).and_then(|o| num(doc, o)).unwrap_or(1000.0);
                for code in (c..=hi).take(MAX_WIDTHS - out.len()) {
                    out.insert(code, v);
                }
                i += 3;
            }
            None => break,
        }
    }
    out
}

/// WinAnsiEncoding (cp1252): Latin-1 with typographic marks in 0x80–0x9F.
fn win_ansi() -> Vec<char> {
    const HIGH: &str = "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8d}Ž\u{8f}\u{90}‘’“”•–—˜™š›œ\u{9d}žŸ";
    (0u32..256)
        .map(|b| match b {
            0x80..=0x9f => HIGH.chars().nth((b - 0x80) as usize).unwrap_or(' '),
            _ => char::from_u32(b).unwrap_or(' '),
        })
        .collect()
}

/// MacRomanEncoding: ASCII, then Mac OS Roman in 0x80–0xFF.
fn mac_roman() -> Vec<char> {
    const HIGH: &str = "ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»…\u{a0}ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\u{f8ff}ÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ";
    (0u8..128)
        .map(char::from)
        .chain(HIGH.chars())
        .chain(std::iter::repeat(' '))
        .take(256)
        .collect()
}

/// A glyph name (Adobe Glyph List conventions) → its character.
fn glyph(n: &[u8]) -> Option<char> {
    let s = std::str::from_utf8(n).ok()?;
    let hex = s
        .strip_prefix("uni")
        .filter(|h| h.len() == 4)
        .or_else(|| s.strip_prefix('u').filter(|h| (4..=6).contains(&h.len())));
    if let Some(v) = hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
        return char::from_u32(v);
    }
    let mut it = s.chars();
    if let (Some(c), None) = (it.next(), it.next()) {
        return c.is_ascii_alphabetic().then_some(c);
    }
    const NAMES: &[(&str, char)] = &[
        ("space", ' '),
        ("nbspace", '\u{a0}'),
        ("zero", '0'),
        ("one", '1'),
        ("two", '2'),
        ("three", '3'),
        ("four", '4'),
        ("five", '5'),
        ("six", '6'),
        ("seven", '7'),
        ("eight", '8'),
        ("nine", '9'),
        ("comma", ','),
        ("period", '.'),
        ("colon", ':'),
        ("semicolon", ';'),
        ("hyphen", '-'),
        ("minus", '−'),
        ("slash", '/'),
        ("parenleft", '('),
        ("parenright", ')'),
        ("quotesingle", '\''),
        ("quoteright", '’'),
        ("quoteleft", '‘'),
        ("quotedbl", '"'),
        ("quotedblleft", '“'),
        ("quotedblright", '”'),
        ("endash", '–'),
        ("emdash", '—'),
        ("underscore", '_'),
        ("numbersign", '#'),
        ("percent", '%'),
        ("ampersand", '&'),
        ("asterisk", '*'),
        ("plus", '+'),
        ("equal", '='),
        ("at", '@'),
        ("bracketleft", '['),
        ("bracketright", ']'),
        ("exclam", '!'),
        ("question", '?'),
        ("bullet", '•'),
        ("dollar", '$'),
        ("Euro", '€'),
        ("euro", '€'),
        ("germandbls", 'ß'),
        ("dotlessi", 'ı'),
        ("edieresis", 'ë'),
        ("Edieresis", 'Ë'),
        ("ccedilla", 'ç'),
        ("Ccedilla", 'Ç'),
        ("eacute", 'é'),
        ("Eacute", 'É'),
        ("egrave", 'è'),
        ("ecircumflex", 'ê'),
        ("aacute", 'á'),
        ("agrave", 'à'),
        ("acircumflex", 'â'),
        ("adieresis", 'ä'),
        ("Adieresis", 'Ä'),
        ("odieresis", 'ö'),
        ("Odieresis", 'Ö'),
        ("udieresis", 'ü'),
        ("Udieresis", 'Ü'),
        ("oacute", 'ó'),
        ("uacute", 'ú'),
        ("iacute", 'í'),
        ("ntilde", 'ñ'),
        ("cacute", 'ć'),
        ("Cacute", 'Ć'),
        ("ccaron", 'č'),
        ("Ccaron", 'Č'),
        ("scaron", 'š'),
        ("Scaron", 'Š'),
        ("zcaron", 'ž'),
        ("Zcaron", 'Ž'),
        ("dcroat", 'đ'),
        ("Dcroat", 'Đ'),
        ("guillemotleft", '«'),
        ("guillemotright", '»'),
        ("degree", '°'),
        ("section", '§'),
        ("periodcentered", '·'),
    ];
    NAMES.iter().find(|(k, _)| *k == s).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodings_have_256_codes() {
        assert_eq!(super::win_ansi().len(), 256);
        let mac = super::mac_roman();
        assert_eq!(mac.len(), 256);
        assert_eq!((mac[0x91], mac[0x8d], mac[0xff]), ('ë', 'ç', 'ˇ'));
        assert_eq!(super::win_ansi()[0xeb], 'ë');
        assert_eq!(super::glyph(b"uni00EB"), Some('ë'));
        assert_eq!(super::glyph(b"ccedilla"), Some('ç'));
        assert_eq!(super::glyph(b"uacute"), Some('ú'));
    }
}
