//! The case store: cases, their event history, processed messages, waybills,
//! the outbox and IMAP checkpoints, over SQLite (default) or PostgreSQL.
//!
//! One [`Store`] type serves both backends; the logic is written once against
//! a small query layer (`query.rs`). Every message is ingested inside one
//! transaction ([`Store::ingest`], or several messages at once with
//! [`Store::ingest_batch`]), which is what makes ingestion idempotent: the same
//! origin or the same notification again changes nothing.
//!
//! Files: `types.rs` (data types), `ingest.rs` (the ingest transaction),
//! `notice.rs` (what a notification does to its case: create, update, renew,
//! flag), `bulk.rs` (a backlog's new cases in multi-row statements),
//! `cases.rs` (stage changes, listing), `citizenship.rs` (facts for the citizenship clock), `review.rs` (conflicts), `outbox.rs`,
//! `lease.rs` (leases and checkpoints), `actions.rs` (after-processing actions
//! still to apply), `attachments.rs` (private files, waybill files of schema < 5),
//! `sqlite.rs`/`postgres.rs` (opening), `cli.rs`/`output.rs`/`import.rs` (commands),
//! `views/` (what the console's pages read: `case_list` with the list's filters
//! and orders, `search_page` for how a search reads its page, `terms` for the
//! search terms kept up to date).

mod actions;
mod attachments;
pub(crate) use attachments::write_private;
pub(crate) use cases::MINTED_DOMAIN;
// The names the CLI and JSON use, for log lines too (`permit_approved`, not `PermitApproved`).
pub(crate) use ingest::kind_str;
mod bulk;
mod cases;
mod citizenship;
pub mod cli;
mod cluster;
mod followup;
mod hold;
pub mod import;
mod ingest;
mod lease;
mod notice;
mod outbox;
mod output;
mod postgres;
mod query;
mod remind;
mod replies;
mod review;
mod sqlite;
mod sqlite_raw;
pub mod staff;
mod staff_actions;
mod types;
mod unparsed;
// The console's reads (issue 19), apart from the ledger that ingest writes.
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::migrate::Migrator;

pub use cluster::{
    claim_token, process_holder, Fence, InstanceInfo, LeaseInfo, INSTANCE_TTL, LEASE_CHANNEL,
};
pub use types::{
    parse_directorate, Advanced, Case, CaseEvent, CaseFilter, Cause, Checkpoint, Conflict,
    Incoming, Ingested, Keep, MessageRecord, Origin, OutboxKind, OutboxRow, OutboxStatus, Outcome,
    Stage, Stats, StoredWaybill,
};

pub use citizenship::{
    Actor, CitizenshipFacts, CitizenshipNotice, CitizenshipRecord, FactsChange, Marriage,
    RecordsOf, ResidencePeriod,
};
pub use followup::{DueBatch, Followup, RemindState, Schedule, StepOutcome};
pub use replies::{CaseMail, MailFile, MailKind};
pub use staff::{SessionLimits, StaffMember, StaffSession};
pub use staff_actions::{CaseEdit, MAX_NOTE};

use query::Pool;

/// Migrations, embedded in the binary; applied at [`Store::open`].
pub(crate) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
pub(crate) static PG_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Everything that can go wrong in the store. Callers branch on
/// `NotFound`, `InvalidTransition` and `NewerSchema`; the rest are reported.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:PATH` nor `postgres://…`.
    #[error("unsupported store URL `{0}`: expected `sqlite:PATH` or `postgres://…`")]
    BadUrl(String),
    /// [`Store::open_existing`] found no SQLite file at `path` (and created nothing).
    #[error(
        "no store at `{}`: only `leje run` and `leje import` create one; to use another store, \
         pass `--store sqlite:PATH` (or `postgres://…`), or a config with `--config FILE` or `LEJE_CONFIG=FILE`",
        path.display()
    )]
    Missing { path: PathBuf },
    /// The database could not be reached or created.
    #[error("cannot open store `{url}`: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The store holds a migration this leje does not know: it was written by a newer leje.
    #[error(
        "the store `{url}` was written by a newer leje: it is at schema version {found}, \
         this leje knows versions up to {known}; upgrade leje (or point it at another store)"
    )]
    NewerSchema { url: String, found: i64, known: i64 },
    /// Applying the migrations failed.
    #[error("cannot migrate store `{url}`: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// No such case (the travel document is shown redacted) or row.
    #[error("not found: {0}")]
    NotFound(String),
    /// The lease this work was done under expired or was taken over: nothing committed.
    #[error("the lease `{0}` was lost (expired or taken over); nothing was committed")]
    LeaseLost(String),
    /// The requested stage change is not allowed.
    #[error(
        "cannot move a case from `{from}` to `{to}`; from `{from}` it can go to: {}",
        list_stages(allowed)
    )]
    InvalidTransition {
        from: Stage,
        to: Stage,
        allowed: Vec<Stage>,
    },
    /// A case's stage disagrees with its event history.
    #[error("case {case_id} is at `{stage}` but its last event says `{last_event}`")]
    Inconsistent {
        case_id: i64,
        stage: Stage,
        last_event: String,
    },
    /// `cases resolve` on a case that is not waiting for review.
    #[error("case {case_id} is at `{stage}`, not `needs_review`: nothing to resolve")]
    NotInReview { case_id: i64, stage: Stage },
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A database error from a statement run on SQLite's handle directly
    /// (the bulk path, `sqlite_raw`): the extended result code and message.
    #[error("database error: {message} (SQLite code {code})")]
    Sqlite { code: i32, message: String },
    /// Reading or writing a file under the state directory.
    #[error("`{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A citizenship fact or residence period that cannot be right (an end before its start).
    #[error("{0}")]
    CitizenshipInput(String),
    /// A value in the database that this leje cannot read.
    #[error("unreadable value in the store: {0}")]
    Corrupt(String),
}

