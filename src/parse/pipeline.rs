//! From raw bytes to a [`ParsedMessage`]: envelope, classification by header
//! (own mail, bounce, auto-reply), text analysis (notification + the forward
//! block or attached message it came in), calendar, empty and malformed.

use super::fallback::{self, raw_header};
use super::forward::{self, find_email};
use super::mime::{self, Origin, Walk};
use super::notice::{self, Notice};
use super::text::{self, fold};
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
    let parsed = MessageParser::default().parse(raw);
    let mut pm = blank();
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

    if raw_header(raw, "x-leje").is_some() {
        return with(pm, Kind::OwnMail, Reason::OwnMail);
    }
    let walk = parsed.as_ref().map(mime::walk).unwrap_or_default();
    if walk.is_report || is_mailer_daemon_failure(&outer, &walk) {
        return with(pm, Kind::Bounce, Reason::DeliveryReport);
    }
    if is_auto(raw) {
        return with(pm, Kind::AutoReply, Reason::AutoSubmitted);
    }

    let mut found = walk.segments.iter().find_map(|s| {
        let o = s.origin.and_then(|i| walk.origins.get(i));
        analyze(&s.text, o, &outer)
    });
    let mut readable = walk.segments.iter().any(|s| text::is_readable(&s.text));
    let garbage = walk.segments.iter().any(|s| !s.text.trim().is_empty()) && !readable;
    let broken = parsed.is_none() || walk.broken || raw.contains(&0);
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
    let origin = match (block, seg_origin) {
        (Some(b), _) => Origin {
            from: b.from,
            date: b.date,
            to: b.to,
        },
        (None, Some(o)) => o.clone(),
        (None, None) if quoted => Origin::default(),
        (None, None) => outer.clone(),
    };
    Some(Found { notice, origin })
}

fn is_auto(raw: &[u8]) -> bool {
    if raw_header(raw, "auto-submitted").is_some_and(|v| fold(&v) != "no" && !v.trim().is_empty()) {
        return true;
    }
    if raw_header(raw, "x-autoreply").is_some() || raw_header(raw, "x-autorespond").is_some() {
        return true;
    }
    raw_header(raw, "precedence").is_some_and(|v| {
        matches!(
            fold(&v).trim_matches(['"', ' ']),
            "auto_reply" | "bulk" | "junk" | "list"
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
