//! The store test suite, run against both backends: SQLite always (in a temp
//! dir), PostgreSQL on the local mail stack's server (`tests/common`: a fresh
//! database per test). Without a server the PostgreSQL half says SKIPPED
//! loudly, except under CI, where it fails.
//!
//! Messages are built as `ParsedMessage` values here, so the suite does not
//! depend on the parser.

#[path = "store/batch.rs"]
mod batch;
#[path = "store/cli.rs"]
mod cli;
#[path = "store/cluster.rs"]
mod cluster;
mod common;
#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/hold.rs"]
mod hold;
#[path = "store/lifecycle.rs"]
mod lifecycle;
#[path = "store/renewal.rs"]
mod renewal;
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
    /// Keeps the PostgreSQL test database alive; dropped (after `store`) at the end.
    pub _db: Option<common::TestDb>,
}

impl Env {
    pub fn state_dir(&self) -> PathBuf {
        self.state.path().to_owned()
    }
}

/// A fresh, empty store location (not opened yet).
pub struct Location {
    pub url: String,
    pub state: tempfile::TempDir,
    pub db: Option<common::TestDb>,
}

/// A fresh location: a temp dir for SQLite, a fresh database on the local
/// mail stack's PostgreSQL (`tests/common`). `None` when PostgreSQL cannot be
/// had (a loud SKIPPED; a panic under CI).
pub async fn fresh_location(backend: Backend) -> Option<Location> {
    let state = tempfile::tempdir().expect("tempdir");
    match backend {
        Backend::Sqlite => Some(Location {
            url: format!("sqlite:{}", state.path().join("leje.db").display()),
            state,
            db: None,
        }),
        Backend::Postgres => {
            let stack = common::stack()?;
            let db = stack.fresh_postgres().await;
            Some(Location {
                url: db.url.clone(),
                state,
                db: Some(db),
            })
        }
    }
}

/// Opens a store in a fresh place.
pub async fn env(backend: Backend) -> Option<Env> {
    let loc = fresh_location(backend).await?;
    let store = Store::open(&loc.url, loc.state.path())
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", loc.url));
    Some(Env {
        store,
        url: loc.url,
        state: loc.state,
        backend,
        _db: loc.db,
    })
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
        followup: Default::default(),
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
        followup: Default::default(),
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
            trust: &leje::trust::Verdict::vouched("the tests"),
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
            trust: &leje::trust::Verdict::vouched("the tests"),
        })
        .await
        .expect("ingest")
}
