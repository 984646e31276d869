//! The citizenship clock (issue 21): when each resident may apply for Albanian
//! citizenship, and the one email that tells them.
//!
//! - [`law`]: the periods of Law No. 8389 of 5 August 1998, in one table citing
//!   the articles (the defaults of `[citizenship]`).
//! - [`rules`]: pure: a case's facts and `today` in, each route's opening day, the
//!   facts still unknown and why out.
//! - [`pass`]: the daemon's periodic pass (takes `now`): queues each route's
//!   eligibility email once through the outbox.
//! - [`cli`]: `leje citizenship`, `leje cases set`, `leje cases residence`.
//! - [`list`]: the console's Citizenship list, a page at a time over the store's
//!   pages of cases ([`crate::store::Store::citizenship_records_after`]).
//!
//! The facts themselves are kept by the store (`store/citizenship.rs`); the console
//! reads [`crate::store::Store::citizenship_records`] and calls [`clock_of`].

pub mod cli;
pub mod law;
pub mod list;
pub mod pass;
pub mod rules;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde::Serialize;

pub use law::{Law, LAW_8389};
pub use rules::{add_years, clock, tirane_date, Clock, Input, Route, RouteClock, Status};

use crate::config::CitizenshipSettings;
use crate::store::CitizenshipRecord;

/// The clock of a stored case on `today` (Europe/Tirane) under `settings`.
pub fn clock_of(
    rec: &CitizenshipRecord,
    settings: &CitizenshipSettings,
    today: NaiveDate,
) -> Clock {
    let approvals: Vec<NaiveDate> = rec.approvals.iter().map(|t| tirane_date(*t)).collect();
    clock(
        &Input {
            facts: &rec.facts,
            periods: &rec.periods,
            absences: &rec.absences,
            approvals: &approvals,
        },
        &settings.law,
        settings.gap_tolerance_days,
        today,
    )
}

/// One line of `leje citizenship --json` (and the `citizenship` of `cases show --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub travel_document: String,
    pub name: Option<String>,
    pub stage: crate::store::Stage,
    pub residence_since: Option<NaiveDate>,
    pub routes: Vec<RouteClock>,
    pub earliest: Option<NaiveDate>,
    /// The route that opens first.
    pub earliest_route: Option<Route>,
    pub notes: Vec<String>,
    /// Routes whose eligibility email was queued or sent.
    pub notified: Vec<String>,
}

/// [`clock_of`] as listed.
pub fn listed(rec: &CitizenshipRecord, settings: &CitizenshipSettings, today: NaiveDate) -> Listed {
    let c = clock_of(rec, settings, today);
    let earliest_route = c
        .routes
        .iter()
        .filter(|r| r.opens_on.is_some())
        .min_by_key(|r| r.opens_on)
        .map(|r| r.route);
    Listed {
        travel_document: rec.case.travel_document.clone(),
        name: rec.case.name.clone(),
        stage: rec.case.stage,
        residence_since: c.residence_since,
        routes: c.routes,
        earliest: c.earliest,
        earliest_route,
        notes: c.notes,
        notified: rec.notified.clone(),
    }
}