fn list_stages(v: &[Stage]) -> String {
    if v.is_empty() {
        return "nothing (terminal stage)".into();
    }
    v.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// A conflict with a concurrent writer that retrying resolves: unique
    /// violation, serialization failure or deadlock (PostgreSQL), busy (SQLite).
    pub(crate) fn is_retryable(&self) -> bool {
        // SQLite's extended result codes: unique and primary-key violation; busy,
        // busy-recovery, busy-snapshot; locked.
        let sqlite = |code: i32| matches!(code, 2067 | 1555 | 5 | 261 | 517 | 6);
        let e = match self {
            StoreError::Sqlite { code, .. } => return sqlite(*code),
            StoreError::Db(e) => e,
            _ => return false,
        };
        let Some(db) = e.as_database_error() else {
            return false;
        };
        let code = db.code();
        db.is_unique_violation()
            || matches!(code.as_deref(), Some("40001" | "40P01"))
            || code.and_then(|c| c.parse().ok()).is_some_and(sqlite)
    }
}

/// The case store. Cheap to clone (an `Arc` around a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    /// The URL with any password removed, for messages.
    url: String,
    attachments: PathBuf,
    /// Whether [`Store::ingest_batch`] may take its bulk path (tests compare both).
    bulk: std::sync::atomic::AtomicBool,
}

impl Store {
    /// Opens (creating if needed) the store at `url` (`sqlite:PATH` or
    /// `postgres://…`) and applies pending migrations. Waybills stored before
    /// schema 5 are read from `state_dir/attachments`. Refuses a store written by a newer leje.
    pub async fn open(url: &str, state_dir: &Path) -> Result<Store, StoreError> {
        Self::open_inner(url, state_dir, None, true).await
    }

    /// Opens a store that must exist already, for commands that look at or change what is in
    /// it (`cases`, `messages`, `outbox`): a missing SQLite file is [`StoreError::Missing`] and
    /// nothing is created, neither the file nor the state directory. Only `run` and `import`
    /// use [`Store::open`]. (A PostgreSQL database is never created by leje either way.)
    pub async fn open_existing(url: &str, state_dir: &Path) -> Result<Store, StoreError> {
        if let Some(path) = sqlite::db_path(url).filter(|p| !p.exists()) {
            return Err(StoreError::Missing { path });
        }
        Self::open_inner(url, state_dir, None, false).await
    }

    /// Opens the store migrated only up to schema `version`. For tests of
    /// migrations from an older schema; not for normal use.
    #[doc(hidden)]
    pub async fn open_at_version(
        url: &str,
        state_dir: &Path,
        version: i64,
    ) -> Result<Store, StoreError> {
        Self::open_inner(url, state_dir, Some(version), true).await
    }

