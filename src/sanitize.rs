//! Text from email (names, filenames, reasons, paths) made safe to show or to
//! put in a header: one place decides which characters are dangerous.
//!
//! Everything in an email is attacker-controlled. A name carrying `ESC c`
//! resets the terminal of whoever runs `leje cases list`; a BEL rings it; a
//! newline or a bidirectional override can make a table or a Subject say
//! something else than what is stored. Two forms:
//!
//! - [`strip`]: for what leaves in leje's name (Subject, email text, attachment
//!   filenames): dangerous characters removed, whitespace ones turned into a
//!   space.
//! - [`visible`]: for the operator (CLI tables, case details, CSV): each shown
//!   as a visible escape (`\u{1b}`), so that a tampered value is noticed, not
//!   hidden.
//!
//! JSON output needs neither: serde escapes control characters itself.

use std::borrow::Cow;

/// Whether `c` must never reach a terminal or a header as it is: C0 and C1
/// controls, DEL, line and paragraph separators, and the bidirectional
/// embedding, override and isolate controls (which reorder what follows).
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
        )
}

/// `s` without dangerous characters: tabs, newlines and the separators become
/// one space each (so words stay apart), the others are dropped. Borrowed when
/// nothing had to change.
pub fn strip(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !is_dangerous(c) {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        }
    }
    Cow::Owned(out)
}

/// `s` with each dangerous character shown as a Rust-style escape (`\u{1b}`),
/// and a backslash before such an escape kept readable as it is. Borrowed when
/// nothing had to change.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A filename from an email, for an outgoing attachment: [`strip`]ped, path
/// separators replaced, at most 100 characters; `None` when nothing usable is left.
pub fn filename(name: &str) -> Option<String> {
    let s: String = strip(name)
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .take(100)
        .collect();
    let s = s.trim().trim_start_matches('.').trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_terminal_escapes_and_keeps_words_apart() {
        assert!(matches!(strip("Ana Müller"), Cow::Borrowed(_)));
        assert_eq!(strip("Ana\u{1b}c\u{7} Lee"), "Anac Lee");
        assert_eq!(strip("Ana\nLee\tX\r\u{2028}Y"), "Ana Lee X  Y");
        assert_eq!(strip("\u{202e}gpj.exe"), "gpj.exe");
        assert_eq!(strip("a\u{9b}31mb\u{7f}"), "a31mb");
    }

    #[test]
    fn visible_shows_what_was_there() {
        assert!(matches!(visible("Zoë O'Brien"), Cow::Borrowed(_)));
        assert_eq!(visible("Ana\u{1b}c\u{7}"), "Ana\\u{1b}c\\u{7}");
        assert_eq!(visible("x\u{202e}y\n"), "x\\u{202e}y\\u{a}");
    }

    #[test]
    fn filenames_lose_paths_and_controls() {
        assert_eq!(
            filename("../../etc/\u{1b}passwd").as_deref(),
            Some("_.._etc_passwd")
        );
        assert_eq!(
            filename("mandat\u{202e}fdp.exe").as_deref(),
            Some("mandatfdp.exe")
        );
        assert_eq!(filename(" \u{7} ").as_deref(), None);
        assert_eq!(filename("..."), None);
        assert_eq!(filename(&"a".repeat(300)).map(|f| f.len()), Some(100));
    }
}
