//! The rules, case by case: each route, gaps, boundaries, and unknown facts.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::store::{CitizenshipFacts, ResidencePeriod};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn adult() -> CitizenshipFacts {
    CitizenshipFacts {
        born: Some(d("1990-05-01")),
        ..Default::default()
    }
}

fn run(
    f: &CitizenshipFacts,
    periods: &[ResidencePeriod],
    approvals: &[&str],
    today: &str,
) -> Clock {
    let approvals: Vec<NaiveDate> = approvals.iter().map(|s| d(s)).collect();
    clock(
        &Input {
            facts: f,
            periods,
            absences: &[],
            approvals: &approvals,
        },
        &Law::default(),
        30,
        d(today),
    )
}

fn period(from: &str, to: Option<&str>) -> ResidencePeriod {
    ResidencePeriod {
        from: d(from),
        to: to.map(d),
    }
}

#[test]
fn general_route_opens_on_the_fifth_anniversary_of_the_first_approval() {
    let f = adult();
    // A renewal two years later extends the same run; it does not restart it.
    let before = run(&f, &[], &["2019-03-01", "2021-02-20"], "2024-02-29");
    let g = before.route(Route::General).unwrap();
    assert_eq!(
        (g.status, g.opens_on),
        (Status::Opens, Some(d("2024-03-01")))
    );
    assert!(g.missing.is_empty());
    assert!(
        g.why.iter().any(|w| w.starts_with("art. 9: 5 consecutive")),
        "{:?}",
        g.why
    );
    assert_eq!(before.residence_since, Some(d("2019-03-01")));
    let on = run(&f, &[], &["2019-03-01", "2021-02-20"], "2024-03-01");
    assert_eq!(on.route(Route::General).unwrap().status, Status::Open);
    assert_eq!(on.earliest, Some(d("2024-03-01")));
}

#[test]
fn albanian_origin_route_takes_three_years() {
    let f = CitizenshipFacts {
        albanian_origin: Some(true),
        ..adult()
    };
    let c = run(&f, &[], &["2021-06-10"], "2023-01-01");
    let o = c.route(Route::AlbanianOrigin).unwrap();
    assert_eq!(
        (o.status, o.opens_on),
        (Status::Opens, Some(d("2024-06-10")))
    );
    assert_eq!(c.earliest, Some(d("2024-06-10")));
    let no = CitizenshipFacts {
        albanian_origin: Some(false),
        ..adult()
    };
    let c = run(&no, &[], &["2021-06-10"], "2023-01-01");
    assert_eq!(
        c.route(Route::AlbanianOrigin).unwrap().status,
        Status::NotApplicable
    );
    assert_eq!(
        c.earliest,
        Some(d("2026-06-10")),
        "only the general route is left"
    );
}

#[test]
fn marriage_route_opens_before_the_general_one() {
    let f = CitizenshipFacts {
        married_albanian: Some(true),
        married_since: Some(d("2021-01-15")),
        ..adult()
    };
    let c = run(&f, &[], &["2022-06-01"], "2023-01-01");
    let m = c.route(Route::Marriage).unwrap();
    // Three years married (2024-01-15) and one year of residence (2023-06-01): the later.
    assert_eq!(
        (m.status, m.opens_on),
        (Status::Opens, Some(d("2024-01-15")))
    );
    assert!(
        m.why.iter().any(|w| w.starts_with("art. 10: married")),
        "{:?}",
        m.why
    );
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2027-06-01"))
    );
    assert_eq!(c.earliest, Some(d("2024-01-15")));
    // Married long ago: the one year of residence decides.
    let long = CitizenshipFacts {
        married_since: Some(d("2010-01-01")),
        ..f
    };
    let c = run(&long, &[], &["2022-06-01"], "2023-01-01");
    assert_eq!(
        c.route(Route::Marriage).unwrap().opens_on,
        Some(d("2023-06-01"))
    );
}

