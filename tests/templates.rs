//! Snapshot tests of every shipped template in both languages, plus the facts that
//! must be in them. Snapshots live in tests/snapshots/; `LEJE_BLESS=1 cargo test
//! --test templates` rewrites them (then read them: they are what applicants read).

use std::path::PathBuf;

use chrono::NaiveDate;
use leje::notify::templates::TemplateKind;
use leje::notify::{render, EmailContext, Facts, OfficeView, Payment, Rendered, Templates};
use leje::parse::{Directorate, Language};

fn facts(lang: Language) -> Facts {
    Facts {
        language: lang,
        name: Some("Anna Maria Schmidt".into()),
        directorate: Some(Directorate::Tirane),
        office: Some(OfficeView {
            name: "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë".into(),
            address: Some("Rruga e Dibrës, nr. 100, Tiranë".into()),
            hours: Some("E hënë–e premte 08:00–16:00".into()),
        }),
        waybill_amounts: vec![Some(5700)],
        attachments: vec!["mandatpagesa.pdf".into()],
        fee_default_lek: 5700,
        payment: Payment::Bank,
        missing_applicant_address: false,
        agency_name: Some("Tirana Relocation & Co".into()),
        retry_from: Some(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()),
        citizenship: Some(leje::store::CitizenshipNotice {
            case_id: 1,
            route: "general".into(),
            opens_on: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
            early: false,
            stateless: false,
            residence_years: 5,
            marriage_years: None,
        }),
        stage: None,
        links: None,
    }
}

fn lang_code(l: Language) -> &'static str {
    match l {
        Language::En => "en",
        Language::Sq => "sq",
    }
}

fn show(r: &Rendered) -> String {
    format!(
        "Subject: {}\n\n----- text/plain -----\n{}\n----- text/html -----\n{}",
        r.subject,
        r.text,
        r.html.as_deref().unwrap_or("(none)")
    )
}

/// Compare with the snapshot file, or rewrite it under LEJE_BLESS=1.
fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.snap"));
    if std::env::var_os("LEJE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {} missing ({e}); run with LEJE_BLESS=1 and review it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs from line {}:\n  expected: {:?}\n  actual:   {:?}\n(LEJE_BLESS=1 rewrites it)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

fn render_all(f: &Facts, kind: TemplateKind) -> Rendered {
    let t = Templates::embedded();
    render(&t, f.language, kind, &EmailContext::new(f), true).unwrap()
}

#[test]
fn snapshots_every_template_both_languages() {
    for lang in [Language::En, Language::Sq] {
        for kind in TemplateKind::ALL {
            let r = render_all(&facts(lang), kind);
            snapshot(&format!("{}_{}", lang_code(lang), kind.as_str()), &show(&r));
        }
    }
}

#[test]
fn snapshots_of_the_variants() {
    for lang in [Language::En, Language::Sq] {
        // Post route, no waybill, unknown directorate, staff copy, no name, no agency.
        let mut f = facts(lang);
        f.payment = Payment::Post;
        f.waybill_amounts = vec![];
        f.attachments = vec![];
        f.directorate = None;
        f.office = None;
        f.missing_applicant_address = true;
        f.name = None;
        f.agency_name = None;
        f.retry_from = None;
        for kind in TemplateKind::ALL {
            let r = render_all(&f, kind);
            snapshot(
                &format!("{}_{}_variant", lang_code(lang), kind.as_str()),
                &show(&r),
            );
        }
    }
}

#[test]
fn snapshots_with_only_the_office_name() {
    // The embedded defaults know every Directorate's name but no address or hours.
    for lang in [Language::En, Language::Sq] {
        let mut f = facts(lang);
        let office = f.office.as_mut().unwrap();
        office.address = None;
        office.hours = None;
        // NOTE: the citizenship email names the Ministry's office, not the Directorate's.
        for kind in TemplateKind::ALL
            .into_iter()
            .filter(|k| *k != TemplateKind::Citizenship)
        {
            let r = render_all(&f, kind);
            let check = if lang == Language::En {
                "check the office's address and opening hours"
            } else {
                "verifikoni adresën dhe orarin e zyrës"
            };
            assert!(r.text.contains(check), "{}", r.text);
            assert!(r.html.as_deref().unwrap().contains(check));
            snapshot(
                &format!("{}_{}_name_only", lang_code(lang), kind.as_str()),
                &show(&r),
            );
        }
    }
}

/// Position of `needle` in `hay`, failing with a readable message.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found in:\n{hay}"))
}

