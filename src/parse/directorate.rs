//! Finding and normalising the Local Directorate for Border and Migration
//! named in a notification's signature.

use super::text::{fold, Folded};
use super::Directorate;

/// Folded word prefixes → directorate. Covers indefinite/definite and
/// genitive forms ("Tiranë", "Tirana", "Tiranës"), missing accents and the
/// seat of Dibër county (Peshkopi).
const PREFIXES: &[(&str, Directorate)] = &[
    ("tiran", Directorate::Tirane),
    ("durr", Directorate::Durres),
    ("shkod", Directorate::Shkoder),
    ("korc", Directorate::Korce),
    ("gjirokast", Directorate::Gjirokaster),
    ("vlor", Directorate::Vlore),
    ("berat", Directorate::Berat),
    ("diber", Directorate::Diber),
    ("dibr", Directorate::Diber),
    ("peshkop", Directorate::Diber),
    ("elbasan", Directorate::Elbasan),
    ("fier", Directorate::Fier),
    ("kukes", Directorate::Kukes),
    ("kuks", Directorate::Kukes),
    ("lezh", Directorate::Lezhe),
];

/// Whether an address is one the office sends notifications from: any address
/// under `gov.al` (the State Police's `asp.gov.al`, the ministry's) or e-Albania.
pub fn is_office_sender(addr: &str) -> bool {
    let domain = addr.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    ["gov.al", "e-albania.al"]
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

/// Normalises one city name in any spelling; `None` if it is not one of the twelve.
pub fn normalise(word: &str) -> Option<Directorate> {
    let w = fold(word);
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    if w.len() < 4 {
        return None;
    }
    PREFIXES
        .iter()
        .find(|(p, _)| w.starts_with(p) && w.len() <= p.len() + 4)
        .map(|(_, d)| *d)
}

fn first_city(s: &str) -> Option<Directorate> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .find_map(normalise)
}

fn last_city(s: &str) -> Option<Directorate> {
    s.rsplit(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .find_map(normalise)
}

fn window(s: &str, from: usize, to: usize) -> &str {
    let mut a = from.min(s.len());
    while !s.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = to.min(s.len()).max(a);
    while !s.is_char_boundary(b) {
        b += 1;
    }
    &s[a..b]
}

/// Finds the directorate named in `text`, preferring the part from `from`
/// (folded offset of the notification) on: first after the "… Kufirin dhe
/// Migracionin" / "… Border and Migration" marker, then just before it, then
/// near any "Drejtoria"/"Directorate".
pub fn find(f: &Folded, from: usize) -> Option<Directorate> {
    let s = &f.s;
    for marker in [
        "kufirin dhe migracionin",
        "kufirit dhe migracionit",
        "border and migration",
        "migracionin",
        "migration",
    ] {
        for start in [from, 0] {
            let mut at = start;
            while let Some(p) = f.find(marker, at) {
                let end = p + marker.len();
                if let Some(d) = first_city(window(s, end, end + 40)) {
                    return Some(d);
                }
                if let Some(d) = last_city(window(s, p.saturating_sub(60), p)) {
                    return Some(d);
                }
                at = end;
            }
        }
    }
    for marker in ["drejtoria", "directorate", "dvkm"] {
        let mut at = from;
        while let Some(p) = f.find(marker, at) {
            if let Some(d) = first_city(window(s, p, p + 120)) {
                return Some(d);
            }
            at = p + marker.len();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        use Directorate::*;
        for (w, d) in [
            ("TIRANE", Tirane),
            ("Tiranë", Tirane),
            ("TIRANA", Tirane),
            ("Tiranës", Tirane),
            ("Durrës", Durres),
            ("DURRES", Durres),
            ("Durrësit", Durres),
            ("Shkodër", Shkoder),
            ("Shkodra", Shkoder),
            ("SHKODER", Shkoder),
            ("Korçë", Korce),
            ("KORCE", Korce),
            ("Korca", Korce),
            ("Gjirokastër", Gjirokaster),
            ("Gjirokastra", Gjirokaster),
            ("Vlorë", Vlore),
            ("Vlora", Vlore),
            ("Berat", Berat),
            ("Berati", Berat),
            ("Dibër", Diber),
            ("Dibra", Diber),
            ("Peshkopi", Diber),
            ("Elbasan", Elbasan),
            ("Elbasani", Elbasan),
            ("Fier", Fier),
            ("Fieri", Fier),
            ("Kukës", Kukes),
            ("Kukesi", Kukes),
            ("Lezhë", Lezhe),
            ("Lezha", Lezhe),
        ] {
            assert_eq!(normalise(w), Some(d), "{w}");
        }
        assert_eq!(normalise("Tirol"), None);
        assert_eq!(normalise("Rome"), None);
    }

    #[test]
    fn signature_lines() {
        let t = Folded::new("Me respekt,\nDrejtoria Vendore për Kufirin dhe Migracionin\nDURRËS\n");
        assert_eq!(find(&t, 0), Some(Directorate::Durres));
        let t = Folded::new("Local Directorate for Border and Migration Tirana");
        assert_eq!(find(&t, 0), Some(Directorate::Tirane));
        let t = Folded::new("Drejtoria Vendore Vlorë për Kufirin dhe Migracionin.");
        assert_eq!(find(&t, 0), Some(Directorate::Vlore));
        assert_eq!(find(&Folded::new("no signature here"), 0), None);
    }
}