#[test]
fn a_gap_longer_than_the_tolerance_restarts_the_count() {
    let f = adult();
    // Entered by staff: 2015 to mid-2017; then the approval leje saw in 2018.
    let periods = [period("2015-01-01", Some("2017-06-01"))];
    let c = run(&f, &periods, &["2018-01-01"], "2021-01-01");
    assert_eq!(c.residence_since, Some(d("2018-01-01")));
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2023-01-01"))
    );
    assert!(
        c.notes.iter().any(
            |n| n.contains("not resident for 213 days") && n.contains("restarts on 2018-01-01")
        ),
        "{:?}",
        c.notes
    );
    // A gap within the tolerance (30 days) keeps the years consecutive.
    let periods = [period("2015-01-01", Some("2017-12-15"))];
    let c = run(&f, &periods, &["2018-01-01"], "2021-01-01");
    assert_eq!(c.residence_since, Some(d("2015-01-01")));
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2020-01-01"))
    );
    assert_eq!(c.route(Route::General).unwrap().status, Status::Open);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn an_ended_residence_opens_nothing() {
    let periods = [period("2015-01-01", Some("2019-01-01"))];
    let c = run(&adult(), &periods, &[], "2021-01-01");
    let g = c.route(Route::General).unwrap();
    assert_eq!((g.status, g.opens_on), (Status::NotResident, None));
    assert_eq!(c.earliest, None);
}

#[test]
fn twenty_ninth_of_february_completes_on_the_first_of_march() {
    let f = CitizenshipFacts {
        born: Some(d("2008-02-29")),
        albanian_origin: Some(true),
        ..Default::default()
    };
    let c = run(&f, &[], &["2020-02-29"], "2025-01-01");
    // Five years from 29 February 2020: 1 March 2025; and 18 on 1 March 2026.
    let g = c.route(Route::General).unwrap();
    assert_eq!(g.opens_on, Some(d("2026-03-01")), "{:?}", g.why);
    assert!(g.why.iter().any(|w| w.contains("complete on 2025-03-01")));
    assert!(g
        .why
        .iter()
        .any(|w| w.contains("18 years old on 2026-03-01")));
    assert_eq!(add_years(d("2020-02-29"), 4), Some(d("2024-02-29")));
    assert_eq!(add_years(d("2020-02-29"), 3), Some(d("2023-03-01")));
    assert_eq!(add_years(d("2019-03-01"), 5), Some(d("2024-03-01")));
}

#[test]
fn the_anniversary_is_the_day_in_tirane() {
    // 22:30 UTC on 31 March 2019 is already 1 April in Tirana (CEST, +2).
    let approved = Utc.with_ymd_and_hms(2019, 3, 31, 22, 30, 0).unwrap();
    assert_eq!(tirane_date(approved), d("2019-04-01"));
    // In winter (+1): 23:30 UTC on 31 December is New Year's Day.
    let winter = Utc.with_ymd_and_hms(2019, 12, 31, 23, 30, 0).unwrap();
    assert_eq!(tirane_date(winter), d("2020-01-01"));
    assert_eq!(
        tirane_date(Utc.with_ymd_and_hms(2019, 12, 31, 22, 59, 0).unwrap()),
        d("2019-12-31")
    );
    let f = adult();
    let since = tirane_date(approved).format("%Y-%m-%d").to_string();
    let at = |h, m| tirane_date(Utc.with_ymd_and_hms(2024, 3, 31, h, m, 0).unwrap());
    // The fifth anniversary begins at midnight in Tirana: 22:00 UTC the day before.
    let before = run(&f, &[], &[&since], &at(21, 59).to_string());
    assert_eq!(before.route(Route::General).unwrap().status, Status::Opens);
    let on = run(&f, &[], &[&since], &at(22, 0).to_string());
    let g = on.route(Route::General).unwrap();
    assert_eq!(
        (g.status, g.opens_on),
        (Status::Open, Some(d("2024-04-01")))
    );
}

