//! Forward blocks in UI languages and client formats the email-forward-parser corpus
//! lacks (`tests/corpus.rs` covers those): Chinese, Japanese and Korean Outlook and Apple
//! Mail, Bulgarian, Macedonian, Serbian Cyrillic, Albanian, Greek, Arabic, Hebrew,
//! Persian (its own digits), Hindi (combining marks in labels and month names),
//! Vietnamese (`tháng 3`), Baltic, Catalan, Indonesian, US 12-hour clocks. The blocks are
//! written after the patterns the clients use (their labels and CLDR's date formats),
//! not copied from mail; each must give the Directorate's address and the date.
//!
//! Known gaps, left out: Gmail in Thai abbreviates months with inner dots (`มี.ค.`), and
//! Yahoo's one-line header with Chinese labels is not split.

use leje::parse::{parse, Kind};

const A: &str = "Leje Qendrimi DPPSH <lejeqendrimi@asp.gov.al>";

const NOTICE: &str = "Dear Sir/Madam,\n\nWe inform you that your Residence Permit for citizen \
Wang Xiaoming , Travel Document no. EB8812765 , China has been approved.\n\nPlease print the \
attached payment notice and pay the fee of 5700 Lek.\n\nDrejtoria Vendore për Kufirin dhe \
Migracionin Berat\n";

