//! Sharing the mailboxes out among instances (issue 24): a heartbeat that keeps
//! this process registered and its leases renewed, independent of mailbox work;
//! a fair share of at most ⌈M/N⌉ mailboxes for N live instances; and the
//! mailbox workers started and stopped as leases are won, given up or lost.
//!
//! Every [`HEARTBEAT`] (or at once when PostgreSQL says a lease was released or an
//! instance joined or left, `LISTEN` on [`LEASE_CHANNEL`]) one tick: renew this process's
//! instance row and every lease it holds; a lease that is gone (taken over, or
//! expired while this process was stopped) aborts its worker at once; if renewals
//! keep failing, every worker is aborted before its lease can run out. Then the
//! share: above it, the surplus workers stop gracefully and release their leases
//! (which wakes the others); below it, free mailboxes are taken.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::ingest::Ctx;
use super::worker::{self, stopped};
use crate::config::MailboxSettings;
use crate::store::{Fence, Store, INSTANCE_TTL, LEASE_CHANNEL};

/// Time between heartbeats: a third of the lease.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long a graceful stop may take before the worker is aborted.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// What the daemon tells the coordinator.
pub enum Command {
    /// The configured mailboxes changed (SIGHUP).
    SetMailboxes(Vec<MailboxSettings>),
}

struct Held {
    mb: MailboxSettings,
    generation: i64,
    renewed: Instant,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// The share-out of mailboxes for one process.
pub struct Coordinator {
    ctx: Arc<Ctx>,
    mailboxes: BTreeMap<String, MailboxSettings>,
    held: BTreeMap<String, Held>,
    /// Workers stopping gracefully; their lease is released once they end.
    stopping: BTreeMap<String, JoinHandle<()>>,
    epoch: Option<i64>,
    beat_ok: Instant,
    warned_twin: bool,
    /// Woken when a graceful stop is done (its mailbox may be taken again).
    wake: Arc<Notify>,
    /// Live instances at the last tick.
    live: u64,
    /// When the first lease held by another instance runs out (at the last tick).
    next_expiry: Option<chrono::DateTime<chrono::Utc>>,
}

/// Fair share: at most ⌈M/N⌉ of `m` mailboxes for `n` live instances.
pub fn share(m: usize, n: u64) -> usize {
    let n = usize::try_from(n.max(1)).unwrap_or(usize::MAX);
    m.div_ceil(n)
}

impl Coordinator {
    pub fn new(ctx: Arc<Ctx>, mailboxes: &[MailboxSettings], wake: Arc<Notify>) -> Coordinator {
        Coordinator {
            ctx,
            mailboxes: mailboxes
                .iter()
                .map(|m| (m.name.clone(), m.clone()))
                .collect(),
            held: BTreeMap::new(),
            stopping: BTreeMap::new(),
            epoch: None,
            beat_ok: Instant::now(),
            warned_twin: false,
            wake,
            live: 1,
            next_expiry: None,
        }
    }

    fn holder(&self) -> &str {
        &self.ctx.instance
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Runs until `stop`; then stops every worker, releases their leases and
    /// deregisters this process, so the others take over at once.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        mut commands: mpsc::Receiver<Command>,
        listening: tokio::sync::oneshot::Receiver<()>,
    ) {
        let wake = self.wake.clone();
        // NOTE: register only once releases will be heard, or a release right
        // after start-up would wait for the next heartbeat.
        let _ = tokio::time::timeout(HEARTBEAT, listening).await;
        loop {
            self.tick().await;
            let next = self.next_tick();
            tokio::select! {
                _ = stopped(&mut stop) => break,
                _ = tokio::time::sleep(next) => {}
                _ = wake.notified() => {}
                Some(cmd) = commands.recv() => self.command(cmd).await,
            }
        }
        let names: Vec<String> = self.held.keys().cloned().collect();
        for n in &names {
            self.stop_gracefully(n);
        }
        for (name, h) in std::mem::take(&mut self.stopping) {
            let _ = h.await;
            tracing::debug!(mailbox = %name, "worker stopped, lease released");
        }
        if let Err(e) = self.store().instance_leave(self.holder()).await {
            tracing::warn!("cannot deregister this instance: {e}");
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::SetMailboxes(list) => {
                let new: BTreeMap<String, MailboxSettings> =
                    list.into_iter().map(|m| (m.name.clone(), m)).collect();
                let names: Vec<String> = self.held.keys().cloned().collect();
                for n in names {
                    match new.get(&n) {
                        None => {
                            tracing::info!(mailbox = %n, "removed from the config: stopping");
                            self.stop_gracefully(&n);
                        }
                        Some(mb) if self.held.get(&n).is_some_and(|h| &h.mb != mb) => {
                            tracing::info!(mailbox = %n, "settings changed: restarting its worker");
                            self.stop_gracefully(&n);
                        }
                        Some(_) => {}
                    }
                }
                for n in self.mailboxes.keys() {
                    if !new.contains_key(n) {
                        self.ctx.health.remove_mailbox(n);
                    }
                }
                self.mailboxes = new;
            }
        }
    }

