//! The amount in Lek printed on a waybill, or nothing.
//!
//! A number is believed to be the amount only where the text says so: a
//! currency next to it (`5 700,00 Lekë`, `ALL 5,700.00`, `Lekë 5.700`,
//! `5700 L`), an amount label before it on its line or alone on the line above
//! (`Shuma:`, `Vlera`, `Totali`, `Amount`), a column headed in Lek
//! (`Vlera (Lekë)`) for a number written as money, or, with nothing else in the
//! text, a figure from [`FEES`]; the same figure written in words
//! ("pesë mijë e shtatëqind lekë") is the strongest evidence. Row numbers, quantities and step numbers
//! (anything under 100) never count; dates, times, IBANs and references are
//! not numbers here. When the best-supported figures disagree the answer is
//! `None`: a doubtful amount is worse than none.

use crate::parse::text::fold_char;

/// Residence-permit fees the Directorate's waybills are known to carry.
pub(crate) const FEES: &[u64] = &[2850, 5700, 6200, 8450, 10400, 12000];

/// Smallest and largest figure taken for an amount.
const MIN: u64 = 100;
const MAX: u64 = 10_000_000;

/// Labels that name the amount to pay (folded: no diacritics, lower case).
const LABELS: &[&str] = &[
    "shuma",
    "vlera",
    "totali",
    "total",
    "amount",
    "tarifa",
    "tarife",
    "per t'u paguar",
    "per tu paguar",
    "per te paguar",
    "fee",
    "importo",
    "betrag",
    "montant",
    "monto",
    "summe",
    "pagesa",
    "pagese",
    "pageses",
    "shumen",
    "shumes",
    "vleren",
    "vleres",
    "detyrimi",
    "kosto",
    "due",
    "cmimi",
];

/// Currency words, whole words only.
const CURRENCY: &[&str] = &["lek", "leke", "leket", "lekesh", "all", "l"];

/// Other currencies: a figure beside one of these is not an amount in Lek.
const FOREIGN: &[&str] = &["eur", "euro", "usd", "chf", "gbp", "$", "€", "£", "%"];

