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

use axum::Router;
use tokio::net::TcpListener;

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

/// Serves `app` on `listener` until `stop` resolves (requests in flight finish).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let svc = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, svc)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!("http: server stopped: {e}");
    }
}
