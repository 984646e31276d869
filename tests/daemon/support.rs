//! Harness for the daemon tests and the ingest benchmark: a config file per test,
//! the daemon in-process (with a shutdown oneshot) or as the real `leje run`
//! binary, fast Maildir seeding, a dedicated Dovecot that can be stopped, and
//! store queries.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::MailStack;

/// Knobs of one test mailbox.
#[derive(Debug, Clone)]
pub struct Opts {
    pub idle: bool,
    pub poll: &'static str,
    pub batch: u32,
    pub max_size: &'static str,
    pub folder: &'static str,
    pub http_port: Option<u16>,
    pub stale_after: &'static str,
    pub since: Option<&'static str>,
    pub reconnect_max: &'static str,
    pub level: &'static str,
    /// `none`, `implicit` or `starttls`.
    pub tls: &'static str,
    /// Host name to connect to (default: the stack's IMAP host).
    pub host: Option<&'static str>,
    pub ca_file: Option<PathBuf>,
    /// Log in with XOAUTH2 and the token in this file instead of the password.
    pub token_file: Option<PathBuf>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            idle: true,
            poll: "5s",
            batch: 50,
            max_size: "25MiB",
            folder: "INBOX",
            http_port: None,
            stale_after: "15m",
            since: None,
            reconnect_max: "2s",
            level: "warn",
            token_file: None,
            tls: "none",
            host: None,
            ca_file: None,
        }
    }
}

/// One test's private state: config file, SQLite store, IMAP user.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub user: String,
    pub config: PathBuf,
    pub store_url: String,
    pub imap_host: String,
    pub imap_port: u16,
}

impl Harness {
    pub fn new(stack: &MailStack, user: &str, port: u16, opts: &Opts) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let pw = d.join("imap.pw");
        std::fs::write(&pw, format!("{}\n", stack.password)).unwrap();
        std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let store_url = format!("sqlite:{}/leje.db", d.display());
        let mut text = format!(
            "state_dir = \"{d}\"\nstore = \"{store_url}\"\ninstance = \"test-{pid}\"\n\n[log]\nlevel = \"{level}\"\n\n",
            d = d.display(),
            pid = std::process::id(),
            level = opts.level,
        );
        if let Some(p) = opts.http_port {
            text.push_str(&format!(
                "[http]\nenabled = true\nlisten = \"127.0.0.1:{p}\"\nstale_after = \"{}\"\n\n",
                opts.stale_after
            ));
        }
        text.push_str(&format!(
            "[[mailbox]]\nname = \"shared\"\nhost = \"{host}\"\nport = {port}\ntls = \"{tls}\"\n\
             username = \"{user}\"\n{secret}\nfolder = \"{folder}\"\nidle = {idle}\n\
             poll_interval = \"{poll}\"\nbatch_size = {batch}\nmax_message_size = \"{max}\"\n\
             reconnect_max = \"{rmax}\"\n",
            host = opts.host.unwrap_or(&stack.imap_host),
            tls = opts.tls,
            secret = match &opts.token_file {
                Some(t) => format!("auth = \"xoauth2\"\ntoken_file = \"{}\"", t.display()),
                None => format!("password_file = \"{}\"", pw.display()),
            },
            folder = opts.folder,
            idle = opts.idle,
            poll = opts.poll,
            batch = opts.batch,
            max = opts.max_size,
            rmax = opts.reconnect_max,
        ));
        if let Some(ca) = &opts.ca_file {
            text.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
        }
        if let Some(s) = opts.since {
            text.push_str(&format!("since = {s}\n"));
        }
        // NOTE: `mail::TRUSTED_AUTHSERV`, the server `mail::notification` has
        // verify its messages (not every test binary has `mail`).
        text.push_str("\n[trust]\nauthserv_ids = [\"mx.leje-test.invalid\"]\n");
        let config = d.join("leje.toml");
        std::fs::write(&config, text).unwrap();
        Harness {
            user: user.to_string(),
            config,
            store_url,
            imap_host: stack.imap_host.clone(),
            imap_port: port,
            dir,
        }
    }

    pub fn settings(&self) -> leje::config::Settings {
        leje::config::load(Some(&self.config))
            .unwrap_or_else(|e| panic!("test config invalid:\n{e}"))
    }

    pub async fn store(&self) -> leje::store::Store {
        leje::store::Store::open(&self.store_url, self.dir.path())
            .await
            .expect("open store")
    }

    /// Starts the daemon in this process; stop it with [`Running::stop`].
    pub fn start(&self) -> Running {
        // Daemon logs appear with `--nocapture` (level from RUST_LOG, default warn).
        leje::logging::init(leje::cli::LogFormat::Text, "warn");
        let settings = self.settings();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(leje::daemon::run(settings, async move {
            let _ = rx.await;
        }));
        Running { tx, handle }
    }

    /// Starts `leje run` (the real binary) on this config.
    pub fn spawn_binary(&self) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_leje"))
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("leje.log")).unwrap())
            .spawn()
            .expect("spawn leje run")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("leje.log")).unwrap_or_default()
    }
}

