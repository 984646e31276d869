//! From raw bytes to a [`ParsedMessage`]: envelope, classification by header
//! (own mail, bounce, auto-reply), text analysis (notification + the forward
//! block or attached message it came in), calendar, empty and malformed.

use super::fallback::{self, raw_header, raw_headers};
use super::forward::{self, find_email};
use super::mime::{self, Origin, Walk};
use super::notice::{self, Notice};
use super::text::{self, fold};
use super::{attribution, directorate};
use super::{date, waybill, Kind, ParsedMessage, Reason};
use mail_parser::{HeaderValue, MessageParser};

/// Input beyond this is not looked at (the daemon's own limit is lower).
const MAX_INPUT: usize = 64 << 20;

/// A notification and where it came from.
struct Found {
    notice: Notice,
    origin: Origin,
}

/// Parses one message (see [`super::parse`]).
pub fn run(raw: &[u8]) -> ParsedMessage {
    let raw = &raw[..raw.len().min(MAX_INPUT)];
    // NOTE: mail-parser 0.11.9 panics on some inputs ("Invalid part ID, could not
    // find multipart", e.g. SpamAssassin's nice/mime9, found by fuzzing); treat
    // that like a parse failure so the lossy fallback still reads the text.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .ok()
        .flatten();
    let mut pm = blank();
    // Over its budget already (mail-parser's decoding is the biggest single cost):
    // the result is discarded (crate::budget), so stop here.
    if !crate::budget::check_now() {
        return with(pm, Kind::Malformed, Reason::Malformed);
    }
    let outer = match &parsed {
        Some(m) => {
            pm.message_id = m.message_id().map(clean_id);
            let mut refs: Vec<String> = match m.references() {
                HeaderValue::Text(t) => vec![clean_id(t)],
                HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
                _ => Vec::new(),
            };
            refs.extend(pm.message_id.clone());
            refs.retain(|r| !r.is_empty());
            pm.references = refs;
            pm.subject = m.subject().map(str::to_string);
            pm.reply_to = mime::addr(m.reply_to());
            let mut o = Origin::of(m);
            if o.from.is_none() {
                o.from = raw_header(raw, "from").and_then(|v| find_email(&v));
            }
            o
        }
        None => Origin {
            from: raw_header(raw, "from").and_then(|v| find_email(&v)),
            date: raw_header(raw, "date").and_then(|v| date::parse_loose(&v)),
            to: raw_header(raw, "to").and_then(|v| find_email(&v)),
        },
    };
    pm.forwarded_by = outer.from.clone();

    let [own, auto_submitted, autoreply, autorespond, precedence] = raw_headers(
        raw,
        [
            "x-leje",
            "auto-submitted",
            "x-autoreply",
            "x-autorespond",
            "precedence",
        ],
    );
    if own.is_some() {
        return with(pm, Kind::OwnMail, Reason::OwnMail);
    }
    let walk = parsed.as_ref().map(mime::walk).unwrap_or_default();
    if walk.is_report || is_mailer_daemon_failure(&outer, &walk) {
        return with(pm, Kind::Bounce, Reason::DeliveryReport);
    }
    if is_auto(auto_submitted, autoreply.or(autorespond), precedence) {
        return with(pm, Kind::AutoReply, Reason::AutoSubmitted);
    }

    let mut found = walk.segments.iter().find_map(|s| {
        let o = s.origin.and_then(|i| walk.origins.get(i));
        analyze(&s.text, o, &outer)
    });
    let mut readable = walk
        .segments
        .iter()
        .any(|s| !s.undecoded && text::has_content(&s.text));
    let garbage = walk.segments.iter().any(|s| !s.text.trim().is_empty()) && !readable;
    let blank_input = raw.iter().all(u8::is_ascii_whitespace);
    let broken = (parsed.is_none() && !blank_input) || walk.broken || raw.contains(&0);
    if found.is_none() && (broken || !readable) {
        let fb = fallback::text(raw);
        found = analyze(&fb, None, &outer);
        if broken && text::is_readable(&fb) {
            readable = true;
        }
    }
    let Some(f) = found else {
        return if walk.has_calendar {
            with(pm, Kind::Calendar, Reason::CalendarInvite)
        } else if readable {
            with(pm, Kind::Unrelated, Reason::NoNotification)
        } else if broken || garbage {
            with(pm, Kind::Malformed, Reason::Malformed)
        } else {
            with(pm, Kind::Empty, Reason::EmptyBody)
        };
    };
    let n = f.notice;
    let (kind, reason) = if n.rejected {
        (Kind::PermitRejected, Some(Reason::Rejected))
    } else if n.travel_document.is_none() {
        (
            Kind::IncompleteNotification,
            Some(Reason::MissingTravelDocument),
        )
    } else {
        (Kind::PermitApproved, None)
    };
    pm.kind = kind;
    pm.reason = reason;
    pm.language = Some(n.language);
    pm.name = n.name;
    pm.travel_document = n.travel_document;
    pm.nationality = n.nationality;
    pm.directorate = n.directorate;
    pm.original_from = f.origin.from;
    pm.notified_at = f.origin.date.as_ref().map(date::rfc3339);
    pm.original_to = f.origin.to;
    if kind != Kind::PermitRejected {
        pm.waybills = waybill::collect(&walk);
    }
    pm
}

