//! Loose date parsing for forward-header date lines in many UI languages
//! (RFC 2822, Gmail, Outlook, Apple Mail, numeric forms), and the
//! Europe/Tirane offset for dates written without a zone.

use super::locale::{self, MonthVotes, Votes};
use super::text::{fold, is_word_char};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike};

fn is_weekday(word: &str) -> bool {
    locale::weekday(word).is_some()
}

/// Picks the month of a candidate's votes: the majority, or where languages
/// disagree ("listopada": October in Croatian, November in Polish), the month in
/// which the day falls on the weekday written beside it.
fn settle(mv: &MonthVotes, days: &[Votes<7>], d: u32, y: i32, day_dot: bool) -> Option<u32> {
    let votes = &mv.all;
    let named: Vec<usize> = (1..=12).filter(|&m| votes[m] > 0).collect();
    if named.len() > 1 && !days.is_empty() {
        let fits = |m: usize| {
            NaiveDate::from_ymd_opt(y, m as u32, d).is_some_and(|date| {
                let wd = date.weekday().num_days_from_monday() as usize;
                days.iter().any(|v| v[wd] > 0)
            })
        };
        if let Some(m) = named
            .iter()
            .copied()
            .filter(|&m| fits(m))
            .max_by_key(|&m| votes[m])
        {
            return Some(m as u32);
        }
    }
    if named.len() > 1 {
        // The languages that write the day the way this date does ("26." or "26").
        let side = if day_dot { &mv.dotted } else { &mv.plain };
        if let Some(m) = locale::best(side) {
            return Some(m as u32);
        }
    }
    locale::best(votes).map(|m| m as u32)
}

fn zone_abbrev(w: &str) -> Option<i32> {
    Some(match w {
        "gmt" | "utc" | "z" | "wet" => 0,
        "cet" | "bst" | "west" | "mez" | "sec" => 60,
        "cest" | "eet" | "mesz" | "oez" | "sel" => 120,
        "eest" | "msk" | "trt" | "oesz" => 180,
        "est" => -300,
        "edt" => -240,
        "cst" => -360,
        "cdt" => -300,
        "mst" => -420,
        "mdt" => -360,
        "pst" => -480,
        "pdt" => -420,
        _ => return None,
    })
}

#[derive(Debug)]
enum Tok {
    Num(String),
    Word(String),
    Sep(char),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        if out.len() > 64 {
            break;
        }
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(&d) = it.peek() {
                if d.is_ascii_digit() && n.len() < 8 {
                    n.push(d);
                    it.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Num(n));
        } else if c.is_alphabetic() {
            let mut w = String::new();
            while let Some(&d) = it.peek() {
                if (is_word_char(d) || d == '.') && w.len() < 40 {
                    w.push(d);
                    it.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(w));
        } else {
            if !c.is_whitespace() {
                out.push(Tok::Sep(c));
            }
            it.next();
        }
    }
    out
}

