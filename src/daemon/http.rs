//! A deliberately tiny HTTP/1.1 server for `GET /healthz` and `GET /metrics`.
//!
//! NOTE: hand-written instead of hyper: two fixed routes, `Connection: close`,
//! no bodies to read; a full HTTP stack would double the dependency tree for that.
//! Requests are bounded (8 KiB, 5 s) and at most 32 are served at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::health::{Health, StoreFigures};

/// Reads the store's totals for `/metrics`; `None` when the store cannot be read.
pub type FiguresFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<StoreFigures>> + Send>> + Send + Sync>;

const MAX_REQUEST: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    stale_after: Duration,
    figures: FiguresFn,
    stop: impl Future<Output = ()>,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    tokio::pin!(stop);
    loop {
        let (conn, peer) = tokio::select! {
            _ = &mut stop => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: log, pause briefly, keep serving.
                    tracing::warn!("http: accept failed: {e}");
                    health.error("http", "accept", &e.to_string());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            drop(conn); // overloaded: refuse rather than queue
            continue;
        };
        let health = health.clone();
        let figures = figures.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(conn, &health, stale_after, &figures).await {
                tracing::debug!("http: {peer}: {e}");
            }
            drop(permit);
        });
    }
}

async fn handle(
    mut conn: TcpStream,
    health: &Health,
    stale_after: Duration,
    figures: &FiguresFn,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let head = tokio::time::timeout(READ_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
                return Ok(true);
            }
            if buf.len() > MAX_REQUEST {
                return Ok(true);
            }
        }
    })
    .await;
    let complete = match head {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(e),
        Err(_) => false,
    };
    let (status, ctype, body) = if !complete || buf.len() > MAX_REQUEST {
        (
            400,
            "text/plain; charset=utf-8",
            "bad request\n".to_string(),
        )
    } else {
        route(&buf, health, stale_after, figures).await
    };
    let head_only = buf.starts_with(b"HEAD ");
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    if status == 405 {
        resp.push_str("Allow: GET, HEAD\r\n");
    }
    resp.push_str("\r\n");
    if !head_only {
        resp.push_str(&body);
    }
    conn.write_all(resp.as_bytes()).await?;
    conn.shutdown().await
}

async fn route(
    req: &[u8],
    health: &Health,
    stale_after: Duration,
    figures: &FiguresFn,
) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let line = req.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return (400, TEXT, "bad request\n".into());
    };
    if !version.starts_with("HTTP/1.") {
        return (400, TEXT, "bad request\n".into());
    }
    if method != "GET" && method != "HEAD" {
        return (405, TEXT, "method not allowed\n".into());
    }
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/healthz" => {
            let (ok, body) = health.healthz(stale_after);
            (if ok { 200 } else { 503 }, TEXT, body)
        }
        "/metrics" => {
            let f = figures().await;
            if f.is_none() {
                health.error("store", "stats", "cannot read store totals for /metrics");
            }
            (
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                health.metrics(f.as_ref()),
            )
        }
        _ => (404, TEXT, "not found; try /healthz or /metrics\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            health.clone(),
            Duration::from_millis(50),
            figures,
            async {
                let _ = rx.await;
            },
        ));

        // Never checked, but the daemon is young: healthy.
        let r = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        tokio::time::sleep(Duration::from_millis(80)).await;
        let r = get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 503 "), "{r}");
        assert!(r.contains("mailbox shared: last check never"), "{r}");
        health.checked("shared", 0);
        let r = get(addr, "GET /healthz HTTP/1.0\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");

        let r = get(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"), "{r}");
        assert!(r.contains("\r\n\r\n# HELP "), "{r}");
        assert!(r.contains("leje_outbox{status=\"pending\"} 4\n"), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let len: usize = r
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());

        let r = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.ends_with("\r\n\r\n"), "{r}");
        let r = get(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
        let r = get(addr, "GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        let r = get(addr, "garbage\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 400 "), "{r}");

        tx.send(()).unwrap();
        server.await.unwrap();
    }
}
