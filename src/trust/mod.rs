//! Who sent it: a message's raw bytes and the `[trust]` settings in, a
//! [`Verdict`] out. Pure apart from DKIM key lookups; never touches the store.
//!
//! - **Forwarder** (the outer `From`): verified by the topmost
//!   `Authentication-Results` (else `ARC-Authentication-Results`) header of a
//!   trusted `authserv-id` (a passing DMARC, or DKIM/SPF aligned with the From
//!   domain); where none is trusted, by leje's own DKIM check.
//! - **Original** (the Directorate's notice): verified when the notice came
//!   directly from a Directorate domain and that sender is verified, or when it
//!   is attached as `message/rfc822` with a valid DKIM signature of a
//!   Directorate domain, and that attachment alone holds the same notice.
//!   An inline forward cannot be verified.
//! - **Trusted** (policy `trust.auto_send`): a verified staff forwarder, a
//!   verified forwarder, or a verified original. The store holds the emails of
//!   every other message until a person releases them.

pub mod authres;
pub mod dkim;

use mail_parser::{MessageParser, PartType};
use serde::Serialize;

use crate::config::trust::{AutoSend, TrustSettings};
use crate::parse::{Kind, ParsedMessage};
use authres::{aligned, authenticates, domain_of, AuthResults};

/// Headers read for a verdict are looked for in this much of the message.
const MAX_HEADER_BYTES: usize = 256 << 10;
/// Attached messages looked at for the Directorate's signature.
const MAX_ATTACHED: usize = 3;

/// What leje concluded about who sent a message. Stored with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The outer From is authenticated.
    pub forwarder_verified: bool,
    /// The notice itself is the Directorate's, authenticated.
    pub original_verified: bool,
    /// The outer From is staff (`notify.staff_*`) and verified.
    pub staff: bool,
    /// `trust.auto_send` lets this message's emails go out without a person.
    pub trusted: bool,
    /// Why, in one short line.
    pub reason: String,
}

impl Verdict {
    /// For a caller that vouches for the message itself (tests, tools that
    /// ingest what a person chose): counts as verified, and says so.
    pub fn vouched(by: &str) -> Verdict {
        Verdict {
            forwarder_verified: true,
            original_verified: true,
            staff: false,
            trusted: true,
            reason: format!("not checked: vouched for by {by}"),
        }
    }
}

/// Checks messages against one `[trust]` configuration.
pub struct Checker {
    settings: TrustSettings,
    dkim: Option<dkim::Dkim>,
}

