//! HTML to plain text, good enough for recognising a notification: tags
//! stripped, entities decoded, block elements turned into line breaks and
//! `<blockquote>` into `> ` quote markers. Linear and bounded.

/// HTML larger than this is cut before conversion.
pub const MAX_HTML: usize = 4 << 20;

/// Converts HTML to text (see the module docs).
pub fn to_text(html: &str) -> String {
    let html = if html.len() > MAX_HTML {
        let mut end = MAX_HTML;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        &html[..end]
    } else {
        html
    };
    let mut w = Writer::default();
    let b = html.as_bytes();
    // NOTE: past the last '>' no tag can close; treating '<' as text there keeps
    // "<<<<…" linear instead of scanning to the end for each one.
    let last_gt = html.rfind('>').unwrap_or(0);
    let mut i = 0;
    while i < b.len() && crate::budget::check() {
        match b[i] {
            b'<' if i < last_gt => i = tag(html, i, &mut w),
            b'&' => {
                let (s, n) = entity(&html[i..]);
                match s {
                    Some(c) => w.ch(c),
                    None => w.ch('&'),
                }
                i += n;
            }
            _ => {
                let c = html[i..].chars().next().unwrap_or(' ');
                w.ch(c);
                i += c.len_utf8();
            }
        }
    }
    w.finish()
}

#[derive(Default)]
struct Writer {
    out: String,
    quote: usize,
    at_line_start: bool,
    pending_space: bool,
    blank_lines: usize,
}

impl Writer {
    fn ch(&mut self, c: char) {
        if c.is_whitespace() && c != '\u{a0}' {
            self.pending_space = !self.at_line_start && !self.out.is_empty();
            return;
        }
        let c = if c == '\u{a0}' { ' ' } else { c };
        if self.out.is_empty() || self.at_line_start {
            for _ in 0..self.quote {
                self.out.push_str("> ");
            }
            self.at_line_start = false;
            self.pending_space = false;
        }
        if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        self.blank_lines = 0;
        self.out.push(c);
    }

    /// Ends the current line; `hard` (a `<br>`) may also leave one empty line.
    fn newline(&mut self, hard: bool) {
        self.pending_space = false;
        if self.out.is_empty() {
            return;
        }
        if self.at_line_start {
            if !hard || self.blank_lines >= 1 {
                return;
            }
            self.blank_lines += 1;
        }
        // Trim trailing spaces of the finished line.
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
        self.at_line_start = true;
    }

    fn finish(mut self) -> String {
        while self.out.ends_with(['\n', ' ']) {
            self.out.pop();
        }
        self.out
    }
}

/// Handles the tag starting at `i`; returns the index after it.
fn tag(html: &str, i: usize, w: &mut Writer) -> usize {
    let b = html.as_bytes();
    if html[i..].starts_with("<!--") {
        return html[i + 4..].find("-->").map_or(b.len(), |p| i + 4 + p + 3);
    }
    // "<" not followed by a tag name, "/", "!" or "?" is text ("5 < 6", "<<<<").
    if !b
        .get(i + 1)
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'))
    {
        w.ch('<');
        return i + 1;
    }
    let Some(end) = html[i..].find('>').map(|p| i + p) else {
        // An unterminated `<`: keep it as text.
        w.ch('<');
        return i + 1;
    };
    let inner = &html[i + 1..end];
    let closing = inner.starts_with('/');
    let name: String = inner
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase();
    if name.is_empty() {
        if inner.starts_with(['!', '?']) {
            return end + 1;
        }
        w.ch('<');
        return i + 1;
    }
    match name.as_str() {
        "script" | "style" | "head" | "title" if !closing => {
            let close = format!("</{name}");
            let lower_find = find_ci(&html[end + 1..], &close);
            return lower_find.map_or(b.len(), |p| {
                let after = end + 1 + p;
                html[after..].find('>').map_or(b.len(), |q| after + q + 1)
            });
        }
        "br" => w.newline(true),
        "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul"
        | "ol" | "hr" | "pre" | "center" | "dt" | "dd" | "address" | "section" | "article"
        | "header" | "footer" => w.newline(false),
        "blockquote" => {
            w.newline(false);
            if closing {
                w.quote = w.quote.saturating_sub(1);
            } else if w.quote < 32 {
                w.quote += 1;
            }
        }
        "td" | "th" => w.ch(' '),
        _ => {}
    }
    end + 1
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&k| h[k..k + n.len()].eq_ignore_ascii_case(n))
}

/// Decodes the entity at the start of `s` (which starts with `&`).
/// Returns the char (None if not an entity) and the bytes consumed.
pub fn entity(s: &str) -> (Option<char>, usize) {
    let body: &str = &s[1..];
    let end = body
        .char_indices()
        .take(12)
        .find(|&(_, c)| c == ';' || !(c.is_ascii_alphanumeric() || c == '#'))
        .map(|(p, _)| p);
    let Some(end) = end else { return (None, 1) };
    let name = &body[..end];
    let has_semi = body[end..].starts_with(';');
    let used = 1 + end + usize::from(has_semi);
    let c = if let Some(num) = name.strip_prefix('#') {
        let v = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()
        } else {
            num.parse::<u32>().ok()
        };
        v.and_then(char::from_u32)
    } else {
        named(name)
    };
    match c {
        Some(c) => (Some(c), used),
        None => (None, 1),
    }
}

fn named(n: &str) -> Option<char> {
    Some(match n {
        "nbsp" => '\u{a0}',
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "euml" => 'ë',
        "Euml" => 'Ë',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "eacute" => 'é',
        "Eacute" => 'É',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "auml" => 'ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "Auml" => 'Ä',
        "szlig" => 'ß',
        "ecirc" => 'ê',
        "acirc" => 'â',
        "ocirc" => 'ô',
        "icirc" => 'î',
        "ucirc" => 'û',
        "ugrave" => 'ù',
        "ograve" => 'ò',
        "igrave" => 'ì',
        "laquo" => '«',
        "raquo" => '»',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "ensp" | "emsp" | "thinsp" => ' ',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn tags_entities_and_breaks() {
        let t = to_text(
            "<html><head><style>p{}</style></head><body><p>Ju informojm&euml; se<br>Leja&nbsp;e Q&#235;ndrimit p&#xEB;r <b>ARTA</b></p><div>x &amp; y</div></body></html>",
        );
        assert_eq!(t, "Ju informojmë se\nLeja e Qëndrimit për ARTA\nx & y");
    }

    #[test]
    fn blockquote_becomes_quote_markers() {
        let t = to_text("hi<blockquote>quoted<br>two</blockquote>after");
        assert_eq!(t, "hi\n> quoted\n> two\nafter");
    }

    #[test]
    fn comments_and_broken_tags() {
        assert_eq!(to_text("a<!-- x -->b <c"), "ab <c");
        assert_eq!(to_text("5 &lt; 6 &unknown; &"), "5 < 6 &unknown; &");
        let many = "<".repeat(1 << 20) + ">";
        let t0 = std::time::Instant::now();
        assert_eq!(to_text(&many).len(), (1 << 20) + 1);
        assert!(t0.elapsed().as_secs() < 2);
    }
}