/// Looks for a notification in one text and decides its origin: the innermost
/// forward block before it, else the attached message it is in, else nothing
/// if it is only `>`-quoted, else the outer message (sent directly).
fn analyze(t: &str, seg_origin: Option<&Origin>, outer: &Origin) -> Option<Found> {
    let (u, lines) = text::unquote(t);
    let notice = notice::find(&u)?;
    let block = forward::blocks(&u)
        .into_iter()
        .take_while(|b| b.start <= notice.start)
        .last();
    let quoted = lines
        .iter()
        .take_while(|(start, _)| *start <= notice.start)
        .last()
        .is_some_and(|l| l.1);
    // A reply-style attribution ("On …, Office <…> wrote:") right above the notice.
    let attr = attribution::find(&u)
        .into_iter()
        .rev()
        .find(|a| a.end <= notice.start && near(&u[a.end..notice.start]));
    let header = match (block, attr) {
        (Some(b), Some(a)) if a.start > b.start => Some((a.from, a.date, None)),
        (Some(b), _) => Some((b.from, b.date, b.to)),
        (None, Some(a)) => Some((a.from, a.date, None)),
        (None, None) => None,
    };
    let origin = match (header, seg_origin) {
        (Some((from, date, to)), _) => Origin { from, date, to },
        (None, Some(o)) => o.clone(),
        (None, None) if quoted => Origin::default(),
        // Sent by the office itself; anything else is a notice copied into a
        // message of the forwarder's own, whose sender and date are not the office's.
        (None, None)
            if outer
                .from
                .as_deref()
                .is_some_and(directorate::is_office_sender) =>
        {
            outer.clone()
        }
        (None, None) => Origin::default(),
    };
    Some(Found { notice, origin })
}

/// Whether the text between an attribution line and the notice is short enough
/// for the notice to be what the attribution introduces (a salutation, a subject).
fn near(between: &str) -> bool {
    between.chars().filter(|c| !c.is_whitespace()).count() <= 400
}

/// Whether the message is automatic, from its `Auto-Submitted`, `X-Autoreply` or
/// `X-Autorespond`, and `Precedence` headers.
fn is_auto(
    auto_submitted: Option<String>,
    autoreply: Option<String>,
    precedence: Option<String>,
) -> bool {
    if auto_submitted.is_some_and(|v| fold(&v) != "no" && !v.trim().is_empty()) {
        return true;
    }
    if autoreply.is_some() {
        return true;
    }
    // NOTE: not `Precedence: list`. RFC 3834 asks responders not to answer list mail,
    // but the header does not make a message automatic: a shared inbox behind a
    // Google Group gets it on every forward, genuine notices included.
    precedence.is_some_and(|v| {
        matches!(
            fold(&v).trim_matches(['"', ' ']),
            "auto_reply" | "bulk" | "junk"
        )
    })
}

fn is_mailer_daemon_failure(outer: &Origin, walk: &Walk) -> bool {
    let Some(from) = &outer.from else {
        return false;
    };
    let local = from.split('@').next().unwrap_or("");
    if !(local.starts_with("mailer-daemon") || local.starts_with("postmaster")) {
        return false;
    }
    walk.segments.iter().any(|s| {
        let f = fold(&s.text);
        [
            "undeliver",
            "could not be delivered",
            "delivery has failed",
            "delivery failed",
            "delivery status",
            "returned mail",
            "failure notice",
            "not be delivered",
            "permanent error",
            "delivery to the following",
        ]
        .iter()
        .any(|w| f.contains(w))
    })
}

fn clean_id(s: &str) -> String {
    s.trim().trim_matches(['<', '>']).to_string()
}

