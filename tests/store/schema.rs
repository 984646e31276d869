//! Migrations (from an older schema, refusal of a newer one) and file permissions.

use std::os::unix::fs::PermissionsExt;

use leje::store::{Cause, Stage, Store, StoreError};
use sqlx::Connection;

use crate::{approval, fresh_location, ingest_file, Backend};

/// Runs `sql` (several statements) directly on the database, outside the store.
async fn raw(backend: Backend, url: &str, sql: &str) {
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("raw sql");
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("raw sql");
        }
    }
}

async fn migrates_from_older_schema(backend: Backend) {
    let Some(loc) = fresh_location(backend).await else {
        return;
    };
    let (url, state) = (loc.url.clone(), &loc.state);
    let old = Store::open_at_version(&url, state.path(), 1)
        .await
        .expect("open at v1");
    old.close().await;
    // Data written by a version-1 leje (no review_from column, no leases table).
    raw(
        backend,
        &url,
        "INSERT INTO cases (travel_document, name, nationality, directorate, contacts, language, \
           stage, created_at, updated_at) VALUES ('OLD123456', 'Old Timer', 'Dutch', 'durres', \
           '[\"old@example.nl\"]', 'en', 'fee_paid', '2024-01-02T03:04:05+00:00', '2024-01-03T03:04:05+00:00'); \
         INSERT INTO case_events (case_id, at, from_stage, to_stage, cause, detail) VALUES \
           ((SELECT id FROM cases), '2024-01-02T03:04:05+00:00', NULL, 'approved', 'message', NULL), \
           ((SELECT id FROM cases), '2024-01-03T03:04:05+00:00', 'approved', 'fee_paid', 'cli', NULL); \
         INSERT INTO processed_messages (origin, path, raw_sha256, size, outcome, at) VALUES \
           ('file', '/old.eml', 'abc', 10, 'case_created', '2024-01-02T03:04:05+00:00');",
    )
    .await;
    // A waybill of a leje before schema 5: a row here, its contents in a file.
    let old_pdf = b"%PDF-1.4 old waybill 5700 Lek".to_vec();
    let old_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&old_pdf));
    raw(
        backend,
        &url,
        &format!(
            "INSERT INTO waybills (case_id, filename, content_type, sha256, size, amount_lek, \
               created_at) VALUES ((SELECT id FROM cases), 'old.pdf', 'application/pdf', \
               '{old_sha}', {}, 5700, '2024-01-02T03:04:05+00:00');",
            old_pdf.len()
        ),
    )
    .await;
    let old_file = state
        .path()
        .join("attachments")
        .join(&old_sha[..2])
        .join(&old_sha[2..]);
    std::fs::create_dir_all(old_file.parent().unwrap()).unwrap();
    std::fs::write(&old_file, &old_pdf).unwrap();
    let leases_missing = {
        let s = Store::open_at_version(&url, state.path(), 1).await.unwrap();
        let r = s
            .try_lease("inbox", "a", std::time::Duration::from_secs(5))
            .await;
        s.close().await;
        r.is_err()
    };
    assert!(leases_missing, "version 1 has no leases table");

    let s = Store::open(&url, state.path())
        .await
        .expect("reopen migrates");
    let c = s
        .case_by_document("OLD123456")
        .await
        .unwrap()
        .expect("case kept");
    assert_eq!(
        (c.name.as_deref(), c.stage),
        (Some("Old Timer"), Stage::FeePaid)
    );
    assert_eq!(c.contacts, vec!["old@example.nl"]);
    assert_eq!(s.case_events(c.id).await.unwrap().len(), 2);
    assert_eq!(s.messages(None, 10).await.unwrap().len(), 1);
    // The old waybill is still read from its file.
    let w = s.case_waybills(c.id).await.unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(
        s.waybill_data(&w[0].sha256).await.unwrap(),
        Some(old_pdf),
        "a waybill stored as a file before schema 5"
    );
    assert_eq!(s.waybill_data(&"0".repeat(64)).await.unwrap(), None);
    // The version-2 features work on the migrated data.
    s.advance("OLD123456", Stage::NeedsReview, Cause::Cli, None)
        .await
        .unwrap();
    assert_eq!(s.review_from(c.id).await.unwrap(), Some(Stage::FeePaid));
    assert!(s
        .try_lease("inbox", "a", std::time::Duration::from_secs(5))
        .await
        .unwrap());
    let p = approval("NEW654321", "New Comer", "new@example.nl", "new@example.nl");
    let r = ingest_file(&s, "/new.eml", &p).await;
    assert_ne!(r.case_id.unwrap(), c.id);
}

async fn refuses_newer_schema(backend: Backend) {
    let Some(loc) = fresh_location(backend).await else {
        return;
    };
    let (url, state) = (loc.url.clone(), &loc.state);
    Store::open(&url, state.path()).await.unwrap().close().await;
    let checksum = match backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    raw(
        backend,
        &url,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, {checksum}, 1)"
        ),
    )
    .await;
    let err = Store::open(&url, state.path()).await.unwrap_err();
    match &err {
        // NOTE: a version far ahead, so new migrations (several branches add theirs)
        // do not turn it into one this leje knows or merely misses.
        StoreError::NewerSchema { found, known, .. } => {
            assert_eq!(*found, 999);
            assert!((11..999).contains(known), "{known}");
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("version 999") && msg.contains("up to ") && msg.contains("newer leje"),
        "{msg}"
    );
}

