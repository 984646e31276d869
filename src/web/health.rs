//! `/healthz` and `/metrics`, as before the move to axum: plain text, no cache,
//! `Connection: close`, GET and HEAD only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// What the daemon knows about itself, as the web server needs it (implemented by
/// the daemon's `Health`, so this module does not depend on the daemon).
pub trait HealthSource: Send + Sync + 'static {
    /// `/healthz`: healthy?, and the text.
    fn healthz(&self, stale_after: Duration) -> (bool, String);
    /// `/metrics` text (reads the store's totals).
    fn metrics(&self) -> Pin<Box<dyn Future<Output = String> + Send + '_>>;
    /// Each mailbox: name, connected, seconds since the last check, last error.
    fn mailboxes(&self) -> Vec<MailboxStatus>;
}

/// One mailbox's state for the console's Today page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailboxStatus {
    pub name: String,
    pub connected: bool,
    pub last_check_secs: Option<u64>,
    pub last_error: Option<String>,
}

/// State of the monitoring routes.
#[derive(Clone)]
pub struct HealthState {
    pub health: Arc<dyn HealthSource>,
    pub stale_after: Duration,
}

pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

const TEXT: &str = "text/plain; charset=utf-8";

fn plain(status: StatusCode, ctype: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn healthz(State(s): State<HealthState>) -> Response {
    let (ok, body) = s.health.healthz(s.stale_after);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    plain(status, TEXT, body)
}

async fn metrics(State(s): State<HealthState>) -> Response {
    plain(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        s.health.metrics().await,
    )
}

/// Anything else.
pub async fn not_found() -> Response {
    plain(
        StatusCode::NOT_FOUND,
        TEXT,
        "not found; try /healthz or /metrics\n".into(),
    )
}