/// (case, block with `{A}` for the Directorate's sender, expected `notified_at`).
#[rustfmt::skip]
const BLOCKS: &[(&str, &str, &str)] = &[
    ("outlook-zh", "发件人: {A}\n发送时间: 2024年3月5日 9:14\n收件人: wang.xm@gmail.com\n主题: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-zh-weekday", "发件人: {A}\n发送时间: 2024年3月5日 星期二 9:14\n收件人: wang.xm@gmail.com\n主题: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-zh-pm", "发件人: {A}\n发送时间: 2024年3月5日 下午 3:14\n收件人: wang.xm@gmail.com\n主题: Residence Permit\n\n", "2024-03-05T15:14:00+01:00"),
    ("gmail-zh", "---------- Forwarded message ---------\n发件人： {A}\nDate: 2024年3月5日周二 09:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-zh2", "---------- Forwarded message ---------\n发件人: {A}\nDate: 2024年3月5日周二 上午9:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ja", "差出人: {A}\n送信日時: 2024年3月5日 9:14\n宛先: wang.xm@gmail.com\n件名: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-ja", "---------- Forwarded message ---------\n差出人: {A}\nDate: 2024年3月5日(火) 9:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ko", "보낸 사람: {A}\n보낸 날짜: 2024년 3월 5일 화요일 오후 3:14\n받는 사람: wang.xm@gmail.com\n제목: Residence Permit\n\n", "2024-03-05T15:14:00+01:00"),
    ("outlook-bg", "От: {A}\nИзпратено: вторник, 5 март 2024 г. 9:14\nДо: wang.xm@gmail.com\nОтносно: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-mk", "Од: {A}\nИспратено: вторник, 5 март 2024 9:14\nДо: wang.xm@gmail.com\nПредмет: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-sr-cyr", "Од: {A}\nПослато: уторак, 5. март 2024. 9:14\nЗа: wang.xm@gmail.com\nТема: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-sq", "Nga: {A}\nDërguar: e martë, 5 mars 2024 9:14 e paradites\nPër: wang.xm@gmail.com\nSubjekti: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-sq2", "Nga: {A}\nDërguar: e martë, 5 mars 2024 15:14\nPër: wang.xm@gmail.com\nSubjekti: Residence Permit\n\n", "2024-03-05T15:14:00+01:00"),
    ("gmail-sq", "---------- Mesazhi i përcjellë ---------\nNga: {A}\nDate: mar, 5 mar 2024 në 9:14 e paradites\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-el", "---------- Προωθημένο μήνυμα ---------\nΑπό: {A}\nDate: Τρί 5 Μαρ 2024 στις 9:14 π.μ.\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-ar", "---------- Forwarded message ---------\nمن: {A}\nDate: الثلاثاء، 5 مارس 2024 في 9:14 ص\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-he", "---------- Forwarded message ---------\nמאת: {A}\nDate: יום ג׳, 5 במרץ 2024 ב-9:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-id", "---------- Forwarded message ---------\nDari: {A}\nDate: Sel, 5 Mar 2024 pukul 09.14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-vi", "---------- Forwarded message ---------\nTừ: {A}\nDate: Th 3, 5 thg 3, 2024 vào lúc 09:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-fa", "---------- Forwarded message ---------\nاز: {A}\nDate: سه‌شنبه ۵ مارس ۲۰۲۴، ساعت ۹:۱۴\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-hi", "---------- Forwarded message ---------\nप्रेषक: {A}\nDate: मंगल, 5 मार्च 2024 को 9:14 am\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("gmail-en-gb", "---------- Forwarded message ---------\nFrom: {A}\nDate: Tue, 5 Mar 2024 at 09:14\nSubject: Residence Permit\nTo: <wang.xm@gmail.com>\n\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlookmac-en-dm", "On 05/03/2024, 09:14, \"Leje Qendrimi DPPSH\" <lejeqendrimi@asp.gov.al> wrote:\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlookmac-en-us", "On 3/5/24, 9:14 AM, \"Leje Qendrimi DPPSH\" <lejeqendrimi@asp.gov.al> wrote:\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-classic-us", "From: {A}\nSent: Tuesday, March 5, 2024 9:14 AM\nTo: wang.xm@gmail.com\nSubject: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-classic-us-pm", "From: {A}\nSent: Tuesday, March 5, 2024 12:14 PM\nTo: wang.xm@gmail.com\nSubject: Residence Permit\n\n", "2024-03-05T12:14:00+01:00"),
    ("outlook-classic-us-am12", "From: {A}\nSent: Tuesday, March 5, 2024 12:14 AM\nTo: wang.xm@gmail.com\nSubject: Residence Permit\n\n", "2024-03-05T00:14:00+01:00"),
    ("outlook-nl", "Van: {A}\nVerzonden: dinsdag 5 maart 2024 09:14\nAan: wang.xm@gmail.com\nOnderwerp: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-pl", "Od: {A}\nWysłane: wtorek, 5 marca 2024 09:14\nDo: wang.xm@gmail.com\nTemat: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-cs", "Od: {A}\nOdesláno: úterý 5. března 2024 9:14\nKomu: wang.xm@gmail.com\nPředmět: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-uk", "Від: {A}\nНадіслано: вівторок, 5 березня 2024 р. 9:14\nКому: wang.xm@gmail.com\nТема: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-pt", "De: {A}\nEnviado: terça-feira, 5 de março de 2024 09:14\nPara: wang.xm@gmail.com\nAssunto: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-sv", "Från: {A}\nSkickat: den 5 mars 2024 09:14\nTill: wang.xm@gmail.com\nÄmne: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-da", "Fra: {A}\nSendt: 5. marts 2024 09:14\nTil: wang.xm@gmail.com\nEmne: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-fi", "Lähettäjä: {A}\nLähetetty: tiistai 5. maaliskuuta 2024 9.14\nVastaanottaja: wang.xm@gmail.com\nAihe: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-hu", "Feladó: {A}\nElküldve: 2024. március 5., kedd 9:14\nCímzett: wang.xm@gmail.com\nTárgy: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ro", "De la: {A}\nTrimis: marți, 5 martie 2024 09:14\nCătre: wang.xm@gmail.com\nSubiect: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-hr", "Šalje: {A}\nPoslano: utorak, 5. ožujka 2024. 9:14\nPrima: wang.xm@gmail.com\nPredmet: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-lt", "Nuo: {A}\nIšsiųsta: 2024 m. kovo 5 d., antradienis 09:14\nKam: wang.xm@gmail.com\nTema: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-lv", "No: {A}\nNosūtīts: otrdiena, 2024. gada 5. marts 9:14\nKam: wang.xm@gmail.com\nTēma: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-et", "Saatja: {A}\nSaatmisaeg: teisipäev, 5. märts 2024 9:14\nAdressaat: wang.xm@gmail.com\nTeema: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-sl", "Od: {A}\nPoslano: torek, 5. marec 2024 9:14\nZa: wang.xm@gmail.com\nZadeva: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ca", "De: {A}\nEnviat el: dimarts, 5 de març de 2024 9:14\nPer a: wang.xm@gmail.com\nTema: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-he", "מאת: {A}\nנשלח: יום שלישי 05 מרץ 2024 09:14\nאל: wang.xm@gmail.com\nנושא: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ar", "من: {A}\nتم الإرسال: الثلاثاء، 5 مارس، 2024 09:14 ص\nإلى: wang.xm@gmail.com\nالموضوع: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-tr", "Kimden: {A}\nGönderildi: 5 Mart 2024 Salı 09:14\nKime: wang.xm@gmail.com\nKonu: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-el", "Από: {A}\nΣτάλθηκε: Τρίτη, 5 Μαρτίου 2024 9:14 πμ\nΠρος: wang.xm@gmail.com\nΘέμα: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ru", "От: {A}\nОтправлено: 5 марта 2024 г. 9:14\nКому: wang.xm@gmail.com\nТема: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-de-short", "Von: {A}\nGesendet: Dienstag, 5. März 2024 09:14\nAn: wang.xm@gmail.com\nBetreff: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-it", "Da: {A}\nInviato: martedì 5 marzo 2024 09:14\nA: wang.xm@gmail.com\nOggetto: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-es", "De: {A}\nEnviado el: martes, 5 de marzo de 2024 9:14\nPara: wang.xm@gmail.com\nAsunto: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-fr", "De : {A}\nEnvoyé : mardi 5 mars 2024 09:14\nÀ : wang.xm@gmail.com\nObjet : Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-vi", "Từ: {A}\nĐã gửi: Thứ Ba, ngày 5 tháng 3 năm 2024 9:14 SA\nĐến: wang.xm@gmail.com\nChủ đề: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-id", "Dari: {A}\nDikirim: Selasa, 05 Maret 2024 9:14\nKepada: wang.xm@gmail.com\nSubjek: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("outlook-ka", "From: {A}\nSent: სამშაბათი, 5 მარტი 2024 9:14\nTo: wang.xm@gmail.com\nSubject: Residence Permit\n\n", "2024-03-05T09:14:00+01:00"),
    ("apple-zh", "开始转发的邮件：\n\n> 发件人: {A}\n> 主题: Residence Permit\n> 日期: 2024年3月5日 GMT+1 09:14:03\n> 收件人: wang.xm@gmail.com\n>\n", "2024-03-05T09:14:03+01:00"),
    ("apple-ja", "転送されたメッセージ:\n\n> 差出人: {A}\n> 件名: Residence Permit\n> 日付: 2024年3月5日 9:14:03 CET\n> 宛先: wang.xm@gmail.com\n>\n", "2024-03-05T09:14:03+01:00"),
    ("apple-ko", "전달된 메일:\n\n> 보낸 사람: {A}\n> 제목: Residence Permit\n> 날짜: 2024년 3월 5일 오전 9:14:03 GMT+1\n> 받는 사람: wang.xm@gmail.com\n>\n", "2024-03-05T09:14:03+01:00"),
    ("thunderbird-zh", "-------- 转发的消息 --------\n主题: \tResidence Permit\n日期: \tTue, 5 Mar 2024 09:14:03 +0100\n发件人: \t{A}\n收件人: \twang.xm@gmail.com\n\n", "2024-03-05T09:14:03+01:00"),
];

#[test]
fn forward_blocks_in_more_ui_languages() {
    let mut failures = Vec::new();
    for &(case, block, want) in BLOCKS {
        let block = block.replace("{A}", A);
        // Apple Mail quotes the original under its block.
        let quoted = block
            .lines()
            .next()
            .is_some_and(|l| l.ends_with(':') || l.ends_with('：'))
            && block.contains("\n> ");
        let notice = if quoted {
            NOTICE
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        ">".to_string()
                    } else {
                        format!("> {l}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            NOTICE.to_string()
        };
        let raw = format!(
            "From: Wang <wang.xm@gmail.com>\r\nTo: leje@example.al\r\nSubject: Fwd: Residence \
             Permit\r\nDate: Mon, 1 Jul 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: \
             text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            (block + &notice).replace('\n', "\r\n")
        );
        let m = parse(raw.as_bytes());
        let ok = m.kind == Kind::PermitApproved
            && m.travel_document.as_deref() == Some("EB8812765")
            && m.original_from.as_deref() == Some("lejeqendrimi@asp.gov.al")
            && m.notified_at.as_deref() == Some(want);
        if !ok {
            failures.push(format!(
                "{case}: {:?} from {:?} at {:?} (want {want})",
                m.kind, m.original_from, m.notified_at
            ));
        }
    }
    eprintln!(
        "forward blocks in more UI languages: {} cases, {} failed",
        BLOCKS.len(),
        failures.len()
    );
    assert!(BLOCKS.len() >= 59);
    assert!(failures.is_empty(), "{failures:#?}");
}
