//! Text helpers shared by the recognisers: accent/case folding with an offset
//! map back to the original text, `>`-quote stripping, whitespace collapsing.

/// Folds one character for matching: lower-case, diacritics removed, every kind
/// of whitespace turned into a plain space. Always one char out, so offsets map 1:1.
pub fn fold_char(c: char) -> char {
    if c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}' || c == '\u{2007}' {
        return ' ';
    }
    if let Some(d) = ascii_digit(c) {
        return d;
    }
    let c = if c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    };
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ı' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'ş' | 'š' | 'ś' | 'ß' => 's',
        'ğ' => 'g',
        'ž' | 'ź' | 'ż' => 'z',
        'đ' => 'd',
        'ł' => 'l',
        'ř' => 'r',
        'ť' | 'ţ' => 't',
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        'ς' => 'σ',
        'ё' => 'е',
        _ => c,
    }
}

/// The zero of each run of ten decimal digits in Unicode (general category Nd) that
/// mail in the clients' UI languages uses: Arabic-Indic, Persian, NKo, Devanagari,
/// Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala,
/// Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian and full-width digits.
const DIGIT_ZEROS: &[u32] = &[
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6,
    0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0xff10,
];

/// A decimal digit of another script as its ASCII digit ("۵" → '5').
fn ascii_digit(c: char) -> Option<char> {
    let u = u32::from(c);
    if u < 0x660 {
        return None;
    }
    let z = DIGIT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&u))?;
    char::from_digit(u - z, 10)
}

/// Whether `c` belongs inside a word: a letter, or a combining mark (the virama
/// and vowel signs of Devanagari, Thai, …; "मार्च" is one word).
pub fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || unicode_normalization::char::is_combining_mark(c)
}

/// Folds a whole string (no offset map), whitespace collapsed and trimmed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out, |_, _| {});
    out.trim().to_string()
}

/// Folds `orig` onto `out` ([`fold_char`], invisible characters dropped, runs of
/// whitespace collapsed to one space, none at the start), calling `mark(i, n)`
/// for every character written: `n` bytes of `out` from the character at byte
/// `i` of `orig`.
fn fold_into(orig: &str, out: &mut String, mut mark: impl FnMut(usize, usize)) {
    let bytes = orig.as_bytes();
    let mut last_space = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // NOTE: ASCII (nearly all of a notification) folds byte by byte, without
        // decoding characters or the Unicode tables.
        let (f, len) = if b.is_ascii() {
            let f = if b.is_ascii_whitespace() || b == 0x0b {
                ' '
            } else {
                char::from(b.to_ascii_lowercase())
            };
            (f, 1)
        } else {
            let c = orig[i..].chars().next().expect("`i` is on a char boundary");
            if invisible(c) {
                i += c.len_utf8();
                continue;
            }
            (fold_char(c), c.len_utf8())
        };
        let space = f == ' ';
        if !(space && last_space) {
            last_space = space;
            let before = out.len();
            out.push(f);
            mark(i, out.len() - before);
        }
        i += len;
    }
}

/// Characters that carry no meaning for matching and are dropped entirely.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{200e}' | '\u{200f}' | '\u{feff}'
    )
}

/// A folded, whitespace-collapsed copy of a text with, for each byte of the
/// folded string, the byte offset of the original character it came from.
pub struct Folded {
    pub s: String,
    // NOTE: u32, not usize: the map is the largest thing a long text costs
    // (one entry per byte); texts are far below 4 GiB (parse caps its input).
    map: Vec<u32>,
    orig_len: usize,
}

impl Folded {
    pub fn new(orig: &str) -> Folded {
        let mut s = String::with_capacity(orig.len());
        let mut map = Vec::with_capacity(orig.len() + 1);
        fold_into(orig, &mut s, |i, n| {
            map.extend(std::iter::repeat_n(offset32(i), n));
        });
        map.push(offset32(orig.len()));
        Folded {
            s,
            map,
            orig_len: orig.len(),
        }
    }

    /// Original byte offset of folded byte offset `i` (clamped).
    pub fn orig(&self, i: usize) -> usize {
        self.map
            .get(i)
            .map_or(self.orig_len, |&o| o as usize)
            .min(self.orig_len)
    }

    /// Finds `pat` at or after `from`.
    pub fn find(&self, pat: &str, from: usize) -> Option<usize> {
        let from = from.min(self.s.len());
        if !self.s.is_char_boundary(from) {
            return self.find(pat, from + 1);
        }
        memmem(&self.s[from..], pat).map(|p| p + from)
    }
}

fn offset32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// `h.find(pat)`, faster: the recognisers look for dozens of phrases in short
/// windows, where building `str::find`'s searcher cost more than the search.
/// A match of a whole `str` in a `str` always starts on a char boundary.
fn memmem(h: &str, pat: &str) -> Option<usize> {
    memchr::memmem::find(h.as_bytes(), pat.as_bytes())
}

/// Collapses runs of whitespace into one space and trims.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s
        .split(|c: char| c.is_whitespace() || c == '\u{a0}' || invisible(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// One line of a text with its `>` quote markers removed.
pub struct Line<'a> {
    pub text: &'a str,
    pub quoted: bool,
}

/// Splits a text into lines and strips `>` quote markers at any depth
/// (`> > text`, `>>text`). Returns the unquoted text and per-line info
/// (start offset in the unquoted text, quoted flag) where the flag changes.
pub fn unquote(text: &str) -> (String, Vec<(usize, bool)>) {
    let mut out = String::with_capacity(text.len());
    let mut lines = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let l = strip_quote(raw);
        // NOTE: only where quoting changes (a line's flag is that of the last
        // entry at or before it): 16 bytes a line was the largest cost of a long text.
        if lines.last().is_none_or(|&(_, q)| q != l.quoted) {
            lines.push((out.len(), l.quoted));
        }
        out.push_str(l.text);
        out.push('\n');
    }
    (out, lines)
}

