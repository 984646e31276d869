//! Reply-style attribution lines that introduce an original message, written
//! by Outlook for Mac, Gmail's "reply" and most clients' quoting, in every UI
//! language:
//!
//! `On 28/10/2021 12:46, "Leje Qendrimi" <lejeqendrimi@asp.gov.al> wrote:`,
//! `El 15/07/2022 10:32, "…" <…> escribió:`, `Le … a écrit :`,
//! `Am … schrieb …:`, `John Doe <…> kirjoitti 28/10/2021 12.46:`, …
//!
//! Recognised by shape, not by the verb: one line (or a line wrapped over up to
//! three) that ends with a colon and holds an e-mail address and a full date.

use chrono::{DateTime, FixedOffset};

use super::date;
use super::forward::{self, find_email};

/// One attribution line found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Byte offset of its first line.
    pub start: usize,
    /// Byte offset just past its last line.
    pub end: usize,
    pub from: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
}

/// An attribution longer than this is prose, not a client's line.
const MAX_LEN: usize = 400;
/// Attributions looked for per text.
const MAX_FOUND: usize = 50;

/// All attribution lines in `text`, in order.
pub fn find(text: &str) -> Vec<Attribution> {
    let mut out = Vec::new();
    // (start, line) of the lines so far that may begin a wrapped attribution.
    let mut prev: Vec<(usize, &str)> = Vec::new();
    let mut off = 0;
    for line in text.split('\n') {
        let start = off;
        off += line.len() + 1;
        let t = line.trim_end_matches(['\r', ' ', '\t', '\u{a0}']);
        if t.trim().is_empty() {
            prev.clear();
            continue;
        }
        if t.ends_with([':', '：']) && t.len() <= MAX_LEN && !forward::is_header_line(t) {
            // The line alone, then with one and two lines before it (wrapped).
            let mut joined = t.trim().to_string();
            let mut first = start;
            let mut hit = read(&joined);
            for &(s, p) in prev.iter().rev().take(2) {
                if hit.is_some() || joined.len() > MAX_LEN {
                    break;
                }
                joined = format!("{} {joined}", p.trim());
                first = s;
                hit = read(&joined);
            }
            if let Some((from, date)) = hit {
                out.push(Attribution {
                    start: first,
                    end: start + line.len(),
                    from: Some(from),
                    date: Some(date),
                });
                if out.len() >= MAX_FOUND {
                    break;
                }
            }
            prev.clear();
            continue;
        }
        if prev.len() >= 2 {
            prev.remove(0);
        }
        prev.push((start, t));
    }
    out
}

/// The address and date of an attribution, if the text holds both.
fn read(s: &str) -> Option<(String, DateTime<FixedOffset>)> {
    if s.len() > MAX_LEN {
        return None;
    }
    let from = find_email(s)?;
    // The date without the address and display name: a name like "Mai" or an
    // address's digits must not be read as part of it.
    let mut rest = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    // "(időpont: 2024. júl. 15., H, 10:32)": parentheses without an address stay.
    let s = &keep_plain_parens(s);
    for c in s.chars() {
        match (c, quote) {
            ('<' | '(', None) => depth += 1,
            ('>' | ')', None) => depth = depth.saturating_sub(1),
            ('"' | '«' | '„' | '“' | '»' | '”', None) if depth == 0 => {
                quote = Some(c);
                continue;
            }
            ('"' | '»' | '”' | '“', Some(_)) => {
                quote = None;
                continue;
            }
            _ => {}
        }
        if depth == 0 && quote.is_none() && c != '>' && c != ')' {
            rest.push(c);
        }
    }
    let rest: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| !w.contains('@'))
        .collect();
    let d = date::parse_loose(&rest.join(" "))?;
    Some((from, d))
}

