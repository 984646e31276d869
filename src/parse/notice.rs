//! Recognising the notification sentence itself, in English or Albanian,
//! tolerant of case, accents, spacing, line breaks and small wording changes:
//!
//! "We inform you that your Residence Permit for citizen NAME , Travel Document no. N , X has been approved"
//! "Ju informojmë se Leja e Qëndrimit për shtetasin NAME, Dokument Udhëtimi nr. N, X është miratuar"

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::text::{collapse_ws, fold, Folded};
use super::{directorate, Directorate, Language};

/// A notification found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Byte offset in the searched text where the notification starts.
    pub start: usize,
    pub rejected: bool,
    pub language: Language,
    pub name: Option<String>,
    pub travel_document: Option<String>,
    pub nationality: Option<String>,
    pub directorate: Option<Directorate>,
}

const ANCHORS: &[(&str, Language)] = &[
    ("residence permit", Language::En),
    ("qendrim", Language::Sq),
];
const CITIZEN: &[&str] = &["citizen", "foreign national", "shtetas"];
const APPROVED: &[&str] = &[
    "has been approved",
    "have been approved",
    "has been granted",
    "was approved",
    "is approved",
    "eshte miratuar",
    "u miratua",
    "eshte aprovuar",
    "eshte pranuar",
    "has been issued",
    "eshte leshuar",
];
const REJECTED: &[&str] = &[
    "has been rejected",
    "has been refused",
    "has been denied",
    "has not been approved",
    "was rejected",
    "was refused",
    "is rejected",
    "eshte refuzuar",
    "nuk eshte miratuar",
    "u refuzua",
    "nuk eshte aprovuar",
    "has not been granted",
    "has been declined",
    "is refused",
    "nuk eshte pranuar",
];
const DOC_MARKERS: &[&str] = &[
    "travel document",
    "travel doc",
    "passport",
    "dokument",
    "udhetimi",
    "pasaport",
];
/// Words between the document marker and the number itself.
const DOC_WORDS: &[&str] = &[
    "travel",
    "document",
    "doc",
    "no",
    "nr",
    "number",
    "num",
    "nro",
    "numer",
    "numri",
    "n",
    "dokument",
    "dokumenti",
    "dokumentit",
    "dokumentin",
    "i",
    "te",
    "e",
    "udhetimi",
    "udhetimit",
    "passport",
    "pasaporte",
    "pasaportes",
    "pasaporta",
    "pasaport",
    "id",
    "with",
    "me",
    "of",
];
const WINDOW: usize = 700;

/// Finds the first real (non-template) notification in `text`.
pub fn find(text: &str) -> Option<Notice> {
    let f = Folded::new(text);
    let mut anchors: Vec<(usize, Language)> = Vec::new();
    for &(a, lang) in ANCHORS {
        let mut at = 0;
        while let Some(p) = f.find(a, at) {
            anchors.push((p, lang));
            at = p + a.len();
            if anchors.len() > 200 {
                break;
            }
        }
    }
    anchors.sort_by_key(|a| a.0);
    let positions: Vec<usize> = anchors.iter().map(|a| a.0).collect();
    anchors.iter().enumerate().find_map(|(k, &(p, _))| {
        let next = positions.get(k + 1).copied();
        at_anchor(text, &f, p, next)
    })
}

/// A phrase list compiled once: one pass over a window finds the earliest of
/// its phrases, the longest where several start at the same place.
///
/// NOTE: a window used to be searched once per phrase (up to fifteen), each
/// search building its own searcher; that was a fifth of the parser's time.
struct Phrases {
    ac: AhoCorasick,
    longest: usize,
}

impl Phrases {
    fn new(pats: &[&str]) -> Phrases {
        Phrases {
            ac: AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(pats)
                .expect("fixed ASCII phrases"),
            longest: pats.iter().map(|p| p.len()).max().unwrap_or(0),
        }
    }
}

static CITIZEN_SET: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(CITIZEN));
static APPROVED_SET: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(APPROVED));
static REJECTED_SET: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(REJECTED));
static DOC_MARKER_SET: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(DOC_MARKERS));

