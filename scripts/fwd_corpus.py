"""Fixtures whose forward blocks are taken from what real mail clients write.

The blocks come from crisp-oss/email-forward-parser's fixtures (the shared corpus,
`email-forward-parser/`: Gmail, Apple Mail, Outlook 2019 for Mac, new Outlook, Outlook
on the web, Thunderbird, Yahoo, HubSpot, MailMate, Missive, in 23 UI languages). Each
block is kept as the client wrote it (labels, separator, quoting, date format); only the
people are replaced (John Doe becomes the Immigration Office, Bessie Berry the
applicant) and the original's text becomes a permit notification.

The expected `notified_at` of each block is read off the corpus file by hand (the
client's date line, with its zone where it has one, else Europe/Tirane) and written in
the tables below; it never comes from the parser.

Called by gen-fixtures.py: `generate(globals())`. Also writes the fixtures for the
other mail-side cases of issue 18 (Korean Gmail, Dutch and Croatian May, copy-paste,
language, lower-case documents, split RFC 2047 filename, format=flowed).
"""

import datetime as dt
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus_dir():
    env = os.environ.get("LEJE_CORPUS")
    cands = ([os.path.join(env, "email-forward-parser")] if env else []) + [
        os.path.join(HERE, "..", "..", "shared", "corpus", "email-forward-parser"),
        os.path.join(HERE, "..", "..", "..", "shared", "corpus", "email-forward-parser"),
    ]
    for c in cands:
        if os.path.isdir(c):
            return c
    raise SystemExit("email-forward-parser corpus not found (set LEJE_CORPUS): the "
                     "forward-block fixtures are made from it")


APPLE = "2021-10-26T14:25:08+03:00"
GMAIL = "2021-10-27T09:31:00+02:00"
NEWOL = "2021-10-28T12:46:00+02:00"
NEWOL_06 = "2021-10-28T12:06:00+02:00"
MACOL = "2021-10-28T12:46:00+02:00"
TBIRD = "2021-11-03T15:51:30+01:00"
YAHOO = "2021-11-02T09:26:50+01:00"
HUBSPOT = "2022-09-19T17:55:44-04:00"