struct Cand {
    start: usize,
    end: usize,
    value: u64,
    money: bool,
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
        let mut money = false;
        while let Some(&c) = t.get(i) {
            let three = digit(i + 1) && digit(i + 2) && digit(i + 3) && !digit(i + 4);
            let is_thousand_sep = matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.' | ',' | '\'');
            if is_thousand_sep && three && first_len <= 3 && sep.is_none_or(|s| s == c) {
                sep = Some(c);
                money = true;
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
                && digit(i + 2)
                && !digit(i + 3);
            if dec {
                money = true;
                i += 3;
            }
            break;
        }
        // Dates, times, phone numbers, references and account numbers are not amounts.
        let glued = |c: Option<&char>| c.is_some_and(|c| matches!(c, '/' | '-' | ':' | '.' | ','));
        let next_glued = glued(t.get(i)) && digit(i + 1);
        let prev_glued = start >= 2 && glued(t.get(start - 1)) && digit(start - 2);
        // "5700Lekë" is a figure and its currency run together; "5700AB" is a code.
        let letter_after =
            t.get(i).is_some_and(|c| c.is_alphanumeric()) && !is_currency(&word_at(t, i));
        if !next_glued && !prev_glued && !letter_after && first_len <= 9 {
            out.push(Cand {
                start,
                end: i,
                value: v,
                money,
            });
        }
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

/// The word (letters and apostrophes) starting at `k`, if any.
fn word_at(t: &[char], k: usize) -> String {
    t[k.min(t.len())..]
        .iter()
        .take_while(|c| c.is_alphabetic())
        .take(12)
        .collect()
}

fn is_currency(w: &str) -> bool {
    CURRENCY.contains(&w)
}

/// Folded text, newlines kept, every other whitespace a space (1:1 with the original).
fn folded(text: &str) -> Vec<char> {
    text.chars()
        .take(1 << 20)
        .map(|c| if c == '\n' { '\n' } else { fold_char(c) })
        .collect()
}

fn line_start(t: &[char], k: usize) -> usize {
    t[..k].iter().rposition(|&c| c == '\n').map_or(0, |p| p + 1)
}

fn has_label(s: &str) -> bool {
    LABELS.iter().any(|l| {
        s.match_indices(l).any(|(p, _)| {
            // Whole word at its start ("vlera", not "zhvlerasim").
            !s[..p].chars().next_back().is_some_and(char::is_alphabetic)
        })
    })
}

/// Evidence that a candidate is the amount in Lek; 0 for none.
/// Whether a foreign currency or a percent sign sits right beside the figure.
fn foreign(t: &[char], c: &Cand) -> bool {
    let mut k = c.end;
    while k < t.len() && k < c.end + 3 && t[k] == ' ' {
        k += 1;
    }
    let mut b = c.start;
    while b > 0 && c.start - b < 3 && matches!(t[b - 1], ' ' | ':') {
        b -= 1;
    }
    let after: String = t[k..]
        .iter()
        .take_while(|c| !c.is_whitespace() && !c.is_ascii_digit())
        .take(4)
        .collect();
    let before: String = {
        let w: Vec<char> = t[..b]
            .iter()
            .rev()
            .take_while(|c| !c.is_whitespace())
            .take(4)
            .copied()
            .collect();
        w.into_iter().rev().collect()
    };
    let is = |w: &str| {
        let w = w.trim_matches(|c: char| matches!(c, '.' | ',' | ')' | '(' | ':'));
        FOREIGN.contains(&w) || w.starts_with(['$', '€', '£', '%'])
    };
    is(&after) || is(&before)
}

fn score(t: &[char], c: &Cand, header_above: bool) -> u32 {
    if foreign(t, c) {
        return 0;
    }
    let mut s = 0;
    // Currency right after ("5700 Lekë", "5,700.00 ALL") or right before ("ALL 5700").
    let mut k = c.end;
    while k < t.len() && k < c.end + 3 && t[k] == ' ' {
        k += 1;
    }
    if is_currency(&word_at(t, k))
        && !t
            .get(k + word_at(t, k).chars().count())
            .is_some_and(|c| c.is_alphanumeric())
    {
        s += 4;
    }
    let mut b = c.start;
    while b > 0 && c.start - b < 3 && matches!(t[b - 1], ' ' | ':') {
        b -= 1;
    }
    let before_word: String = {
        let w: Vec<char> = t[..b]
            .iter()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .copied()
            .collect();
        w.into_iter().rev().collect()
    };
    if b < c.start && matches!(before_word.as_str(), "all" | "lek" | "leke") {
        s += 4;
    }
    // A label earlier on the same line, or a line above that holds only a label.
    let ls = line_start(t, c.start);
    let line_before: String = t[ls.max(c.start.saturating_sub(80))..c.start]
        .iter()
        .collect();
    if has_label(&line_before) {
        s += 3;
    } else if ls > 0 {
        let prev_start = line_start(t, ls - 1);
        let prev: String = t[prev_start..ls - 1].iter().collect();
        if has_label(&prev)
            && !prev.chars().any(|c| c.is_ascii_digit())
            && prev.chars().count() < 60
        {
            s += 2;
        }
    }
    if header_above && c.money {
        s += 2;
    }
    s
}

/// Whether a line within the few above `k` heads a column in Lek ("Vlera (Lekë)").
fn lek_header_above(t: &[char], k: usize) -> bool {
    let mut ls = line_start(t, k);
    for _ in 0..6 {
        if ls == 0 {
            return false;
        }
        let prev = line_start(t, ls - 1);
        let line: String = t[prev..ls - 1].iter().collect();
        if line.contains("(lek")
            || line.contains("(all)")
            || line.contains("ne lek")
            || line.contains("in lek")
        {
            return true;
        }
        ls = prev;
    }
    false
}

/// The amount in Lek in a waybill's text, or `None` when the text does not
/// say which figure it is, or says it ambiguously.
pub fn amount(text: &str) -> Option<u64> {
    let t = folded(text);
    let in_words = super::words::amount_in_words(&t.iter().collect::<String>());
    let cands: Vec<Cand> = numbers(&t)
        .into_iter()
        .filter(|c| (MIN..=MAX).contains(&c.value))
        .collect();
    // The same figure written in words beside it is the strongest evidence.
    let scored: Vec<(u32, u64)> = cands
        .iter()
        .map(|c| {
            let words = if in_words == Some(c.value) { 5 } else { 0 };
            (score(&t, c, lek_header_above(&t, c.start)) + words, c.value)
        })
        .collect();
    let top = scored.iter().map(|s| s.0).max().unwrap_or(0);
    if top == 0 {
        // Nothing labelled: only a known fee, alone, is believed.
        let mut fees: Vec<u64> = cands
            .iter()
            .map(|c| c.value)
            .filter(|v| FEES.contains(v))
            .collect();
        fees.dedup();
        return match fees.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
    }
    let mut best: Vec<u64> = scored.iter().filter(|s| s.0 == top).map(|s| s.1).collect();
    best.sort_unstable();
    best.dedup();
    match best.as_slice() {
        [one] => Some(*one),
        many => {
            let fees: Vec<u64> = many.iter().copied().filter(|v| FEES.contains(v)).collect();
            match fees.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        }
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
            ("ALL 5,700.00", 5700),
            ("Lekë 5.700", 5700),
            ("Pagesa: 5700 L", 5700),
            ("Fee 5700.00", 5700),
            ("Pagesa per leje qendrimi\n5700", 5700),
            ("Shuma:\n10 400,00", 10400),
            ("IBAN AL47212110090000000235698741 Shuma 3 200,50 Lekë", 3200),
            ("IBAN: AL47 2121 1009 0000 0002 3569 8741\nShuma: 2 850,00 Lekë\nShuma me fjalë: dy mijë e tetëqind e pesëdhjetë lekë", 2850),
        ] {
            assert_eq!(amount(t), Some(v), "{t}");
        }
    }

