//! `/healthz` still answers while 1,000 connections sit idle or half-sent
//! (the hand-written server it replaced refused everything past 32).

#[path = "web/support.rs"]
mod support;

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

/// Raises the soft open-file limit (each connection is two descriptors here).
fn enough_files(n: u64) {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < n {
            r.rlim_cur = n.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_under_1000_idle_connections() {
    enough_files(4096);
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = leje::store::Store::open(&url, state.path()).await.unwrap();
    let site = support::serve(&store, state.path()).await;

    let mut idle = Vec::with_capacity(1000);
    for i in 0..1000 {
        let mut c = tokio::net::TcpStream::connect(site.addr)
            .await
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        if i % 2 == 0 {
            // Half a request, never finished (slowloris).
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(c);
    }
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let (code, _, body) = tokio::time::timeout(
            Duration::from_secs(5),
            support::http(site.addr, "GET", "/healthz", None, None),
        )
        .await
        .expect("/healthz answered within 5 s");
        worst = worst.max(t.elapsed());
        assert_eq!(code, 200, "{body}");
    }
    // Pages of the console too.
    let (code, _, _) = support::http(site.addr, "GET", "/login", None, None).await;
    assert_eq!(code, 200);
    eprintln!("/healthz with 1000 idle connections: slowest of 20 answers {worst:?}");
    drop(idle);
}

/// A connection that never finishes its headers is closed once the header-read
/// timeout runs out (not before), while other clients are served; a stop still
/// lets the server end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_headers_are_cut_off() {
    use tokio::io::AsyncReadExt;
    assert!(leje::web::HEADER_READ_TIMEOUT <= Duration::from_secs(10));
    let timeout = Duration::from_millis(800);
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(leje::web::serve_with(
        listener,
        app,
        async {
            let _ = rx.await;
        },
        timeout,
    ));

    let t = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Trickled on, a byte at a time, never the blank line that ends the headers.
    let mut trickle = tokio::net::TcpStream::connect(addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let trickler = tokio::spawn(async move {
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if trickle.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    // Meanwhile others are served.
    let (code, _, body) = support::http(addr, "GET", "/healthz", None, None).await;
    assert_eq!((code, body.as_str()), (200, "ok"));
    // Closed: the read ends (EOF, maybe after a 408), and not before the timeout.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(timeout * 5, slow.read_to_end(&mut buf))
        .await
        .expect("the server closed the connection");
    let took = t.elapsed();
    assert!(read.is_ok() || buf.is_empty(), "{read:?}");
    assert!(took >= timeout - Duration::from_millis(100), "{took:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        tokio::time::timeout(timeout * 5, trickler)
            .await
            .unwrap()
            .unwrap(),
        "the trickling connection was cut off too"
    );

    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stopped")
        .unwrap();
}

/// A bad `[web]` names file, key and reason, every error at once.
#[test]
fn bad_web_config_is_reported_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leje.toml");
    let text = "[web]\npublic_url = \"leje.example.al\"\nsession_idle = \"30h\"\n\
                sso_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"proxy\"]\nnope = 1\n";
    let errs = leje::config::load_str(&path, text).unwrap_err().to_string();
    for want in [
        "web.public_url",
        "web.session_idle",
        "web.trusted_proxies[0]",
        "nope",
    ] {
        assert!(errs.contains(want), "{want} in {errs}");
    }
    assert!(errs.contains("leje.toml"), "{errs}");
    let ok = leje::config::load_str(
        &path,
        "[http]\nenabled = true\n[web]\nsession_idle = \"30m\"\n",
    )
    .unwrap();
    assert_eq!(ok.web.session_idle, Duration::from_secs(1800));
    assert!(ok.web.console && !ok.web.secure_cookies());
}
