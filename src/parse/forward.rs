//! Forward header blocks ("From: … Sent: … To: … Subject: …") recognised by
//! their shape, in any mail client and UI language: several consecutive
//! `Label: value` lines, one with a from-like label and one with a date-,
//! to- or subject-like label. Separator lines ("---------- Forwarded message
//! ---------", "Begin forwarded message:", "-----Original Message-----", …)
//! are not needed, so clients that omit them are covered too.

use super::date;
use super::text::{fold, fold_char, is_word_char};
use super::words::{DATE, FROM, SUBJECT, TO};
use chrono::{DateTime, FixedOffset};
use std::borrow::Cow;

/// Lines of a text part looked at for forward blocks.
const MAX_LINES: usize = 100_000;

/// One forward header block found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Byte offset of the block's first line in the searched text.
    pub start: usize,
    pub from: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Label {
    From,
    Date,
    To,
    Subject,
    Other,
}

fn classify(label: &str) -> Label {
    let f = fold(label);
    let f = f.trim_end_matches('.');
    if FROM.contains(&f) {
        Label::From
    } else if DATE.contains(&f) {
        Label::Date
    } else if TO.contains(&f) {
        Label::To
    } else if SUBJECT.contains(&f) {
        Label::Subject
    } else {
        Label::Other
    }
}

/// Splits `Label: value` (tolerating `*From:*`, `**Von:**`, tabs, full-width colons).
fn label_line(line: &str) -> Option<(Label, &str)> {
    let t = line.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    let (colon, clen) = t
        .char_indices()
        .take(40)
        .find(|&(_, c)| c == ':' || c == '：')
        .map(|(i, c)| (i, c.len_utf8()))?;
    let label = t[..colon].trim_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    if label.is_empty()
        || label.split_whitespace().count() > 4
        || !label
            .chars()
            .all(|c| is_word_char(c) || matches!(c, ' ' | '-' | '/' | '.' | '\''))
    {
        return None;
    }
    let value = t[colon + clen..].trim_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    Some((classify(label), value))
}

/// Whether a line is a forward-header line with a known label ("From: …", "Date: …").
pub fn is_header_line(line: &str) -> bool {
    matches!(label_line(line.trim()), Some((l, _)) if l != Label::Other)
}

/// The first e-mail address in a value (`Name <a@b>`, `a@b`, `[mailto:a@b]`), lower-case.
pub fn find_email(v: &str) -> Option<String> {
    let is_addr = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'');
    let mut from = 0;
    // NOTE: iterative and capped: a hostile line of a million '@' costs nothing.
    for _ in 0..1000 {
        let at = from + v[from..].find('@')?;
        from = at + 1;
        let Some(start) = v[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_addr(c))
            .last()
            .map(|(i, _)| i)
        else {
            continue;
        };
        let Some(end) = v[at + 1..]
            .char_indices()
            .take_while(|&(_, c)| is_addr(c))
            .last()
            .map(|(i, c)| at + 1 + i + c.len_utf8())
        else {
            continue;
        };
        let local = v[start..at].trim_start_matches("mailto:");
        let domain = v[at + 1..end].trim_end_matches(['.', '-']);
        if !local.is_empty() && domain.contains('.') {
            return Some(format!("{local}@{domain}").to_lowercase());
        }
    }
    None
}

/// Compares `label` (folded) with the start of `s`; returns the matched byte length.
fn match_label(s: &str, label: &str) -> Option<usize> {
    let mut it = s.char_indices();
    for l in label.chars() {
        let (_, c) = it.next()?;
        if fold_char(c) != l {
            return None;
        }
    }
    Some(it.next().map_or(s.len(), |(i, _)| i))
}

