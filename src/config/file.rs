//! The configuration file as written (TOML). Every field is optional here and
//! loosely typed where a value needs checking (ports, durations, sizes, choice
//! strings): [`super::validate`] interprets them, so that every bad value in a
//! file is reported at once instead of serde stopping at the first.
//!
//! Relative paths are relative to the directory of the config file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::units::NumOrText;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where the SQLite store (and waybill files of stores before schema 5) live. Default: `$STATE_DIRECTORY`, else `/var/lib/leje`.
    pub state_dir: Option<PathBuf>,
    /// Case store URL: `sqlite:PATH` (a relative PATH is relative to this file) or
    /// `postgres://…`. Default: `sqlite:<state_dir>/leje.db`.
    pub store: Option<String>,
    /// Name of this instance, used as the mailbox lease holder. Default: the host name.
    pub instance: Option<String>,
    /// Logging. Default: format `auto`, level `info`.
    pub log: Option<LogFile>,
    /// Health and metrics listener. Default: off.
    pub http: Option<HttpFile>,
    /// The work one message may cost (time, memory). Default: 2 s, 64 MiB, watchdog 10 s.
    pub limits: Option<LimitsFile>,
    /// The staff console (`[web]`). Default: on whenever `[http]` is.
    pub web: Option<super::web::WebFile>,
    /// Shared mailboxes to watch (`[[mailbox]]`, any number). Default: none.
    #[serde(default)]
    pub mailbox: Vec<MailboxFile>,
    /// Outgoing mail server. Default: none (nothing is sent; the outbox accumulates).
    pub smtp: Option<SmtpFile>,
    /// Contents and recipients of the instructions emails.
    pub notify: Option<NotifyFile>,
    /// Address and opening hours per directorate (`[offices.tirane]`, …). Default: embedded names only.
    #[serde(default)]
    pub offices: BTreeMap<String, OfficeFile>,
    /// The citizenship clock (`[citizenship]`). Default: on, with Law No. 8389's periods.
    pub citizenship: Option<super::citizenship::CitizenshipFile>,
    /// Reminders, one-click links and replies (`[followup]`). Default: see its fields.
    pub followup: Option<super::followup::FollowupFile>,
    /// Who counts as a trustworthy sender, and how much may go out (README "Trust and security").
    pub trust: Option<super::trust::TrustFile>,
}

/// The top-level keys of [`FileConfig`], for error messages.
pub const TOP_KEYS: [&str; 14] = [
    "state_dir",
    "store",
    "instance",
    "log",
    "http",
    "limits",
    "web",
    "mailbox",
    "smtp",
    "notify",
    "offices",
    "citizenship",
    "followup",
    "trust",
];

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// `auto` (default: timestamps on a terminal, none under systemd), `text` or `json`.
    /// The `--log-format` option, when given, wins.
    pub format: Option<String>,
    /// Tracing filter such as `info` or `leje=debug,info`. Default `info`; `RUST_LOG` overrides.
    pub level: Option<String>,
}

/// `[http]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFile {
    /// Serve `/healthz` and `/metrics`. Default false.
    pub enabled: Option<bool>,
    /// Address to listen on. Default `127.0.0.1:9187`.
    pub listen: Option<String>,
    /// `/healthz` fails when a mailbox was not checked for this long. Default `15m`.
    pub stale_after: Option<NumOrText>,
}

/// A secret command: an array `["pass", "show", "leje/imap"]`, or a string split on whitespace.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// Program and arguments, run without a shell.
    Argv(Vec<String>),
    /// Split on whitespace; no quoting (use the array form for arguments with spaces).
    Line(String),
}

impl CommandLine {
    /// Program and arguments.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Argv(v) => v.clone(),
            CommandLine::Line(s) => s.split_whitespace().map(String::from).collect(),
        }
    }
}

/// `[[mailbox]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxFile {
    /// Unique name: the key for checkpoints and leases; never change it once used. Required.
    pub name: Option<String>,
    /// IMAP server host name. Required.
    pub host: Option<String>,
    /// Default 993 when `tls = "implicit"`, 143 for `starttls` and `none`.
    pub port: Option<i64>,
    /// `implicit` (default), `starttls`, or `none` (loopback hosts only, unless `allow_insecure`).
    pub tls: Option<String>,
    /// Allow `tls = "none"` to a non-loopback host (the password crosses the network in clear). Default false.
    pub allow_insecure: Option<bool>,
    /// Extra CA certificate (PEM) to trust besides the system roots. Default none.
    pub ca_file: Option<PathBuf>,
    /// Login name. Required.
    pub username: Option<String>,
    /// `password` (default) or `xoauth2`.
    pub auth: Option<String>,
    /// Password from this file (one trailing newline removed). Exactly one `password_*` with `auth = "password"`.
    pub password_file: Option<PathBuf>,
    /// Password from this command's stdout (no shell; 30 s timeout).
    pub password_command: Option<CommandLine>,
    /// Password from this environment variable.
    pub password_env: Option<String>,
    /// Password from this systemd credential (`LoadCredential=NAME:…`).
    pub password_credential: Option<String>,
    /// OAuth2 access token from this command (usually one that refreshes it). Exactly one `token_*` with `auth = "xoauth2"`.
    pub token_command: Option<CommandLine>,
    /// OAuth2 access token from this file.
    pub token_file: Option<PathBuf>,
    /// OAuth2 access token from this environment variable.
    pub token_env: Option<String>,
    /// OAuth2 access token from this systemd credential.
    pub token_credential: Option<String>,
    /// Folder to watch. Default `INBOX`.
    pub folder: Option<String>,
    /// Use IMAP IDLE where the server offers it. Default true.
    pub idle: Option<bool>,
    /// Polling interval, also the periodic check while idling. Default `60s`.
    pub poll_interval: Option<NumOrText>,
    /// Re-issue IDLE after this long; under 29 minutes (RFC 2177). Default `25m`.
    pub idle_renew: Option<NumOrText>,
    /// Most messages committed in one store transaction (1–1000); a group holds what was parsed while the one before it committed (during a backlog, at least half this many). Default 500.
    pub batch_size: Option<i64>,
    /// Larger messages are recorded, skipped and moved aside. Default `25MiB`.
    pub max_message_size: Option<NumOrText>,
    /// On first start, skip messages received before this date (`2024-01-31`). Default: none.
    pub since: Option<toml::Value>,
    /// Cap of the exponential reconnect backoff. Default `5m`.
    pub reconnect_max: Option<NumOrText>,
    /// What to do with each message after processing.
    pub actions: Option<ActionsFile>,
}