    async fn open_inner(
        url: &str,
        state_dir: &Path,
        target: Option<i64>,
        create: bool,
    ) -> Result<Store, StoreError> {
        let shown = redact_url(url);
        if create || state_dir.is_dir() {
            attachments::private_dir(state_dir)?;
        }
        // Waybills stored before schema 5; read only, kept private if there.
        let attachments = state_dir.join("attachments");
        if attachments.is_dir() {
            attachments::private_dir(&attachments)?;
        }
        let pool = if url.starts_with("sqlite:") {
            sqlite::open(url, &shown, target).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Pg(postgres::open(url, &shown, target).await?)
        } else {
            return Err(StoreError::BadUrl(shown));
        };
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                url: shown,
                attachments,
                bulk: std::sync::atomic::AtomicBool::new(true),
            }),
        })
    }

    /// The store URL without its password, for messages and logs.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Whether this store is PostgreSQL (leases matter across machines).
    pub fn is_postgres(&self) -> bool {
        self.inner.pool.is_pg()
    }

    /// Where waybills stored before schema 5 (one file each) are read from.
    pub fn attachments_dir(&self) -> &Path {
        &self.inner.attachments
    }

    /// Turns the bulk path of [`Store::ingest_batch`] off (every message then takes
    /// the per-message path), so tests can check that both give the same store.
    #[doc(hidden)]
    pub fn set_bulk_ingest(&self, on: bool) {
        self.inner
            .bulk
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn bulk_ingest(&self) -> bool {
        self.inner.bulk.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        match &self.inner.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Pg(p) => p.close().await,
        }
    }
}

/// Picks the migrations to apply (all, or up to `target`) and refuses a
/// store that already holds a version this leje does not know.
pub(crate) fn plan(
    all: &'static Migrator,
    applied_max: Option<i64>,
    url: &str,
    target: Option<i64>,
) -> Result<Migrator, StoreError> {
    let known = all.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(found) = applied_max.filter(|v| *v > known) {
        return Err(StoreError::NewerSchema {
            url: url.to_owned(),
            found,
            known,
        });
    }
    let migrations: Vec<_> = all
        .iter()
        .filter(|m| target.is_none_or(|t| m.version <= t))
        .cloned()
        .collect();
    Ok(Migrator {
        migrations: std::borrow::Cow::Owned(migrations),
        ignore_missing: target.is_some(),
        locking: true,
        no_tx: false,
    })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((creds, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Travel-document numbers in log lines and error messages are redacted.
pub(crate) use crate::logging::redact_doc;

/// Compile-time check: the store's futures can be spawned (Send + 'static
/// callers), which the daemon relies on.
#[allow(dead_code)]
fn _futures_are_spawnable(s: Store, p: crate::parse::ParsedMessage) {
    tokio::spawn(async move {
        let inc = Incoming {
            origin: Origin::Imap {
                mailbox: "m",
                uidvalidity: 1,
                uid: 1,
            },
            raw_sha256: "x",
            size: 1,
            parsed: &p,
            forwarder_is_staff: false,
            trust: &crate::trust::Verdict::vouched("a compile-time check"),
        };
        let _ = s.ingest(&inc).await;
        let _ = s.checkpoint("m").await;
        let _ = s
            .set_checkpoint(
                "m",
                Checkpoint {
                    uidvalidity: 1,
                    last_uid: 1,
                },
            )
            .await;
        let _ = s.record_skipped(&inc.origin, None, "r").await;
        let _ = s.already_processed(None, "x").await;
        let _ = s
            .try_lease("m", "h", std::time::Duration::from_secs(1))
            .await;
        let _ = s.release_lease("m", "h").await;
        let _ = s.outbox_due(chrono::Utc::now(), 1).await;
        let _ = s.outbox_mark_sent(1, &[]).await;
        let _ = s
            .outbox_mark_retry(1, "e", chrono::Utc::now(), chrono::Utc::now())
            .await;
        let _ = s.outbox_mark_failed(1, "e").await;
        let _ = s.outbox_list(None).await;
        let _ = s.outbox_requeue(1).await;
        let _ = s.sent_count_since("a", chrono::Utc::now()).await;
        let _ = s.case_by_id(1).await;
        let _ = s.case_waybills(1).await;
        let _ = s.stats().await;
        let _ = s.advance("d", Stage::Closed, Cause::Cli, None).await;
        let _ = s.resolve_review("d", Keep::Old, None).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_docs_are_redacted() {
        assert_eq!(
            redact_url("postgres://leje:hunter2@db/leje"),
            "postgres://leje:***@db/leje"
        );
        assert_eq!(
            redact_url("sqlite:/var/lib/leje/leje.db"),
            "sqlite:/var/lib/leje/leje.db"
        );
        assert!(!redact_doc("AB1234567").contains("12345"));
    }

    #[test]
    fn newer_schema_is_refused_with_both_versions() {
        let err = plan(&SQLITE_MIGRATIONS, Some(99), "sqlite:x.db", None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("99") && msg.contains("version"), "{msg}");
    }
}
