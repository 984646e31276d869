#!/usr/bin/env python3
"""Writes the parser fixture suite: fixtures/<name>.eml and fixtures/<name>.json.

Each .json is the `leje parse` object (without "file") that the parse contract in
the project brief requires for the message. The expected values come from the data
this script puts into each message (the applicant, the office, the forward header's
date, the attachment bytes), never from running the parser.

Python 3 standard library only. Deterministic: fixed dates, fixed boundaries, fixed
bytes; running it twice writes identical files. Usage: scripts/gen-fixtures.py [OUTDIR]
"""

import base64
import datetime as dt
import hashlib
import json
import os
import quopri
import re
import struct
import sys
import urllib.parse
import zlib

# --------------------------------------------------------------------------------------
# Contract constants (Reason::message() texts in src/parse/mod.rs, copied verbatim)

REASON = {
    "permit_approved": None,
    "permit_rejected": "the notification says the residence permit was rejected",
    "incomplete_notification": "notification found but its travel document number is missing",
    "auto_reply": "automatic message (Auto-Submitted, X-Autoreply or Precedence header)",
    "bounce": "delivery status notification (bounce)",
    "own_mail": "message sent by leje itself",
    "calendar": "calendar invitation",
    "empty": "message has no readable text",
    "malformed": "malformed MIME structure and no readable notification in it",
    "unrelated": "no residence-permit notification found in the message",
}

# --------------------------------------------------------------------------------------
# Dates: Europe/Tirane is CET (+01:00), CEST (+02:00) from the last Sunday of March
# 01:00 UTC to the last Sunday of October 01:00 UTC. Fixture dates stay clear of the
# switch hours.


def last_sunday(year, month):
    d = dt.date(year, month, 31)
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def tirane_offset(local):
    """Offset in hours of a naive Europe/Tirane local time."""
    start = dt.datetime.combine(last_sunday(local.year, 3), dt.time(2, 0))
    end = dt.datetime.combine(last_sunday(local.year, 10), dt.time(3, 0))
    return 2 if start <= local < end else 1


def iso(local, off_minutes=None):
    """RFC 3339 with numeric offset; off_minutes None = Tirane local time."""
    if off_minutes is None:
        off_minutes = tirane_offset(local) * 60
    sign = "+" if off_minutes >= 0 else "-"
    h, m = divmod(abs(off_minutes), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{h:02d}:{m:02d}"


def rfc2822(local, off_minutes=None, zone=None):
    if off_minutes is None:
        off_minutes = tirane_offset(local) * 60
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    sign = "+" if off_minutes >= 0 else "-"
    h, m = divmod(abs(off_minutes), 60)
    z = zone or f"{sign}{h:02d}{m:02d}"
    return (f"{days[local.weekday()]}, {local.day} {months[local.month - 1]} {local.year} "
            f"{local:%H:%M:%S} {z}")


EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]


def h12(t):
    h = t.hour % 12 or 12
    return h, ("AM" if t.hour < 12 else "PM")


def d_gmail(lang, t):
    """Gmail's forward 'Date:' line in the given UI language (no zone)."""
    wd, mo = t.weekday(), t.month - 1
    if lang == "en":
        h, ap = h12(t)
        return f"{EN_DAYS[wd][:3]}, {EN_MONTHS[mo][:3]} {t.day}, {t.year} at {h}:{t:%M} {ap}"
    if lang == "it":
        days = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"]
        months = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]
        return f"{days[wd]} {t.day} {months[mo]} {t.year} alle ore {t:%H:%M}"
    if lang == "de":
        days = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]
        months = ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.",
                  "Nov.", "Dez."]
        return f"{days[wd]}, {t.day}. {months[mo]} {t.year} um {t:%H:%M} Uhr"
    if lang == "fr":
        days = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
        months = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                  "oct.", "nov.", "déc."]
        return f"{days[wd]} {t.day} {months[mo]} {t.year} à {t:%H:%M}"
    if lang == "es":
        days = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
        months = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov",
                  "dic"]
        return f"{days[wd]}, {t.day} {months[mo]} {t.year} a las {t.hour}:{t:%M}"
    if lang == "ru":
        days = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
        months = ["янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.",
                  "окт.", "нояб.", "дек."]
        return f"{days[wd]}, {t.day} {months[mo]} {t.year} г. в {t:%H:%M}"
    if lang == "tr":
        days = ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"]
        months = ["Oca", "Şub", "Mar", "Nis", "May", "Haz", "Tem", "Ağu", "Eyl", "Eki", "Kas",
                  "Ara"]
        return f"{t.day} {months[mo]} {t.year} {days[wd]}, {t:%H:%M}"
    raise ValueError(lang)


def d_outlook(lang, t):
    """Outlook desktop's 'Sent:' value in the given UI language (no zone)."""
    wd, mo = t.weekday(), t.month - 1
    if lang == "en":
        h, ap = h12(t)
        return f"{EN_DAYS[wd]}, {EN_MONTHS[mo]} {t.day}, {t.year} {h}:{t:%M} {ap}"
    if lang == "de":
        days = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
        months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                  "September", "Oktober", "November", "Dezember"]
        return f"{days[wd]}, {t.day}. {months[mo]} {t.year} {t:%H:%M}"
    if lang == "fr":
        days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
        months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                  "septembre", "octobre", "novembre", "décembre"]
        return f"{days[wd]} {t.day} {months[mo]} {t.year} {t:%H:%M}"
    if lang == "es":
        days = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
        months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                  "septiembre", "octubre", "noviembre", "diciembre"]
        return f"{days[wd]}, {t.day} de {months[mo]} de {t.year} {t.hour}:{t:%M}"
    if lang == "it":
        days = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
        months = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
                  "agosto", "settembre", "ottobre", "novembre", "dicembre"]
        return f"{days[wd]} {t.day} {months[mo]} {t.year} {t:%H:%M}"
    if lang == "ru":
        months = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                  "сентября", "октября", "ноября", "декабря"]
        return f"{t.day} {months[mo]} {t.year} г. {t.hour}:{t:%M}"
    if lang == "el":
        days = ["Δευτέρα", "Τρίτη", "Τετάρτη", "Πέμπτη", "Παρασκευή", "Σάββατο", "Κυριακή"]
        months = ["Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου",
                  "Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου"]
        h, ap = h12(t)
        return f"{days[wd]}, {t.day} {months[mo]} {t.year} {h}:{t:%M} {'πμ' if ap == 'AM' else 'μμ'}"
    if lang == "tr":
        days = ["Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"]
        months = ["Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos",
                  "Eylül", "Ekim", "Kasım", "Aralık"]
        return f"{t.day} {months[mo]} {t.year} {days[wd]} {t:%H:%M}"
    if lang == "sq":
        days = ["e hënë", "e martë", "e mërkurë", "e enjte", "e premte", "e shtunë", "e diel"]
        months = ["janar", "shkurt", "mars", "prill", "maj", "qershor", "korrik", "gusht",
                  "shtator", "tetor", "nëntor", "dhjetor"]
        return f"{days[wd]}, {t.day} {months[mo]} {t.year} {t:%H:%M}"
    raise ValueError(lang)


OUTLOOK_LABELS = {
    "en": ("From:", "Sent:", "To:", "Subject:"),
    "de": ("Von:", "Gesendet:", "An:", "Betreff:"),
    "fr": ("De :", "Envoyé :", "À :", "Objet :"),
    "es": ("De:", "Enviado:", "Para:", "Asunto:"),
    "it": ("Da:", "Inviato:", "A:", "Oggetto:"),
    "ru": ("От:", "Отправлено:", "Кому:", "Тема:"),
    "el": ("Από:", "Στάλθηκε:", "Προς:", "Θέμα:"),
    "tr": ("Kimden:", "Gönderildi:", "Kime:", "Konu:"),
    "sq": ("Nga:", "Dërguar:", "Për:", "Subjekti:"),
}

# --------------------------------------------------------------------------------------
# Notification texts (the office's template, with the variations real mail shows)

EN_BODY = (
    "Please print the attached payment notice and pay the fee of 5700 Lek at any bank or at an\n"
    "Albanian Post office. With the payment receipt, your travel document and one photograph,\n"
    "apply for the biometric residence card at the Local Directorate for Border and Migration.\n"
    "\n"
    "This message was generated automatically, please do not reply to it.")

SQ_BODY = (
    "Ju lutemi printoni mandatpagesën bashkëlidhur dhe paguani tarifën prej 5700 lekësh në\n"
    "bankë ose në Postën Shqiptare. Me mandatin e pagesës, dokumentin e udhëtimit dhe një\n"
    "fotografi, aplikoni për kartën biometrike të qëndrimit pranë Drejtorisë Vendore për\n"
    "Kufirin dhe Migracionin.\n"
    "\n"
    "Ky mesazh është gjeneruar automatikisht, ju lutemi mos u përgjigjni.")

SIG = "Drejtoria Vendore për Kufirin dhe Migracionin"


def en_sentence(name, doc, nat, verb="approved"):
    return (f"We inform you that your Residence Permit for citizen {name} , Travel Document "
            f"no. {doc} , {nat} has been {verb}.")


def sq_sentence(name, doc, nat, verb="miratuar", who="shtetasin"):
    return (f"Ju informojmë se Leja e Qëndrimit për {who} {name}, Dokument Udhëtimi nr. {doc}, "
            f"{nat} është {verb}.")


def en_notice(sentence, city, sig=SIG, body=EN_BODY):
    return f"Dear Sir/Madam,\n\n{sentence}\n\n{body}\n\n{sig} {city}\n"


def sq_notice(sentence, city, sig=SIG, body=SQ_BODY):
    return f"I/E nderuar,\n\n{sentence}\n\n{body}\n\n{sig} {city}\n"


def html_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_to_html(text):
    paras = text.split("\n\n")
    out = []
    for p in paras:
        out.append("<p>" + "<br>\n".join(html_escape(x) for x in p.split("\n")) + "</p>")
    return ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            "</head><body>\n" + "\n".join(out) + "\n</body></html>\n")

# --------------------------------------------------------------------------------------
# Attachments