/// The earliest phrase of `set` starting in `from..to` (it may end past `to`),
/// the longest of those starting there: `(start, end)` in the folded text.
fn earliest(f: &Folded, set: &Phrases, from: usize, to: usize) -> Option<(usize, usize)> {
    let s = f.s.as_bytes();
    let from = from.min(s.len());
    let end = to.saturating_add(set.longest).min(s.len()).max(from);
    // The phrases are ASCII: a match never starts inside a character.
    let m = set.ac.find(&s[from..end])?;
    let (q, e) = (from + m.start(), from + m.end());
    (q < to).then_some((q, e))
}

/// The notification whose sentence starts at the anchor at `p`, if any. `next`
/// is the following anchor: when it also comes before the citizen word, the
/// sentence starts there (an "Njoftim për Leje Qëndrimi" subject line just above
/// "Residence Permit for citizen …" is not part of the sentence).
fn at_anchor(text: &str, f: &Folded, p: usize, next: Option<usize>) -> Option<Notice> {
    let s = &f.s;
    let (c, ce) = earliest(f, &CITIZEN_SET, p, p + 90)?;
    if next.is_some_and(|n| n < c) {
        return None;
    }
    // The language of the sentence itself, from its citizen word.
    let lang = sentence_language(&s[c..ce]);
    // The name starts after the whole citizen word ("shtetasin", "citizen:").
    let name_start = s[ce..].find(' ').map_or(s.len(), |q| ce + q);
    let limit = name_start + WINDOW;
    let ok = earliest(f, &APPROVED_SET, name_start, limit);
    let rej = earliest(f, &REJECTED_SET, name_start, limit);
    let (outcome, rejected) = match (ok, rej) {
        (Some(a), Some(r)) if r.0 <= a.0 || r.1 >= a.1 && r.0 < a.1 => (r.0, true),
        (Some(a), _) => (a.0, false),
        (None, Some(r)) => (r.0, true),
        (None, None) => return None,
    };
    let body_end = outcome;
    let orig = |i: usize| f.orig(i);
    let (name, doc, rest_start);
    if let Some((m, _)) = earliest(f, &DOC_MARKER_SET, name_start, body_end) {
        name = clean(&text[orig(name_start)..orig(m)]);
        let (d, after) = read_doc(text, orig(m), orig(body_end));
        doc = d;
        rest_start = after;
    } else {
        let comma = s[name_start..body_end].find(',').map(|q| name_start + q);
        match comma {
            Some(k) => {
                name = clean(&text[orig(name_start)..orig(k)]);
                rest_start = orig(k);
            }
            None => {
                name = None;
                rest_start = orig(name_start);
            }
        }
        doc = Doc::Missing;
    }
    let name = name.map(|n| strip_name_noise(&n)).filter(|n| !n.is_empty());
    let nationality = clean(&text[rest_start.min(orig(body_end))..orig(body_end)]);
    if name.as_deref().is_some_and(is_placeholder_name) {
        return None;
    }
    let travel_document = match doc {
        Doc::Placeholder => return None,
        Doc::Missing => None,
        Doc::Valid(d) => Some(d),
    };
    if name.is_none() && travel_document.is_none() {
        return None;
    }
    Some(Notice {
        start: orig(p),
        rejected,
        language: lang,
        name,
        travel_document,
        nationality: nationality.filter(|n| !is_placeholder_nationality(n)),
        directorate: directorate::find(f, outcome),
    })
}

fn sentence_language(citizen: &str) -> Language {
    if citizen.starts_with("shtetas") {
        Language::Sq
    } else {
        Language::En
    }
}

