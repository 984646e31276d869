//! Logging setup and redaction of personal data.
//!
//! Log lines go to stderr through `tracing`: human-readable with timestamps on
//! a terminal, without timestamps under systemd (journald adds its own), or
//! JSON lines on request. `RUST_LOG`, when set, overrides the configured level.
//!
//! # Travel-document numbers
//!
//! A travel-document (passport) number identifies a person. **Every log line
//! that mentions one must wrap it in [`Redacted`]** (or pass it through
//! [`redact_doc`]):
//!
//! ```
//! use leje::logging::Redacted;
//! let doc = "AB1234589";
//! tracing::info!(doc = %Redacted(doc), "case created");
//! assert_eq!(Redacted(doc).to_string(), "AB*****89");
//! ```
//!
//! Enough is kept (first two and last two characters) for an operator to match
//! a line to a case they already know, not enough to learn a number.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::cli::LogFormat;

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Install the global subscriber. Call once, early; later calls do nothing
/// (so tests and library users may call it freely).
///
/// `level` is an `EnvFilter` directive (`info`, `leje=debug,warn`); an invalid
/// one falls back to `info` with a warning. `RUST_LOG` overrides it.
pub fn init(format: LogFormat, level: &str) {
    let bad_rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty() && rust_log().is_none());
    let (filter, bad_level) = match rust_log() {
        Some(f) => (f, None),
        None => match EnvFilter::builder().parse(level) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
        },
    };
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let ansi = is_terminal();
    let installed = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Auto if under_journald() => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .without_time()
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Auto | LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if installed.is_ok() {
        let _ = FILTER.set(handle);
        if let Some(v) = bad_rust_log {
            tracing::warn!("RUST_LOG `{v}` is not a valid filter; ignoring it");
        }
        if let Some(e) = bad_level {
            tracing::warn!("log level `{level}` is invalid ({e}); using `info`");
        }
    }
}

/// Set up logging for a subcommand. `run` takes the format and level from the
/// configuration's `[log]` (an explicit `--log-format text|json` wins);
/// other commands use `--log-format` and `info`. A configuration that does not
/// load is ignored here: the command itself reports it.
pub fn init_for(globals: &crate::cli::Globals, use_config: bool) {
    let mut format = globals.log_format;
    let mut level = "info".to_string();
    if use_config {
        if let Ok(s) = crate::config::load(crate::config::resolve_path(globals).as_deref()) {
            if format == LogFormat::Auto {
                format = s.log.format;
            }
            level = s.log.level;
        }
    }
    init(format, &level);
}

/// Change the level at run time (after a configuration reload). Does nothing
/// when `RUST_LOG` is set or logging was not set up by [`init`].
pub fn set_level(level: &str) -> Result<(), String> {
    let filter = EnvFilter::builder()
        .parse(level)
        .map_err(|e| format!("log level `{level}` is invalid: {e}"))?;
    if rust_log().is_some() {
        return Ok(());
    }
    if let Some(h) = FILTER.get() {
        h.reload(filter).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn rust_log() -> Option<EnvFilter> {
    let v = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    EnvFilter::builder().parse(v).ok()
}

fn is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Is stderr connected to the journal? systemd sets `JOURNAL_STREAM=DEV:INODE`
/// for the service's stdout/stderr stream; checking that it is really our
/// stderr avoids dropping timestamps when a child of the service redirects it.
fn under_journald() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    journal_stream_matches(&v).unwrap_or(true)
}

fn journal_stream_matches(v: &str) -> Option<bool> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let (dev, ino) = v.split_once(':')?;
    let (dev, ino): (u64, u64) = (dev.parse().ok()?, ino.parse().ok()?);
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some(meta.dev() == dev && meta.ino() == ino)
}

/// Mask a travel-document number for logs: the first two and last two
/// characters stay, the rest become `*` (`AB1234589` → `AB*****89`). Numbers
/// of six characters or fewer are masked entirely, since four known
/// characters out of six would give most of it away.
pub fn redact_doc(doc: &str) -> String {
    let chars: Vec<char> = doc.chars().collect();
    let n = chars.len();
    if n <= 6 {
        return "*".repeat(n.max(1));
    }
    let mut out = String::with_capacity(n);
    out.extend(&chars[..2]);
    out.extend(std::iter::repeat_n('*', n - 4));
    out.extend(&chars[n - 2..]);
    out
}

/// A travel-document number that displays redacted ([`redact_doc`]). Use it for
/// every log field or message that mentions one: `doc = %Redacted(&doc)`.
/// `Debug` is redacted too, so `?Redacted(..)` is equally safe.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_doc(self.0))
    }
}

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", redact_doc(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_two_each_side() {
        assert_eq!(redact_doc("AB1234589"), "AB*****89");
        assert_eq!(redact_doc("BZ0012345"), "BZ*****45");
        assert_eq!(redact_doc("1234567"), "12***67");
        assert_eq!(format!("{}", Redacted("AB1234589")), "AB*****89");
        assert_eq!(format!("{:?}", Redacted("AB1234589")), "\"AB*****89\"");
    }

    #[test]
    fn short_numbers_are_fully_masked() {
        assert_eq!(redact_doc("AB1234"), "******");
        assert_eq!(redact_doc("A1"), "**");
        assert_eq!(redact_doc(""), "*");
    }

    #[test]
    fn non_ascii_does_not_panic() {
        assert_eq!(redact_doc("ÇË12345ÇË"), "ÇË*****ÇË");
    }

    #[test]
    fn journal_stream_parsing() {
        assert_eq!(journal_stream_matches("garbage"), None);
        assert_eq!(journal_stream_matches("1:x"), None);
        // Some real device:inode that is certainly not our stderr.
        assert_eq!(journal_stream_matches("0:1"), Some(false));
    }
}