    #[test]
    fn invoice_rows_are_not_amounts() {
        // Issue 18 cause 9: the row number or quantity 1 beside "Vlera (Lekë)".
        let t =
            "Nr. Përshkrimi Sasia Çmimi Vlera (Lekë)\n1 Tarifë leje qëndrimi 1 5 700,00 5 700,00\n";
        assert_eq!(amount(t), Some(5700));
        let t = "Nr.\nPërshkrimi\nSasia\nVlera (Lekë)\n1\nTarifë\n1\n8 450,00\n";
        assert_eq!(amount(t), Some(8450));
        assert_eq!(amount("Vlera (Lekë)\n1\n1\n"), None);
    }

    #[test]
    fn no_amount() {
        assert_eq!(amount("Faleminderit"), None);
        assert_eq!(amount("Data 22/12/2021 ora 09:14"), None);
        assert_eq!(amount("ref 2021 and 4431 and 7788"), None);
        // Step numbers, floors and rooms in instructions are not amounts.
        assert_eq!(
            amount("Hapi 3: Paguani tarifën në çdo bankë.\nKati 2, zyra 14"),
            None
        );
        assert_eq!(amount("Shuma: 1"), None);
        // Two different labelled amounts, neither a known fee: doubtful.
        assert_eq!(amount("Shuma: 4 100 Lekë\nTotali: 4 300 Lekë"), None);
    }

    #[test]
    fn foreign_currency_and_run_together() {
        assert_eq!(amount("Shuma: 150 EUR"), None);
        assert_eq!(amount("Shuma: € 150,00"), None);
        assert_eq!(
            amount("Totali: 5 700,00 Lekë\nKomisioni: 2 %\nNë euro: 49,00 EUR"),
            Some(5700)
        );
        assert_eq!(amount("Shuma 5700Lekë"), Some(5700));
        assert_eq!(amount("Kodi 5700AB"), None);
        assert_eq!(amount("Vlera e pagesës: 8 450"), Some(8450));
    }

    #[test]
    fn words_settle_a_conflict() {
        let t = "Shuma: 4 100 Lekë\nTotali: 4 300 Lekë\nMe fjalë: katër mijë e treqind lekë";
        assert_eq!(amount(t), Some(4300));
    }
}