/// Drops what is not the name: a leading "e huaj" ("shtetasin e huaj NAME")
/// and a trailing connector after a comma ("NAME, with Travel Document …").
fn strip_name_noise(n: &str) -> String {
    let mut n = n;
    for p in [
        "e huaj ",
        "te huaj ",
        "të huaj ",
        "i huaj ",
        "E HUAJ ",
        "TË HUAJ ",
    ] {
        if let Some(r) = n.strip_prefix(p) {
            n = r;
        }
    }
    if let Some((head, tail)) = n.rsplit_once(',') {
        let t = tail.trim();
        if t.is_empty() || t.chars().all(|c| c.is_lowercase() || c.is_whitespace()) {
            n = head;
        }
    }
    n.trim_matches(|c: char| c.is_whitespace() || c == ',')
        .to_string()
}

/// Trims separators and markup remnants around a value; `None` if empty.
fn clean(s: &str) -> Option<String> {
    let s: String = s.chars().filter(|&c| c != '*').collect();
    let s = collapse_ws(&s);
    let t = s
        .trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | ':' | '_' | '"' | '“' | '”' | '–' | '-')
        })
        .trim();
    let t = t.trim_end_matches([',', ' ', '.']).trim();
    (!t.is_empty()).then(|| t.to_string())
}

enum Doc {
    Valid(String),
    Placeholder,
    Missing,
}

/// Reads the travel-document number after the marker at `from` (original
/// offsets); returns it and the offset where the rest (nationality) starts.
fn read_doc(text: &str, from: usize, to: usize) -> (Doc, usize) {
    let seg = &text[from..to];
    let mut pos = 0;
    // Skip the marker words ("Travel Document no.", "Dokument Udhëtimi nr:").
    loop {
        let rest = &seg[pos..];
        let trimmed = rest.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '.' | ':' | '#' | '*' | '°' | 'º' | '_' | '-')
        });
        pos += rest.len() - trimmed.len();
        let word_len = trimmed
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(trimmed.len());
        // "N00482913": a letter glued to digits is part of the number, not "n(o)".
        let glued = trimmed[word_len..].starts_with(|c: char| c.is_ascii_digit());
        if word_len == 0 || glued || !DOC_WORDS.contains(&fold(&trimmed[..word_len]).as_str()) {
            break;
        }
        pos += word_len;
    }
    // The number: up to the next comma, as tokens.
    let rest = &seg[pos..];
    let end = rest.find([',', ';', '\n']).unwrap_or(rest.len());
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut i = 0;
    for t in rest[..end].split(' ') {
        if !t.trim().is_empty() {
            tokens.push((i, t));
        }
        i += t.len() + 1;
    }
    let mut taken = 0;
    let mut doc = String::new();
    for (k, &(_, t)) in tokens.iter().enumerate() {
        let t = t.trim_matches(|c: char| c == '*' || c == '.' || c.is_whitespace());
        let has_digit = t.chars().any(|c| c.is_ascii_digit());
        let short_prefix = t.len() <= 3
            && t.chars().all(|c| c.is_ascii_alphabetic())
            && tokens
                .get(k + 1)
                .is_some_and(|n| n.1.chars().any(|c| c.is_ascii_digit()));
        if has_digit || short_prefix || (k == 0 && t.len() >= 3) {
            doc.push_str(t);
            taken = k + 1;
        } else {
            break;
        }
    }
    let after = match tokens.get(taken) {
        Some(&(o, _)) if taken > 0 => from + pos + o,
        _ if taken > 0 => from + pos + end,
        _ => from + pos,
    };
    let doc_u: String = doc
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    (check_doc(&doc_u), after)
}

