//! The bulk path's statements on SQLite, run on the writer's own connection
//! handle instead of through sqlx.
//!
//! A backlog commit writes tens of thousands of rows. Through sqlx each row's
//! values went through three representations (our [`Arg`], sqlx's argument
//! list, SQLite's bindings), were sent to sqlx's worker thread with the
//! statement, and were bound there with a name look-up per value; a 64-row
//! statement carried a thousand of them. Here one single-row statement is
//! prepared per table and stepped once per row, binding straight from the row:
//! what SQLite's own `executemany`-style loop costs, and nothing else.
//!
//! The statements run inside the caller's transaction (the connection is the
//! same), while sqlx's worker is held off by [`sqlx::sqlite::LockedSqliteHandle`].
//!
//! NOTE: this is the crate's only `unsafe` code. Every call is a plain SQLite C API
//! call on a handle that the lock keeps alive and unused by anyone else for the
//! duration; [`Stmt`] finalizes what it prepares, and values are bound as
//! `SQLITE_TRANSIENT` (copied by SQLite), so no pointer outlives its Rust owner.
#![allow(unsafe_code)]

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;

use super::query::Arg;
use super::StoreError;

/// A prepared statement on a locked connection, finalized when dropped.
struct Stmt {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
}

impl Stmt {
    fn prepare(db: NonNull<ffi::sqlite3>, sql: &str) -> Result<Stmt, StoreError> {
        let db = db.as_ptr();
        let mut stmt = std::ptr::null_mut();
        let len = c_int::try_from(sql.len()).map_err(|_| StoreError::Sqlite {
            code: ffi::SQLITE_TOOBIG,
            message: "statement too long".into(),
        })?;
        // SAFETY: `db` is an open connection held by the caller's lock; `sql`
        // is valid for `len` bytes; `stmt` receives a statement or null.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db,
                sql.as_ptr().cast(),
                len,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK || stmt.is_null() {
            return Err(error(db, rc));
        }
        Ok(Stmt { db, stmt })
    }

    /// Binds `args` to `?1`, `?2`, … (copied: nothing borrowed outlives the call).
    fn bind(&mut self, args: &[Arg]) -> Result<(), StoreError> {
        for (i, a) in args.iter().enumerate() {
            let i = c_int::try_from(i + 1).expect("fewer than 2^31 columns");
            // SAFETY (each call): `self.stmt` is a live statement and `i` one of its
            // parameters; the blob pointer is valid for its length during the call,
            // and SQLITE_TRANSIENT makes SQLite copy the bytes before it returns.
            let rc = match a {
                Arg::Text(Some(s)) => self.text(i, s),
                Arg::Ts(Some(t)) => self.text(i, &super::query::ts_text(*t)),
                Arg::Int(Some(v)) => unsafe { ffi::sqlite3_bind_int64(self.stmt, i, *v) },
                Arg::Bool(v) => unsafe { ffi::sqlite3_bind_int64(self.stmt, i, i64::from(*v)) },
                Arg::Bytes(b) => unsafe {
                    ffi::sqlite3_bind_blob64(
                        self.stmt,
                        i,
                        b.as_ptr().cast(),
                        b.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                    )
                },
                Arg::Int(None) | Arg::Text(None) | Arg::Ts(None) => unsafe {
                    ffi::sqlite3_bind_null(self.stmt, i)
                },
            };
            self.check(rc)?;
        }
        Ok(())
    }

    /// Binds text `s` to parameter `i` (copied by SQLite); SQLite's result code.
    fn text(&mut self, i: c_int, s: &str) -> c_int {
        // SAFETY: `self.stmt` is a live statement; `s` is valid for its length
        // during the call, and SQLITE_TRANSIENT makes SQLite copy it first.
        unsafe {
            ffi::sqlite3_bind_text64(
                self.stmt,
                i,
                s.as_ptr().cast(),
                s.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            )
        }
    }

