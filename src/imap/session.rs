//! A connected, authenticated session on one mailbox: select, search, batched fetch.
//!
//! Every server round trip is bounded by [`OP_TIMEOUT`] (per response while
//! streaming a fetch), so a hung server turns into an error and a reconnect,
//! never into a stuck daemon.

use std::time::Duration;

use futures::StreamExt;

use super::connect::{self, Caps, RawSession};
use super::error::ImapError;
use crate::config::MailboxSettings;

/// Longest wait for one answer (or one message of a FETCH) from the server.
pub const OP_TIMEOUT: Duration = Duration::from_secs(120);

/// What SELECT told us about the watched folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub uidvalidity: u32,
    pub uidnext: Option<u32>,
    pub exists: u32,
}

/// One authenticated IMAP session (one TCP connection).
pub struct Session {
    pub(crate) raw: RawSession,
    pub(crate) caps: Caps,
    /// Hierarchy delimiter from `LIST "" ""`; `None` for a flat server.
    pub(crate) delimiter: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("caps", &self.caps)
            .field("delimiter", &self.delimiter)
            .finish_non_exhaustive()
    }
}

/// Runs one IMAP command future under [`OP_TIMEOUT`], mapping errors.
pub(crate) async fn op<T>(
    what: &'static str,
    fut: impl std::future::Future<Output = async_imap::error::Result<T>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ImapError::from_imap(what, e)),
        Err(_) => Err(ImapError::Timeout(OP_TIMEOUT, what)),
    }
}

/// Quotes a string for IMAP (RFC 3501 quoted string).
pub(crate) fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Compresses sorted UIDs into an IMAP sequence set: `[1,2,3,7,9,10]` → `1:3,7,9:10`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    for (a, b) in ranges(uids) {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}:{b}"));
        }
    }
    out
}

/// Longest UID set sent in one command, in bytes.
// NOTE: a backlog's actions go out as one command per action, and when ignored
// mail sits between moved mail the set does not compress (nor does a FETCH of
// what a SEARCH found in a folder others expunge from): 20,000 alternate UIDs
// make a set of about 120 KB, past Dovecot's default line limit
// (`imap_max_line_length`, 64 KiB) and far past what RFC 7162 asks clients to
// stay under (about 8,192 octets per command line). Such a command was rejected
// whole and the messages stayed in the folder.
pub const MAX_SET_LEN: usize = 8000;

/// Like [`uid_set`], split into sets of at most `max_len` bytes (a single range
/// longer than that still goes alone), so that no command line grows past what a
/// server accepts.
pub fn uid_sets(uids: &[u32], max_len: usize) -> Vec<String> {
    split_by_set_len(uids, max_len)
        .into_iter()
        .map(uid_set)
        .collect()
}

/// Splits sorted UIDs where needed so that each part's [`uid_set`] is at most
/// `max_len` bytes (a single range longer than that still goes alone).
pub fn split_by_set_len(uids: &[u32], max_len: usize) -> Vec<&[u32]> {
    let digits = |v: u32| v.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut parts = Vec::new();
    let (mut start, mut at, mut len) = (0, 0, 0usize);
    for (a, b) in ranges(uids) {
        // `a` or `a:b`, after a comma unless it opens the set.
        let range = digits(a) + if a == b { 0 } else { 1 + digits(b) };
        if len > 0 && len + 1 + range > max_len {
            parts.push(&uids[start..at]);
            (start, len) = (at, 0);
        }
        len += range + usize::from(len > 0);
        at += (b - a) as usize + 1;
    }
    if at > start {
        parts.push(&uids[start..at]);
    }
    parts
}

/// The runs of consecutive UIDs in sorted `uids`, as (first, last).
fn ranges(uids: &[u32]) -> impl Iterator<Item = (u32, u32)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let &start = uids.get(i)?;
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        i += 1;
        Some((start, end))
    })
}

type FetchStream<'a> = std::pin::Pin<
    Box<
        dyn futures::Stream<Item = async_imap::error::Result<async_imap::types::Fetch>> + Send + 'a,
    >,
>;

/// The answer to one [`Session::fetch_bodies`], read message by message.
///
/// async-imap ends a FETCH stream silently on EOF, so after the last message the
/// caller must prove the connection alive (e.g. [`Session::noop`]) before treating
/// missing UIDs as expunged.
pub struct BodyStream<'a> {
    inner: Option<FetchStream<'a>>,
    uids: &'a [u32],
}

/// One fetched message.
pub struct Fetched {
    pub uid: u32,
    fetch: async_imap::types::Fetch,
}

impl Fetched {
    /// The raw RFC 5322 bytes.
    pub fn body(&self) -> &[u8] {
        self.fetch.body().unwrap_or_default()
    }
}

