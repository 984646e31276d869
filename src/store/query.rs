//! A thin query layer over the two backends, so the store's logic is written once.
//!
//! SQL is written with `$1, $2 …` placeholders, which both PostgreSQL and
//! sqlx's SQLite driver understand. Values go through [`Arg`]; rows come back
//! as [`Row`], whose typed getters work for both drivers. Only types both
//! drivers encode alike are used: `i64`, `bool`, text, and `DateTime<Utc>`
//! (TEXT in SQLite, TIMESTAMPTZ in PostgreSQL).

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Postgres, Sqlite};

use super::StoreError;

/// The connection pool of either backend.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    /// Readers, and the one writer (see `sqlite::open`).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Pg(PgPool),
}

/// An open transaction of either backend. Dropped without `commit` = rolled back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Ts(Option<DateTime<Utc>>),
    Bytes(Vec<u8>),
}

macro_rules! arg_from {
    ($t:ty, $v:ident => $e:expr) => {
        impl From<$t> for Arg {
            fn from($v: $t) -> Arg {
                $e
            }
        }
    };
}
arg_from!(i64, v => Arg::Int(Some(v)));
arg_from!(Option<i64>, v => Arg::Int(v));
arg_from!(u32, v => Arg::Int(Some(i64::from(v))));
arg_from!(Option<u32>, v => Arg::Int(v.map(i64::from)));
arg_from!(u64, v => Arg::Int(Some(i64::try_from(v).unwrap_or(i64::MAX))));
arg_from!(Option<u64>, v => Arg::Int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))));
arg_from!(bool, v => Arg::Bool(v));
arg_from!(String, v => Arg::Text(Some(v)));
arg_from!(Option<String>, v => Arg::Text(v));
arg_from!(&str, v => Arg::Text(Some(v.to_owned())));
arg_from!(Option<&str>, v => Arg::Text(v.map(str::to_owned)));
arg_from!(&String, v => Arg::Text(Some(v.clone())));
arg_from!(DateTime<Utc>, v => Arg::Ts(Some(v)));
arg_from!(Option<DateTime<Utc>>, v => Arg::Ts(v));
arg_from!(Vec<u8>, v => Arg::Bytes(v));
arg_from!(&[u8], v => Arg::Bytes(v.to_vec()));

/// A timestamp as sqlx's SQLite driver writes it (RFC 3339, `+00:00`, as many
/// fractional digits as needed), so rows written around sqlx
/// (`sqlite_raw`) compare and sort like the others.
pub(crate) fn ts_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Adds `a` to the arguments of a statement being written, returning its
/// placeholder (`$n`, n = its place in `args`).
pub(crate) fn arg(args: &mut Vec<Arg>, a: impl Into<Arg>) -> String {
    args.push(a.into());
    format!("${}", args.len())
}

/// A statement and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Q {
    sql: String,
    args: Vec<Arg>,
    /// Keep the prepared statement in the connection's cache (the default).
    persistent: bool,
}

/// Starts a statement.
pub(crate) fn q(sql: impl Into<String>) -> Q {
    Q {
        sql: sql.into(),
        args: Vec::new(),
        persistent: true,
    }
}

impl Q {
    /// Prepares the statement for this one run only.
    ///
    /// NOTE: for SQL whose text varies with its data (a multi-row INSERT, an `IN`
    /// list): cached, each row count would be its own large prepared statement in
    /// every pooled connection's cache, which grew the daemon by megabytes.
    pub(crate) fn once(mut self) -> Q {
        self.persistent = false;
        self
    }

    /// The same statement behind `prefix` (`EXPLAIN QUERY PLAN `), for tests.
    #[cfg(test)]
    pub(crate) fn prefixed(mut self, prefix: &str) -> Q {
        self.sql.insert_str(0, prefix);
        self
    }

    /// Binds the next `$n`.
    pub(crate) fn bind(mut self, a: impl Into<Arg>) -> Q {
        self.args.push(a.into());
        self
    }

    /// Binds these as the next `$n`s (gathered with [`arg`]).
    pub(crate) fn bind_all(mut self, args: Vec<Arg>) -> Q {
        self.args.extend(args);
        self
    }
}

// NOTE: the arguments are moved into the query, not cloned: a backlog's bulk
// statements carry thousands of strings each.
macro_rules! build {
    ($db:ty, $q:ident) => {{
        let mut qq = sqlx::query::<$db>(&$q.sql).persistent($q.persistent);
        for a in std::mem::take(&mut $q.args) {
            qq = match a {
                Arg::Int(v) => qq.bind(v),
                Arg::Text(v) => qq.bind(v),
                Arg::Bool(v) => qq.bind(v),
                Arg::Ts(v) => qq.bind(v),
                Arg::Bytes(v) => qq.bind(v),
            };
        }
        qq
    }};
}