    /// `Ok` for `SQLITE_OK`, else the connection's error.
    fn check(&self, rc: c_int) -> Result<(), StoreError> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.db, rc))
        }
    }

    /// Runs the statement to its first row (`true`) or to completion (`false`),
    /// then resets it for the next run (bindings are kept until rebound).
    fn run(&mut self) -> Result<bool, StoreError> {
        // SAFETY: `self.stmt` is a live statement with every parameter bound.
        let r = match unsafe { ffi::sqlite3_step(self.stmt) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(error(self.db, rc)),
        };
        // NOTE: reset's result repeats the step's error, reported above.
        // SAFETY: `self.stmt` is a live statement.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        r
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: `self.stmt` was prepared by `Stmt::prepare` and is finalized once.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

/// The connection's error for result code `rc`.
fn error(db: *mut ffi::sqlite3, rc: c_int) -> StoreError {
    // SAFETY: `db` is a live connection; `sqlite3_errmsg` returns a
    // NUL-terminated string owned by SQLite, copied here before any other call.
    let (code, message) = unsafe {
        let code = ffi::sqlite3_extended_errcode(db);
        let msg = ffi::sqlite3_errmsg(db);
        let message = if msg.is_null() {
            format!("SQLite error {rc}")
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        };
        (code, message)
    };
    StoreError::Sqlite { code, message }
}

/// Runs `sql` (one row's worth of `?` parameters) once per row of `rows`.
pub(super) fn insert_rows(
    db: NonNull<ffi::sqlite3>,
    sql: &str,
    rows: &[Vec<Arg>],
) -> Result<(), StoreError> {
    let mut stmt = Stmt::prepare(db, sql)?;
    for row in rows {
        stmt.bind(row)?;
        stmt.run()?;
    }
    Ok(())
}

/// Which of `values` `sql` (a `SELECT` with one `?` parameter) finds a row for.
pub(super) fn existing<'v>(
    db: NonNull<ffi::sqlite3>,
    sql: &str,
    values: &[&'v str],
) -> Result<Vec<&'v str>, StoreError> {
    let mut stmt = Stmt::prepare(db, sql)?;
    let mut found = Vec::new();
    for v in values {
        let rc = stmt.text(1, v);
        stmt.check(rc)?;
        if stmt.run()? {
            found.push(*v);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::store::query::{q, Tx};

    async fn memory_tx() -> Tx {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        Tx::Sqlite(pool.begin().await.unwrap())
    }

    fn args() -> Vec<Arg> {
        vec![
            Arg::Int(Some(-42)),
            Arg::Int(None),
            Arg::Text(Some("Tiranë \"x\" ' 🇦🇱".into())),
            Arg::Text(None),
            Arg::Bool(true),
            Arg::Bool(false),
            Arg::Ts(Some(Utc.timestamp_micros(1_795_000_000_123_456).unwrap())),
            Arg::Ts(Some(Utc.with_ymd_and_hms(2026, 11, 22, 21, 0, 0).unwrap())),
            Arg::Ts(None),
            Arg::Bytes(vec![0, 1, 0xff, 0]),
        ]
    }

    /// Rows written here must be the rows sqlx would have written, value for value
    /// and type for type: the rest of the store reads and compares them through sqlx.
    #[tokio::test]
    async fn values_are_stored_exactly_as_sqlx_stores_them() {
        let mut tx = memory_tx().await;
        tx.execute(q("CREATE TABLE t (src TEXT, a, b, c, d, e, f, g, h, i, j)"))
            .await
            .unwrap();
        let mut via_sqlx =
            q("INSERT INTO t VALUES ('sqlx', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
        for a in args() {
            via_sqlx = via_sqlx.bind(a);
        }
        tx.execute(via_sqlx).await.unwrap();
        let sql = "INSERT INTO t VALUES ('raw', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        tx.on_sqlite_handle(|db| insert_rows(db, sql, &[args(), args()]))
            .await
            .unwrap()
            .expect("a SQLite transaction");
        let cols: Vec<String> = "abcdefghij"
            .chars()
            .map(|c| format!("typeof({c}) || ':' || quote({c})"))
            .collect();
        let sql = format!(
            "SELECT src, {} AS v FROM t ORDER BY rowid",
            cols.join(" || ' ' || ")
        );
        let rows = tx.fetch_all(q(sql)).await.unwrap();
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.get("src").unwrap(), r.get("v").unwrap()))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].0, "raw");
        assert_eq!(got[1].1, got[0].1, "raw row differs from sqlx's");
        assert_eq!(got[2].1, got[0].1);
        // What sqlx writes, spelled out, so a change on either side shows here.
        assert!(
            got[0].1.contains("text:'2026-11-22T21:00:00+00:00'")
                && got[0].1.contains(".123456+00:00'")
                && got[0].1.contains("integer:1 integer:0")
                && got[0].1.contains("blob:X'0001FF00'"),
            "{}",
            got[0].1
        );
    }

    /// A unique violation is reported with SQLite's extended code, and is one the
    /// batch retries (another writer took the row first).
    #[tokio::test]
    async fn a_unique_violation_is_retryable_and_leaves_the_statement_reusable() {
        let mut tx = memory_tx().await;
        tx.execute(q("CREATE TABLE u (k TEXT PRIMARY KEY)"))
            .await
            .unwrap();
        tx.on_sqlite_handle(|db| {
            let row = |k: &str| vec![Arg::Text(Some(k.to_owned()))];
            let err =
                insert_rows(db, "INSERT INTO u VALUES (?)", &[row("a"), row("a")]).unwrap_err();
            match &err {
                StoreError::Sqlite { code, message } => {
                    assert_eq!(*code, 1555, "SQLITE_CONSTRAINT_PRIMARYKEY: {message}");
                    assert!(message.contains("UNIQUE"), "{message}");
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(err.is_retryable());
            // The first row stayed (the caller rolls back); look-ups see it.
            insert_rows(db, "INSERT INTO u VALUES (?)", &[row("b")]).unwrap();
            let found = existing(db, "SELECT 1 FROM u WHERE k = ?", &["a", "x", "b"]).unwrap();
            assert_eq!(found, ["a", "b"]);
            let err = Stmt::prepare(db, "SELECT nope FROM u").err().unwrap();
            assert!(err.to_string().contains("no such column"), "{err}");
            assert!(!err.is_retryable());
            Ok(())
        })
        .await
        .unwrap()
        .expect("a SQLite transaction");
    }
}
