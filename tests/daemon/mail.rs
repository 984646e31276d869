//! Realistic messages for the daemon tests and the ingest benchmark: approval
//! notifications in English and Albanian, direct or forwarded by an agency, most
//! with a small PDF waybill (a real text layer with the amount), and the everyday
//! noise of a shared inbox (questions, auto-replies, newsletters).
#![allow(dead_code)]

/// Standard base64 with line breaks every 76 characters (MIME).
pub fn base64_mime(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A one-page PDF payment waybill ("mandatpagesë") with a real text layer.
pub fn pdf_waybill(doc: &str, amount: u32) -> Vec<u8> {
    let content = format!(
        "BT\n/F1 12 Tf\n72 720 Td\n(REPUBLIKA E SHQIPERISE) Tj\n0 -18 Td\n(MINISTRIA E BRENDSHME) Tj\n\
         0 -18 Td\n(Mandatpagese - Leje Qendrimi) Tj\n0 -18 Td\n(Dokument: {doc}) Tj\n0 -18 Td\n\
         (Shuma: {amount} Lek) Tj\nET\n"
    );
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

const GIVEN: &[&str] = &[
    "John Michael",
    "Maria",
    "Ahmet",
    "Olena",
    "Luca",
    "Sophie",
    "Daniel",
    "Ayse",
    "Pierre",
    "Anna",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Schneider",
    "Yilmaz",
    "Kovalenko",
    "Rossi",
    "Dubois",
    "Novak",
    "Demir",
    "Martin",
    "Hoxha-Dupont",
];
const NATIONS_EN: &[&str] = &["USA", "Germany", "Turkey", "Ukraine", "Italy", "France"];
const NATIONS_SQ: &[&str] = &[
    "Amerikane",
    "Gjermane",
    "Turke",
    "Ukrainase",
    "Italiane",
    "Franceze",
];
const CITIES: &[&str] = &[
    "TIRANE", "Durres", "Vlore", "Shkoder", "Fier", "Korce", "Elbasan",
];

/// A travel-document number unique for (`salt`, `seq`): two letters, seven digits.
pub fn doc_number(salt: u32, seq: u64) -> String {
    let a = (b'A' + (salt % 26) as u8) as char;
    let b = (b'A' + ((salt / 26) % 26) as u8) as char;
    let n = (u64::from(salt) * 7_919 + seq) % 10_000_000;
    format!("{a}{b}{n:07}")
}

/// The receiving server whose verdict the harness's config trusts.
pub const TRUSTED_AUTHSERV: &str = "mx.leje-test.invalid";

/// What [`notification`] built.
#[derive(Debug, Clone)]
pub struct Built {
    pub raw: Vec<u8>,
    pub message_id: String,
    /// The travel document, for notifications.
    pub doc: Option<String>,
}

/// An approval notification, English or Albanian, direct from the office or
/// forwarded by an agency (Gmail style), with or without a PDF waybill.
pub fn notification(salt: u32, seq: u64, sq: bool, forwarded: bool, pdf: bool) -> Built {
    let doc = doc_number(salt, seq);
    let i = seq as usize;
    let name = format!(
        "{} {}",
        GIVEN[i % GIVEN.len()],
        FAMILY[(i / 3) % FAMILY.len()]
    );
    let city = CITIES[i % CITIES.len()];
    let applicant = format!("applicant{seq}.{salt:x}@example.com");
    let message_id = format!("n{seq}.{salt:x}@asp.gov.al");
    let text = if sq {
        let nat = NATIONS_SQ[i % NATIONS_SQ.len()];
        format!(
            "I/E nderuar,\r\n\r\nJu informojmë se Leja e Qëndrimit për shtetasin {name}, Dokument Udhëtimi nr. {doc}, {nat} është miratuar.\r\n\r\n\
             Ju lutemi printoni mandatpagesën bashkëlidhur dhe paguani tarifën prej 5700 lekësh në\r\n\
             bankë ose në Postën Shqiptare. Me mandatin e pagesës, dokumentin e udhëtimit dhe një\r\n\
             fotografi, aplikoni për kartën biometrike të qëndrimit pranë Drejtorisë Vendore për\r\n\
             Kufirin dhe Migracionin.\r\n\r\nKy mesazh është gjeneruar automatikisht, ju lutemi mos u përgjigjni.\r\n\r\n\
             Drejtoria Vendore për Kufirin dhe Migracionin {city}\r\n"
        )
    } else {
        let nat = NATIONS_EN[i % NATIONS_EN.len()];
        format!(
            "Dear Sir/Madam,\r\n\r\nWe inform you that your Residence Permit for citizen {name} , Travel Document no. {doc} , {nat} has been approved.\r\n\r\n\
             Please print the attached payment notice and pay the fee of 5700 Lek at any bank or at an\r\n\
             Albanian Post office. With the payment receipt, your travel document and one photograph,\r\n\
             apply for the biometric residence card at the Local Directorate for Border and Migration.\r\n\r\n\
             This message was generated automatically, please do not reply to it.\r\n\r\n\
             Drejtoria Vendore për Kufirin dhe Migracionin {city}\r\n"
        )
    };
    let subject = "Leja e Qendrimit / Residence Permit";
    let (from, to, subject, body_text) = if forwarded {
        let fwd = format!(
            "Please see below.\r\n\r\n---------- Forwarded message ---------\r\n\
             From: Leje Qendrimi DPPSH <LejeQendrimi@asp.gov.al>\r\n\
             Date: Wed, 22 Dec 2021 at 09:14\r\nSubject: {subject}\r\nTo: <{applicant}>\r\n\r\n{text}"
        );
        (
            format!("Relocation Desk <desk{}@relocate.example>", i % 5),
            "permits@agency.example".to_string(),
            format!("Fwd: {subject}"),
            fwd,
        )
    } else {
        (
            "Leje Qendrimi DPPSH <LejeQendrimi@asp.gov.al>".to_string(),
            applicant.clone(),
            subject.to_string(),
            text,
        )
    };
    // NOTE: as a receiving server that verified the sender delivers it: the
    // harness's config trusts this authserv-id (tests/trust.rs has the rest).
    let domain = from
        .rsplit_once('@')
        .map_or("", |(_, d)| d.trim_end_matches('>'));
    let mut raw = format!(
        "Authentication-Results: {TRUSTED_AUTHSERV}; dmarc=pass header.from={domain}\r\n\
         Return-Path: <lejeqendrimi@asp.gov.al>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: Wed, 22 Dec 2021 09:14:03 +0100\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
    );
    if pdf {
        let b = format!("----=_Part_{seq}_{salt:x}");
        let pdf = pdf_waybill(&doc, 5700);
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n\
             --{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body_text}\r\n\
             --{b}\r\nContent-Type: application/pdf; name=\"mandatpagesa_{doc}.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"mandatpagesa_{doc}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--{b}--\r\n",
            base64_mime(&pdf)
        ));
    } else {
        raw.push_str(&format!(
            "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body_text}"
        ));
    }
    Built {
        raw: raw.into_bytes(),
        message_id,
        doc: Some(doc),
    }
}

