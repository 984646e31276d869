//! The rules, pure: a case's facts and `today` in; for each route the day it opens,
//! the facts still unknown, and why (the rule and its article) out.
//!
//! A missing fact gives "unknown", never a guess: a route whose date depends on an
//! unknown fact has no date. Years are counted as anniversaries in Europe/Tirane; a
//! period that starts on 29 February completes on 1 March in a year without one,
//! so a route never opens a day early.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::law::{article, Law};
use crate::store::{CitizenshipFacts, ResidencePeriod};

/// A way to Albanian citizenship by naturalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Art. 9: five consecutive years of lawful residence.
    General,
    /// Art. 9: three years for a person of Albanian origin.
    AlbanianOrigin,
    /// Art. 10: three years married to an Albanian citizen, one year of residence.
    Marriage,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::General, Route::AlbanianOrigin, Route::Marriage];

    /// `general`, `albanian_origin`, `marriage`: what the store and JSON hold.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::General => "general",
            Route::AlbanianOrigin => "albanian_origin",
            Route::Marriage => "marriage",
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a route stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `opens_on` is today or past.
    Open,
    /// `opens_on` is in the future.
    Opens,
    /// A fact it depends on is unknown (`missing` names it): no date.
    Unknown,
    /// A fact rules it out (not of Albanian origin, not married to an Albanian citizen).
    NotApplicable,
    /// The last period of residence ended: the count starts again with the next.
    NotResident,
}

/// One route's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteClock {
    pub route: Route,
    pub status: Status,
    /// When it opens (`None` unless `status` is `open` or `opens`).
    pub opens_on: Option<NaiveDate>,
    /// Names of the unknown facts it waits for: `residence_since`, `date_of_birth`,
    /// `albanian_origin`, `married_albanian_since`.
    pub missing: Vec<&'static str>,
    /// The rules applied, each with its article.
    pub why: Vec<String>,
}

/// A case's clock: every route, the earliest, and notes on the residence count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// The start of the current run of consecutive residence.
    pub residence_since: Option<NaiveDate>,
    pub routes: Vec<RouteClock>,
    /// The earliest `opens_on` of all routes.
    pub earliest: Option<NaiveDate>,
    /// Gaps that restarted the count, an ended residence, assumptions made.
    pub notes: Vec<String>,
}

impl Clock {
    pub fn route(&self, r: Route) -> Option<&RouteClock> {
        self.routes.iter().find(|c| c.route == r)
    }
}

/// What the rules read about one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    pub facts: &'a CitizenshipFacts,
    /// Periods staff entered.
    pub periods: &'a [ResidencePeriod],
    /// Absences staff entered: not resident from `from` to `to` (inclusive).
    pub absences: &'a [ResidencePeriod],
    /// The days (Europe/Tirane) of the approvals leje saw; the first starts a period
    /// of residence that each later one (a renewal) extends.
    pub approvals: &'a [NaiveDate],
}

/// The day `years` after `d`: its anniversary, 1 March for 29 February in a year without one.
pub fn add_years(d: NaiveDate, years: u32) -> Option<NaiveDate> {
    let y = d.year().checked_add(i32::try_from(years).ok()?)?;
    NaiveDate::from_ymd_opt(y, d.month(), d.day()).or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))
}

/// The calendar day in Europe/Tirane (CET, CEST under the EU rule) of an instant.
pub fn tirane_date(t: DateTime<Utc>) -> NaiveDate {
    let y = t.year();
    let last_sunday = |month: u32| {
        let mut d = NaiveDate::from_ymd_opt(y, month, 31).unwrap_or_default();
        while d.weekday() != chrono::Weekday::Sun {
            d = d.pred_opt().unwrap_or(d);
        }
        d.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
    };
    let summer = t >= last_sunday(3) && t < last_sunday(10);
    let offset = chrono::Duration::hours(if summer { 2 } else { 1 });
    (t + offset).date_naive()
}

/// The current run of consecutive residence: its start, and whether it is still
/// going on at `today` (within the tolerance), with notes on gaps.
struct Residence {
    since: Option<NaiveDate>,
    current: bool,
    notes: Vec<String>,
}

fn residence(input: &Input<'_>, today: NaiveDate, tolerance_days: u32) -> Residence {
    let mut periods: Vec<ResidencePeriod> = input.periods.to_vec();
    if let Some(first) = input.approvals.iter().min() {
        periods.push(ResidencePeriod {
            from: *first,
            to: None,
        });
    }
    let mut periods = cut(periods, input.absences);
    periods.sort_by_key(|p| p.from);
    let mut notes = Vec::new();
    let tol = chrono::Duration::days(i64::from(tolerance_days));
    let day = chrono::Duration::days(1);
    let mut run: Option<(NaiveDate, Option<NaiveDate>)> = None;
    for p in periods {
        run = Some(match run {
            None => (p.from, p.to),
            Some((start, None)) => (start, None),
            // A later period whose gap (the days between) is within the tolerance continues the run.
            Some((start, Some(end))) if p.from <= end + tol + day => {
                (start, p.to.map(|t| t.max(end)))
            }
            Some((_, Some(end))) => {
                notes.push(format!(
                    "art. 9: residence must be consecutive; not resident for {} days between {end} \
                     and {}, more than the tolerance of {tolerance_days} days, so the count restarts on {}",
                    (p.from - end).num_days() - 1,
                    p.from,
                    p.from
                ));
                (p.from, p.to)
            }
        });
    }
    let Some((since, end)) = run else {
        return Residence {
            since: None,
            current: false,
            notes,
        };
    };
    let current = match end {
        None => true,
        Some(e) if e + tol >= today => {
            if e >= today {
                notes.push(format!(
                    "the residence entered ends on {e}; counted as going on after it"
                ));
            }
            true
        }
        Some(e) => {
            notes.push(format!(
                "the last period of residence ended on {e}; no route opens until residence resumes"
            ));
            false
        }
    };
    Residence {
        since: Some(since),
        current,
        notes,
    }
}

