//! `[smtp]`, `[notify]` and `[offices.*]`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::Ctx;
use crate::config::file::{NotifyFile, OfficeFile, SmtpFile};
use crate::config::settings::*;
use crate::parse::{Directorate, Language};

pub(super) fn smtp(cx: &mut Ctx<'_>, s: &SmtpFile) -> SmtpSettings {
    let p = "smtp";
    let host = cx.required("smtp.host", &s.host);
    let tls = cx.tls(p, &s.tls, TlsMode::StartTls);
    cx.check_plaintext(p, tls, &host, s.allow_insecure);
    let default_port = match tls {
        TlsMode::Implicit => 465,
        TlsMode::StartTls => 587,
        TlsMode::None => 25,
    };
    let port = cx.port("smtp.port", s.port, default_port);
    let ca_file = s
        .ca_file
        .as_ref()
        .map(|f| cx.existing_file("smtp.ca_file", f));
    let username = cx.optional("smtp.username", &s.username);
    let password = cx.secret(
        p,
        "password",
        &s.password_file,
        &s.password_command,
        &s.password_env,
        &s.password_credential,
        username.is_some(),
    );
    if username.is_none() && password.is_some() {
        cx.err(
            "smtp.username",
            "is required when a `password_*` source is set",
        );
    }
    let from = cx.required("smtp.from", &s.from);
    if !from.is_empty() && from.parse::<lettre::message::Mailbox>().is_err() {
        cx.err(
            "smtp.from",
            format!("`{from}` is not a mailbox such as `leje <permits@example.al>`"),
        );
    }
    let mut cc = Vec::new();
    for (i, c) in s.cc.iter().flatten().enumerate() {
        if c.trim().parse::<lettre::message::Mailbox>().is_err() {
            cx.err(
                &format!("smtp.cc[{i}]"),
                format!("`{c}` is not an email address"),
            );
        }
        cc.push(c.trim().to_string());
    }
    SmtpSettings {
        host,
        port,
        tls,
        ca_file,
        username,
        password,
        from,
        cc,
        retry_for: cx.duration(
            "smtp.retry_for",
            &s.retry_for,
            Duration::from_secs(2 * 86_400),
        ),
        max_per_recipient_per_day: cx.count(
            "smtp.max_per_recipient_per_day",
            s.max_per_recipient_per_day,
            10_000,
            5,
        ),
        timeout: cx.duration("smtp.timeout", &s.timeout, Duration::from_secs(30)),
    }
}

pub(super) fn notify(cx: &mut Ctx<'_>, n: Option<&NotifyFile>) -> NotifySettings {
    let d = NotifySettings::default();
    let Some(n) = n else { return d };
    let default_language = cx.choice(
        "notify.default_language",
        &n.default_language,
        &[("en", Language::En), ("sq", Language::Sq)],
        d.default_language,
    );
    let templates_dir = n.templates_dir.as_ref().map(|t| {
        let t = cx.path(t);
        if !t.is_dir() {
            cx.err(
                "notify.templates_dir",
                format!("`{}` is not a directory", t.display()),
            );
        }
        t
    });
    let fee_default_lek = match n.fee_default_lek {
        None => d.fee_default_lek,
        Some(f) if f > 0 => f as u64,
        Some(f) => {
            cx.err(
                "notify.fee_default_lek",
                format!("`{f}` is not a positive amount"),
            );
            d.fee_default_lek
        }
    };
    let payment_route = cx.choice(
        "notify.payment_route",
        &n.payment_route,
        &[("bank", PaymentRoute::Bank), ("post", PaymentRoute::Post)],
        d.payment_route,
    );
    let mut staff_addresses = Vec::new();
    for (i, a) in n.staff_addresses.iter().flatten().enumerate() {
        let a = a.trim().to_lowercase();
        if a.parse::<lettre::Address>().is_err() {
            cx.err(
                &format!("notify.staff_addresses[{i}]"),
                format!("`{a}` is not an email address"),
            );
        }
        staff_addresses.push(a);
    }
    let mut staff_domains = Vec::new();
    for (i, s) in n.staff_domains.iter().flatten().enumerate() {
        let dom = s.trim().trim_start_matches('@').to_lowercase();
        if dom.is_empty() || dom.contains(|c: char| c.is_whitespace() || c == '@' || c == '/') {
            cx.err(
                &format!("notify.staff_domains[{i}]"),
                format!("`{s}` is not a domain such as `agency.al`"),
            );
        }
        staff_domains.push(dom);
    }
    NotifySettings {
        default_language,
        templates_dir,
        html: n.html.unwrap_or(d.html),
        fee_default_lek,
        payment_route,
        staff_addresses,
        staff_domains,
        dry_run_dir: n.dry_run_dir.as_ref().map(|p| cx.path(p)),
        agency_name: cx.optional("notify.agency_name", &n.agency_name),
    }
}

pub(super) fn offices(
    cx: &mut Ctx<'_>,
    o: &BTreeMap<String, OfficeFile>,
) -> BTreeMap<Directorate, OfficeInfo> {
    let mut out = default_offices();
    let mut seen = BTreeSet::new();
    for (key, office) in o {
        let p = format!("offices.{key}");
        let Some(d) = directorate_from_key(key) else {
            let valid: Vec<String> = DIRECTORATES
                .iter()
                .map(|(_, k, _)| format!("`{k}`"))
                .collect();
            cx.err(
                &p,
                format!(
                    "`{key}` is not a directorate; the 12 are {}",
                    valid.join(", ")
                ),
            );
            continue;
        };
        if !seen.insert(d) {
            cx.err(
                &p,
                format!("`{key}` names a directorate that is already configured"),
            );
            continue;
        }
        let entry = out.get_mut(&d).expect("all twelve are present");
        if office.name.is_some() {
            entry.name = cx.required(&format!("{p}.name"), &office.name);
        }
        entry.address = cx.optional(&format!("{p}.address"), &office.address);
        entry.hours = cx.optional(&format!("{p}.hours"), &office.hours);
    }
    out
}
