//! Opening the SQLite backend: WAL, busy_timeout, foreign keys, private files.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::query::Pool;
use super::{attachments, plan, StoreError, SQLITE_MIGRATIONS};

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The file path of a `sqlite:` URL (`sqlite:PATH`, `sqlite://PATH`, query stripped).
pub(crate) fn db_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest == ":memory:" {
        return None;
    }
    Some(PathBuf::from(rest))
}

/// Page cache of the one writing connection, in KiB.
// NOTE: a backlog commit dirties more pages than 512 KiB hold, and SQLite then
// spills them to the WAL mid-transaction and writes them again when they are
// touched once more. In the ingest benchmark 2 MiB committed about 15 % faster
// than 512 KiB on 10,000 messages, but took the daemon to 25.1 MB peak on
// 30,000; 1 MiB ran as fast as 2 MiB there, at 23.8 MB.
const WRITER_CACHE_KIB: i64 = 1024;

/// Size the WAL file is cut back to once a checkpoint has emptied it, in bytes.
// NOTE: without a limit SQLite reuses the WAL file from the start but never
// shrinks it, so one large commit group (a first start on a big mailbox, a
// batch of big waybills) would leave a file that size on disk for good. 4 MiB is
// what the default auto-checkpoint (1000 pages) lets it reach anyway.
pub(crate) const WAL_SIZE_LIMIT: u64 = 4 << 20;

/// Page cache of each reading connection, in KiB. Readers (the CLI, metrics,
/// the outbox sender's look-ups) touch few pages.
const READER_CACHE_KIB: i64 = 256;

/// Opens (creating if needed) and migrates a SQLite store: up to three reading
/// connections, and one for every write.
///
/// NOTE: writes go through a pool of one connection. SQLite takes one writer at
/// a time anyway; queueing on the pool, in-process writers wait for each other
/// in order instead of polling SQLite's lock with `busy_timeout`'s sleeps, and
/// the writer keeps its prepared statements and a page cache sized for a commit
/// group while the readers stay small.
pub(crate) async fn open(url: &str, shown: &str, target: Option<i64>) -> Result<Pool, StoreError> {
    let path = db_path(url);
    if let Some(path) = &path {
        create_private_file(path)?;
    }
    // NOTE: sqlx takes no lock around SQLite migrations, so two processes
    // opening a new store at once (the daemon starting while an operator runs
    // `leje cases list`) would both try to create the tables. An exclusive
    // flock on a sidecar file serialises them; it is released when dropped.
    // It is taken before the first connection, not just around the migrations:
    // connecting switches a new file to WAL, and a process doing that while
    // another was connecting or migrating got `database is locked` at once,
    // busy_timeout notwithstanding (about one fresh-store race in ten under load).
    let _open_lock = match &path {
        Some(p) => Some(lock_for_open(p).await?),
        None => None,
    };
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|source| StoreError::Open {
            url: shown.to_owned(),
            source,
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NOTE: FULL fsyncs the WAL at every commit: after ingest returns, the
        // daemon moves the message away on the server, so the commit must survive
        // a power cut (NORMAL could lose the last transactions).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
    let connect = |max: u32, cache_kib: i64, opts: SqliteConnectOptions| {
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(opts.pragma("cache_size", format!("-{cache_kib}")))
    };
    let open_err = |source| StoreError::Open {
        url: shown.to_owned(),
        source,
    };
    // NOTE: statement journals (SQLite's undo log for one statement of a longer
    // transaction, written for every multi-row INSERT that could hit a unique
    // index) are kept in memory instead of a temporary file: a commit group's
    // bulk statements wrote each touched page there first.
    let write_opts = opts.clone().pragma("temp_store", "memory");
    let write = connect(1, WRITER_CACHE_KIB, write_opts)
        .await
        .map_err(open_err)?;
    // An in-memory database exists once per connection: one pool serves all.
    let read = if path.is_some() {
        connect(3, READER_CACHE_KIB, opts).await.map_err(open_err)?
    } else {
        write.clone()
    };
    if let Some(path) = &path {
        // NOTE: SQLite creates -wal and -shm with the database file's mode, but
        // an older store (or another tool) may have left them wider: fix all three.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                attachments::chmod(&p, 0o600)?;
            }
        }
    }
    let applied = applied_max(&write).await?;
    let migrator = plan(&SQLITE_MIGRATIONS, applied, shown, target)?;
    migrator
        .run(&write)
        .await
        .map_err(|source| StoreError::Migrate {
            url: shown.to_owned(),
            source,
        })?;
    Ok(Pool::Sqlite { read, write })
}

/// Takes an exclusive lock on `<db>.lock` (created 0600), waiting for another
/// process that is opening (connecting to, migrating) the same store.
///
/// NOTE: not a lock on the database file itself: SQLite uses POSIX record
/// locks, which the process loses when any descriptor of that file is closed.
async fn lock_for_open(db: &Path) -> Result<std::fs::File, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| StoreError::io(&lock_path, e))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| StoreError::io(&lock_path, std::io::Error::other(e)))?
        .map_err(|e| StoreError::io(&lock_path, e))
}

/// The highest migration version recorded in the database, if any.
async fn applied_max(pool: &SqlitePool) -> Result<Option<i64>, StoreError> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?,
    )
}

/// Creates the database file (0600) and its directory (0700) if missing, and
/// makes an existing file 0600, independent of the umask.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            attachments::private_dir(dir)?;
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(StoreError::io(path, e)),
    }
    let mode = std::fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .permissions()
        .mode();
    if mode & 0o777 != 0o600 {
        attachments::chmod(path, 0o600)?;
    }
    Ok(())
}
