//! Runtime settings: the validated form of the configuration that the rest of
//! leje codes against. Built once by [`crate::config::load`]; every value here
//! has already been checked, so callers never re-validate.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::LogFormat;
use crate::parse::{Directorate, Language};

use super::secret::Secret;

/// Everything leje needs to run, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The file the settings came from; `None` = embedded defaults.
    pub source: Option<PathBuf>,
    /// Where the SQLite store (and waybill files of stores before schema 5) live. Default: `$STATE_DIRECTORY`, else `/var/lib/leje`.
    pub state_dir: PathBuf,
    /// Case store URL. Default: `sqlite:<state_dir>/leje.db`.
    pub store_url: String,
    /// Name of this instance (lease holder id). Default: the host name.
    pub instance: String,
    /// Logging.
    pub log: LogSettings,
    /// The health/metrics listener; `None` = off (default).
    pub http: Option<HttpSettings>,
    /// The work one message may cost (`[limits]`).
    pub limits: crate::budget::Limits,
    /// The staff console (on the `[http]` listener).
    pub web: super::web::WebSettings,
    /// The shared mailboxes to watch (none by default).
    pub mailboxes: Vec<MailboxSettings>,
    /// Outgoing mail; `None` = nothing is sent and the outbox accumulates.
    pub smtp: Option<SmtpSettings>,
    /// What the instructions emails say and to whom they go.
    pub notify: NotifySettings,
    /// All twelve directorates, with their embedded names and optional address/hours.
    pub offices: BTreeMap<Directorate, OfficeInfo>,
    /// The citizenship clock (`[citizenship]`).
    pub citizenship: super::citizenship::CitizenshipSettings,
    /// Reminders, one-click links and replies (issue 20).
    pub followup: super::followup::FollowupSettings,
    /// Sender trust and outgoing caps (`[trust]`).
    pub trust: super::trust::TrustSettings,
}

/// How and how much is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Default: [`LogFormat::Auto`].
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `leje=debug,info`. Default `info`; `RUST_LOG` overrides.
    pub level: String,
}

/// The small HTTP listener for `/healthz` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Default `127.0.0.1:9187`.
    pub listen: SocketAddr,
    /// `/healthz` fails when a mailbox has not been checked for this long. Default 15 min.
    pub stale_after: Duration,
}

/// One shared mailbox to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxSettings {
    /// Unique; the key for checkpoints and leases.
    pub name: String,
    pub host: String,
    /// Default 993 for implicit TLS, 143 for STARTTLS and none.
    pub port: u16,
    /// Default [`TlsMode::Implicit`]; [`TlsMode::None`] only on loopback (or with `allow_insecure`).
    pub tls: TlsMode,
    /// Extra CA certificate (PEM) trusted besides the system roots.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub auth: Auth,
    /// Default `INBOX`.
    pub folder: String,
    /// Use IDLE where the server offers it. Default true.
    pub idle: bool,
    /// Polling interval, also the periodic check while idling. Default 60 s.
    pub poll_interval: Duration,
    /// IDLE is re-issued after this long (RFC 2177: under 29 min). Default 25 min.
    pub idle_renew: Duration,
    /// Most messages committed per store transaction (commits are grouped by what is parsed meanwhile). Default 500.
    pub batch_size: u32,
    /// Larger messages are recorded, skipped and moved aside. Default 25 MiB.
    pub max_message_size: u64,
    /// On first start, skip messages older than this date.
    pub since: Option<chrono::NaiveDate>,
    /// What to do with a message after processing, per outcome.
    pub actions: Actions,
    /// Cap of the exponential reconnect backoff. Default 5 min.
    pub reconnect_max: Duration,
}

/// What is done to a message in the mailbox once its outcome is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// A case was created or updated. Default `move:leje/processed`.
    pub processed: Action,
    /// Not a notification (unrelated, auto-reply, own mail, duplicate, …). Default `seen`.
    pub ignored: Action,
    /// A person must look at it (incomplete or rejected notification, …). Default `move:leje/review`.
    pub review: Action,
    /// Processing failed (malformed, unreadable). Default `move:leje/failed`.
    pub failed: Action,
    /// Over `max_message_size`. Default `move:leje/oversize`.
    pub oversize: Action,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            processed: Action::Move("leje/processed".into()),
            ignored: Action::Seen,
            review: Action::Move("leje/review".into()),
            failed: Action::Move("leje/failed".into()),
            oversize: Action::Move("leje/oversize".into()),
        }
    }
}

/// One after-processing action. Written in the config as `leave`, `seen`,
/// `keyword:NAME` or `move:FOLDER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the message as it is.
    Leave,
    /// Set `\Seen`.
    Seen,
    /// Set this IMAP keyword (e.g. `$LejeDone`).
    Keyword(String),
    /// Move to this folder (created when absent; COPY + EXPUNGE where MOVE is missing).
    Move(String),
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Leave => f.write_str("leave"),
            Action::Seen => f.write_str("seen"),
            Action::Keyword(k) => write!(f, "keyword:{k}"),
            Action::Move(m) => write!(f, "move:{m}"),
        }
    }
}

/// Transport security of an IMAP or SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plaintext greeting, then STARTTLS (IMAP 143, SMTP 587); refused if the server does not offer it.
    StartTls,
    /// No TLS at all: loopback only (tests, the demo, a local relay).
    None,
}

impl TlsMode {
    /// The config spelling: `implicit`, `starttls`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit",
            TlsMode::StartTls => "starttls",
            TlsMode::None => "none",
        }
    }
}