def pdf_escape(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines=None, compress=False, draw=False, image=False, tj=None, info=None):
    """A minimal valid one-page PDF. lines: text lines shown with Tj (WinAnsi);
    tj: raw TJ array operands; draw: a path only; image: an image XObject only."""
    ops = []
    if lines or tj:
        ops += ["BT", "/F1 12 Tf", "72 720 Td"]
        for i, line in enumerate(lines or []):
            if i:
                ops.append("0 -18 Td")
            ops.append(f"({pdf_escape(line)}) Tj")
        if tj:
            if lines:
                ops.append("0 -18 Td")
            ops.append(f"[{tj}] TJ")
        ops.append("ET")
    if draw:
        ops += ["0.5 w", "72 700 m", "520 700 l", "S", "72 640 200 30 re", "f"]
    if image:
        ops += ["q", "120 0 0 80 72 600 cm", "/Im1 Do", "Q"]
    content = ("\n".join(ops) + "\n").encode("cp1252")
    objs = []
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    res = b"/Font << /F1 4 0 R >>"
    if image:
        res += b" /XObject << /Im1 6 0 R >>"
    objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << " + res
                + b" >> /Contents 5 0 R >>")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                b"/Encoding /WinAnsiEncoding >>")
    if compress:
        data = zlib.compress(content, 9)
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data
                    + b"\nendstream")
    else:
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
    if image:
        pix = bytes((x * 37 + y * 11) % 256 for y in range(8) for x in range(8))
        objs.append(b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace "
                    b"/DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n" % len(pix) + pix
                    + b"\nendstream")
    if info:
        objs.append(b"<< /Producer (" + info.encode() + b") /CreationDate (D:20211222091400) >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if info:
        trailer += b" /Info %d 0 R" % len(objs)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_png(w=16, h=12, seed=1):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes(((x * 13 + y * 7 + seed * 29) % 256) for x in range(w))
                   for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_jpeg(comment=b"leje fixture"):
    """A valid 8x8 uniform-grey baseline JPEG with one-code Huffman tables."""
    seg = lambda m, d: b"\xff" + bytes([m]) + struct.pack(">H", len(d) + 2) + d
    return (b"\xff\xd8" + seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + seg(0xFE, comment) + seg(0xDB, b"\x00" + b"\x01" * 64)
            + seg(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
            + seg(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
            + seg(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")
            + seg(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x3f" + b"\xff\xd9")


class W:
    """One waybill-like attachment: the bytes and what the parser must report."""

    def __init__(self, filename, ctype, data, amount):
        self.filename, self.ctype, self.data, self.amount = filename, ctype, data, amount

    def exp(self):
        return {
            "filename": self.filename,
            "content_type": self.ctype.split(";")[0].strip().lower(),
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "amount_lek": self.amount,
        }


def waybill_pdf(amount_line, amount, compress=False, extra=None, filename="mandatpagesa.pdf",
                ctype="application/pdf", info=None):
    lines = ["REPUBLIKA E SHQIPERISE", "MINISTRIA E BRENDSHME",
             "Mandatpagese - Leje Qendrimi"] + (extra or []) + [amount_line]
    return W(filename, ctype, make_pdf(lines, compress=compress, info=info), amount)

# --------------------------------------------------------------------------------------
# MIME building


def b64(data):
    return base64.encodebytes(data)


def qp(text):
    return quopri.encodestring(text.encode("utf-8") if isinstance(text, str) else text)


def q_word(s, charset="UTF-8"):
    enc = "".join(c if (c.isalnum() and c.isascii()) else "_" if c == " " else
                  "".join(f"={b:02X}" for b in c.encode(charset)) for c in s)
    return f"=?{charset}?Q?{enc}?="


def b_word(s, charset="UTF-8"):
    return f"=?{charset}?B?{base64.b64encode(s.encode(charset)).decode()}?="


def ent(headers, body):
    h = b"".join((k.encode() + b": " + (v.encode("utf-8") if isinstance(v, str) else v) + b"\n")
                 for k, v in headers)
    return h + b"\n" + body


def text_part(text, sub="plain", charset="utf-8", cte="quoted-printable", extra=None):
    raw = text.encode(charset) if isinstance(text, str) else text
    if cte == "quoted-printable":
        body = quopri.encodestring(raw)
    elif cte == "base64":
        body = b64(raw)
    else:
        body = raw
    hs = [("Content-Type", f"text/{sub}; charset=\"{charset}\"")]
    if cte != "7bit":
        hs.append(("Content-Transfer-Encoding", cte))
    return ent(hs + (extra or []), body)


def multipart(sub, boundary, children, preamble=b"", close=True, params=""):
    body = bytearray(preamble)
    for c in children:
        body += b"--" + boundary.encode() + b"\n" + c + (b"" if c.endswith(b"\n") else b"\n")
    if close:
        body += b"--" + boundary.encode() + b"--\n"
    ctype = f"multipart/{sub}; boundary=\"{boundary}\"{params}"
    return ctype, bytes(body)


def mp_part(sub, boundary, children, **kw):
    ctype, body = multipart(sub, boundary, children, **kw)
    return ent([("Content-Type", ctype)], body)


def att(w, disp="attachment", name_hdr=None, fn_hdr=None, extra=None):
    fn = w.filename
    ct = w.ctype
    name_param = name_hdr if name_hdr is not None else (f'; name="{fn}"' if fn else "")
    hs = [("Content-Type", ct + name_param)]
    fnp = fn_hdr if fn_hdr is not None else (f'; filename="{fn}"' if fn else "")
    hs.append(("Content-Disposition", disp + fnp))
    hs.append(("Content-Transfer-Encoding", "base64"))
    return ent(hs + (extra or []), b64(w.data))


def message(headers, ctype, body, cte=None):
    hs = list(headers) + [("MIME-Version", "1.0"), ("Content-Type", ctype)]
    if cte:
        hs.append(("Content-Transfer-Encoding", cte))
    return ent(hs, body)


def mixed_with(headers, text_entity, waybills, boundary, atts=None):
    children = [text_entity] + (atts if atts is not None else [att(w) for w in waybills])
    ctype, body = multipart("mixed", boundary, children, preamble=b"This is a multi-part "
                            b"message in MIME format.\n\n")
    return message(headers, ctype, body)


def outer(frm, to, subject, date, mid, extra=None):
    hs = [("Return-Path", "<" + re.sub(r".*<|>.*", "", frm) + ">"),
          ("From", frm), ("To", to), ("Subject", subject), ("Date", date),
          ("Message-ID", f"<{mid}>")]
    return hs + (extra or [])


def addr(a):
    return a.lower()

# --------------------------------------------------------------------------------------
# Expected JSON


def expect(kind, forwarded_by, **f):
    e = {
        "kind": kind, "reason": REASON[kind], "language": None, "name": None,
        "travel_document": None, "nationality": None, "directorate": None,
        "original_from": None, "forwarded_by": forwarded_by.lower() if forwarded_by else None,
        "notified_at": None, "waybills": [],
    }
    if kind in ("permit_approved", "permit_rejected", "incomplete_notification"):
        for k in ("language", "name", "travel_document", "nationality", "directorate",
                  "original_from", "notified_at"):
            e[k] = f.get(k)
        if e["original_from"]:
            e["original_from"] = e["original_from"].lower()
        if kind != "permit_rejected":
            e["waybills"] = [w.exp() for w in f.get("waybills", [])]
    return e


FIXTURES = []


def fixture(name, raw, exp, crlf=False):
    assert not any(n == name for n, _, _ in FIXTURES), name
    if crlf:
        raw = re.sub(rb"(?<!\r)\n", b"\r\n", raw)
    FIXTURES.append((name, raw, exp))


OFFICE = {
    "tirane": "Leje Qendrimi DPPSH <LejeQendrimi@asp.gov.al>",
    "eal": "e-Albania <no-reply@e-albania.al>",
    "njoftime": "Njoftime Leje Qendrimi <Njoftime.LejeQendrimi@asp.gov.al>",
    "durres": "Sektori i Lejeve <sektori.lejeve@asp.gov.al>",
    "mig": "Migracioni <migracioni@asp.gov.al>",
}


def office_addr(key):
    return re.search(r"<([^>]+)>", OFFICE[key]).group(1)


SHARED = "Leje Inbox <leje@albania-relocation.al>"

# ======================================================================================
# Direct notifications from the office


def direct(name, office, to, subject, local, sentence_text, lang, waybills, boundary,
           body_entity=None, off=None, zone=None, mid=None, crlf=False, exp_fields=None):
    hs = outer(OFFICE[office], to, subject, rfc2822(local, off, zone), mid or f"{name}@asp.gov.al")
    text_ent = body_entity if body_entity is not None else text_part(sentence_text)
    if waybills:
        raw = mixed_with(hs, text_ent, waybills, boundary)
    else:
        raw = ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_ent
    e = expect(exp_fields.pop("kind", "permit_approved"), office_addr(office),
               language=lang, original_from=office_addr(office),
               notified_at=iso(local, off if off is not None else None), waybills=waybills,
               **exp_fields)
    fixture(name, raw, e, crlf)


def gen_direct():
    # 1 EN, text/plain QP, uncompressed PDF "Shuma: 5700 Lek", winter.
    t = dt.datetime(2021, 12, 22, 9, 14, 3)
    w = waybill_pdf("Shuma: 5700 Lek", 5700, filename="mandatpagesa_C4X9J7K2L.pdf")
    txt = en_notice(en_sentence("JOHN MICHAEL SMITH", "C4X9J7K2L", "USA"), "TIRANE")
    direct("direct-en-plain-qp", "tirane", "john.m.smith@gmail.com",
           "Leja e Qendrimit / Residence Permit", t, txt, "en", [w], "----=_Part_4471_1922",
           exp_fields=dict(name="JOHN MICHAEL SMITH", travel_document="C4X9J7K2L",
                           nationality="USA", directorate="tirane"))

    # 2 SQ, base64 utf-8, compressed PDF "Shuma: 5.700,00 Lekë", summer.
    t = dt.datetime(2022, 7, 14, 11, 2, 45)
    w = waybill_pdf("Shuma: 5.700,00 Lekë", 5700, compress=True, filename="Mandatpagesa.pdf")
    txt = sq_notice(sq_sentence("GIULIA BIANCHI", "YA7654321", "Italiane"), "Tiranë")
    direct("direct-sq-base64", "eal", "giulia.bianchi@libero.it", "Njoftim - Leje Qëndrimi",
           t, txt, "sq", [w], "=_b1a2c3d4e5",
           body_entity=text_part(txt, cte="base64"),
           exp_fields=dict(name="GIULIA BIANCHI", travel_document="YA7654321",
                           nationality="Italiane", directorate="tirane"))

    # 3 EN, HTML only with entities, <b>, &nbsp;, PDF "5,700.00 ALL".
    t = dt.datetime(2023, 2, 8, 15, 40, 0)
    w = waybill_pdf("Amount: 5,700.00 ALL", 5700, filename="payment_notice.pdf")
    html = ("<html><body style=\"font-family:Arial\">\n<p>Dear Sir/Madam,</p>\n"
            "<p>We inform you that your Residence Permit for citizen <b>EMILY&nbsp;ROSE&nbsp;CLARKE"
            "</b> , Travel Document no. <b>548213907</b> , <b>Shtetas i Mbret&euml;ris&euml; "
            "s&euml; Bashkuar</b> has been approved.</p>\n"
            "<p>Please print the attached payment notice and pay the fee of 5700 Lek at any bank "
            "or at an Albanian Post office.<br>\nThen apply for the biometric residence card at "
            "the Local Directorate for Border and Migration.</p>\n"
            "<p>This message was generated automatically, please do not reply to it.</p>\n"
            "<p>Drejtoria Vendore p&#235;r Kufirin dhe Migracionin<br>DURR&Euml;S</p>\n"
            "</body></html>\n")
    direct("direct-en-html-only", "durres", "emily.clarke@outlook.com", "Residence Permit",
           t, None, "en", [w], "000000000000a1b2c3d4e5f60718",
           body_entity=text_part(html, sub="html", cte="quoted-printable"),
           exp_fields=dict(name="EMILY ROSE CLARKE", travel_document="548213907",
                           nationality="Shtetas i Mbretërisë së Bashkuar", directorate="durres"))

    # 4 SQ, multipart/alternative (QP text + base64 html), PDF as octet-stream; doc in lower case.
    t = dt.datetime(2023, 6, 5, 8, 30, 12)
    w = W("Mandat pagese.pdf", "application/octet-stream",
          make_pdf(["Mandat pagese", "Perfituesi: Drejtoria e Pergjithshme e Policise",
                    "Shuma: 5700 Lekë"], compress=True), 5700)
    txt = sq_notice(sq_sentence("Mehmet Şahin", "u27418365", "Turke"), "SHKODËR")
    alt = mp_part("alternative", "alt-9f8e7d6c", [text_part(txt),
                  text_part(text_to_html(txt), sub="html", cte="base64")])
    direct("direct-sq-alternative-octet", "njoftime", "mehmet.sahin@hotmail.com.tr",
           "=?UTF-8?Q?Leja_e_Q=C3=ABndrimit?=", t, None, "sq", [w], "mix-1a2b3c4d",
           body_entity=alt,
           exp_fields=dict(name="Mehmet Şahin", travel_document="U27418365",
                           nationality="Turke", directorate="shkoder"))

    # 5 SQ, windows-1250 QP; Polish applicant.
    t = dt.datetime(2022, 11, 3, 13, 5, 0)
    w = waybill_pdf("Shuma: 5 700 Lek", 5700, filename="mandatpagesa.pdf")
    txt = sq_notice(sq_sentence("Łukasz Wiśniewski", "EA4412789", "Polake"), "Korçë")
    direct("direct-sq-cp1250", "mig", "lukasz.wisniewski@wp.pl", "Leja e Qendrimit", t, None,
           "sq", [w], "NextPart_000_0012_01D8EF4A",
           body_entity=text_part(txt, charset="windows-1250"),
           exp_fields=dict(name="Łukasz Wiśniewski", travel_document="EA4412789",
                           nationality="Polake", directorate="korce"))

    # 6 SQ, iso-8859-2 8bit; Czech applicant; JPEG photo of the waybill.
    t = dt.datetime(2024, 4, 17, 10, 11, 9)
    w = W("IMG_20240417_101500.jpg", "image/jpeg", make_jpeg(), None)
    txt = sq_notice(sq_sentence("Tomáš Novák", "45821973", "Çeke"), "Elbasan")
    direct("direct-sq-iso8859-2-jpeg", "mig", "tomas.novak@seznam.cz", "Leja e Qendrimit", t,
           None, "sq", [w], "b_8859_2_0001",
           body_entity=text_part(txt, charset="iso-8859-2", cte="8bit"),
           exp_fields=dict(name="Tomáš Novák", travel_document="45821973",
                           nationality="Çeke", directorate="elbasan"))

    # 7 EN, Date in GMT (+00:00), PDF "Amount: 5 700 Lek".
    t = dt.datetime(2022, 1, 10, 8, 14, 0)
    w = waybill_pdf("Amount: 5 700 Lek", 5700, compress=True, filename="waybill.pdf")
    txt = en_notice(en_sentence("Li Wei", "E57439210", "CHINA"), "Vlora")
    direct("direct-en-gmt-date", "eal", "liwei1988@163.com", "Residence Permit", t, txt, "en",
           [w], "gmt-boundary-77", off=0, zone="GMT",
           exp_fields=dict(name="Li Wei", travel_document="E57439210", nationality="CHINA",
                           directorate="vlore"))

    # 8 EN, the whole sentence in capitals, Fier, PDF "5700" with reference and date lines.
    t = dt.datetime(2023, 10, 2, 12, 0, 30)
    w = waybill_pdf("Shuma: 5700", 5700, extra=["Nr. ref: 2023-1002-0457", "Data: 02.10.2023"],
                    filename="pagesa.pdf")
    sent = ("WE INFORM YOU THAT YOUR RESIDENCE PERMIT FOR CITIZEN OLGA IVANOVA , TRAVEL DOCUMENT "
            "NO. 751234567 , RUSSIAN FEDERATION HAS BEEN APPROVED.")
    txt = en_notice(sent, "FIER")
    direct("direct-en-uppercase", "mig", "olga.ivanova@yandex.ru", "RESIDENCE PERMIT", t, txt,
           "en", [w], "caps-0001",
           exp_fields=dict(name="OLGA IVANOVA", travel_document="751234567",
                           nationality="RUSSIAN FEDERATION", directorate="fier"))

    # 9 SQ without diacritics, female form "shtetasen", Durres.
    t = dt.datetime(2022, 5, 19, 9, 45, 0)
    w = waybill_pdf("Shuma: 5700 Leke", 5700, compress=True)
    sent = ("Ju informojme se Leja e Qendrimit per shtetasen ANNA-LENA SCHMIDT, Dokument "
            "Udhetimi nr. C6F2K9L1M, Gjermane eshte miratuar.")
    body = ("Ju lutemi printoni mandatpagesen bashkelidhur dhe paguani tarifen ne banke ose ne "
            "Posten Shqiptare.\n\nKy mesazh eshte gjeneruar automatikisht.")
    txt = sq_notice(sent, "Durres", sig="Drejtoria Vendore per Kufirin dhe Migracionin",
                    body=body)
    direct("direct-sq-no-diacritics", "durres", "annalena.schmidt@web.de", "Leja e Qendrimit",
           t, txt, "sq", [w], "noacc-55",
           exp_fields=dict(name="ANNA-LENA SCHMIDT", travel_document="C6F2K9L1M",
                           nationality="Gjermane", directorate="durres"))

    # 10 EN, the sentence wrapped over lines with extra whitespace around commas; Berat.
    t = dt.datetime(2021, 3, 15, 14, 22, 0)
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    sent = ("We inform you that your Residence Permit for citizen  Hans   Müller\n"
            "  ,   Travel Document no.   C01X00T47   ,\n"
            "   Germany   has been\napproved.")
    txt = en_notice(sent, "BERAT")
    direct("direct-en-linebreaks", "mig", "hans.mueller@gmx.de", "Residence permit", t, txt, "en",
           [w], "wrap-2021", exp_fields=dict(name="Hans Müller", travel_document="C01X00T47",
                                             nationality="Germany", directorate="berat"))

    # 11 EN, amount 10000 in the PDF, Lezhë; CRLF stored.
    t = dt.datetime(2022, 8, 30, 16, 5, 0)
    w = waybill_pdf("Shuma: 10000 Lekë", 10000, compress=True, filename="mandat_10000.pdf")
    txt = en_notice(en_sentence("María José García López", "XDA482913", "Spain"), "Lezhë")
    direct("direct-en-amount-10000-crlf", "eal", "mjgarcia@telefonica.es", "Residence Permit",
           t, txt, "en", [w], "crlf-10000", crlf=True,
           exp_fields=dict(name="María José García López", travel_document="XDA482913",
                           nationality="Spain", directorate="lezhe"))

    # 12 SQ, amount 2850, Kukës, spaced travel document number.
    t = dt.datetime(2023, 1, 25, 11, 11, 11)
    w = waybill_pdf("Shuma: 2850 Lekë", 2850, compress=True, filename="mandatpagesa.pdf")
    txt = sq_notice(sq_sentence("Aikaterini Papadopoulou", "AK 4821937", "Greke"), "Kukës")
    direct("direct-sq-amount-2850", "mig", "katerina.pap@otenet.gr", "Leja e Qendrimit", t, txt,
           "sq", [w], "k2850", exp_fields=dict(name="Aikaterini Papadopoulou",
                                               travel_document="AK4821937", nationality="Greke",
                                               directorate="kukes"))

    # 13 EN, Dibër; a PNG photo of the waybill and a scanned PDF without a text layer.
    t = dt.datetime(2024, 9, 9, 9, 9, 0)
    ws = [W("waybill.png", "image/png", make_png(), None),
          W("scan_mandatpagesa.pdf", "application/pdf", make_pdf(image=True, draw=True), None)]
    txt = en_notice(en_sentence("Priya Sharma", "J8369854", "India"), "Dibër")
    direct("direct-en-png-and-scan", "mig", "priya.sharma@yahoo.co.in", "Residence Permit", t,
           txt, "en", ws, "scan-13", exp_fields=dict(name="Priya Sharma",
                                                     travel_document="J8369854",
                                                     nationality="India", directorate="diber"))

    # 14 EN, Gjirokastër; two PDFs (a path-only one, and the waybill with a TJ array).
    t = dt.datetime(2021, 9, 1, 10, 0, 0)
    ws = [W("Vendimi.pdf", "application/pdf", make_pdf(draw=True), None),
          W("Mandatpagesa.pdf", "Application/PDF",
            make_pdf(["Mandatpagese"], tj="(Shuma:) -250 (5700) -250 (Lek)", compress=True),
            5700)]
    txt = en_notice(en_sentence("Nikos Papadopoulos", "AE5512047", "Greek"), "GJIROKASTËR")
    direct("direct-en-two-pdfs", "mig", "nikos.papadopoulos@gmail.com", "Residence Permit", t,
           txt, "en", ws, "two-pdfs-14",
           exp_fields=dict(name="Nikos Papadopoulos", travel_document="AE5512047",
                           nationality="Greek", directorate="gjirokaster"))

    # 15 EN signature in English with the city; US applicant with a spaced number.
    t = dt.datetime(2024, 2, 14, 9, 30, 0)
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    txt = en_notice(en_sentence("Sarah O'Connor", "A 48213756", "United States of America"),
                    "Lezha", sig="Local Directorate for Border and Migration")
    direct("direct-en-english-signature", "eal", "sarah.oconnor@icloud.com", "Residence Permit",
           t, txt, "en", [w], "engsig-15",
           exp_fields=dict(name="Sarah O'Connor", travel_document="A48213756",
                           nationality="United States of America", directorate="lezhe"))

    # 16 EN, a genuine notice whose number happens to be a digit run (the brief's own
    # example "u12345678"): only in a template is such a number a placeholder.
    t = dt.datetime(2022, 10, 10, 10, 10, 0)
    w = waybill_pdf("Shuma: 5700 Lek", 5700, filename="mandatpagesa.pdf")
    txt = en_notice(en_sentence("Can Öztürk", "u12345678", "Turkey"), "Tiranë")
    direct("direct-en-digit-run-doc-number", "njoftime", "can.ozturk@gmail.com",
           "Residence Permit", t, txt, "en", [w], "digitrun-17",
           exp_fields=dict(name="Can Öztürk", travel_document="U12345678",
                           nationality="Turkey", directorate="tirane"))

    # 17 SQ signed only by the State Police: no directorate named (null); nationality field
    # ends with a stray comma.
    t = dt.datetime(2023, 11, 20, 10, 45, 0)
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, compress=True)
    sent = ("Ju informojmë se Leja e Qëndrimit për shtetasin David Cohen, Dokument Udhëtimi nr. "
            "31872564, Izraelite, është miratuar.")
    txt = (f"I/E nderuar,\n\n{sent}\n\n{SQ_BODY}\n\nPolicia e Shtetit\n"
           "Drejtoria e Përgjithshme e Policisë\n")
    direct("direct-sq-no-directorate", "eal", "david.cohen@gmail.com", "Leja e Qëndrimit", t,
           txt, "sq", [w], "nodir-16",
           exp_fields=dict(name="David Cohen", travel_document="31872564",
                           nationality="Izraelite", directorate=None))

# ======================================================================================
# Inline forwards


def fwd_inline(name, *, frm, to=SHARED, subject, outer_local, note, block, notice, lang,
               person, office_key, notified_at, waybills=(), boundary, html=None,
               text_cte="quoted-printable", charset="utf-8", crlf=False, extra_hdrs=None,
               original_from=None, body_only_html=False):
    text = (note + "\n\n" if note else "") + block + notice
    hs = outer(frm, to, subject, rfc2822(outer_local), f"{name}.{boundary}@mail.example",
               extra_hdrs)
    if body_only_html:
        te = text_part(html, sub="html", cte=text_cte, charset=charset)
    elif html is not None:
        te = mp_part("alternative", boundary + "_alt",
                     [text_part(text, cte=text_cte, charset=charset),
                      text_part(html, sub="html", cte="quoted-printable")])
    else:
        te = text_part(text, cte=text_cte, charset=charset)
    if waybills:
        raw = mixed_with(hs, te, list(waybills), boundary)
    else:
        raw = ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + te
    of = original_from if original_from is not None else office_addr(office_key)
    e = expect("permit_approved", re.search(r"<([^>]+)>", frm).group(1), language=lang,
               original_from=of or None, notified_at=notified_at, waybills=list(waybills),
               **person)
    fixture(name, raw, e, crlf)


def gmail_block(lang, office_key, to_addr, subject, t):
    sep = {"en": "---------- Forwarded message ---------",
           "it": "---------- Messaggio inoltrato ---------",
           "de": "---------- Weitergeleitete Nachricht ---------",
           "fr": "---------- Message transféré ---------",
           "es": "---------- Mensaje reenviado ---------",
           "ru": "---------- Пересылаемое сообщение ---------",
           "tr": "---------- Yönlendirilmiş ileti ---------"}[lang]
    lab = {"en": "From:", "it": "Da:", "de": "Von:", "fr": "De :", "es": "De:", "ru": "От:",
           "tr": "Gönderen:"}[lang]
    disp = OFFICE[office_key].split(" <")[0]
    return (f"{sep}\n{lab} {disp} <{office_addr(office_key)}>\nDate: {d_gmail(lang, t)}\n"
            f"Subject: {subject}\nTo: <{to_addr}>\n\n\n")


def gmail_html(lang, office_key, to_addr, subject, t, notice_html, note_html=""):
    block = gmail_block(lang, office_key, to_addr, subject, t).strip("\n").split("\n")
    addr_ = office_addr(office_key)
    disp = OFFICE[office_key].split(" <")[0]
    lab = block[1].split(" ")[0] if not block[1].startswith("De :") else "De :"
    return ("<div dir=\"ltr\">" + note_html + "<br><div class=\"gmail_quote\"><div dir=\"ltr\" "
            "class=\"gmail_attr\">" + html_escape(block[0]) + "<br>" + lab
            + " <strong class=\"gmail_sendername\" dir=\"auto\">" + html_escape(disp)
            + "</strong> <span dir=\"auto\">&lt;<a href=\"mailto:" + addr_ + "\">" + addr_
            + "</a>&gt;</span><br>" + html_escape(block[2]) + "<br>" + html_escape(block[3])
            + "<br>To: &lt;<a href=\"mailto:" + to_addr + "\">" + to_addr
            + "</a>&gt;<br></div><br><br>" + notice_html + "</div></div>\n")


def outlook_block(lang, office_key, to_addr, subject, t, sep="", mailto=False):
    f, s, to, su = OUTLOOK_LABELS[lang]
    disp = OFFICE[office_key].split(" <")[0]
    a = office_addr(office_key)
    frm = f"{disp} [mailto:{a}]" if mailto else f"{disp} <{a}>"
    return f"{sep}{f} {frm}\n{s} {d_outlook(lang, t)}\n{to} {to_addr}\n{su} {subject}\n\n"


def outlook_html(lang, office_key, to_addr, subject, t, notice_html, note_html=""):
    f, s, to, su = OUTLOOK_LABELS[lang]
    disp = OFFICE[office_key].split(" <")[0]
    a = office_addr(office_key)
    return ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            "</head><body lang=\"EN-US\"><div class=\"WordSection1\">" + note_html
            + "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in "
            "0in\"><p class=\"MsoNormal\"><b>" + html_escape(f) + "</b> " + html_escape(disp)
            + " &lt;" + a + "&gt; <br><b>" + html_escape(s) + "</b> "
            + html_escape(d_outlook(lang, t)) + "<br><b>" + html_escape(to) + "</b> " + to_addr
            + "<br><b>" + html_escape(su) + "</b> " + html_escape(subject)
            + "<o:p></o:p></p></div><p class=\"MsoNormal\"><o:p>&nbsp;</o:p></p>" + notice_html
            + "</div></body></html>\n")


PEOPLE = [
    # name, travel document as written, expected travel document, nationality, lang, city, dir
    ("Marco Rossi", "YB2468135", "YB2468135", "Italian", "en", "TIRANE", "tirane"),
    ("Francesca Esposito", "YC1357924", "YC1357924", "Italiane", "sq", "Tiranë", "tirane"),
    ("Jürgen Weiß", "C7H3M8P2R", "C7H3M8P2R", "Germany", "en", "DURRES", "durres"),
    ("Amélie Laurent", "18AV52341", "18AV52341", "Française", "sq", "Vlorë", "vlore"),
    ("Javier Fernández", "PAB734215", "PAB734215", "Spain", "en", "Shkodra", "shkoder"),
    ("Ольга Смирнова", "75 4839201", "754839201", "Rusi", "sq", "Durrës", "durres"),
    ("Georgios Nikolaidis", "AN 7712093", "AN7712093", "Greek", "en", "KORCE", "korce"),
    ("Ayşe Yılmaz", "U18273645", "U18273645", "Turke", "sq", "TIRANA", "tirane"),
    ("Elif Demir", "u55501234", "U55501234", "Turkish", "en", "Tirana", "tirane"),
    ("Blerta Hoxha-Dupont", "14CX88312", "14CX88312", "Franceze", "sq", "Fier", "fier"),
    ("Wang Xiaoming", "EB8812765", "EB8812765", "China", "en", "Berat", "berat"),
    ("Dmitri Volkov", "72 9901234", "729901234", "Russia", "en", "Vlorë", "vlore"),
    ("Oksana Kovalenko", "FA412873", "FA412873", "Ukrainase", "sq", "LEZHË", "lezhe"),
    ("Kenji Tanaka", "TK8124590", "TK8124590", "Japan", "en", "Elbasan", "elbasan"),
    ("Fatima Zahra Benali", "AB 9012345", "AB9012345", "Morocco", "en", "Shkodër", "shkoder"),
    ("Lars Andersson", "93514807", "93514807", "Sweden", "en", "Korçë", "korce"),
]


def person_fields(p):
    return dict(name=p[0], travel_document=p[2], nationality=p[3], directorate=p[6])


def notice_for(p, wrap_sig=None):
    name, doc, _, nat, lang, city, _ = p
    if lang == "en":
        return en_notice(en_sentence(name, doc, nat), city)
    return sq_notice(sq_sentence(name, doc, nat), city)


def gen_forwards():
    gen_gmail()
    gen_outlook()
    gen_other_clients()
    gen_nested()


def gen_gmail():
    # Gmail in several UI languages; multipart/alternative like Gmail sends.
    cases = [
        ("fwd-gmail-en", "en", 0, dt.datetime(2021, 12, 22, 9, 14), "Marco Rossi <marco.rossi84@gmail.com>", "Fwd: Residence Permit", ""),
        ("fwd-gmail-it", "it", 1, dt.datetime(2022, 7, 14, 11, 2), "Francesca Esposito <f.esposito@gmail.com>", "Fwd: Leja e Qendrimit", "Ciao, vi inoltro la mail ricevuta oggi.\nGrazie, Francesca"),
        ("fwd-gmail-de", "de", 2, dt.datetime(2023, 3, 15, 8, 47), "Jürgen Weiß <juergen.weiss@gmail.com>", "Fwd: Residence Permit", "Hallo,\nanbei die Nachricht der Behörde.\nViele Grüße\nJürgen"),
        ("fwd-gmail-fr", "fr", 3, dt.datetime(2023, 10, 3, 14, 20), "Amélie Laurent <amelie.laurent@gmail.com>", "Fwd: Leja e Qëndrimit", "Bonjour,\nje vous transfère le message reçu.\nCordialement"),
        ("fwd-gmail-es", "es", 4, dt.datetime(2023, 11, 6, 10, 5), "Javier Fernández <javi.fdez@gmail.com>", "Fwd: Residence Permit", "Hola, os reenvío el correo.\nSaludos"),
        ("fwd-gmail-ru", "ru", 5, dt.datetime(2023, 6, 9, 16, 30), "Ольга Смирнова <olga.smirnova.tirana@gmail.com>", "Fwd: Leja e Qëndrimit", "Здравствуйте! Пересылаю письмо из миграционной службы."),
        ("fwd-gmail-tr", "tr", 7, dt.datetime(2021, 12, 22, 9, 14), "Ayşe Yılmaz <ayse.yilmaz@gmail.com>", "Fwd: Leja e Qendrimit", "Merhaba, izin onaylandı, bilginize."),
    ]
    for i, (fname, lang, pi, t, frm, subj, note) in enumerate(cases):
        p = PEOPLE[pi]
        office_key = ["tirane", "eal", "njoftime", "mig", "durres", "eal", "tirane"][i]
        to_addr = re.search(r"<([^>]+)>", frm).group(1)
        osubj = "Residence Permit" if p[4] == "en" else "Leja e Qëndrimit"
        notice = notice_for(p)
        block = gmail_block(lang, office_key, to_addr, osubj, t)
        html = gmail_html(lang, office_key, to_addr, osubj, t, text_to_html(notice)
                          .split("<body>\n")[1].split("</body>")[0],
                          note_html=html_escape(note).replace("\n", "<br>"))
        w = waybill_pdf(["Shuma: 5700 Lek", "Shuma: 5 700 Lekë", "Vlera: 5.700,00 Lekë",
                         "Amount: 5,700.00 ALL"][i % 4],
                        5700, compress=bool(i % 2), filename=f"mandatpagesa_{i + 1}.pdf")
        outer_t = t + dt.timedelta(hours=3, minutes=17)
        fwd_inline(fname, frm=frm, subject=subj, outer_local=outer_t, note=note, block=block,
                   notice=notice, lang=p[4], person=person_fields(p), office_key=office_key,
                   notified_at=iso(t), waybills=[w], boundary=f"00000000000{i}9c7a05e3f1b2",
                   html=html, text_cte=["quoted-printable", "base64"][i % 2])


def gen_outlook():
    # Outlook desktop, plain text alternative + HTML; the 'Sent:' line in each UI language.
    cases = [
        ("fwd-outlook-en", "en", 6, dt.datetime(2021, 12, 22, 9, 14), "Georgios Nikolaidis <g.nikolaidis@outlook.com>", "FW: Residence Permit"),
        ("fwd-outlook-de", "de", 2, dt.datetime(2021, 12, 22, 9, 14), "Relocation Team <team@albania-relocation.al>", "WG: Residence Permit"),
        ("fwd-outlook-fr", "fr", 3, dt.datetime(2022, 4, 20, 17, 45), "Amélie Laurent <amelie.laurent@orange.fr>", "TR: Leja e Qëndrimit"),
        ("fwd-outlook-es", "es", 4, dt.datetime(2022, 12, 1, 9, 3), "Javier Fernández <jfernandez@hotmail.es>", "RV: Residence Permit"),
        ("fwd-outlook-ru", "ru", 11, dt.datetime(2022, 2, 11, 9, 14), "Dmitri Volkov <d.volkov@mail.ru>", "FW: Residence Permit"),
        ("fwd-outlook-el", "el", 6, dt.datetime(2023, 5, 24, 14, 20), "Georgios Nikolaidis <gnikolaidis@otenet.gr>", "ΠΡΘ: Residence Permit"),
        ("fwd-outlook-tr", "tr", 8, dt.datetime(2021, 12, 22, 9, 14), "Elif Demir <elif.demir@outlook.com.tr>", "İLT: Residence Permit"),
        ("fwd-outlook-sq", "sq", 9, dt.datetime(2024, 1, 17, 12, 30), "Agjencia Relokimi <info@relokimi.al>", "PËRC: Leja e Qëndrimit"),
        ("fwd-outlook-it", "it", 0, dt.datetime(2022, 9, 27, 8, 5), "Marco Rossi <marco.rossi@libero.it>", "I: Residence Permit"),
    ]
    for i, (fname, lang, pi, t, frm, subj) in enumerate(cases):
        p = PEOPLE[pi]
        office_key = ["tirane", "njoftime", "eal", "durres", "mig", "tirane", "eal", "mig", "tirane"][i]
        to_addr = re.search(r"<([^>]+)>", frm).group(1)
        osubj = "Residence Permit" if p[4] == "en" else "Leja e Qëndrimit"
        notice = notice_for(p)
        block = outlook_block(lang, office_key, to_addr, osubj, t)
        html = outlook_html(lang, office_key, to_addr, osubj, t, text_to_html(notice)
                            .split("<body>\n")[1].split("</body>")[0])
        ws = [waybill_pdf(["Shuma: 5700 Lekë", "Amount: 5 700 ALL", "Shuma: 5.700,00 Lekë"][i % 3],
                          5700, compress=i % 3 == 1, filename=f"Mandatpagesa-{p[2]}.pdf")]
        fwd_inline(fname, frm=frm, subject=subj, outer_local=t + dt.timedelta(days=1, hours=2),
                   note="", block="\n" + block, notice=notice, lang=p[4],
                   person=person_fields(p), office_key=office_key, notified_at=iso(t),
                   waybills=ws, boundary=f"_004_DB7PR0{i}MB4321eurprd0{i}prod_", html=html,
                   crlf=True)

    # Outlook 2010 plain text with "-----Original Message-----" and [mailto:] sender.
    p = PEOPLE[13]
    t = dt.datetime(2022, 3, 3, 10, 10)
    notice = notice_for(p)
    block = outlook_block("en", "mig", "kenji.tanaka@example.jp", "Residence Permit", t,
                          sep="-----Original Message-----\n", mailto=True)
    fwd_inline("fwd-outlook2010-mailto", frm="Kenji Tanaka <kenji.tanaka@example.jp>",
               subject="FW: Residence Permit", outer_local=t + dt.timedelta(hours=5),
               note="Please find below.\n\nKenji", block=block, notice=notice, lang="en",
               person=person_fields(p), office_key="mig", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary="ol2010-mailto",
               text_cte="7bit" if notice.isascii() else "quoted-printable", crlf=True)

    # Outlook on the web: underscores line, 24-hour 'Sent:' without AM/PM; summer.
    p = PEOPLE[10]
    t = dt.datetime(2021, 10, 27, 15, 14)
    notice = notice_for(p)
    block = (f"________________________________\nFrom: {OFFICE['eal']}\n"
             f"Sent: Wednesday, October 27, 2021 15:14\nTo: wang.xm@outlook.com "
             f"<wang.xm@outlook.com>\nSubject: Residence Permit\n\n")
    fwd_inline("fwd-outlook-web", frm="Wang Xiaoming <wang.xm@outlook.com>",
               subject="Fw: Residence Permit", outer_local=t + dt.timedelta(days=2),
               note="Hello, I received this today. What should I do now?\n\nThank you\nWang",
               block=block, notice=notice, lang="en", person=person_fields(p), office_key="eal",
               notified_at=iso(t), waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700, True)],
               boundary="owa-27oct")

    # New Outlook / Microsoft 365: 'Date: Thursday, 28 October 2021 at 12:46', no blank line.
    p = PEOPLE[14]
    t = dt.datetime(2021, 10, 28, 12, 46)
    notice = notice_for(p)
    block = (f"From: {OFFICE['tirane']}\nDate: Thursday, 28 October 2021 at 12:46\n"
             f"To: fz.benali@outlook.fr <fz.benali@outlook.fr>\nSubject: Residence Permit\n")
    fwd_inline("fwd-outlook365-new", frm="Fatima Zahra Benali <fz.benali@outlook.fr>",
               subject="Fw: Residence Permit", outer_local=t + dt.timedelta(hours=1),
               note="", block=block, notice=notice, lang="en", person=person_fields(p),
               office_key="tirane", notified_at=iso(t),
               waybills=[waybill_pdf("Amount: 5700 ALL", 5700)], boundary="o365-new-2810")



def gen_other_clients():
    # Apple Mail EN, not quoted, explicit GMT+1.
    p = PEOPLE[15]
    t = dt.datetime(2021, 12, 22, 9, 14, 3)
    notice = notice_for(p)
    block = (f"Begin forwarded message:\n\nFrom: {OFFICE['eal']}\nSubject: Residence Permit\n"
             f"Date: December 22, 2021 at 9:14:03 AM GMT+1\nTo: lars.andersson@icloud.com\n\n")
    fwd_inline("fwd-apple-en", frm="Lars Andersson <lars.andersson@icloud.com>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=2),
               note="Sent from my iPhone", block=block, notice=notice, lang="en",
               person=person_fields(p), office_key="eal", notified_at=iso(t, 60),
               waybills=[W("IMG_4821.jpeg", "image/jpeg", make_jpeg(b"iphone"), None)],
               boundary="Apple-Mail-5E0F7B2C-1D3A-4C7B-9E11-0A7B3C2D1E0F")

    # Apple Mail FR, '>'-quoted header block, UTC+2 in summer.
    p = PEOPLE[3]
    t = dt.datetime(2022, 7, 14, 11, 2, 45)
    notice = notice_for(p)
    raw_block = (f"Début du message réexpédié :\n\nDe: {OFFICE['njoftime']}\nObjet: Leja e "
                 f"Qëndrimit\nDate: 14 juillet 2022 à 11:02:45 UTC+2\nÀ: amelie.laurent@me.com\n\n")
    quoted = "".join("> " + ln + "\n" if ln else ">\n" for ln in (raw_block + notice).split("\n"))
    fwd_inline("fwd-apple-fr-quoted", frm="Amélie Laurent <amelie.laurent@me.com>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(days=1),
               note="Bonjour,", block="", notice=quoted, lang="sq", person=person_fields(p),
               office_key="njoftime", notified_at=iso(t, 120),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700, True)],
               boundary="Apple-Mail=_8C1B9A2E-44F0-4B8E-A2B1-3F0C7D6E5A41")

    # Apple Mail TR from Istanbul (GMT+3).
    p = PEOPLE[7]
    t = dt.datetime(2023, 3, 15, 10, 47, 12)
    notice = notice_for(p)
    block = (f"İleti başlangıcı:\n\nKimden: {OFFICE['mig']}\nKonu: Leja e Qëndrimit\n"
             f"Tarih: 15 Mart 2023 10:47:12 GMT+3\nKime: ayse.yilmaz@icloud.com\n\n")
    fwd_inline("fwd-apple-tr", frm="=?utf-8?Q?Ay=C5=9Fe_Y=C4=B1lmaz?= <ayse.yilmaz@icloud.com>",
               subject="=?utf-8?Q?Fwd:_Leja_e_Q=C3=ABndrimit?=", outer_local=t,
               note="", block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="mig", notified_at=iso(t, 180),
               waybills=[waybill_pdf("Shuma: 5 700 Lekë", 5700)],
               boundary="Apple-Mail=_0D2E3F40-5162-4738-8495-A6B7C8D9E0F1")

    # Thunderbird EN: tab after labels, RFC 2822 date with zone and seconds.
    p = PEOPLE[12]
    t = dt.datetime(2024, 8, 20, 14, 33, 51)
    notice = notice_for(p)
    block = (f"-------- Forwarded Message --------\nSubject: \tLeja e Qëndrimit\n"
             f"Date: \t{rfc2822(t)}\nFrom: \t{OFFICE['mig']}\nTo: \toksana.k@ukr.net\n\n\n\n")
    fwd_inline("fwd-thunderbird-en", frm="Oksana Kovalenko <oksana.k@ukr.net>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=1),
               note="", block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="mig", notified_at=iso(t, 120),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700, True)],
               boundary="------------A1b2C3d4E5f6G7h8I9j0K1l2")

    # Thunderbird DE, a Date zone different from Tirane (+0000) kept as given.
    p = PEOPLE[2]
    t = dt.datetime(2022, 11, 30, 7, 5, 0)
    notice = notice_for(p)
    block = (f"-------- Weitergeleitete Nachricht --------\nBetreff: \tResidence Permit\n"
             f"Datum: \t{rfc2822(t, 0)}\nVon: \t{OFFICE['tirane']}\nAn: \tjw@posteo.de\n\n\n\n")
    fwd_inline("fwd-thunderbird-de", frm="Jürgen Weiß <jw@posteo.de>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=3),
               note="Hallo zusammen,\nanbei die Bestätigung.", block=block, notice=notice,
               lang="en", person=person_fields(p), office_key="tirane",
               notified_at=iso(t, 0), waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)],
               boundary="------------0QmE4Xr2kVt8Yb1Nc7Pd")

    # Yahoo EN: the header block run together on one line, as Yahoo's text part has it.
    p = PEOPLE[6]
    t = dt.datetime(2021, 11, 2, 9, 26, 50)
    notice = notice_for(p)
    block = (f"\n\n   ----- Forwarded Message ----- From: {OFFICE['durres']}To: "
             f"\"georgios.n@yahoo.gr\" <georgios.n@yahoo.gr>Sent: Tuesday, November 2, 2021, "
             f"09:26:50 AM GMT+1Subject: Residence Permit\n ")
    fwd_inline("fwd-yahoo-en", frm="Georgios Nikolaidis <georgios.n@yahoo.gr>",
               subject="Fw: Residence Permit", outer_local=t + dt.timedelta(hours=4),
               note="", block=block, notice=notice, lang="en", person=person_fields(p),
               office_key="durres", notified_at=iso(t, 60),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700, True)],
               boundary="----=_Part_1234567_890123456.1635841610000")

    # Yahoo FR with its own layout.
    p = PEOPLE[9]
    t = dt.datetime(2022, 6, 7, 16, 40, 2)
    notice = notice_for(p)
    block = (f"\n\n   ----- Message transmis ----- De : {OFFICE['njoftime']}À : "
             f"\"blerta.hd@yahoo.fr\" <blerta.hd@yahoo.fr>Envoyé : mardi 7 juin 2022, 16:40:02 "
             f"UTC+2Objet : Leja e Qëndrimit\n ")
    fwd_inline("fwd-yahoo-fr", frm="Blerta Hoxha-Dupont <blerta.hd@yahoo.fr>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=1),
               note="", block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="njoftime", notified_at=iso(t, 120),
               waybills=[waybill_pdf("Shuma: 5.700,00 Lekë", 5700)],
               boundary="----=_Part_7654321_112233445.1654612802000")

    # HTML-only Gmail forward (base64), entities and <b> around values.
    t = dt.datetime(2024, 5, 2, 13, 0)
    nh = ("<p>Dear Sir/Madam,</p><p>We inform you that your Residence Permit for citizen "
          "<b>ZO&Euml; O&#39;BRIEN</b>&nbsp;,&nbsp;Travel Document no. <b>PA4829153</b>&nbsp;, "
          "<b>Australia</b> has been approved.</p><p>Please print the attached payment notice "
          "and pay the fee of 5700 Lek.</p><p>Drejtoria Vendore p&euml;r Kufirin dhe Migracionin"
          " TIRAN&Euml;</p>")
    html = gmail_html("en", "tirane", "zoe.obrien@gmail.com", "Residence Permit", t, nh,
                      note_html="Forwarding for my file &ndash; thanks!")
    fwd_inline("fwd-gmail-html-only", frm="Zoë O'Brien <zoe.obrien@gmail.com>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=2),
               note="", block="", notice="", lang="en",
               person=dict(name="ZOË O'BRIEN", travel_document="PA4829153",
                           nationality="Australia", directorate="tirane"),
               office_key="tirane", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary="html-only-0502",
               html=html, body_only_html=True, text_cte="base64")

    # A note above the forward, with the agency's signature naming Tirana; notice from Vlorë.
    p = PEOPLE[11]
    t = dt.datetime(2023, 8, 8, 10, 15)
    notice = notice_for(p)
    note = ("Hi team,\n\nDmitri's permit came through, see below. Can you send him the next "
            "steps?\n\nBest regards,\nArta Kelmendi\nAlbania Relocation Sh.p.k.\nRruga e "
            "Kavajës 45, Tirana, Albania\n+355 69 123 4567")
    block = gmail_block("en", "mig", "d.volkov@mail.ru", "Residence Permit", t)
    fwd_inline("fwd-note-above-agency", frm="Arta Kelmendi <arta@albania-relocation.al>",
               subject="Fwd: Residence Permit - Dmitri Volkov", outer_local=t + dt.timedelta(days=1),
               note=note, block=block, notice=notice, lang="en", person=person_fields(p),
               office_key="mig", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700, True)], boundary="note-above-88")

    # Auto-Submitted: no is not an automatic message.
    p = PEOPLE[1]
    t = dt.datetime(2024, 3, 5, 9, 0)
    notice = notice_for(p)
    block = gmail_block("it", "eal", "francesca.e@gmail.com", "Leja e Qëndrimit", t)
    fwd_inline("fwd-auto-submitted-no", frm="Francesca Esposito <francesca.e@gmail.com>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=6),
               note="", block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="eal", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700)], boundary="asno-0305",
               extra_hdrs=[("Auto-Submitted", "no")])

    # '>'-quoted notice without any header block: no original_from / notified_at.
    p = PEOPLE[0]
    notice = notice_for(p)
    quoted = "".join("> " + ln + "\n" if ln else ">\n" for ln in notice.split("\n"))
    fwd_inline("fwd-quoted-no-header", frm="Marco Rossi <marco.rossi84@gmail.com>",
               subject="my permit", outer_local=dt.datetime(2022, 2, 2, 20, 20),
               note="Hello, this is what I got from the office:", block="", notice=quoted,
               lang="en", person=person_fields(p), office_key="tirane", notified_at=None,
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary="quoted-nohdr",
               original_from="")

    # Windows-1250 and iso-8859-2 inline forwards.
    p = PEOPLE[9]
    t = dt.datetime(2021, 2, 9, 11, 30)
    notice = notice_for(p)
    block = outlook_block("sq", "njoftime", "blerta@abissnet.al", "Leja e Qëndrimit", t)
    fwd_inline("fwd-outlook-sq-cp1250", frm="Blerta Hoxha-Dupont <blerta@abissnet.al>",
               subject="PËRC: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=1),
               note="", block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="njoftime", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700)], boundary="cp1250-fwd",
               charset="windows-1250", crlf=True)


