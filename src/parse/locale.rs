//! Month and weekday names for the date parser, taken from the GNU C Library's
//! locale tables (through the `pure-rust-locales` crate, the data chrono's
//! `unstable-locales` feature uses) for every language a mail client's UI is
//! commonly set to, plus the few inflected forms glibc lacks ([`MONTHS`]).
//!
//! A name can belong to several months across languages ("listopad" is October
//! in Croatian and November in Polish): every lookup returns votes per month
//! (one per language), and the date parser settles a tie with the weekday
//! written beside it.

use std::collections::HashMap;
use std::sync::LazyLock;

use pure_rust_locales::{locale_match, Locale};

use super::text::{fold, is_word_char};
use super::words::MONTHS;

/// The locales whose names are read: the UI languages of the mail clients leje
/// meets (European, Balkan, Caucasus, Middle East, South-East Asia). Obscure
/// locales are left out on purpose: their three-letter abbreviations collide
/// with ordinary words in date lines ("kell", "alle", "ore").
pub const LOCALES: &[&str] = &[
    "en_US",
    "en_GB",
    "sq_AL",
    "it_IT",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "fr_CA",
    "es_ES",
    "es_MX",
    "pt_PT",
    "pt_BR",
    "nl_NL",
    "da_DK",
    "nb_NO",
    "nn_NO",
    "sv_SE",
    "fi_FI",
    "et_EE",
    "lv_LV",
    "lt_LT",
    "pl_PL",
    "cs_CZ",
    "sk_SK",
    "sl_SI",
    "hr_HR",
    "bs_BA",
    "sr_RS",
    "sr_RS@latin",
    "sr_ME",
    "mk_MK",
    "bg_BG",
    "ro_RO",
    "hu_HU",
    "el_GR",
    "tr_TR",
    "ru_RU",
    "uk_UA",
    "be_BY",
    "ca_ES",
    "gl_ES",
    "eu_ES",
    "is_IS",
    "ga_IE",
    "cy_GB",
    "mt_MT",
    "lb_LU",
    "fy_NL",
    "id_ID",
    "ms_MY",
    "fil_PH",
    "az_AZ",
    "ka_GE",
    "hy_AM",
    "he_IL",
    "ar_SA",
    "fa_IR",
    "af_ZA",
    "sw_KE",
    "vi_VN",
    "hi_IN",
];

/// Votes per month (index 1..=12) or weekday (index 0 = Monday .. 6 = Sunday).
pub type Votes<const N: usize> = [u16; N];

/// Month votes, split by how the voting languages write the day before a month
/// name (glibc's `D_T_FMT`): with a dot ("26. listopada", Croatian) or without
/// ("26 listopada", Polish). A tie between languages can then be settled by
/// the way the date itself is written.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MonthVotes {
    pub all: Votes<13>,
    pub dotted: Votes<13>,
    pub plain: Votes<13>,
}

/// The names of one locale, as written in glibc (index 0 = January / Sunday).
pub struct Names {
    /// Whether its date-and-time format writes the day as "26." before the month.
    pub dotted_day: bool,
    /// Name lists and whether they hold full names (not abbreviations).
    pub months: Vec<(&'static [&'static str], bool)>,
    pub days: Vec<&'static [&'static str]>,
}

/// Month (full, standalone, abbreviated) and day names of a locale.
pub fn names(locale: &'static str) -> Option<Names> {
    let l = Locale::try_from(locale).ok()?;
    let mut months = vec![
        (locale_match!(l => LC_TIME::MON), true),
        (locale_match!(l => LC_TIME::ABMON), false),
    ];
    months.extend(locale_match!(l => LC_TIME::ALT_MON).map(|m| (m, true)));
    months.extend(locale_match!(l => LC_TIME::AB_ALT_MON).map(|m| (m, false)));
    let days = vec![
        locale_match!(l => LC_TIME::DAY),
        locale_match!(l => LC_TIME::ABDAY),
    ];
    let fmt = locale_match!(l => LC_TIME::D_T_FMT);
    let dotted_day = ["%d.", "%e.", "%-d."].iter().any(|d| fmt.contains(d));
    Some(Names {
        dotted_day,
        months,
        days,
    })
}

/// A name folded for matching ("févr." → "fevr"); `None` unless it is one word of letters.
pub fn key(name: &str) -> Option<String> {
    let f = fold(name);
    let f = f.trim_end_matches('.');
    // "e mërkurë": the weekday word is the last one.
    let f = f.rsplit(' ').next().unwrap_or(f);
    (f.chars().count() >= 2 && f.chars().all(is_word_char)).then(|| f.to_string())
}

