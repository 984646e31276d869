//! Rendering: the console's minijinja templates (embedded), escaping, and the
//! visible form of control characters.
//!
//! Every value printed by a template passes through one formatter: HTML-escaped
//! (templates are `.html`, so auto-escaping is on), and control, bidirectional and
//! zero-width characters from email shown as visible marks instead of acting.

use minijinja::{Environment, Value};

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embed!(
    "base.html",
    "login.html",
    "today.html",
    "cases.html",
    "case.html",
    "case_citizenship.html",
    "citizenship.html",
    "review.html",
    "outbox.html",
    "outbox_row.html",
    "messages.html",
);

/// The stylesheet, served at `/static/console.css`.
pub const CSS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/console.css"));

/// Does `c` change how text reads or renders without being seen?
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// Control characters as visible marks: C0 as the Control Pictures (`␀`, `␛`),
/// everything else hidden as `[U+XXXX]`.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !hidden(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?'));
        } else if c == '\u{7f}' {
            out.push('␡');
        } else {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        }
    }
    out
}

/// The template environment.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .unwrap_or_else(|e| panic!("embedded template {name}: {e}"));
    }
    env.set_formatter(|out, state, value| {
        if let Some(s) = value.as_str() {
            if !value.is_safe() && s.chars().any(hidden) {
                return minijinja::escape_formatter(out, state, &Value::from(visible(s)));
            }
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("dt", |v: Value| -> String {
        // RFC 3339 → `2026-12-06 22:41` (UTC).
        let s = v.to_string();
        match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => t
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => s,
        }
    });
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown() {
        assert_eq!(visible("a\u{1b}[31mb"), "a␛[31mb");
        assert_eq!(visible("x\u{202E}cod.exe"), "x[U+202E]cod.exe");
        assert_eq!(visible("line\nnext"), "line\nnext");
    }

    #[test]
    fn every_template_renders_escaped() {
        let env = environment();
        let t = env
            .template_from_str("{{ v }}")
            .unwrap()
            .render(minijinja::context! { v => "<img src=x onerror=alert(1)>\u{7}" })
            .unwrap();
        // template_from_str is not .html: escaping comes from the named templates.
        assert!(t.contains('␇'), "{t}");
        for (name, _) in TEMPLATES {
            assert!(name.ends_with(".html"));
        }
    }
}