def gen_nested():
    # Forwarded twice inline: the agency (Outlook DE) forwards the applicant's Gmail forward.
    p = PEOPLE[4]
    t = dt.datetime(2022, 10, 12, 8, 55)
    t2 = dt.datetime(2022, 10, 12, 19, 3)
    notice = notice_for(p)
    inner = gmail_block("es", "durres", "javi.fdez@gmail.com", "Residence Permit", t)
    mid = (outlook_block("de", "durres", "team@albania-relocation.al", "Fwd: Residence Permit",
                         t2).replace(f"{OFFICE['durres'].split(' <')[0]} <{office_addr('durres')}>",
                                     "Javier Fernández <javi.fdez@gmail.com>"))
    fwd_inline("fwd-twice-inline", frm="Relocation Team <team@albania-relocation.al>",
               subject="WG: Fwd: Residence Permit", outer_local=t2 + dt.timedelta(hours=14),
               note="Bitte Fall anlegen.", block="\n" + mid + "Hola, os reenvío el correo.\n\n"
               + inner, notice=notice, lang="en", person=person_fields(p), office_key="durres",
               notified_at=iso(t), waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)],
               boundary="twice-inline")

    # Forwarded as an attachment (message/rfc822): FYI text plus the office's own message.
    p = PEOPLE[13]
    t = dt.datetime(2023, 12, 4, 10, 20, 30)
    notice = notice_for(p)
    w = waybill_pdf("Shuma: 5 700 Lekë", 5700, compress=True, filename="mandatpagesa.pdf")
    inner_msg = mixed_with(outer(OFFICE["mig"], "kenji.tanaka@example.jp", "Residence Permit",
                                 rfc2822(t), "n20231204@asp.gov.al"),
                           text_part(notice), [w], "inner-rfc822-1")
    hs = outer("Kenji Tanaka <kenji.tanaka@example.jp>", SHARED, "Fwd: Residence Permit",
               rfc2822(t + dt.timedelta(days=1)), "fwd-att-1@example.jp")
    ctype, body = multipart("mixed", "outer-rfc822-1", [
        text_part("FYI, the notification is attached.\n\nKenji\n"),
        ent([("Content-Type", "message/rfc822; name=\"Residence Permit.eml\""),
             ("Content-Disposition", "attachment; filename=\"Residence Permit.eml\"")],
            inner_msg)])
    fixture("fwd-as-attachment", message(hs, ctype, body),
            expect("permit_approved", "kenji.tanaka@example.jp", language="en",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w],
                   **person_fields(p)))

    # Inline forward (Outlook) of a message that carried the notification as an attachment.
    p = PEOPLE[8]
    t = dt.datetime(2021, 5, 18, 9, 40, 0)
    notice = notice_for(p)
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, filename="mandatpagesa.pdf")
    inner_msg = mixed_with(outer(OFFICE["tirane"], "elif.demir@gmail.com", "Residence Permit",
                                 rfc2822(t), "n20210518@asp.gov.al"),
                           text_part(notice), [w], "inner-rfc822-2")
    t2 = dt.datetime(2021, 5, 18, 18, 0)
    text = ("Please open a case.\n\n" + outlook_block("en", "tirane", "team@albania-relocation.al",
                                                      "Fwd: Residence Permit", t2)
            .replace(f"{OFFICE['tirane'].split(' <')[0]} <{office_addr('tirane')}>",
                     "Elif Demir <elif.demir@gmail.com>")
            + "Hello, see the attached email from the migration office.\nElif\n")
    hs = outer("Relocation Team <team@albania-relocation.al>", SHARED,
               "FW: Fwd: Residence Permit", rfc2822(t2 + dt.timedelta(hours=15)), "fw-att-2@x")
    ctype, body = multipart("mixed", "outer-inline-of-att", [
        text_part(text),
        ent([("Content-Type", "message/rfc822"),
             ("Content-Disposition", "attachment; filename=\"Residence Permit.eml\"")],
            inner_msg)])
    fixture("fwd-inline-of-attachment", message(hs, ctype, body),
            expect("permit_approved", "team@albania-relocation.al", language="en",
                   original_from=office_addr("tirane"), notified_at=iso(t), waybills=[w],
                   **person_fields(p)))

    # An attached message that is itself a Gmail inline forward.
    p = PEOPLE[5]
    t = dt.datetime(2023, 9, 19, 15, 45)
    notice = notice_for(p)
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, compress=True, filename="mandatpagesa.pdf")
    inner_text = ("Пересылаю.\n\n" + gmail_block("ru", "eal", "olga.smirnova.tirana@gmail.com",
                                                  "Leja e Qëndrimit", t) + notice)
    inner_msg = mixed_with(outer("Ольга Смирнова <olga.smirnova.tirana@gmail.com>",
                                 "help@albania-relocation.al", "Fwd: Leja e Qëndrimit",
                                 rfc2822(t + dt.timedelta(hours=1)), "gm-inner@mail.gmail.com"),
                           text_part(inner_text, cte="base64"), [w], "inner-gmail-3")
    hs = outer("Help Desk <help@albania-relocation.al>", SHARED, "Fwd: Fwd: Leja e Qëndrimit",
               rfc2822(t + dt.timedelta(days=1)), "att-of-inline@x")
    ctype, body = multipart("mixed", "outer-att-of-inline", [
        text_part("Forwarding as attachment.\n"),
        ent([("Content-Type", "message/rfc822")], inner_msg)])
    fixture("fwd-attachment-of-inline", message(hs, ctype, body),
            expect("permit_approved", "help@albania-relocation.al", language="sq",
                   original_from=office_addr("eal"), notified_at=iso(t), waybills=[w],
                   **person_fields(p)))

    # Filenames in RFC 2231 (with continuations) and RFC 2047; cid signature image excluded.
    p = PEOPLE[1]
    t = dt.datetime(2022, 4, 4, 12, 12)
    notice = notice_for(p)
    w1 = waybill_pdf("Shuma: 5700 Lekë", 5700, filename="Mandatpagesë për lejen.pdf")
    w2 = W("Njoftim – Leja e Qëndrimit.pdf", "application/pdf",
           make_pdf(["Njoftim", "Leja e Qendrimit u miratua"], compress=True), None)
    logo = make_png(24, 8, seed=7)
    notice_html = text_to_html(notice).split("<body>\n")[1].split("</body>")[0]
    html = outlook_html("it", "eal", "f.esposito@studio.it", "Leja e Qëndrimit", t, notice_html,
                        note_html="<p>Buongiorno,</p><p>inoltro la comunicazione.</p><p><img "
                        "width=\"120\" height=\"40\" src=\"cid:image001.png@01D84802.5A3B1C20\" "
                        "alt=\"Studio Esposito\"></p>")
    text = ("Buongiorno,\n\ninoltro la comunicazione.\n\n"
            + outlook_block("it", "eal", "f.esposito@studio.it", "Leja e Qëndrimit", t) + notice)
    related = mp_part("related", "rel-cid-01", [
        text_part(html, sub="html"),
        ent([("Content-Type", "image/png; name=\"image001.png\""),
             ("Content-Description", "image001.png"),
             ("Content-Disposition", "inline; filename=\"image001.png\""),
             ("Content-ID", "<image001.png@01D84802.5A3B1C20>"),
             ("Content-Transfer-Encoding", "base64")], b64(logo))], params="; type=\"text/html\"")
    alt = mp_part("alternative", "alt-cid-01", [text_part(text), related])
    fn1 = urllib.parse.quote(w1.filename, safe="")
    a1 = att(w1, name_hdr="", fn_hdr=f"; filename*0*=UTF-8''{fn1[:20]}; "
             f"filename*1*={fn1[20:]}")
    a2 = att(w2, name_hdr=f"; name=\"{b_word(w2.filename)}\"",
             fn_hdr=f"; filename=\"{b_word(w2.filename)}\"")
    hs = outer("Francesca Esposito <f.esposito@studio.it>", SHARED, "I: Leja e Qëndrimit",
               rfc2822(t + dt.timedelta(hours=2)), "cid-2231@studio.it")
    ctype, body = multipart("mixed", "mixed-cid-01", [alt, a1, a2])
    fixture("fwd-rfc2231-rfc2047-cid-signature", message(hs, ctype, body),
            expect("permit_approved", "f.esposito@studio.it", language="sq",
                   original_from=office_addr("eal"), notified_at=iso(t), waybills=[w1, w2],
                   **person_fields(p)))