/// Parses a date line value; `None` when no full date (day, month, year) is found.
pub fn parse_loose(value: &str) -> Option<DateTime<FixedOffset>> {
    let mut f = fold(value);
    if f.contains('年') {
        // 2022年9月19日 → 2022-9-19
        f = f
            .replacen('年', "-", 1)
            .replacen('月', "-", 1)
            .replacen('日', " ", 1);
    }
    if f.contains('년') {
        // Korean: 2023년 3월 27일 (월) → 2023-3-27 (월)
        f = f
            .replacen('년', "-", 1)
            .replacen('월', "-", 1)
            .replacen('일', " ", 1);
    }
    let toks = tokenize(&f);
    let (mut day, mut month, mut year) = (None::<u32>, None::<u32>, None::<i32>);
    let (mut hour, mut minute, mut second) = (None::<u32>, 0u32, 0u32);
    let mut pm = None::<bool>;
    let mut offset = None::<i32>;
    let mut month_cands: Vec<(usize, MonthVotes, bool)> = Vec::new();
    let mut day_dot = false;
    // "7/5/22" with a 12-hour clock: the US order, month first.
    let mut us_slash = false;
    let mut days: Vec<(usize, Votes<7>)> = Vec::new();
    let num = |t: Option<&Tok>| match t {
        Some(Tok::Num(n)) => n.parse::<u32>().ok(),
        _ => None,
    };
    let sep = |t: Option<&Tok>| match t {
        Some(Tok::Sep(c)) => Some(*c),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Num(n) => {
                let v: u32 = n.parse().unwrap_or(0);
                let s1 = sep(toks.get(i + 1));
                // Time h:mm(:ss)
                if hour.is_none() && s1 == Some(':') && n.len() <= 2 {
                    if let Some(m) = num(toks.get(i + 2)) {
                        hour = Some(v);
                        minute = m;
                        i += 3;
                        if sep(toks.get(i)) == Some(':') {
                            if let Some(sec) = num(toks.get(i + 1)) {
                                second = sec;
                                i += 2;
                            }
                        }
                        continue;
                    }
                }
                // Time written with dots once the date is complete: "kl. 09.14",
                // "klo 9.31", "kl. 11.49.56 CET", "28/10/2021 12.46".
                if hour.is_none()
                    && s1 == Some('.')
                    && n.len() <= 2
                    && v < 24
                    && day.is_some()
                    && year.is_some()
                    && (month.is_some() || !month_cands.is_empty())
                {
                    if let Some(Tok::Num(mm)) = toks.get(i + 2) {
                        let m: u32 = mm.parse().unwrap_or(99);
                        if mm.len() == 2 && m < 60 {
                            hour = Some(v);
                            minute = m;
                            i += 3;
                            if sep(toks.get(i)) == Some('.') {
                                if let Some(Tok::Num(ss)) = toks.get(i + 1) {
                                    if ss.len() == 2 {
                                        second = ss.parse().unwrap_or(0);
                                        i += 2;
                                    }
                                }
                            }
                            continue;
                        }
                    }
                }
                // Numeric date: d.m.y, d/m/y, y-m-d, d-m-y
                if day.is_none() && matches!(s1, Some('.' | '/' | '-')) {
                    let b = num(toks.get(i + 2));
                    let s2 = sep(toks.get(i + 3));
                    let c = num(toks.get(i + 4));
                    if let (Some(b), Some(c), true) = (b, c, s2 == s1) {
                        let (d, m, y) = if n.len() == 4 {
                            (c, b, v as i32)
                        } else if s1 == Some('/') && b > 12 && v <= 12 {
                            (b, v, c as i32)
                        } else {
                            (v, b, c as i32)
                        };
                        day = Some(d);
                        month = Some(m);
                        year = Some(if y < 100 { 2000 + y } else { y });
                        us_slash = s1 == Some('/') && n.len() <= 2 && v <= 12 && b <= 12;
                        i += 5;
                        continue;
                    }
                }
                // A zone offset right after the time: +0100 / -05:00
                let prev = if i > 0 { sep(toks.get(i - 1)) } else { None };
                if hour.is_some() && offset.is_none() && matches!(prev, Some('+' | '-')) {
                    let sign = if prev == Some('-') { -1 } else { 1 };
                    let mins = if n.len() >= 3 {
                        (v / 100) as i32 * 60 + (v % 100) as i32
                    } else if s1 == Some(':') {
                        let m = num(toks.get(i + 2)).unwrap_or(0);
                        i += 2;
                        v as i32 * 60 + m as i32
                    } else {
                        v as i32 * 60
                    };
                    offset = Some(sign * mins);
                } else if n.len() == 4 && year.is_none() {
                    year = Some(v as i32);
                } else if n.len() <= 2 && day.is_none() && (1..=31).contains(&v) {
                    day = Some(v);
                    day_dot = s1 == Some('.');
                } else if n.len() <= 2 && year.is_none() && day.is_some() && month.is_some() {
                    year = Some(2000 + v as i32);
                }
            }
            Tok::Word(w) => {
                let wt = w.trim_end_matches('.');
                match wt {
                    // Korean, Japanese, Chinese write it before the time.
                    "오전" | "午前" | "上午" => pm = Some(false),
                    "오후" | "午後" | "下午" => pm = Some(true),
                    // After the time only: "Am 28/10/2021" is German for "on".
                    "am" | "a.m" | "vorm" | "pd" | "paradite" | "paradites" | "πμ" | "π.μ"
                    | "oo"
                        if hour.is_some() =>
                    {
                        pm = Some(false)
                    }
                    "pm" | "p.m" | "nachm" | "md" | "mbasdite" | "mbasdites" | "pasdite"
                    | "pasdites" | "μμ" | "μ.μ" | "os"
                        if hour.is_some() =>
                    {
                        pm = Some(true)
                    }
                    // Spanish "9:14 p. m."
                    "a" | "p"
                        if hour.is_some()
                            && matches!(toks.get(i + 1), Some(Tok::Word(m)) if m.trim_end_matches('.') == "m") =>
                    {
                        pm = Some(wt == "p");
                        i += 1;
                    }
                    // A month written as a word and its number: "tháng 3", "thg 3". The
                    // day is the number just before it ("Th 3, 5 thg 3, 2024": Gmail
                    // writes Tuesday as "Th 3").
                    _ if month.is_none()
                        && locale::numbered_month(wt)
                        && num(toks.get(i + 1)).is_some_and(|m| (1..=12).contains(&m)) =>
                    {
                        if let Some(d) = i
                            .checked_sub(1)
                            .and_then(|p| num(toks.get(p)))
                            .filter(|d| (1..=31).contains(d))
                        {
                            day = Some(d);
                        }
                        month = num(toks.get(i + 1));
                        i += 2;
                        continue;
                    }
                    _ => {
                        // A zone follows the time ("čet" before a date is Thursday).
                        if let Some(z) = zone_abbrev(wt).filter(|_| hour.is_some()) {
                            if offset.is_none() {
                                offset = Some(z);
                                // GMT+1 / UTC+01:00
                                if let (Some(sg @ ('+' | '-')), Some(Tok::Num(n))) =
                                    (sep(toks.get(i + 1)), toks.get(i + 2))
                                {
                                    let v: i32 = n.parse().unwrap_or(0);
                                    let sign = if sg == '-' { -1 } else { 1 };
                                    let mut mins = if n.len() >= 3 {
                                        v / 100 * 60 + v % 100
                                    } else {
                                        v * 60
                                    };
                                    i += 3;
                                    if n.len() < 3 && sep(toks.get(i)) == Some(':') {
                                        mins += num(toks.get(i + 1)).unwrap_or(0) as i32;
                                        i += 2;
                                    }
                                    offset = Some(z + sign * mins);
                                    continue;
                                }
                            }
                        } else {
                            if let Some(v) = locale::month(wt) {
                                month_cands.push((i, v, is_weekday(wt)));
                            }
                            if let Some(v) = locale::weekday(wt) {
                                days.push((i, v));
                            }
                        }
                    }
                }
            }
            Tok::Sep(_) => {}
        }
        i += 1;
    }
    if us_slash && pm.is_some() {
        (day, month) = (month, day);
    }
    let (d, y) = (day?, year?);
    if month.is_none() {
        let pick = if month_cands.len() > 1 {
            month_cands.iter().find(|c| !c.2).or(month_cands.last())
        } else {
            month_cands.first()
        };
        month = pick.and_then(|c| {
            let beside: Vec<Votes<7>> = days.iter().filter(|w| w.0 != c.0).map(|w| w.1).collect();
            settle(&c.1, &beside, d, y, day_dot)
        });
    }
    let m = month?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let mut h = hour.unwrap_or(0);
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let naive = date.and_hms_opt(h, minute, second.min(59))?;
    match offset {
        Some(mins) if mins.abs() < 18 * 60 => FixedOffset::east_opt(mins * 60)?
            .from_local_datetime(&naive)
            .single(),
        _ => Some(tirane(naive)),
    }
}