fn check_doc(d: &str) -> Doc {
    if d.is_empty() {
        return Doc::Missing;
    }
    let digits: Vec<char> = d.chars().filter(|c| c.is_ascii_digit()).collect();
    let placeholder = d.contains(['[', ']', '{', '}', '<', '>'])
        || d.chars()
            .all(|c| c == 'X' || c == 'N' || c == '.' || c == '_')
        || d.contains("NUMBER")
        || d.contains("NUMRI")
        || d.contains("XXX")
        || (digits.len() == d.len()
            && d.len() >= 5
            && digits.windows(2).all(|w| w[1] as u8 == w[0] as u8 + 1))
        || (d.len() >= 5 && d.chars().all(|c| d.starts_with(c)));
    if placeholder {
        return Doc::Placeholder;
    }
    // Any 6–12 character token in the document's slot (real passport series are
    // often mostly letters, "WCPFVJFW8"); longer or shorter ones with digits, as
    // numbers written in groups join up to.
    let alnum = d.chars().all(|c| c.is_ascii_alphanumeric());
    let ok = alnum
        && ((6..=12).contains(&d.len()) || (d.len() >= 5 && d.len() <= 20 && digits.len() >= 2))
        && !DOC_WORDS.contains(&d.to_ascii_lowercase().as_str());
    if ok {
        Doc::Valid(d.to_string())
    } else {
        Doc::Missing
    }
}

/// Template names used by blog posts and guides instead of a real applicant.
pub fn is_placeholder_name(n: &str) -> bool {
    if n.contains(['[', ']', '{', '}', '<', '>', '…']) || n.contains("...") {
        return true;
    }
    let f = fold(n);
    if !f.chars().any(|c| c.is_alphabetic()) {
        return true;
    }
    const LIST: &[&str] = &[
        "name",
        "names",
        "full name",
        "your name",
        "name surname",
        "name lastname",
        "first name last name",
        "firstname lastname",
        "emri",
        "emri mbiemri",
        "emer mbiemer",
        "emri dhe mbiemri",
        "mbiemri",
        "john doe",
        "jane doe",
        "john smith",
        "filan fisteku",
        "filane fisteku",
        "x",
        "xx",
        "xxx",
        "n",
        "nn",
        "name of applicant",
        "applicant",
        "citizen",
        "shtetasi",
        "surname",
    ];
    LIST.contains(&f.as_str()) || f.chars().all(|c| c == 'x' || c == ' ' || c == '.')
}