# ======================================================================================
# Rejections, incomplete notices and everything that is not an approval


def reject_en(name, doc, nat, city):
    return en_notice(en_sentence(name, doc, nat, verb="rejected"), city,
                     body="You may appeal this decision within 30 days of receiving this "
                          "notice.\nThe reasons are given in the attached decision.")


def gen_negatives():
    # Rejection, EN, direct, with the decision PDF attached (not a waybill: waybills []).
    t = dt.datetime(2022, 12, 12, 11, 45, 0)
    txt = reject_en("Ahmed El-Sayed", "A23984511", "Egypt", "VLORË")
    w = W("Vendimi.pdf", "application/pdf", make_pdf(["Vendim per refuzim"]), None)
    direct("neg-rejected-en", "mig", "ahmed.elsayed@gmail.com", "Residence Permit", t, txt, "en",
           [w], "rej-en-1", exp_fields=dict(kind="permit_rejected", name="Ahmed El-Sayed",
                                            travel_document="A23984511", nationality="Egypt",
                                            directorate="vlore"))

    # Rejection, SQ, forwarded by Gmail.
    t = dt.datetime(2023, 7, 3, 9, 5)
    notice = sq_notice(sq_sentence("Michael Brown", "567890123", "Amerikane", verb="refuzuar"),
                       "BERAT", body="Kundër këtij vendimi mund të ankoheni brenda 30 ditëve.")
    text = "Hi, bad news :(\n\n" + gmail_block("en", "eal", "mbrown@gmail.com",
                                               "Leja e Qëndrimit", t) + notice
    hs = outer("Michael Brown <MBrown@gmail.com>", SHARED, "Fwd: Leja e Qëndrimit",
               rfc2822(t + dt.timedelta(hours=2)), "rej-sq@mail.gmail.com")
    fixture("neg-rejected-sq-fwd", ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("permit_rejected", "mbrown@gmail.com", language="sq", name="Michael Brown",
                   travel_document="567890123", nationality="Amerikane", directorate="berat",
                   original_from=office_addr("eal"), notified_at=iso(t)))

    # Incomplete: the travel document number is missing (EN, direct).
    t = dt.datetime(2024, 6, 12, 10, 30, 0)
    txt = en_notice(en_sentence("Luca Bianchi", "", "Italian"), "Tirane")
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    direct("neg-incomplete-en", "eal", "luca.bianchi@gmail.com", "Residence Permit", t, txt,
           "en", [w], "incomplete-en",
           exp_fields=dict(kind="incomplete_notification", name="Luca Bianchi",
                           travel_document=None, nationality="Italian", directorate="tirane"))

    # Incomplete, SQ, forwarded by Outlook.
    t = dt.datetime(2022, 2, 22, 14, 14)
    notice = sq_notice(sq_sentence("Emma Tremblay", "", "Kanadeze"), "Shkodër")
    block = outlook_block("en", "tirane", "emma.tremblay@outlook.com", "Leja e Qëndrimit", t)
    fwd_inline("neg-incomplete-sq-fwd", frm="Emma Tremblay <emma.tremblay@outlook.com>",
               subject="FW: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=1), note="",
               block=block, notice=notice, lang="sq",
               person=dict(name="Emma Tremblay", travel_document=None, nationality="Kanadeze",
                           directorate="shkoder"),
               office_key="tirane", notified_at=iso(t),
               waybills=[W("IMG_0042.JPG", "image/jpeg", make_jpeg(b"emma"), None)],
               boundary="incomplete-sq")
    FIXTURES[-1][2]["kind"] = "incomplete_notification"
    FIXTURES[-1][2]["reason"] = REASON["incomplete_notification"]

    nl_hdrs = [("List-Unsubscribe", "<https://expat-albania.example/unsubscribe?u=8812>"),
               ("List-Id", "Expat Albania Weekly <weekly.expat-albania.example>")]

    # Newsletter quoting the template with placeholders.
    text = ("EXPAT ALBANIA WEEKLY - Issue 47\n\nResidence permits: what the approval email looks "
            "like\n\nAfter you apply, the Directorate sends an email in this form:\n\n"
            "  \"We inform you that your Residence Permit for citizen NAME , Travel Document no. N"
            " , X has been approved. ... Drejtoria Vendore për Kufirin dhe Migracionin TIRANE\"\n\n"
            "Print the attached payment notice and pay 5700 Lek at the bank. Then book your "
            "biometric card appointment.\n\nUnsubscribe: https://expat-albania.example/unsubscribe\n")
    hs = outer("Expat Albania <newsletter@expat-albania.example>", "leje@albania-relocation.al",
               "Issue 47: your permit approval email explained",
               rfc2822(dt.datetime(2023, 4, 6, 7, 0)), "nl47@expat-albania.example", nl_hdrs)
    alt_ct, alt_body = multipart("alternative", "nl-47", [text_part(text),
                                 text_part(text_to_html(text), sub="html")])
    fixture("neg-newsletter-placeholders", message(hs, alt_ct, alt_body),
            expect("unrelated", "newsletter@expat-albania.example"))

    # Albanian newsletter with placeholders EMRI / XXXXXXXX.
    text = ("Si duket njoftimi i miratimit?\n\n«Ju informojmë se Leja e Qëndrimit për shtetasin "
            "EMRI MBIEMRI, Dokument Udhëtimi nr. XXXXXXXX, [shtetësia] është miratuar.»\n\n"
            "Drejtoria Vendore për Kufirin dhe Migracionin [QYTETI]\n\nPër t'u çregjistruar "
            "klikoni këtu.\n")
    hs = outer("Info Migracioni <buletini@migracioni-info.example>", "leje@albania-relocation.al",
               "Buletini: njoftimi i miratimit", rfc2822(dt.datetime(2023, 9, 1, 8, 0)),
               "bul-0901@migracioni-info.example", nl_hdrs)
    fixture("neg-newsletter-sq-placeholders",
            ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("unrelated", "buletini@migracioni-info.example"))

    # A blog post (HTML) with a worked example "John Doe" / 123456789.
    html = ("<html><body><h1>Albanian residence permit: the approval email</h1>"
            "<p>Here is an example of the email you will get (details changed):</p>"
            "<blockquote><p>We inform you that your Residence Permit for citizen <b>John Doe</b> , "
            "Travel Document no. <b>123456789</b> , <b>USA</b> has been approved. Please print "
            "the notice and pay at the bank.</p><p>Drejtoria Vendore p&euml;r Kufirin dhe "
            "Migracionin TIRANE</p></blockquote><p>In the next post we explain the biometric card "
            "appointment. <a href=\"https://tirana-expat.example/blog\">Read more</a></p>"
            "</body></html>\n")
    hs = outer("Tirana Expat Blog <donotreply@tirana-expat.example>",
               "leje@albania-relocation.al", "[New post] What the approval email looks like",
               rfc2822(dt.datetime(2022, 10, 20, 18, 30)), "post-118@tirana-expat.example")
    fixture("neg-blog-example", ent(hs + [("MIME-Version", "1.0")], b"")[:-1]
            + text_part(html, sub="html"), expect("unrelated", "donotreply@tirana-expat.example"))

    # An applicant's question mentioning the approval.
    text = ("Hello,\n\nlast week I got the email that my residence permit has been approved, but "
            "I deleted it by mistake. My passport number is YA1234567. Can you tell me where I "
            "have to pay the 5700 Lek and which documents to bring to the Directorate in "
            "Tirana?\n\nThank you,\nPaolo Conti\n")
    hs = outer("Paolo Conti <paolo.conti@gmail.com>", SHARED, "Question about my permit",
               rfc2822(dt.datetime(2023, 5, 15, 21, 12)), "q-1@mail.gmail.com")
    fixture("neg-applicant-question", ent(hs + [("MIME-Version", "1.0")], b"")[:-1]
            + text_part(text), expect("unrelated", "paolo.conti@gmail.com"))

    # Spam.
    text = ("CONGRATULATIONS!!! Residence in Albania GUARANTEED in 7 days!\n\nNo paperwork, no "
            "queues. Pay only 99 EUR today: http://fast-permit.example/?ref=8812\n\nAlso: casino "
            "bonus 200% for new players.\n")
    hs = outer("Fast Permit <offers@fast-permit.example>", "leje@albania-relocation.al",
               "=?UTF-8?B?8J+OiSBZb3VyIHBlcm1pdCBpbiA3IGRheXMh?=",
               rfc2822(dt.datetime(2024, 1, 3, 3, 3)), "spam-1@fast-permit.example",
               [("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=14.2")])
    fixture("neg-spam", ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("unrelated", "offers@fast-permit.example"))

    # Auto-replies that quote a real notification.
    p = PEOPLE[0]
    t = dt.datetime(2022, 8, 1, 9, 0)
    quoted = (outlook_block("en", "tirane", "marco.rossi@company.it", "Residence Permit", t,
                            sep="-----Original Message-----\n") + notice_for(p))
    autos = [
        ("neg-autoreply-auto-submitted", [("Auto-Submitted", "auto-replied")],
         "Automatic reply: Residence Permit", "Marco Rossi <marco.rossi@company.it>"),
        ("neg-autoreply-x-autoreply", [("X-Autoreply", "yes")], "Out of office",
         "Marco Rossi <Marco.Rossi@Company.it>"),
        ("neg-autoreply-x-autorespond", [("X-Autorespond", "Out of office")], "Away",
         "Marco Rossi <rossi.marco@yahoo.it>"),
        ("neg-autoreply-precedence-bulk", [("Precedence", "bulk")], "Notification digest",
         "Permit Digest <digest@albania-relocation.al>"),
    ]
    for i, (fname, extra, subj, frm) in enumerate(autos):
        text = ("I am out of the office until 15 August with limited access to email.\n\n"
                + quoted)
        hs = outer(frm, SHARED, subj, rfc2822(t + dt.timedelta(minutes=5 + i)),
                   f"auto-{i}@company.it", extra)
        fixture(fname, ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
                expect("auto_reply", re.search(r"<([^>]+)>", frm).group(1)))

    # Bounce of leje's own instructions email (the bounced copy carries X-Leje: 1).
    instr = ent([("From", "leje <leje@albania-relocation.al>"),
                 ("To", "kenji.tanaka@example.jp"),
                 ("Subject", "Your residence permit: next steps"),
                 ("Date", rfc2822(dt.datetime(2023, 12, 5, 10, 0))),
                 ("Message-ID", "<leje.instr.77@albania-relocation.al>"),
                 ("X-Leje", "1"), ("MIME-Version", "1.0"),
                 ("Content-Type", "text/plain; charset=utf-8"),
                 ("Content-Transfer-Encoding", "8bit")],
                "Dear Kenji Tanaka,\n\nyour residence permit (travel document TK8••••90) has "
                "been approved. Next steps:\n1. Confirm your address at the Civil Registry Office."
                "\n2. Pay the fee of 5700 Lek.\n".encode())
    dsn = ("Reporting-MTA: dns; mx.albania-relocation.al\nArrival-Date: "
           + rfc2822(dt.datetime(2023, 12, 5, 10, 0, 2)) + "\n\nFinal-Recipient: rfc822; "
           "kenji.tanaka@example.jp\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 "
           "5.1.1 <kenji.tanaka@example.jp>: Recipient address rejected: User unknown\n")
    ctype, body = multipart("report", "DSN.7781.1701770402", [
        text_part("This is the mail system at host mx.albania-relocation.al.\n\nI'm sorry to have "
                  "to inform you that your message could not\nbe delivered to one or more "
                  "recipients.\n\n<kenji.tanaka@example.jp>: host mx.example.jp said: 550 5.1.1 "
                  "User unknown\n", cte="7bit", charset="us-ascii"),
        ent([("Content-Type", "message/delivery-status")], dsn.encode()),
        ent([("Content-Type", "message/rfc822")], instr)], params="; report-type=delivery-status")
    hs = outer("MAILER-DAEMON@mx.albania-relocation.al (Mail Delivery System)",
               "leje@albania-relocation.al", "Undelivered Mail Returned to Sender",
               rfc2822(dt.datetime(2023, 12, 5, 10, 0, 3)), "20231205100003.DSN@mx")
    hs[0] = ("Return-Path", "<>")
    hs[1] = ("From", "MAILER-DAEMON@mx.albania-relocation.al (Mail Delivery System)")
    fixture("neg-bounce-leje-instructions", message(hs, ctype, body),
            expect("bounce", "mailer-daemon@mx.albania-relocation.al"))

    # Bounce of a forwarded notification (multipart/report holding the full notice).
    p = PEOPLE[15]
    t = dt.datetime(2024, 2, 1, 9, 0)
    fwd_msg = ent([("From", "Lars Andersson <lars.andersson@icloud.com>"),
                   ("To", "leje@albania-relocation.al"), ("Subject", "Fwd: Residence Permit"),
                   ("Date", rfc2822(t + dt.timedelta(hours=1))), ("MIME-Version", "1.0")],
                  b"")[:-1] + text_part(gmail_block("en", "eal", "lars.andersson@icloud.com",
                                                     "Residence Permit", t) + notice_for(p))
    ctype, body = multipart("report", "bounce-2-boundary", [
        text_part("Delivery has failed to these recipients or groups:\n\nleje@old-agency.al\nThe "
                  "recipient's mailbox is full and can't accept messages now.\n"),
        ent([("Content-Type", "message/delivery-status")],
            b"Reporting-MTA: dns;AM6PR01MB1234.eurprd01.prod.outlook.com\n\n"
            b"Final-Recipient: rfc822;leje@old-agency.al\nAction: failed\nStatus: 5.2.2\n"),
        ent([("Content-Type", "message/rfc822")], fwd_msg)],
        params="; report-type=delivery-status")
    hs = outer("Microsoft Outlook <postmaster@outlook.com>", "lars.andersson@icloud.com",
               "Undeliverable: Fwd: Residence Permit", rfc2822(t + dt.timedelta(hours=1, minutes=1)),
               "bounce-2@outlook.com")
    fixture("neg-bounce-of-notification", message(hs, ctype, body),
            expect("bounce", "postmaster@outlook.com"))

    # A plain-text bounce from MAILER-DAEMON (not multipart/report), quoting the notice.
    text = ("This message was created automatically by mail delivery software.\n\nA message that "
            "you sent could not be delivered to one or more of its\nrecipients. This is a "
            "permanent error. The following address(es) failed:\n\n  applicant@nowhere.example\n"
            "    host nowhere.example [192.0.2.7]\n    SMTP error from remote mail server after "
            "RCPT TO:<applicant@nowhere.example>:\n    550 No such user\n\n------ This is a copy "
            "of the message, including all the headers. ------\n\nFrom: "
            + OFFICE["tirane"] + "\nSubject: Residence Permit\n\n" + notice_for(PEOPLE[2]))
    hs = outer("Mail Delivery System <Mailer-Daemon@mail.albania-relocation.al>",
               "leje@albania-relocation.al", "Mail delivery failed: returning message to sender",
               rfc2822(dt.datetime(2021, 6, 1, 12, 0)), "E1lxyz-0001@mail")
    fixture("neg-bounce-plain-mailer-daemon",
            ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("bounce", "mailer-daemon@mail.albania-relocation.al"))

    # leje's own instructions email (X-Leje) that quotes the notification.
    text = ("Dear Marco Rossi,\n\nyour residence permit has been approved. This is what the "
            "Directorate wrote:\n\n> " + en_sentence("Marco Rossi", "YB2468135", "Italian")
            + "\n\nNext steps:\n1. Confirm your address at the Civil Registry Office.\n2. Pay the "
            "fee of 5700 Lek at a bank or at Albanian Post.\n3. Apply for the biometric card at "
            "the Local Directorate for Border and Migration.\n\n-- \nleje\n")
    hs = outer("leje <leje@albania-relocation.al>", "marco.rossi84@gmail.com",
               "Your residence permit: next steps", rfc2822(dt.datetime(2022, 1, 5, 10, 0)),
               "leje.instr.1@albania-relocation.al", [("X-Leje", "1"),
                                                      ("Auto-Submitted", "auto-generated")])
    fixture("neg-own-mail", ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("own_mail", "leje@albania-relocation.al"))

    # A calendar invitation for the biometric card appointment.
    ics = ("BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\n"
           "METHOD:REQUEST\nBEGIN:VEVENT\nDTSTART:20230612T080000Z\nDTEND:20230612T083000Z\n"
           "DTSTAMP:20230601T120000Z\nORGANIZER;CN=Arta Kelmendi:mailto:arta@albania-relocation.al"
           "\nUID:7kq2m5n8p1r4s7t0@google.com\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
           "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:leje@albania-relocation.al\nSUMMARY:Biometric "
           "card appointment - DVKM Tirane\nLOCATION:Drejtoria Vendore per Kufirin dhe "
           "Migracionin Tirane\nSTATUS:CONFIRMED\nEND:VEVENT\nEND:VCALENDAR\n")
    ctype, body = multipart("alternative", "cal-0612", [
        text_part("You have been invited to the following event.\n\nBiometric card appointment "
                  "- DVKM Tirane\nMon Jun 12, 2023 10am - 10:30am (CEST)\n"),
        ent([("Content-Type", "text/calendar; charset=\"UTF-8\"; method=REQUEST"),
             ("Content-Transfer-Encoding", "7bit")], ics.encode())])
    hs = outer("Arta Kelmendi <arta@albania-relocation.al>", "leje@albania-relocation.al",
               "Invitation: Biometric card appointment - DVKM Tirane @ Mon Jun 12, 2023",
               rfc2822(dt.datetime(2023, 6, 1, 14, 0)), "cal-1@google.com")
    fixture("neg-calendar-invite", message(hs, ctype, body),
            expect("calendar", "arta@albania-relocation.al"))

    # Empty message, whitespace-only message.
    hs = outer("Giulia Bianchi <giulia.bianchi@libero.it>", SHARED, "",
               rfc2822(dt.datetime(2022, 3, 1, 10, 0)), "empty-1@libero.it")
    fixture("neg-empty", ent(hs, b""), expect("empty", "giulia.bianchi@libero.it"))
    hs = outer("Li Wei <liwei1988@163.com>", SHARED, "Fwd:",
               rfc2822(dt.datetime(2022, 3, 2, 10, 0)), "empty-2@163.com")
    fixture("neg-empty-whitespace", ent(hs + [("MIME-Version", "1.0")], b"")[:-1]
            + text_part(" \n\n \t\n", cte="7bit", charset="us-ascii"),
            expect("empty", "liwei1988@163.com"))

    # Attachment only: the waybill PDF with no text at all; a phone photo with no text.
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, filename="mandatpagesa.pdf")
    hs = outer("Hans Müller <hans.mueller@gmx.de>", SHARED, "mandatpagesa.pdf",
               rfc2822(dt.datetime(2021, 3, 16, 8, 0)), "attonly-1@gmx.de")
    ctype, body = multipart("mixed", "attonly-1", [att(w)])
    fixture("neg-attachment-only-pdf", message(hs, ctype, body),
            expect("empty", "hans.mueller@gmx.de"))
    hs = outer("Priya Sharma <priya.sharma@yahoo.co.in>", SHARED, "",
               rfc2822(dt.datetime(2024, 9, 10, 8, 0)), "attonly-2@yahoo.co.in")
    ctype, body = multipart("mixed", "attonly-2", [
        text_part("", cte="7bit", charset="us-ascii"),
        att(W("IMG_20240910_075959.jpg", "image/jpeg", make_jpeg(b"priya"), None))])
    fixture("neg-attachment-only-photo", message(hs, ctype, body),
            expect("empty", "priya.sharma@yahoo.co.in"))

