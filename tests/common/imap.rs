//! A small IMAP client for tests: put messages into a mailbox and look at what is there.
//!
//! Every method panics with the user, folder and server answer when something fails: these are test
//! fixtures, and a failing fixture should stop the test with a clear message.

use std::time::{Duration, Instant};

use async_imap::types::Flag;
use futures::TryStreamExt;
use tokio::net::TcpStream;

use super::MailStack;

/// One logged-in IMAP session (plain TCP to the local Dovecot).
pub struct TestImap {
    session: async_imap::Session<TcpStream>,
    /// The user (email address) this session is logged in as.
    pub user: String,
}

/// A message as stored on the server.
#[derive(Debug, Clone)]
pub struct TestMessage {
    pub uid: u32,
    /// Flags and keywords as IMAP spells them: `\Seen`, `\Flagged`, `leje-processed`.
    pub flags: Vec<String>,
    /// The full raw message (RFC 5322 bytes).
    pub raw: Vec<u8>,
}

impl TestMessage {
    /// The raw message as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The first header field named `name` (case-insensitive), unfolded; None if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

fn flag_name(f: &Flag<'_>) -> String {
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

impl TestImap {
    /// Logs in as `user` with the stack's test password.
    pub async fn login(stack: &MailStack, user: &str) -> TestImap {
        let addr = format!("{}:{}", stack.imap_host, stack.imap_port);
        let tcp = TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to IMAP `{addr}`: {e}"));
        let mut client = async_imap::Client::new(tcp);
        match client.read_response().await {
            Ok(Some(_greeting)) => {}
            Ok(None) => panic!("IMAP `{addr}` closed the connection before greeting"),
            Err(e) => panic!("no greeting from IMAP `{addr}`: {e}"),
        }
        let session = client
            .login(user, &stack.password)
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("IMAP login as `{user}` failed: {e}"));
        TestImap {
            session,
            user: user.to_string(),
        }
    }

    /// Creates `folder` (and its parents); fine if it already exists.
    pub async fn create_folder(&mut self, folder: &str) {
        if self.folder_exists(folder).await {
            return;
        }
        if let Err(e) = self.session.create(folder).await {
            // Another session may have created it meanwhile.
            if !self.folder_exists(folder).await {
                panic!("{}: cannot create folder `{folder}`: {e}", self.user);
            }
        }
    }

    /// All folder names of this user, e.g. `["INBOX", "leje", "leje/processed"]`, sorted.
    pub async fn folders(&mut self) -> Vec<String> {
        let names: Vec<_> = self
            .session
            .list(Some(""), Some("*"))
            .await
            .unwrap_or_else(|e| panic!("{}: LIST failed: {e}", self.user))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{}: LIST failed: {e}", self.user));
        let mut names: Vec<String> = names.iter().map(|n| n.name().to_string()).collect();
        names.sort();
        names
    }

    pub async fn folder_exists(&mut self, folder: &str) -> bool {
        self.folders().await.iter().any(|f| f == folder)
    }

    /// Appends a raw message to `folder` (created if missing).
    pub async fn append(&mut self, folder: &str, raw: &[u8]) {
        self.append_with_flags(folder, None, raw).await
    }

    /// Appends with a flag list such as `(\Seen)`.
    pub async fn append_with_flags(&mut self, folder: &str, flags: Option<&str>, raw: &[u8]) {
        self.create_folder(folder).await;
        if let Err(e) = self.session.append(folder, flags, None, raw).await {
            panic!(
                "{}: APPEND of {} bytes to `{folder}` failed: {e}",
                self.user,
                raw.len()
            );
        }
    }

    /// Number of messages in `folder`; 0 if it does not exist.
    pub async fn count(&mut self, folder: &str) -> u32 {
        if !self.folder_exists(folder).await {
            return 0;
        }
        match self.session.status(folder, "(MESSAGES)").await {
            Ok(mb) => mb.exists,
            Err(e) => panic!("{}: STATUS `{folder}` failed: {e}", self.user),
        }
    }

    /// Every message in `folder` in UID order, with flags and full raw bytes (fetched with
    /// BODY.PEEK, so \Seen is not set by looking). Empty if the folder does not exist.
    pub async fn messages(&mut self, folder: &str) -> Vec<TestMessage> {
        if !self.folder_exists(folder).await {
            return Vec::new();
        }
        let mb = self
            .session
            .examine(folder)
            .await
            .unwrap_or_else(|e| panic!("{}: EXAMINE `{folder}` failed: {e}", self.user));
        let fetches: Vec<_> = if mb.exists == 0 {
            Vec::new()
        } else {
            self.session
                .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                .await
                .unwrap_or_else(|e| panic!("{}: UID FETCH in `{folder}` failed: {e}", self.user))
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("{}: UID FETCH in `{folder}` failed: {e}", self.user))
        };
        let mut out: Vec<TestMessage> = fetches
            .iter()
            .filter_map(|f| {
                Some(TestMessage {
                    uid: f.uid?,
                    flags: f.flags().map(|fl| flag_name(&fl)).collect(),
                    raw: f.body()?.to_vec(),
                })
            })
            .collect();
        out.sort_by_key(|m| m.uid);
        // NOTE: never leave a folder selected: Dovecot answers STATUS for the selected folder from
        // the session's own view, which only moves on with NOOP, so `count` would go stale.
        // UNSELECT (not CLOSE) so nothing is expunged.
        if let Err(e) = self.session.run_command_and_check_ok("UNSELECT").await {
            panic!(
                "{}: UNSELECT after reading `{folder}` failed: {e}",
                self.user
            );
        }
        out
    }

    /// The raw bytes of every message in `folder`, in UID order.
    pub async fn bodies(&mut self, folder: &str) -> Vec<Vec<u8>> {
        self.messages(folder)
            .await
            .into_iter()
            .map(|m| m.raw)
            .collect()
    }

    /// Waits until `folder` holds at least `n` messages, then returns them all. Panics after
    /// `timeout` naming what each folder holds at that point.
    pub async fn wait_for(
        &mut self,
        folder: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<TestMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count(folder).await as usize >= n {
                return self.messages(folder).await;
            }
            if Instant::now() >= deadline {
                let mut seen = Vec::new();
                for f in self.folders().await {
                    let c = self.count(&f).await;
                    seen.push(format!("{f}: {c}"));
                }
                panic!(
                    "{}: waited {timeout:?} for {n} message(s) in `{folder}`; folders now: [{}]",
                    self.user,
                    seen.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The underlying async-imap session, for what these helpers do not cover (IDLE, STORE, …).
    pub fn into_session(self) -> async_imap::Session<TcpStream> {
        self.session
    }

    /// Logs out (dropping the value without it just closes the connection).
    pub async fn logout(mut self) {
        let _ = self.session.logout().await;
    }
}
