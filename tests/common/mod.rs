//! Shared helper for the integration tests: the real local mail system and small clients for it.
//!
//! Every integration test that needs servers does
//!
//! ```ignore
//! mod common;
//!
//! #[tokio::test]
//! async fn something() {
//!     let Some(stack) = common::stack() else { return };   // loud SKIPPED, or a panic under CI
//!     let user = common::unique_user("something");          // a fresh address = fresh mailboxes
//!     let mut imap = stack.imap(&user).await;
//!     imap.append("INBOX", raw).await;
//!     let db = stack.fresh_postgres().await;                // dropped again when `db` goes out of scope
//! }
//! ```
//!
//! The servers are the ones `scripts/mailstack` runs (Dovecot IMAP+LMTP, OpenSMTPD, PostgreSQL on
//! loopback). Their details come from the `LEJE_TEST_*` environment (set by `scripts/test`), else from
//! `<repo>/.tmp/mailstack/env`; when nothing answers, the first test in the process starts the stack
//! with `scripts/mailstack start` (and, if the packages are missing, `scripts/mailstack install`).
//! Any address is its own Dovecot user (the full lower-case address); mail sent over SMTP to it lands
//! in that user's INBOX. Folder separator: `/`.
#![allow(dead_code)]

mod imap;
mod postgres;