# ======================================================================================
# Malformed messages


def gen_malformed():
    # Truncated in the middle of the HTML alternative; the text part holds the notice.
    t = dt.datetime(2023, 3, 28, 9, 0, 0)
    sent = sq_sentence("Sofía Martínez", "PAC559021", "Spanjolle")
    txt = sq_notice(sent, "Tiranë")
    hs = outer(OFFICE["eal"], "sofia.mtz@gmail.com", "Leja e Qendrimit", rfc2822(t),
               "trunc-1@e-albania.al")
    ctype, body = multipart("alternative", "trunc-alt", [text_part(txt),
                            text_part(text_to_html(txt), sub="html", cte="base64")])
    raw = message(hs, ctype, body)
    cut = raw.index(b"Content-Type: text/html")
    raw = raw[:cut + 400]
    fixture("mal-truncated-mid-part", raw,
            expect("permit_approved", office_addr("eal"), language="sq", name="Sofía Martínez",
                   travel_document="PAC559021", nationality="Spanjolle", directorate="tirane",
                   original_from=office_addr("eal"), notified_at=iso(t)))

    # No closing boundary; the waybill is the last part and runs to the end of the file.
    t = dt.datetime(2021, 7, 7, 7, 7, 7)
    w = waybill_pdf("Shuma: 5700 Lek", 5700, compress=True)
    txt = en_notice(en_sentence("Ivan Horvat", "118823456", "Croatia"), "Korçë")
    hs = outer(OFFICE["mig"], "ivan.horvat@net.hr", "Residence Permit", rfc2822(t),
               "noclose@asp.gov.al")
    ctype, body = multipart("mixed", "no-close-77", [text_part(txt), att(w)], close=False)
    fixture("mal-missing-closing-boundary", message(hs, ctype, body),
            expect("permit_approved", office_addr("mig"), language="en", name="Ivan Horvat",
                   travel_document="118823456", nationality="Croatia", directorate="korce",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w]))

    # Raw 8-bit UTF-8 in the headers (From display name, Subject, forward block).
    t = dt.datetime(2022, 9, 14, 10, 20)
    p = ("Björn Ødegård", "34187265", "Norvegjeze")
    notice = sq_notice(sq_sentence(*p), "Gjirokastër")
    text = gmail_block("en", "mig", "bjorn.odegard@online.no", "Leja e Qëndrimit", t) + notice
    hs = outer("Björn Ødegård <bjorn.odegard@online.no>", SHARED, "Fwd: Leja e Qëndrimit – "
               "miratuar", rfc2822(t + dt.timedelta(hours=1)), "raw8@online.no")
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, filename="mandatpagesë.pdf")
    raw = mixed_with(hs, text_part(text, cte="8bit"), [w], "raw8-bnd",
                     atts=[att(w)])
    fixture("mal-raw-8bit-headers", raw,
            expect("permit_approved", "bjorn.odegard@online.no", language="sq", name=p[0],
                   travel_document=p[1], nationality=p[2], directorate="gjirokaster",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w]))

    # A 100 KB header line.
    t = dt.datetime(2024, 10, 8, 8, 8, 8)
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    txt = en_notice(en_sentence("Chen Jing", "EC7730418", "China"), "ELBASAN")
    long_val = "".join(f"{i:06x}" for i in range(17067))[:102400]
    hs = outer(OFFICE["eal"], "chen.jing@qq.com", "Residence Permit", rfc2822(t),
               "huge@e-albania.al", [("X-Tracking-Data", long_val)])
    fixture("mal-huge-header-line", mixed_with(hs, text_part(txt), [w], "huge-hdr"),
            expect("permit_approved", office_addr("eal"), language="en", name="Chen Jing",
                   travel_document="EC7730418", nationality="China", directorate="elbasan",
                   original_from=office_addr("eal"), notified_at=iso(t), waybills=[w]))

    # NUL bytes in the body (outside the notice sentence).
    t = dt.datetime(2021, 1, 20, 15, 0, 0)
    txt = en_notice(en_sentence("Ana-Maria Popescu", "054821937", "Romania"), "Fier")
    body = ("\x00\x00" + txt.replace("\n\nThis message", "\n\x00\nThis message")
            + "\x00\x00\x00\n").encode()
    hs = outer(OFFICE["mig"], "anamaria.popescu@yahoo.ro", "Residence Permit", rfc2822(t),
               "nul@asp.gov.al")
    raw = ent(hs + [("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Transfer-Encoding", "8bit")], body)
    fixture("mal-nul-bytes", raw,
            expect("permit_approved", office_addr("mig"), language="en", name="Ana-Maria Popescu",
                   travel_document="054821937", nationality="Romania", directorate="fier",
                   original_from=office_addr("mig"), notified_at=iso(t)))

    # Garbage base64 in a (non-waybill) attachment next to a good waybill.
    t = dt.datetime(2022, 6, 22, 12, 0, 0)
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, compress=True)
    txt = sq_notice(sq_sentence("Ahmet Kaya", "U09182736", "Turke"), "Kukës")
    garbage = ent([("Content-Type", "application/msword; name=\"kerkesa.doc\""),
                   ("Content-Disposition", "attachment; filename=\"kerkesa.doc\""),
                   ("Content-Transfer-Encoding", "base64")],
                  b"!!!!####$$$$ this is *not* base64 ~~~~ \xff\xfe\n====AAAA====\n@@@@\n")
    hs = outer(OFFICE["mig"], "ahmet.kaya@gmail.com", "Leja e Qendrimit", rfc2822(t),
               "garbage@asp.gov.al")
    fixture("mal-garbage-base64", mixed_with(hs, text_part(txt), [w], "garbage-b64",
                                             atts=[garbage, att(w)]),
            expect("permit_approved", office_addr("mig"), language="sq", name="Ahmet Kaya",
                   travel_document="U09182736", nationality="Turke", directorate="kukes",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w]))

    # Broken MIME with no readable text at all: an empty text part, an undecodable
    # attachment, no closing boundary. NOTE: `malformed`, not `empty`: Kind::Malformed is
    # "MIME so broken that no text could be recovered"; reading the brief's precedence
    # (empty before malformed) literally would leave that kind unreachable.
    hs = outer("Unknown <someone@example.net>", SHARED, "", rfc2822(dt.datetime(2023, 1, 1, 0, 1)),
               "broken-empty@example.net")
    body = (b"--b1\nContent-Type: text/plain\n\n--b1\nContent-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: base64\n\n!!!*** %%% ###\n")
    fixture("mal-broken-no-text", message(hs, "multipart/mixed; boundary=\"b1\"", body),
            expect("malformed", "someone@example.net"))

    # Broken MIME (truncated inside a part's headers) with readable text but no notice:
    # text was recovered, so it is not `malformed` but simply `unrelated`.
    hs = outer("Relocation Team <team@albania-relocation.al>", SHARED, "Documents",
               rfc2822(dt.datetime(2023, 2, 2, 9, 0)), "broken-unrel@x")
    body = (b"--outer-b\nContent-Type: multipart/alternative; boundary=\"inner-b\"\n\n--inner-b\n"
            b"Content-Type: text/plain; charset=utf-8\n\nPlease find the scanned documents "
            b"attached.\n\n--inner-b\nContent-Type: text/ht")
    fixture("mal-truncated-unrelated", message(hs, "multipart/mixed; boundary=\"outer-b\"", body),
            expect("unrelated", "team@albania-relocation.al"))


