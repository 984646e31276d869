//! Several instances on one store (issue 24): fenced leases, the live-instance
//! registry, the outbox as a claimed work queue, and exactly-once periodic jobs.
//!
//! A lease's `generation` is its fencing token: it grows on every takeover (and
//! when a holder comes back to a lease that had expired meanwhile). Each commit
//! made under a lease checks `(name, holder, generation)` and the expiry, in the
//! same transaction ([`check_fence`]): a process that lost its lease (SIGSTOP, a
//! stall, a partition) can commit nothing afterwards, even before it notices.
//! On PostgreSQL that check locks the lease row `FOR SHARE`, so a takeover waits
//! for a commit in progress and a commit never slips in after a takeover; the
//! database's clock decides expiry, so hosts with skewed clocks agree. Releases
//! arrivals and departures `NOTIFY` [`LEASE_CHANNEL`] so the others react at once.
//!
//! SQLite is one machine and one writer: the same code paths work there (with
//! the process's clock), but several instances on one SQLite file are not a
//! supported set-up.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::outbox::{outbox_from_row, OUTBOX_COLS};
use super::query::{now, q, Tx, Q};
use super::{OutboxRow, Store, StoreError};

/// How long a lease or an instance row lasts without renewal. The heartbeat
/// renews every third of it and stops the work before it can run out.
pub const INSTANCE_TTL: Duration = Duration::from_secs(15);

/// The PostgreSQL channel notified when a lease is released or an instance leaves.
pub const LEASE_CHANNEL: &str = "leje_leases";

/// What a commit made under a lease carries: whose lease, and which generation of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub name: String,
    pub holder: String,
    pub generation: i64,
}

/// One row of the lease table, for `leje status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeaseInfo {
    pub name: String,
    pub holder: String,
    pub generation: i64,
    pub since: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// Unexpired now (by the database's clock on PostgreSQL).
    pub live: bool,
}

/// One registered process, for `leje status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceInfo {
    pub holder: String,
    pub epoch: i64,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub live: bool,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)
}

/// `NOW` in SQL: the database's wall clock on PostgreSQL (not the transaction's
/// start), a bound value (`$n`) on SQLite.
fn clock(tx: &Tx, sqlite_arg: usize) -> String {
    if tx.is_pg() {
        "clock_timestamp()".into()
    } else {
        format!("${sqlite_arg}")
    }
}

/// `NOW + ttl` in SQL, the ttl (microseconds) bound as `$n` on both backends.
fn clock_plus(tx: &Tx, ttl_arg: usize, now_arg: usize) -> String {
    if tx.is_pg() {
        format!("clock_timestamp() + make_interval(secs => ${ttl_arg}::float8 / 1000000)")
    } else {
        // SQLite: the caller binds the computed expiry as `$ttl_arg` instead.
        let _ = now_arg;
        format!("${ttl_arg}")
    }
}

/// Binds the ttl argument: microseconds on PostgreSQL, the expiry on SQLite.
fn bind_ttl(tx: &Tx, query: Q, ttl: Duration, at: DateTime<Utc>) -> Q {
    if tx.is_pg() {
        query.bind(micros(ttl))
    } else {
        query.bind(at + chrono::Duration::microseconds(micros(ttl)))
    }
}

/// Fails with [`StoreError::LeaseLost`] unless `fence` is still the live lease;
/// call it inside the transaction that commits the work done under the lease.
pub(crate) async fn check_fence(tx: &mut Tx, fence: &Fence) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT generation FROM leases WHERE mailbox = $1 AND holder = $2 AND generation = $3 \
         AND expires_at > {}{}",
        clock(tx, 4),
        if tx.is_pg() { " FOR SHARE" } else { "" }
    );
    let mut query = q(sql)
        .bind(fence.name.as_str())
        .bind(fence.holder.as_str())
        .bind(fence.generation);
    if !tx.is_pg() {
        query = query.bind(now());
    }
    match tx.fetch_optional(query).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::LeaseLost(fence.name.clone())),
    }
}