use std::io::{Read, Write};
use std::net::{TcpStream as StdTcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[allow(unused_imports)]
pub use imap::{TestImap, TestMessage};
pub use postgres::TestDb;

/// Connection details of the running local mail system.
#[derive(Debug, Clone)]
pub struct MailStack {
    /// The stack's state directory (configs, logs, Maildirs, PostgreSQL data).
    pub dir: PathBuf,
    pub imap_host: String,
    pub imap_port: u16,
    /// The one password every IMAP user logs in with.
    pub password: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// Dovecot's LMTP socket (delivers straight into a mailbox without SMTP).
    pub lmtp_socket: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/leje_test` (trust auth on loopback).
    pub postgres_url: String,
    /// Where Dovecot asks whether an OAuth2 token is valid (`GET /userinfo` with the
    /// Bearer token); a test listens there to play the identity provider.
    pub oauth_port: Option<u16>,
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus of real-world and malformed emails, `../shared/corpus` beside the repository.
pub fn corpus_dir() -> PathBuf {
    repo_root().join("..").join("shared").join("corpus")
}

/// True when running under CI (`CI` set and not `false`/`0`): then tests must not skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports that the current test cannot run: a loud `SKIPPED` line on stderr, or a panic under CI so
/// that CI can never pass by skipping. The caller returns right after.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    if in_ci() {
        panic!("{test}: cannot skip under CI (CI is set): {reason}");
    }
    // NOTE: written to the stderr handle directly, not with eprintln!, which the test harness
    // captures and shows only for failing tests: a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n************************************************************\n\
         SKIPPED: {test}: {reason}\n\
         (as root: scripts/mailstack install && scripts/mailstack start)\n\
         ************************************************************\n"
    );
}

/// The running mail system, started if needed (once per test process). `None` after a loud
/// [`skip`] when it cannot be had; panics instead under CI.
pub fn stack() -> Option<&'static MailStack> {
    static STACK: OnceLock<Result<MailStack, String>> = OnceLock::new();
    match STACK.get_or_init(discover) {
        Ok(stack) => Some(stack),
        Err(reason) => {
            skip(reason);
            None
        }
    }
}

/// A name no other test (in this or any earlier run) uses: `prefix-<pid>-<n>-<random>`, lower-case,
/// made only of characters Dovecot accepts in user names.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let salt = fastrand::u32(..) ^ nanos;
    let prefix: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_' | '.') => c,
            _ => '-',
        })
        .collect();
    format!("{prefix}-{}-{n}-{salt:08x}", std::process::id())
}

/// A fresh email address (so a fresh Dovecot user with empty mailboxes): `<unique_name>@leje.test`.
pub fn unique_user(prefix: &str) -> String {
    format!("{}@leje.test", unique_name(prefix))
}

/// A minimal well-formed RFC 5322 message with CRLF line ends.
pub fn simple_message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let id = unique_name("msg");
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 20 Dec 2021 10:00:00 +0100\r\n\
         Message-ID: <{id}@leje.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

impl MailStack {
    /// Logs in over IMAP (plain TCP, loopback) as `user`; panics with the reason if that fails.
    pub async fn imap(&self, user: &str) -> TestImap {
        TestImap::login(self, user).await
    }

    /// Submits `raw` over SMTP with the given envelope; OpenSMTPD delivers it to each recipient's
    /// own INBOX (use [`TestImap::wait_for`] to see it arrive). Panics if the server refuses.
    pub async fn smtp_send(&self, from: &str, to: &[&str], raw: &[u8]) {
        use lettre::address::{Address, Envelope};
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

        let parse = |a: &str| -> Address {
            a.parse()
                .unwrap_or_else(|e| panic!("bad address `{a}`: {e}"))
        };
        let envelope = Envelope::new(Some(parse(from)), to.iter().map(|a| parse(a)).collect())
            .expect("envelope");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.smtp_host)
            .port(self.smtp_port)
            .timeout(Some(Duration::from_secs(30)))
            .build();
        if let Err(e) = transport.send_raw(&envelope, raw).await {
            panic!(
                "SMTP submission to {}:{} failed: {e}",
                self.smtp_host, self.smtp_port
            );
        }
    }

    /// Creates an empty PostgreSQL database only this test uses; dropped when the value is dropped.
    pub async fn fresh_postgres(&self) -> TestDb {
        TestDb::create(&self.postgres_url).await
    }

    fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<MailStack, String> {
        let need = |k: &str| get(k).ok_or_else(|| format!("`{k}` is not set"));
        let port = |k: &str| -> Result<u16, String> {
            let v = need(k)?;
            v.parse()
                .map_err(|_| format!("`{k}` is not a port number: `{v}`"))
        };
        let dir = PathBuf::from(need("LEJE_TEST_MAILSTACK_DIR")?);
        Ok(MailStack {
            imap_host: need("LEJE_TEST_IMAP_HOST")?,
            imap_port: port("LEJE_TEST_IMAP_PORT")?,
            password: need("LEJE_TEST_IMAP_PASSWORD")?,
            smtp_host: get("LEJE_TEST_SMTP_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            smtp_port: port("LEJE_TEST_SMTP_PORT")?,
            lmtp_socket: get("LEJE_TEST_LMTP_SOCKET")
                .map(PathBuf::from)
                .unwrap_or_else(|| dir.join("dovecot/run/lmtp")),
            postgres_url: need("LEJE_TEST_POSTGRES_URL")?,
            oauth_port: get("LEJE_TEST_OAUTH_PORT").and_then(|v| v.parse().ok()),
            dir,
        })
    }

    /// Reads the `export K='V'` lines `scripts/mailstack start` writes to `DIR/env`.
    fn from_env_file(path: &Path) -> Result<MailStack, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let vars: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Self::from_vars(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Do all three servers answer? IMAP and SMTP must greet; PostgreSQL must accept a connection.
    fn answers(&self) -> Result<(), String> {
        greets(&self.imap_host, self.imap_port, b"* OK").map_err(|e| format!("IMAP: {e}"))?;
        greets(&self.smtp_host, self.smtp_port, b"220").map_err(|e| format!("SMTP: {e}"))?;
        let pg = self
            .postgres_url
            .split_once('@')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|hp| hp.rsplit_once(':'))
            .ok_or_else(|| format!("cannot read host:port from `{}`", self.postgres_url))?;
        let port: u16 =
            pg.1.parse()
                .map_err(|_| "bad PostgreSQL port".to_string())?;
        connect(pg.0, port).map_err(|e| format!("PostgreSQL: {e}"))?;
        Ok(())
    }
}

fn connect(host: &str, port: u16) -> Result<StdTcpStream, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}:{port}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{host}:{port}` resolves to nothing"))?;
    let s = StdTcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to `{addr}`: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok();
    Ok(s)
}

fn greets(host: &str, port: u16, prefix: &[u8]) -> Result<(), String> {
    let mut s = connect(host, port)?;
    let mut buf = [0u8; 64];
    let n = s
        .read(&mut buf)
        .map_err(|e| format!("no greeting from `{host}:{port}`: {e}"))?;
    if buf[..n].starts_with(prefix) {
        Ok(())
    } else {
        Err(format!(
            "unexpected greeting from `{host}:{port}`: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ))
    }
}

/// Finds a running stack, or starts one with scripts/mailstack. Runs once per test process.
fn discover() -> Result<MailStack, String> {
    let mut tried = Vec::new();
    if std::env::var_os("LEJE_TEST_IMAP_PORT").is_some() {
        match MailStack::from_vars(|k| std::env::var(k).ok()).and_then(|s| s.answers().map(|_| s)) {
            Ok(s) => return Ok(s),
            Err(e) => tried.push(format!("environment: {e}")),
        }
    }
    let dir = std::env::var_os("LEJE_TEST_MAILSTACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tmp").join("mailstack"));
    let env_file = dir.join("env");
    if env_file.exists() {
        match MailStack::from_env_file(&env_file).and_then(|s| s.answers().map(|_| s)) {
            Ok(s) => return Ok(s),
            Err(e) => tried.push(e),
        }
    }
    // NOTE: scripts/mailstack serialises concurrent starts with a lock in DIR, so test processes
    // running side by side share one stack instead of racing for the ports.
    if let Err(e) = mailstack(&["start"], &dir) {
        if !e.contains("not installed") && !e.contains("missing packages") {
            return Err(format!("cannot start the mail stack: {e}"));
        }
        eprintln!("tests/common: mail stack packages missing; trying `scripts/mailstack install`");
        mailstack(&["install"], &dir).map_err(|e| format!("cannot install the mail stack: {e}"))?;
        mailstack(&["start"], &dir).map_err(|e| format!("cannot start the mail stack: {e}"))?;
    }
    let s = MailStack::from_env_file(&env_file)?;
    s.answers()
        .map_err(|e| format!("mail stack started but does not answer: {e}; earlier: {tried:?}"))?;
    Ok(s)
}

fn mailstack(args: &[&str], dir: &Path) -> Result<(), String> {
    let script = repo_root().join("scripts").join("mailstack");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).args(args);
    if args == ["start"] {
        cmd.arg(dir);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`scripts/mailstack {}` failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ))
    }
}