#[test]
fn instructions_hold_the_key_facts_in_order_en() {
    let mut f = facts(Language::En);
    f.waybill_amounts = vec![None, Some(6200)];
    let r = render_all(&f, TemplateKind::Instructions);
    let html = r.html.as_deref().unwrap();
    for body in [r.text.as_str(), html] {
        let s1 = at(body, "Civil Registry Office");
        let s2 = at(body, "Pay the fee of 6,200 Lek");
        let s3 = at(body, "Apply for the biometric card");
        let after = at(body, "about two weeks");
        assert!(s1 < s2 && s2 < s3 && s3 < after, "steps out of order");
        at(body, "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë");
        at(body, "Rruga e Dibrës, nr. 100");
        at(body, "08:00–16:00");
        at(body, "Zyra e Gjendjes Civile");
        at(body, "njësia administrative");
        at(body, "notarized copy of your rental contract");
        at(body, "passport and a photocopy");
        at(body, "translator");
        at(body, "at a bank");
        at(body, "(NID)");
        at(body, "wait one to two weeks");
        assert!(!body.contains("NOTE FOR STAFF") && !body.contains("Note for staff"));
    }
    assert!(r.subject.contains("Anna Maria Schmidt"));
}

#[test]
fn instructions_hold_the_key_facts_in_order_sq() {
    let mut f = facts(Language::Sq);
    f.payment = Payment::Post;
    let r = render_all(&f, TemplateKind::Instructions);
    let html = r.html.as_deref().unwrap();
    for body in [r.text.as_str(), html] {
        let s1 = at(body, "Zyrën e Gjendjes Civile");
        let s2 = at(body, "Paguani tarifën prej 5.700 lekë");
        let s3 = at(body, "Aplikoni për kartën biometrike");
        let after = at(body, "rreth dy javë");
        assert!(s1 < s2 && s2 < s3 && s3 < after, "steps out of order");
        at(body, "Postës Shqiptare");
        at(body, "kopje të noterizuar të kontratës së qirasë");
        at(body, "përkthyes");
        at(body, "(NID)");
        at(body, "një deri në dy");
        at(body, "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë");
        assert!(
            !body.contains("bankë"),
            "post route must not send them to a bank"
        );
    }
}

#[test]
fn missing_lines_are_left_out_and_staff_note_comes_first() {
    for lang in [Language::En, Language::Sq] {
        let mut f = facts(lang);
        f.office.as_mut().unwrap().address = None;
        f.office.as_mut().unwrap().hours = None;
        f.missing_applicant_address = true;
        let r = render_all(&f, TemplateKind::Instructions);
        for label in ["Address:", "Opening hours:", "Adresa:", "Orari:"] {
            assert!(!r.text.contains(label), "{label} shown without a value");
            assert!(!r.html.as_deref().unwrap().contains(label));
        }
        let note = if lang == Language::En {
            "NOTE FOR STAFF"
        } else {
            "SHËNIM PËR STAFIN"
        };
        assert!(r.text.starts_with(note), "{}", r.text);
    }
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let mut f = facts(Language::En);
    f.name = Some("Zoë <script>alert(1)</script> O'Brien & Co".into());
    let r = render_all(&f, TemplateKind::Instructions);
    let html = r.html.unwrap();
    assert!(!html.contains("<script>"), "unescaped name in HTML");
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("Tirana Relocation &amp; Co"));
    assert!(r
        .text
        .contains("Zoë <script>alert(1)</script> O'Brien & Co"));
}

#[test]
fn card_ready_and_nid_pending_name_the_office() {
    for lang in [Language::En, Language::Sq] {
        let r = render_all(&facts(lang), TemplateKind::CardReady);
        at(
            &r.text,
            "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë",
        );
        let r = render_all(&facts(lang), TemplateKind::NidPending);
        at(&r.text, "(NID)");
        at(
            &r.text,
            if lang == Language::En {
                "7 December 2026"
            } else {
                "7 dhjetor 2026"
            },
        );
    }
}

#[test]
fn operator_override_replaces_one_file_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(
        dir.path().join("en/instructions.subject.j2"),
        "Custom: {{ name }} / {{ fee }}",
    )
    .unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    assert_eq!(t.overridden(), ["en/instructions.subject.j2"]);
    let f = facts(Language::En);
    let r = render(
        &t,
        Language::En,
        TemplateKind::Instructions,
        &EmailContext::new(&f),
        false,
    )
    .unwrap();
    assert_eq!(r.subject, "Custom: Anna Maria Schmidt / 5,700 Lek");
    assert!(r.text.contains("Civil Registry Office"));
    assert_eq!(r.html, None);

    // A typo in an override is reported with the file, not rendered as blank.
    std::fs::write(dir.path().join("en/instructions.subject.j2"), "{{ nmae }}").unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    let e = render(
        &t,
        Language::En,
        TemplateKind::Instructions,
        &EmailContext::new(&f),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("en/instructions.subject.j2"), "{e}");
    std::fs::write(dir.path().join("en/instructions.subject.j2"), "{% if %}").unwrap();
    let e = Templates::load(Some(dir.path())).unwrap_err();
    assert!(e.to_string().contains("instructions.subject.j2"), "{e}");
}