/// The in-process daemon.
pub struct Running {
    tx: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Graceful shutdown; panics if the daemon failed or took longer than 60 s.
    pub async fn stop(self) {
        let _ = self.tx.send(());
        match tokio::time::timeout(Duration::from_secs(60), self.handle).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("daemon failed: {e:#}"),
            Ok(Err(e)) => panic!("daemon panicked: {e}"),
            Err(_) => panic!("daemon did not stop within 60 s"),
        }
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn wait_until<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every processed-message row (all outcomes), oldest first.
pub async fn processed(store: &leje::store::Store) -> Vec<leje::store::MessageRecord> {
    let mut v = store.messages(None, u32::MAX).await.expect("messages");
    v.reverse();
    v
}

pub async fn count_processed(store: &leje::store::Store) -> usize {
    store
        .stats()
        .await
        .expect("stats")
        .messages_by_outcome
        .values()
        .sum::<u64>() as usize
}

/// Store totals: (processed rows, cases, outbox rows).
pub async fn totals(store: &leje::store::Store) -> (u64, u64, u64) {
    let s = store.stats().await.expect("stats");
    (
        s.messages_by_outcome.values().sum(),
        s.cases_by_stage.values().sum(),
        s.outbox_by_status.values().sum(),
    )
}

/// Exactly-once check: every Message-ID in `expected` has exactly one processed row,
/// and no row is for anything else.
pub async fn assert_exactly_once(store: &leje::store::Store, expected: &[String]) {
    let rows = processed(store).await;
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *by_id
            .entry(
                r.message_id
                    .clone()
                    .unwrap_or_else(|| format!("<none:{}>", r.id)),
            )
            .or_default() += 1;
    }
    let twice: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "processed more than once: {twice:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|m| !by_id.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "never processed ({}): {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(rows.len(), expected.len(), "unexpected extra rows");
}

/// Puts messages straight into `user`'s Maildir (INBOX) with the right owner: the
/// legitimate fast way to seed thousands of messages (Dovecot assigns UIDs on its
/// next sync). `mtime` sets the internal date.
pub async fn seed_maildir(
    stack: &MailStack,
    user: &str,
    msgs: impl IntoIterator<Item = Vec<u8>>,
    mtime: Option<std::time::SystemTime>,
) -> usize {
    // A login + STATUS makes Dovecot create the Maildir with the right owner.
    let mut imap = stack.imap(user).await;
    let _ = imap.count("INBOX").await;
    imap.logout().await;
    let home = stack.dir.join("mail").join(user).join("Maildir");
    // NOTE: into `cur/`, named as Dovecot names what it delivers (`S=` size, `W=`
    // size with CRLF line ends): old mail that some client has already seen. In
    // `new/` without sizes, the first SELECT renamed every file and the first
    // RFC822.SIZE read every file, a cost of this seeding, not of a real mailbox.
    let new = home.join("cur");
    let tmp = home.join("tmp");
    assert!(new.is_dir(), "no Maildir at `{}`", home.display());
    let meta = std::fs::metadata(&new).unwrap();
    let (uid, gid) = (
        std::os::unix::fs::MetadataExt::uid(&meta),
        std::os::unix::fs::MetadataExt::gid(&meta),
    );
    let mut n = 0usize;
    for (i, raw) in msgs.into_iter().enumerate() {
        let bare_lf = raw
            .iter()
            .enumerate()
            .filter(|&(j, &b)| b == b'\n' && (j == 0 || raw[j - 1] != b'\r'))
            .count();
        // NOTE: `M` is the microsecond of the delivery, scattered as in a real
        // mailbox. Counting it up in step with the seconds (`M{i}`) made Dovecot's
        // filename hash (maildir_filename_base_hash) give 10,000 names only about
        // 1,200 values, so every SELECT and sync of a seeded folder walked chains
        // of a thousand names: Dovecot's CPU, on the machine being measured.
        let usec = (i as u64).wrapping_mul(2_654_435_761) % 1_000_000;
        let name = format!(
            "{}.M{usec}P{}.leje-seed,S={},W={}:2,",
            1_700_000_000 + i,
            std::process::id(),
            raw.len(),
            raw.len() + bare_lf
        );
        let t = tmp.join(&name);
        std::fs::write(&t, &raw).unwrap();
        std::os::unix::fs::chown(&t, Some(uid), Some(gid)).unwrap();
        if let Some(m) = mtime {
            let f = std::fs::File::options().write(true).open(&t).unwrap();
            f.set_modified(m).unwrap();
        }
        std::fs::rename(&t, new.join(&name)).unwrap();
        n += 1;
    }
    n
}

/// A Dovecot of our own (same users and Maildirs as the shared stack, own port and
/// run directory), so a test can stop and restart it without disturbing the others.
pub struct OwnDovecot {
    /// Plain IMAP (with STARTTLS when started by [`OwnDovecot::start_tls`]).
    pub port: u16,
    /// Implicit TLS, when started by [`OwnDovecot::start_tls`].
    pub tls_port: Option<u16>,
    /// The CA that signed the server certificate (for `localhost` and 127.0.0.1).
    pub ca_file: Option<PathBuf>,
    /// SMTP submission with STARTTLS and AUTH, relaying to the stack's OpenSMTPD, when
    /// started by [`OwnDovecot::start_submission`].
    pub submission_port: Option<u16>,
    /// The same with implicit TLS.
    pub submissions_port: Option<u16>,
    dir: PathBuf,
    conf: PathBuf,
}

impl OwnDovecot {
    /// With TLS: a private CA signs a certificate for `localhost`; STARTTLS on
    /// [`OwnDovecot::port`], implicit TLS on [`OwnDovecot::tls_port`].
    pub fn start_tls(stack: &MailStack) -> OwnDovecot {
        Self::start_with(stack, true)
    }