# (client label for the fixture name, corpus file stem, UI language, expected notified_at)
BLOCKS = [
    # Apple Mail (macOS and iOS write the same "Begin forwarded message:" block), quoted.
    ("apple", "apple_mail_cs", "cs", APPLE),
    ("apple", "apple_mail_da", "da", APPLE),
    ("apple", "apple_mail_de", "de", APPLE),
    ("apple", "apple_mail_fi", "fi", APPLE),
    ("apple", "apple_mail_hr", "hr", APPLE),
    ("apple", "apple_mail_hu", "hu", APPLE),
    ("apple", "apple_mail_nl", "nl", APPLE),
    ("apple", "apple_mail_pl", "pl", APPLE),
    ("apple", "apple_mail_pt_br", "pt-br", APPLE),
    ("apple", "apple_mail_ro", "ro", APPLE),
    ("apple", "apple_mail_ru", "ru", APPLE),
    ("apple", "apple_mail_sk", "sk", APPLE),
    ("apple", "apple_mail_uk", "uk", APPLE),
    ("apple", "apple_mail_sv", "sv", APPLE),
    # Gmail.
    ("gmail", "gmail_cs", "cs", GMAIL),
    ("gmail", "gmail_da", "da", GMAIL),
    ("gmail", "gmail_et", "et", GMAIL),
    ("gmail", "gmail_fi", "fi", GMAIL),
    ("gmail", "gmail_hr", "hr", GMAIL),
    ("gmail", "gmail_hu", "hu", GMAIL),
    ("gmail", "gmail_nl", "nl", GMAIL),
    ("gmail", "gmail_no", "no", GMAIL),
    ("gmail", "gmail_pl", "pl", GMAIL),
    ("gmail", "gmail_pt", "pt", GMAIL),
    ("gmail", "gmail_ro", "ro", GMAIL),
    ("gmail", "gmail_sk", "sk", GMAIL),
    ("gmail", "gmail_sv", "sv", GMAIL),
    ("gmail", "gmail_uk", "uk", GMAIL),
    # New Outlook (desktop).
    ("newoutlook", "new_outlook_2019_cs", "cs", NEWOL_06),
    ("newoutlook", "new_outlook_2019_da", "da", NEWOL_06),
    ("newoutlook", "new_outlook_2019_fi", "fi", NEWOL_06),
    ("newoutlook", "new_outlook_2019_hu", "hu", NEWOL),
    ("newoutlook", "new_outlook_2019_pl", "pl", NEWOL),
    ("newoutlook", "new_outlook_2019_pt_br", "pt-br", NEWOL),
    ("newoutlook", "new_outlook_2019_sk", "sk", NEWOL),
    ("newoutlook", "new_outlook_2019_tr", "tr", NEWOL),
    ("newoutlook", "new_outlook_2019_nl", "nl", NEWOL_06),
    # Outlook 2019 for Mac: a reply-style attribution line, the original indented.
    ("outlookmac", "outlook_2019_cz", "cs", MACOL),
    ("outlookmac", "outlook_2019_da", "da", MACOL),
    ("outlookmac", "outlook_2019_de", "de", MACOL),
    ("outlookmac", "outlook_2019_en", "en", MACOL),
    ("outlookmac", "outlook_2019_es", "es", MACOL),
    ("outlookmac", "outlook_2019_fi", "fi", MACOL),
    ("outlookmac", "outlook_2019_fr", "fr", MACOL),
    ("outlookmac", "outlook_2019_hu", "hu", MACOL),
    ("outlookmac", "outlook_2019_it", "it", MACOL),
    ("outlookmac", "outlook_2019_nl", "nl", MACOL),
    ("outlookmac", "outlook_2019_no", "no", MACOL),
    ("outlookmac", "outlook_2019_pl", "pl", MACOL),
    ("outlookmac", "outlook_2019_pt", "pt", MACOL),
    ("outlookmac", "outlook_2019_ru", "ru", MACOL),
    ("outlookmac", "outlook_2019_sk", "sk", MACOL),
    ("outlookmac", "outlook_2019_sv", "sv", MACOL),
    ("outlookmac", "outlook_2019_tr", "tr", MACOL),
    # Outlook on the web, Outlook 2013.
    ("outlookweb", "outlook_live_body", "en", "2021-10-27T15:14:00+02:00"),
    ("outlook2013", "outlook_2013_en", "en", "2021-10-25T11:17:00+02:00"),
    # Thunderbird.
    ("thunderbird", "thunderbird_de", "de", TBIRD),
    ("thunderbird", "thunderbird_fi", "fi", TBIRD),
    ("thunderbird", "thunderbird_hr", "hr", TBIRD),
    ("thunderbird", "thunderbird_ro", "ro", TBIRD),
    ("thunderbird", "thunderbird_tr", "tr", TBIRD),
    ("thunderbird", "thunderbird_uk", "uk", TBIRD),
    # Yahoo (the header flattened into one line).
    ("yahoo", "yahoo_da", "da", YAHOO),
    ("yahoo", "yahoo_es", "es", YAHOO),
    ("yahoo", "yahoo_fi", "fi", YAHOO),
    ("yahoo", "yahoo_it", "it", YAHOO),
    ("yahoo", "yahoo_nl", "nl", YAHOO),
    ("yahoo", "yahoo_pl", "pl", YAHOO),
    ("yahoo", "yahoo_pt_br", "pt-br", YAHOO),
    ("yahoo", "yahoo_ro", "ro", YAHOO),
    ("yahoo", "yahoo_ru", "ru", YAHOO),
    ("yahoo", "yahoo_sv", "sv", YAHOO),
    ("yahoo", "yahoo_tr", "tr", YAHOO),
    ("yahoo", "yahoo_uk", "uk", YAHOO),
    # HubSpot, MailMate, Missive.
    ("hubspot", "hubspot_ja", "ja", HUBSPOT),
    ("hubspot", "hubspot_pl", "pl", HUBSPOT),
    ("hubspot", "hubspot_fi", "fi", HUBSPOT),
    ("hubspot", "hubspot_pt_br", "pt-br", HUBSPOT),
    ("mailmate", "mailmate_en_body", "en", "2021-10-27T09:31:00+00:00"),
    ("missive", "missive_en_body", "en", "2022-07-19T15:09:00+02:00"),
]

ORIGINAL = "Aenean quis diam urna."


def read_block(stem):
    d = corpus_dir()
    names = sorted(n for n in os.listdir(d) if n.startswith(stem) and "_body" in n)
    name = next(n for n in names if n in (stem + "_body.txt", stem + ".txt", stem))
    text = open(os.path.join(d, name), encoding="utf-8").read()
    text = text.replace("\ufeff", "").replace("\r\n", "\n")
    i = text.index(ORIGINAL)
    line_start = text.rfind("\n", 0, i) + 1
    # The block as written, and the quoting/indent in front of the original's lines.
    return text[:line_start], text[line_start:i]