struct Tables {
    /// Exact names → votes.
    month_exact: HashMap<String, MonthVotes>,
    /// Every prefix (3+ letters) of a name → votes: abbreviations.
    month_prefix: HashMap<String, MonthVotes>,
    /// Full names (and their stems without the last two letters) → votes, for
    /// inflected forms: "jula", "januarja", "novembra" (of "novembar").
    month_stem: HashMap<String, MonthVotes>,
    day_exact: HashMap<String, Votes<7>>,
    day_prefix: HashMap<String, Votes<7>>,
    /// Words a locale writes before a month's number ("tháng 3", "thg 3": Vietnamese).
    numbered: Vec<String>,
}

fn vote<const N: usize>(
    map: &mut HashMap<String, (Votes<N>, Vec<&'static str>)>,
    k: &str,
    i: usize,
    lang: &'static str,
) {
    let e = map.entry(k.to_string()).or_insert(([0; N], Vec::new()));
    // One vote per language and slot, however many of its locales agree.
    if !e.1.contains(&lang) || e.0[i] == 0 {
        e.0[i] += 1;
        e.1.push(lang);
    }
}

/// Who has voted for a month name: (month, language) pairs, and the votes.
type MonthBallot = (MonthVotes, Vec<(usize, &'static str)>);

fn vote_month(
    map: &mut HashMap<String, MonthBallot>,
    k: &str,
    m: usize,
    lang: &'static str,
    dotted: Option<bool>,
) {
    let e = map.entry(k.to_string()).or_default();
    if e.1.contains(&(m, lang)) {
        return;
    }
    e.1.push((m, lang));
    e.0.all[m] += 1;
    match dotted {
        Some(true) => e.0.dotted[m] += 1,
        Some(false) => e.0.plain[m] += 1,
        None => {}
    }
}

fn strip_months(m: HashMap<String, MonthBallot>) -> HashMap<String, MonthVotes> {
    m.into_iter().map(|(k, (v, _))| (k, v)).collect()
}

fn strip<const N: usize>(
    m: HashMap<String, (Votes<N>, Vec<&'static str>)>,
) -> HashMap<String, Votes<N>> {
    m.into_iter().map(|(k, (v, _))| (k, v)).collect()
}

fn prefixes(k: &str, min: usize) -> impl Iterator<Item = &str> {
    k.char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .filter(move |&e| k[..e].chars().count() >= min)
        .map(move |e| &k[..e])
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let (mut me, mut mp, mut ms, mut de, mut dp) = (
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
        HashMap::new(),
    );
    let mut month = |name: &str, m: usize, full: bool, lang: &'static str, dot: Option<bool>| {
        let Some(k) = key(name) else { return };
        vote_month(&mut me, &k, m, lang, dot);
        for p in prefixes(&k, 3) {
            vote_month(&mut mp, p, m, lang, dot);
        }
        if full && k.chars().count() >= 3 {
            vote_month(&mut ms, &k, m, lang, dot);
            let n = k.chars().count();
            if n >= 7 {
                let stem: String = k.chars().take(n - 2).collect();
                vote_month(&mut ms, &stem, m, lang, dot);
            }
        }
    };
    let mut numbered = Vec::new();
    for &loc in LOCALES {
        let Some(n) = names(loc) else { continue };
        let lang = loc.split(['_', '@']).next().unwrap_or(loc);
        for &(list, _) in &n.months {
            if let Some(w) = numbered_word(list) {
                if !numbered.contains(&w) {
                    numbered.push(w);
                }
            }
        }
        for &(list, full) in &n.months {
            for (i, name) in list.iter().enumerate().take(12) {
                month(name, i + 1, full, lang, Some(n.dotted_day));
            }
        }
        for list in &n.days {
            for (i, name) in list.iter().enumerate().take(7) {
                let Some(k) = key(name) else { continue };
                // glibc starts the week on Sunday; votes start on Monday.
                let d = (i + 6) % 7;
                vote(&mut de, &k, d, lang);
                for p in prefixes(&k, 3) {
                    vote(&mut dp, p, d, lang);
                }
            }
        }
    }
    for &(name, m) in MONTHS {
        month(name, m as usize, true, "extra", None);
    }
    Tables {
        month_exact: strip_months(me),
        month_prefix: strip_months(mp),
        month_stem: strip_months(ms),
        day_exact: strip(de),
        day_prefix: strip(dp),
        numbered,
    }
});

/// The word of a month list written as that word and the month's number ("Tháng 1"
/// … "Tháng 12"), folded.
fn numbered_word(list: &[&str]) -> Option<String> {
    let first = fold(list.first()?);
    let (word, _) = first.rsplit_once(' ')?;
    let all = list.len() >= 12
        && list.iter().take(12).enumerate().all(|(i, name)| {
            fold(name)
                .rsplit_once(' ')
                .is_some_and(|(w, n)| w == word && n.parse() == Ok(i + 1))
        });
    all.then(|| word.to_string())
}

/// Whether a folded word is written before a month's number ("thang", "thg").
pub fn numbered_month(word: &str) -> bool {
    let w = word.trim_end_matches('.');
    TABLES.numbered.iter().any(|n| n == w)
}

/// Hebrew writes a preposition as a one-letter prefix of the month ("5 במרץ"; CLDR's
/// pattern is `d בMMMM y`): the name without it.
fn without_proclitic(w: &str) -> Option<&str> {
    let mut it = w.char_indices();
    let (_, c) = it.next()?;
    let (i, _) = it.next()?;
    (('\u{5d0}'..='\u{5ea}').contains(&c) && w[i..].chars().count() >= 3).then(|| &w[i..])
}

/// Votes for the month a folded word names: an exact name, else an
/// abbreviation (a prefix of names, 3+ letters), else an inflected form.
pub fn month(word: &str) -> Option<MonthVotes> {
    month_of(word).or_else(|| without_proclitic(word).and_then(month_of))
}

fn month_of(word: &str) -> Option<MonthVotes> {
    let t = &*TABLES;
    let w = word.trim_end_matches('.');
    if let Some(v) = t.month_exact.get(w) {
        return Some(*v);
    }
    let n = w.chars().count();
    if n < 3 {
        return None;
    }
    if let Some(v) = t.month_prefix.get(w) {
        return Some(*v);
    }
    // An inflected form: a full name or stem plus a short ending.
    let ends: Vec<usize> = w.char_indices().map(|(i, _)| i).skip(3).collect();
    ends.into_iter()
        .rev()
        .filter(|&e| n - w[..e].chars().count() <= 3)
        .find_map(|e| t.month_stem.get(&w[..e]).copied())
}

/// Votes for the weekday a folded word names: exact (2+ letters), or a 3+
/// letter abbreviation ("je" is no weekday, though French "jeu." starts so).
pub fn weekday(word: &str) -> Option<Votes<7>> {
    let t = &*TABLES;
    let w = word.trim_end_matches('.');
    let n = w.chars().count();
    if n < 2 {
        return None;
    }
    t.day_exact
        .get(w)
        .or_else(|| (n >= 3).then(|| t.day_prefix.get(w)).flatten())
        .copied()
}

/// The month with the most votes, if it is the only one with that many.
pub fn best<const N: usize>(v: &Votes<N>) -> Option<usize> {
    let max = *v.iter().max()?;
    let mut it = (0..N).filter(|&i| v[i] == max && max > 0);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_locale_is_in_the_data() {
        for l in LOCALES {
            assert!(names(l).is_some(), "{l} missing from pure-rust-locales");
        }
    }

    #[test]
    fn lookups() {
        let m = |w: &str| best(&month(w).unwrap().all);
        assert_eq!(m("mei"), Some(5));
        assert_eq!(m("svibnja"), Some(5));
        assert_eq!(m("lokak"), Some(10));
        assert_eq!(m("jula"), Some(7));
        assert_eq!(m("novembra"), Some(11));
        assert_eq!(m("januarja"), Some(1));
        // Croatian October ("26. listopada"), Polish November ("26 listopada").
        let v = month("listopada").unwrap();
        assert!(v.all[10] > 0 && v.all[11] > 0, "{v:?}");
        assert_eq!(best(&v.dotted), Some(10));
        assert_eq!(best(&v.plain), Some(11));
        assert_eq!(best(&weekday("mittwoch").unwrap()), Some(2));
        assert_eq!(best(&weekday("sri").unwrap()), Some(2));
        assert_eq!(month("kell"), None);
        // Hindi (combining marks inside the word), Hebrew with its prefix, Vietnamese.
        assert_eq!(m("मार्च"), Some(3));
        assert_eq!(m("במרץ"), Some(3));
        assert!(numbered_month("thang") && numbered_month("thg."));
        assert!(!numbered_month("mar"));
        assert_eq!(month("alle"), None);
    }
}
