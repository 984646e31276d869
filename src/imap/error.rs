//! Errors of the IMAP layer, sorted by what the caller does about them.

use std::time::Duration;

/// Why talking to an IMAP server failed.
///
/// Every variant is retried by the daemon with backoff; the variant decides the
/// log wording and the `kind` label of the error metric.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// TCP connect or DNS failed (server down, wrong host/port, network).
    #[error("cannot connect to `{addr}`: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// TLS handshake or certificate problem.
    #[error("TLS with `{host}` failed: {reason}")]
    Tls { host: String, reason: String },
    /// The password or token could not be obtained (file missing, command failed, …).
    #[error("cannot obtain the credential for `{user}`: {reason}")]
    Credential { user: String, reason: String },
    /// The server rejected the credentials.
    #[error("login as `{user}` rejected: {reason}")]
    Auth { user: String, reason: String },
    /// The server said BYE (shutdown, idle timeout, or throttling such as Microsoft's
    /// "BYE Connection is closed. 14" / "too many connections").
    #[error("server closed the connection: {0}")]
    Bye(String),
    /// The connection broke (reset, EOF, I/O error).
    #[error("connection lost: {0}")]
    Io(String),
    /// No answer within the deadline.
    #[error("no answer from the server within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    /// The folder to watch does not exist or cannot be selected.
    #[error("cannot select folder `{folder}`: {reason}")]
    Select { folder: String, reason: String },
    /// The server answered NO/BAD or something unparseable to a command.
    #[error("`{command}` failed: {reason}")]
    Command { command: String, reason: String },
    /// The server lacks something leje needs (e.g. UIDVALIDITY).
    #[error("server not usable: {0}")]
    Unsupported(String),
}

impl ImapError {
    /// Short stable label for the `leje_errors_total{kind=…}` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            ImapError::Connect { .. } => "connect",
            ImapError::Tls { .. } => "tls",
            ImapError::Credential { .. } => "credential",
            ImapError::Auth { .. } => "auth",
            ImapError::Bye(_) => "bye",
            ImapError::Io(_) => "io",
            ImapError::Timeout(..) => "timeout",
            ImapError::Select { .. } => "select",
            ImapError::Command { .. } => "command",
            ImapError::Unsupported(_) => "unsupported",
        }
    }

    /// The session is unusable (broken, silent or closed by the server): the
    /// caller must reconnect rather than go on with the next command.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            ImapError::Io(_) | ImapError::Timeout(..) | ImapError::Bye(_)
        )
    }

    /// Wraps an async-imap error from `command`.
    pub(crate) fn from_imap(command: &str, e: async_imap::error::Error) -> ImapError {
        use async_imap::error::Error as E;
        match e {
            E::Io(io) => ImapError::Io(io.to_string()),
            E::ConnectionLost => ImapError::Io("the server closed the connection".into()),
            other => ImapError::Command {
                command: command.to_string(),
                reason: tidy(&other.to_string()),
            },
        }
    }
}

/// async-imap renders NO/BAD as `no response: code: None, info: Some("…")`;
/// keep only the server's text when there is one.
pub(crate) fn tidy(s: &str) -> String {
    if let Some(i) = s.find("info: Some(\"") {
        let rest = &s[i + 12..];
        if let Some(j) = rest.rfind("\")") {
            return rest[..j].to_string();
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_keeps_server_text() {
        assert_eq!(
            tidy("no response: code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")"),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(tidy("connection lost"), "connection lost");
    }

    #[test]
    fn kinds_are_stable() {
        assert_eq!(ImapError::Bye("x".into()).kind(), "bye");
        assert_eq!(
            ImapError::Timeout(Duration::from_secs(1), "FETCH").kind(),
            "timeout"
        );
    }
}