/// Yahoo and some webmail clients flatten the forward header into one line:
/// "----- Forwarded Message ----- From: A <a@x>To: b@y Sent: …Subject: …".
/// Returns the byte offsets where each label starts, if the line is one of those.
fn split_glued(line: &str) -> Option<Vec<usize>> {
    if line.len() > 4000 || line.matches([':', '：']).count() < 3 {
        return None;
    }
    let mut cuts = Vec::new();
    let (mut from, mut other) = (false, false);
    let mut prev: Option<char> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // "Subject" after "CET" ("…09:26:50 CETSubject:"): an upper-case letter
        // followed by a lower-case one starts a word even after capitals.
        let next_lower = chars.peek().is_some_and(|&(_, n)| n.is_lowercase());
        let boundary = c.is_uppercase() && (!prev.is_some_and(char::is_uppercase) || next_lower);
        prev = Some(c);
        if !boundary || cuts.last().is_some_and(|&l| i < l + 2) {
            continue;
        }
        let first = fold_char(c);
        let rest = &line[i..];
        let hit = [FROM, DATE, TO, SUBJECT]
            .iter()
            .flat_map(|l| l.iter())
            .filter(|l| l.starts_with(first))
            .filter_map(|l| match_label(rest, l).map(|n| (n, *l)))
            .filter(|&(n, _)| {
                rest[n..]
                    .trim_start_matches([' ', '*', '\u{a0}'])
                    .starts_with([':', '：'])
            })
            .max_by_key(|&(n, _)| n);
        if let Some((_, l)) = hit {
            match classify(l) {
                Label::From => from = true,
                Label::Other => continue,
                _ => other = true,
            }
            cuts.push(i);
        }
    }
    (cuts.len() >= 3 && from && other).then_some(cuts)
}

/// Lines of a wrapped glued header joined: the text, its label cuts, how many
/// lines after the first it took, and its score (labels, readable date).
struct Join {
    text: String,
    cuts: Vec<usize>,
    used: usize,
    score: (usize, bool),
}

/// Whether the date-labelled piece of a glued line reads as a full date.
fn dated(line: &str, cuts: &[usize]) -> bool {
    cuts.iter().enumerate().any(|(j, &c)| {
        let end = cuts.get(j + 1).copied().unwrap_or(line.len());
        matches!(label_line(&line[c..end]), Some((Label::Date, v)) if date::parse_loose(v).is_some())
    })
}

/// All forward header blocks in `text`, in order.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    let mut lines: Vec<(usize, Cow<'_, str>)> = Vec::new();
    // NOTE: a forward block is never past the first MAX_LINES lines of a real message;
    // the cap keeps a body of millions of short lines from costing ~50 bytes a line here.
    let raw: Vec<&str> = text.split('\n').take(MAX_LINES).collect();
    let mut off = 0;
    let mut k = 0;
    while k < raw.len() {
        let line = raw[k];
        let start = off;
        off += line.len() + 1;
        k += 1;
        if let Some(cuts) = split_glued(line) {
            lines.push((start, Cow::Borrowed(&line[..cuts[0]])));
            for (j, &c) in cuts.iter().enumerate() {
                let end = cuts.get(j + 1).copied().unwrap_or(line.len());
                lines.push((start + c, Cow::Borrowed(&line[c..end])));
            }
            continue;
        }
        // Yahoo's one-line header hard-wrapped by the client that forwarded it
        // again: "----- Forwarded Message ----- From: …" and the lines up to a blank.
        if line.trim_start().starts_with("-----") && line.contains([':', '：']) {
            let mut joined = line.trim_end().to_string();
            // The shortest join with the most labels and a readable date: the body's
            // first line, glued on without a blank line in between, adds neither.
            let mut best: Option<Join> = None;
            let mut used = 0;
            while let Some(next) = raw.get(k + used) {
                if next.trim().is_empty() || used >= 8 || joined.len() > 4000 {
                    break;
                }
                joined.push(' ');
                joined.push_str(next.trim());
                used += 1;
                if let Some(c) = split_glued(&joined) {
                    let score = (c.len(), dated(&joined, &c));
                    if best.as_ref().is_none_or(|b| score > b.score) {
                        best = Some(Join {
                            text: joined.clone(),
                            cuts: c,
                            used,
                            score,
                        });
                    }
                }
            }
            let split = best.is_some();
            if let Some(Join {
                text: joined,
                cuts,
                used,
                ..
            }) = best
            {
                for (j, &c) in cuts.iter().enumerate() {
                    let end = cuts.get(j + 1).copied().unwrap_or(joined.len());
                    lines.push((start, Cow::Owned(joined[c..end].to_string())));
                }
                for l in &raw[k..k + used] {
                    off += l.len() + 1;
                }
                k += used;
            }
            if split {
                continue;
            }
        }
        lines.push((start, Cow::Borrowed(line)));
    }
    for (start, line) in &lines {
        if !crate::budget::check() {
            break;
        }
        let (start, trimmed) = (*start, line.trim());
        match label_line(trimmed) {
            // A line with an unknown label may start a block when its value holds an
            // address: a client in a language the label lists miss ("보낸사람: …").
            Some((label, value))
                if label != Label::Other || run.is_some() || value.contains('@') =>
            {
                // A second From line starts the next (inner) block.
                if label == Label::From && run.as_ref().is_some_and(|r| r.has_from) {
                    if let Some(b) = run.take().and_then(Run::finish) {
                        out.push(b);
                    }
                }
                let r = run.get_or_insert_with(|| Run::new(start));
                r.add(label, value);
                r.gap = 0;
            }
            _ => {
                if let Some(r) = run.as_mut() {
                    if trimmed.is_empty() && r.gap == 0 {
                        r.gap += 1;
                        continue;
                    }
                    if trimmed.contains('@') && r.gap == 0 && r.continuation() {
                        r.add(r.last, trimmed);
                        continue;
                    }
                    // A date line wrapped before its time ("Date: Wed, Dec 20, 2023 at"
                    // / "9:14 AM"), as hard-wrapping clients and quoted forwards do.
                    if r.gap == 0 && r.last == Label::Date && r.wrapped_time(trimmed) {
                        continue;
                    }
                }
                if let Some(b) = run.take().and_then(Run::finish) {
                    out.push(b);
                }
                if out.len() > 100 {
                    return out;
                }
            }
        }
    }
    if let Some(b) = run.take().and_then(Run::finish) {
        out.push(b);
    }
    out
}

