//! Generalisation over real forward blocks: every forwarded email of
//! crisp-oss/email-forward-parser (real clients, 23 UI languages) becomes a forwarded
//! permit notification, once in English and once in Albanian. The block stays exactly as
//! the client wrote it (labels, separator, date format, quoting and indentation); only the
//! people and the original's text are replaced: John Doe becomes a Directorate sender,
//! Bessie Berry the applicant, the subject a permit subject (in the other language for
//! every other body, so the language must come from the notice sentence), and the
//! original's paragraphs the notice, with the same quote prefix on every line (hard
//! wrapped at 72 columns for every other body, as clients that wrap quoted text do). The
//! parse must give the kind, name, travel document, directorate, language, the block's
//! sender (`original_from`) and its date (`notified_at`, `dates.rs`).

use std::path::PathBuf;

use leje::parse::{parse, Kind, ParsedMessage};

use super::dates::{expected_date, NO_ADDRESS};

/// (display name as the client shows it, address as written; expected lower-case).
const OFFICES: &[(&str, &str)] = &[
    ("Leje Qendrimi DPPSH", "LejeQendrimi@asp.gov.al"),
    (
        "Drejtoria Vendore për Kufirin dhe Migracionin",
        "dvkm.tirana@asp.gov.al",
    ),
    ("e-Albania", "no-reply@e-albania.al"),
    ("Njoftime Leje Qendrimi", "Njoftime.LejeQendrimi@asp.gov.al"),
    ("Sektori i Lejeve", "sektori.lejeve@asp.gov.al"),
];

struct Person {
    name: &'static str,
    doc: &'static str,
    want_doc: &'static str,
    nationality: (&'static str, &'static str),
    city: &'static str,
    directorate: &'static str,
}

const PEOPLE: &[Person] = &[
    Person {
        name: "Marco Rossi",
        doc: "YB2468135",
        want_doc: "YB2468135",
        nationality: ("Italian", "Italiane"),
        city: "TIRANE",
        directorate: "tirane",
    },
    Person {
        name: "Jürgen Weiß",
        doc: "C7H3M8P2R",
        want_doc: "C7H3M8P2R",
        nationality: ("German", "Gjermane"),
        city: "Durrës",
        directorate: "durres",
    },
    Person {
        name: "Amélie Laurent",
        doc: "18AV52341",
        want_doc: "18AV52341",
        nationality: ("French", "Franceze"),
        city: "Vlorë",
        directorate: "vlore",
    },
    Person {
        name: "Ольга Смирнова",
        doc: "75 4839201",
        want_doc: "754839201",
        nationality: ("Russian", "Ruse"),
        city: "Shkodër",
        directorate: "shkoder",
    },
    Person {
        name: "Georgios Nikolaidis",
        doc: "AN 7712093",
        want_doc: "AN7712093",
        nationality: ("Greek", "Greke"),
        city: "KORCE",
        directorate: "korce",
    },
    Person {
        name: "Ayşe Yılmaz",
        doc: "wcpfvjfw8",
        want_doc: "WCPFVJFW8",
        nationality: ("Turkish", "Turke"),
        city: "Tiranë",
        directorate: "tirane",
    },
    Person {
        name: "Blerta Hoxha-Dupont",
        doc: "czhmmjh5g",
        want_doc: "CZHMMJH5G",
        nationality: ("French", "Franceze"),
        city: "Fier",
        directorate: "fier",
    },
    Person {
        name: "Kenji Tanaka",
        doc: "TK8124590",
        want_doc: "TK8124590",
        nationality: ("Japanese", "Japoneze"),
        city: "Elbasan",
        directorate: "elbasan",
    },
];

const EN_BODY: &str =
    "Please print the attached payment notice and pay the fee of 5700 Lek at any \
bank or at an Albanian Post office. With the payment receipt, your travel document and one \
photograph, apply for the biometric residence card at the Local Directorate for Border and \
Migration.\n\nThis message was generated automatically, please do not reply to it.";

const SQ_BODY: &str = "Ju lutemi printoni mandatpagesën bashkëlidhur dhe paguani tarifën prej \
5700 lekësh në bankë ose në Postën Shqiptare. Me mandatin e pagesës, dokumentin e udhëtimit \
dhe një fotografi, aplikoni për kartën biometrike të qëndrimit pranë Drejtorisë Vendore për \
Kufirin dhe Migracionin.\n\nKy mesazh është gjeneruar automatikisht, ju lutemi mos u \
përgjigjni.";

