//! An outbox email rendered as its recipient sees it (for the staff console),
//! from the same facts and templates the sender uses.

use super::recipients::Parties;
use super::render::{render, EmailContext, Facts, Rendered};
use super::templates::{TemplateKind, Templates};
use super::worker::policy_for;
use crate::config::Settings;
use crate::store::{Case, StoredWaybill};

/// Who an email is for, and what it says.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Recipients as the current policy decides them (empty: none allowed).
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub rendered: Rendered,
}

/// The routing hints of an outbox row.
pub struct Routing<'a> {
    pub forwarded_by: Option<&'a str>,
    pub forwarder_is_staff: bool,
    pub original_to: Option<&'a str>,
    /// The trust verdict's flags, as the sender reads them (notify/deliver.rs).
    pub forwarder_unverified: bool,
    pub original_to_unverified: bool,
}

/// Renders email `kind` (`instructions`, `card_ready`, `nid_pending`) of `case`.
/// `None` for a kind this leje has no template for.
pub fn preview(
    settings: &Settings,
    templates: &Templates,
    case: &Case,
    kind: &str,
    routing: &Routing<'_>,
    waybills: &[StoredWaybill],
) -> Option<Result<Preview, super::templates::TemplateError>> {
    let kind = match TemplateKind::ALL.into_iter().find(|k| k.as_str() == kind)? {
        // An outbox row says `reminder`; the sender words it by the case's stage.
        TemplateKind::Reminder => TemplateKind::reminder(case.stage),
        k => k,
    };
    let decided = policy_for(settings).decide(&Parties {
        forwarded_by: routing.forwarded_by,
        forwarder_is_staff: routing.forwarder_is_staff,
        original_to: routing.original_to,
        contacts: &case.contacts,
        forwarder_unverified: routing.forwarder_unverified,
        original_to_unverified: routing.original_to_unverified,
    });
    let (to, cc, missing) = match &decided {
        Ok(r) => (r.to.clone(), r.cc.clone(), r.missing_applicant_address),
        Err(_) => (Vec::new(), Vec::new(), false),
    };
    let lang = case.language.unwrap_or(settings.notify.default_language);
    let (amounts, names) = if kind == TemplateKind::Instructions {
        (
            waybills.iter().map(|w| w.amount_lek).collect(),
            waybills
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    w.filename
                        .clone()
                        .filter(|f| !f.trim().is_empty())
                        .unwrap_or_else(|| super::message::fallback_filename(i, &w.content_type))
                })
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // NOTE: a preview shows no live one-click links (they would be valid links).
    let facts = Facts {
        waybill_amounts: amounts,
        attachments: names,
        missing_applicant_address: missing,
        ..Facts::of_case(settings, case, lang)
    };
    Some(
        render(templates, lang, kind, &EmailContext::new(&facts), true).map(|rendered| Preview {
            to,
            cc,
            rendered,
        }),
    )
}
