//! Configuration: a TOML file (or the embedded defaults) converted once into
//! validated runtime [`Settings`]. Every error in a file is reported at once,
//! each naming the file, the key path and the reason.
//!
//! - [`file`](mod@file): the serde structs (the file format; each field documents its default).
//! - [`settings`]: the runtime types the rest of leje codes against.
//! - [`validate`]: file → settings, collecting all errors.
//! - [`secret`]: where passwords and tokens come from; resolved at connect time.
//! - [`units`]: durations and sizes.

pub mod citizenship;
pub mod cli;
pub mod file;
pub mod followup;
pub mod secret;
pub mod settings;
mod source;
pub mod trust;
pub mod units;
pub mod validate;
pub mod web;

use std::path::{Path, PathBuf};

pub use citizenship::CitizenshipSettings;
pub use secret::Secret;
pub use settings::{
    Action, Actions, Auth, HttpSettings, LogSettings, MailboxSettings, NotifySettings, OfficeInfo,
    PaymentRoute, Settings, SmtpSettings, TlsMode,
};
pub use trust::{AutoSend, TrustSettings};

/// Where the configuration lives when neither `--config` nor `$LEJE_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/leje/leje.toml";

/// What `source` names in messages about the embedded defaults.
pub const EMBEDDED: &str = "<embedded defaults>";

/// One problem with the configuration, or with fetching a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config `{file}`: {reason}")]
    Read {
        file: String,
        reason: String,
        /// The file does not exist (as opposed to unreadable).
        not_found: bool,
    },
    /// The file is not valid TOML.
    #[error("{file}:{line}:{column}: invalid TOML: {reason}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    /// A key is unknown, missing, or has a bad value.
    #[error("{}", fmt_invalid(file, at, key, reason))]
    Invalid {
        file: String,
        /// 1-based line and column of the key, when known.
        at: Option<(usize, usize)>,
        /// Key path, e.g. `mailbox[1].port`.
        key: String,
        reason: String,
    },
    /// A secret could not be fetched (at connect time).
    #[error("secret from {source_desc}: {reason}")]
    Secret { source_desc: String, reason: String },
}

fn fmt_invalid(file: &str, at: &Option<(usize, usize)>, key: &str, reason: &str) -> String {
    let loc = match at {
        Some((l, c)) => format!("{file}:{l}:{c}"),
        None => file.to_string(),
    };
    if key.is_empty() {
        format!("{loc}: {reason}")
    } else {
        format!("{loc}: {key}: {reason}")
    }
}

impl ConfigError {
    /// The key path for [`ConfigError::Invalid`], if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Every error found in one configuration. Display: one per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    /// The errors, in file order as far as possible.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Load and validate the configuration: `None` = the embedded defaults
/// (no mailboxes, no SMTP, the twelve offices' names).
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigErrors> {
    let Some(path) = path else {
        return validate::to_settings(&Default::default(), None, None).map_err(ConfigErrors);
    };
    let name = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::Read {
            file: name.clone(),
            reason: e.to_string(),
            not_found: e.kind() == std::io::ErrorKind::NotFound,
        }])
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        ConfigErrors(vec![ConfigError::Read {
            file: name.clone(),
            reason: format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            not_found: false,
        }])
    })?;
    // NOTE: editors on Windows may save a byte-order mark; TOML does not allow one.
    load_str(path, text.strip_prefix('\u{feff}').unwrap_or(&text))
}

/// Validate configuration text as if it had been read from `path`
/// (relative paths in it are resolved against `path`'s directory).
pub fn load_str(path: &Path, text: &str) -> Result<Settings, ConfigErrors> {
    let name = path.display().to_string();
    let parsed = source::parse(&name, text).map_err(ConfigErrors)?;
    let checked = validate::to_settings(&parsed.file, Some(path), Some(&parsed.keys));
    if parsed.errors.is_empty() {
        return checked.map_err(ConfigErrors);
    }
    // Structural errors first found; add the value errors in the rest of the
    // file, except those about keys that were left out because of them.
    // NOTE: also errors on an enclosing key (`mailbox[0]: needs a password`
    // after a bad `mailbox[0].password_command`): they judge the keys together.
    let inside = |a: &str, b: &str| {
        a.strip_prefix(b)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
    };
    let under_removed = |key: &str| {
        parsed
            .removed
            .iter()
            .any(|r| key == r || inside(key, r) || inside(r, key))
    };
    let mut all = parsed.errors;
    if let Err(more) = checked {
        all.extend(
            more.into_iter()
                .filter(|e| e.key().is_none_or(|k| !under_removed(k))),
        );
    }
    all.sort_by_key(|e| match e {
        ConfigError::Invalid { at: Some(at), .. } => *at,
        _ => (usize::MAX, 0),
    });
    Err(ConfigErrors(all))
}

/// The configuration file to use: `--config` / `$LEJE_CONFIG` (clap fills
/// both into `globals.config`), else [`DEFAULT_PATH`] if it exists, else
/// `None` (embedded defaults).
pub fn resolve_path(globals: &crate::cli::Globals) -> Option<PathBuf> {
    if let Some(p) = &globals.config {
        return Some(p.clone());
    }
    let default = Path::new(DEFAULT_PATH);
    default.exists().then(|| default.to_path_buf())
}

/// What every subcommand does: [`resolve_path`], [`load`], then apply
/// `--store` / `$LEJE_STORE` over the config's `store`.
pub fn load_for(globals: &crate::cli::Globals) -> Result<Settings, ConfigErrors> {
    let mut settings = load(resolve_path(globals).as_deref())?;
    if let Some(url) = &globals.store {
        settings.store_url = url.clone();
    }
    Ok(settings)
}