def subst(block, office_disp, office_addr, applicant, applicant_addr, subject):
    return (block.replace("john.doe@acme.com", office_addr)
            .replace("John Doe", office_disp)
            .replace("bessie.berry@acme.com", applicant_addr)
            .replace("Bessie Berry", applicant)
            .replace("Integer consequat non purus", subject))


def indent(text, prefix):
    return "\n".join((prefix + l) if l else prefix.rstrip() for l in text.split("\n"))


def ascii_local(name):
    table = str.maketrans("äöüßéèçñíóáúışğëÿ", "aousecniioauisgey")
    s = re.sub(r"[^a-z]+", ".", name.lower().translate(table)).strip(".")
    return s or "applicant"


def generate(g):
    people, offices = g["PEOPLE"], ["tirane", "mig", "njoftime", "durres", "eal"]
    for k, (client, stem, ui, notified) in enumerate(BLOCKS):
        p = people[k % len(people)]
        office = offices[k % len(offices)]
        disp = g["OFFICE"][office].split(" <")[0]
        oaddr = g["office_addr"](office)
        applicant_addr = f"{ascii_local(p[0])}{k}@gmail.com"
        subject = "Leja e Qëndrimit" if p[4] == "sq" else "Residence Permit"
        head, prefix = read_block(stem)
        block = subst(head, disp, oaddr, p[0], applicant_addr, subject)
        notice = g["notice_for"](p)
        body = block + indent(notice, prefix)
        name = f"fwd-{client}-{ui}-corpus"
        t = dt.datetime.fromisoformat(notified[:19]) + dt.timedelta(days=2, hours=3)
        g["fwd_inline"](name, frm=f"{p[0]} <{applicant_addr}>", subject=f"Fwd: {subject}",
                        outer_local=t, note="", block="", notice=body, lang=p[4],
                        person=g["person_fields"](p), office_key=office, notified_at=notified,
                        boundary=f"corpus{k:03d}")
    gen_cases(g)