impl Checker {
    /// A checker; DKIM is off when disabled or when the resolver cannot be set
    /// up (logged: messages are then judged by trusted headers alone).
    pub fn new(settings: &TrustSettings) -> Checker {
        let dkim = if settings.dkim {
            match dkim::Dkim::new(settings) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(error = %e, "DKIM checks are off");
                    None
                }
            }
        } else {
            None
        };
        Checker {
            settings: settings.clone(),
            dkim,
        }
    }

    /// [`Checker::assess`] from a thread outside the runtime (a parser thread).
    pub fn assess_blocking(
        &self,
        rt: &tokio::runtime::Handle,
        raw: &[u8],
        p: &ParsedMessage,
    ) -> Verdict {
        rt.block_on(self.assess(raw, p))
    }

    /// The verdict on one message. Only notifications are checked (nothing else
    /// ever leads to an email); the rest get an unverified verdict at no cost.
    pub async fn assess(&self, raw: &[u8], p: &ParsedMessage) -> Verdict {
        let notification = matches!(
            p.kind,
            Kind::PermitApproved | Kind::PermitRejected | Kind::IncompleteNotification
        );
        let from = p.forwarded_by.as_deref();
        let from_domain = from.map(|f| domain_of(f).to_ascii_lowercase());
        // NOTE: other mail from a Directorate domain (card ready, an appointment) may move
        // a case too (store/replies.rs), so its sender is checked like a notice's.
        let directorate_mail = !notification
            && p.kind != Kind::OwnMail
            && from_domain
                .as_deref()
                .is_some_and(|d| self.is_directorate(d));
        if !notification && !directorate_mail {
            return self.conclude(false, false, p, "not a notification; not checked".into());
        }
        let (Some(from), Some(from_domain)) = (from, from_domain) else {
            return self.conclude(false, false, p, "no sender address".into());
        };

        let (fwd, fwd_why) = match self.trusted_verdict(raw) {
            Some((id, ar)) => match authenticates(&ar, &from_domain) {
                Ok(how) => (true, format!("sender verified by {id} ({how})")),
                Err(said) => (false, format!("sender not verified: {id} says {said}")),
            },
            None => match &self.dkim {
                Some(d) => match d.verify(raw, &from_domain, &[]).await {
                    Ok(dom) => (true, format!("sender verified by DKIM ({dom})")),
                    Err(e) => (false, format!("sender not verified: {e}")),
                },
                None => (false, "sender not verified: no trusted verdict".into()),
            },
        };

        let direct = directorate_mail
            || (p.original_from.is_some() && p.original_from.as_deref() == Some(from));
        let (orig, orig_why) = if direct {
            if !self.is_directorate(&from_domain) {
                (false, "not from a Directorate domain".to_owned())
            } else if fwd {
                (true, "sent directly by the Directorate".to_owned())
            } else {
                (false, "claims the Directorate, unverified".to_owned())
            }
        } else {
            self.attached_original(raw, p).await
        };
        let why = format!("{fwd_why}; original: {orig_why}");
        self.conclude(fwd, orig, p, why)
    }

    fn is_directorate(&self, domain: &str) -> bool {
        self.settings
            .directorate_domains
            .iter()
            .any(|d| aligned(d, domain))
    }

    fn is_staff(&self, addr: &str) -> bool {
        let a = addr.to_ascii_lowercase();
        self.settings.staff_addresses.contains(&a)
            || self
                .settings
                .staff_domains
                .iter()
                .any(|d| aligned(d, domain_of(&a)))
    }

    /// The topmost `Authentication-Results` (else `ARC-Authentication-Results`)
    /// header, when its authserv-id is trusted.
    fn trusted_verdict(&self, raw: &[u8]) -> Option<(String, AuthResults)> {
        if self.settings.authserv_ids.is_empty() {
            return None;
        }
        let headers = header_lines(&raw[..raw.len().min(MAX_HEADER_BYTES)]);
        for (name, arc) in [
            ("authentication-results", false),
            ("arc-authentication-results", true),
        ] {
            // NOTE: the topmost of each kind only; below it, the sender writes.
            let Some(v) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
                continue;
            };
            if let Some((_, ar)) = authres::parse(&v.1, arc) {
                if self.settings.authserv_ids.contains(&ar.authserv_id) {
                    return Some((ar.authserv_id.clone(), ar));
                }
            }
        }
        None
    }

    /// A `message/rfc822` part from a Directorate domain, holding the same
    /// notice, with a valid DKIM signature of a Directorate domain.
    async fn attached_original(&self, raw: &[u8], p: &ParsedMessage) -> (bool, String) {
        let want = p.notification_hash();
        let attached = std::panic::catch_unwind(|| attached_messages(raw)).unwrap_or_default();
        if attached.is_empty() {
            return (false, "inline forward, not verifiable".into());
        }
        let mut why = "no attached Directorate notice".to_owned();
        for m in attached.iter().take(MAX_ATTACHED) {
            let inner = crate::parse::parse(m);
            let Some(from) = inner.forwarded_by.as_deref() else {
                continue;
            };
            let dom = domain_of(from).to_ascii_lowercase();
            if !self.is_directorate(&dom) {
                continue;
            }
            if inner.notification_hash() != want {
                why = "the attached Directorate message is another notice".into();
                continue;
            }
            let Some(d) = &self.dkim else {
                return (false, "attached notice; DKIM checks are off".into());
            };
            match d.verify(m, &dom, &self.settings.directorate_domains).await {
                Ok(dom) => return (true, format!("attached notice signed by {dom}")),
                Err(e) => why = format!("attached notice not verified: {e}"),
            }
        }
        (false, why)
    }

    fn conclude(&self, fwd: bool, orig: bool, p: &ParsedMessage, why: String) -> Verdict {
        let staff = fwd && p.forwarded_by.as_deref().is_some_and(|f| self.is_staff(f));
        let auto = &self.settings.auto_send;
        let by = if staff && auto.contains(&AutoSend::Staff) {
            Some("staff")
        } else if fwd && auto.contains(&AutoSend::VerifiedForwarder) {
            Some("verified forwarder")
        } else if orig && auto.contains(&AutoSend::VerifiedOriginal) {
            Some("verified original")
        } else {
            None
        };
        let reason = match by {
            Some(b) => format!("trusted ({b}): {why}"),
            None => format!("held: {why}"),
        };
        Verdict {
            forwarder_verified: fwd,
            original_verified: orig,
            staff,
            trusted: by.is_some(),
            reason: clip(reason, 300),
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary, without control
/// characters (the reason quotes header values, which the sender wrote).
fn clip(s: String, max: usize) -> String {
    let mut s: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
    s
}

/// The raw bytes of each attached message (`message/rfc822`), in order.
fn attached_messages(raw: &[u8]) -> Vec<Vec<u8>> {
    let Some(m) = MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in &m.parts {
        if let PartType::Message(inner) = &part.body {
            out.push(inner.raw_message().to_vec());
            if out.len() >= MAX_ATTACHED {
                break;
            }
        }
    }
    out
}

/// The header fields of a message, unfolded, in order.
fn header_lines(raw: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(text.trim());
            }
            continue;
        }
        if let Some((n, v)) = text.split_once(':') {
            out.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
