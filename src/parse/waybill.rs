//! Waybills: the PDF and image attachments that came with a notification,
//! hashed, with the amount in Lek read from a PDF's text layer.

use super::mime::{Attachment, Walk};
use super::text::fold;
use super::{pdf, Waybill};
use sha2::{Digest, Sha256};

/// The waybill attachments of a walked message, in document order.
pub fn collect(w: &Walk) -> Vec<Waybill> {
    w.attachments
        .iter()
        .filter_map(|a| {
            let is_pdf = a.content_type == "application/pdf"
                || a.filename
                    .as_deref()
                    .is_some_and(|f| f.to_ascii_lowercase().trim_end().ends_with(".pdf"))
                || a.data.starts_with(b"%PDF-");
            let is_image = !is_pdf && a.content_type.starts_with("image/") && real_image(w, a);
            if !is_pdf && !is_image {
                return None;
            }
            let amount_lek = if is_pdf {
                pdf::text(&a.data).and_then(|t| amount(&t))
            } else {
                None
            };
            Some(Waybill {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as u64,
                sha256: hex::encode(Sha256::digest(&a.data)),
                amount_lek,
                data: a.data.clone(),
            })
        })
        .collect()
}

/// An image that was attached on purpose, not a signature/logo shown by the HTML.
fn real_image(w: &Walk, a: &Attachment) -> bool {
    if let Some(cid) = &a.content_id {
        if w.cids.contains(cid) || a.in_related {
            return false;
        }
    }
    !(a.inline && a.filename.is_none())
}

struct Cand {
    start: usize,
    end: usize,
    value: u64,
    grouped: bool,
}

/// Numbers in a text, with thousands separators (space, `.`, `,`, `'`) and
/// decimal parts understood: "5 700", "5.700,00", "5,700.00", "12 000".
fn numbers(t: &[char]) -> Vec<Cand> {
    let mut out = Vec::new();
    let mut i = 0;
    let digit = |k: usize| t.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < t.len() {
        if !digit(i) || (i > 0 && (t[i - 1].is_alphanumeric())) {
            i += 1;
            continue;
        }
        let start = i;
        let mut v: u64 = 0;
        let mut first_len = 0;
        while digit(i) {
            v = v
                .saturating_mul(10)
                .saturating_add(t[i].to_digit(10).unwrap_or(0) as u64);
            first_len += 1;
            i += 1;
        }
        let mut sep: Option<char> = None;
        let mut grouped = false;
        while let Some(&c) = t.get(i) {
            let three = digit(i + 1) && digit(i + 2) && digit(i + 3) && !digit(i + 4);
            let is_thousand_sep = matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.' | ',' | '\'');
            if is_thousand_sep && three && first_len <= 3 && sep.is_none_or(|s| s == c) {
                sep = Some(c);
                grouped = true;
                for k in 1..=3 {
                    v = v
                        .saturating_mul(10)
                        .saturating_add(t[i + k].to_digit(10).unwrap_or(0) as u64);
                }
                i += 4;
                continue;
            }
            let dec = matches!(c, '.' | ',')
                && Some(c) != sep
                && digit(i + 1)
                && (!digit(i + 2) || !digit(i + 3));
            if dec {
                i += 2;
                while digit(i) {
                    i += 1;
                }
            }
            break;
        }
        // Dates, times, phone and account numbers are not amounts.
        let glued = |c: Option<&char>| c.is_some_and(|c| matches!(c, '/' | '-' | ':' | '.'));
        let next_is_digit_after_glue = glued(t.get(i)) && digit(i + 1);
        let prev_glued = start >= 2 && glued(t.get(start - 1)) && digit(start - 2);
        if !next_is_digit_after_glue && !prev_glued && first_len <= 9 {
            out.push(Cand {
                start,
                end: i,
                value: v,
                grouped,
            });
        }
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "shuma", "vlera", "amount", "total", "totali", "paguar", "pagese", "tarifa", "fee", "cmimi",
    "sum", "importo", "betrag", "montant", "monto",
];

/// The amount in Lek in a waybill's text: a number next to Lek/ALL/Lekë,
/// else after Shuma/Vlera/Amount/Total, else the only plausible number.
pub fn amount(text: &str) -> Option<u64> {
    let t: Vec<char> = text.chars().take(1 << 20).collect();
    let cands = numbers(&t);
    let word_at = |k: usize| -> String {
        let s: String = t[k..(k + 8).min(t.len())].iter().collect();
        fold(&s)
    };
    let mut best: Option<(u32, &Cand)> = None;
    for c in &cands {
        let mut score = 0;
        // Currency right after ("5700 Lekë", "5,700.00 ALL") or right before ("ALL 5700").
        let mut k = c.end;
        while t.get(k).is_some_and(|c| c.is_whitespace()) && k < c.end + 3 {
            k += 1;
        }
        let after = word_at(k);
        let currency = |w: &str| {
            (w.starts_with("lek") || w.starts_with("all"))
                && !w
                    .chars()
                    .nth(3)
                    .is_some_and(|x| x.is_alphabetic() && !w.starts_with("lek"))
        };
        if currency(&after) {
            score += 4;
        }
        let before: String = t[c.start.saturating_sub(40)..c.start].iter().collect();
        let before = fold(&before);
        let tail: String = before
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if tail.contains("all") || tail.contains("lek") {
            score += 3;
        }
        if KEYWORDS.iter().any(|k| before.contains(k)) {
            score += 2;
        }
        if c.value == 0 {
            continue;
        }
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    if let Some((_, c)) = best {
        return Some(c.value);
    }
    let plausible: Vec<&Cand> = cands
        .iter()
        .filter(|c| (100..=10_000_000).contains(&c.value))
        .filter(|c| c.grouped || !(1900..=2100).contains(&c.value))
        .collect();
    match plausible.as_slice() {
        [one] => Some(one.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::amount;

    #[test]
    fn amount_formats() {
        for (t, v) in [
            ("Shuma: 5700 Lekë", 5700),
            ("Vlera 5 700 lek", 5700),
            ("Totali: 5.700,00 ALL", 5700),
            ("Amount 5,700.00 ALL", 5700),
            ("Totali 12 000 lek", 12000),
            ("Data 22.12.2021 Nr. 4431\nShuma: 5700\nLEKE", 5700),
            ("ALL 8 400", 8400),
            ("Fee 5700.00", 5700),
            ("Pagesa per leje qendrimi\n5700", 5700),
            (
                "IBAN AL47212110090000000235698741 Shuma 3 200,50 Lekë",
                3200,
            ),
        ] {
            assert_eq!(amount(t), Some(v), "{t}");
        }
    }

    #[test]
    fn no_amount() {
        assert_eq!(amount("Faleminderit"), None);
        assert_eq!(amount("Data 22/12/2021 ora 09:14"), None);
        assert_eq!(amount("ref 2021 and 4431 and 7788"), None);
    }
}