    pub fn start(stack: &MailStack) -> OwnDovecot {
        Self::start_with(stack, false)
    }

    /// TLS as [`OwnDovecot::start_tls`], plus Dovecot's SMTP submission service (STARTTLS
    /// and implicit TLS, AUTH with any user and the stack's password) relaying to the
    /// stack's OpenSMTPD, which delivers as usual.
    // NOTE: OpenSMTPD 6.8 as packaged for Debian 12 cannot serve TLS with OpenSSL 3
    // ("EVP lib", OpenSMTPD/OpenSMTPD#1171), so Dovecot terminates TLS and AUTH here.
    pub fn start_submission(stack: &MailStack) -> OwnDovecot {
        Self::start_full(stack, true, true)
    }

    fn start_with(stack: &MailStack, tls: bool) -> OwnDovecot {
        Self::start_full(stack, tls, false)
    }

    fn start_full(stack: &MailStack, tls: bool, submission: bool) -> OwnDovecot {
        let port = free_port();
        let dir = stack
            .dir
            .join(format!("own-dovecot-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shared = std::fs::read_to_string(stack.dir.join("dovecot/dovecot.conf"))
            .expect("the stack's dovecot.conf");
        let base = stack.dir.join("dovecot");
        let conf_text = shared
            .replace(
                &format!("{}/run", base.display()),
                &format!("{}/run", dir.display()),
            )
            .replace(
                &format!("{}/state", base.display()),
                &format!("{}/state", dir.display()),
            )
            .replace(
                &format!("{}/dovecot.log", base.display()),
                &format!("{}/dovecot.log", dir.display()),
            )
            .replace(
                &format!("port = {}", stack.imap_port),
                &format!("port = {port}"),
            )
            .replace(
                "instance_name = leje-mailstack",
                &format!("instance_name = leje-own-{port}"),
            );
        assert!(
            conf_text.contains(&format!("port = {port}")),
            "cannot retarget dovecot.conf"
        );
        let (mut conf_text, mut tls_port, mut ca_file) = (conf_text, None, None);
        if tls {
            let ca = make_certs(&dir);
            let p2 = free_port();
            conf_text = conf_text
                .replace(
                    "ssl = no",
                    &format!(
                        "ssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key",
                        d = dir.display()
                    ),
                )
                .replace(
                    "inet_listener imaps {\n    port = 0\n  }",
                    &format!(
                        "inet_listener imaps {{\n    address = 127.0.0.1\n    port = {p2}\n  }}"
                    ),
                );
            assert!(
                conf_text.contains(&format!("port = {p2}")),
                "cannot enable imaps"
            );
            tls_port = Some(p2);
            ca_file = Some(ca);
        }
        let (mut submission_port, mut submissions_port) = (None, None);
        if submission {
            let (p3, p4) = (free_port(), free_port());
            let smtp = stack.smtp_port;
            assert!(
                conf_text.contains("protocols = imap lmtp"),
                "cannot add submission"
            );
            conf_text =
                conf_text.replace("protocols = imap lmtp", "protocols = imap lmtp submission");
            conf_text.push_str(&format!(
                "\nhostname = localhost\nsubmission_relay_host = 127.0.0.1\n\
                 submission_relay_port = {smtp}\nsubmission_relay_trusted = yes\n\
                 service submission-login {{\n  chroot =\n  \
                 inet_listener submission {{\n    address = 127.0.0.1\n    port = {p3}\n  }}\n  \
                 inet_listener submissions {{\n    address = 127.0.0.1\n    port = {p4}\n    ssl = yes\n  }}\n}}\n"
            ));
            submission_port = Some(p3);
            submissions_port = Some(p4);
        }
        let conf = dir.join("dovecot.conf");
        std::fs::write(&conf, conf_text).unwrap();
        let d = OwnDovecot {
            port,
            tls_port,
            ca_file,
            submission_port,
            submissions_port,
            dir,
            conf,
        };
        d.up();
        d
    }

    /// Starts the master and waits for the greeting.
    pub fn up(&self) {
        for sub in ["run", "state"] {
            std::fs::create_dir_all(self.dir.join(sub)).unwrap();
        }
        // NOTE: the master daemonizes and keeps inherited descriptors: with piped
        // output, waiting for it would never end. Its stderr goes to a file.
        let log = self.dir.join("start.log");
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(&self.conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .status()
            .expect("run dovecot");
        assert!(
            status.success(),
            "dovecot failed to start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "own dovecot does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the master (and with it every IMAP connection) and waits until the
    /// port is closed.
    pub fn down(&self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "own dovecot does not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Existing IMAP sessions outlive the master; a server restart ends them too.
        // Only this instance's processes carry its name in their title.
        let tag = format!("dovecot-leje-own-{}/", self.port);
        for _ in 0..50 {
            let mut left = 0;
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmd).starts_with(&tag) {
                    left += 1;
                    let _ = Command::new("kill")
                        .arg("-KILL")
                        .arg(pid.to_string())
                        .status();
                }
            }
            if left == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OwnDovecot {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// HTTP GET on loopback; returns (status, body), status 0 when nothing listens.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return (0, String::new()); // not listening (yet)
    };
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Deletes a folder of `user` (the test client has no DELETE).
pub async fn delete_folder(stack: &MailStack, user: &str, folder: &str) {
    let tcp = tokio::net::TcpStream::connect((stack.imap_host.as_str(), stack.imap_port))
        .await
        .expect("connect imap");
    let mut client = async_imap::Client::new(tcp);
    let _ = client.read_response().await;
    let mut s = client
        .login(user, &stack.password)
        .await
        .map_err(|(e, _)| e)
        .expect("login");
    s.delete(folder)
        .await
        .unwrap_or_else(|e| panic!("DELETE `{folder}`: {e}"));
    let _ = s.logout().await;
}

/// A private CA and a server certificate for `localhost`/127.0.0.1 signed by it
/// (openssl comes with Dovecot's ssl-cert dependency). Returns the CA file.
fn make_certs(dir: &Path) -> PathBuf {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=leje test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    dir.join("ca.pem")
}
