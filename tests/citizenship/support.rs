//! Helpers shared by the citizenship tests (`tests/citizenship.rs`,
//! `tests/citizenship_mail.rs`).
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use leje::parse::{Directorate, Kind, Language, ParsedMessage};
use leje::store::{CitizenshipNotice, Incoming, Origin, Store};
use sha2::{Digest, Sha256};

use super::common;

/// A store in a fresh place.
pub struct Env {
    pub store: Store,
    pub url: String,
    pub state: tempfile::TempDir,
    pub _db: Option<common::TestDb>,
}

pub async fn env(postgres: bool) -> Option<Env> {
    let state = tempfile::tempdir().unwrap();
    let (url, db) = if postgres {
        let db = common::stack()?.fresh_postgres().await;
        (db.url.clone(), Some(db))
    } else {
        (
            format!("sqlite:{}", state.path().join("leje.db").display()),
            None,
        )
    };
    let store = Store::open(&url, state.path()).await.expect("open store");
    Some(Env {
        store,
        url,
        state,
        _db: db,
    })
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn doc() -> String {
    format!("CZ{:07}", fastrand::u32(..10_000_000))
}

/// An approval of `doc` sent by the office at `notified_at`, forwarded by the applicant.
pub fn approval(doc: &str, applicant: &str, notified_at: &str) -> ParsedMessage {
    let mid = format!("{}@mail.leje.test", common::unique_name("fwd"));
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some("Marco Rossi".into()),
        travel_document: Some(doc.into()),
        nationality: Some("Italian".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some(applicant.into()),
        notified_at: Some(notified_at.into()),
        waybills: Vec::new(),
        message_id: Some(mid.clone()),
        references: vec![mid],
        subject: Some("Fwd: Leje qendrimi".into()),
        original_to: Some(applicant.into()),
        reply_to: None,
        followup: Default::default(),
    }
}

pub async fn ingest(store: &Store, p: &ParsedMessage) -> i64 {
    let path = format!("/test/{}.eml", common::unique_name("in"));
    let raw = hex::encode(Sha256::digest(path.as_bytes()));
    let r = store
        .ingest(&Incoming {
            origin: Origin::File { path: &path },
            raw_sha256: &raw,
            size: 1000,
            parsed: p,
            forwarder_is_staff: false,
            trust: &leje::trust::Verdict::vouched("the tests"),
        })
        .await
        .expect("ingest");
    r.case_id.expect("a case")
}

pub fn notice(case_id: i64, route: &str, opens_on: &str) -> CitizenshipNotice {
    CitizenshipNotice {
        case_id,
        route: route.into(),
        opens_on: d(opens_on),
        early: false,
        stateless: false,
        residence_years: 5,
        marriage_years: None,
    }
}

pub fn at(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, 0, 0).unwrap()
}
