//! The one HTTP server (axum on hyper): `/healthz` and `/metrics` for monitoring,
//! and the staff console behind a login, each with its own middleware stack.
//!
//! [`router`] is the single composition point: every part of the site is built
//! by its own module as a `Router` and merged there.

pub mod cli;
pub mod console;
pub mod health;
pub mod password;
pub mod public;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_service::Service;

/// The parts the server is built from.
pub struct Parts {
    /// `/healthz`, `/metrics`.
    pub health: health::HealthState,
    /// The staff console; `None` when `[web] console = false`.
    pub console: Option<console::Console>,
    /// The applicants' one-click pages under `/l/`; `None` without `followup.public_url`.
    pub public: Option<public::PublicState>,
}

/// The whole site.
pub fn router(parts: Parts) -> Router {
    // Composition point: each part brings its own routes and middleware.
    let mut app = Router::new().merge(health::router(parts.health));
    if let Some(c) = parts.console {
        app = app.merge(console::router(c));
    }
    if let Some(p) = parts.public {
        app = app.merge(public::router(p));
    }
    app.fallback(health::not_found)
}

/// How long a client may take to send a request's headers (from the moment the
/// connection is ready for a request) before the connection is closed: a client
/// that trickles its headers (slowloris) holds a connection this long at most.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful stop waits for requests in flight.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `stop` resolves (requests in flight finish).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    serve_with(listener, app, stop, HEADER_READ_TIMEOUT).await
}

/// [`serve`] with another header-read timeout (tests).
// NOTE: hyper's own HTTP/1 connection builder rather than `axum::serve`, which
// offers no header-read timeout (hyper's needs a timer, which axum does not set).
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) {
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept:
                    // wait a little rather than spin.
                    tracing::debug!("http: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = match make.call(remote).await {
            Ok(s) => s,
            Err(e) => match e {},
        };
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("http: connection from {remote} ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("http: requests still running after {STOP_GRACE:?}; stopped");
    }
}
