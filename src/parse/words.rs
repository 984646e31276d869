//! Vocabulary for the recognisers: month and weekday names, and the labels
//! mail clients put in forward header blocks, in many UI languages. All
//! entries are folded (lower-case, no accents, final sigma as σ).

/// Month names glibc's locale tables (parse/locale.rs) do not have in this
/// form: inflected (genitive) and unaccented spellings. Abbreviations are
/// matched as prefixes of these.
#[rustfmt::skip]
pub const MONTHS: &[(&str, u32)] = &[
    // en, sq, it, de, fr, es, tr, pt
    ("january", 1), ("janar", 1), ("gennaio", 1), ("januar", 1), ("janner", 1), ("janvier", 1), ("enero", 1), ("ocak", 1), ("janeiro", 1),
    ("february", 2), ("shkurt", 2), ("febbraio", 2), ("februar", 2), ("fevrier", 2), ("febrero", 2), ("subat", 2), ("fevereiro", 2),
    ("march", 3), ("mars", 3), ("marzo", 3), ("marz", 3), ("mart", 3), ("marco", 3),
    ("april", 4), ("prill", 4), ("aprile", 4), ("avril", 4), ("abril", 4), ("nisan", 4),
    ("may", 5), ("maj", 5), ("maggio", 5), ("mai", 5), ("mayo", 5), ("mayis", 5), ("maio", 5),
    ("june", 6), ("qershor", 6), ("giugno", 6), ("juni", 6), ("juin", 6), ("junio", 6), ("haziran", 6), ("junho", 6),
    ("july", 7), ("korrik", 7), ("luglio", 7), ("juli", 7), ("juillet", 7), ("julio", 7), ("temmuz", 7), ("julho", 7),
    ("august", 8), ("gusht", 8), ("gsh", 8), ("agosto", 8), ("aout", 8), ("agustos", 8),
    ("september", 9), ("shtator", 9), ("settembre", 9), ("septembre", 9), ("septiembre", 9), ("setiembre", 9), ("eylul", 9), ("setembro", 9),
    ("october", 10), ("tetor", 10), ("ottobre", 10), ("oktober", 10), ("octobre", 10), ("octubre", 10), ("ekim", 10), ("outubro", 10),
    ("november", 11), ("nentor", 11), ("novembre", 11), ("noviembre", 11), ("kasim", 11), ("novembro", 11),
    ("december", 12), ("dhjetor", 12), ("dicembre", 12), ("dezember", 12), ("decembre", 12), ("diciembre", 12), ("aralik", 12), ("dezembro", 12),
    // ru (nominative and genitive)
    ("январь", 1), ("января", 1), ("февраль", 2), ("февраля", 2), ("март", 3), ("марта", 3),
    ("апрель", 4), ("апреля", 4), ("май", 5), ("мая", 5), ("июнь", 6), ("июня", 6),
    ("июль", 7), ("июля", 7), ("август", 8), ("августа", 8), ("сентябрь", 9), ("сентября", 9),
    ("октябрь", 10), ("октября", 10), ("ноябрь", 11), ("ноября", 11), ("декабрь", 12), ("декабря", 12),
    // el (nominative and genitive)
    ("ιανουαριοσ", 1), ("ιανουαριου", 1), ("φεβρουαριοσ", 2), ("φεβρουαριου", 2), ("μαρτιοσ", 3), ("μαρτιου", 3),
    ("απριλιοσ", 4), ("απριλιου", 4), ("μαιοσ", 5), ("μαιου", 5), ("ιουνιοσ", 6), ("ιουνιου", 6),
    ("ιουλιοσ", 7), ("ιουλιου", 7), ("αυγουστοσ", 8), ("αυγουστου", 8), ("σεπτεμβριοσ", 9), ("σεπτεμβριου", 9),
    ("οκτωβριοσ", 10), ("οκτωβριου", 10), ("νοεμβριοσ", 11), ("νοεμβριου", 11), ("δεκεμβριοσ", 12), ("δεκεμβριου", 12),
    // pl, cs, uk (genitive)
    ("stycznia", 1), ("lutego", 2), ("marca", 3), ("kwietnia", 4), ("maja", 5), ("czerwca", 6),
    ("lipca", 7), ("sierpnia", 8), ("wrzesnia", 9), ("pazdziernika", 10), ("listopada", 11), ("grudnia", 12),
    ("ledna", 1), ("unora", 2), ("brezna", 3), ("dubna", 4), ("kvetna", 5), ("cervna", 6),
    ("cervence", 7), ("srpna", 8), ("zari", 9), ("rijna", 10), ("listopadu", 11), ("prosince", 12),
    ("січня", 1), ("лютого", 2), ("березня", 3), ("квітня", 4), ("травня", 5), ("червня", 6),
    ("липня", 7), ("серпня", 8), ("вересня", 9), ("жовтня", 10), ("листопада", 11), ("грудня", 12),
    // ro, fi
    ("ianuarie", 1), ("februarie", 2), ("martie", 3), ("aprilie", 4), ("iunie", 6), ("iulie", 7),
    ("septembrie", 9), ("octombrie", 10), ("noiembrie", 11), ("decembrie", 12),
    ("tammikuu", 1), ("helmikuu", 2), ("maaliskuu", 3), ("huhtikuu", 4), ("toukokuu", 5), ("kesakuu", 6),
    ("heinakuu", 7), ("elokuu", 8), ("syyskuu", 9), ("lokakuu", 10), ("marraskuu", 11), ("joulukuu", 12),
];