impl BodyStream<'_> {
    /// The next requested message, `None` at the end of the answer.
    pub async fn next(&mut self) -> Result<Option<Fetched>, ImapError> {
        let Some(st) = self.inner.as_mut() else {
            return Ok(None);
        };
        loop {
            let f = match tokio::time::timeout(OP_TIMEOUT, st.next()).await {
                Err(_) => return Err(ImapError::Timeout(OP_TIMEOUT, "UID FETCH BODY.PEEK[]")),
                Ok(None) => {
                    self.inner = None;
                    return Ok(None);
                }
                Ok(Some(Err(e))) => return Err(ImapError::from_imap("UID FETCH", e)),
                Ok(Some(Ok(f))) => f,
            };
            // Unsolicited FETCH responses (flag changes of other messages) carry no body.
            let Some(uid) = f.uid else { continue };
            if f.body().is_none() || self.uids.binary_search(&uid).is_err() {
                continue;
            }
            return Ok(Some(Fetched { uid, fetch: f }));
        }
    }

    /// Reads and drops the rest of the answer (after a stop or a handler error), so
    /// the session can go on with actions and LOGOUT.
    pub async fn drain(mut self) -> Result<(), ImapError> {
        while self.next().await?.is_some() {}
        Ok(())
    }
}

impl Session {
    /// Connects and authenticates (see [`connect::connect`]) and learns the hierarchy delimiter.
    pub async fn open(mb: &MailboxSettings) -> Result<Session, ImapError> {
        let (raw, caps) = connect::connect(mb).await?;
        let mut s = Session {
            raw,
            caps,
            delimiter: None,
        };
        s.delimiter = s.hierarchy_delimiter().await?;
        Ok(s)
    }