# ======================================================================================
# More of what real mail does: hard-wrapped text, S/MIME, tables, DST edges, nesting


def gen_more():
    # Hard-wrapped at 60 columns (the name split over two lines), Date with a (CET) comment.
    t = dt.datetime(2021, 11, 29, 8, 1, 2)
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    txt = ("Dear Sir/Madam,\n\nWe inform you that your Residence Permit for citizen JOHN\n"
           "MICHAEL O'NEILL , Travel Document no. 562194837 , Ireland has\nbeen approved.\n\n"
           + EN_BODY + "\n\n" + SIG + "\nTIRANE\n")
    hs = outer(OFFICE["tirane"], "jm.oneill@eircom.net", "Residence Permit",
               rfc2822(t) + " (CET)", "wrapped@asp.gov.al")
    fixture("direct-en-hard-wrapped", mixed_with(hs, text_part(txt, cte="7bit" if txt.isascii()
                                                               else "8bit"), [w], "wrap-60"),
            expect("permit_approved", office_addr("tirane"), language="en",
                   name="JOHN MICHAEL O'NEILL", travel_document="562194837",
                   nationality="Ireland", directorate="tirane",
                   original_from=office_addr("tirane"), notified_at=iso(t), waybills=[w]))

    # S/MIME signed by the office: multipart/signed around multipart/mixed; the .p7s is
    # not a waybill.
    t = dt.datetime(2024, 7, 1, 9, 15, 0)
    w = waybill_pdf("Shuma: 5 700 Lekë", 5700, compress=True, filename="mandatpagesa.pdf")
    txt = sq_notice(sq_sentence("Sophie Dubois", "21FH73402", "Franceze", who="shtetasen"),
                    "Vlorë")
    ct_in, body_in = multipart("mixed", "smime-inner", [text_part(txt), att(w)])
    inner = ent([("Content-Type", ct_in)], body_in)
    sig = bytes((i * 73 + 41) % 256 for i in range(512))
    sig_part = ent([("Content-Type", "application/pkcs7-signature; name=\"smime.p7s\""),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-Disposition", "attachment; filename=\"smime.p7s\"")], b64(sig))
    ct, body = multipart("signed", "smime-outer", [inner, sig_part],
                         preamble=b"This is an S/MIME signed message\n\n",
                         params="; protocol=\"application/pkcs7-signature\"; micalg=sha-256")
    hs = outer(OFFICE["mig"], "sophie.dubois@free.fr", "Leja e Qëndrimit", rfc2822(t),
               "smime@asp.gov.al")
    fixture("direct-sq-smime-signed", message(hs, ct, body),
            expect("permit_approved", office_addr("mig"), language="sq", name="Sophie Dubois",
                   travel_document="21FH73402", nationality="Franceze", directorate="vlore",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w]))

    # HTML only, a table layout with spans, windows-1250 with a meta charset.
    t = dt.datetime(2022, 1, 31, 14, 0, 0)
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, filename="mandatpagesa.pdf")
    html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
            "charset=windows-1250\"></head><body><table width=\"600\" cellpadding=\"8\"><tr><td "
            "style=\"font-family:Arial;font-size:13px\"><span>Ju informojmë se Leja e Qëndrimit "
            "për shtetasin</span> <span style=\"font-weight:bold\">Dušan Kovačević</span><span>, "
            "Dokument Udhëtimi nr.</span> <span style=\"font-weight:bold\">008145237</span>, "
            "<span>Serbe</span> <span>është miratuar.</span></td></tr><tr><td>Ju lutemi printoni "
            "mandatpagesën bashkëlidhur.</td></tr><tr><td style=\"color:#555\">Drejtoria Vendore "
            "për Kufirin dhe Migracionin<br>Berat</td></tr></table></body></html>\n")
    hs = outer(OFFICE["eal"], "dusan.kovacevic@gmail.com", "Leja e Qëndrimit", rfc2822(t),
               "table@e-albania.al")
    fixture("direct-sq-html-table-cp1250",
            mixed_with(hs, text_part(html, sub="html", charset="windows-1250"), [w], "tbl-1250"),
            expect("permit_approved", office_addr("eal"), language="sq", name="Dušan Kovačević",
                   travel_document="008145237", nationality="Serbe", directorate="berat",
                   original_from=office_addr("eal"), notified_at=iso(t), waybills=[w]))

    # Outlook EN forward, PM time; a PDF with no filename sent as octet-stream (recognised by
    # its %PDF- bytes) and a winmail.dat that is not a waybill.
    p = PEOPLE[14]
    t = dt.datetime(2023, 1, 11, 16, 5)
    notice = notice_for(p)
    w = W(None, "application/octet-stream",
          make_pdf(["Mandatpagese", "Shuma: 5.700 Lekë"], compress=True), 5700)
    tnef = b"\x78\x9f\x3e\x22" + bytes((i * 7) % 251 for i in range(300))
    text = outlook_block("en", "eal", "fz.benali@outlook.fr", "Residence Permit", t) + notice
    hs = outer("Fatima Zahra Benali <fz.benali@outlook.fr>", SHARED, "FW: Residence Permit",
               rfc2822(t + dt.timedelta(hours=1)), "pm-octet@outlook.fr")
    ct, body = multipart("mixed", "pm-octet", [
        text_part(text), ent([("Content-Type", "application/octet-stream"),
                              ("Content-Transfer-Encoding", "base64")], b64(w.data)),
        ent([("Content-Type", "application/ms-tnef; name=\"winmail.dat\""),
             ("Content-Disposition", "attachment; filename=\"winmail.dat\""),
             ("Content-Transfer-Encoding", "base64")], b64(tnef))])
    fixture("fwd-outlook-pm-unnamed-pdf", message(hs, ct, body),
            expect("permit_approved", "fz.benali@outlook.fr", language="en",
                   original_from=office_addr("eal"), notified_at=iso(t), waybills=[w],
                   **person_fields(p)))

    # Empty nationality field: null.
    t = dt.datetime(2021, 4, 12, 12, 0, 0)
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    txt = en_notice("We inform you that your Residence Permit for citizen Omar Haddad , Travel "
                    "Document no. N00482913 ,  has been approved.", "Durrës")
    direct("direct-en-empty-nationality", "mig", "omar.haddad@gmail.com", "Residence Permit", t,
           txt, "en", [w], "nonat", exp_fields=dict(name="Omar Haddad",
                                                    travel_document="N00482913",
                                                    nationality=None, directorate="durres"))

    # Daylight-saving edges: the day after summer time starts, and the day after it ends.
    for fname, t, pi in (("fwd-gmail-dst-started", dt.datetime(2022, 3, 28, 8, 0), 12),
                         ("fwd-gmail-dst-ended", dt.datetime(2022, 10, 31, 8, 0), 13)):
        p = PEOPLE[pi]
        notice = notice_for(p)
        block = gmail_block("en", "mig", "client@example.org", "Residence Permit", t)
        fwd_inline(fname, frm="Client <client@example.org>", subject="Fwd: Residence Permit",
                   outer_local=t + dt.timedelta(hours=2), note="", block=block, notice=notice,
                   lang=p[4], person=person_fields(p), office_key="mig", notified_at=iso(t),
                   waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary=fname)

    # Gmail with a Cc line and a PM time.
    p = PEOPLE[5]
    t = dt.datetime(2024, 12, 3, 16, 5)
    notice = notice_for(p)
    block = gmail_block("en", "njoftime", "olga.s@gmail.com", "Leja e Qëndrimit", t).replace(
        "\n\n\n", "\nCc: Agjencia <info@relokimi.al>\n\n\n")
    fwd_inline("fwd-gmail-cc-pm", frm="Ольга Смирнова <olga.s@gmail.com>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(minutes=30), note="",
               block=block, notice=notice, lang="sq", person=person_fields(p),
               office_key="njoftime", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700, True)], boundary="cc-pm")

    # Apple Mail forward ('>'-quoted, GMT+2) inside a Gmail forward by the agency.
    p = PEOPLE[10]
    t = dt.datetime(2023, 7, 20, 10, 30, 15)
    t2 = dt.datetime(2023, 7, 20, 12, 0)
    apple = (f"Begin forwarded message:\n\nFrom: {OFFICE['tirane']}\nSubject: Residence Permit\n"
             f"Date: July 20, 2023 at 10:30:15 AM GMT+2\nTo: wang.xm@icloud.com\n\n"
             + notice_for(p))
    quoted = "".join("> " + ln + "\n" if ln else ">\n" for ln in apple.split("\n"))
    outer_block = ("---------- Forwarded message ---------\nFrom: Wang Xiaoming "
                   "<wang.xm@icloud.com>\nDate: " + d_gmail("en", t2) + "\nSubject: Fwd: "
                   "Residence Permit\nTo: <arta@albania-relocation.al>\n\n\nSent from my iPhone\n\n")
    fwd_inline("fwd-apple-inside-gmail", frm="Arta Kelmendi <arta@albania-relocation.al>",
               subject="Fwd: Fwd: Residence Permit", outer_local=t2 + dt.timedelta(hours=1),
               note="New approval, please process.", block=outer_block, notice=quoted,
               lang="en", person=person_fields(p), office_key="tirane",
               notified_at=iso(t, 120), waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)],
               boundary="apple-in-gmail")


