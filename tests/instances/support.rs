//! Harness for the several-instances tests and benchmark: one PostgreSQL store,
//! M mailboxes (each its own Dovecot user), every applicant's email going to one
//! sink user over the real OpenSMTPD, and the real `leje run` binary started as
//! several child processes on one identical config file.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::{self, MailStack, TestDb};
use crate::daemon_support::seed_maildir;
use crate::mail;

/// One cluster under test: the config every process shares, its store, its users.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db: TestDb,
    pub users: Vec<String>,
    pub sink: String,
    pub salt: u32,
    spawned: usize,
}

/// A running `leje run` process and its log file.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// Sends `sig` (`KILL`, `TERM`, `STOP`, `CONT`) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }
    /// Waits (bounded) for the process to exit; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "leje run did not exit within {within:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Cluster {
    /// `mailboxes` Dovecot users, a fresh PostgreSQL database, one config file.
    pub async fn new(stack: &MailStack, tag: &str, mailboxes: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let db = stack.fresh_postgres().await;
        let pw = d.join("imap.pw");
        std::fs::write(&pw, format!("{}\n", stack.password)).unwrap();
        std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let users: Vec<String> = (0..mailboxes)
            .map(|i| common::unique_user(&format!("{tag}-mb{i}")))
            .collect();
        let sink = common::unique_user(&format!("{tag}-sink"));
        // NOTE: one explicit instance name for every process: their holders must
        // still differ (a per-start suffix).
        let mut text = format!(
            "state_dir = \"{d}\"\nstore = \"{url}\"\ninstance = \"same-host\"\n\n[log]\nlevel = \"info\"\n\n\
             [smtp]\nhost = \"{sh}\"\nport = {sp}\ntls = \"none\"\nfrom = \"leje <permits@leje.test>\"\n\
             max_per_recipient_per_day = 10000\n\n\
             [trust]\nauthserv_ids = [\"{trusted}\"]\nmax_per_hour = 100000\n\
             max_per_forwarder_domain_per_hour = 100000\n\n",
            // NOTE: `mail::notification` delivers as this receiving server, which checked
            // the sender: the emails go out without a person (tests/trust.rs has the rest).
            trusted = mail::TRUSTED_AUTHSERV,
            d = d.display(),
            url = db.url,
            sh = stack.smtp_host,
            sp = stack.smtp_port,
        );
        for (i, u) in users.iter().enumerate() {
            text.push_str(&format!(
                "[[mailbox]]\nname = \"mb{i}\"\nhost = \"{host}\"\nport = {port}\ntls = \"none\"\n\
                 username = \"{u}\"\npassword_file = \"{pw}\"\nidle = true\npoll_interval = \"5s\"\n\
                 batch_size = 50\nreconnect_max = \"2s\"\n\n",
                host = stack.imap_host,
                port = stack.imap_port,
                pw = pw.display(),
            ));
        }
        let config = d.join("leje.toml");
        std::fs::write(&config, text).unwrap();
        Cluster {
            dir,
            config,
            db,
            users,
            sink,
            salt: fastrand::u32(1..1_000_000),
            spawned: 0,
        }
    }

    /// No `[smtp]`: emails stay in the outbox (the benchmark measures ingestion).
    pub fn without_smtp(&self) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let start = text.find("[smtp]").unwrap();
        let end = start + text[start..].find("\n\n").unwrap() + 2;
        let text = format!("{}{}", &text[..start], &text[end..]);
        std::fs::write(&self.config, text).unwrap();
    }

    /// The processes reach the store at `url` instead (a proxy); the test's own
    /// connections still go straight to the database.
    pub fn store_via(&self, url: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let text = text.replace(
            &format!("store = \"{}\"", self.db.url),
            &format!("store = \"{url}\""),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// `n` approval notifications into mailbox `mb`, each naming the sink as the
    /// applicant; their Message-IDs.
    pub async fn seed(&self, stack: &MailStack, mb: usize, from: u64, n: u64) -> Vec<String> {
        let mut ids = Vec::new();
        let mut raws = Vec::new();
        for seq in from..from + n {
            let b = mail::notification(self.salt + mb as u32 * 7919, seq, false, false, false);
            let applicant = format!(
                "applicant{seq}.{:x}@example.com",
                self.salt + mb as u32 * 7919
            );
            let raw = String::from_utf8(b.raw)
                .unwrap()
                .replace(&applicant, &self.sink);
            raws.push(raw.into_bytes());
            ids.push(b.message_id);
        }
        seed_maildir(stack, &self.users[mb], raws, None).await;
        ids
    }

    /// Starts one more `leje run` on the shared config.
    pub fn spawn(&mut self) -> Proc {
        self.spawned += 1;
        let log = self.dir.path().join(format!("leje-{}.log", self.spawned));
        let child = Command::new(env!("CARGO_BIN_EXE_leje"))
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env_remove("RUST_LOG")
            .env_remove("LEJE_CONFIG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn leje run");
        Proc { child, log }
    }

    pub async fn store(&self) -> leje::store::Store {
        leje::store::Store::open(&self.db.url, self.dir.path())
            .await
            .expect("open store")
    }
}

/// Live mailbox leases: mailbox → holder.
pub async fn holders(store: &leje::store::Store) -> BTreeMap<String, String> {
    let (leases, _) = store.cluster_status().await.unwrap();
    leases
        .into_iter()
        .filter(|l| l.live && !l.name.starts_with('@'))
        .map(|l| (l.name, l.holder))
        .collect()
}

/// How many mailboxes each live holder has.
pub async fn shares(store: &leje::store::Store) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, h) in holders(store).await {
        *m.entry(h).or_insert(0) += 1;
    }
    m
}

/// The holder id a process logs at start (`instance=…` on "leje is running").
pub async fn holder_of(p: &Proc) -> String {
    let t = Instant::now();
    loop {
        let log = p.log();
        let found = log
            .lines()
            .find(|l| l.contains("leje is running"))
            .and_then(|line| {
                let at = line.find("instance=")? + "instance=".len();
                Some(
                    line[at..]
                        .split_whitespace()
                        .next()?
                        .trim_matches('"')
                        .to_string(),
                )
            });
        if let Some(h) = found {
            return h;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no start line in 30 s; log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn processed_count(store: &leje::store::Store) -> usize {
    crate::daemon_support::count_processed(store).await
}

/// Outbox rows by status.
pub async fn outbox_counts(store: &leje::store::Store) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in store.outbox_list(None).await.unwrap() {
        *m.entry(r.status.as_str().to_string()).or_insert(0) += 1;
    }
    m
}

/// Message-IDs (without brackets) of what the sink received, with counts.
pub async fn received(stack: &MailStack, sink: &str) -> BTreeMap<String, usize> {
    let mut imap = stack.imap(sink).await;
    let msgs = imap.messages("INBOX").await;
    imap.logout().await;
    let mut m = BTreeMap::new();
    for msg in msgs {
        let id = msg
            .header("Message-ID")
            .unwrap_or_default()
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string();
        *m.entry(id).or_insert(0) += 1;
    }
    m
}

pub async fn sink_count(stack: &MailStack, sink: &str) -> usize {
    let mut imap = stack.imap(sink).await;
    let n = imap.count("INBOX").await as usize;
    imap.logout().await;
    n
}

/// Waits (up to 90 s) until the sink holds at least `n` emails, then a moment
/// more for any duplicate still on its way; what it received.
pub async fn received_at_least(stack: &MailStack, sink: &str, n: usize) -> BTreeMap<String, usize> {
    let t = Instant::now();
    while sink_count(stack, sink).await < n && t.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    received(stack, sink).await
}