impl Pool {
    /// A transaction that will write. On SQLite it starts with `BEGIN IMMEDIATE`
    /// so the write lock is taken up front.
    // NOTE: a deferred SQLite transaction that reads first and then writes
    // fails with SQLITE_BUSY_SNAPSHOT (not covered by busy_timeout) when
    // another process committed in between; IMMEDIATE waits instead.
    pub(crate) async fn write(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// A read-only (deferred) transaction: one consistent snapshot.
    pub(crate) async fn read(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Pool::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    pub(crate) fn is_pg(&self) -> bool {
        matches!(self, Pool::Pg(_))
    }
}

impl Tx {
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self, Tx::Pg(_))
    }

    /// Runs `f` on the SQLite connection's own handle, inside this transaction,
    /// with sqlx's worker held off until it returns (see `sqlite_raw`); `None` on
    /// PostgreSQL, whose callers go through sqlx.
    pub(crate) async fn on_sqlite_handle<R>(
        &mut self,
        f: impl FnOnce(std::ptr::NonNull<libsqlite3_sys::sqlite3>) -> Result<R, StoreError>,
    ) -> Result<Option<R>, StoreError> {
        let Tx::Sqlite(tx) = self else {
            return Ok(None);
        };
        let mut handle = tx.lock_handle().await?;
        f(handle.as_raw_handle()).map(Some)
    }

    /// `" FOR UPDATE"` on PostgreSQL (row lock for the rest of the transaction);
    /// empty on SQLite, where `BEGIN IMMEDIATE` already serialises writers.
    pub(crate) fn for_update(&self) -> &'static str {
        if self.is_pg() {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    pub(crate) async fn execute(&mut self, mut q: Q) -> Result<u64, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => build!(Sqlite, q).execute(&mut **tx).await?.rows_affected(),
            Tx::Pg(tx) => build!(Postgres, q)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub(crate) async fn fetch_optional(&mut self, mut q: Q) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => build!(Sqlite, q)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Sqlite),
            Tx::Pg(tx) => build!(Postgres, q)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Pg),
        })
    }

    pub(crate) async fn fetch_one(&mut self, mut q: Q) -> Result<Row, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => Row::Sqlite(build!(Sqlite, q).fetch_one(&mut **tx).await?),
            Tx::Pg(tx) => Row::Pg(build!(Postgres, q).fetch_one(&mut **tx).await?),
        })
    }

    pub(crate) async fn fetch_all(&mut self, mut q: Q) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(tx) => build!(Sqlite, q)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Pg(tx) => build!(Postgres, q)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Pg)
                .collect(),
        })
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Pg(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A result row of either backend.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

/// Types both drivers decode.
pub(crate) trait Col:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}
impl<T> Col for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

impl Row {
    /// The column `name` as `T`.
    pub(crate) fn get<T: Col>(&self, name: &str) -> Result<T, StoreError> {
        use sqlx::Row as _;
        Ok(match self {
            Row::Sqlite(r) => r.try_get::<T, _>(name)?,
            Row::Pg(r) => r.try_get::<T, _>(name)?,
        })
    }

    /// A non-negative integer column as `u32` (UIDs, attempts).
    pub(crate) fn get_u32(&self, name: &str) -> Result<u32, StoreError> {
        let v: i64 = self.get(name)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("`{name}` = {v} out of range")))
    }

    pub(crate) fn get_u64(&self, name: &str) -> Result<u64, StoreError> {
        let v: i64 = self.get(name)?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("`{name}` = {v} is negative")))
    }

    /// A column holding one of the store's string enums.
    pub(crate) fn get_enum<T: std::str::FromStr<Err = String>>(
        &self,
        name: &str,
    ) -> Result<T, StoreError> {
        let s: String = self.get(name)?;
        s.parse().map_err(StoreError::Corrupt)
    }

    pub(crate) fn get_opt_enum<T: std::str::FromStr<Err = String>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        let s: Option<String> = self.get(name)?;
        s.map(|s| s.parse().map_err(StoreError::Corrupt))
            .transpose()
    }

    /// A JSON array of strings stored as text.
    pub(crate) fn get_list(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let s: String = self.get(name)?;
        serde_json::from_str(&s)
            .map_err(|e| StoreError::Corrupt(format!("`{name}` is not a JSON list: {e}")))
    }
}

/// A list as the JSON text the store keeps.
pub(crate) fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Current time, truncated to microseconds so values round-trip identically
/// through TIMESTAMPTZ (microsecond precision) and SQLite text.
pub(crate) fn now() -> DateTime<Utc> {
    let t = Utc::now();
    trunc(t)
}

pub(crate) fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{SubsecRound, Timelike};
    let t = t.trunc_subsecs(6);
    debug_assert!(t.nanosecond().is_multiple_of(1000));
    t
}