fn is_placeholder_nationality(n: &str) -> bool {
    n.contains(['[', ']', '{', '}', '<', '>'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = "Dear applicant,\nWe inform you that your Residence Permit for citizen John  Michael SMITH , Travel Document no. 5 4 8 1 2 3 9 8 7 , USA has been approved. Please...\n\nDrejtoria Vendore për Kufirin dhe Migracionin TIRANE";

    #[test]
    fn english() {
        let n = find(EN).unwrap();
        assert_eq!(n.name.as_deref(), Some("John Michael SMITH"));
        assert_eq!(n.travel_document.as_deref(), Some("548123987"));
        assert_eq!(n.nationality.as_deref(), Some("USA"));
        assert_eq!(n.directorate, Some(Directorate::Tirane));
        assert_eq!(n.language, Language::En);
        assert!(!n.rejected);
    }

    #[test]
    fn albanian_without_accents_and_with_breaks() {
        let t = "Ju informojme se Leja e Qendrimit per shtetasen\nMARIA ROSSI,\nDokument Udhetimi Nr: ya1234567,\nItaliane eshte miratuar.\nDrejtoria Vendore per Kufirin dhe Migracionin Durrës";
        let n = find(t).unwrap();
        assert_eq!(n.name.as_deref(), Some("MARIA ROSSI"));
        assert_eq!(n.travel_document.as_deref(), Some("YA1234567"));
        assert_eq!(n.nationality.as_deref(), Some("Italiane"));
        assert_eq!(n.directorate, Some(Directorate::Durres));
        assert_eq!(n.language, Language::Sq);
    }

    #[test]
    fn name_noise() {
        let t = "Leja e Qëndrimit për shtetasin e huaj Ana Lee, me Dokument Udhëtimi nr. P7788123, Kanadeze është miratuar";
        assert_eq!(find(t).unwrap().name.as_deref(), Some("Ana Lee"));
        let t = "Residence Permit for citizen Ana Lee, with Travel Document no. P7788123, Canada has been approved";
        let n = find(t).unwrap();
        assert_eq!(n.name.as_deref(), Some("Ana Lee"));
        assert_eq!(n.nationality.as_deref(), Some("Canada"));
    }

    #[test]
    fn rejections() {
        let t = "Ju informojmë se Leja e Qëndrimit për shtetasin Ali Veli, Dokument Udhëtimi nr. U12345678, Turke nuk është miratuar.";
        assert!(find(t).unwrap().rejected);
        let t = "your residence permit for citizen Ali Veli, travel document No: U12345678, Turkey has been REJECTED";
        assert!(find(t).unwrap().rejected);
    }

    #[test]
    fn missing_document_is_kept_without_number() {
        let t = "We inform you that your Residence Permit for citizen Anna Berg , Swedish has been approved.";
        let n = find(t).unwrap();
        assert_eq!(n.name.as_deref(), Some("Anna Berg"));
        assert_eq!(n.travel_document, None);
        assert_eq!(n.nationality.as_deref(), Some("Swedish"));
    }

    #[test]
    fn templates_are_not_notifications() {
        for t in [
            "We inform you that your Residence Permit for citizen NAME , Travel Document no. N , X has been approved",
            "The email reads: Residence Permit for citizen [Name], Travel Document no. [number], [nationality] has been approved",
            "Ju informojmë se Leja e Qëndrimit për shtetasin EMRI, Dokument Udhëtimi nr. XXXXXX, X është miratuar",
            "Residence Permit for citizen John Doe , Travel Document no. 123456789 , US has been approved",
            "Has my residence permit been approved yet? I am a US citizen.",
        ] {
            assert_eq!(find(t), None, "{t}");
        }
    }

    #[test]
    fn language_of_the_sentence_not_the_first_keyword() {
        let t = "Subject: Njoftim për Leje Qëndrimi\n\nWe inform you that your Residence Permit for citizen Ana Lee , Travel Document no. P7788123 , Canada has been approved.";
        let n = find(t).unwrap();
        assert_eq!(n.language, Language::En);
        assert_eq!(&t[n.start..n.start + 16], "Residence Permit");
        let t = "Subject: Residence Permit\n\nJu informojmë se Leja e Qëndrimit për shtetasin Ana Lee, Dokument Udhëtimi nr. P7788123, Kanadeze është miratuar.";
        assert_eq!(find(t).unwrap().language, Language::Sq);
        let t = "Leja e Qëndrimit për shtetasin Ana Lee, Dokument Udhëtimi nr. P7788123, Kanadeze është miratuar.\n\nYour Residence Permit for citizen Ana Lee, Travel Document no. P7788123, Canada has been approved.";
        assert_eq!(find(t).unwrap().language, Language::Sq);
        let t = "Residence Permit (Leje Qëndrimi) for citizen Ana Lee, Travel Document no. wcpfvjfw8, Canada has been approved.";
        let n = find(t).unwrap();
        assert_eq!(n.language, Language::En);
        assert_eq!(n.travel_document.as_deref(), Some("WCPFVJFW8"));
    }

    #[test]
    fn doc_shapes() {
        assert!(matches!(check_doc("AB12"), Doc::Missing));
        assert!(matches!(check_doc("ABCDEFG1"), Doc::Valid(_)));
        assert!(matches!(check_doc("WCPFVJFW8"), Doc::Valid(_)));
        assert!(matches!(check_doc("ABCDE"), Doc::Missing));
        assert!(matches!(check_doc("ABCDEFGHIJKLM"), Doc::Missing));
        assert!(matches!(check_doc("PASSPORT"), Doc::Missing));
        assert!(matches!(check_doc("XXXXXXX"), Doc::Placeholder));
        assert!(matches!(check_doc("C01X00T47"), Doc::Valid(_)));
        let t =
            "Residence Permit for citizen A B , Travel Document no. N00482913 , has been approved";
        assert_eq!(
            find(t).unwrap().travel_document.as_deref(),
            Some("N00482913")
        );
        let t = "Residence Permit for citizen A B , Travel Document No:E57439210, X Y has been approved";
        assert_eq!(
            find(t).unwrap().travel_document.as_deref(),
            Some("E57439210")
        );
    }
}