/// `[mailbox.actions]`: each `leave`, `seen`, `keyword:NAME` or `move:FOLDER`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsFile {
    /// A case was created or updated. Default `move:leje/processed`.
    pub processed: Option<String>,
    /// Not a notification (unrelated, auto-reply, duplicate, own mail). Default `seen`.
    pub ignored: Option<String>,
    /// A person must look at it (incomplete or rejected notification). Default `move:leje/review`.
    pub review: Option<String>,
    /// Processing failed (malformed beyond recovery). Default `move:leje/failed`.
    pub failed: Option<String>,
    /// Over `max_message_size`. Default `move:leje/oversize`.
    pub oversize: Option<String>,
}

/// `[smtp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    /// SMTP server host name. Required.
    pub host: Option<String>,
    /// Default 587 for `starttls`, 465 for `implicit`, 25 for `none`.
    pub port: Option<i64>,
    /// `starttls` (default), `implicit`, or `none` (loopback hosts only, unless `allow_insecure`).
    pub tls: Option<String>,
    /// Allow `tls = "none"` to a non-loopback host. Default false.
    pub allow_insecure: Option<bool>,
    /// Extra CA certificate (PEM). Default none.
    pub ca_file: Option<PathBuf>,
    /// Login name; omit for an unauthenticated relay. Default none.
    pub username: Option<String>,
    /// Password from this file. Exactly one `password_*` when `username` is set.
    pub password_file: Option<PathBuf>,
    /// Password from this command's stdout (no shell; 30 s timeout).
    pub password_command: Option<CommandLine>,
    /// Password from this environment variable.
    pub password_env: Option<String>,
    /// Password from this systemd credential.
    pub password_credential: Option<String>,
    /// From address of every email, e.g. `leje <permits@example.al>`. Required.
    pub from: Option<String>,
    /// Addresses copied on every email (e.g. the agency's own). Default none.
    pub cc: Option<Vec<String>>,
    /// Give up on a message that could not be delivered for this long. Default `2d`.
    pub retry_for: Option<NumOrText>,
    /// At most this many emails to one address per day. Default 5.
    pub max_per_recipient_per_day: Option<i64>,
    /// Connection and command timeout. Default `30s`.
    pub timeout: Option<NumOrText>,
}

/// `[notify]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// `en` (default) or `sq`: used when the notification's language is unknown.
    pub default_language: Option<String>,
    /// Directory of template overrides. Default none (embedded templates).
    pub templates_dir: Option<PathBuf>,
    /// Add an HTML alternative to the plain text. Default true.
    pub html: Option<bool>,
    /// Fee quoted when the waybill shows no amount, in Lek. Default 5700.
    pub fee_default_lek: Option<i64>,
    /// `bank` (default) or `post`: the payment route described first.
    pub payment_route: Option<String>,
    /// Staff who forward notifications (applicant gets the reply, staff a copy). Default none.
    pub staff_addresses: Option<Vec<String>>,
    /// Domains whose senders count as staff, e.g. `agency.al`. Default none.
    pub staff_domains: Option<Vec<String>>,
    /// Write `.eml` files here instead of sending. Default none.
    pub dry_run_dir: Option<PathBuf>,
    /// Agency name for the signature. Default none.
    pub agency_name: Option<String>,
}

/// `[offices.<directorate>]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeFile {
    /// Replaces the embedded official name. Default: `"Drejtoria Vendore për Kufirin dhe Migracionin <City>"`.
    pub name: Option<String>,
    /// Street address shown to applicants. Default none.
    pub address: Option<String>,
    /// Opening hours shown to applicants. Default none.
    pub hours: Option<String>,
}

/// `[limits]`: the work one message may cost; over it, the message gets outcome
/// `failed` (moved aside by the `failed` action) and the next one goes on.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Time a message's parse may take before it is stopped. Default `2s`.
    pub message_time: Option<NumOrText>,
    /// Memory a message's parse may hold at once, besides the raw message. Default `64MB`.
    pub message_memory: Option<NumOrText>,
    /// Wall time after which a parse that did not stop is abandoned. Default `10s`.
    pub watchdog: Option<NumOrText>,
}
