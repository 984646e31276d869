//! Wires the web server ([`crate::web`]) into the daemon: the daemon's health and
//! the store's totals for `/healthz` and `/metrics`, and the staff console.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::health::{Health, StoreFigures};
use crate::store::Store;
use crate::web::health::{HealthSource, MailboxStatus};

/// Reads the store's totals for `/metrics`; `None` when the store cannot be read.
pub type FiguresFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<StoreFigures>> + Send>> + Send + Sync>;

/// The daemon's [`Health`] with the store's totals, as the web server reads them.
pub struct DaemonHealth {
    pub health: Arc<Health>,
    pub figures: FiguresFn,
}

impl HealthSource for DaemonHealth {
    fn healthz(&self, stale_after: Duration) -> (bool, String) {
        self.health.healthz(stale_after)
    }

    fn metrics(&self) -> Pin<Box<dyn Future<Output = String> + Send + '_>> {
        Box::pin(async move {
            let f = (self.figures)().await;
            if f.is_none() {
                self.health
                    .error("store", "stats", "cannot read store totals for /metrics");
            }
            self.health.metrics(f.as_ref())
        })
    }

    fn mailboxes(&self) -> Vec<MailboxStatus> {
        self.health
            .snapshot()
            .into_iter()
            .map(|(name, m)| MailboxStatus {
                name,
                connected: m.connected,
                last_check_secs: m.last_check.map(|t| t.elapsed().as_secs()),
                last_error: m.last_error,
            })
            .collect()
    }
}

/// The whole site for `leje run`: monitoring, and the console unless it is off.
pub fn app(
    settings: &crate::config::Settings,
    http: &crate::config::HttpSettings,
    store: &Store,
    health: Arc<Health>,
    figures: FiguresFn,
) -> axum::Router {
    let source: Arc<dyn HealthSource> = Arc::new(DaemonHealth { health, figures });
    let console = settings
        .web
        .console
        .then(|| crate::web::console::Console::new(store.clone(), settings, source.clone()));
    let public = settings.followup.public_url.as_ref().and_then(|_| {
        crate::web::public::PublicState::from_settings(store.clone(), settings)
            .map_err(|e| tracing::error!("the one-click pages are off: {e}"))
            .ok()
    });
    crate::web::router(crate::web::Parts {
        health: crate::web::health::HealthState {
            health: source,
            stale_after: http.stale_after,
        },
        console,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn get(addr: std::net::SocketAddr, req: &str) -> String {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn routes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let health = Arc::new(Health::new(["shared"]));
        let figures: FiguresFn = Arc::new(|| {
            Box::pin(async {
                Some(StoreFigures {
                    outbox_by_status: vec![("pending".into(), 4)],
                    ..Default::default()
                })
            })
        });
        let app = crate::web::router(crate::web::Parts {
            health: crate::web::health::HealthState {
                health: Arc::new(DaemonHealth {
                    health: health.clone(),
                    figures,
                }),
                stale_after: Duration::from_millis(50),
            },
            console: None,
            public: None,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::web::serve(listener, app, async {
            let _ = rx.await;
        }));

        // Never checked, but the daemon is young: healthy.
        let r = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        tokio::time::sleep(Duration::from_millis(80)).await;
        let r = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 503 "), "{r}");
        assert!(r.contains("mailbox shared: last check never"), "{r}");
        health.checked("shared", 0);
        let r = get(addr, "GET /healthz HTTP/1.0\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") || r.starts_with("HTTP/1.0 200 OK\r\n"),
            "{r}"
        );

        let r = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let lower = r.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: text/plain; version=0.0.4"),
            "{r}"
        );
        assert!(lower.contains("cache-control: no-store"), "{r}");
        assert!(r.contains("\r\n\r\n# HELP "), "{r}");
        assert!(r.contains("leje_outbox{status=\"pending\"} 4\n"), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let len: usize = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());

        let r = get(addr, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.ends_with("\r\n\r\n"), "{r}");
        let r = get(
            addr,
            "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
        let r = get(addr, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        let r = get(addr, "garbage\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 400 "), "{r}");

        tx.send(()).unwrap();
        server.await.unwrap();
    }
}
