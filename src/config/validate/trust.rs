//! `[trust]`: see [`crate::config::trust`].

use std::net::{IpAddr, SocketAddr};

use super::ctx::Ctx;
use crate::config::settings::NotifySettings;
use crate::config::trust::{AutoSend, Dns, TrustFile, TrustSettings};

/// A domain as written in the config: lower-case, without `@`; `None` (and an
/// error at `key`) when it is not one.
fn domain(cx: &mut Ctx<'_>, key: &str, s: &str) -> String {
    let d = s.trim().trim_start_matches('@').to_lowercase();
    if d.is_empty()
        || !d.contains('.')
        || d.contains(|c: char| c.is_whitespace() || c.is_control() || c == '@' || c == '/')
    {
        cx.err(key, format!("`{s}` is not a domain such as `asp.gov.al`"));
    }
    d
}

fn count(cx: &mut Ctx<'_>, key: &str, v: Option<i64>, default: u64) -> u64 {
    match v {
        None => default,
        Some(n) if (0..=1_000_000).contains(&n) => n as u64,
        Some(n) => {
            cx.err(key, format!("`{n}` is not a number from 0 to 1000000"));
            default
        }
    }
}

pub(super) fn trust(
    cx: &mut Ctx<'_>,
    t: Option<&TrustFile>,
    notify: &NotifySettings,
) -> TrustSettings {
    let mut d = TrustSettings {
        staff_addresses: notify.staff_addresses.clone(),
        staff_domains: notify.staff_domains.clone(),
        ..TrustSettings::default()
    };
    let Some(t) = t else { return d };
    if let Some(ids) = &t.authserv_ids {
        d.authserv_ids = Vec::new();
        for (i, s) in ids.iter().enumerate() {
            let id = s.trim().to_lowercase();
            if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
                cx.err(
                    &format!("trust.authserv_ids[{i}]"),
                    format!("`{s}` is not an authserv-id such as `mx.google.com`"),
                );
            }
            d.authserv_ids.push(id);
        }
    }
    if let Some(ds) = &t.directorate_domains {
        d.directorate_domains = Vec::new();
        for (i, s) in ds.iter().enumerate() {
            let v = domain(cx, &format!("trust.directorate_domains[{i}]"), s);
            d.directorate_domains.push(v);
        }
    }
    d.dkim = t.dkim.unwrap_or(d.dkim);
    if let Some(servers) = &t.dns_servers {
        let mut out = Vec::new();
        for (i, s) in servers.iter().enumerate() {
            let s = s.trim();
            let parsed = s
                .parse::<SocketAddr>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)));
            match parsed {
                Some(a) => out.push(a),
                None => cx.err(
                    &format!("trust.dns_servers[{i}]"),
                    format!("`{s}` is not an IP address or IP:PORT"),
                ),
            }
        }
        if !out.is_empty() {
            d.dns = Dns::Servers(out);
        }
    }
    d.dns_timeout = cx.duration("trust.dns_timeout", &t.dns_timeout, d.dns_timeout);
    if d.dns_timeout.is_zero() {
        cx.err("trust.dns_timeout", "must be longer than zero");
    }
    d.max_dkim_signatures = count(
        cx,
        "trust.max_dkim_signatures",
        t.max_dkim_signatures,
        d.max_dkim_signatures as u64,
    ) as usize;
    d.max_dkim_size = cx.size("trust.max_dkim_size", &t.max_dkim_size, d.max_dkim_size);
    if let Some(list) = &t.auto_send {
        d.auto_send = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let key = format!("trust.auto_send[{i}]");
            let v = cx.choice(
                &key,
                &Some(s.clone()),
                &AutoSend::CHOICES,
                AutoSend::VerifiedOriginal,
            );
            if AutoSend::CHOICES.iter().any(|c| c.0 == s.trim()) && !d.auto_send.contains(&v) {
                d.auto_send.push(v);
            }
        }
    }
    d.max_per_hour = count(
        cx,
        "trust.max_per_hour",
        t.max_per_hour,
        d.max_per_hour.into(),
    ) as u32;
    d.max_per_forwarder_domain_per_hour = count(
        cx,
        "trust.max_per_forwarder_domain_per_hour",
        t.max_per_forwarder_domain_per_hour,
        d.max_per_forwarder_domain_per_hour.into(),
    ) as u32;
    d.max_attachments = count(
        cx,
        "trust.max_attachments",
        t.max_attachments,
        d.max_attachments as u64,
    ) as usize;
    d.max_attachment_bytes = cx.size(
        "trust.max_attachment_bytes",
        &t.max_attachment_bytes,
        d.max_attachment_bytes,
    );
    d
}

#[cfg(test)]
mod tests {
    use crate::config::trust::{AutoSend, Dns};

    fn load(text: &str) -> Result<crate::config::Settings, crate::config::ConfigErrors> {
        crate::config::load_str(std::path::Path::new("/etc/leje/leje.toml"), text)
    }

    #[test]
    fn defaults_and_values() {
        let s = load("[notify]\nstaff_domains = [\"agency.al\"]\n").unwrap();
        assert_eq!(s.trust.directorate_domains, ["asp.gov.al"]);
        assert_eq!(s.trust.auto_send.len(), 3);
        assert_eq!(s.trust.staff_domains, ["agency.al"]);
        let s = load(
            "[trust]\nauthserv_ids = [\"MX.Google.com\"]\ndns_servers = [\"127.0.0.1:5353\", \"::1\"]\n\
             auto_send = [\"staff\"]\nmax_per_hour = 0\n",
        )
        .unwrap();
        assert_eq!(s.trust.authserv_ids, ["mx.google.com"]);
        assert_eq!(s.trust.auto_send, [AutoSend::Staff]);
        assert_eq!(s.trust.max_per_hour, 0);
        let Dns::Servers(a) = &s.trust.dns else {
            panic!("{:?}", s.trust.dns)
        };
        assert_eq!(a[1].port(), 53);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_key() {
        let errs = load(
            "[trust]\nauthserv_ids = [\"a b\"]\ndirectorate_domains = [\"nodot\"]\ndns_servers = [\"dns.example\"]\n\
             dns_timeout = \"0s\"\nauto_send = [\"everyone\"]\nmax_per_hour = -1\nmax_attachment_bytes = \"lots\"\n",
        )
        .unwrap_err();
        let text = errs.to_string();
        for key in [
            "trust.authserv_ids[0]",
            "trust.directorate_domains[0]",
            "trust.dns_servers[0]",
            "trust.dns_timeout",
            "trust.auto_send[0]",
            "trust.max_per_hour",
            "trust.max_attachment_bytes",
        ] {
            assert!(text.contains(key), "{key} missing from:\n{text}");
        }
        assert!(text.contains("/etc/leje/leje.toml"), "{text}");
    }
}