def make_pdf_hex_two_streams(first_lines, amount_text):
    """A PDF whose page has two content streams (a Contents array); the second shows the
    amount as a hex string, as some bank systems write it."""
    c1 = ("BT\n/F1 12 Tf\n72 720 Td\n" + "\n".join(
        (f"({pdf_escape(l)}) Tj" if i == 0 else f"0 -18 Td ({pdf_escape(l)}) Tj")
        for i, l in enumerate(first_lines)) + "\nET\n").encode("cp1252")
    c2 = ("BT\n/F1 12 Tf\n72 600 Td\n<" + amount_text.encode("cp1252").hex().upper()
          + "> Tj\nET\n").encode()
    c2z = zlib.compress(c2)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 "
            b"0 R >> >> /Contents [5 0 R 6 0 R] >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Length %d >>\nstream\n" % len(c1) + c1 + b"endstream",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(c2z) + c2z + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def gen_wording():
    # EN wording variant: "the residence permit", lower case, "No." — same structure.
    t = dt.datetime(2024, 11, 5, 11, 20, 0)
    w = W("Fatura.pdf", "application/pdf",
          make_pdf_hex_two_streams(["BANKA KOMBETARE TREGTARE", "Fature pagese"],
                                   "Totali: 5,700 Lek"), 5700)
    sent = ("We inform you that the residence permit for citizen Rahul Mehta , travel document "
            "No. Z4417823 , Indian has been approved.")
    txt = en_notice(sent, "Kukes")
    direct("direct-en-wording-variant", "eal", "rahul.mehta@gmail.com", "Residence Permit", t,
           txt, "en", [w], "wording-en",
           exp_fields=dict(name="Rahul Mehta", travel_document="Z4417823", nationality="Indian",
                           directorate="kukes"))

    # SQ wording variant: lower-case "leja e qëndrimit", "Nr.", female form, Outlook SQ forward.
    t = dt.datetime(2023, 4, 26, 9, 50)
    sent = ("Ju informojmë se leja e qëndrimit për shtetasen Ingrid Johansson, Dokument "
            "Udhëtimi Nr. 90817263, Suedeze është miratuar.")
    notice = sq_notice(sent, "Lezhë")
    block = outlook_block("sq", "njoftime", "ingrid.j@telia.se", "Leja e Qëndrimit", t)
    w = waybill_pdf("Shuma per t'u paguar: 5 700,00 Lekë", 5700, compress=True)
    fwd_inline("fwd-outlook-sq-wording-variant", frm="Ingrid Johansson <ingrid.j@telia.se>",
               subject="PËRC: Leja e Qëndrimit", outer_local=t + dt.timedelta(hours=4), note="",
               block=block, notice=notice, lang="sq",
               person=dict(name="Ingrid Johansson", travel_document="90817263",
                           nationality="Suedeze", directorate="lezhe"),
               office_key="njoftime", notified_at=iso(t), waybills=[w], boundary="sq-wording")


