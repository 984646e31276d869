//! The one-click page in a real Chromium over WebDriver (issue 20): opening the
//! link changes nothing; pressing its one button records the step; the page
//! works without JavaScript and shows the first name only.

mod common;
#[path = "followup/common.rs"]
mod fc;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use leje::links::{Signer, Step};
use leje::parse::Language;
use leje::store::Stage;
use leje::web::public::PublicState;
use serde_json::{json, Value};

use fc::{approval, ingest, serve_public, stage, TestClock};

struct Driver {
    child: Child,
    base: String,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(method: &str, url: &str, body: Value) -> Value {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, text) = fc::http_json(method, url, &body).await;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(status < 300, "{method} {url}: {status} {text}");
    v["value"].clone()
}

async fn driver() -> Option<Driver> {
    let exe = [
        "chromedriver",
        "/usr/bin/chromedriver",
        "/usr/lib/chromium/chromedriver",
    ]
    .into_iter()
    .find(|p| Command::new(p).arg("--version").output().is_ok());
    let Some(exe) = exe else {
        common::skip("chromedriver is not installed (apt-get install chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--blink-settings=scriptEnabled=false"]}
    }}});
    let v = call("POST", &format!("{base}/session"), caps).await;
    let session = v["sessionId"].as_str().unwrap().to_string();
    Some(Driver {
        child,
        base,
        session,
    })
}

impl Driver {
    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }
    async fn go(&self, to: &str) {
        call("POST", &self.url("/url"), json!({ "url": to })).await;
    }
    async fn text(&self, css: &str) -> String {
        let el = call(
            "POST",
            &self.url("/element"),
            json!({"using": "css selector", "value": css}),
        )
        .await;
        let id = el
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        call(
            "GET",
            &self.url(&format!("/element/{id}/text")),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
    }
    async fn click(&self, css: &str) {
        let el = call(
            "POST",
            &self.url("/element"),
            json!({"using": "css selector", "value": css}),
        )
        .await;
        let id = el
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        call(
            "POST",
            &self.url(&format!("/element/{id}/click")),
            json!({}),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_button_records_the_step_and_the_link_alone_does_not() {
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    let case = ingest(&env.store, &approval("BR1234567", "maria@example.it"))
        .await
        .case_id
        .unwrap();
    let signer = Signer::from_key(&[3u8; 32]);
    let clock = TestClock::new(Utc::now());
    let base = serve_public(PublicState {
        store: env.store.clone(),
        signer: std::sync::Arc::new(signer.clone()),
        clock: clock.as_clock(),
        default_language: Language::En,
    })
    .await;
    let Some(d) = driver().await else { return };
    let token = signer.sign(case, Step::FeePaid, Utc::now() + chrono::Duration::days(60));
    d.go(&format!("{base}/l/{token}")).await;
    let message = d.text("#message").await;
    assert!(message.contains("I have paid"), "{message}");
    let body = d.text("body").await;
    assert!(body.contains("Maria") && !body.contains("Rossi") && !body.contains("BR1234567"));
    assert_eq!(
        stage(&env.store, case).await,
        Stage::Approved,
        "opening changes nothing"
    );
    d.click("#confirm").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while stage(&env.store, case).await != Stage::FeePaid {
        assert!(
            Instant::now() < deadline,
            "the click did not record the step"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let thanks = d.text("#message").await;
    assert!(thanks.contains("We have recorded it"), "{thanks}");
    // Back to the same link: already done, nothing to press.
    d.go(&format!("{base}/l/{token}")).await;
    let stage_text = d.text("#stage").await;
    assert!(stage_text.contains("fee paid"), "{stage_text}");
    let _ = call("DELETE", &d.url(""), Value::Null).await;
}
