//! A fresh PostgreSQL database per test, on the local mail stack's server.

use sqlx::{Connection, PgConnection};

/// An empty database only one test uses. Dropped (with `FORCE`, closing any pool still connected)
/// when this value is dropped; `scripts/mailstack start` also removes leftovers of killed runs.
#[derive(Debug)]
pub struct TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/<name>`: pass this to `Store::open`.
    pub url: String,
    pub name: String,
    admin_url: String,
}

fn admin_url_of(url: &str) -> String {
    // NOTE: the stack's URL has no query part, so the database is whatever follows the last `/`.
    match url.rsplit_once('/') {
        Some((base, _db)) => format!("{base}/postgres"),
        None => url.to_string(),
    }
}

impl TestDb {
    pub(super) async fn create(base_url: &str) -> TestDb {
        let admin_url = admin_url_of(base_url);
        // Names made by tests start with `leje_t_` so stale ones can be found and dropped.
        let name = format!(
            "leje_t_{}",
            super::unique_name("db").replace(['-', '.'], "_")
        );
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL `{admin_url}`: {e}"));
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE `{name}` failed: {e}"));
        let _ = conn.close().await;
        let base = admin_url.trim_end_matches("/postgres");
        TestDb {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // NOTE: Drop cannot await, and a runtime cannot be started inside the test's runtime
        // thread, so the DROP runs on a short-lived thread with its own runtime.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin_url).await.ok()?;
                let dropped =
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                let _ = conn.close().await;
                dropped.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(_))) {
            eprintln!("tests/common: could not drop test database `{}`", self.name);
        }
    }
}