/// Forward-block labels meaning "from".
#[rustfmt::skip]
pub const FROM: &[&str] = &[
    "from", "von", "de", "da", "nga", "от", "απο", "kimden", "van", "od", "fran", "fra",
    "expediteur", "remitente", "mittente", "absender", "afzender", "gonderen", "felado",
    "lahettaja", "sender", "від", "від кого", "от кого", "dergues", "dergoi", "de la",
    "отправитель", "nadawca", "salje", "saatja", "expeditorul", "afsender", "avsandare",
    "送信元", "差出人", "发件人", "보낸사람", "보낸 사람", "nuo", "од", "dari", "daripada",
];

/// Labels meaning "date" or "sent".
#[rustfmt::skip]
pub const DATE: &[&str] = &[
    "date", "sent", "datum", "gesendet", "data", "inviato", "envoye", "enviado", "enviada",
    "fecha", "derguar", "derguar me", "dergua", "отправлено", "дата", "σταλθηκε", "ημερομηνια",
    "ημ/νια", "tarih", "gonderildi", "gonderilen", "gonderim tarihi", "verzonden", "skickat",
    "sendt", "dato", "odeslano", "odoslane", "wyslano", "enviado el", "envoye le", "sent on",
    "date sent", "sent date", "inviato il", "gesendet am", "lahetetty", "elkuldve", "trimis",
    "poslano", "data e dergimit", "data dhe ora", "paivamaara", "paivays", "відправлено",
    "dato sendt", "日付", "送信日時", "日期", "poslato", "날짜", "보낸 날짜", "datums",
    "wyslane", "изпратено", "надіслано", "nosutits", "issiusta", "saadetud", "испратено",
    "dikirim", "dihantar", "enviat", "发送时间", "時間", "寄件日期",
];

/// Labels meaning "to" or "cc".
#[rustfmt::skip]
pub const TO: &[&str] = &[
    "to", "an", "a", "para", "per", "кому", "προσ", "kime", "aan", "till", "til", "komu", "do",
    "destinataire", "destinatario", "empfanger", "alici", "marres", "cc", "kopie", "copie",
    "copia", "копия", "копія", "κοιν", "bilgi", "bcc", "cci", "ccn", "adresat", "prima",
    "destinatarul", "cimzett", "vastaanottaja", "mottagare", "kopia", "kopio", "masolat",
    "宛先", "送信先", "收件人", "za", "catre", "받는사람", "받는 사람", "참조", "до", "kam",
    "adressaat", "kepada", "per a", "抄送", "收件者",
];

/// Labels meaning "subject".
#[rustfmt::skip]
pub const SUBJECT: &[&str] = &[
    "subject", "betreff", "objet", "oggetto", "asunto", "subjekti", "tema", "тема", "θεμα",
    "konu", "onderwerp", "amne", "emne", "predmet", "temat", "assunto", "sujet", "titulli",
    "titull", "teema", "aihe", "targy", "subiect", "subiectul", "naslov", "件名", "主题",
    "zadeva", "제목", "относно", "perihal", "subjek", "assumpte",
];