const SIGNATURE: &str = "Drejtoria Vendore për Kufirin dhe Migracionin";

fn notice(p: &Person, lang: &str) -> String {
    if lang == "en" {
        format!(
            "Dear Sir/Madam,\n\nWe inform you that your Residence Permit for citizen {} , Travel \
             Document no. {} , {} has been approved.\n\n{EN_BODY}\n\n{SIGNATURE} {}",
            p.name, p.doc, p.nationality.0, p.city
        )
    } else {
        format!(
            "I/E nderuar,\n\nJu informojmë se Leja e Qëndrimit për shtetasin {}, Dokument \
             Udhëtimi nr. {}, {} është miratuar.\n\n{SQ_BODY}\n\n{SIGNATURE} {}",
            p.name, p.doc, p.nationality.1, p.city
        )
    }
}

/// Greedy word wrap of each paragraph line at `width` characters.
fn wrap(text: &str, width: usize) -> String {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let mut cur = String::new();
        for w in line.split(' ') {
            if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
        out.push(cur);
    }
    out.join("\n")
}

/// The sentences the corpus's originals are made of (each line of an original starts
/// with one of them, after its quote prefix).
const ORIGINAL_LINES: &[&str] = &[
    "Aenean quis diam urna.",
    "Sed nec facilisis tellus.",
    "Praesent ac ligula orci.",
    "Unicum iter ad supremum.",
];

/// A line's text without its quote prefix (`>`, spaces, tabs, a stray BOM).
fn unquoted(line: &str) -> &str {
    line.trim_start_matches(['>', ' ', '\t', '\u{feff}', '\u{a0}'])
}

/// Replaces the first original (the lines from the first original sentence after the
/// sender's first mention, up to its last line before anything else) with `notice`, each
/// line with the quote prefix of the original's first line. `None` when there is none.
fn replace_original(text: &str, sender: &str, notice: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let from = lines.iter().position(|l| l.contains(sender)).unwrap_or(0);
    let is_original = |l: &str| ORIGINAL_LINES.iter().any(|s| unquoted(l).starts_with(s));
    let start = from + lines[from..].iter().position(|l| is_original(l))?;
    let mut end = start;
    for (j, l) in lines.iter().enumerate().skip(start + 1) {
        if is_original(l) {
            end = j;
        } else if !unquoted(l).trim().is_empty() {
            break;
        }
    }
    let first = lines[start];
    let prefix = &first[..first.len() - unquoted(first).len()];
    let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
    for l in notice.split('\n') {
        out.push(if l.is_empty() {
            prefix.trim_end().to_string()
        } else {
            format!("{prefix}{l}")
        });
    }
    out.extend(lines[end + 1..].iter().map(|l| l.to_string()));
    Some(out.join("\n"))
}

/// One generated case: the message and what its parse must give.
pub struct Case {
    pub name: String,
    pub raw: Vec<u8>,
    want: Want,
}

struct Want {
    name: &'static str,
    doc: &'static str,
    directorate: &'static str,
    language: &'static str,
    from: Option<String>,
    date: Option<&'static str>,
}

/// The body as an HTML-only message would carry it: lines ended by `<br>`, each level of
/// `>` quoting a `<blockquote>` (as Gmail and Thunderbird quote), text escaped.
fn to_html(text: &str) -> String {
    let mut out =
        String::from("<html><head><meta charset=\"utf-8\"></head><body><div dir=\"ltr\">\n");
    let mut depth = 0;
    for line in text.split('\n') {
        let rest = line.trim_start_matches(['>', ' ']);
        let quoted = &line[..line.len() - rest.len()];
        let d = quoted.matches('>').count();
        let rest = if d == 0 { line } else { rest };
        for _ in depth..d {
            out.push_str("<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex\">\n");
        }
        for _ in d..depth {
            out.push_str("</blockquote>\n");
        }
        depth = d;
        let escaped = rest
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace("  ", " &nbsp;");
        out.push_str(&escaped);
        out.push_str("<br>\n");
    }
    out.push_str(&"</blockquote>".repeat(depth));
    out.push_str("</div></body></html>");
    out
}

