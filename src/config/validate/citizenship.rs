//! `[citizenship]`.

use std::time::Duration;

use super::Ctx;
use crate::citizenship::Law;
use crate::config::citizenship::{CitizenshipFile, CitizenshipSettings};

pub(super) fn citizenship(cx: &mut Ctx<'_>, f: Option<&CitizenshipFile>) -> CitizenshipSettings {
    let d = CitizenshipSettings::default();
    let Some(f) = f else { return d };
    let mut years = |key: &str, v: Option<i64>, min: i64, max: i64, default: u32| match v {
        None => default,
        Some(n) if (min..=max).contains(&n) => n as u32,
        Some(n) => {
            cx.err(
                &format!("citizenship.{key}"),
                format!("`{n}` is out of range ({min}-{max})"),
            );
            default
        }
    };
    let law = Law {
        general_years: years("general_years", f.general_years, 1, 30, d.law.general_years),
        albanian_origin_years: years(
            "albanian_origin_years",
            f.albanian_origin_years,
            1,
            30,
            d.law.albanian_origin_years,
        ),
        marriage_years: years(
            "marriage_years",
            f.marriage_years,
            1,
            30,
            d.law.marriage_years,
        ),
        marriage_residence_years: years(
            "marriage_residence_years",
            f.marriage_residence_years,
            0,
            30,
            d.law.marriage_residence_years,
        ),
        adult_age: years("adult_age", f.adult_age, 0, 30, d.law.adult_age),
    };
    let gap_tolerance_days = years(
        "gap_tolerance_days",
        f.gap_tolerance_days,
        0,
        3650,
        d.gap_tolerance_days,
    );
    let notify_days_before = years(
        "notify_days_before",
        f.notify_days_before,
        0,
        365,
        d.notify_days_before,
    );
    let check_interval = cx.duration(
        "citizenship.check_interval",
        &f.check_interval,
        d.check_interval,
    );
    if check_interval < Duration::from_secs(60) {
        cx.err(
            "citizenship.check_interval",
            "must be at least `1m` (the dates it looks for change once a day)",
        );
    }
    CitizenshipSettings {
        enabled: f.enabled.unwrap_or(d.enabled),
        law,
        gap_tolerance_days,
        notify: f.notify.unwrap_or(d.notify),
        notify_days_before,
        check_interval,
    }
}
