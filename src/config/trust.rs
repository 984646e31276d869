//! `[trust]`: who counts as a trustworthy sender, and how much may go out.
//!
//! The file form ([`TrustFile`], every field optional) and the validated form
//! ([`TrustSettings`], read by [`crate::trust`] and the outbox sender). The
//! checks live in `validate/trust.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::units::NumOrText;

/// `[trust]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// `authserv-id`s of the receiving servers whose `Authentication-Results`
    /// (and `ARC-Authentication-Results`) leje believes, e.g. `mx.google.com`.
    /// Only the topmost such header is read. Default none.
    pub authserv_ids: Option<Vec<String>>,
    /// Domains (and their subdomains) the Immigration Office signs its notices
    /// with. Default `["asp.gov.al"]`.
    pub directorate_domains: Option<Vec<String>>,
    /// Check DKIM signatures where no trusted verdict exists. Default true.
    pub dkim: Option<bool>,
    /// DNS servers for DKIM keys, `"IP"` or `"IP:PORT"`. Default: the system's (`/etc/resolv.conf`).
    pub dns_servers: Option<Vec<String>>,
    /// Time limit for all of one message's DKIM key lookups. Default `5s`.
    pub dns_timeout: Option<NumOrText>,
    /// At most this many DKIM signatures are checked per message. Default 5.
    pub max_dkim_signatures: Option<i64>,
    /// Messages larger than this are not DKIM-checked (unverified). Default `10MB`.
    pub max_dkim_size: Option<NumOrText>,
    /// Who gets email in the agency's name without a person releasing it:
    /// any of `staff` (a verified staff forwarder), `verified_forwarder`,
    /// `verified_original`. Default all three; `[]` holds everything.
    pub auto_send: Option<Vec<String>>,
    /// At most this many emails per hour in all (0 = no limit). Default 60.
    pub max_per_hour: Option<i64>,
    /// At most this many emails per hour for messages forwarded from one domain
    /// (0 = no limit). Default 20.
    pub max_per_forwarder_domain_per_hour: Option<i64>,
    /// At most this many waybills attached to one email. Default 3.
    pub max_attachments: Option<i64>,
    /// At most this many bytes of waybills in one email. Default `5MB`.
    pub max_attachment_bytes: Option<NumOrText>,
}

/// What makes a message trustworthy enough to send without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoSend {
    /// Forwarded by a staff member (`notify.staff_*`) whose address is verified.
    Staff,
    /// Forwarded by anyone whose address is verified.
    VerifiedForwarder,
    /// The Directorate's own notice with a valid signature (or sent directly and verified).
    VerifiedOriginal,
}

impl AutoSend {
    pub const CHOICES: [(&'static str, AutoSend); 3] = [
        ("staff", AutoSend::Staff),
        ("verified_forwarder", AutoSend::VerifiedForwarder),
        ("verified_original", AutoSend::VerifiedOriginal),
    ];
}

/// Where DKIM keys are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dns {
    /// `/etc/resolv.conf`.
    System,
    /// These servers (plain UDP/TCP).
    Servers(Vec<SocketAddr>),
}

/// The validated `[trust]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustSettings {
    /// Lower-case.
    pub authserv_ids: Vec<String>,
    /// Lower-case, without `@`.
    pub directorate_domains: Vec<String>,
    pub dkim: bool,
    pub dns: Dns,
    pub dns_timeout: Duration,
    pub max_dkim_signatures: usize,
    pub max_dkim_size: u64,
    pub auto_send: Vec<AutoSend>,
    /// Lower-case staff addresses and domains (copied from `[notify]`).
    pub staff_addresses: Vec<String>,
    pub staff_domains: Vec<String>,
    pub max_per_hour: u32,
    pub max_per_forwarder_domain_per_hour: u32,
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
}

impl Default for TrustSettings {
    fn default() -> Self {
        TrustSettings {
            authserv_ids: Vec::new(),
            directorate_domains: vec!["asp.gov.al".into()],
            dkim: true,
            dns: Dns::System,
            dns_timeout: Duration::from_secs(5),
            max_dkim_signatures: 5,
            max_dkim_size: 10_000_000,
            auto_send: AutoSend::CHOICES.iter().map(|c| c.1).collect(),
            staff_addresses: Vec::new(),
            staff_domains: Vec::new(),
            max_per_hour: 60,
            max_per_forwarder_domain_per_hour: 20,
            max_attachments: 3,
            max_attachment_bytes: 5_000_000,
        }
    }
}