/// Builds the message for corpus body `stem` (its text, the `k`-th body), in `lang`
/// (`v`: 0 English, 1 Albanian), as text/plain or (`html`) HTML only.
pub fn case(stem: &str, text: &str, k: usize, v: usize, html: bool) -> Case {
    let lang = ["en", "sq"][v];
    let p = &PEOPLE[(2 * k + v) % PEOPLE.len()];
    let (disp, addr) = OFFICES[(2 * k + v) % OFFICES.len()];
    // The subject in the other language for every other body.
    let subject_sq = (lang == "sq") != (k % 2 == 1);
    let subject = if subject_sq {
        "Leja e Qëndrimit"
    } else {
        "Residence Permit"
    };
    let mut body = notice(p, lang);
    if (k + v) % 2 == 1 {
        body = wrap(&body, 72);
    }
    // HubSpot's reply variant quotes another sender; it plays John Doe's part there.
    let (sender_disp, sender_addr) = if text.contains("john.doe@acme.com") {
        ("John Doe", "john.doe@acme.com")
    } else {
        ("Eliott Vincent", "archive@eliottvincent.com")
    };
    let text = text.replace('\u{feff}', "").replace("\r\n", "\n");
    let text = replace_original(&text, sender_disp, &body)
        .unwrap_or_else(|| panic!("{stem}: no original text to replace"));
    let applicant = format!("applicant{k}@gmail.com");
    let text = text
        .replace(sender_addr, addr)
        .replace(sender_disp, disp)
        .replace("bessie.berry@acme.com", &applicant)
        .replace("Bessie Berry", p.name)
        .replace("Integer consequat non purus", subject);
    let (subtype, text) = if html {
        ("html", to_html(&text))
    } else {
        ("plain", text)
    };
    let raw = format!(
        "From: Forwarder <forwarder@example.org>\r\nTo: leje@example.al\r\nSubject: Fwd: \
         {subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        text.replace('\n', "\r\n")
    );
    let no_address = NO_ADDRESS.iter().find(|(n, _)| stem.starts_with(n));
    Case {
        name: format!("{stem} [{lang}, {subtype}]"),
        raw: raw.into_bytes(),
        want: Want {
            name: p.name,
            doc: p.want_doc,
            directorate: p.directorate,
            language: lang,
            from: no_address.is_none().then(|| addr.to_lowercase()),
            date: match no_address {
                Some((_, false)) => None,
                _ => Some(expected_date(stem)),
            },
        },
    }
}

/// What is wrong with the parse of `c`, field by field (empty: right).
pub fn check(c: &Case, m: &ParsedMessage) -> Vec<String> {
    let mut bad = Vec::new();
    if m.kind != Kind::PermitApproved {
        bad.push(format!("kind {}", word(&m.kind)));
    }
    let w = &c.want;
    let mut field = |what: &str, got: Option<String>, want: Option<&str>| {
        if got.as_deref() != want {
            bad.push(format!("{what} {got:?} (want {want:?})"));
        }
    };
    field("name", m.name.clone(), Some(w.name));
    field("travel_document", m.travel_document.clone(), Some(w.doc));
    field(
        "directorate",
        m.directorate.map(|d| word(&d)),
        Some(w.directorate),
    );
    field("language", m.language.map(|l| word(&l)), Some(w.language));
    field("original_from", m.original_from.clone(), w.from.as_deref());
    field("notified_at", m.notified_at.clone(), w.date);
    bad
}

/// The JSON word of a serialised enum (`permit_approved`, `sq`, `tirane`).
fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Every `*_body*.txt` of the corpus, sorted.
pub fn bodies(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("_body"))
        .collect();
    files.sort();
    files
}

/// Runs every body in both languages, as text/plain and as HTML only; returns (cases
/// checked, failures). With
/// `LEJE_DUMP_FORWARD=DIR` each generated message is also written there, to look at.
pub fn run(dir: &std::path::Path) -> (usize, Vec<String>) {
    let (mut checked, mut failures) = (0, Vec::new());
    let dump = std::env::var_os("LEJE_DUMP_FORWARD").map(PathBuf::from);
    for (k, path) in bodies(dir).iter().enumerate() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).to_string();
        for (v, html) in [(0, false), (1, false), (0, true), (1, true)] {
            let c = case(&stem, &text, k, v, html);
            if let Some(d) = &dump {
                let kind = if html { "html" } else { "plain" };
                let file = d.join(format!("{stem}.{}.{kind}.eml", ["en", "sq"][v]));
                std::fs::write(&file, &c.raw).unwrap_or_else(|e| panic!("{file:?}: {e}"));
            }
            let m = parse(&c.raw);
            checked += 1;
            let bad = check(&c, &m);
            if !bad.is_empty() {
                failures.push(format!("{}: {}", c.name, bad.join("; ")));
            }
        }
    }
    (checked, failures)
}
