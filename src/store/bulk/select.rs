//! Which messages of a batch take the bulk path (see [`super`]): three look-ups
//! for the whole batch (origins, travel documents and notification hashes
//! already stored), then one pass in batch order that sends every repeat the
//! per-message way.

use std::collections::{HashMap, HashSet};

use super::{numbered, prepared, Item, CHUNK};
use crate::store::ingest::classify;
use crate::store::query::{q, Row, Tx};
use crate::store::{sqlite_raw, Incoming, Origin, Outcome, StoreError};

/// Which table row a message's origin is unique in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Imap(String, u32, u32),
    File(String, String),
}

fn key_of(m: &Incoming<'_>) -> Key {
    match m.origin {
        Origin::Imap {
            mailbox,
            uidvalidity,
            uid,
        } => Key::Imap(mailbox.to_owned(), uidvalidity, uid),
        Origin::File { path } => Key::File(path.to_owned(), m.raw_sha256.to_owned()),
    }
}

/// Picks the bulk-path messages (see the module header), with three lookups for the
/// whole batch: origins, travel documents and notification hashes already stored.
pub(super) async fn select<'m>(
    tx: &mut Tx,
    msgs: &'m [Incoming<'m>],
) -> Result<Vec<Item<'m>>, StoreError> {
    let keys: Vec<Key> = msgs.iter().map(key_of).collect();
    let known_keys = stored_origins(tx, &keys).await?;
    let hashes: Vec<Option<String>> = msgs.iter().map(|m| m.parsed.notification_hash()).collect();
    // A complete notification's travel document, else what the parse decides.
    let classes: Vec<_> = msgs
        .iter()
        .zip(&hashes)
        .map(|(m, h)| classify(m.parsed, h.as_deref()).map(|(doc, _)| doc))
        .collect();
    let docs: Vec<&str> = classes
        .iter()
        .filter_map(|c| c.as_ref().ok().copied())
        .collect();
    let notice_hashes: Vec<&str> = classes
        .iter()
        .zip(&hashes)
        .filter_map(|(c, h)| c.as_ref().ok().and(h.as_deref()))
        .collect();
    let mut known_docs = stored(
        tx,
        "SELECT travel_document AS v FROM cases WHERE travel_document",
        &docs,
    )
    .await?;
    let mut known_hashes = stored(
        tx,
        "SELECT hash AS v FROM notifications WHERE hash",
        &notice_hashes,
    )
    .await?;

    let mut seen_keys = HashSet::with_capacity(msgs.len());
    let mut items = Vec::with_capacity(msgs.len());
    let each = keys.into_iter().zip(classes).zip(hashes);
    for (index, ((key, class), hash)) in each.enumerate() {
        // Every message marks what it holds, so a later one with the same origin,
        // document or hash goes the per-message way, after this one.
        let new_origin = !known_keys.contains(&key) && seen_keys.insert(key);
        match class {
            Ok(doc) => {
                let new_doc = known_docs.insert(doc.to_owned());
                // `classify` found a complete notification only with a hash.
                let new_hash = known_hashes.insert(hash.clone().expect("classified with a hash"));
                // NOTE: an untrusted or future-dated notice is written the
                // per-message way (held email, review).
                let plain = m_trusted(&msgs[index]);
                if new_origin && new_doc && new_hash && plain {
                    items.push(Item {
                        index,
                        hash,
                        doc: Some(doc),
                        outcome: Outcome::CaseCreated,
                        reason: None,
                    });
                }
            }
            // A possible reply or follow-up goes the per-message way (store/replies.rs).
            Err(d) if new_origin && !msgs[index].parsed.followup.is_candidate() => {
                items.push(Item {
                    index,
                    hash,
                    doc: None,
                    outcome: d.outcome,
                    reason: d.reason,
                })
            }
            Err(_) => {}
        }
    }
    Ok(items)
}