/// Everyday noise: an applicant's question, an auto-reply, or a newsletter.
pub fn noise(salt: u32, seq: u64) -> Built {
    let message_id = format!("x{seq}.{salt:x}@mail.example");
    let (extra, subject, body) = match seq % 3 {
        0 => (
            "",
            "Question about my residence permit",
            "Hello,\r\nI applied two months ago and have not heard back. Can you tell me how long it takes?\r\nThanks, Maria\r\n",
        ),
        1 => (
            "Auto-Submitted: auto-replied\r\n",
            "Out of office",
            "I am out of the office until Monday and will reply when I am back.\r\n",
        ),
        _ => (
            "Precedence: bulk\r\nList-Unsubscribe: <mailto:unsub@news.example>\r\n",
            "This week in Tirana: events and news",
            "Concerts, markets and a new bus line to the airport. Read more on our website.\r\n",
        ),
    };
    let raw = format!(
        "From: Someone <someone{seq}@mail.example>\r\nTo: permits@agency.example\r\nSubject: {subject}\r\n\
         Date: Thu, 23 Dec 2021 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    Built {
        raw: raw.into_bytes(),
        message_id,
        doc: None,
    }
}

/// Message `seq` of a realistic backlog: about 70 % notifications (of those 85 % with a
/// PDF waybill, 40 % Albanian, half forwarded by an agency), the rest noise.
pub fn realistic(salt: u32, seq: u64) -> Built {
    let r = (seq.wrapping_mul(2_654_435_761) >> 7) % 100;
    if r < 70 {
        notification(salt, seq, r % 5 < 2, r.is_multiple_of(2), r % 20 >= 3)
    } else {
        noise(salt, seq)
    }
}

#[test]
fn pdf_has_xref_and_amount() {
    let p = pdf_waybill("AB1234567", 5700);
    let s = String::from_utf8_lossy(&p);
    assert!(s.starts_with("%PDF-1.4"));
    assert!(s.contains("(Shuma: 5700 Lek) Tj"));
    let xref: usize = s
        .split("startxref\n")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(&p[xref..xref + 4], b"xref");
    assert_eq!(base64_mime(b"Man"), "TWFu");
    assert_eq!(base64_mime(b"Ma"), "TWE=");
}