#[test]
fn a_missing_fact_is_unknown_never_a_guess() {
    let none = CitizenshipFacts::default();
    let c = run(&none, &[], &["2015-01-01"], "2024-01-01");
    let g = c.route(Route::General).unwrap();
    assert_eq!((g.status, g.opens_on), (Status::Unknown, None));
    assert_eq!(g.missing, vec!["date_of_birth"]);
    assert!(g.why.iter().any(|w| w == "art. 9: date of birth unknown"));
    let o = c.route(Route::AlbanianOrigin).unwrap();
    assert_eq!(o.missing, vec!["albanian_origin", "date_of_birth"]);
    let m = c.route(Route::Marriage).unwrap();
    assert_eq!(m.missing, vec!["married_albanian_since", "date_of_birth"]);
    assert_eq!(c.earliest, None);
    // Married, but since when is not known.
    let f = CitizenshipFacts {
        married_albanian: Some(true),
        ..adult()
    };
    let c = run(&f, &[], &["2015-01-01"], "2024-01-01");
    assert_eq!(
        c.route(Route::Marriage).unwrap().missing,
        vec!["married_albanian_since"]
    );
    // No residence known at all.
    let c = run(&adult(), &[], &[], "2024-01-01");
    assert_eq!(c.residence_since, None);
    assert_eq!(
        c.route(Route::General).unwrap().missing,
        vec!["residence_since"]
    );
}

#[test]
fn stateless_persons_are_not_asked_their_age() {
    let f = CitizenshipFacts {
        stateless: Some(true),
        ..Default::default()
    };
    let c = run(&f, &[], &["2015-01-01"], "2024-01-01");
    let g = c.route(Route::General).unwrap();
    assert_eq!(
        (g.status, g.opens_on),
        (Status::Open, Some(d("2020-01-01")))
    );
    assert!(g.why.iter().any(|w| w.contains("stateless")));
}

#[test]
fn configured_periods_replace_the_law_s() {
    let law = Law {
        general_years: 10,
        ..Law::default()
    };
    let approvals = [d("2015-01-01")];
    let f = adult();
    let c = clock(
        &Input {
            facts: &f,
            periods: &[],
            absences: &[],
            approvals: &approvals,
        },
        &law,
        30,
        d("2024-01-01"),
    );
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2025-01-01"))
    );
}

#[test]
fn a_minor_waits_for_the_eighteenth_birthday() {
    let f = CitizenshipFacts {
        born: Some(d("2010-07-20")),
        ..Default::default()
    };
    let c = run(&f, &[], &["2015-01-01"], "2024-01-01");
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2028-07-20"))
    );
}

#[test]
fn an_absence_cuts_the_approvals_run_and_restarts_the_count() {
    let f = adult();
    let approvals = [d("2016-05-01"), d("2018-05-01")];
    let absent = |from: &str, to: &str| [period(from, Some(to))];
    let with = |absences: &[ResidencePeriod]| {
        clock(
            &Input {
                facts: &f,
                periods: &[],
                absences,
                approvals: &approvals,
            },
            &Law::default(),
            30,
            d("2022-01-01"),
        )
    };
    // Away for most of 2019: the five years count again from the return.
    let c = with(&absent("2019-01-01", "2019-10-31"));
    assert_eq!(c.residence_since, Some(d("2019-11-01")), "{:?}", c.notes);
    assert_eq!(
        c.route(Route::General).unwrap().opens_on,
        Some(d("2024-11-01"))
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("not resident for 304 days")),
        "{:?}",
        c.notes
    );
    // A holiday of 30 days is within the tolerance; 31 is not.
    let c = with(&absent("2019-08-01", "2019-08-30"));
    assert_eq!(c.residence_since, Some(d("2016-05-01")), "{:?}", c.notes);
    let c = with(&absent("2019-08-01", "2019-08-31"));
    assert_eq!(c.residence_since, Some(d("2019-09-01")), "{:?}", c.notes);
    // Away since a day before today, with no return: not resident.
    let c = with(&[ResidencePeriod {
        from: d("2021-06-01"),
        to: None,
    }]);
    assert_eq!(c.route(Route::General).unwrap().status, Status::NotResident);
}