async fn notify(tx: &mut Tx, payload: &str) -> Result<(), StoreError> {
    if tx.is_pg() {
        tx.execute(
            q("SELECT pg_notify($1, $2)")
                .bind(LEASE_CHANNEL)
                .bind(payload),
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Takes the lease `name` for `holder`, or renews it: its generation (the
    /// fencing token), or `None` if another holder has it unexpired. The
    /// generation grows when the lease changes hands or had expired.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        let now_sql = clock(&tx, 4);
        let exp = clock_plus(&tx, 3, 4);
        let kept = format!("leases.holder = excluded.holder AND leases.expires_at >= {now_sql}");
        let sql = format!(
            "INSERT INTO leases (mailbox, holder, expires_at, generation, since) \
             VALUES ($1, $2, {exp}, 1, {now_sql}) \
             ON CONFLICT (mailbox) DO UPDATE SET \
               generation = CASE WHEN {kept} THEN leases.generation ELSE leases.generation + 1 END, \
               since = CASE WHEN {kept} THEN leases.since ELSE excluded.since END, \
               holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < {now_sql} \
             RETURNING generation"
        );
        let mut query = bind_ttl(&tx, q(sql).bind(name).bind(holder), ttl, at);
        if !tx.is_pg() {
            query = query.bind(at);
        }
        let got = tx.fetch_optional(query).await?;
        let generation = got.map(|r| r.get::<i64>("generation")).transpose()?;
        tx.commit().await?;
        Ok(generation)
    }

    /// Gives the lease up so another process can take it at once: it expires now
    /// (the row stays, so its generation never goes back) and the others are told.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q("UPDATE leases SET expires_at = $1 WHERE mailbox = $2 AND holder = $3")
                    .bind(DateTime::<Utc>::UNIX_EPOCH)
                    .bind(name)
                    .bind(holder),
            )
            .await?;
        if n > 0 {
            notify(&mut tx, name).await?;
        }
        tx.commit().await
    }

    /// A periodic job's turn: `true` if `holder` may run job `name` now (it holds,
    /// or has just taken, the job's lease). The lease is kept, not released: the
    /// same instance runs the job every time while it lives, and another takes
    /// over only once it has been gone for `ttl`. So each run happens once across
    /// instances.
    pub async fn with_job_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self
            .take_lease(&format!("@job:{name}"), holder, ttl)
            .await?
            .is_some())
    }

    /// Registers or renews this process in the instance table; returns its epoch.
    /// A process whose row had expired (taken for dead) gets a new epoch, which
    /// voids the outbox claims it made before.
    pub async fn instance_beat(&self, holder: &str, ttl: Duration) -> Result<i64, StoreError> {
        let at = now();
        let mut tx = self.pool().write().await?;
        let now_sql = clock(&tx, 3);
        let exp = clock_plus(&tx, 2, 3);
        let sql = format!(
            "INSERT INTO instances (holder, epoch, started_at, expires_at) \
             VALUES ($1, 1, {now_sql}, {exp}) \
             ON CONFLICT (holder) DO UPDATE SET \
               epoch = CASE WHEN instances.expires_at < {now_sql} THEN instances.epoch + 1 \
                       ELSE instances.epoch END, \
               expires_at = excluded.expires_at \
             RETURNING epoch"
        );
        let mut query = bind_ttl(&tx, q(sql).bind(holder), ttl, at);
        if !tx.is_pg() {
            query = query.bind(at);
        }
        let epoch: i64 = tx.fetch_one(query).await?.get("epoch")?;
        tx.commit().await?;
        Ok(epoch)
    }

    /// This process has just registered (or come back after being taken for dead):
    /// the others are told at once, so that one holding more than its new share
    /// hands the surplus over now rather than at its next heartbeat.
    pub async fn instance_joined(&self, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        notify(&mut tx, holder).await?;
        tx.commit().await
    }

    /// This process stops: its row goes, and the others are told at once.
    pub async fn instance_leave(&self, holder: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(q("DELETE FROM instances WHERE holder = $1").bind(holder))
            .await?;
        notify(&mut tx, holder).await?;
        tx.commit().await
    }

    /// How many instances are alive (unexpired rows).
    pub async fn live_instances(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = format!(
            "SELECT COUNT(*) AS n FROM instances WHERE expires_at > {}",
            clock(&tx, 1)
        );
        let mut query = q(sql);
        if !tx.is_pg() {
            query = query.bind(now());
        }
        let n: i64 = tx.fetch_one(query).await?.get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every lease and every registered instance, for `leje status` and `/metrics`.
    pub async fn cluster_status(&self) -> Result<(Vec<LeaseInfo>, Vec<InstanceInfo>), StoreError> {
        let mut tx = self.pool().read().await?;
        let now_sql = clock(&tx, 1);
        let bind_now = |query: Q, pg: bool| if pg { query } else { query.bind(now()) };
        let pg = tx.is_pg();
        let leases = tx
            .fetch_all(bind_now(
                q(format!(
                    "SELECT mailbox, holder, generation, since, expires_at, \
                     expires_at > {now_sql} AS live FROM leases ORDER BY mailbox"
                )),
                pg,
            ))
            .await?
            .iter()
            .map(|r| {
                Ok(LeaseInfo {
                    name: r.get("mailbox")?,
                    holder: r.get("holder")?,
                    generation: r.get("generation")?,
                    since: r.get("since")?,
                    expires_at: r.get("expires_at")?,
                    live: r.get("live")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let instances = tx
            .fetch_all(bind_now(
                q(format!(
                    "SELECT holder, epoch, started_at, expires_at, expires_at > {now_sql} AS live \
                     FROM instances ORDER BY started_at, holder"
                )),
                pg,
            ))
            .await?
            .iter()
            .map(|r| {
                Ok(InstanceInfo {
                    holder: r.get("holder")?,
                    epoch: r.get("epoch")?,
                    started_at: r.get("started_at")?,
                    expires_at: r.get("expires_at")?,
                    live: r.get("live")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((leases, instances))
    }

    /// Pending outbox rows with a claim, per claim token (`holder#epoch`).
    pub async fn outbox_claims(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(
                "SELECT claimed_by, COUNT(*) AS n FROM outbox WHERE status = 'pending' \
                 AND claimed_by IS NOT NULL GROUP BY claimed_by ORDER BY claimed_by",
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.get("n")?;
                Ok((r.get("claimed_by")?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// Claims the next due pending outbox row for `token` (`holder#epoch`, see
    /// [`claim_token`]): one whose earlier claim, if any, is ours or void (its
    /// instance is gone or was taken for dead). On PostgreSQL `FOR UPDATE SKIP
    /// LOCKED` lets several senders claim side by side without waiting on or
    /// overlapping each other; on SQLite the one writer serialises claims.
    pub async fn outbox_claim_next(
        &self,
        now_at: DateTime<Utc>,
        token: &str,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let mut tx = self.pool().write().await?;
        let pg = tx.is_pg();
        let live = clock(&tx, 3);
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_at = {live} WHERE id = (\
               SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= $2 \
               AND (o.claimed_by IS NULL OR o.claimed_by = $1 OR NOT EXISTS (\
                 SELECT 1 FROM instances i WHERE o.claimed_by = i.holder || '#' || i.epoch \
                 AND i.expires_at > {live})) \
               ORDER BY o.next_attempt_at, o.id LIMIT 1{lock}) \
             RETURNING {OUTBOX_COLS}",
            lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" },
        );
        let mut query = q(sql).bind(token).bind(now_at);
        if !pg {
            query = query.bind(now());
        }
        let row = tx.fetch_optional(query).await?;
        let row = row.map(|r| outbox_from_row(&r)).transpose()?;
        tx.commit().await?;
        Ok(row)
    }

    /// Whether `token` still holds its claim on outbox row `id` (checked just
    /// before the email goes out): the row is claimed by it and its instance is
    /// alive, in the same epoch.
    pub async fn outbox_claim_held(&self, id: i64, token: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().read().await?;
        let sql = format!(
            "SELECT o.id FROM outbox o JOIN instances i ON o.claimed_by = i.holder || '#' || i.epoch \
             WHERE o.id = $1 AND o.claimed_by = $2 AND o.status = 'pending' AND i.expires_at > {}",
            clock(&tx, 3)
        );
        let mut query = q(sql).bind(id).bind(token);
        if !tx.is_pg() {
            query = query.bind(now());
        }
        Ok(tx.fetch_optional(query).await?.is_some())
    }
}

/// The claim token of a process in an epoch.
pub fn claim_token(holder: &str, epoch: i64) -> String {
    format!("{holder}#{epoch}")
}

/// This process's lease-holder identity: the configured instance name (or host
/// name) plus a random suffix drawn once per start, so two processes never share
/// a holder whatever their configs say.
pub fn process_holder(instance: &str) -> String {
    static SUFFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let suffix = SUFFIX
        .get_or_init(|| format!("{}-{:06x}", std::process::id(), fastrand::u32(..0x100_0000)));
    format!("{instance}~{suffix}")
}
