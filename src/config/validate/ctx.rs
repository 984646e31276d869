//! The validation context: collects errors with their key paths and
//! positions, and the small checks every section uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::is_loopback;
use crate::config::file::CommandLine;
use crate::config::settings::TlsMode;
use crate::config::source::KeyMap;
use crate::config::units::{self, NumOrText};
use crate::config::{ConfigError, Secret};

pub(crate) struct Ctx<'a> {
    pub(super) file: String,
    pub(super) keys: Option<&'a KeyMap>,
    pub(super) base: Option<PathBuf>,
    pub(super) errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, key: &str, reason: impl Into<String>) {
        let mut at = None;
        if let Some(keys) = self.keys {
            let mut k = key;
            // A missing key has no position; point at the nearest enclosing one.
            loop {
                if let Some(p) = keys.position(k) {
                    at = Some(p);
                    break;
                }
                match k.rfind(['.', '[']) {
                    Some(i) => k = &k[..i],
                    None => break,
                }
            }
        }
        self.errors.push(ConfigError::Invalid {
            file: self.file.clone(),
            at,
            key: key.to_string(),
            reason: reason.into(),
        });
    }

    /// Relative paths are relative to the config file's directory.
    pub(super) fn path(&self, p: &Path) -> PathBuf {
        match &self.base {
            Some(base) if p.is_relative() => base.join(p),
            _ => p.to_path_buf(),
        }
    }

    pub(super) fn duration(
        &mut self,
        key: &str,
        v: &Option<NumOrText>,
        default: Duration,
    ) -> Duration {
        match v.as_ref().map(units::parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(key, e);
                default
            }
        }
    }

    pub(super) fn size(&mut self, key: &str, v: &Option<NumOrText>, default: u64) -> u64 {
        match v.as_ref().map(units::parse_size) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(key, e);
                default
            }
        }
    }

    pub(super) fn port(&mut self, key: &str, v: Option<i64>, default: u16) -> u16 {
        match v {
            None => default,
            Some(p) => match u16::try_from(p) {
                Ok(p) if p > 0 => p,
                _ => {
                    self.err(key, format!("`{p}` is not a port number (1-65535)"));
                    default
                }
            },
        }
    }

    pub(super) fn count(&mut self, key: &str, v: Option<i64>, max: i64, default: u32) -> u32 {
        match v {
            None => default,
            Some(n) if (1..=max).contains(&n) => n as u32,
            Some(n) => {
                self.err(key, format!("`{n}` is out of range (1-{max})"));
                default
            }
        }
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        key: &str,
        v: &Option<String>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(s) = v else { return default };
        match options
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s.trim()))
        {
            Some((_, t)) => *t,
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
                self.err(key, format!("`{s}` is not one of {}", names.join(", ")));
                default
            }
        }
    }

    pub(super) fn required(&mut self, key: &str, v: &Option<String>) -> String {
        match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            Some(_) => {
                self.err(key, "must not be empty");
                String::new()
            }
            None => {
                self.err(key, "is required");
                String::new()
            }
        }
    }

    pub(super) fn optional(&mut self, key: &str, v: &Option<String>) -> Option<String> {
        v.is_some().then(|| self.required(key, v))
    }

    pub(super) fn tls(&mut self, prefix: &str, v: &Option<String>, default: TlsMode) -> TlsMode {
        let opts = [
            ("implicit", TlsMode::Implicit),
            ("starttls", TlsMode::StartTls),
            ("none", TlsMode::None),
        ];
        self.choice(&format!("{prefix}.tls"), v, &opts, default)
    }

    pub(super) fn check_plaintext(
        &mut self,
        prefix: &str,
        tls: TlsMode,
        host: &str,
        allow: Option<bool>,
    ) {
        if tls == TlsMode::None && !host.is_empty() && !is_loopback(host) && allow != Some(true) {
            self.err(
                &format!("{prefix}.tls"),
                format!(
                    "`none` sends the password in clear; it is allowed only to a loopback host \
                     (`localhost`, 127.0.0.0/8, `::1`), not `{host}` (set `allow_insecure = true` \
                     to force it)"
                ),
            );
        }
    }

    pub(super) fn existing_file(&mut self, key: &str, p: &Path) -> PathBuf {
        let p = self.path(p);
        if let Err(e) = std::fs::metadata(&p) {
            if e.kind() == std::io::ErrorKind::NotFound {
                self.err(key, format!("`{}` does not exist", p.display()));
            }
            // NOTE: other errors (permission denied) are not reported: check-config
            // may run as another user than the service.
        }
        p
    }

    /// Exactly one (or, if not `required`, at most one) of the four secret sources.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn secret(
        &mut self,
        prefix: &str,
        what: &str,
        file: &Option<PathBuf>,
        command: &Option<CommandLine>,
        env: &Option<String>,
        credential: &Option<String>,
        required: bool,
    ) -> Option<Secret> {
        let names = [
            format!("{what}_file"),
            format!("{what}_command"),
            format!("{what}_env"),
            format!("{what}_credential"),
        ];
        let set = [
            file.is_some(),
            command.is_some(),
            env.is_some(),
            credential.is_some(),
        ];
        let given: Vec<&String> = names
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(n, _)| n)
            .collect();
        let all = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match given.len() {
            0 if required => {
                self.err(prefix, format!("needs a {what}: set one of {all}"));
                return None;
            }
            0 => return None,
            1 => {}
            _ => {
                let list = given.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>();
                self.err(
                    &format!("{prefix}.{}", given[1]),
                    format!("set only one {what} source; found {}", list.join(" and ")),
                );
                return None;
            }
        }
        let key = format!("{prefix}.{}", given[0]);
        if let Some(p) = file {
            return Some(Secret::File(self.existing_file(&key, p)));
        }
        if let Some(c) = command {
            let argv = c.argv();
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                self.err(&key, "must name a program");
                return None;
            }
            let program = Path::new(&argv[0]);
            if program.is_absolute() && !program.exists() {
                self.err(&key, format!("program `{}` does not exist", argv[0]));
            }
            return Some(Secret::Command(argv));
        }
        if let Some(e) = env {
            if e.is_empty() || e.contains(['=', '\0']) {
                self.err(&key, format!("`{e}` is not an environment variable name"));
                return None;
            }
            return Some(Secret::Env(e.clone()));
        }
        if let Some(c) = credential {
            if c.is_empty() || c.contains(['/', '\0']) || c == "." || c == ".." {
                self.err(&key, format!("`{c}` is not a credential name"));
                return None;
            }
            return Some(Secret::Credential(c.clone()));
        }
        None
    }
}
