//! The console's words in English and Albanian (each staff member's choice).
//! Templates read them as `t.KEY`; a test checks both languages have every key.

use std::collections::BTreeMap;

/// (key, English, Albanian).
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "leje console", "Paneli leje"),
    ("today", "Today", "Sot"),
    ("cases", "Cases", "Rastet"),
    ("review", "Review", "Shqyrtim"),
    ("outbox", "Outbox", "Email-et dalëse"),
    ("messages", "Messages", "Mesazhet"),
    ("logout", "Log out", "Dil"),
    ("login", "Log in", "Hyr"),
    ("email", "Email address", "Adresa e email-it"),
    ("password", "Password", "Fjalëkalimi"),
    (
        "login_failed",
        "Wrong address or password.",
        "Adresë ose fjalëkalim i gabuar.",
    ),
    (
        "throttled",
        "Too many failed attempts. Try again in 15 minutes.",
        "Shumë përpjekje të dështuara. Provoni sërish pas 15 minutash.",
    ),
    ("language", "Language", "Gjuha"),
    ("save", "Save", "Ruaj"),
    ("search", "Search", "Kërko"),
    (
        "search_hint",
        "name, travel document or email",
        "emër, dokument udhëtimi ose email",
    ),
    ("stage", "Stage", "Faza"),
    ("any", "any", "të gjitha"),
    ("directorate", "Directorate", "Drejtoria"),
    ("nationality", "Nationality", "Shtetësia"),
    ("stalled", "Stalled", "Të ngecura"),
    ("sort", "Sort", "Rendit"),
    ("sort_updated", "last change", "ndryshimi i fundit"),
    ("sort_created", "newest", "më të rejat"),
    ("sort_name", "name", "emri"),
    ("filter", "Filter", "Filtro"),
    ("export_csv", "Export CSV", "Eksporto CSV"),
    ("name", "Name", "Emri"),
    ("document", "Travel document", "Dokumenti i udhëtimit"),
    ("contacts", "Email addresses", "Adresat e email-it"),
    ("updated", "Changed", "Ndryshuar"),
    ("created", "Created", "Krijuar"),
    ("next", "Next page", "Faqja tjetër"),
    ("prev", "Previous page", "Faqja e mëparshme"),
    ("none", "Nothing here.", "Asgjë këtu."),
    ("per_stage", "Cases per stage", "Rastet sipas fazës"),
    ("worklist", "Work list", "Puna për sot"),
    ("in_review", "Cases in review", "Raste në shqyrtim"),
    ("failed_emails", "Emails that failed", "Email-e që dështuan"),
    (
        "stalled_cases",
        "No progress for too long",
        "Pa përparim prej kohësh",
    ),
    ("mailboxes", "Mailboxes", "Kutitë postare"),
    ("last_check", "Last check", "Kontrolli i fundit"),
    ("seconds_ago", "s ago", "s më parë"),
    ("never", "never", "asnjëherë"),
    ("last_error", "Last error", "Gabimi i fundit"),
    ("connected", "connected", "i lidhur"),
    ("disconnected", "not connected", "i palidhur"),
    ("move_to", "Move to", "Kalo në"),
    ("note", "Note", "Shënim"),
    ("add_note", "Add note", "Shto shënim"),
    ("details", "Details", "Të dhënat"),
    ("edit", "Edit", "Ndrysho"),
    ("timeline", "Timeline", "Historia"),
    ("waybills", "Waybills", "Fletëpagesat"),
    ("open", "Open", "Hap"),
    ("download", "Download", "Shkarko"),
    ("emails_sent", "Emails", "Email-et"),
    ("show", "Show", "Shfaq"),
    ("original_messages", "Messages received", "Mesazhet e marra"),
    ("conflicts", "Conflicts", "Mospërputhjet"),
    ("field", "Field", "Fusha"),
    ("case_has", "The case has", "Rasti ka"),
    ("new_says", "The new message says", "Mesazhi i ri thotë"),
    ("keep", "Keep", "Mbaj"),
    ("take_new", "Take new", "Merr të renë"),
    ("status", "Status", "Statusi"),
    ("kind", "Kind", "Lloji"),
    ("attempts", "Attempts", "Përpjekje"),
    ("error", "Error", "Gabim"),
    ("retry", "Retry", "Provo sërish"),
    ("release", "Release (send it)", "Lësho (dërgoje)"),
    ("sent_to", "Sent to", "Dërguar te"),
    ("outcome", "Outcome", "Rezultati"),
    ("reason", "Reason", "Arsyeja"),
    ("received", "Received", "Marrë"),
    ("case", "Case", "Rasti"),
    ("subject", "Subject", "Subjekti"),
    ("as_seen", "As the applicant saw it", "Siç e pa aplikanti"),
    ("not_found", "Not found.", "Nuk u gjet."),
    ("forbidden", "Refused.", "Refuzuar."),
    ("one_per_line", "one per line", "një për rresht"),
    // The citizenship clock (issue 21).
    ("citizenship", "Citizenship", "Shtetësia shqiptare"),
    (
        "law_note",
        "Periods of Law No. 8389 of 5 August 1998; check the law in force.",
        "Afatet e Ligjit nr. 8389, datë 5.8.1998; kontrolloni ligjin në fuqi.",
    ),
    ("residence_since", "Resident since", "Banues që nga"),
    ("route", "Route", "Rruga"),
    (
        "route_general",
        "General (art. 9)",
        "E përgjithshme (neni 9)",
    ),
    (
        "route_albanian_origin",
        "Albanian origin (art. 9)",
        "Origjinë shqiptare (neni 9)",
    ),
    ("route_marriage", "Marriage (art. 10)", "Martesë (neni 10)"),
    ("earliest", "Earliest", "Më e hershmja"),
    ("eligible_by", "Eligible by", "Mund të aplikojë deri më"),
    ("sort_case", "oldest case", "rasti më i vjetër"),
    ("sort_earliest", "earliest date", "data më e hershme"),
    ("first_page", "First page", "Faqja e parë"),
    ("opens_on", "Opens on", "Hapet më"),
    ("status_open", "open", "e hapur"),
    ("status_opens", "opens", "hapet"),
    ("status_unknown", "unknown", "e panjohur"),
    ("status_not_applicable", "not applicable", "nuk zbatohet"),
    ("status_not_resident", "not resident", "jo banues"),
    ("missing", "Missing", "Mungon"),
    (
        "missing_residence_since",
        "start of residence",
        "fillimi i qëndrimit",
    ),
    ("missing_date_of_birth", "date of birth", "datëlindja"),
    (
        "missing_albanian_origin",
        "Albanian origin",
        "origjina shqiptare",
    ),
    (
        "missing_married_albanian_since",
        "marriage date",
        "data e martesës",
    ),
    ("why", "Why", "Pse"),
    ("notes", "Notes", "Shënime"),
    ("emailed", "Emailed", "Njoftuar me email"),
    ("facts", "Facts", "Faktet"),
    ("born", "Date of birth", "Datëlindja"),
    (
        "albanian_origin",
        "Of Albanian origin",
        "Me origjinë shqiptare",
    ),
    ("stateless", "Stateless", "Pa shtetësi"),
    (
        "married_since",
        "Married to an Albanian citizen since",
        "I martuar me shtetas shqiptar që nga",
    ),
    (
        "married_hint",
        "YYYY-MM-DD, \"no\", or empty if unknown",
        "VVVV-MM-DD, \"no\", ose bosh nëse nuk dihet",
    ),
    (
        "date_hint",
        "YYYY-MM-DD; empty if unknown",
        "VVVV-MM-DD; bosh nëse nuk dihet",
    ),
    ("yes", "yes", "po"),
    ("no", "no", "jo"),
    ("unknown", "unknown", "e panjohur"),
    ("residence", "Residence", "Qëndrimi"),
    ("approvals_seen", "Approvals received", "Miratimet e marra"),
    (
        "periods_entered",
        "Periods entered",
        "Periudhat e regjistruara",
    ),
    ("absences", "Absences", "Mungesat"),
    ("from", "From", "Nga"),
    ("to", "To", "Deri më"),
    ("ongoing", "ongoing", "në vazhdim"),
    ("add_period", "Add period", "Shto periudhën"),
    ("remove", "Remove", "Hiq"),
    ("record_absence", "Record absence", "Regjistro mungesën"),
];

