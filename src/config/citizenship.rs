//! `[citizenship]`: the citizenship clock (issue 21). The periods default to Law
//! No. 8389 of 5 August 1998 ([`crate::citizenship::LAW_8389`]); operators must
//! check the law in force and override what changed.

use std::time::Duration;

use serde::Deserialize;

use super::units::NumOrText;
use crate::citizenship::Law;

/// `[citizenship]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenshipFile {
    /// The clock at all: the daemon's pass and `leje citizenship`. Default true.
    pub enabled: Option<bool>,
    /// Art. 9: consecutive years of residence, general route. Default 5.
    pub general_years: Option<i64>,
    /// Art. 9: years of residence for a person of Albanian origin. Default 3.
    pub albanian_origin_years: Option<i64>,
    /// Art. 10: years of marriage to an Albanian citizen. Default 3.
    pub marriage_years: Option<i64>,
    /// Art. 10: years of continuous residence for the spouse. Default 1.
    pub marriage_residence_years: Option<i64>,
    /// Art. 9: minimum age. Default 18.
    pub adult_age: Option<i64>,
    /// A gap between two periods of residence up to this many days does not break
    /// "consecutive"; a longer one restarts the count. Default 30 (leje's choice; the law names none).
    pub gap_tolerance_days: Option<i64>,
    /// Email each applicant when a route opens. Default true.
    pub notify: Option<bool>,
    /// Send that email this many days before the route opens (0 = on the day). Default 0.
    pub notify_days_before: Option<i64>,
    /// How often the daemon looks for routes that opened. Default `1h`.
    pub check_interval: Option<NumOrText>,
}

/// The validated `[citizenship]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenshipSettings {
    /// Default true.
    pub enabled: bool,
    /// Default: Law No. 8389.
    pub law: Law,
    /// Default 30.
    pub gap_tolerance_days: u32,
    /// Default true.
    pub notify: bool,
    /// Default 0.
    pub notify_days_before: u32,
    /// Default 1 hour.
    pub check_interval: Duration,
}

impl Default for CitizenshipSettings {
    fn default() -> Self {
        CitizenshipSettings {
            enabled: true,
            law: Law::default(),
            gap_tolerance_days: 30,
            notify: true,
            notify_days_before: 0,
            check_interval: Duration::from_secs(3600),
        }
    }
}