fn blank() -> ParsedMessage {
    ParsedMessage {
        kind: Kind::Unrelated,
        reason: Some(Reason::NoNotification),
        language: None,
        name: None,
        travel_document: None,
        nationality: None,
        directorate: None,
        original_from: None,
        forwarded_by: None,
        notified_at: None,
        waybills: Vec::new(),
        message_id: None,
        references: Vec::new(),
        subject: None,
        original_to: None,
        reply_to: None,
        followup: Default::default(),
    }
}

fn with(mut pm: ParsedMessage, kind: Kind, reason: Reason) -> ParsedMessage {
    pm.kind = kind;
    pm.reason = Some(reason);
    pm
}

/// The result for input that made the parser itself fail (a bug): recorded as malformed.
pub fn panicked(raw: &[u8]) -> ParsedMessage {
    let mut pm = with(blank(), Kind::Malformed, Reason::Malformed);
    pm.forwarded_by =
        std::panic::catch_unwind(|| raw_header(raw, "from").and_then(|v| find_email(&v)))
            .ok()
            .flatten();
    pm
}

#[cfg(test)]
mod tests {
    use super::run;
    use crate::parse::{Directorate, Kind, Language, Reason};

    const PDF: &str = "%PDF-1.4\n1 0 obj << /Length 60 >>\nstream\nBT /F1 12 Tf 72 700 Td (Shuma per t'u paguar: 5.700,00 ALL) Tj ET\nendstream\nendobj\n%%EOF\n";