def flow(text, width=72):
    """format=flowed (RFC 3676): long lines broken after a space, the space kept."""
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            if cut <= 0:
                break
            out.append(line[:cut + 1])
            line = line[cut + 1:]
        out.append(line)
    return "\n".join(out)


def gen_clients2():
    # Outlook desktop, HTML only in windows-1252, German labels; the notice in <div>s.
    p = PEOPLE[2]
    t = dt.datetime(2024, 3, 13, 15, 2)
    nh = ("<div>Dear Sir/Madam,</div><div>&nbsp;</div><div>We inform you that your Residence "
          "Permit for citizen</div><div><b>J&uuml;rgen Wei&szlig;</b> , Travel Document no. "
          "<b>C7H3M8P2R</b> , Germany has</div><div>been approved.</div><div>&nbsp;</div>"
          "<div>Drejtoria Vendore p&euml;r Kufirin dhe Migracionin DURRES</div>")
    html = outlook_html("de", "mig", "jw@firma.de", "Residence Permit", t, nh,
                        note_html="<p class=\"MsoNormal\">Zur Info.</p>")
    hs = outer("Jürgen Weiß <jw@firma.de>", SHARED, "WG: Residence Permit",
               rfc2822(t + dt.timedelta(hours=1)), "html-de@firma.de")
    w = waybill_pdf("Shuma: 5700 Lek", 5700)
    fixture("fwd-outlook-html-only-cp1252",
            mixed_with(hs, text_part(html.replace("charset=utf-8", "charset=windows-1252"),
                                     sub="html", charset="windows-1252"), [w], "html-1252"),
            expect("permit_approved", "jw@firma.de", language="en", name="Jürgen Weiß",
                   travel_document="C7H3M8P2R", nationality="Germany", directorate="durres",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w]))

    # Thunderbird with format=flowed: the sentence broken over lines after spaces.
    p = PEOPLE[3]
    t = dt.datetime(2022, 12, 19, 10, 40, 5)
    notice = sq_notice(sq_sentence(p[0], p[1], p[3]), p[5])
    text = ("Bonjour,\n\nci-dessous.\n\n-------- Message transféré --------\nSujet : \tLeja e "
            f"Qëndrimit\nDate : \t{rfc2822(t)}\nDe : \t{OFFICE['eal']}\nPour : \t"
            "amelie.laurent@laposte.net\n\n\n\n" + notice)
    hs = outer("Amélie Laurent <amelie.laurent@laposte.net>", SHARED, "Fwd: Leja e Qëndrimit",
               rfc2822(t + dt.timedelta(hours=2)), "tb-flowed@laposte.net",
               [("User-Agent", "Mozilla Thunderbird")])
    w = waybill_pdf("Shuma: 5700 Lekë", 5700, compress=True)
    te = ent([("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
              ("Content-Transfer-Encoding", "8bit")], flow(text, 40).encode())
    fixture("fwd-thunderbird-fr-flowed", mixed_with(hs, te, [w], "------------tbFlowed01"),
            expect("permit_approved", "amelie.laurent@laposte.net", language="sq",
                   original_from=office_addr("eal"), notified_at=iso(t, 60), waybills=[w],
                   **person_fields(p)))

    # Apple Mail with a zone abbreviation (CEST), as Apple shows in Europe.
    p = PEOPLE[8]
    t = dt.datetime(2024, 6, 18, 9, 14, 3)
    block = (f"Begin forwarded message:\n\nFrom: {OFFICE['tirane']}\nSubject: Residence Permit\n"
             "Date: 18 June 2024 at 09:14:03 CEST\nTo: elif.demir@icloud.com\n\n")
    fwd_inline("fwd-apple-cest", frm="Elif Demir <elif.demir@icloud.com>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=1), note="",
               block=block, notice=notice_for(p), lang="en", person=person_fields(p),
               office_key="tirane", notified_at=iso(t, 120),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary="Apple-Mail-CEST-01")

    # Outlook for iOS: seconds in 'Sent:'.
    p = PEOPLE[15]
    t = dt.datetime(2023, 2, 27, 7, 58, 41)
    block = (f"\n\nGet Outlook for iOS\n________________________________\nFrom: {OFFICE['mig']}\n"
             "Sent: Monday, February 27, 2023 7:58:41 AM\nTo: lars.a@outlook.com "
             "<lars.a@outlook.com>\nSubject: Residence Permit\n\n")
    fwd_inline("fwd-outlook-ios", frm="Lars Andersson <lars.a@outlook.com>",
               subject="Fw: Residence Permit", outer_local=t + dt.timedelta(minutes=20),
               note="", block=block, notice=notice_for(p), lang="en", person=person_fields(p),
               office_key="mig", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700)], boundary="ios-outlook")

    # Samsung Email on Android: '(GMT+01:00)' after a day-first date; bare address.
    p = PEOPLE[4]
    t = dt.datetime(2022, 2, 16, 11, 7)
    block = ("\n\n\nSent from my Galaxy\n\n\n-------- Original message --------\nFrom: "
             "no-reply@e-albania.al \nDate: 16/02/2022 11:07 (GMT+01:00) \nTo: "
             "javi.fdez@gmail.com \nSubject: Residence Permit \n\n")
    fwd_inline("fwd-samsung-email", frm="Javier Fernández <javi.fdez@gmail.com>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=1), note="",
               block=block, notice=notice_for(p), lang="en", person=person_fields(p),
               office_key="eal", notified_at=iso(t, 60),
               waybills=[W("20220216_111502.jpg", "image/jpeg", make_jpeg(b"galaxy"), None)],
               boundary="--_com.samsung.android.email_1645006020")

    # Roundcube webmail: ISO-like date without zone.
    p = PEOPLE[9]
    t = dt.datetime(2021, 8, 3, 13, 25)
    block = (f"-------- Original Message --------\nSubject: Leja e Qëndrimit\nDate: 2021-08-03 "
             f"13:25\nFrom: {OFFICE['njoftime']}\nTo: blerta@hoxha.al\n\n")
    fwd_inline("fwd-roundcube", frm="Blerta Hoxha-Dupont <blerta@hoxha.al>",
               subject="Fwd: Leja e Qëndrimit", outer_local=t + dt.timedelta(days=1), note="",
               block=block, notice=notice_for(p), lang="sq", person=person_fields(p),
               office_key="njoftime", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lekë", 5700)], boundary="=_rc7f3a9b21")

    # Proton Mail: 'On Wednesday, December 22nd, 2021 at 9:14 AM'.
    p = PEOPLE[13]
    t = dt.datetime(2021, 12, 22, 9, 14)
    block = (f"Sent with Proton Mail secure email.\n\n------- Forwarded Message -------\nFrom: "
             f"{OFFICE['eal']}\nDate: On Wednesday, December 22nd, 2021 at 9:14 AM\nSubject: "
             "Residence Permit\nTo: kenji.t@proton.me <kenji.t@proton.me>\n\n\n")
    fwd_inline("fwd-protonmail", frm="Kenji Tanaka <kenji.t@proton.me>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=8), note="",
               block=block, notice=notice_for(p), lang="en", person=person_fields(p),
               office_key="eal", notified_at=iso(t),
               waybills=[waybill_pdf("Shuma: 5700 Lek", 5700, True)], boundary="b1_proton_22")


def gen_edges():
    # Document order across nesting: the attached message's PDF, then the outer photo.
    p = PEOPLE[7]
    t = dt.datetime(2024, 1, 9, 9, 30, 0)
    w1 = waybill_pdf("Shuma: 5700 Lekë", 5700, compress=True, filename="mandatpagesa.pdf")
    w2 = W("pagesa_e_kryer.jpg", "image/jpeg", make_jpeg(b"receipt"), None)
    inner_msg = mixed_with(outer(OFFICE["mig"], "ayse.yilmaz@gmail.com", "Leja e Qëndrimit",
                                 rfc2822(t), "order@asp.gov.al"),
                           text_part(notice_for(p), cte="base64"), [w1], "order-inner")
    hs = outer("Ayşe Yılmaz <ayse.yilmaz@gmail.com>", SHARED, "Fwd: Leja e Qëndrimit",
               rfc2822(t + dt.timedelta(days=2)), "order-outer@gmail.com")
    ct, body = multipart("mixed", "order-outer", [
        text_part("Merhaba, bildirim ekte. Ödeme makbuzunun fotoğrafı da ekte.\n"),
        ent([("Content-Type", "message/rfc822")], inner_msg), att(w2)])
    fixture("fwd-attachment-document-order", message(hs, ct, body),
            expect("permit_approved", "ayse.yilmaz@gmail.com", language="sq",
                   original_from=office_addr("mig"), notified_at=iso(t), waybills=[w1, w2],
                   **person_fields(p)))

    # Auto-Submitted: auto-generated (a ticket system's acknowledgement quoting the notice).
    p = PEOPLE[11]
    t = dt.datetime(2023, 8, 8, 10, 15)
    text = ("Your request has been received (ticket #48213). Our team will contact you.\n\n"
            "---- Original request ----\n" + gmail_block("en", "mig", "d.volkov@mail.ru",
                                                          "Residence Permit", t) + notice_for(p))
    hs = outer("Support <support@helpdesk.example>", SHARED, "[#48213] Fwd: Residence Permit",
               rfc2822(t + dt.timedelta(hours=2)), "ticket-48213@helpdesk.example",
               [("Auto-Submitted", "auto-generated")])
    fixture("neg-autoreply-auto-generated",
            ent(hs + [("MIME-Version", "1.0")], b"")[:-1] + text_part(text),
            expect("auto_reply", "support@helpdesk.example"))

    # Precedence: list (a mailing list such as a Google Group relaying a forward). RFC 3834
    # uses it to tell responders "do not answer the list", not to mark an auto-reply: a
    # shared inbox behind a group adds it to every message, and the notice inside is
    # genuine. (Precedence: bulk, junk and auto_reply still mean automatic mail.)
    p = PEOPLE[0]
    t = dt.datetime(2022, 5, 5, 9, 0)
    text = gmail_block("en", "tirane", "marco.rossi84@gmail.com", "Residence Permit", t) \
        + notice_for(p) + "\n-- \nYou received this message because you are subscribed to " \
        "the Google Groups \"permits\" group.\n"
    hs = outer("Marco Rossi <marco.rossi84@gmail.com>", "permits@googlegroups.com",
               "Fwd: Residence Permit", rfc2822(t + dt.timedelta(hours=1)), "list-1@gmail.com",
               [("Precedence", "list"), ("Mailing-list", "list permits@googlegroups.com"),
                ("List-ID", "<permits.googlegroups.com>")])
    fixture("fwd-precedence-list", ent(hs + [("MIME-Version", "1.0")], b"")[:-1]
            + text_part(text),
            expect("permit_approved", "marco.rossi84@gmail.com", language=p[4],
                   original_from=office_addr("tirane"), notified_at=iso(t),
                   **person_fields(p)))

    # Hostile PDFs next to a genuine notice: a Flate bomb (32 MB of spaces), an object
    # graph that points at itself with a /Length past the end, and a truncated file.
    # Each is still a waybill (hashed), none yields an amount; parsing must stay bounded.
    p = PEOPLE[14]
    t = dt.datetime(2024, 5, 20, 10, 0, 0)
    bomb_stream = zlib.compress(b" " * (32 << 20), 9)
    bomb = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type "
            b"/Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R "
            b"/Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Length "
            + str(len(bomb_stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + bomb_stream + b"\nendstream\nendobj\ntrailer\n<< "
            b"/Root 1 0 R >>\n%EOF\n")
    loop = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type "
            b"/Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>\nendobj\n3 0 obj\n<< /Type "
            b"/Page /Parent 2 0 R /Contents 3 0 R /Resources 3 0 R >>\nendobj\n4 0 obj\n<< "
            b"/Length 999999999 >>\nstream\nBT (\nendobj\ntrailer\n<< /Root 1 0 R /Size 5 >>\n"
            b"startxref\n999999\n%EOF\n")
    cut = make_pdf(["Mandatpagese", "Shuma: 5700 Lek"], compress=True)
    cut = cut[:cut.index(b"stream\n") + 7 + 12]
    ws = [W("mandat_1.pdf", "application/pdf", bomb, None),
          W("mandat_2.pdf", "application/pdf", loop, None),
          W("mandat_3.pdf", "application/pdf", cut, None)]
    block = gmail_block("en", "eal", "fz.benali@outlook.fr", "Residence Permit", t)
    fwd_inline("mal-hostile-pdfs", frm="Fatima Zahra Benali <fz.benali@outlook.fr>",
               subject="Fwd: Residence Permit", outer_local=t + dt.timedelta(hours=1), note="",
               block=block, notice=notice_for(p), lang="en", person=person_fields(p),
               office_key="eal", notified_at=iso(t), waybills=ws, boundary="hostile-pdfs")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
    os.makedirs(out, exist_ok=True)
    gen_direct()
    gen_forwards()
    gen_negatives()
    gen_malformed()
    gen_more()
    gen_wording()
    gen_clients2()
    gen_edges()
    # Forward blocks from real clients in 20+ UI languages, and issue 18's mail cases.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fwd_corpus
    fwd_corpus.generate(globals())
    names = set()
    for name, raw, exp in FIXTURES:
        names.add(name)
        with open(os.path.join(out, name + ".eml"), "wb") as f:
            f.write(raw)
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(exp, ensure_ascii=False, indent=2) + "\n")
    for fn in os.listdir(out):
        base, ext = os.path.splitext(fn)
        if ext in (".eml", ".json") and base not in names:
            os.remove(os.path.join(out, fn))
    print(f"wrote {len(FIXTURES)} fixtures to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
