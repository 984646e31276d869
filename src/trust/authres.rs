//! `Authentication-Results` (RFC 8601) and `ARC-Authentication-Results`
//! (RFC 8617): the receiving server's verdict, read only from the topmost
//! header of each kind and only when its `authserv-id` is trusted.
//!
//! NOTE: everything below the receiving server's own headers was written by
//! whoever sent the message, so a forged "dkim=pass" further down is never
//! read. This relies on the trusted server adding its header to every message
//! (Gmail, Microsoft 365 and Rspamd/OpenDKIM setups do).

/// One `method=result` with its properties (`header.from`, `header.d`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower-case, version stripped: `dkim`, `spf`, `dmarc`, `arc`, …
    pub method: String,
    /// Lower-case: `pass`, `fail`, `none`, …
    pub result: String,
    /// `(ptype.property, value)`, property lower-case, value as written (unquoted).
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Lower-case; empty when the header has none (Microsoft 365 writes some so).
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// Removes RFC 5322 comments (`(…)`, nested) outside quoted strings.
fn strip_comments(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in v.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_owned()
}

/// Parses a header value (unfolded or not). `arc` strips the leading `i=N;`
/// of an `ARC-Authentication-Results` header and returns N as well.
pub fn parse(value: &str, arc: bool) -> Option<(Option<u32>, AuthResults)> {
    let v = strip_comments(value);
    let mut parts = v.split(';').map(str::trim);
    let mut instance = None;
    if arc {
        let first = parts.next()?;
        let n = first
            .strip_prefix("i=")
            .or_else(|| first.strip_prefix("I="))?;
        instance = Some(n.trim().parse().ok()?);
    }
    let head = parts.next()?;
    let mut results = Vec::new();
    // The authserv-id is the first token (a version may follow); when it holds
    // a `=`, there is no authserv-id and it is the first result.
    let mut first_result = None;
    let authserv_id = match head.split_whitespace().next() {
        Some(t) if t.contains('=') => {
            first_result = Some(head);
            String::new()
        }
        Some(t) => t.to_ascii_lowercase(),
        None => return None,
    };
    for part in first_result.into_iter().chain(parts) {
        let mut toks = part.split_whitespace();
        let Some((m, r)) = toks.next().and_then(|t| t.split_once('=')) else {
            continue;
        };
        let method = m.split('/').next().unwrap_or(m).trim().to_ascii_lowercase();
        let mut mr = MethodResult {
            method,
            result: unquote(r).to_ascii_lowercase(),
            props: Vec::new(),
        };
        for t in toks {
            if let Some((k, val)) = t.split_once('=') {
                mr.props.push((k.to_ascii_lowercase(), unquote(val)));
            }
        }
        results.push(mr);
    }
    Some((
        instance,
        AuthResults {
            authserv_id,
            results,
        },
    ))
}

/// Is `d` the same domain as `from_domain` or a parent of it (relaxed alignment,
/// RFC 7489 §3.1, without a public-suffix list: `d` must have a dot).
pub fn aligned(d: &str, from_domain: &str) -> bool {
    let d = d
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let f = from_domain.to_ascii_lowercase();
    d.contains('.') && (f == d || f.ends_with(&format!(".{d}")))
}

/// The domain part of an address or of `@domain`.
pub fn domain_of(s: &str) -> &str {
    s.rsplit_once('@').map(|(_, d)| d).unwrap_or(s)
}

/// What a verdict says about `from_domain`: `Ok(how)` when one passing, aligned
/// result authenticates it, else `Err(what it said)`.
pub fn authenticates(ar: &AuthResults, from_domain: &str) -> Result<String, String> {
    let mut said = Vec::new();
    for r in &ar.results {
        let id = match r.method.as_str() {
            "dmarc" => r.prop("header.from").map(str::to_owned),
            "dkim" => r
                .prop("header.d")
                .or_else(|| r.prop("header.i").map(domain_of))
                .map(str::to_owned),
            "spf" => r.prop("smtp.mailfrom").map(|m| domain_of(m).to_owned()),
            _ => continue,
        };
        if r.result == "pass" && id.as_deref().is_some_and(|d| aligned(d, from_domain)) {
            return Ok(format!("{}=pass for {}", r.method, id.unwrap_or_default()));
        }
        said.push(format!("{}={}", r.method, r.result));
    }
    if said.is_empty() {
        said.push("no dkim, spf or dmarc result".into());
    }
    Err(said.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_header() {
        let v = "mx.google.com;\r\n       dkim=pass header.i=@gmail.com header.s=20230601 header.b=AbC;\r\n       spf=pass (google.com: domain of maria@gmail.com designates 1.2.3.4 as permitted sender) smtp.mailfrom=maria@gmail.com;\r\n       dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com";
        let (_, ar) = parse(v, false).unwrap();
        assert_eq!(ar.authserv_id, "mx.google.com");
        assert_eq!(ar.results.len(), 3);
        assert!(authenticates(&ar, "gmail.com")
            .unwrap()
            .starts_with("dkim=pass"));
        assert!(authenticates(&ar, "evil.example").is_err());
    }

    #[test]
    fn failures_and_microsoft_form() {
        let v = "spf=fail (sender IP is 1.2.3.4) smtp.mailfrom=asp.gov.al; dkim=none (message not signed) header.d=none;dmarc=fail action=quarantine header.from=asp.gov.al;compauth=fail reason=000";
        let (_, ar) = parse(v, false).unwrap();
        assert_eq!(ar.authserv_id, "");
        let e = authenticates(&ar, "asp.gov.al").unwrap_err();
        assert_eq!(e, "spf=fail dkim=none dmarc=fail");
    }

    #[test]
    fn arc_instance_and_alignment() {
        let (i, ar) = parse(
            "i=2; mx.microsoft.com 1; dmarc=pass header.from=agency.al",
            true,
        )
        .unwrap();
        assert_eq!(i, Some(2));
        assert_eq!(ar.authserv_id, "mx.microsoft.com");
        assert!(authenticates(&ar, "mail.agency.al").is_ok());
        assert!(!aligned("al", "agency.al"));
        assert!(!aligned("agency.al", "evilagency.al"));
        assert!(aligned("@Agency.AL", "agency.al"));
        assert!(parse("x=1; foo", true).is_none());
    }

    #[test]
    fn comments_hide_nothing_that_counts() {
        let (_, ar) = parse(
            "mx.example; dkim=fail (dkim=pass header.d=a.example) header.d=a.example",
            false,
        )
        .unwrap();
        assert!(authenticates(&ar, "a.example").is_err());
    }
}
