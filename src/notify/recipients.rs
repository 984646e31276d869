//! Who receives an email: a pure function of the outbox row, the case and the config.
//!
//! Policy (issue 5):
//! 1. Reply to whoever forwarded the notification, unless that is one of the operator's
//!    own staff (an address or domain in `notify.staff_*`).
//! 2. Otherwise to the applicant's addresses on the case (contacts, then the address the
//!    notification was originally sent to), never to staff or Immigration Office addresses.
//! 3. Where there is none, back to the staff member, with a note that the applicant's
//!    address is missing.
//!
//! Trust (issue 23): an address that came only from an unverified message's
//! headers is never written to. The forwarder counts only when its address was
//! verified, the original recipient only when the forwarder or the notice was
//! (a person releasing a held email vouches for both); staff configured in
//! `notify.staff_*` may still get the missing-address note, as it is ours.
//!
//! `smtp.cc` is copied on everything. Nothing is ever sent to leje's own address, to
//! mailer-daemon / postmaster / no-reply style addresses, or to the Immigration Office
//! (any address under `gov.al`).

/// The operator's side of the decision (from `smtp` and `notify` settings).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Bare address of `smtp.from`, lower-case.
    pub own_address: String,
    pub cc: Vec<String>,
    /// Lower-case.
    pub staff_addresses: Vec<String>,
    /// Lower-case, without `@`.
    pub staff_domains: Vec<String>,
}

/// The case's side of the decision (from the outbox row and the case).
#[derive(Debug, Clone, Default)]
pub struct Parties<'a> {
    pub forwarded_by: Option<&'a str>,
    /// As recorded at ingestion; the current staff lists are consulted as well.
    pub forwarder_is_staff: bool,
    pub original_to: Option<&'a str>,
    pub contacts: &'a [String],
    /// The forwarder's address was not verified (and no person released the email).
    pub forwarder_unverified: bool,
    /// Neither the forwarder nor the notice was verified: `original_to` is hearsay.
    pub original_to_unverified: bool,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients {
    /// Lower-case bare addresses, deduplicated, never empty.
    pub to: Vec<String>,
    /// `smtp.cc` minus anything already in `to` or not allowed.
    pub cc: Vec<String>,
    /// The email goes to staff because the applicant's address is unknown.
    pub missing_applicant_address: bool,
}

/// There is nobody leje may write to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no recipient: the forwarder is missing or not allowed, and the case has no applicant address"
)]
pub struct NoRecipient;

