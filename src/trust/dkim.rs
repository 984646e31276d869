//! DKIM checks with stalwartlabs' `mail-auth`, bounded: at most
//! `max_dkim_signatures` signatures, messages up to `max_dkim_size`, all key
//! lookups of one message within `dns_timeout`, and a panic in the crate is a
//! failed check, not a dead daemon.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};

use super::authres::aligned;
use crate::config::trust::{Dns, TrustSettings};

/// A DKIM verifier with its resolver.
pub struct Dkim {
    auth: MessageAuthenticator,
    max_signatures: usize,
    max_size: u64,
    timeout: std::time::Duration,
}

/// Why the resolver could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the DNS resolver for DKIM: {0}")]
pub struct ResolverError(String);

impl Dkim {
    /// The verifier `[trust]` asks for. Needs a tokio runtime when used, not here.
    pub fn new(t: &TrustSettings) -> Result<Dkim, ResolverError> {
        let mut opts = ResolverOpts::default();
        opts.timeout = t.dns_timeout;
        opts.attempts = 1;
        let auth = match &t.dns {
            Dns::System => {
                let (config, mut o) = mail_auth::hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| ResolverError(e.to_string()))?;
                o.timeout = t.dns_timeout;
                o.attempts = 1;
                MessageAuthenticator::new(config, o)
            }
            Dns::Servers(addrs) => {
                let mut group = NameServerConfigGroup::with_capacity(2 * addrs.len());
                for a in addrs {
                    group.merge(NameServerConfigGroup::from_ips_clear(
                        &[a.ip()],
                        a.port(),
                        true,
                    ));
                }
                MessageAuthenticator::new(ResolverConfig::from_parts(None, vec![], group), opts)
            }
        }
        .map_err(|e| ResolverError(e.to_string()))?;
        Ok(Dkim {
            auth,
            max_signatures: t.max_dkim_signatures,
            max_size: t.max_dkim_size,
            timeout: t.dns_timeout,
        })
    }

    /// `Ok(d=)` of the first valid signature aligned with `from_domain` (and,
    /// when `within` is not empty, under one of those domains); `Err(why not)`.
    pub async fn verify(
        &self,
        raw: &[u8],
        from_domain: &str,
        within: &[String],
    ) -> Result<String, String> {
        if raw.len() as u64 > self.max_size {
            return Err(format!("too large to check DKIM ({} bytes)", raw.len()));
        }
        let raw = limit_signatures(raw, self.max_signatures);
        let parsed = std::panic::catch_unwind(|| AuthenticatedMessage::parse(&raw))
            .map_err(|_| "DKIM check failed on a malformed message".to_owned())?
            .ok_or_else(|| "no headers to check DKIM on".to_owned())?;
        if parsed.dkim_headers.is_empty() {
            return Err("no DKIM signature".into());
        }
        let run = AssertUnwindSafe(self.auth.verify_dkim(Parameters::new(&parsed))).catch_unwind();
        let outputs = match tokio::time::timeout(self.timeout, run).await {
            Err(_) => return Err("DKIM key lookup timed out".into()),
            Ok(Err(_)) => return Err("DKIM check failed on a malformed signature".into()),
            Ok(Ok(o)) => o,
        };
        let mut said = Vec::new();
        for o in &outputs {
            let d = o.signature().map(|s| s.d.to_ascii_lowercase());
            let d_str = d.clone().unwrap_or_default();
            match o.result() {
                DkimResult::Pass
                    if aligned(&d_str, from_domain)
                        && (within.is_empty() || within.iter().any(|w| aligned(w, &d_str))) =>
                {
                    return Ok(d_str);
                }
                DkimResult::Pass => said.push(format!("dkim=pass for {d_str}, not {from_domain}")),
                DkimResult::Fail(e) | DkimResult::Neutral(e) | DkimResult::PermError(e) => {
                    said.push(format!("dkim=fail for {d_str} ({e})"))
                }
                DkimResult::TempError(e) => said.push(format!("dkim=temperror for {d_str} ({e})")),
                DkimResult::None => said.push("dkim=none".into()),
            }
        }
        Err(said.join("; "))
    }
}

/// The message with only its first `max` DKIM-Signature headers: the crate
/// hashes the body once per distinct signature setting, so an attacker's
/// thousand signatures would cost a thousand passes.
fn limit_signatures(raw: &[u8], max: usize) -> std::borrow::Cow<'_, [u8]> {
    let end = memchr::memmem::find(raw, b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|i| i + 1))
        .unwrap_or(raw.len());
    let head = &raw[..end];
    let mut kept = 0usize;
    let mut out: Vec<u8> = Vec::new();
    let mut dropping = false;
    let mut changed = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            dropping = false;
            if line.len() >= 15 && line[..15].eq_ignore_ascii_case(b"dkim-signature:") {
                kept += 1;
                dropping = kept > max;
            }
        }
        if dropping {
            changed = true;
        } else {
            out.extend_from_slice(line);
        }
    }
    if !changed {
        return std::borrow::Cow::Borrowed(raw);
    }
    out.extend_from_slice(&raw[end..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_signatures_are_dropped() {
        let raw = b"DKIM-Signature: a=1;\r\n b=2\r\nDKIM-Signature: a=3\r\nFrom: x@y.z\r\ndkim-signature: a=4\r\n\r\nbody\r\n";
        let out = limit_signatures(raw, 1);
        assert_eq!(
            &*out,
            b"DKIM-Signature: a=1;\r\n b=2\r\nFrom: x@y.z\r\n\r\nbody\r\n".as_slice()
        );
        assert!(matches!(
            limit_signatures(raw, 3),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
