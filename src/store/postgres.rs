//! Opening the PostgreSQL backend.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{plan, StoreError, PG_MIGRATIONS};

pub(crate) async fn open(
    url: &str,
    shown: &str,
    target: Option<i64>,
) -> Result<PgPool, StoreError> {
    let open_err = |source| StoreError::Open {
        url: shown.to_owned(),
        source,
    };
    // NOTE: a process stopped (SIGSTOP, a stall) in the middle of a transaction
    // would hold its row locks, and block the instance that took its lease over,
    // for as long as it stays stopped: the server ends such a session instead.
    let opts = url
        .parse::<PgConnectOptions>()
        .map_err(open_err)?
        .options([("idle_in_transaction_session_timeout", "15s")]);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await
        .map_err(open_err)?;
    let applied: Option<i64> = {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&pool)
            .await?;
        if exists {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await?
        } else {
            None
        }
    };
    let migrator = plan(&PG_MIGRATIONS, applied, shown, target)?;
    migrator
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            url: shown.to_owned(),
            source,
        })?;
    Ok(pool)
}