/// A trusted notice that is not dated in the future.
fn m_trusted(m: &Incoming<'_>) -> bool {
    m.trust.trusted && crate::store::notice::future_dated(m.parsed, chrono::Utc::now()).is_none()
}

/// Which of `keys` already have a processed row.
async fn stored_origins(tx: &mut Tx, keys: &[Key]) -> Result<HashSet<Key>, StoreError> {
    let mut found = HashSet::new();
    // IMAP origins: one range query per folder (a batch is nearly always one folder
    // and a short run of UIDs), filtered here.
    let mut ranges: HashMap<(&str, u32), (u32, u32)> = HashMap::new();
    for k in keys {
        if let Key::Imap(mb, v, uid) = k {
            let r = ranges.entry((mb.as_str(), *v)).or_insert((*uid, *uid));
            r.0 = r.0.min(*uid);
            r.1 = r.1.max(*uid);
        }
    }
    for ((mb, v), (lo, hi)) in ranges {
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {KEY_COLS} FROM processed_messages WHERE origin = 'imap' \
                     AND mailbox = $1 AND uidvalidity = $2 AND uid >= $3 AND uid <= $4"
                ))
                .bind(mb)
                .bind(v)
                .bind(lo)
                .bind(hi),
            )
            .await?;
        for r in rows {
            found.insert(key_from_row(&r)?);
        }
    }
    let paths: Vec<&str> = keys
        .iter()
        .filter_map(|k| match k {
            Key::File(p, _) => Some(p.as_str()),
            Key::Imap(..) => None,
        })
        .collect();
    for chunk in paths.chunks(CHUNK) {
        let sql = format!(
            "SELECT {KEY_COLS} FROM processed_messages WHERE origin = 'file' AND path IN ({})",
            numbered(tx.is_pg(), 1, chunk.len())
        );
        let mut stmt = prepared(sql, chunk.len());
        for p in chunk {
            stmt = stmt.bind(*p);
        }
        for r in tx.fetch_all(stmt).await? {
            found.insert(key_from_row(&r)?);
        }
    }
    Ok(found)
}

/// The values among `values` that `select_where` (`SELECT … AS v … WHERE col`,
/// completed here with `= ?` or `IN (…)`) finds.
///
/// NOTE: on SQLite one indexed look-up per value on the writer's handle
/// ([`sqlite_raw`]); on PostgreSQL an `IN` list of [`CHUNK`] values per
/// round trip.
async fn stored(
    tx: &mut Tx,
    select_where: &str,
    values: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    if values.is_empty() {
        return Ok(found);
    }
    let hits = tx
        .on_sqlite_handle(|db| sqlite_raw::existing(db, &format!("{select_where} = ?"), values))
        .await?;
    if let Some(hits) = hits {
        found.extend(hits.into_iter().map(str::to_owned));
        return Ok(found);
    }
    for chunk in values.chunks(CHUNK) {
        let mut stmt = prepared(
            format!("{select_where} IN ({})", numbered(true, 1, chunk.len())),
            chunk.len(),
        );
        for v in chunk {
            stmt = stmt.bind(*v);
        }
        for r in tx.fetch_all(stmt).await? {
            found.insert(r.get("v")?);
        }
    }
    Ok(found)
}

/// The `processed_messages` columns [`key_from_row`] reads.
const KEY_COLS: &str = "origin, mailbox, uidvalidity, uid, path, raw_sha256";

fn key_from_row(r: &Row) -> Result<Key, StoreError> {
    let origin: String = r.get("origin")?;
    Ok(if origin == "imap" {
        let mailbox: Option<String> = r.get("mailbox")?;
        Key::Imap(
            mailbox.unwrap_or_default(),
            r.get_u32("uidvalidity")?,
            r.get_u32("uid")?,
        )
    } else {
        let path: Option<String> = r.get("path")?;
        let sha: Option<String> = r.get("raw_sha256")?;
        Key::File(path.unwrap_or_default(), sha.unwrap_or_default())
    })
}
