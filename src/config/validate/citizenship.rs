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

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn load(text: &str) -> Result<crate::config::Settings, Vec<String>> {
        crate::config::load_str(Path::new("/etc/leje/leje.toml"), text)
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn defaults_are_law_8389_and_overrides_apply() {
        let s = load("").unwrap();
        assert_eq!(s.citizenship, Default::default());
        assert_eq!(s.citizenship.law.general_years, 5);
        let s = load(
            "[citizenship]\ngeneral_years = 10\nnotify_days_before = 14\n\
             gap_tolerance_days = 0\nnotify = false\ncheck_interval = \"6h\"\n",
        )
        .unwrap();
        let c = &s.citizenship;
        assert_eq!(
            (
                c.law.general_years,
                c.law.marriage_years,
                c.notify_days_before
            ),
            (10, 3, 14)
        );
        assert_eq!((c.gap_tolerance_days, c.notify), (0, false));
        assert_eq!(c.check_interval.as_secs(), 6 * 3600);
    }

    #[test]
    fn every_bad_value_is_reported_with_file_and_key() {
        let errs = load(
            "[citizenship]\ngeneral_years = 0\nadult_age = 99\nnotify_days_before = -1\n\
             check_interval = \"10s\"\nnotify = \"yes\"\n",
        )
        .unwrap_err();
        for key in [
            "citizenship.general_years",
            "citizenship.adult_age",
            "citizenship.notify_days_before",
            "citizenship.check_interval",
            "citizenship.notify",
        ] {
            assert!(
                errs.iter()
                    .any(|e| e.starts_with("/etc/leje/leje.toml:") && e.contains(key)),
                "{key} missing in {errs:#?}"
            );
        }
        let errs = load("[citizenship]\nperiod = 5\n").unwrap_err();
        assert!(errs[0].contains("unknown key `period`"), "{errs:?}");
    }
}
