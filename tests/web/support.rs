//! Harness of the console tests: a store with real notifications in it, the
//! console served on loopback, Debian's chromedriver + headless Chromium driven
//! over WebDriver (fantoccini), and a raw HTTP client for what a browser would
//! never send (a POST without its CSRF token).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use leje::store::Store;
use leje::web::health::{HealthSource, MailboxStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const STAFF: &str = "ana@agency.example";
pub const PASSWORD: &str = "correct horse battery";

/// Health for the console without a daemon: one mailbox, checked.
pub struct FixedHealth;

impl HealthSource for FixedHealth {
    fn healthz(&self, _: Duration) -> (bool, String) {
        (true, "ok\n".into())
    }
    fn metrics(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send + '_>> {
        Box::pin(async { String::new() })
    }
    fn mailboxes(&self) -> Vec<MailboxStatus> {
        vec![MailboxStatus {
            name: "shared".into(),
            connected: true,
            last_check_secs: Some(12),
            last_error: None,
        }]
    }
}

/// The console on a loopback port, over `store`.
pub struct Site {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn serve(store: &Store, state_dir: &Path) -> Site {
    serve_with(store, state_dir, "").await
}

/// [`serve`] with more configuration (`extra`: TOML sections after `[http]`).
pub async fn serve_with(store: &Store, state_dir: &Path, extra: &str) -> Site {
    let toml = format!(
        "state_dir = \"{}\"\n[http]\nenabled = true\n{extra}",
        state_dir.display()
    );
    let settings = leje::config::load_str(&state_dir.join("leje.toml"), &toml).expect("config");
    let health: Arc<dyn HealthSource> = Arc::new(FixedHealth);
    let console = leje::web::console::Console::new(store.clone(), &settings, health.clone());
    let app = leje::web::router(leje::web::Parts {
        health: leje::web::health::HealthState {
            health,
            stale_after: Duration::from_secs(900),
        },
        console: Some(console),
        public: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(leje::web::serve(listener, app, async {
        let _ = rx.await;
    }));
    Site {
        addr,
        stop: Some(tx),
    }
}

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    pub port: u16,
    _profile: tempfile::TempDir,
    pub profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// Starts chromedriver, or says SKIPPED (a panic under CI, where it must be installed).
pub async fn driver() -> Option<Driver> {
    let Some(bin) = find("chromedriver") else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromedriver is not installed (scripts/mailstack install adds chromium-driver)"
            );
        }
        eprintln!("SKIPPED: chromedriver not found (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    Some(Driver {
        child,
        port,
        profile: profile.path().to_owned(),
        _profile: profile,
    })
}

/// A headless Chromium session.
pub async fn browser(d: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut opts = serde_json::json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900",
            format!("--user-data-dir={}", d.profile.display()),
        ]
    });
    if let Some(b) = find("chromium") {
        opts["binary"] = serde_json::Value::String(b.display().to_string());
    }
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("WebDriver session")
}

/// Saves a screenshot as docs/screenshots/NAME.png.
pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// A raw HTTP/1.1 exchange: (status, head, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = cookie {
        req.push_str(&format!("Cookie: {k}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    c.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out).to_string();
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (status, head.to_string(), body.to_string())
}

/// `name=value` of each Set-Cookie in a response head.
pub fn set_cookies(head: &str) -> Vec<String> {
    head.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or("").to_string())
        })
        .collect()
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[i..].split('"').next().unwrap().to_string()
}

/// Form-encodes pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Logs [`STAFF`] in over raw HTTP; the `leje_session=…` cookie.
pub async fn login_http(addr: SocketAddr) -> String {
    let (_, head, page) = http(addr, "GET", "/login", None, None).await;
    let pre = set_cookies(&head)
        .into_iter()
        .find(|c| c.starts_with("leje_login="))
        .expect("login cookie");
    let body = form(&[
        ("email", STAFF),
        ("password", PASSWORD),
        ("csrf", &csrf_of(&page)),
    ]);
    let (code, head, _) = http(addr, "POST", "/login", Some(&pre), Some(&body)).await;
    assert_eq!(code, 303, "{head}");
    set_cookies(&head)
        .into_iter()
        .find(|c| c.starts_with("leje_session="))
        .expect("session cookie")
}

/// The text of the element `css` names (panics naming it when there is none).
pub async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// How many elements `css` names.
pub async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Submits a form by its button and waits for the next page to load.
pub async fn submit(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    click(c, css).await;
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    c.wait()
        .for_element(Locator::Css("body"))
        .await
        .unwrap_or_else(|e| panic!("after {css}: {e}"));
}

/// Replaces what a text field holds.
pub async fn type_in(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Logs in as [`STAFF`] through the login form.
pub async fn login(c: &Client, base: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    type_in(c, "#email", STAFF).await;
    type_in(c, "#password", PASSWORD).await;
    submit(c, "#login").await;
}
