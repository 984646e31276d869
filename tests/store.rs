//! The store test suite, run against both backends: SQLite always (in a temp
//! dir), PostgreSQL when `LEJE_TEST_POSTGRES_URL` points at a server (each test
//! gets a fresh database). Without it the PostgreSQL half says so loudly and
//! passes, except under CI (`CI` set), where it fails.
//!
//! Messages are built as `ParsedMessage` values here, so the suite does not
//! depend on the parser.

#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/lifecycle.rs"]
mod lifecycle;
#[path = "store/schema.rs"]
mod schema;

use std::path::PathBuf;

use leje::parse::{Directorate, Kind, Language, ParsedMessage, Reason, Waybill};
use leje::store::{Incoming, Ingested, Origin, Store};
use sha2::{Digest, Sha256};

/// Which backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store in a fresh place, plus what a test needs to reach it directly.
pub struct Env {
    pub store: Store,
    pub url: String,
    pub state: tempfile::TempDir,
    pub backend: Backend,
}

impl Env {
    pub fn state_dir(&self) -> PathBuf {
        self.state.path().to_owned()
    }
}

/// A fresh, empty store location (not opened yet): `(url, state dir)`.
/// `None` when PostgreSQL is not available (skipped loudly).
pub async fn fresh_location(backend: Backend) -> Option<(String, tempfile::TempDir)> {
    let state = tempfile::tempdir().expect("tempdir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite:{}", state.path().join("leje.db").display()),
        Backend::Postgres => fresh_pg_database().await?,
    };
    Some((url, state))
}

/// Opens a store in a fresh place.
pub async fn env(backend: Backend) -> Option<Env> {
    let (url, state) = fresh_location(backend).await?;
    let store = Store::open(&url, state.path())
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    Some(Env {
        store,
        url,
        state,
        backend,
    })
}

/// Creates an empty database on the server named by `LEJE_TEST_POSTGRES_URL`
/// and returns its URL.
async fn fresh_pg_database() -> Option<String> {
    let Ok(admin) = std::env::var("LEJE_TEST_POSTGRES_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("LEJE_TEST_POSTGRES_URL is not set under CI: the PostgreSQL half must run");
        }
        eprintln!(
            "SKIPPED (PostgreSQL): set LEJE_TEST_POSTGRES_URL to run this test against PostgreSQL"
        );
        return None;
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("LEJE_TEST_POSTGRES_URL: cannot connect: {e}"));
    let name = format!("leje_test_{:016x}", fastrand::u64(..));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (base, _) = admin
        .rsplit_once('/')
        .expect("LEJE_TEST_POSTGRES_URL has a /database part");
    let query = admin
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Some(format!("{base}/{name}{query}"))
}

/// Runs one async test body against both backends.
#[macro_export]
macro_rules! both {
    ($($name:ident;)+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let env = $crate::env($crate::Backend::Sqlite).await.expect("sqlite");
                    super::$name(env).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::env($crate::Backend::Postgres).await {
                        super::$name(env).await;
                    }
                }
            )+
        }
    };
}

pub const OFFICE: &str = "lejeqendrimi@mb.gov.al";

/// A small PDF-looking waybill.
pub fn waybill(tag: &str) -> Waybill {
    let data = format!("%PDF-1.4 waybill {tag} 5700 Lek").into_bytes();
    Waybill {
        filename: Some(format!("mandat-{tag}.pdf")),
        content_type: "application/pdf".into(),
        size: data.len() as u64,
        sha256: hex::encode(Sha256::digest(&data)),
        amount_lek: Some(5700),
        data,
    }
}

/// An approval notification for `doc`, forwarded by `forwarder`, sent by the
/// office to `applicant`.
pub fn approval(doc: &str, name: &str, forwarder: &str, applicant: &str) -> ParsedMessage {
    let mid = format!(
        "{}.{}@mail.example",
        doc.to_lowercase(),
        forwarder.replace('@', ".")
    );
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some(name.into()),
        travel_document: Some(doc.into()),
        nationality: Some("Italian".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some(OFFICE.into()),
        forwarded_by: Some(forwarder.into()),
        notified_at: Some("2021-12-22T09:14:00+01:00".into()),
        waybills: vec![waybill(doc)],
        message_id: Some(mid.clone()),
        references: vec!["office-1@mb.gov.al".into(), mid],
        subject: Some("Fwd: Leje qendrimi".into()),
        original_to: Some(applicant.into()),
        reply_to: None,
    }
}

/// A non-notification of `kind` with its reason.
pub fn other(kind: Kind, reason: Reason, from: &str) -> ParsedMessage {
    ParsedMessage {
        kind,
        reason: Some(reason),
        language: None,
        name: None,
        travel_document: None,
        nationality: None,
        directorate: None,
        original_from: None,
        forwarded_by: Some(from.into()),
        notified_at: None,
        waybills: Vec::new(),
        message_id: Some(format!("{:x}@other.example", fastrand::u64(..))),
        references: Vec::new(),
        subject: None,
        original_to: None,
        reply_to: None,
    }
}

/// A stand-in raw hash for a parsed message (tests have no raw bytes).
pub fn raw_hash(p: &ParsedMessage, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{p:?}{salt}"));
    hex::encode(h.finalize())
}

/// Ingests `p` as a file origin.
pub async fn ingest_file(store: &Store, path: &str, p: &ParsedMessage) -> Ingested {
    let raw = raw_hash(p, path);
    store
        .ingest(&Incoming {
            origin: Origin::File { path },
            raw_sha256: &raw,
            size: 1234,
            parsed: p,
            forwarder_is_staff: false,
        })
        .await
        .expect("ingest")
}

/// Ingests `p` as IMAP message `uid` of `mailbox` under `uidvalidity`.
pub async fn ingest_imap(
    store: &Store,
    mailbox: &str,
    uidvalidity: u32,
    uid: u32,
    p: &ParsedMessage,
    staff: bool,
) -> Ingested {
    let raw = raw_hash(p, "");
    store
        .ingest(&Incoming {
            origin: Origin::Imap {
                mailbox,
                uidvalidity,
                uid,
            },
            raw_sha256: &raw,
            size: 1234,
            parsed: p,
            forwarder_is_staff: staff,
        })
        .await
        .expect("ingest")
}