/// Lower-case bare address out of `Name <addr>` or `addr`; `None` if it is not one.
pub fn bare(addr: &str) -> Option<String> {
    let a = addr.trim();
    let a = match (a.rfind('<'), a.rfind('>')) {
        (Some(l), Some(r)) if l < r => &a[l + 1..r],
        _ => a,
    };
    let a = a.trim().to_ascii_lowercase();
    let (local, domain) = a.rsplit_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || a.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some(a)
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

fn under(domain: &str, parent: &str) -> bool {
    domain == parent || domain.ends_with(&format!(".{parent}"))
}

/// Local parts that belong to machines, not people (RFC 3834 §2, common practice).
fn machine_local(local: &str) -> bool {
    let l = local.replace(['-', '_', '.'], "");
    matches!(
        l.as_str(),
        "mailerdaemon"
            | "postmaster"
            | "noreply"
            | "donotreply"
            | "dontreply"
            | "bounce"
            | "bounces"
            | "abuse"
            | "listserv"
            | "majordomo"
    ) || l.starts_with("noreply")
        || l.starts_with("owner")
        || local.ends_with("-request")
}

/// The Immigration Office and every other Albanian government address.
pub fn is_office(addr: &str) -> bool {
    under(domain_of(addr), "gov.al")
}

impl Policy {
    /// Is `addr` (bare, lower-case) one of the operator's staff?
    pub fn is_staff(&self, addr: &str) -> bool {
        let d = domain_of(addr);
        self.staff_addresses.iter().any(|s| s == addr)
            || self.staff_domains.iter().any(|s| under(d, s))
    }

    /// May leje write to `addr` at all?
    pub fn allowed(&self, addr: &str) -> bool {
        let local = addr.rsplit_once('@').map(|(l, _)| l).unwrap_or(addr);
        addr != self.own_address && !machine_local(local) && !is_office(addr)
    }

    /// Decide the recipients. Pure: same inputs, same answer.
    pub fn decide(&self, p: &Parties<'_>) -> Result<Recipients, NoRecipient> {
        let claimed = p.forwarded_by.and_then(bare).filter(|a| self.allowed(a));
        // NOTE: an unverified forwarder is only ever our own staff's address
        // (for the missing-address note), never someone the message named.
        let forwarder = claimed.filter(|a| !p.forwarder_unverified || self.is_staff(a));
        let staff_forwarder = forwarder
            .as_deref()
            .map(|a| p.forwarder_is_staff || self.is_staff(a))
            .unwrap_or(false);
        let original_to = p.original_to.filter(|_| !p.original_to_unverified);

        let mut to = Vec::new();
        let mut missing = false;
        match (&forwarder, staff_forwarder) {
            (Some(f), false) => to.push(f.clone()),
            _ => {
                let applicant = p
                    .contacts
                    .iter()
                    .map(String::as_str)
                    .chain(original_to)
                    .filter_map(bare)
                    .filter(|a| self.allowed(a) && !self.is_staff(a));
                for a in applicant {
                    if !to.contains(&a) {
                        to.push(a);
                    }
                }
                if to.is_empty() {
                    match &forwarder {
                        Some(f) => {
                            to.push(f.clone());
                            missing = true;
                        }
                        None => return Err(NoRecipient),
                    }
                }
            }
        }
        let mut cc = Vec::new();
        for c in self.cc.iter().filter_map(|c| bare(c)) {
            if self.allowed(&c) && !to.contains(&c) && !cc.contains(&c) {
                cc.push(c);
            }
        }
        Ok(Recipients {
            to,
            cc,
            missing_applicant_address: missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            own_address: "permits@agency.al".into(),
            cc: vec!["Archive <archive@agency.al>".into()],
            staff_addresses: vec!["helper@gmail.com".into()],
            staff_domains: vec!["agency.al".into()],
        }
    }

    fn decide(p: Parties<'_>) -> Result<Recipients, NoRecipient> {
        policy().decide(&p)
    }

    #[test]
    fn replies_to_a_non_staff_forwarder() {
        let contacts = vec!["ana@example.com".to_string()];
        let r = decide(Parties {
            forwarded_by: Some("Relocation Co <Desk@Relocate.example>"),
            forwarder_is_staff: false,
            original_to: Some("ana@example.com"),
            contacts: &contacts,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["desk@relocate.example"]);
        assert_eq!(r.cc, vec!["archive@agency.al"]);
        assert!(!r.missing_applicant_address);
    }

    #[test]
    fn staff_forwarder_means_applicant_address() {
        let contacts = vec![
            "maria@agency.al".to_string(), // staff domain: never the applicant
            "ana@example.com".to_string(),
            "ANA@example.com".to_string(),
        ];
        for (fwd, flag) in [
            ("maria@agency.al", false),
            ("helper@gmail.com", false),
            ("x@y.example", true),
        ] {
            let r = decide(Parties {
                forwarded_by: Some(fwd),
                forwarder_is_staff: flag,
                original_to: Some("ana2@example.org"),
                contacts: &contacts,
                ..Default::default()
            })
            .unwrap();
            assert_eq!(r.to, vec!["ana@example.com", "ana2@example.org"], "{fwd}");
            assert!(!r.missing_applicant_address);
        }
    }

    #[test]
    fn staff_gets_it_with_a_note_when_applicant_unknown() {
        let r = decide(Parties {
            forwarded_by: Some("maria@agency.al"),
            forwarder_is_staff: true,
            original_to: Some("permits@agency.al"),
            contacts: &[],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["maria@agency.al"]);
        assert!(r.missing_applicant_address);
        // cc never repeats a To address
        let mut p = policy();
        p.cc = vec!["maria@agency.al".into()];
        let r = p
            .decide(&Parties {
                forwarded_by: Some("maria@agency.al"),
                forwarder_is_staff: true,
                ..Default::default()
            })
            .unwrap();
        assert!(r.cc.is_empty());
    }

    #[test]
    fn never_machines_own_address_or_office() {
        for bad in [
            "MAILER-DAEMON@mx.example.com",
            "postmaster@example.com",
            "no-reply@example.com",
            "noreply-123@example.com",
            "do_not_reply@example.com",
            "permits@agency.al",
            "migracioni@asp.gov.al",
            "info@mb.gov.al",
            "list-request@lists.example",
        ] {
            let r = decide(Parties {
                forwarded_by: Some(bad),
                forwarder_is_staff: false,
                original_to: Some(bad),
                contacts: &[bad.to_string()],
                ..Default::default()
            });
            assert_eq!(r, Err(NoRecipient), "{bad}");
        }
        // a direct notification from the office to the applicant: the applicant gets it
        let r = decide(Parties {
            forwarded_by: Some("migracioni@asp.gov.al"),
            forwarder_is_staff: false,
            original_to: Some("ana@example.com"),
            contacts: &[],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["ana@example.com"]);
        assert!(!r.missing_applicant_address);
    }

    #[test]
    fn unverified_addresses_are_never_written_to() {
        // A forged forward: neither the sender nor the applicant it names.
        let r = decide(Parties {
            forwarded_by: Some("x@evil.example"),
            original_to: Some("victim@example.com"),
            forwarder_unverified: true,
            original_to_unverified: true,
            ..Default::default()
        });
        assert_eq!(r, Err(NoRecipient));
        // A verified original forwarded by someone unverified: its recipient only.
        let r = decide(Parties {
            forwarded_by: Some("x@evil.example"),
            original_to: Some("ana@example.com"),
            forwarder_unverified: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["ana@example.com"]);
        // Unverified staff: our own address may get the missing-address note.
        let r = decide(Parties {
            forwarded_by: Some("maria@agency.al"),
            original_to: Some("ana@example.com"),
            forwarder_unverified: true,
            original_to_unverified: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["maria@agency.al"]);
        assert!(r.missing_applicant_address);
    }

    #[test]
    fn no_forwarder_uses_contacts_and_garbage_is_ignored() {
        let contacts = vec!["not an address".to_string(), "b@c.example".to_string()];
        let r = decide(Parties {
            forwarded_by: None,
            contacts: &contacts,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.to, vec!["b@c.example"]);
        assert_eq!(bare("x@localhost"), None);
        assert_eq!(bare("A B <A@B.Example>").as_deref(), Some("a@b.example"));
    }
}