    /// One heartbeat: renew, then rebalance.
    pub async fn tick(&mut self) {
        self.reap();
        if !self.beat().await {
            return;
        }
        self.renew().await;
        let live = match self.store().live_instances().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("cannot count live instances: {e}");
                return;
            }
        };
        self.live = live;
        let quota = share(self.mailboxes.len(), live);
        self.vouch_for_others().await;
        // Above the share: hand the surplus over (the last ones by name).
        while self.held.len() > quota {
            let Some(name) = self.held.keys().next_back().cloned() else {
                break;
            };
            tracing::info!(mailbox = %name, live, quota, "more instances now: handing this mailbox over");
            self.stop_gracefully(&name);
        }
        if self.held.len() >= quota {
            return;
        }
        // Below it: take free ones, starting at a place of our own so that
        // instances starting together do not all race for the same mailbox.
        let free: Vec<String> = self
            .mailboxes
            .keys()
            .filter(|n| !self.held.contains_key(*n) && !self.stopping.contains_key(*n))
            .cloned()
            .collect();
        if free.is_empty() {
            return;
        }
        let start = (fxhash(self.holder()) as usize) % free.len();
        for i in 0..free.len() {
            if self.held.len() >= quota {
                break;
            }
            let name = &free[(start + i) % free.len()];
            match self
                .store()
                .take_lease(name, self.holder(), INSTANCE_TTL)
                .await
            {
                Ok(Some(generation)) => self.start(name.clone(), generation),
                Ok(None) => {}
                Err(e) => tracing::warn!(mailbox = %name, "cannot take the lease: {e}"),
            }
        }
    }

    /// A mailbox another live instance works is not stale here: `/healthz` of a
    /// standby stays healthy. One nobody holds goes stale as before.
    /// Also notes when the first of those leases runs out, so that a process
    /// below its share looks again right then rather than up to a heartbeat later.
    async fn vouch_for_others(&mut self) {
        self.next_expiry = None;
        let Ok((leases, _)) = self.store().cluster_status().await else {
            return;
        };
        for l in leases {
            let mine = self.held.contains_key(&l.name) || self.stopping.contains_key(&l.name);
            if l.live && !mine && self.mailboxes.contains_key(&l.name) {
                self.ctx.health.touch(&l.name);
                if self.next_expiry.is_none_or(|t| l.expires_at < t) {
                    self.next_expiry = Some(l.expires_at);
                }
            }
        }
    }

    /// When to tick next: a heartbeat from now, sooner while a worker is stopping
    /// or when a lease this process could take is about to run out.
    fn next_tick(&self) -> Duration {
        if !self.stopping.is_empty() {
            return Duration::from_millis(200);
        }
        let quota = share(self.mailboxes.len(), self.live);
        match self.next_expiry {
            Some(at) if self.held.len() < quota => {
                let ms = (at - chrono::Utc::now()).num_milliseconds() + 50;
                Duration::from_millis(u64::try_from(ms).unwrap_or(0).max(50)).min(HEARTBEAT)
            }
            _ => HEARTBEAT,
        }
    }

    /// Renews this process's instance row. `false` when the tick should go no
    /// further (the store is unreachable).
    async fn beat(&mut self) -> bool {
        let beat = self.store().instance_beat(self.holder(), INSTANCE_TTL);
        match within_heartbeat(beat).await {
            Ok(epoch) => {
                if self.epoch.is_some_and(|e| e != epoch) {
                    tracing::warn!("this instance was taken for dead (stopped or cut off past its lease): dropping every mailbox");
                    self.abort_all();
                }
                if self.epoch.is_none() {
                    self.warn_twins().await;
                }
                if self.epoch != Some(epoch) {
                    // NOTE: a holder above its new share hands the surplus over at
                    // once; waiting for its heartbeat left the newcomer idle for up
                    // to 5 s (most of a 12 x 2,000 backlog with 3 instances).
                    if let Err(e) = self.store().instance_joined(self.holder()).await {
                        tracing::debug!("cannot announce this instance: {e}");
                    }
                }
                self.epoch = Some(epoch);
                self.beat_ok = Instant::now();
                true
            }
            Err(e) => {
                tracing::warn!("heartbeat failed: {e}");
                self.deadline_passed(self.beat_ok);
                false
            }
        }
    }

    /// A second process with the same `instance` is a distinct holder: say so.
    async fn warn_twins(&mut self) {
        if self.warned_twin {
            return;
        }
        let me = self.holder().to_owned();
        let Some((name, _)) = me.split_once('~') else {
            return;
        };
        let prefix = format!("{name}~");
        if let Ok((_, instances)) = self.store().cluster_status().await {
            let twins: Vec<&str> = instances
                .iter()
                .filter(|i| i.live && i.holder.starts_with(&prefix) && i.holder != me)
                .map(|i| i.holder.as_str())
                .collect();
            if !twins.is_empty() {
                self.warned_twin = true;
                tracing::warn!(holder = %me, others = %twins.join(", "), "another process runs with the same instance name `{name}`; each is a distinct lease holder");
            }
        }
    }

    async fn renew(&mut self) {
        let names: Vec<String> = self.held.keys().cloned().collect();
        for name in names {
            let r =
                within_heartbeat(self.store().take_lease(&name, self.holder(), INSTANCE_TTL)).await;
            let Some(h) = self.held.get_mut(&name) else {
                continue;
            };
            match r {
                Ok(Some(g)) if g == h.generation => h.renewed = Instant::now(),
                Ok(_) => {
                    tracing::warn!(mailbox = %name, "mailbox lease lost (taken over, or expired while this process was stalled): stopping its worker now");
                    self.abort(&name);
                }
                Err(e) => {
                    tracing::warn!(mailbox = %name, "cannot renew the lease: {e}");
                    let renewed = h.renewed;
                    if self.expiring(renewed) {
                        tracing::error!(mailbox = %name, "lease about to run out unrenewed: stopping its worker");
                        self.abort(&name);
                    }
                }
            }
        }
    }

    /// Whether a lease last renewed at `at` is within one heartbeat of expiring.
    fn expiring(&self, at: Instant) -> bool {
        at.elapsed() + HEARTBEAT >= INSTANCE_TTL
    }

    fn deadline_passed(&mut self, at: Instant) {
        if self.expiring(at) && !self.held.is_empty() {
            tracing::error!("cannot reach the store to renew the leases: stopping every worker before they run out");
            self.abort_all();
        }
    }

    fn start(&mut self, name: String, generation: i64) {
        let Some(mb) = self.mailboxes.get(&name).cloned() else {
            return;
        };
        let (tx, rx) = watch::channel(false);
        self.ctx.health.add_mailbox(&name);
        let fence = Fence {
            name: name.clone(),
            holder: self.holder().to_owned(),
            generation,
        };
        let handle = tokio::spawn(worker::run_mailbox(mb.clone(), self.ctx.clone(), rx, fence));
        self.held.insert(
            name,
            Held {
                mb,
                generation,
                renewed: Instant::now(),
                stop: tx,
                handle,
            },
        );
    }

    /// Stops the worker at once (the lease is gone: nothing it does would commit).
    fn abort(&mut self, name: &str) {
        if let Some(h) = self.held.remove(name) {
            h.handle.abort();
            self.ctx.health.set_connected(name, false);
        }
    }

    fn abort_all(&mut self) {
        let names: Vec<String> = self.held.keys().cloned().collect();
        for n in names {
            self.abort(&n);
        }
    }

    /// Lets the worker finish the message in hand and log out, then releases the lease.
    fn stop_gracefully(&mut self, name: &str) {
        let Some(h) = self.held.remove(name) else {
            return;
        };
        let _ = h.stop.send(true);
        let store = self.ctx.store.clone();
        let holder = self.holder().to_owned();
        let name_owned = name.to_owned();
        let wake = self.wake.clone();
        let mut handle = h.handle;
        self.stopping.insert(
            name.to_owned(),
            tokio::spawn(async move {
                if tokio::time::timeout(STOP_GRACE, &mut handle).await.is_err() {
                    tracing::error!(mailbox = %name_owned, "mailbox worker did not stop within {STOP_GRACE:?}");
                    handle.abort();
                }
                if let Err(e) = store.release_lease(&name_owned, &holder).await {
                    tracing::warn!(mailbox = %name_owned, "cannot release the lease: {e}");
                }
                wake.notify_one();
            }),
        );
    }

    /// Forgets finished graceful stops, and workers that ended by themselves
    /// (a commit found the lease lost): their leases are released.
    fn reap(&mut self) {
        self.stopping.retain(|_, h| !h.is_finished());
        let ended: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.handle.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        for n in ended {
            self.stop_gracefully(&n);
        }
    }
}