    /// The capabilities that matter to leje.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    async fn hierarchy_delimiter(&mut self) -> Result<Option<String>, ImapError> {
        let names: Vec<_> = op("LIST", async {
            let s = self.raw.list(Some(""), Some("\"\"")).await?;
            s.collect::<Vec<_>>().await.into_iter().collect()
        })
        .await?;
        Ok(names
            .first()
            .and_then(|n| n.delimiter().map(str::to_string)))
    }

    /// The server's name for a configured folder: leje's configs always use `/` as the
    /// hierarchy separator; servers with `.` (Dovecot's Maildir++ default) get it translated.
    pub fn server_folder(&self, configured: &str) -> String {
        match self.delimiter.as_deref() {
            Some(d) if d != "/" && !configured.eq_ignore_ascii_case("INBOX") => {
                configured.replace('/', d)
            }
            _ => configured.to_string(),
        }
    }

    /// SELECTs the folder (read-write: actions need it) and returns UIDVALIDITY etc.
    pub async fn select(&mut self, folder: &str) -> Result<Selected, ImapError> {
        let name = self.server_folder(folder);
        let mb = match tokio::time::timeout(OP_TIMEOUT, self.raw.select(&name)).await {
            Ok(Ok(mb)) => mb,
            Ok(Err(async_imap::error::Error::No(s)))
            | Ok(Err(async_imap::error::Error::Bad(s))) => {
                return Err(ImapError::Select {
                    folder: folder.to_string(),
                    reason: super::error::tidy(&s),
                })
            }
            Ok(Err(e)) => return Err(ImapError::from_imap("SELECT", e)),
            Err(_) => return Err(ImapError::Timeout(OP_TIMEOUT, "SELECT")),
        };
        let uidvalidity = mb.uid_validity.ok_or_else(|| {
            ImapError::Unsupported(format!("SELECT `{folder}` returned no UIDVALIDITY"))
        })?;
        Ok(Selected {
            uidvalidity,
            uidnext: mb.uid_next,
            exists: mb.exists,
        })
    }

    async fn uid_search(&mut self, query: &str) -> Result<Vec<u32>, ImapError> {
        let set = op("UID SEARCH", self.raw.uid_search(query)).await?;
        let mut v: Vec<u32> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// UIDs above `after` (and, when `since` is set, with an internal date on or after
    /// it), ascending. (`UID n:*` always matches the last message even when its UID is
    /// below n, hence the filter.)
    pub async fn uids_after(
        &mut self,
        after: u32,
        since: Option<chrono::NaiveDate>,
    ) -> Result<Vec<u32>, ImapError> {
        let mut q = format!("UID {}:*", after.saturating_add(1));
        if let Some(d) = since {
            q.push_str(&format!(" SINCE {}", d.format("%-d-%b-%Y")));
        }
        let mut v = self.uid_search(&q).await?;
        v.retain(|&u| u > after);
        Ok(v)
    }

    /// All UIDs, or those with an internal date on or after `since`, ascending.
    pub async fn uids_since(
        &mut self,
        since: Option<chrono::NaiveDate>,
    ) -> Result<Vec<u32>, ImapError> {
        match since {
            Some(d) => {
                self.uid_search(&format!("SINCE {}", d.format("%-d-%b-%Y")))
                    .await
            }
            None => self.uid_search("ALL").await,
        }
    }

    /// The UIDs among `uids` whose RFC822.SIZE is over `max`, with that size, so
    /// they are never fetched whole.
    ///
    /// NOTE: `SEARCH LARGER` first, then the sizes of only what it found. Asking
    /// every message's RFC822.SIZE made the server write, and leje parse, a response
    /// per message before the first body: on Dovecot, 30 ms per 5,000 messages
    /// against 2.5 ms for the search, at the start of every FETCH of a backlog.
    pub async fn oversize(&mut self, uids: &[u32], max: u64) -> Result<Vec<(u32, u64)>, ImapError> {
        // RFC822.SIZE is a 32-bit number: nothing is over a limit at or above it.
        let max = match u32::try_from(max) {
            Ok(m) if m < u32::MAX && !uids.is_empty() => m,
            _ => return Ok(Vec::new()),
        };
        let mut big = self
            .uid_search(&format!("UID {} LARGER {max}", uid_set(uids)))
            .await?;
        big.retain(|u| uids.binary_search(u).is_ok());
        // A server that answers LARGER loosely is checked against the sizes.
        let mut sized = self.sizes(&big).await?;
        sized.retain(|&(_, n)| n > u64::from(max));
        Ok(sized)
    }

    /// RFC822.SIZE of each UID.
    async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uid_set(uids);
        // NOTE: each response is reduced to two numbers as it arrives. Collecting a
        // thousand parsed responses first (with the read buffers they refer to)
        // measured about 8 MB more at a backlog's peak.
        let mut out: Vec<(u32, u64)> = op("UID FETCH RFC822.SIZE", async {
            let mut s = self.raw.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
            let mut out = Vec::with_capacity(uids.len());
            while let Some(f) = s.next().await {
                let f = f?;
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    if uids.binary_search(&uid).is_ok() {
                        out.push((uid, u64::from(size)));
                    }
                }
            }
            Ok(out)
        })
        .await?;
        out.sort_unstable();
        out.dedup_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// The header of one message (for the Message-ID of a message too big to fetch).
    pub async fn header(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let fetches: Vec<_> = op("UID FETCH BODY.PEEK[HEADER]", async {
            let s = self
                .raw
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[HEADER])")
                .await?;
            s.collect::<Vec<_>>().await.into_iter().collect()
        })
        .await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.header().map(<[u8]>::to_vec)))
    }

    /// Starts `UID FETCH uids (UID BODY.PEEK[])`; the caller pulls one message at a time
    /// from the returned [`BodyStream`], so at most one message is held in memory.
    pub async fn fetch_bodies<'a>(
        &'a mut self,
        uids: &'a [u32],
    ) -> Result<BodyStream<'a>, ImapError> {
        let set = uid_set(uids);
        let inner: Option<FetchStream<'a>> = if uids.is_empty() {
            None
        } else {
            let st = op(
                "UID FETCH BODY.PEEK[]",
                self.raw.uid_fetch(set, "(UID BODY.PEEK[])"),
            )
            .await?;
            Some(Box::pin(st))
        };
        Ok(BodyStream { inner, uids })
    }

    /// NOOP: proves the connection is alive and lets the server report new mail.
    pub async fn noop(&mut self) -> Result<(), ImapError> {
        op("NOOP", self.raw.noop()).await
    }

    /// Pending unsolicited responses (EXISTS, EXPUNGE, …) are of no use between
    /// commands (every check searches anyway); drop them so the channel never fills.
    pub fn drain_unsolicited(&mut self) -> usize {
        let mut n = 0;
        while self.raw.unsolicited_responses.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// LOGOUT, bounded by a short timeout; errors are irrelevant at this point.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.raw.logout()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_split_by_length() {
        assert!(super::uid_sets(&[], 10).is_empty());
        assert_eq!(
            super::uid_sets(&[1, 2, 3, 7, 9, 10, 12], 8),
            vec!["1:3,7", "9:10,12"]
        );
        // One range longer than the limit still goes, alone.
        assert_eq!(super::uid_sets(&[100000, 100001], 4), vec!["100000:100001"]);
        // Every other UID, as when ignored mail stays between moved mail: no set
        // exceeds the limit, and together they name every UID exactly once.
        let uids: Vec<u32> = (1..=60_000).step_by(2).collect();
        assert!(uid_set(&uids).len() > 100_000);
        let sets = super::uid_sets(&uids, 8000);
        assert!(sets.len() > 1 && sets.iter().all(|s| s.len() <= 8000));
        let back: Vec<u32> = sets
            .iter()
            .flat_map(|s| s.split(','))
            .map(|n| n.parse::<u32>().expect("single UIDs"))
            .collect();
        assert_eq!(back, uids);
        // The same split as slices (for FETCH chunks): in order, nothing lost.
        let parts = super::split_by_set_len(&uids, 8000);
        assert_eq!(parts.len(), sets.len());
        for (p, s) in parts.iter().zip(&sets) {
            assert_eq!(uid_set(p), *s);
        }
        assert_eq!(parts.concat(), uids);
        assert_eq!(super::split_by_set_len(&[], 10), Vec::<&[u32]>::new());
        assert_eq!(super::split_by_set_len(&[1, 2, 3], 1), vec![&[1, 2, 3][..]]);
    }

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[4294967294, 4294967295]), "4294967294:4294967295");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("leje/review"), "\"leje/review\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