/// How leje logs in to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// LOGIN with a password.
    Password(Secret),
    /// SASL XOAUTH2 with an access token (usually from a command that refreshes it).
    XOAuth2(Secret),
}

/// Outgoing mail.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpSettings {
    pub host: String,
    /// Default 587 for STARTTLS, 465 for implicit TLS, 25 for none.
    pub port: u16,
    /// Default [`TlsMode::StartTls`].
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    /// No username = no authentication.
    pub username: Option<String>,
    /// Set exactly when `username` is.
    pub password: Option<Secret>,
    /// The From of every email, e.g. `leje <permits@example.al>`; validated as a mailbox.
    pub from: String,
    /// Copies (e.g. the agency's own address). Default none.
    pub cc: Vec<String>,
    /// A message that cannot be delivered for this long is marked failed. Default 2 days.
    pub retry_for: Duration,
    /// Flood guard per recipient address. Default 5.
    pub max_per_recipient_per_day: u32,
    /// Per-connection/command timeout. Default 30 s.
    pub timeout: Duration,
}

/// Which payment route the instructions describe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaymentRoute {
    /// At a bank, with the waybill. Default.
    #[default]
    Bank,
    /// At an Albanian Post office.
    Post,
}

impl PaymentRoute {
    /// The config spelling: `bank`, `post`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentRoute::Bank => "bank",
            PaymentRoute::Post => "post",
        }
    }
}

/// What the instructions emails say and to whom they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Language when the notification's own language is unknown. Default English.
    pub default_language: Language,
    /// Operator template overrides (files named like the embedded ones).
    pub templates_dir: Option<PathBuf>,
    /// Send an HTML alternative besides the plain text. Default true.
    pub html: bool,
    /// Fee quoted when the waybill shows no amount. Default 5700.
    pub fee_default_lek: u64,
    /// Default [`PaymentRoute::Bank`].
    pub payment_route: PaymentRoute,
    /// Addresses of staff who forward notifications (replies go to the applicant, staff in copy). Lower-case.
    pub staff_addresses: Vec<String>,
    /// Domains whose senders count as staff. Lower-case, without `@`.
    pub staff_domains: Vec<String>,
    /// Write `.eml` files here instead of sending.
    pub dry_run_dir: Option<PathBuf>,
    /// Shown in the emails' signature.
    pub agency_name: Option<String>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            default_language: Language::En,
            templates_dir: None,
            html: true,
            fee_default_lek: 5700,
            payment_route: PaymentRoute::Bank,
            staff_addresses: Vec::new(),
            staff_domains: Vec::new(),
            dry_run_dir: None,
            agency_name: None,
        }
    }
}

/// A Local Directorate for Border and Migration, as shown to applicants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeInfo {
    /// Official name, e.g. "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë".
    pub name: String,
    /// Street address; `None` unless the operator configured one (leje never invents it).
    pub address: Option<String>,
    /// Opening hours; `None` unless configured.
    pub hours: Option<String>,
}

/// The twelve directorates: config key (also accepted with Albanian letters) and official name.
pub const DIRECTORATES: [(Directorate, &str, &str); 12] = [
    (
        Directorate::Berat,
        "berat",
        "Drejtoria Vendore për Kufirin dhe Migracionin Berat",
    ),
    (
        Directorate::Diber,
        "diber",
        "Drejtoria Vendore për Kufirin dhe Migracionin Dibër",
    ),
    (
        Directorate::Durres,
        "durres",
        "Drejtoria Vendore për Kufirin dhe Migracionin Durrës",
    ),
    (
        Directorate::Elbasan,
        "elbasan",
        "Drejtoria Vendore për Kufirin dhe Migracionin Elbasan",
    ),
    (
        Directorate::Fier,
        "fier",
        "Drejtoria Vendore për Kufirin dhe Migracionin Fier",
    ),
    (
        Directorate::Gjirokaster,
        "gjirokaster",
        "Drejtoria Vendore për Kufirin dhe Migracionin Gjirokastër",
    ),
    (
        Directorate::Korce,
        "korce",
        "Drejtoria Vendore për Kufirin dhe Migracionin Korçë",
    ),
    (
        Directorate::Kukes,
        "kukes",
        "Drejtoria Vendore për Kufirin dhe Migracionin Kukës",
    ),
    (
        Directorate::Lezhe,
        "lezhe",
        "Drejtoria Vendore për Kufirin dhe Migracionin Lezhë",
    ),
    (
        Directorate::Shkoder,
        "shkoder",
        "Drejtoria Vendore për Kufirin dhe Migracionin Shkodër",
    ),
    (
        Directorate::Tirane,
        "tirane",
        "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë",
    ),
    (
        Directorate::Vlore,
        "vlore",
        "Drejtoria Vendore për Kufirin dhe Migracionin Vlorë",
    ),
];

/// The embedded office table: all twelve names, no addresses or hours.
pub fn default_offices() -> BTreeMap<Directorate, OfficeInfo> {
    DIRECTORATES
        .iter()
        .map(|(d, _, name)| {
            (
                *d,
                OfficeInfo {
                    name: (*name).to_string(),
                    address: None,
                    hours: None,
                },
            )
        })
        .collect()
}

/// The directorate for a config key such as `tirane` or `Tiranë`.
pub fn directorate_from_key(key: &str) -> Option<Directorate> {
    let folded: String = key
        .trim()
        .chars()
        .map(|c| match c {
            'ë' | 'Ë' => 'e',
            'ç' | 'Ç' => 'c',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    DIRECTORATES
        .iter()
        .find(|(_, k, _)| *k == folded)
        .map(|(d, _, _)| *d)
}