/// Every word in `lang` (`sq`, else English).
pub fn words(lang: &str) -> BTreeMap<&'static str, &'static str> {
    WORDS
        .iter()
        .map(|(k, en, sq)| (*k, if lang == "sq" { *sq } else { *en }))
        .collect()
}

/// A stage's name in `lang`.
pub fn stage(lang: &str, s: &str) -> &'static str {
    const STAGES: &[(&str, &str, &str)] = &[
        ("approved", "approved", "miratuar"),
        (
            "address_confirmed",
            "address confirmed",
            "adresa e konfirmuar",
        ),
        ("fee_paid", "fee paid", "tarifa e paguar"),
        ("applied", "applied for card", "aplikuar për kartën"),
        ("card_ready", "card ready", "karta gati"),
        ("collected", "card collected", "karta e marrë"),
        ("nid_pending", "NID pending", "NID në pritje"),
        ("rejected", "rejected", "refuzuar"),
        ("needs_review", "needs review", "për shqyrtim"),
        ("closed", "closed", "mbyllur"),
    ];
    STAGES
        .iter()
        .find(|(k, _, _)| *k == s)
        .map(|(_, en, sq)| if lang == "sq" { *sq } else { *en })
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_languages_are_complete() {
        for (k, en, sq) in super::WORDS {
            assert!(!en.is_empty() && !sq.is_empty(), "{k}");
        }
        for s in crate::store::Stage::ALL {
            assert_ne!(super::stage("sq", s.as_str()), "?");
        }
    }
}
