//! The applicant's day: Europe/Tirane (CET/CEST, the EU's summer-time rule),
//! and whether an instant falls inside the configured window.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};

/// Minutes after local midnight in Tirana at the instant `t`.
pub fn tirane_minutes(t: DateTime<Utc>) -> u32 {
    let local = t + Duration::hours(if in_summer_time(t) { 2 } else { 1 });
    local.hour() * 60 + local.minute()
}

/// Whether `t` is within `[from, until)` minutes of the Tirana day.
pub fn in_window(t: DateTime<Utc>, (from, until): (u32, u32)) -> bool {
    let m = tirane_minutes(t);
    m >= from && m < until
}

/// EU summer time: from the last Sunday of March, 01:00 UTC, to the last
/// Sunday of October, 01:00 UTC.
fn in_summer_time(t: DateTime<Utc>) -> bool {
    let y = t.year();
    let start = last_sunday(y, 3).and_hms_opt(1, 0, 0).map(|d| d.and_utc());
    let end = last_sunday(y, 10).and_hms_opt(1, 0, 0).map(|d| d.and_utc());
    match (start, end) {
        (Some(s), Some(e)) => t >= s && t < e,
        _ => false,
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(year, month + 1, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or_default();
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt().unwrap_or_default();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn winter_and_summer() {
        // 08:30 UTC in January = 09:30 in Tirana; in July = 10:30.
        assert_eq!(tirane_minutes(utc("2026-01-15T08:30:00Z")), 9 * 60 + 30);
        assert_eq!(tirane_minutes(utc("2026-07-15T08:30:00Z")), 10 * 60 + 30);
        // The switch: 2026-03-29 01:00 UTC.
        assert_eq!(tirane_minutes(utc("2026-03-29T00:59:00Z")), 60 + 59);
        assert_eq!(tirane_minutes(utc("2026-03-29T01:00:00Z")), 3 * 60);
        let w = (9 * 60, 19 * 60);
        assert!(!in_window(utc("2026-01-15T07:59:00Z"), w));
        assert!(in_window(utc("2026-01-15T08:00:00Z"), w));
        assert!(!in_window(utc("2026-01-15T18:00:00Z"), w));
        assert!(in_window(utc("2026-07-15T16:59:00Z"), w));
    }
}
