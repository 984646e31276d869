//! Opening an authenticated IMAP session: TCP, implicit TLS or STARTTLS (or plain on
//! loopback), greeting, LOGIN or AUTHENTICATE XOAUTH2, CAPABILITY.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::error::{tidy, ImapError};
use crate::config::{Auth, MailboxSettings, TlsMode};

/// How long connecting, the TLS handshake, the greeting and the login may take together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The byte stream under an IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An authenticated async-imap session over [`Stream`].
pub type RawSession = async_imap::Session<Stream>;

/// What the server offers that changes how leje works with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// RFC 2177 IDLE.
    pub idle: bool,
    /// RFC 6851 MOVE; else COPY + STORE \Deleted + EXPUNGE.
    pub r#move: bool,
    /// RFC 4315 UIDPLUS (UID EXPUNGE), so the fallback expunges only our messages.
    pub uidplus: bool,
}

/// XOAUTH2 (Gmail, Microsoft 365): `user=…^Aauth=Bearer …^A^A`.
///
/// On failure the server sends a base64 JSON error as a second challenge, to which the
/// client must answer with an empty line; the tagged NO follows.
pub struct XOAuth2 {
    user: String,
    token: String,
    sent: bool,
}

impl XOAuth2 {
    pub fn new(user: &str, token: &str) -> Self {
        XOAuth2 {
            user: user.to_string(),
            token: token.to_string(),
            sent: false,
        }
    }
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        if self.sent {
            return String::new();
        }
        self.sent = true;
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// Builds the rustls client configuration: the system's roots plus `ca_file`.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read CA file `{}`: {e}", path.display()))?;
        let mut n = 0;
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.map_err(|e| format!("bad certificate in `{}`: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("unusable certificate in `{}`: {e}", path.display()))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("no certificate found in `{}`", path.display()));
        }
    }
    if roots.is_empty() {
        return Err("no trusted root certificates (system store empty and no ca_file)".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<Stream, ImapError> {
    let tls_err = |reason: String| ImapError::Tls {
        host: host.to_string(),
        reason,
    };
    let config = tls_config(ca_file).map_err(tls_err)?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| tls_err(format!("invalid server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| tls_err(e.to_string()))?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// STARTTLS on a fresh plaintext connection, before any other command (RFC 3501 6.2.1).
/// Done by hand because async-imap has no STARTTLS.
async fn starttls(tcp: TcpStream, host: &str) -> Result<TcpStream, ImapError> {
    let mut rd = BufReader::new(tcp);
    let mut line = String::new();
    rd.read_line(&mut line)
        .await
        .map_err(|e| ImapError::Io(e.to_string()))?;
    check_greeting(&line)?;
    rd.get_mut()
        .write_all(b"s1 STARTTLS\r\n")
        .await
        .map_err(|e| ImapError::Io(e.to_string()))?;
    loop {
        line.clear();
        let n = rd
            .read_line(&mut line)
            .await
            .map_err(|e| ImapError::Io(e.to_string()))?;
        if n == 0 {
            return Err(ImapError::Io("connection closed during STARTTLS".into()));
        }
        if let Some(rest) = line.strip_prefix("s1 ") {
            if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("OK") {
                break;
            }
            return Err(ImapError::Tls {
                host: host.to_string(),
                reason: format!("server refused STARTTLS: {}", rest.trim_end()),
            });
        }
        if line.starts_with("* BYE") {
            return Err(ImapError::Bye(line.trim_end().to_string()));
        }
    }
    if !rd.buffer().is_empty() {
        // NOTE: bytes after the tagged OK but before the handshake would be a
        // plaintext injection attempt (CVE-2011-0411 style); refuse.
        return Err(ImapError::Tls {
            host: host.to_string(),
            reason: "unexpected data after STARTTLS OK".into(),
        });
    }
    Ok(rd.into_inner())
}

fn check_greeting(line: &str) -> Result<(), ImapError> {
    let l = line.trim_end();
    if l.starts_with("* OK") || l.starts_with("* PREAUTH") {
        Ok(())
    } else if l.starts_with("* BYE") {
        Err(ImapError::Bye(l.to_string()))
    } else if l.is_empty() {
        Err(ImapError::Io(
            "connection closed before the greeting".into(),
        ))
    } else {
        Err(ImapError::Unsupported(format!(
            "not an IMAP greeting: `{}`",
            l.chars().take(80).collect::<String>()
        )))
    }
}

/// Connects, secures, authenticates. The whole sequence is bounded by [`CONNECT_TIMEOUT`].
pub async fn connect(mb: &MailboxSettings) -> Result<(RawSession, Caps), ImapError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(mb))
        .await
        .map_err(|_| ImapError::Timeout(CONNECT_TIMEOUT, "connect and login"))?
}

async fn connect_inner(mb: &MailboxSettings) -> Result<(RawSession, Caps), ImapError> {
    // The credential is resolved first: a broken token command should say so, not
    // look like a network problem.
    let (secret, xoauth) = match &mb.auth {
        Auth::Password(s) => (s, false),
        Auth::XOAuth2(s) => (s, true),
    };
    let credential = secret.resolve().await.map_err(|e| ImapError::Credential {
        user: mb.username.clone(),
        reason: e.to_string(),
    })?;

    let addr = format!("{}:{}", mb.host, mb.port);
    let tcp = TcpStream::connect((mb.host.as_str(), mb.port))
        .await
        .map_err(|e| ImapError::Connect {
            addr: addr.clone(),
            source: e,
        })?;
    let _ = tcp.set_nodelay(true);

    let (stream, greeted) = match mb.tls {
        TlsMode::Implicit => (tls_wrap(tcp, &mb.host, mb.ca_file.as_deref()).await?, false),
        TlsMode::StartTls => {
            let tcp = starttls(tcp, &mb.host).await?;
            (tls_wrap(tcp, &mb.host, mb.ca_file.as_deref()).await?, true)
        }
        TlsMode::None => (Stream::Plain(tcp), false),
    };

    let mut client = async_imap::Client::new(stream);
    if !greeted {
        let greeting = client
            .read_response()
            .await
            .map_err(|e| ImapError::Io(e.to_string()))?
            .ok_or_else(|| ImapError::Io("connection closed before the greeting".into()))?;
        use async_imap::imap_proto::{Response, Status};
        match greeting.parsed() {
            Response::Data {
                status: Status::Bye,
                information,
                ..
            } => {
                return Err(ImapError::Bye(
                    information.as_deref().unwrap_or("BYE").to_string(),
                ))
            }
            Response::Data { .. } => {}
            other => {
                return Err(ImapError::Unsupported(format!(
                    "not an IMAP greeting: {other:?}"
                )))
            }
        }
    }

    let login = if xoauth {
        client
            .authenticate("XOAUTH2", XOAuth2::new(&mb.username, &credential))
            .await
    } else {
        client.login(&mb.username, &credential).await
    };
    drop(credential);
    let mut session = login.map_err(|(e, _client)| {
        use async_imap::error::Error as E;
        match e {
            E::No(s) | E::Bad(s) => ImapError::Auth {
                user: mb.username.clone(),
                reason: tidy(&s),
            },
            other => ImapError::from_imap("LOGIN", other),
        }
    })?;

    let caps = session
        .capabilities()
        .await
        .map_err(|e| ImapError::from_imap("CAPABILITY", e))?;
    let caps = Caps {
        idle: caps.has_str("IDLE"),
        r#move: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    };
    // Be polite and leave a trace in the server's logs of who we are; ignore errors.
    let _ = session.get_mut().flush().await;
    Ok((session, caps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator;

    #[test]
    fn xoauth2_first_answer_then_empty() {
        let mut a = XOAuth2::new("shared@example.al", "ya29.tok");
        assert_eq!(
            a.process(b""),
            "user=shared@example.al\x01auth=Bearer ya29.tok\x01\x01"
        );
        assert_eq!(a.process(b"{\"status\":\"401\"}"), "");
    }

    #[test]
    fn greeting_checks() {
        assert!(check_greeting("* OK [CAPABILITY IMAP4rev1] ready\r\n").is_ok());
        assert!(matches!(
            check_greeting("* BYE too many connections\r\n"),
            Err(ImapError::Bye(_))
        ));
        assert!(check_greeting("").is_err());
        assert!(check_greeting("220 smtp ready").is_err());
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let e = tls_config(Some(std::path::Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
