//! `format=flowed` (RFC 3676): lines ending in a space are soft breaks. A mail
//! client that sends flowed text wraps long lines, including the header lines of
//! a forward block it quotes ("From: Leje Qendrimi DPPSH \r\n<…@asp.gov.al>");
//! joining them back gives the block its one-line-per-label shape again.

/// Joins soft-broken lines of a `format=flowed` text (quote depth kept,
/// space-stuffing removed; `delsp`: the trailing space is not part of the text).
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined: its quote depth and text.
    let mut open: Option<(usize, String)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.chars().take_while(|&c| c == '>').count();
        let mut content = &line[depth..];
        content = content.strip_prefix(' ').unwrap_or(content);
        let soft = content.ends_with(' ') && content != "-- ";
        let piece = if soft && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match open.take() {
            Some((d, mut acc)) if d == depth => {
                acc.push_str(piece);
                open = Some((depth, acc));
            }
            Some((d, acc)) => {
                emit(&mut out, d, &acc);
                open = Some((depth, piece.to_string()));
            }
            None => open = Some((depth, piece.to_string())),
        }
        if !soft {
            if let Some((d, acc)) = open.take() {
                emit(&mut out, d, &acc);
            }
        }
    }
    if let Some((d, acc)) = open {
        emit(&mut out, d, &acc);
    }
    // `split` yields one more (empty) line than there are line breaks.
    let extra = if text.ends_with('\n') {
        out.ends_with("\n\n")
    } else {
        out.ends_with('\n')
    };
    if extra {
        out.pop();
    }
    out
}

fn emit(out: &mut String, depth: usize, s: &str) {
    for _ in 0..depth {
        out.push('>');
    }
    if depth > 0 && !s.is_empty() {
        out.push(' ');
    }
    out.push_str(s);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_soft_breaks_per_quote_depth() {
        let t = "Hi \r\nthere\r\n> From: Leje Qendrimi DPPSH \r\n> <a@asp.gov.al>\r\n> Sent: Wednesday, \r\n> December 22, 2021 9:14 AM\r\n\r\n-- \r\nsig\r\n";
        assert_eq!(
            unflow(t, false),
            "Hi there\n> From: Leje Qendrimi DPPSH <a@asp.gov.al>\n> Sent: Wednesday, December 22, 2021 9:14 AM\n\n-- \nsig\n"
        );
        assert_eq!(unflow("a \nb", true), "ab");
        assert_eq!(unflow(" >stuffed\n", false), ">stuffed\n");
        // A soft break before a change of depth ends the paragraph.
        assert_eq!(unflow("a \n> b\n", false), "a \n> b\n");
    }
}
