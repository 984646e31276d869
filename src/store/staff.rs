//! Staff accounts, their console sessions and failed-login records (schema 9).
//!
//! The store keeps what it is given: a password hash made by the caller
//! (argon2id, in `web::password`) and the sha256 of a session token, never the
//! token itself. Time is a parameter (`now`), so expiry is tested without sleeping.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::query::{q, Row};
use super::{Store, StoreError};

/// One staff account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    pub id: i64,
    /// Lower-case login address.
    pub email: String,
    pub admin: bool,
    /// Console language: `en` or `sq`.
    pub language: String,
    pub created_at: DateTime<Utc>,
}

/// A session found by its token, with the CSRF token of its forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub staff: StaffMember,
    pub csrf: String,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after login, however busy.
    pub absolute: Duration,
}

const STAFF_COLS: &str = "id, email, admin, language, created_at";

fn staff_from_row(r: &Row) -> Result<StaffMember, StoreError> {
    Ok(StaffMember {
        id: r.get("id")?,
        email: r.get("email")?,
        admin: r.get("admin")?,
        language: r.get("language")?,
        created_at: r.get("created_at")?,
    })
}

/// `last_seen` is written at most this often per session (not on every page).
const TOUCH_EVERY: i64 = 60;

impl Store {
    /// Adds an account; `None` when the address already has one.
    pub async fn staff_add(
        &self,
        email: &str,
        password_hash: Option<&str>,
        admin: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool().write().await?;
        let r = tx
            .fetch_optional(
                q(
                    "INSERT INTO staff (email, password_hash, admin, language, created_at) \
                   VALUES ($1, $2, $3, 'en', $4) ON CONFLICT (email) DO NOTHING RETURNING id",
                )
                .bind(email.trim().to_lowercase())
                .bind(password_hash)
                .bind(admin)
                .bind(now),
            )
            .await?;
        let id = r.map(|r| r.get("id")).transpose()?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces an account's password hash and ends its sessions; false if no such account.
    pub async fn staff_set_password(
        &self,
        email: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().write().await?;
        let email = email.trim().to_lowercase();
        let n = tx
            .execute(
                q("UPDATE staff SET password_hash = $1 WHERE email = $2")
                    .bind(password_hash)
                    .bind(&email),
            )
            .await?;
        tx.execute(
            q("DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = $1)")
                .bind(&email),
        )
        .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Every account, by address.
    pub async fn staff_list(&self) -> Result<Vec<StaffMember>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(format!("SELECT {STAFF_COLS} FROM staff ORDER BY email")))
            .await?;
        rows.iter().map(staff_from_row).collect()
    }

    /// Removes an account and its sessions; false if no such account.
    /// Events it made keep its address as their actor.
    pub async fn staff_remove(&self, email: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().write().await?;
        let email = email.trim().to_lowercase();
        tx.execute(
            q("DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE email = $1)")
                .bind(&email),
        )
        .await?;
        let n = tx
            .execute(q("DELETE FROM staff WHERE email = $1").bind(&email))
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// An account and its password hash (`None` hash: single sign-on only).
    pub async fn staff_login_info(
        &self,
        email: &str,
    ) -> Result<Option<(StaffMember, Option<String>)>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q(format!(
                    "SELECT {STAFF_COLS}, password_hash FROM staff WHERE email = $1"
                ))
                .bind(email.trim().to_lowercase()),
            )
            .await?;
        r.map(|r| Ok((staff_from_row(&r)?, r.get("password_hash")?)))
            .transpose()
    }

    /// Sets an account's console language (`en`, `sq`).
    pub async fn staff_set_language(&self, id: i64, language: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(
            q("UPDATE staff SET language = $1 WHERE id = $2")
                .bind(language)
                .bind(id),
        )
        .await?;
        tx.commit().await
    }

    /// Records a new session under the sha256 of its token.
    pub async fn session_create(
        &self,
        staff_id: i64,
        token_sha256: &str,
        csrf: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(
            q(
                "INSERT INTO staff_sessions (token_sha256, staff_id, csrf, created_at, last_seen) \
               VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(token_sha256)
            .bind(staff_id)
            .bind(csrf)
            .bind(now),
        )
        .await?;
        tx.commit().await
    }

    /// The live session with this token hash. An expired one (idle or absolute) is
    /// deleted and `None` returned; a live one's `last_seen` is moved to `now`
    /// (at most once a minute).
    pub async fn session_get(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> Result<Option<StaffSession>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q("SELECT s.id, s.email, s.admin, s.language, s.created_at, \
                   x.csrf, x.created_at AS started, x.last_seen \
                   FROM staff_sessions x JOIN staff s ON s.id = x.staff_id \
                   WHERE x.token_sha256 = $1")
                .bind(token_sha256),
            )
            .await?;
        drop(tx);
        let Some(r) = r else { return Ok(None) };
        let started: DateTime<Utc> = r.get("started")?;
        let last_seen: DateTime<Utc> = r.get("last_seen")?;
        if now - last_seen > limits.idle || now - started > limits.absolute {
            self.session_delete(token_sha256).await?;
            return Ok(None);
        }
        if now - last_seen > Duration::seconds(TOUCH_EVERY) {
            let mut tx = self.pool().write().await?;
            tx.execute(
                q("UPDATE staff_sessions SET last_seen = $1 WHERE token_sha256 = $2")
                    .bind(now)
                    .bind(token_sha256),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(Some(StaffSession {
            staff: staff_from_row(&r)?,
            csrf: r.get("csrf")?,
        }))
    }

    /// Ends a session (logout).
    pub async fn session_delete(&self, token_sha256: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(q("DELETE FROM staff_sessions WHERE token_sha256 = $1").bind(token_sha256))
            .await?;
        tx.commit().await
    }

    /// Failed logins under `key` (an account or a client address) since `since`.
    pub async fn login_failures(&self, key: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_one(
                q("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
                    .bind(key)
                    .bind(since),
            )
            .await?;
        r.get_u64("n")
    }

    /// Records one failed login under each key, and forgets failures older than `forget_before`.
    pub async fn login_failed(
        &self,
        keys: &[&str],
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        for k in keys {
            tx.execute(
                q("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                    .bind(*k)
                    .bind(now),
            )
            .await?;
        }
        tx.execute(q("DELETE FROM login_failures WHERE at < $1").bind(forget_before))
            .await?;
        tx.commit().await
    }

    /// Forgets the failures under `key` (after a successful login to that account).
    pub async fn login_failures_clear(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        tx.execute(q("DELETE FROM login_failures WHERE key = $1").bind(key))
            .await?;
        tx.commit().await
    }
}
