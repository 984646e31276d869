//! Where a password or token comes from. The configuration only ever holds the
//! *source*; the value is fetched at each connect ([`Secret::resolve`]) so a
//! rotated password or a refreshed OAuth token is picked up without a restart,
//! and the value never sits in the settings (nor in their `Debug` output).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use super::ConfigError;

/// How long a secret command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A secret's source.
///
/// `Debug` and `Display` show only the kind of source and a harmless name (file
/// path, variable name, the command's program): a command's arguments are hidden
/// because operators sometimes put tokens in them.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Read this file; one trailing newline (`\n` or `\r\n`) is removed.
    File(PathBuf),
    /// Run this program with these arguments (no shell); its stdout, trimmed, is the secret.
    Command(Vec<String>),
    /// Read this environment variable.
    Env(String),
    /// Read the systemd credential of this name: `$CREDENTIALS_DIRECTORY/<name>` (`LoadCredential=`).
    Credential(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::File(p) => write!(f, "Secret::File({p:?})"),
            Secret::Command(argv) => write!(
                f,
                "Secret::Command({:?} + {} hidden argument(s))",
                argv.first().map(String::as_str).unwrap_or(""),
                argv.len().saturating_sub(1)
            ),
            Secret::Env(v) => write!(f, "Secret::Env({v:?})"),
            Secret::Credential(c) => write!(f, "Secret::Credential({c:?})"),
        }
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::File(p) => write!(f, "file `{}`", p.display()),
            Secret::Command(argv) => write!(
                f,
                "command `{}`",
                argv.first().map(String::as_str).unwrap_or("")
            ),
            Secret::Env(v) => write!(f, "environment variable `{v}`"),
            Secret::Credential(c) => write!(f, "systemd credential `{c}`"),
        }
    }
}

impl Secret {
    /// Fetch the secret now. Errors name the source but never contain the value
    /// or the command's output.
    pub async fn resolve(&self) -> Result<String, ConfigError> {
        self.resolve_within(COMMAND_TIMEOUT).await
    }

    /// [`Secret::resolve`] with another limit for a command (tests, or a
    /// caller with a deadline of its own); a command still running then is killed.
    pub async fn resolve_within(&self, timeout: Duration) -> Result<String, ConfigError> {
        match self {
            Secret::File(path) => read_file(path).await.map_err(|reason| self.error(reason)),
            Secret::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(v),
                Ok(_) => Err(self.error("is empty".into())),
                Err(std::env::VarError::NotPresent) => Err(self.error("is not set".into())),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(self.error("is not valid UTF-8".into()))
                }
            },
            Secret::Credential(name) => {
                let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
                    return Err(self.error(format!(
                        "`$CREDENTIALS_DIRECTORY` is not set; run leje under systemd with \
                         `LoadCredential={name}:/path/to/secret` (or use `password_file`)"
                    )));
                };
                read_file(&PathBuf::from(dir).join(name))
                    .await
                    .map_err(|reason| self.error(reason))
            }
            Secret::Command(argv) => run_command(argv, timeout)
                .await
                .map_err(|reason| self.error(reason)),
        }
    }

    fn error(&self, reason: String) -> ConfigError {
        ConfigError::Secret {
            source_desc: self.to_string(),
            reason,
        }
    }
}

async fn read_file(path: &std::path::Path) -> Result<String, String> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut s = String::from_utf8(bytes).map_err(|_| "is not valid UTF-8".to_string())?;
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    if s.is_empty() {
        return Err("is empty".into());
    }
    Ok(s)
}

async fn run_command(argv: &[String], timeout: Duration) -> Result<String, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("is empty".into());
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // NOTE: stderr is discarded, not inherited: helper tools (pass, gpg,
        // oauth2 scripts) sometimes echo tokens or prompts there.
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot be started: {e}"))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("failed: {e}")),
        Err(_) => {
            return Err(format!(
                "did not finish within {}",
                super::units::format_duration(timeout)
            ))
        }
    };
    if !out.status.success() {
        return Err(format!("failed ({})", out.status));
    }
    let s = String::from_utf8(out.stdout).map_err(|_| "printed invalid UTF-8".to_string())?;
    let s = s.trim();
    if s.is_empty() {
        return Err("printed nothing".into());
    }
    Ok(s.to_string())
}