/// A store call of the heartbeat, given up after one heartbeat (a hung store
/// must not keep the heartbeat from stopping the workers in time).
async fn within_heartbeat<T>(
    f: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, String> {
    match tokio::time::timeout(HEARTBEAT, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer from the store within {HEARTBEAT:?}")),
    }
}

/// A small stable hash (FNV-1a) of the holder, to spread starting points.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// On PostgreSQL: wakes `wake` whenever a lease is released or an instance
/// joins or leaves (`NOTIFY` on [`LEASE_CHANNEL`]); the heartbeat's polling is the
/// fallback while the listener is down. Ends at `stop`.
/// `ready` is sent once the first `LISTEN` is in place (dropped on SQLite or failure).
pub async fn listen(
    url: String,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    if !url.starts_with("postgres") {
        return;
    }
    let mut ready = Some(ready);
    loop {
        let connected = async {
            let mut l = sqlx::postgres::PgListener::connect(&url).await?;
            l.listen(LEASE_CHANNEL).await?;
            if let Some(r) = ready.take() {
                let _ = r.send(());
            }
            loop {
                let n = l.recv().await?;
                tracing::debug!(
                    payload = n.payload(),
                    "lease released, or instance joined or left"
                );
                wake.notify_one();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            _ = stopped(&mut stop) => return,
            r = connected => {
                if let Err(e) = r {
                    tracing::debug!("lease listener: {e}; polling meanwhile");
                }
            }
        }
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
}

/// A periodic job run once across instances: only the holder of the job's
/// lease runs it, every `interval` (and at once when it takes the lease over).
/// The lease is short and renewed every [`HEARTBEAT`], also while the job runs,
/// so another instance takes the job over within seconds of its holder's end.
/// Released at `stop`.
pub async fn job_loop<F, Fut>(
    store: Store,
    holder: String,
    name: &'static str,
    interval: Duration,
    mut job: F,
    mut stop: watch::Receiver<bool>,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut last_run: Option<Instant> = None;
    let mut holding = false;
    loop {
        match store.with_job_lease(name, &holder, INSTANCE_TTL).await {
            Ok(true) => {
                let due = !holding || last_run.is_none_or(|t| t.elapsed() >= interval);
                holding = true;
                if due {
                    last_run = Some(Instant::now());
                    let run = job();
                    tokio::pin!(run);
                    loop {
                        tokio::select! {
                            _ = &mut run => break,
                            _ = tokio::time::sleep(HEARTBEAT) => {
                                if let Err(e) = store.with_job_lease(name, &holder, INSTANCE_TTL).await {
                                    tracing::warn!(job = name, "cannot renew the job's lease: {e}");
                                }
                            }
                        }
                    }
                }
            }
            Ok(false) => {
                holding = false;
                tracing::debug!(job = name, "another instance runs this job");
            }
            Err(e) => {
                holding = false;
                tracing::warn!(job = name, "cannot take the job's lease: {e}");
            }
        }
        tokio::select! {
            _ = stopped(&mut stop) => break,
            _ = tokio::time::sleep(HEARTBEAT.min(interval)) => {}
        }
    }
    let _ = store.release_lease(&format!("@job:{name}"), &holder).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fair_share_is_the_ceiling() {
        assert_eq!(share(4, 2), 2);
        assert_eq!(share(4, 1), 4);
        assert_eq!(share(5, 2), 3);
        assert_eq!(share(12, 3), 4);
        assert_eq!(share(1, 3), 1);
        assert_eq!(share(3, 0), 3, "no live row yet counts as one");
        assert_eq!(share(0, 2), 0);
    }
}