/// Turns `(` `)` around text without an address into spaces, so that only
/// address groups (`(a@b.c)`, `(<a@b.c>)`) are dropped with the brackets.
fn keep_plain_parens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(')') {
            Some(j) if !after[..j].contains('@') => {
                out.push(' ');
                out.push_str(&after[..j]);
                out.push(' ');
                rest = &after[j + 1..];
            }
            _ => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(t: &str) -> (String, String) {
        let a = find(t);
        assert_eq!(a.len(), 1, "{t}: {a:?}");
        let a = &a[0];
        (
            a.from.clone().unwrap(),
            date::rfc3339(a.date.as_ref().unwrap()),
        )
    }

    #[test]
    fn every_language() {
        let want = (
            "lejeqendrimi@asp.gov.al".to_string(),
            "2021-10-28T12:46:00+02:00".to_string(),
        );
        for t in [
            "On 28/10/2021 12:46, \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al> wrote:",
            "El 28/10/2021 12:46, \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al> escribió:",
            "Le 28/10/2021 12:46, « Leje Qendrimi » <lejeqendrimi@asp.gov.al> a écrit :",
            "Am 28/10/2021, 12:46 schrieb \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al>:",
            "Em 28/10/21, 12:46, \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al> escreveu:",
            "W dniu 28.10.2021 o 12:46, Leje Qendrimi <lejeqendrimi@asp.gov.al> pisze:",
            "Dne 28/10/2021 12:46, Leje Qendrimi <lejeqendrimi@asp.gov.al> napsal(a):",
            "28/10/2021 12:46 používateľ Leje Qendrimi (<lejeqendrimi@asp.gov.al>) napísal:",
            "D. 28/10/2021 12.46 skrev \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al>:",
            "Leje Qendrimi <lejeqendrimi@asp.gov.al> kirjoitti 28/10/2021 12.46:",
            "28/10/2021 12:46 időpontban Leje Qendrimi (lejeqendrimi@asp.gov.al) ezt írta:",
            "\"Leje Qendrimi\" <lejeqendrimi@asp.gov.al>, 28/10/2021 12:46 tarihinde şunu yazdı:",
            "28/10/2021, 12:46 пользователь \"Leje Qendrimi\" <lejeqendrimi@asp.gov.al> написал:",
            "On Thu, Oct 28, 2021 at 12:46 PM Leje Qendrimi <\nlejeqendrimi@asp.gov.al> wrote:",
            "> On Thu, 28 Oct 2021 at 12:46, Leje Qendrimi\n> <lejeqendrimi@asp.gov.al> wrote:",
        ] {
            let (u, _) = crate::parse::text::unquote(t);
            assert_eq!(one(&u), want, "{t}");
        }
    }

    /// Gmail's reply attribution in its UI languages (the original quoted below).
    #[test]
    fn gmail_languages() {
        let a = "Leje Qendrimi <lejeqendrimi@asp.gov.al>";
        for t in [
            format!("On Mon, Jul 15, 2024 at 10:32 AM {a} wrote:"),
            format!("Il giorno lun 15 lug 2024 alle ore 10:32 {a} ha scritto:"),
            format!("Am Mo., 15. Juli 2024 um 10:32 Uhr schrieb {a}:"),
            format!("Le lun. 15 juil. 2024 à 10:32, {a} a écrit :"),
            format!(
                "El lun, 15 jul 2024 a las 10:32, Leje Qendrimi ({}) escribió:",
                "<lejeqendrimi@asp.gov.al>"
            ),
            format!("Em seg., 15 de jul. de 2024 às 10:32, {a} escreveu:"),
            format!("pon., 15 lip 2024 o 10:32 {a} napisał(a):"),
            format!("Op ma 15 jul 2024 om 10:32 schreef {a}:"),
            format!("пн, 15 июл. 2024 г. в 10:32, {a}:"),
            format!("{a}, 15 Tem 2024 Pzt, 10:32 tarihinde şunu yazdı:"),
            format!("Den mån 15 juli 2024 kl 10:32 skrev {a}:"),
            format!("2024年7月15日(月) 10:32 {a}:"),
            format!("{a} 于2024年7月15日周一 10:32写道："),
            format!("Më 15 korrik 2024, në 10:32, {a} shkroi:"),
            format!("Στις Δευ 15 Ιουλ 2024 στις 10:32, ο/η {a} έγραψε:"),
            format!("po 15. 7. 2024 v 10:32 odesílatel {a} napsal:"),
            format!("{a} ezt írta (időpont: 2024. júl. 15., H, 10:32):"),
            format!(
                "ma 15.7.2024 klo 10.32 Leje Qendrimi ({}) kirjoitti:",
                "<lejeqendrimi@asp.gov.al>"
            ),
            format!("Pe lun., 15 iul. 2024 la 10:32, {a} a scris:"),
            format!("pon, 15. srp 2024. u 10:32 {a} napisao je:"),
            format!("Den man. 15. jul. 2024 kl. 10.32 skrev {a}:"),
            format!("пн, 15 лип. 2024 р. о 10:32 {a} пише:"),
            format!("2024년 7월 15일 (월) 오전 10:32, {a}님이 작성:"),
        ] {
            assert_eq!(
                one(&t),
                (
                    "lejeqendrimi@asp.gov.al".to_string(),
                    "2024-07-15T10:32:00+02:00".to_string()
                ),
                "{t}"
            );
        }
    }

    #[test]
    fn not_attributions() {
        for t in [
            "Please write to info@asp.gov.al:",
            "On Monday I wrote to a@b.com about it:",
            "From: Leje <lejeqendrimi@asp.gov.al> 28/10/2021 12:46:",
            "On 28/10/2021 12:46 someone wrote:",
        ] {
            assert!(find(t).is_empty(), "{t}");
        }
        assert!(find(&format!("{}a@b.com 1.1.2021:", "x ".repeat(300))).is_empty());
    }
}