/// Schema 14 keeps the search terms indexed by schema 13 and gives them their
/// case's sort keys, schema 15 what the list filters by: nothing is indexed again,
/// and a search finds them at once, with filters too.
async fn search_terms_survive_schema_14(backend: Backend) {
    let Some(loc) = fresh_location(backend).await else {
        return;
    };
    let (url, state) = (loc.url.clone(), &loc.state);
    Store::open_at_version(&url, state.path(), 13)
        .await
        .expect("open at v13")
        .close()
        .await;
    raw(
        backend,
        &url,
        "INSERT INTO cases (travel_document, name, nationality, directorate, contacts, language, \
           stage, created_at, updated_at) VALUES ('OLD123456', 'Old Timer', 'Dutch', 'durres', \
           '[\"old@example.nl\"]', 'en', 'fee_paid', '2024-01-02T03:04:05+00:00', '2024-01-03T03:04:05+00:00'); \
         INSERT INTO case_terms (term, case_id) VALUES ('timer', (SELECT id FROM cases)), \
           ('old123456', (SELECT id FROM cases)); \
         INSERT INTO view_marks (name, at) VALUES ('case_terms', '2024-01-03T03:04:05+00:00');",
    )
    .await;
    let s = Store::open(&url, state.path()).await.expect("migrated");
    assert_eq!(
        s.sync_case_terms().await.unwrap(),
        0,
        "nothing to index again"
    );
    let found = s
        .view_cases(&leje::store::views::CaseQuery {
            words: vec!["time".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_deref(), Some("Old Timer"));
    let filtered = |stage: Stage, nationality: &str| leje::store::views::CaseQuery {
        words: vec!["old12".into()],
        stage: Some(stage),
        directorate: Some(leje::parse::Directorate::Durres),
        nationality: Some(nationality.into()),
        limit: 10,
        ..Default::default()
    };
    let found = s
        .view_cases(&filtered(Stage::FeePaid, "Dutch"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    for other in [
        filtered(Stage::Approved, "Dutch"),
        filtered(Stage::FeePaid, "Greek"),
    ] {
        assert!(s.view_cases(&other).await.unwrap().is_empty(), "{other:?}");
    }
    s.close().await;
}

#[tokio::test]
async fn sqlite_search_terms_survive_schema_14() {
    search_terms_survive_schema_14(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_search_terms_survive_schema_14() {
    search_terms_survive_schema_14(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_migrates_from_older_schema() {
    migrates_from_older_schema(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_migrates_from_older_schema() {
    migrates_from_older_schema(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_refuses_newer_schema() {
    refuses_newer_schema(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_refuses_newer_schema() {
    refuses_newer_schema(Backend::Postgres).await;
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open("mysql://x/y", dir.path()).await.unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)));
    assert!(err.to_string().contains("`mysql://x/y`"), "{err}");
    let err = Store::open("postgres://leje:hunter2@127.0.0.1:1/leje", dir.path())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cannot open store") && !msg.contains("hunter2"),
        "{msg}"
    );
}

/// One huge commit must not leave a WAL file that size on disk for good: once
/// checkpointed, the next write cuts it back (`journal_size_limit`, 4 MiB).
#[tokio::test]
async fn sqlite_wal_shrinks_after_a_big_commit() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let url = format!("sqlite:{}", state.join("leje.db").display());
    let s = Store::open(&url, &state).await.unwrap();
    let wal = state.join("leje.db-wal");
    let mut p = approval("WALBIG001", "Wal Big", "wal@example.com", "wal@example.com");
    p.waybills = (0..12u8)
        .map(|i| {
            let mut w = crate::waybill(&format!("big{i}"));
            w.data = vec![i; 1 << 20];
            w.size = w.data.len() as u64;
            w.sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&w.data));
            w
        })
        .collect();
    ingest_file(&s, "/big.eml", &p).await;
    let after_big = std::fs::metadata(&wal).unwrap().len();
    assert!(
        after_big > 12 << 20,
        "the big commit went through the WAL: {after_big} bytes"
    );
    let q = approval(
        "WALSMALL1",
        "Wal Small",
        "wal@example.com",
        "wal@example.com",
    );
    ingest_file(&s, "/small.eml", &q).await;
    let after_small = std::fs::metadata(&wal).unwrap().len();
    assert!(
        after_small <= 4 << 20,
        "the WAL is cut back after the next write: {after_small} bytes (was {after_big})"
    );
    s.close().await;
}

#[tokio::test]
async fn sqlite_files_are_private() {
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let db = state.join("leje.db");
    let url = format!("sqlite:{}", db.display());
    let s = Store::open(&url, &state).await.unwrap();
    let p = approval("PERM12345", "Pat Doe", "pat@example.com", "pat@example.com");
    ingest_file(&s, "/p.eml", &p).await;
    for f in ["leje.db", "leje.db-wal", "leje.db-shm"] {
        assert_eq!(mode(&state.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&state), 0o700);
    s.close().await;

    // Files someone widened are made private again at open.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Store::open(&url, &state).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&state), 0o700);
    s.close().await;
}