fn strip_quote(line: &str) -> Line<'_> {
    let mut rest = line;
    let mut quoted = false;
    loop {
        let t = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = t.strip_prefix('>') {
            quoted = true;
            rest = r;
        } else {
            break;
        }
    }
    if quoted {
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    Line { text: rest, quoted }
}

/// Whether a decoded body holds any content that is not binary junk
/// (replacement characters, control bytes). Bodies of only URLs count.
pub fn has_content(s: &str) -> bool {
    let mut total = 0usize;
    let mut junk = 0usize;
    // NOTE: printable ASCII, the common case, needs no char decoding.
    let mut rest = s;
    while total < 100_000 {
        let printable = rest
            .bytes()
            .take_while(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\t')
            .count();
        total += rest.as_bytes()[..printable]
            .iter()
            .filter(|b| !b.is_ascii_whitespace())
            .count();
        rest = &rest[printable..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        rest = &rest[c.len_utf8()..];
        if !c.is_whitespace() {
            total += 1;
            if c == '\u{fffd}' || (c.is_control() && c != '\t') {
                junk += 1;
            }
        }
    }
    total > 0 && junk * 4 < total
}

/// Whether a text holds something a person could read (not just whitespace,
/// replacement characters or binary junk).
pub fn is_readable(s: &str) -> bool {
    let mut letters = 0usize;
    let mut junk = 0usize;
    let mut total = 0usize;
    for c in s.chars().filter(|c| !c.is_whitespace()).take(100_000) {
        total += 1;
        if c.is_alphabetic() {
            letters += 1;
        } else if c == '\u{fffd}' || (c.is_control() && c != '\t') {
            junk += 1;
        }
    }
    if letters < 3 || junk * 4 >= total {
        return false;
    }
    // Binary decoded through a single-byte charset has letters too, but few
    // whitespace-separated words made only of letters.
    let (mut words, mut tokens) = (0usize, 0usize);
    for t in s.split_whitespace().take(20_000) {
        tokens += 1;
        let t = t.trim_matches(|c: char| c.is_ascii_punctuation() || "«»“”‘’„".contains(c));
        if t.chars().count() >= 2 && t.chars().all(char::is_alphabetic) {
            words += 1;
        }
    }
    words >= 1 && words * 4 >= tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_accents_and_case() {
        assert_eq!(
            fold("Ju INFORMOJMË  se\nLeja e Qëndrimit"),
            "ju informojme se leja e qendrimit"
        );
        assert_eq!(fold("Στάλθηκε"), "σταλθηκε");
        assert_eq!(fold("GÖNDERİLDİ"), "gonderildi");
    }

    #[test]
    fn folded_offsets_map_back() {
        let t = "Për  shtetasin Ëndri";
        let f = Folded::new(t);
        let p = f.find("endri", 0).unwrap();
        assert_eq!(&t[f.orig(p)..], "Ëndri");
    }

    /// Every folded byte maps to the original character it came from, through
    /// ASCII, multi-byte, invisible and collapsed-whitespace characters alike.
    #[test]
    fn folded_map_covers_every_byte() {
        let t = "\u{feff} A\u{ad}b  \t\u{a0}Ë\u{200b}x ΐΣ\u{2007}ç\n";
        let f = Folded::new(t);
        assert_eq!(f.s, "ab ex ισ c ");
        assert_eq!(fold(t), "ab ex ισ c");
        let from: Vec<&str> = (0..f.s.len())
            .filter(|&i| f.s.is_char_boundary(i))
            .map(|i| &t[f.orig(i)..])
            .map(|rest| &rest[..rest.chars().next().unwrap().len_utf8()])
            .collect();
        assert_eq!(
            from,
            ["A", "b", " ", "Ë", "x", " ", "ΐ", "Σ", "\u{2007}", "ç", "\n"]
        );
        // Both bytes of a two-byte folded character map to its original.
        let iota = f.s.find('ι').unwrap();
        assert_eq!(f.orig(iota), f.orig(iota + 1));
        assert_eq!(f.orig(f.s.len()), t.len());
    }

    #[test]
    fn unquote_any_depth() {
        let (t, lines) = unquote("a\n> b\n>> > c\n");
        assert_eq!(t, "a\nb\nc\n\n");
        // Where quoting starts and stops: lines 2 and 3 are quoted, the empty last one not.
        assert_eq!(lines, [(0, false), (2, true), (6, false)]);
    }

    #[test]
    fn readable() {
        assert!(is_readable("Hello there"));
        assert!(!is_readable("\u{fffd}\u{fffd}\u{fffd}\u{fffd}ab"));
        assert!(!is_readable("   \n "));
        assert!(!is_readable("˙˙˙Ŕ€ÁÁĄ˘ź§\nŻß×ŕÄąŮ˙Ŕ€Á"));
        assert!(is_readable("Përshëndetje, si jeni? 5700 Lekë."));
        assert!(is_readable("Test whitelist_from_rcvd foo@example.com"));
        assert!(has_content("http://example.com"));
        assert!(!has_content("\u{fffd}\u{fffd}\u{fffd}\u{fffd}ab"));
    }
}
