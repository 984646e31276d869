//! Helpers of the follow-up tests (issue 20): stores of both backends, approvals,
//! a controllable clock, raw SQL for setting up due dates, and a real HTTP client.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use leje::parse::{Directorate, Kind, Language, ParsedMessage, Waybill};
use leje::store::{Incoming, Ingested, Origin, Schedule, Stage, Store};
use sha2::{Digest, Sha256};

use crate::common;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub store: Store,
    pub url: String,
    pub state: tempfile::TempDir,
    pub backend: Backend,
    pub db: Option<common::TestDb>,
}

impl Env {
    pub fn state_dir(&self) -> PathBuf {
        self.state.path().to_owned()
    }

    /// Another handle on the same store, as a second leje instance would have.
    pub async fn second(&self) -> Store {
        Store::open(&self.url, self.state.path())
            .await
            .expect("second handle")
    }

    /// Runs one SQL statement on the store's database, around leje (test set-up only).
    pub async fn sql(&self, stmt: &str) {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::raw_sql(stmt).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::raw_sql(stmt).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// Moves every case's creation (and due base) `days` into the past.
    pub async fn age_cases(&self, where_: &str, days: i64) {
        let t = leje_ts(Utc::now() - Duration::days(days));
        self.sql(&format!(
            "UPDATE cases SET created_at = '{t}', remind_from = NULL WHERE {where_}"
        ))
        .await;
    }
}

/// A timestamp literal both backends read as the store writes it.
pub fn leje_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

pub async fn env(backend: Backend) -> Option<Env> {
    let state = tempfile::tempdir().expect("tempdir");
    let (url, db) = match backend {
        Backend::Sqlite => (
            format!("sqlite:{}", state.path().join("leje.db").display()),
            None,
        ),
        Backend::Postgres => {
            let stack = common::stack()?;
            let db = stack.fresh_postgres().await;
            (db.url.clone(), Some(db))
        }
    };
    let store = Store::open(&url, state.path())
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    Some(Env {
        store,
        url,
        state,
        backend,
        db,
    })
}

/// One test body, run on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident;)+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let env = $crate::fc::env($crate::fc::Backend::Sqlite).await.expect("sqlite");
                    super::$name(env).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::fc::env($crate::fc::Backend::Postgres).await {
                        super::$name(env).await;
                    }
                }
            )+
        }
    };
}

/// The default schedule: 10 days in the early stages, 7 for nid_pending,
/// 14 after applying and when the card is ready; two per stage.
pub fn schedule() -> Schedule {
    leje::followup::schedule(&leje::config::followup::FollowupSettings::default())
}

pub fn days(n: i64) -> Duration {
    Duration::days(n)
}

pub fn approval(doc: &str, applicant: &str) -> ParsedMessage {
    let mid = format!("{}.{}@mail.example", doc.to_lowercase(), fastrand::u64(..));
    let data = format!("%PDF-1.4 waybill {doc} 5700 Lek").into_bytes();
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some("Maria Rossi".into()),
        travel_document: Some(doc.into()),
        nationality: Some("Italian".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some(applicant.into()),
        notified_at: Some("2026-11-20T09:14:00+01:00".into()),
        waybills: vec![Waybill {
            filename: Some("mandatpagesa.pdf".into()),
            content_type: "application/pdf".into(),
            size: data.len() as u64,
            sha256: hex::encode(Sha256::digest(&data)),
            amount_lek: Some(5700),
            data,
        }],
        message_id: Some(mid.clone()),
        references: vec!["office-1@mb.gov.al".into(), mid],
        subject: Some("Fwd: Leje qendrimi".into()),
        original_to: Some(applicant.into()),
        reply_to: None,
        followup: Default::default(),
    }
}

pub async fn ingest(store: &Store, p: &ParsedMessage) -> Ingested {
    ingest_with(store, p, &leje::trust::Verdict::vouched("the tests")).await
}

async fn ingest_with(store: &Store, p: &ParsedMessage, trust: &leje::trust::Verdict) -> Ingested {
    let path = format!("/test/{}.eml", common::unique_name("in"));
    let raw = hex::encode(Sha256::digest(format!("{path}{p:?}")));
    store
        .ingest(&Incoming {
            origin: Origin::File { path: &path },
            raw_sha256: &raw,
            size: 1000,
            parsed: p,
            forwarder_is_staff: false,
            trust,
        })
        .await
        .expect("ingest")
}

/// Parses raw bytes as the daemon does, judges who sent them as the daemon does (the
/// receiving server `mx.agency.example` is trusted; no DKIM lookups), and ingests them.
pub async fn ingest_raw(store: &Store, raw: &[u8]) -> Ingested {
    let p = leje::parse::parse(raw);
    let settings = leje::config::TrustSettings {
        authserv_ids: vec!["mx.agency.example".into()],
        dkim: false,
        ..Default::default()
    };
    let verdict = leje::trust::Checker::new(&settings).assess(raw, &p).await;
    ingest_with(store, &p, &verdict).await
}

pub async fn stage(store: &Store, case: i64) -> Stage {
    store.case_by_id(case).await.unwrap().unwrap().stage
}

/// A real HTTP/1.1 request over loopback; (status, body).
pub async fn http(method: &str, url: &str, body: &str) -> (u16, String) {
    request(method, url, body, "application/x-www-form-urlencoded").await
}

/// [`http`] with a JSON body (WebDriver).
pub async fn http_json(method: &str, url: &str, body: &str) -> (u16, String) {
    request(method, url, body, "application/json").await
}

async fn request(method: &str, url: &str, body: &str, content_type: &str) -> (u16, String) {
    let uri: hyper::Uri = url.parse().unwrap();
    let host = uri.host().unwrap().to_string();
    let port = uri.port_u16().unwrap();
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(uri.path())
        .header("host", format!("{host}:{port}"))
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Serves the public router on a fresh loopback port; returns its base URL.
pub async fn serve_public(state: leje::web::public::PublicState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = leje::web::public::router(state);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn new(t: DateTime<Utc>) -> TestClock {
        TestClock(std::sync::Arc::new(std::sync::Mutex::new(t)))
    }
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
    pub fn as_clock(&self) -> leje::web::public::Clock {
        let c = self.clone();
        std::sync::Arc::new(move || c.now())
    }
}
