//! An amount written in words ("Shuma me fjalë: pesë mijë e shtatëqind lekë",
//! "In words: five thousand seven hundred"), read from folded text (no
//! diacritics, lower case), to confirm a figure printed beside it.

const UNITS: &[(&str, u64)] = &[
    ("nje", 1),
    ("dy", 2),
    ("tre", 3),
    ("tri", 3),
    ("kater", 4),
    ("pese", 5),
    ("gjashte", 6),
    ("shtate", 7),
    ("tete", 8),
    ("nente", 9),
    ("dhjete", 10),
    ("njezet", 20),
    ("tridhjete", 30),
    ("dyzet", 40),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

/// The value of one Albanian or English number word (compounds like
/// "pesembedhjete", "pesedhjete", "shtateqind" included).
fn word(w: &str) -> Option<u64> {
    if let Some(&(_, v)) = UNITS.iter().find(|(k, _)| *k == w) {
        return Some(v);
    }
    let unit = |s: &str| {
        UNITS
            .iter()
            .find(|(k, v)| *k == s && *v < 10)
            .map(|(_, v)| *v)
    };
    if let Some(u) = w.strip_suffix("mbedhjete").and_then(unit) {
        return Some(10 + u);
    }
    if let Some(u) = w.strip_suffix("dhjete").and_then(unit) {
        return Some(u * 10);
    }
    if let Some(u) = w.strip_suffix("qind").and_then(unit) {
        return Some(u * 100);
    }
    None
}

/// The first amount written in words after "fjale" or "in words", if any.
pub(super) fn amount_in_words(folded: &str) -> Option<u64> {
    let at = ["fjale", "in words"]
        .iter()
        .filter_map(|k| folded.find(k).map(|p| p + k.len()))
        .min()?;
    let (mut total, mut current, mut seen, mut skipped) = (0u64, 0u64, false, 0);
    for w in folded[at..]
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(24)
    {
        match w {
            "e" | "and" | "a" => {}
            "qind" | "hundred" => current = current.max(1) * 100,
            "mije" | "thousand" => {
                total += current.max(1) * 1000;
                current = 0;
            }
            "milion" | "million" => {
                total = (total + current.max(1)) * 1_000_000;
                current = 0;
            }
            _ => match word(w) {
                Some(v) => current += v,
                None if seen || skipped >= 3 => break,
                None => {
                    skipped += 1;
                    continue;
                }
            },
        }
        seen = true;
    }
    let v = total + current;
    (seen && v > 0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::amount_in_words;

    #[test]
    fn albanian_and_english_words() {
        for (t, v) in [
            ("shuma me fjale: pese mije e shtateqind leke", 5700),
            ("me fjale: dy mije e teteqind e pesedhjete leke", 2850),
            ("me fjale: dymbedhjete mije leke", 12000),
            ("me fjale: dhjete mije e katerqind leke", 10400),
            ("me fjale: tete mije e katerqind e pesedhjete leke", 8450),
            ("amount in words: five thousand seven hundred lek", 5700),
            ("in words: six thousand two hundred", 6200),
        ] {
            assert_eq!(amount_in_words(t), Some(v), "{t}");
        }
        assert_eq!(amount_in_words("shuma: 5700"), None);
        assert_eq!(amount_in_words("me fjale: leke"), None);
    }
}
