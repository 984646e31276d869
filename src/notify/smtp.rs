//! SMTP submission with lettre: transport construction, error classification, backoff.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The transport leje sends with.
pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// How the connection is secured (mirrors the config's `tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Implicit,
    /// Plain connect, then STARTTLS, required (port 587).
    StartTls,
    /// No TLS at all; the config allows it only towards loopback.
    None,
}

/// Everything needed to connect; the password is already resolved from its secret.
#[derive(Clone)]
pub struct Params {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Extra CA certificates (PEM), added to the system roots.
    pub ca_file: Option<PathBuf>,
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("ca_file", &self.ca_file)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the transport could not be set up (never retried: the config is wrong).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read smtp.ca_file `{}`: {source}", path.display())]
    CaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("smtp.ca_file `{}` holds no usable PEM certificate: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },
    #[error("cannot set up TLS for `{host}`: {reason}")]
    Tls { host: String, reason: String },
}

/// Build the transport. Connects lazily (at the first send).
pub fn transport(p: &Params) -> Result<Transport, SetupError> {
    let tls = match p.security {
        Security::None => Tls::None,
        Security::Implicit | Security::StartTls => {
            let mut b = TlsParameters::builder(p.host.clone());
            if let Some(path) = &p.ca_file {
                let pem = std::fs::read(path).map_err(|source| SetupError::CaFile {
                    path: path.clone(),
                    source,
                })?;
                // NOTE: an empty or non-PEM file would otherwise add no root and pass silently.
                if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                    return Err(SetupError::CaCert {
                        path: path.clone(),
                        reason: "no `-----BEGIN CERTIFICATE-----` block".into(),
                    });
                }
                let cert = Certificate::from_pem(&pem).map_err(|e| SetupError::CaCert {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                b = b.add_root_certificate(cert);
            }
            let params = b.build_rustls().map_err(|e| SetupError::Tls {
                host: p.host.clone(),
                reason: e.to_string(),
            })?;
            if p.security == Security::Implicit {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(p.host.as_str())
        .port(p.port)
        .tls(tls)
        .timeout(Some(p.timeout));
    if let Some((user, pass)) = &p.credentials {
        b = b.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    Ok(b.build())
}

/// What happened to one send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 4xx, connection refused/reset, timeout, TLS handshake trouble: try again later.
    Temporary(String),
    /// 5xx or a message the server can never accept: give up, a person must look.
    Permanent(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Temporary(m) | Failure::Permanent(m) => m,
        }
    }
}

/// Sort a lettre error into temporary or permanent.
pub fn classify(e: &lettre::transport::smtp::Error) -> Failure {
    let text = describe(e);
    if e.is_permanent() {
        Failure::Permanent(text)
    } else {
        // NOTE: transient responses, connection errors, timeouts and TLS errors are all
        // retried until smtp.retry_for runs out: a server being restarted, a network
        // blip or an expired certificate being replaced all heal without us.
        Failure::Temporary(text)
    }
}

/// One line: the status code (if any) and the error chain.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Send one message; `Ok` means the server accepted it for every recipient.
pub async fn send(t: &Transport, msg: Message) -> Result<(), Failure> {
    t.send(msg).await.map(|_| ()).map_err(|e| classify(&e))
}

/// Delay before attempt `attempts + 1`: 1 min, 2, 4, … capped at 1 h, ±20 % jitter
/// so that many rows failing together do not retry in lockstep.
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base = 60u64.saturating_mul(1u64 << attempts.min(6)).min(3600);
    let j = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64(base as f64 * j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0, 0.5), Duration::from_secs(60));
        assert_eq!(backoff(1, 0.5), Duration::from_secs(120));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(480));
        assert_eq!(backoff(6, 0.5), Duration::from_secs(3600));
        assert_eq!(backoff(40, 0.5), Duration::from_secs(3600));
        assert_eq!(backoff(0, 0.0), Duration::from_secs(48));
        assert_eq!(backoff(0, 1.0), Duration::from_secs(72));
    }

    #[tokio::test]
    async fn refused_connection_is_temporary() {
        // A port nothing listens on: bind, learn the port, close.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let t = transport(&Params {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let msg = Message::builder()
            .from("a@example.com".parse().unwrap())
            .to("b@example.com".parse().unwrap())
            .body(String::from("x"))
            .unwrap();
        match send(&t, msg).await {
            Err(Failure::Temporary(m)) => assert!(!m.is_empty()),
            other => panic!("expected a temporary failure, got {other:?}"),
        }
    }

    fn params(security: Security, ca_file: Option<PathBuf>) -> Params {
        Params {
            host: "smtp.example.com".into(),
            port: 587,
            security,
            ca_file,
            credentials: Some(("u".into(), "p".into())),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn ca_file_bundle_is_accepted_and_garbage_is_named() {
        let bundle = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
        if bundle.is_file() {
            for sec in [Security::StartTls, Security::Implicit] {
                transport(&params(sec, Some(bundle.clone()))).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = transport(&params(Security::StartTls, Some(bad.clone()))).unwrap_err();
        assert!(matches!(e, SetupError::CaCert { .. }), "{e}");
        assert!(e.to_string().contains(&bad.display().to_string()), "{e}");
        std::fs::write(&bad, "").unwrap();
        let e = transport(&params(Security::StartTls, Some(bad.clone()))).unwrap_err();
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        // Params' Debug never shows the password.
        assert!(!format!("{:?}", params(Security::None, None)).contains("\"p\""));
    }

    #[test]
    fn missing_ca_file_is_named() {
        let e = transport(&Params {
            host: "smtp.example.com".into(),
            port: 587,
            security: Security::StartTls,
            ca_file: Some("/nonexistent/ca.pem".into()),
            credentials: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
