//! The console's case search: names, travel documents and addresses folded to
//! lower case without diacritics (`Çuçi` → `cuci`), one row per term in
//! `case_terms`, so a search word is a prefix range scan of an index.
//!
//! How the terms are kept up to date is [`super::terms`]; how a page of matches is
//! read is [`super::case_list`].

use unicode_normalization::UnicodeNormalization;

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

/// The terms a case is found by (a search word must prefix one of them).
pub fn terms(name: Option<&str>, doc: &str, contacts: &[String]) -> Vec<String> {
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