struct Run {
    start: usize,
    from: Option<String>,
    has_from: bool,
    date_value: Option<String>,
    to: Option<String>,
    other_kinds: usize,
    last: Label,
    gap: usize,
    /// The address of the first unknown-label line, the sender if no From label comes.
    guess_from: Option<String>,
    /// Lines with an unknown label whose value is a full date.
    guess_date: Option<String>,
    lines: usize,
}

impl Run {
    fn new(start: usize) -> Run {
        Run {
            start,
            from: None,
            has_from: false,
            date_value: None,
            to: None,
            other_kinds: 0,
            last: Label::Other,
            gap: 0,
            guess_from: None,
            guess_date: None,
            lines: 0,
        }
    }

    fn continuation(&self) -> bool {
        matches!(self.last, Label::From | Label::To) && self.from.is_none()
            || self.last == Label::To
    }

    /// Appends `line` to the date value if it is the time the date line lost to a wrap.
    fn wrapped_time(&mut self, line: &str) -> bool {
        let Some(v) = self.date_value.as_mut() else {
            return false;
        };
        let timeish = line.len() <= 40
            && line.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && line.contains(':');
        if !timeish || v.contains(':') {
            return false;
        }
        v.push(' ');
        v.push_str(line);
        true
    }

    fn add(&mut self, label: Label, value: &str) {
        self.last = label;
        self.lines += 1;
        match label {
            Label::From => {
                if !self.has_from || self.from.is_none() {
                    self.has_from = true;
                    if self.from.is_none() {
                        self.from = find_email(value);
                    }
                }
            }
            Label::Date => {
                if self.date_value.is_none() {
                    self.date_value = Some(value.to_string());
                    self.other_kinds += 1;
                }
            }
            Label::To => {
                if self.to.is_none() {
                    self.to = find_email(value);
                    self.other_kinds += 1;
                }
            }
            Label::Subject => self.other_kinds += 1,
            // Unknown labels: recognised by their values (an address, a full date).
            Label::Other => {
                if self.lines == 1 {
                    self.guess_from = find_email(value);
                } else if self.guess_date.is_none()
                    && value.len() < 200
                    && value.bytes().any(|b| b.is_ascii_digit())
                    && date::parse_loose(value).is_some()
                {
                    self.guess_date = Some(value.to_string());
                }
            }
        }
    }