    fn eml(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    #[test]
    fn direct_albanian() {
        let m = run(&eml(
            "From: DVKM Tirane <Njoftime@ASP.gov.al>\nTo: a@b.al\nDate: Wed, 22 Dec 2021 09:14:00 +0100\nSubject: Leje\nMessage-ID: <x1@asp>",
            "Ju informojmë se Leja e Qëndrimit për shtetasin Ana  Lee, Dokument Udhëtimi nr. p 778 8123, Kanadeze është miratuar.\n\nDrejtoria Vendore për Kufirin dhe Migracionin TIRANË",
        ));
        assert_eq!(m.kind, Kind::PermitApproved);
        assert_eq!(m.reason, None);
        assert_eq!(m.language, Some(Language::Sq));
        assert_eq!(m.name.as_deref(), Some("Ana Lee"));
        assert_eq!(m.travel_document.as_deref(), Some("P7788123"));
        assert_eq!(m.nationality.as_deref(), Some("Kanadeze"));
        assert_eq!(m.directorate, Some(Directorate::Tirane));
        assert_eq!(m.original_from.as_deref(), Some("njoftime@asp.gov.al"));
        assert_eq!(m.forwarded_by.as_deref(), Some("njoftime@asp.gov.al"));
        assert_eq!(m.notified_at.as_deref(), Some("2021-12-22T09:14:00+01:00"));
        assert_eq!(m.message_id.as_deref(), Some("x1@asp"));
        assert_eq!(m.original_to.as_deref(), Some("a@b.al"));
    }

    #[test]
    fn outlook_forward_with_note_pdf_and_signature_image() {
        let body = format!(
            "--b\nContent-Type: text/html; charset=utf-8\n\n<p>Please handle this one.</p><p><img src=\"cid:logo@x\"></p>\
             <div><b>From:</b> Drejtoria &lt;dvkm.durres@asp.gov.al&gt;<br><b>Sent:</b> Thursday, July 7, 2022 3:05 PM<br>\
             <b>To:</b> client@gmail.com<br><b>Subject:</b> Residence permit</div>\
             <p>We inform you that your Residence Permit for citizen <b>MARK  TWAIN</b> , Travel Document no. <b>545 123 987</b> , USA has been approved.</p>\
             <p>Drejtoria Vendore p&euml;r Kufirin dhe Migracionin Durr&euml;s</p>\n\
             --b\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n\
             --b\nContent-Type: application/octet-stream; name=\"=?utf-8?B?ZmxldMOrcGFnZXNhLnBkZg==?=\"\nContent-Disposition: attachment\n\n{PDF}\n--b--\n"
        );
        let m = run(&eml(
            "From: Agency <Agent@Relocate.al>\nTo: leje@x.al\nDate: Fri, 8 Jul 2022 10:00:00 +0200\nSubject: FW: Residence permit\nContent-Type: multipart/related; boundary=b",
            &body,
        ));
        assert_eq!(m.kind, Kind::PermitApproved, "{m:?}");
        assert_eq!(m.name.as_deref(), Some("MARK TWAIN"));
        assert_eq!(m.travel_document.as_deref(), Some("545123987"));
        assert_eq!(m.directorate, Some(Directorate::Durres));
        assert_eq!(m.forwarded_by.as_deref(), Some("agent@relocate.al"));
        assert_eq!(m.original_from.as_deref(), Some("dvkm.durres@asp.gov.al"));
        assert_eq!(m.original_to.as_deref(), Some("client@gmail.com"));
        assert_eq!(m.notified_at.as_deref(), Some("2022-07-07T15:05:00+02:00"));
        assert_eq!(m.waybills.len(), 1, "{:?}", m.waybills);
        let w = &m.waybills[0];
        assert_eq!(w.filename.as_deref(), Some("fletëpagesa.pdf"));
        assert_eq!(w.content_type, "application/octet-stream");
        assert_eq!(w.amount_lek, Some(5700));
        assert_eq!(w.size, w.data.len() as u64);
    }

    #[test]
    fn quoted_without_block_has_no_origin() {
        let m = run(&eml(
            "From: me@x.com\nDate: Fri, 8 Jul 2022 10:00:00 +0200",
            "Is this real?\n\n> We inform you that your Residence Permit for citizen Ana Lee ,\n> Travel Document no. P7788123 , Canada has been approved.\n",
        ));
        assert_eq!(m.kind, Kind::PermitApproved);
        assert_eq!(m.original_from, None);
        assert_eq!(m.notified_at, None);
        assert_eq!(m.forwarded_by.as_deref(), Some("me@x.com"));
    }

    #[test]
    fn html_reply_attribution_and_copy_paste() {
        let html = "<div dir=\"ltr\">FYI<br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, Jul 15, 2024 at 10:32 AM Leje Qendrimi &lt;<a href=\"mailto:lejeqendrimi@asp.gov.al\">lejeqendrimi@asp.gov.al</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\"><div>Dear Sir/Madam,</div><div>We inform you that your Residence Permit for citizen Ana Lee , Travel Document no. P7788123 , Canada has been approved.</div></blockquote></div></div>";
        let m = run(&eml(
            "From: Ana <ana@x.com>\nDate: Tue, 16 Jul 2024 08:00:00 +0200\nContent-Type: text/html; charset=utf-8",
            html,
        ));
        assert_eq!(m.kind, Kind::PermitApproved);
        assert_eq!(m.original_from.as_deref(), Some("lejeqendrimi@asp.gov.al"));
        assert_eq!(m.notified_at.as_deref(), Some("2024-07-15T10:32:00+02:00"));
        // The same notice pasted into a message of the forwarder's own: no origin.
        let m = run(&eml(
            "From: Ana <ana@x.com>\nDate: Tue, 16 Jul 2024 08:00:00 +0200",
            "Hi, I got this today:\n\nWe inform you that your Residence Permit for citizen Ana Lee , Travel Document no. P7788123 , Canada has been approved.",
        ));
        assert_eq!(m.kind, Kind::PermitApproved);
        assert_eq!(m.original_from, None);
        assert_eq!(m.notified_at, None);
        assert_eq!(m.forwarded_by.as_deref(), Some("ana@x.com"));
        // An attribution far above the notice, over other text, is not its origin.
        let far = format!(
            "On Mon, Jul 15, 2024 at 10:32 AM Bob <bob@x.com> wrote:\n> {}\n\nWe inform you that your Residence Permit for citizen Ana Lee , Travel Document no. P7788123 , Canada has been approved.",
            "Some long text. ".repeat(40)
        );
        let m = run(&eml("From: Ana <ana@x.com>", &far));
        assert_eq!(m.original_from, None);
    }

    #[test]
    fn attached_message() {
        let m = run(&eml(
            "From: me@x.com\nDate: Fri, 8 Jul 2022 10:00:00 +0200\nContent-Type: multipart/mixed; boundary=o",
            "--o\nContent-Type: text/plain\n\nsee attached\n--o\nContent-Type: message/rfc822\n\nFrom: Zyra <zyra@asp.gov.al>\nDate: 1 Feb 2022 11:00:00 GMT\nTo: ana@x.com\nSubject: Leje\n\nLeja e Qendrimit per shtetasen Ana Lee, Dokument Udhetimi nr. P7788123, Kanadeze eshte refuzuar.\n--o--\n",
        ));
        assert_eq!(m.kind, Kind::PermitRejected);
        assert_eq!(m.reason, Some(Reason::Rejected));
        assert_eq!(m.original_from.as_deref(), Some("zyra@asp.gov.al"));
        assert_eq!(m.notified_at.as_deref(), Some("2022-02-01T11:00:00+00:00"));
        assert!(m.waybills.is_empty());
    }

    #[test]
    fn header_kinds_blank_the_fields() {
        let text = "We inform you that your Residence Permit for citizen Ana Lee , Travel Document no. P7788123 , Canada has been approved.";
        for (h, kind) in [
            ("X-Leje: instructions", Kind::OwnMail),
            ("Auto-Submitted: auto-replied", Kind::AutoReply),
            ("Precedence: bulk", Kind::AutoReply),
            ("X-Autoreply: yes", Kind::AutoReply),
        ] {
            let m = run(&eml(&format!("From: A <a@x.com>\n{h}"), text));
            assert_eq!(m.kind, kind, "{h}");
            assert_eq!(m.name, None);
            assert_eq!(m.travel_document, None);
            assert_eq!(m.forwarded_by.as_deref(), Some("a@x.com"));
        }
        let m = run(&eml("From: A <a@x.com>\nAuto-Submitted: no", text));
        assert_eq!(m.kind, Kind::PermitApproved);
        // A mailing list relaying a forward is not an automatic message.
        let m = run(&eml("From: A <a@x.com>\nPrecedence: list", text));
        assert_eq!(m.kind, Kind::PermitApproved);
    }

    #[test]
    fn other_kinds() {
        let bounce = eml(
            "From: Mail Delivery System <MAILER-DAEMON@x.com>\nContent-Type: multipart/report; report-type=delivery-status; boundary=r",
            "--r\nContent-Type: text/plain\n\nDelivery failed\n--r\nContent-Type: message/delivery-status\n\nAction: failed\n--r--\n",
        );
        assert_eq!(run(&bounce).kind, Kind::Bounce);
        let daemon = eml(
            "From: postmaster@x.com",
            "This message could not be delivered to a@b.c",
        );
        assert_eq!(run(&daemon).kind, Kind::Bounce);
        let cal = eml(
            "From: a@x.com\nContent-Type: multipart/alternative; boundary=c",
            "--c\nContent-Type: text/plain\n\nMeeting\n--c\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n--c--\n",
        );
        assert_eq!(run(&cal).kind, Kind::Calendar);
        let empty = eml(
            "From: a@x.com\nContent-Type: multipart/mixed; boundary=e",
            "This is a multi-part message in MIME format.\n--e\nContent-Type: image/jpeg; name=scan.jpg\nContent-Transfer-Encoding: base64\n\n/9j/4AAQ\n--e--\n",
        );
        let m = run(&empty);
        assert_eq!((m.kind, m.reason), (Kind::Empty, Some(Reason::EmptyBody)));
        let garbage = eml(
            "From: a@x.com\nContent-Type: text/plain\nContent-Transfer-Encoding: base64",
            "////////AAAA////\x00\x01",
        );
        assert_eq!(run(&garbage).kind, Kind::Malformed);
        let blog = eml(
            "From: news@blog.example\nSubject: How to get your permit",
            "The office will write: 'We inform you that your Residence Permit for citizen NAME , Travel Document no. N , X has been approved.' Then pay 5700 Lek.",
        );
        assert_eq!(run(&blog).kind, Kind::Unrelated);
        assert_eq!(run(b"").kind, Kind::Empty);
    }

    #[test]
    fn truncated_mime_still_recovers_the_notice() {
        let raw = eml(
            "From: zyra@asp.gov.al\nDate: Wed, 22 Dec 2021 09:14:00 +0100\nContent-Type: multipart/mixed; boundary=t",
            "--t\nContent-Type: text/plain; charset=windows-1250\nContent-Transfer-Encoding: quoted-printable\n\nJu informojm=EB se Leja e Q=EBndrimit p=EBr shtetasin Ana Lee, Dokument Udh=EBtimi nr. P7788123, Kanadeze =EBsht=EB miratuar.\n--t\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0x",
        );
        let m = run(&raw);
        assert_eq!(m.kind, Kind::PermitApproved, "{m:?}");
        assert_eq!(m.travel_document.as_deref(), Some("P7788123"));
        assert_eq!(m.original_from.as_deref(), Some("zyra@asp.gov.al"));
    }
}