def gen_cases(g):
    """The other mail-side cases of issue 18, written the way the real clients write them."""
    people = g["PEOPLE"]
    iso = g["iso"]

    def fwd(name, p, office, block, notified, subject="Residence Permit", notice=None,
            frm=None, lang=None, person=None, original_from=None, note="", **kw):
        frm = frm or f"{p[0]} <{ascii_local(p[0])}@gmail.com>"
        t = dt.datetime(2024, 6, 3, 10, 0)
        g["fwd_inline"](name, frm=frm, subject=f"Fwd: {subject}", outer_local=t, note=note,
                        block=block, notice=notice if notice is not None else g["notice_for"](p),
                        lang=lang or p[4], person=person or g["person_fields"](p),
                        office_key=office, notified_at=notified, original_from=original_from,
                        boundary=name.replace("-", ""), **kw)

    def addr(office):
        return g["OFFICE"][office].split(" <")[0], g["office_addr"](office)

    # Gmail in Korean.
    d, a = addr("tirane")
    fwd("fwd-gmail-ko", people[0], "tirane",
        "---------- Forwarded message ---------\n"
        f"보낸사람: {d} <{a}>\nDate: 2023년 3월 27일 (월) 오후 12:10\n"
        "Subject: Residence Permit\nTo: <marco.rossi@gmail.com>\n\n\n",
        "2023-03-27T12:10:00+02:00")
    # Gmail in Dutch, May ("mei"); Gmail in Croatian, May ("svi", genitive "svibnja").
    d, a = addr("mig")
    fwd("fwd-gmail-nl-mei", people[2], "mig",
        "---------- Doorgestuurd bericht ---------\n"
        f"Van: {d} <{a}>\nDate: wo 17 mei 2023 om 09:14\nSubject: Residence Permit\n"
        "To: <juergen.weiss@gmail.com>\n\n\n", "2023-05-17T09:14:00+02:00")
    fwd("fwd-gmail-hr-svi", people[3], "mig",
        "---------- Proslijeđena poruka ---------\n"
        f"Od: {d} <{a}>\nDate: sri, 17. svi 2023. u 09:14\nSubject: Leja e Qëndrimit\n"
        "To: <amelie.laurent@gmail.com>\n\n\n", "2023-05-17T09:14:00+02:00",
        subject="Leja e Qëndrimit")
    fwd("fwd-apple-hr-svibnja", people[4], "mig",
        "Početak proslijeđene poruke:\n\n"
        f"> Šalje: {d} <{a}>\n> Predmet: Residence Permit\n"
        "> Datum: 17. svibnja 2023. u 09:14:03 CEST\n> Prima: javi.fdez@gmail.com\n>\n",
        "2023-05-17T09:14:03+02:00",
        notice=indent(g["notice_for"](people[4]), "> "))
    # Serbian and Slovenian genitives, Swedish dotted time.
    fwd("fwd-outlook-sr-genitive", people[6], "mig",
        f"Od: {d} <{a}>\nPoslato: sreda, 17. maja 2023. 9:14\nZa: g.nikolaidis@gmail.com\n"
        "Tema: Residence Permit\n\n", "2023-05-17T09:14:00+02:00")
    fwd("fwd-outlook-sl-genitive", people[10], "mig",
        f"Od: {d} <{a}>\nPoslano: sreda, 17. januarja 2024 11.49\nZa: wang.xm@gmail.com\n"
        "Zadeva: Residence Permit\n\n", "2024-01-17T11:49:00+01:00")
    fwd("fwd-apple-sv-dotted", people[15], "mig",
        "Vidarebefordrat mejl:\n\n"
        f"> Från: {d} <{a}>\n> Ämne: Residence Permit\n"
        "> Datum: 17 januari 2024 kl. 11.49.56 CET\n> Till: lars.andersson@gmail.com\n>\n",
        "2024-01-17T11:49:56+01:00",
        notice=indent(g["notice_for"](people[15]), "> "))
    # Outlook for Mac in Spanish, the issue's own attribution line.
    d, a = addr("tirane")
    fwd("fwd-outlookmac-es-issue", people[4], "tirane",
        f"El 15/07/2022 10:32, \"{d}\" <{a}> escribió:\n\n",
        "2022-07-15T10:32:00+02:00", notice=indent(g["notice_for"](people[4]), "    "))
    # Outlook for Mac in US English: month first, 12-hour clock.
    fwd("fwd-outlookmac-en-us", people[13], "tirane",
        f"On 8/5/24, 9:14 AM, \"{d}\" <{a}> wrote:\n\n",
        "2024-08-05T09:14:00+02:00", notice=indent(g["notice_for"](people[13]), "    "))
    # Gmail's reply attribution wrapped over two lines, quoted original.
    fwd("fwd-gmail-reply-wrapped", people[8], "tirane",
        f"On Mon, Jul 15, 2024 at 10:32 AM {d} <\n{a}> wrote:\n\n",
        "2024-07-15T10:32:00+02:00", notice=indent(g["notice_for"](people[8]), "> "))
    # Yahoo in Romanian, as in the issue.
    d, a = addr("njoftime")
    fwd("fwd-yahoo-ro-issue", people[7], "njoftime",
        f"   ----- Mesaj redirecționat ----- De la: {d} <{a}>Către: \"ayse.yilmaz@gmail.com\" "
        "<ayse.yilmaz@gmail.com>Trimis: luni, 27 martie 2023, 12:10:05 CESTSubiect: Leja e "
        "Qëndrimit\n ", "2023-03-27T12:10:05+02:00", subject="Leja e Qëndrimit")

    # Copy-pasted: no forward header at all, so neither sender nor date is known.
    p = people[1]
    fwd("paste-gmail-no-header", p, "tirane", "", None,
        note="Përshëndetje, më erdhi ky mesazh sot, e kopjoj këtu:", original_from="")
    p = people[2]
    fwd("paste-outlook-signature", p, "tirane", "", None,
        note="Hello, see the text I received below.\n\nThanks,\nJürgen\n\n-----",
        original_from="")

    # Language from the notification sentence: an Albanian subject above an English
    # notice, an English one above an Albanian notice, a bilingual notice (Albanian first).
    d, a = addr("eal")
    p = people[0]
    fwd("lang-sq-subject-en-notice", p, "eal",
        "---------- Forwarded message ---------\n"
        f"From: {d} <{a}>\nDate: Mon, Jan 15, 2024 at 9:14 AM\n"
        "Subject: Njoftim për Leje Qëndrimi\nTo: <marco.rossi@gmail.com>\n\n\n",
        "2024-01-15T09:14:00+01:00", subject="Njoftim për Leje Qëndrimi")
    p = people[1]
    fwd("lang-en-subject-sq-notice", p, "eal",
        "---------- Forwarded message ---------\n"
        f"From: {d} <{a}>\nDate: Mon, Jan 15, 2024 at 9:14 AM\n"
        "Subject: Residence Permit notification\nTo: <f.esposito@gmail.com>\n\n\n",
        "2024-01-15T09:14:00+01:00")
    p = people[3]
    name, doc, _, nat, _, city, _ = p
    bilingual = (g["sq_notice"](g["sq_sentence"](name, doc, nat), city)
                 + "\n---\n\n" + g["en_notice"](g["en_sentence"](name, doc, nat), city))
    fwd("lang-bilingual-sq-first", p, "eal",
        "---------- Forwarded message ---------\n"
        f"From: {d} <{a}>\nDate: Mon, Jan 15, 2024 at 9:14 AM\n"
        "Subject: Leje Qëndrimi / Residence Permit\nTo: <amelie.laurent@gmail.com>\n\n\n",
        "2024-01-15T09:14:00+01:00", notice=bilingual, lang="sq")

    # Travel documents in lower case, mostly letters.
    for i, (doc, lang) in enumerate([("wcpfvjfw8", "en"), ("czhmmjh5g", "sq")]):
        base = people[5 + i]
        p = (base[0], doc, doc.upper(), base[3], lang, base[5], base[6])
        fwd(f"doc-lowercase-letters-{lang}", p, "tirane",
            "---------- Forwarded message ---------\n"
            f"From: {addr('tirane')[0]} <{addr('tirane')[1]}>\n"
            "Date: Tue, Feb 6, 2024 at 11:02 AM\nSubject: Residence Permit\n"
            "To: <applicant@gmail.com>\n\n\n", "2024-02-06T11:02:00+01:00")

    # An attachment name split over two RFC 2047 encoded words inside a quoted parameter.
    p = people[2]
    fname = "Mäximilian Gruber.pdf"
    w = g["waybill_pdf"]("Shuma per t'u paguar: 5700 Lek", 5700, filename=fname)
    raw_name = "=?UTF-8?Q?M=C3=A4?= =?UTF-8?Q?ximilian_Gruber.pdf?="
    t = dt.datetime(2024, 3, 4, 10, 5)
    d, a = addr("mig")
    text = ("---------- Forwarded message ---------\n"
            f"From: {d} <{a}>\nDate: Mon, Mar 4, 2024 at 10:05 AM\nSubject: Residence Permit\n"
            "To: <juergen.weiss@gmail.com>\n\n\n" + g["notice_for"](p))
    hs = g["outer"](f"{p[0]} <juergen.weiss@gmail.com>", g["SHARED"], "Fwd: Residence Permit",
                    g["rfc2822"](t + dt.timedelta(hours=2)), "rfc2047-split@mail.example")
    raw = g["mixed_with"](hs, g["text_part"](text), [w], "rfc2047split",
                          atts=[g["att"](w, name_hdr=f'; name="{raw_name}"',
                                         fn_hdr=f'; filename="{raw_name}"')])
    e = g["expect"]("permit_approved", "juergen.weiss@gmail.com", language="en",
                    original_from=a, notified_at=iso(t), waybills=[w], **g["person_fields"](p))
    g["fixture"]("mime-rfc2047-split-filename", raw, e)

    # format=flowed: a forward of a forward, the inner header lines soft-wrapped.
    p = people[11]
    d, a = addr("durres")
    inner = ("> ---------- Forwarded message ---------\n"
             f"> From: {d} \n> <{a}>\n> Date: Wed, Dec 20, 2023 at \n> 9:14 AM\n"
             "> Subject: Residence Permit\n> To: <dmitri.volkov@gmail.com>\n>\n"
             + indent(g["notice_for"](p), "> ") + "\n")
    outer_block = ("-------- Forwarded Message --------\n"
                   "Subject: \tFwd: Residence Permit\nDate: \tThu, 21 Dec 2023 08:00:00 +0100\n"
                   "From: \tDmitri Volkov <dmitri.volkov@gmail.com>\n"
                   "To: \tOlga <olga@example.ru>\n\n")
    body = "Olga forwarded this to me, \nplease handle.\n\n" + outer_block + inner
    t = dt.datetime(2023, 12, 21, 12, 0)
    hs = g["outer"]("Agency <agency@relocate.example>", g["SHARED"], "Fwd: Fwd: Residence Permit",
                    g["rfc2822"](t), "flowed@mail.example")
    te = g["ent"]([("Content-Type", 'text/plain; charset="utf-8"; format=flowed'),
                   ("Content-Transfer-Encoding", "8bit")], body.encode("utf-8"))
    raw = g["ent"](hs + [("MIME-Version", "1.0")], b"")[:-1] + te
    e = g["expect"]("permit_approved", "agency@relocate.example", language=p[4],
                    original_from=a, notified_at="2023-12-20T09:14:00+01:00",
                    **g["person_fields"](p))
    g["fixture"]("fwd-thunderbird-flowed-twice", raw, e)