    fn finish(mut self) -> Option<Block> {
        if self.date_value.is_none() && self.guess_date.is_some() && self.has_from {
            self.date_value = self.guess_date.take();
            self.other_kinds += 1;
        }
        // No known From label: a block by shape alone, an address on its first line
        // and a full date on another, three lines or more.
        if !self.has_from && self.guess_from.is_some() && self.lines >= 3 {
            let date = self.date_value.take().or(self.guess_date.take());
            if date.is_some() {
                self.has_from = true;
                self.from = self.guess_from.take();
                self.date_value = date;
                self.other_kinds += 1;
            }
        }
        if !self.has_from || self.other_kinds == 0 {
            return None;
        }
        Some(Block {
            start: self.start,
            from: self.from,
            date: self.date_value.as_deref().and_then(date::parse_loose),
            to: self.to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(t: &str) -> Block {
        let b = blocks(t);
        assert_eq!(b.len(), 1, "{t}: {b:?}");
        b.into_iter().next().unwrap()
    }

    #[test]
    fn gmail() {
        let b = one("note\n\n---------- Forwarded message ---------\nFrom: Drejtoria <DVKM@Example.AL>\nDate: Wed, Dec 22, 2021 at 9:14 AM\nSubject: Leje\nTo: <me@x.com>\n\n\nbody");
        assert_eq!(b.from.as_deref(), Some("dvkm@example.al"));
        assert_eq!(b.to.as_deref(), Some("me@x.com"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2021-12-22T09:14:00+01:00");
        assert_eq!(b.start, 45);
    }

    #[test]
    fn outlook_bold_and_mailto() {
        let b = one("*From:* Drejtoria Vendore [mailto:a.b@asp.gov.al]\n*Sent:* Wednesday, December 22, 2021 9:14 AM\n*To:* X Y\n*Subject:* Leje\n");
        assert_eq!(b.from.as_deref(), Some("a.b@asp.gov.al"));
        assert!(b.date.is_some());
    }

    #[test]
    fn languages() {
        for t in [
            "Nga: D <d@x.al>\nDërguar: e mërkurë, 22 dhjetor 2021 09:14\nPër: me@x.al\nSubjekti: Leje",
            "Da: D <d@x.al>\nInviato: mercoledì 22 dicembre 2021 09:14\nA: me@x.al\nOggetto: Leje",
            "Von: D <d@x.al>\nGesendet: Mittwoch, 22. Dezember 2021 09:14\nAn: me@x.al\nBetreff: Leje",
            "De : D <d@x.al>\nEnvoyé : mercredi 22 décembre 2021 09:14\nÀ : me@x.al\nObjet : Leje",
            "De: D <d@x.al>\nEnviado: miércoles, 22 de diciembre de 2021 9:14\nPara: me@x.al\nAsunto: Leje",
            "От: D <d@x.al>\nОтправлено: среда, 22 декабря 2021 г. 9:14\nКому: me@x.al\nТема: Leje",
            "Από: D <d@x.al>\nΣτάλθηκε: Τετάρτη, 22 Δεκεμβρίου 2021 9:14 π.μ.\nΠρος: me@x.al\nΘέμα: Leje",
            "Kimden: D <d@x.al>\nGönderildi: 22 Aralık 2021 Çarşamba 09:14\nKime: me@x.al\nKonu: Leje",
            "Subject: \tLeje\nDate: \tWed, 22 Dec 2021 09:14:00 +0100\nFrom: \tD <d@x.al>\nTo: \tme@x.al",
        ] {
            let b = one(t);
            assert_eq!(b.from.as_deref(), Some("d@x.al"), "{t}");
            assert_eq!(b.to.as_deref(), Some("me@x.al"), "{t}");
            assert_eq!(date::rfc3339(&b.date.unwrap()), "2021-12-22T09:14:00+01:00", "{t}");
        }
    }

    #[test]
    fn not_blocks() {
        assert!(blocks("Note: call me\nTime: 9:00\n").is_empty());
        assert!(blocks("From: someone <a@b.c>\n\nHello").is_empty());
        assert!(blocks("Hello\nhttp://example.com: x\n").is_empty());
    }

    #[test]
    fn forwarded_twice() {
        let t = "From: a <a@x.com>\nSent: 1 Jan 2022 10:00\nTo: b@x.com\n\nFrom: c <c@y.al>\nDate: 22.12.2021 09:14\nTo: a@x.com\n";
        let b = blocks(t);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].from.as_deref(), Some("c@y.al"));
    }

    #[test]
    fn yahoo_glued_line() {
        let t = "   ----- Forwarded Message ----- From: Sektori <s.l@asp.gov.al>To: \"g@y.gr\" <g@y.gr>Sent: Tuesday, November 2, 2021, 09:26:50 AM GMT+1Subject: Residence Permit\n Dear";
        let b = one(t);
        assert_eq!(b.from.as_deref(), Some("s.l@asp.gov.al"));
        assert_eq!(b.to.as_deref(), Some("g@y.gr"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2021-11-02T09:26:50+01:00");
        let t = "----- Message transmis ----- De : N <n@asp.gov.al>À : \"b@y.fr\" <b@y.fr>Envoyé : mardi 7 juin 2022, 16:40:02 UTC+2Objet : Leja";
        let b = one(t);
        assert_eq!(b.from.as_deref(), Some("n@asp.gov.al"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2022-06-07T16:40:02+02:00");
    }

    #[test]
    fn wrapped_lines() {
        let t = "From: Sektori i Lejeve\n<s@asp.gov.al>\nDate: Wed, Dec 20, 2023 at\n9:14 AM\nSubject: Leje\nTo: <a@b.al>\n\nbody";
        let b = one(t);
        assert_eq!(b.from.as_deref(), Some("s@asp.gov.al"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2023-12-20T09:14:00+01:00");
    }

    #[test]
    fn by_shape_with_unknown_labels() {
        let t = "보낸사람: D <d@x.al>\nDate: 2023년 3월 27일 (월) 오후 12:10\n제목: Leje\n";
        let b = one(t);
        assert_eq!(b.from.as_deref(), Some("d@x.al"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2023-03-27T12:10:00+02:00");
        // Labels no list knows: an address first, a full date below it.
        let t = "Mittente-x: D <d@x.al>\nQuando-x: 27.03.2023 12:10\nTitolo-x: Leje\n";
        assert_eq!(one(t).from.as_deref(), Some("d@x.al"));
        // An address and no date: not a block.
        assert!(blocks("Email: a@b.al\nPhone: 0691234567\nWeb: x.al\n").is_empty());
    }

    #[test]
    fn yahoo_glued_line_wrapped_again() {
        let t = "  ----- Mesaj redirecționat ----- De la: e-Albania <no-reply@e-albania.al>Către:\n\"a@b.ro\" <a@b.ro>Trimis: marți, 2\nnoiembrie 2021, 09:26:50 CETSubiect: Leje\n\nbody";
        let b = one(t);
        assert_eq!(b.from.as_deref(), Some("no-reply@e-albania.al"));
        assert_eq!(date::rfc3339(&b.date.unwrap()), "2021-11-02T09:26:50+01:00");
        assert_eq!(b.start, 0);
    }

    #[test]
    fn emails() {
        assert_eq!(find_email("X <Ab.C@d.e>").as_deref(), Some("ab.c@d.e"));
        assert_eq!(find_email("no address"), None);
        assert_eq!(find_email("@ then a@b.cd").as_deref(), Some("a@b.cd"));
        assert_eq!(find_email(&"@".repeat(1 << 20)), None);
    }

    /// Generalisation check on real forward bodies from many clients and UI
    /// languages (crisp-oss/email-forward-parser fixtures in the shared corpus).
    #[test]
    fn real_world_forward_bodies() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dir = root.join("../shared/corpus/email-forward-parser");
        if !dir.is_dir() {
            // A worktree under wt/: the corpus is beside their parent.
            dir = root.join("../../shared/corpus/email-forward-parser");
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("{} not found; skipped", dir.display());
            return;
        };
        let (mut n, mut found, mut dated) = (0, 0, 0);
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Ok(raw) = std::fs::read(e.path()) else {
                continue;
            };
            let t = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
            // Reply attributions ("On … wrote:") are not forward blocks.
            if !name.contains("_body")
                || name.contains("variant_4")
                || name.starts_with("outlook_2019_")
            {
                continue;
            }
            n += 1;
            let (u, _) = crate::parse::text::unquote(&t);
            if let Some(b) = blocks(&u).first() {
                found += 1;
                dated += usize::from(b.date.is_some());
            }
        }
        assert!(n > 100, "only {n} bodies");
        assert!(found * 100 >= n * 95, "{found} of {n} forward blocks found");
        assert!(dated * 100 >= n * 85, "{dated} of {n} dates read");
    }
}