/// Interprets a wall-clock time in Europe/Tirane (EU DST rule).
pub fn tirane(local: NaiveDateTime) -> DateTime<FixedOffset> {
    // Try CEST first: valid if the resulting UTC instant is inside the DST period.
    let cest = FixedOffset::east_opt(7200).expect("valid offset");
    let cet = FixedOffset::east_opt(3600).expect("valid offset");
    let as_utc = local - chrono::Duration::hours(2);
    if in_dst(as_utc) {
        cest.from_utc_datetime(&as_utc)
    } else {
        cet.from_utc_datetime(&(local - chrono::Duration::hours(1)))
    }
}

/// Whether a UTC instant falls in EU summer time (last Sunday of March 01:00 UTC
/// to last Sunday of October 01:00 UTC).
fn in_dst(utc: NaiveDateTime) -> bool {
    let y = utc.year();
    let start = last_sunday(y, 3).and_hms_opt(1, 0, 0);
    let end = last_sunday(y, 10).and_hms_opt(1, 0, 0);
    matches!((start, end), (Some(s), Some(e)) if utc >= s && utc < e)
}

fn last_sunday(y: i32, month: u32) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(y, month, 31)
        .or_else(|| NaiveDate::from_ymd_opt(y, month, 30))
        .unwrap_or_default();
    while d.weekday() != chrono::Weekday::Sun {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// RFC 3339 with seconds precision and a numeric offset (`+00:00` for UTC).
pub fn rfc3339(d: &DateTime<FixedOffset>) -> String {
    d.with_nanosecond(0)
        .unwrap_or(*d)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Converts a mail-parser header date.
pub fn from_header(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let mins = i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute);
    let off = if d.tz_before_gmt { -mins } else { mins };
    let naive = NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))?
        .and_hms_opt(
        u32::from(d.hour),
        u32::from(d.minute),
        u32::from(d.second).min(59),
    )?;
    FixedOffset::east_opt(off * 60)?
        .from_local_datetime(&naive)
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse_loose(s)
            .map(|d| rfc3339(&d))
            .unwrap_or_else(|| "none".into())
    }

    #[test]
    fn english_client_formats() {
        assert_eq!(
            p("Wed, 22 Dec 2021 09:14:00 +0100"),
            "2021-12-22T09:14:00+01:00"
        );
        assert_eq!(
            p("Wed, Dec 22, 2021 at 9:14 AM"),
            "2021-12-22T09:14:00+01:00"
        );
        assert_eq!(
            p("Wednesday, December 22, 2021 9:14 PM"),
            "2021-12-22T21:14:00+01:00"
        );
        assert_eq!(p("22 December 2021 09:14"), "2021-12-22T09:14:00+01:00");
        assert_eq!(
            p("December 22, 2021 at 9:14:03 AM GMT+1"),
            "2021-12-22T09:14:03+01:00"
        );
        assert_eq!(
            p("Thu, 1 Jul 2021 12:05:00 GMT"),
            "2021-07-01T12:05:00+00:00"
        );
        assert_eq!(
            p("Thu, 1 Jul 2021 12:30 AM UTC"),
            "2021-07-01T00:30:00+00:00"
        );
    }

    #[test]
    fn numeric_forms_and_tirane_summer_time() {
        assert_eq!(p("22.12.2021 09:14"), "2021-12-22T09:14:00+01:00");
        assert_eq!(p("2021-07-22 09:14"), "2021-07-22T09:14:00+02:00");
        assert_eq!(p("22/07/2021, 9:14"), "2021-07-22T09:14:00+02:00");
        assert_eq!(p("12/22/2021 9:14 AM"), "2021-12-22T09:14:00+01:00");
        // Slashes and a 12-hour clock: the US order (Outlook for Mac, en-US).
        assert_eq!(p("7/5/22, 10:32 AM"), "2022-07-05T10:32:00+02:00");
        assert_eq!(p("05/07/2022 10:32"), "2022-07-05T10:32:00+02:00");
    }

    #[test]
    fn dst_boundaries() {
        // 2021: DST from 28 March 01:00 UTC to 31 October 01:00 UTC.
        assert_eq!(p("28.03.2021 01:59"), "2021-03-28T01:59:00+01:00");
        assert_eq!(p("28.03.2021 03:00"), "2021-03-28T03:00:00+02:00");
        assert_eq!(p("31.10.2021 03:30"), "2021-10-31T03:30:00+01:00");
    }

    #[test]
    fn localised_names() {
        let want = "2021-12-22T09:14:00+01:00";
        for s in [
            "e mërkurë, 22 dhjetor 2021 në 09:14",
            "E merkure, 22 Dhjetor 2021 ne 9:14 e paradites",
            "mercoledì 22 dicembre 2021 alle ore 09:14",
            "Mittwoch, 22. Dezember 2021 um 09:14",
            "mer. 22 déc. 2021 à 09:14",
            "miércoles, 22 de diciembre de 2021 a las 9:14",
            "mié., 22 dic. 2021 9:14",
            "среда, 22 декабря 2021 г. в 09:14",
            "Τετάρτη, 22 Δεκεμβρίου 2021 9:14 π.μ.",
            "22 Aralık 2021 Çarşamba 09:14",
            "22 Ara 2021 Çar 09:14",
            "22 Dhj 2021, 9:14 PD",
            "E mër, 22 Dhj 2021 në 9:14 e paradites",
            "2021年12月22日水曜日 9:14 +0100",
            "miércoles, 22 de diciembre de 2021, 9:14 a. m.",
            "quarta-feira, 22 de dezembro de 2021 09:14",
            "Mi., 22. Dez. 2021 um 09:14",
        ] {
            assert_eq!(p(s), want, "{s}");
        }
        assert_eq!(p("mar. 21 déc. 2021 à 09:14"), "2021-12-21T09:14:00+01:00");
        assert_eq!(
            p("martes, 1 de marzo de 2022 9:14"),
            "2022-03-01T09:14:00+01:00"
        );
        assert_eq!(p("1 mars 2022 09:14"), "2022-03-01T09:14:00+01:00");
        assert_eq!(
            p("mar 5 mar 2024 alle ore 09:00"),
            "2024-03-05T09:00:00+01:00"
        );
        assert_eq!(
            p("Mon, Mar 28, 2022 at 8:00 AM"),
            "2022-03-28T08:00:00+02:00"
        );
        assert_eq!(
            p("E mër, 22 Dhj 2021 në 9:14 e pasdites"),
            "2021-12-22T21:14:00+01:00"
        );
        assert_eq!(p("22 dic 2021, 9:14 p. m."), "2021-12-22T21:14:00+01:00");
    }

    /// Every month name (full, standalone, abbreviated) of every locale read from
    /// glibc, written beside each of its locale's weekday names (full and
    /// abbreviated), parses to its month; and alone, to its month unless another
    /// language uses the same word for another month.
    #[test]
    fn every_locale_round_trips() {
        let (mut tried, mut failed, mut alone, mut ambiguous) = (0, Vec::new(), 0, Vec::new());
        for &loc in locale::LOCALES {
            let n = locale::names(loc).expect("listed locale");
            for &(list, _) in &n.months {
                for (i, name) in list.iter().enumerate().take(12) {
                    if locale::key(name).is_none() {
                        continue; // "1월": written with digits
                    }
                    let m = i as u32 + 1;
                    let date = NaiveDate::from_ymd_opt(2021, m, 15).unwrap();
                    let off = if (4..=10).contains(&m) { 2 } else { 1 };
                    let want = format!("2021-{m:02}-15T10:15:00+0{off}:00");
                    let wd = date.weekday().num_days_from_sunday() as usize;
                    for days in &n.days {
                        if locale::key(days[wd]).is_none() {
                            continue; // "J3": Swahili writes weekdays with digits
                        }
                        for s in [
                            format!("{}, 15 {name} 2021 10:15", days[wd]),
                            format!("{} 15 {name} 2021 kl. 10.15", days[wd]),
                        ] {
                            tried += 1;
                            if p(&s) != want {
                                failed.push(format!("{loc}: {s:?} -> {}", p(&s)));
                            }
                        }
                    }
                    alone += 1;
                    let s = format!("15 {name} 2021 10:15");
                    if p(&s) != want {
                        ambiguous.push(format!("{loc}: {s:?} -> {}", p(&s)));
                    }
                }
            }
        }
        eprintln!(
            "locale round trip: {tried} with a weekday, {alone} alone ({} read as another month)",
            ambiguous.len()
        );
        assert!(tried > 4000, "only {tried} names tried");
        assert!(
            failed.is_empty(),
            "{} of {tried}: {failed:#?}",
            failed.len()
        );
        assert!(
            ambiguous.len() * 100 <= alone * 3,
            "{} of {alone} names alone read as another month: {ambiguous:#?}",
            ambiguous.len()
        );
    }

    #[test]
    fn dotted_times_korean_and_inflections() {
        assert_eq!(
            p("ons. 27. okt. 2021 kl. 09.31"),
            "2021-10-27T09:31:00+02:00"
        );
        assert_eq!(
            p("ke 27. lokak. 2021 klo 9.31"),
            "2021-10-27T09:31:00+02:00"
        );
        assert_eq!(
            p("17 januari 2024 kl. 11.49.56 CET"),
            "2024-01-17T11:49:56+01:00"
        );
        assert_eq!(p("28/10/2021 12.46"), "2021-10-28T12:46:00+02:00");
        assert_eq!(
            p("2023년 3월 27일 (월) 오후 12:10"),
            "2023-03-27T12:10:00+02:00"
        );
        assert_eq!(p("wo 17 mei 2023 om 09:14"), "2023-05-17T09:14:00+02:00");
        assert_eq!(p("sri, 17. svi 2023. u 09:14"), "2023-05-17T09:14:00+02:00");
        assert_eq!(p("17. svibnja 2023. u 09:14"), "2023-05-17T09:14:00+02:00");
        assert_eq!(p("sreda, 17. maja 2023. 9:14"), "2023-05-17T09:14:00+02:00");
        assert_eq!(p("17. januarja 2024 11.49"), "2024-01-17T11:49:00+01:00");
        // Croatian "lis" is October, Polish and Czech November: the weekday decides.
        assert_eq!(p("sri, 27. lis 2021. u 09:31"), "2021-10-27T09:31:00+02:00");
        assert_eq!(p("sob., 27 lis 2021 o 09:31"), "2021-11-27T09:31:00+01:00");
        // No weekday: Croatian writes "26.", Polish "26" (glibc's date formats).
        assert_eq!(
            p("26. listopada 2021. u 14:25:08 EEST"),
            "2021-10-26T14:25:08+03:00"
        );
        assert_eq!(p("26 listopada 2021 o 14:25"), "2021-11-26T14:25:00+01:00");
        assert_eq!(
            p("26. Oktober 2021 um 14:25:08 OESZ"),
            "2021-10-26T14:25:08+03:00"
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(p("soon"), "none");
        assert_eq!(p("99.99.2021"), "none");
        assert_eq!(p(""), "none");
    }
}
