//! The console's case search: names, travel documents and addresses folded to
//! lower case without diacritics (`Çuçi` → `cuci`), one row per term in
//! `case_terms`, so a search word is a prefix range scan of an index.
//!
//! The terms are kept in step with `cases.updated_at` here rather than by ingest
//! (which stays as fast as before): before a search, the cases changed since the
//! last mark are re-indexed. Nothing changed costs one indexed `MAX()`.

use chrono::{DateTime, Duration, Utc};
use unicode_normalization::UnicodeNormalization;

use crate::store::query::{q, Tx};
use crate::store::{Store, StoreError};

/// Lower case, compatibility-decomposed, combining marks dropped, a few letters
/// that do not decompose spelled out (`ß` → `ss`, `ø` → `o`, `đ` → `d`, `ł` → `l`).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => out.push_str("ss"),
                'ø' => out.push('o'),
                'đ' | 'ð' => out.push('d'),
                'ł' => out.push('l'),
                'ı' => out.push('i'),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                _ => out.push(l),
            }
        }
    }
    out
}

/// The words of a search box, folded (empty words dropped, at most 6).
pub fn query_words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.'))
        .filter(|w| !w.is_empty())
        .take(6)
        .map(|w| w.chars().take(64).collect())
        .collect()
}

/// The terms a case is found by.
pub(crate) fn terms(name: Option<&str>, doc: &str, contacts: &[String]) -> Vec<String> {
    let mut t: Vec<String> = Vec::new();
    if let Some(n) = name {
        let f = fold(n);
        t.extend(
            f.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
    }
    t.push(fold(doc));
    for c in contacts {
        let c = fold(c);
        if let Some((local, domain)) = c.split_once('@') {
            t.push(local.to_owned());
            t.push(domain.to_owned());
        }
        t.push(c);
    }
    t.retain(|w| !w.is_empty());
    for w in &mut t {
        if w.len() > 200 {
            *w = w.chars().take(100).collect();
        }
    }
    t.sort();
    t.dedup();
    t
}

/// The exclusive upper bound of the terms starting with `w` (byte order).
pub(crate) fn prefix_end(w: &str) -> String {
    format!("{w}\u{10FFFF}")
}

/// Cases whose last change is within this much of the mark are indexed again:
/// a transaction that stamped its change earlier may commit after the mark moved.
const LAG: i64 = 10;

const MARK: &str = "case_terms";

impl Store {
    /// Brings `case_terms` up to date with the cases changed since the last call.
    pub async fn sync_case_terms(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool().read().await?;
        let latest: Option<DateTime<Utc>> = tx
            .fetch_one(q("SELECT MAX(updated_at) AS m FROM cases"))
            .await?
            .get("m")?;
        let mark = read_mark(&mut tx).await?;
        drop(tx);
        let Some(latest) = latest else { return Ok(0) };
        if mark.is_some_and(|m| m >= latest) {
            return Ok(0);
        }
        let mut done = 0;
        // Keyset paging on (updated_at, id): a batch of ingest gives hundreds of
        // cases one timestamp, so a page may end inside such a run.
        let mut from = (
            mark.map_or(DateTime::<Utc>::UNIX_EPOCH, |m| m - Duration::seconds(LAG)),
            0i64,
        );
        loop {
            let mut tx = self.pool().write().await?;
            let rows = tx
                .fetch_all(
                    q(
                        "SELECT id, name, travel_document, contacts, updated_at FROM cases \
                       WHERE updated_at > $1 OR (updated_at = $1 AND id >= $2) \
                       ORDER BY updated_at, id LIMIT 2000",
                    )
                    .bind(from.0)
                    .bind(from.1),
                )
                .await?;
            let n = rows.len();
            let mut last = None;
            // NOTE: a chunk of cases per statement (ids in one DELETE, terms in one
            // multi-row INSERT): one statement per term made indexing 100,000 cases
            // take minutes on PostgreSQL, a round trip each.
            for chunk in rows.chunks(200) {
                let mut ids = Vec::with_capacity(chunk.len());
                let mut pairs: Vec<(String, i64)> = Vec::new();
                for r in chunk {
                    let id: i64 = r.get("id")?;
                    let name: Option<String> = r.get("name")?;
                    let doc: String = r.get("travel_document")?;
                    let contacts = r.get_list("contacts")?;
                    pairs.extend(
                        terms(name.as_deref(), &doc, &contacts)
                            .into_iter()
                            .map(|t| (t, id)),
                    );
                    ids.push(id);
                    last = Some((r.get::<DateTime<Utc>>("updated_at")?, id + 1));
                }
                let list = ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                tx.execute(q(format!("DELETE FROM case_terms WHERE case_id IN ({list})")).once())
                    .await?;
                for part in pairs.chunks(1000) {
                    let mut sql = String::from("INSERT INTO case_terms (term, case_id) VALUES ");
                    for k in 0..part.len() {
                        if k > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!("(${}, ${})", 2 * k + 1, 2 * k + 2));
                    }
                    sql.push_str(" ON CONFLICT DO NOTHING");
                    let mut stmt = q(sql).once();
                    for (t, id) in part {
                        stmt = stmt.bind(t.clone()).bind(*id);
                    }
                    tx.execute(stmt).await?;
                }
            }
            if let Some(l) = last {
                tx.execute(
                    q("INSERT INTO view_marks (name, at) VALUES ($1, $2) \
                       ON CONFLICT (name) DO UPDATE SET at = excluded.at")
                    .bind(MARK)
                    .bind(l.0),
                )
                .await?;
            }
            tx.commit().await?;
            done += n as u64;
            match last {
                Some(l) if n == 2000 => from = l,
                _ => break,
            }
        }
        Ok(done)
    }
}

async fn read_mark(tx: &mut Tx) -> Result<Option<DateTime<Utc>>, StoreError> {
    tx.fetch_optional(q("SELECT at FROM view_marks WHERE name = $1").bind(MARK))
        .await?
        .map(|r| r.get("at"))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_finds_albanian_names() {
        assert_eq!(fold("Çuçi"), "cuci");
        assert_eq!(fold("ËNDRRA Müller-Straße"), "endrra muller-strasse");
        assert_eq!(query_words("  Cuçi,  ab12 "), vec!["cuci", "ab12"]);
        let t = terms(
            Some("Arbër Çuçi"),
            "AB1234567",
            &["arber@example.com".into()],
        );
        assert!(t.contains(&"cuci".to_string()), "{t:?}");
        assert!(t.contains(&"ab1234567".to_string()), "{t:?}");
        assert!(t.contains(&"example.com".to_string()), "{t:?}");
        assert!("cuci" < prefix_end("cuc").as_str());
        assert!("cud" > prefix_end("cuc").as_str());
    }
}