/// The periods with the absences cut out of them.
fn cut(mut periods: Vec<ResidencePeriod>, absences: &[ResidencePeriod]) -> Vec<ResidencePeriod> {
    let day = chrono::Duration::days(1);
    for a in absences {
        let a_to = a.to.unwrap_or(NaiveDate::MAX);
        let mut out = Vec::with_capacity(periods.len() + 1);
        for p in periods {
            let p_to = p.to.unwrap_or(NaiveDate::MAX);
            if a.from > p_to || a_to < p.from {
                out.push(p);
                continue;
            }
            if p.from < a.from {
                out.push(ResidencePeriod {
                    from: p.from,
                    to: Some(a.from - day),
                });
            }
            if a_to < p_to {
                out.push(ResidencePeriod {
                    from: a_to + day,
                    to: p.to,
                });
            }
        }
        periods = out;
    }
    periods
}

/// What one route needs: `(years of residence, extra dated condition)`.
struct Need {
    route: Route,
    residence_years: u32,
    residence_key: &'static str,
}

/// The clock of one case on `today`.
pub fn clock(input: &Input<'_>, law: &Law, tolerance_days: u32, today: NaiveDate) -> Clock {
    let res = residence(input, today, tolerance_days);
    let f = input.facts;
    let routes: Vec<RouteClock> = Route::ALL
        .iter()
        .map(|&route| {
            let need = match route {
                Route::General => Need {
                    route,
                    residence_years: law.general_years,
                    residence_key: "general_years",
                },
                Route::AlbanianOrigin => Need {
                    route,
                    residence_years: law.albanian_origin_years,
                    residence_key: "albanian_origin_years",
                },
                Route::Marriage => Need {
                    route,
                    residence_years: law.marriage_residence_years,
                    residence_key: "marriage_residence_years",
                },
            };
            route_clock(&need, f, &res, law, today)
        })
        .collect();
    let earliest = routes.iter().filter_map(|r| r.opens_on).min();
    Clock {
        residence_since: res.since,
        routes,
        earliest,
        notes: res.notes,
    }
}

fn route_clock(
    need: &Need,
    f: &CitizenshipFacts,
    res: &Residence,
    law: &Law,
    today: NaiveDate,
) -> RouteClock {
    let mut missing = Vec::new();
    let mut why = Vec::new();
    let mut dates: Vec<NaiveDate> = Vec::new();
    let not_applicable = |why: String| RouteClock {
        route: need.route,
        status: Status::NotApplicable,
        opens_on: None,
        missing: Vec::new(),
        why: vec![why],
    };
    // The route's own fact first.
    match need.route {
        Route::General => {}
        Route::AlbanianOrigin => match f.albanian_origin {
            Some(false) => return not_applicable("art. 9: not of Albanian origin".into()),
            Some(true) => why.push("art. 9: of Albanian origin".into()),
            None => {
                missing.push("albanian_origin");
                why.push("art. 9: Albanian origin unknown".into());
            }
        },
        Route::Marriage => match (f.married_albanian, f.married_since) {
            (Some(false), _) => {
                return not_applicable("art. 10: not married to an Albanian citizen".into())
            }
            (Some(true), Some(d)) => match add_years(d, law.marriage_years) {
                Some(on) => {
                    why.push(format!(
                        "{}: married to an Albanian citizen since {d}, {} years on {on}",
                        article("marriage_years"),
                        law.marriage_years
                    ));
                    dates.push(on);
                }
                None => missing.push("married_albanian_since"),
            },
            _ => {
                missing.push("married_albanian_since");
                why.push("art. 10: marriage to an Albanian citizen unknown".into());
            }
        },
    }
    // Residence.
    match res.since {
        Some(since) => match add_years(since, need.residence_years) {
            Some(on) => {
                let consecutive = if need.route == Route::Marriage {
                    "continuous"
                } else {
                    "consecutive"
                };
                why.push(format!(
                    "{}: {} {consecutive} year(s) of lawful residence since {since}, complete on {on}",
                    article(need.residence_key),
                    need.residence_years
                ));
                dates.push(on);
            }
            None => missing.push("residence_since"),
        },
        None => {
            missing.push("residence_since");
            why.push(format!(
                "{}: the start of residence is unknown",
                article(need.residence_key)
            ));
        }
    }
    // Age, unless stateless.
    if f.stateless == Some(true) {
        why.push("art. 9: stateless, so age is not considered".into());
    } else {
        match f
            .born
            .and_then(|b| add_years(b, law.adult_age).map(|on| (b, on)))
        {
            Some((born, on)) => {
                why.push(format!(
                    "{}: born {born}, {} years old on {on}",
                    article("adult_age"),
                    law.adult_age
                ));
                dates.push(on);
            }
            None => {
                missing.push("date_of_birth");
                why.push(format!("{}: date of birth unknown", article("adult_age")));
            }
        }
    }
    let (status, opens_on) = if !missing.is_empty() {
        (Status::Unknown, None)
    } else if !res.current {
        why.push("the last period of residence ended".into());
        (Status::NotResident, None)
    } else {
        let on = dates.into_iter().max();
        match on {
            Some(d) if d <= today => (Status::Open, Some(d)),
            Some(d) => (Status::Opens, Some(d)),
            None => (Status::Unknown, None),
        }
    };
    RouteClock {
        route: need.route,
        status,
        opens_on,
        missing,
        why,
    }
}
