//! Durations (`90s`, `5m`, `1h30m`, `2d`, or integer seconds) and sizes
//! (`25MB`, `25MiB`, `500KB`, or integer bytes) as written in the config.

use std::time::Duration;

/// A value that may be written as an integer or as a string with a unit.
/// Kept raw by the file structs and interpreted during validation, so one bad
/// value does not hide the other errors in the same table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumOrText {
    Int(i64),
    Text(String),
}

impl<'de> serde::Deserialize<'de> for NumOrText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NumOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string with a unit")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NumOrText, E> {
                Ok(NumOrText::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NumOrText, E> {
                Ok(NumOrText::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NumOrText, E> {
                Ok(NumOrText::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl std::fmt::Display for NumOrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumOrText::Int(i) => write!(f, "{i}"),
            NumOrText::Text(s) => f.write_str(s),
        }
    }
}

/// Parse a positive duration. Units: `ms`, `s`, `m`, `h`, `d`; parts may be
/// combined (`1h30m`); a bare integer is seconds.
pub fn parse_duration(v: &NumOrText) -> Result<Duration, String> {
    let d = match v {
        NumOrText::Int(i) if *i <= 0 => {
            return Err(format!("`{i}` is not a positive duration"));
        }
        NumOrText::Int(i) => Duration::from_secs(*i as u64),
        NumOrText::Text(s) => parse_duration_str(s)?,
    };
    if d.is_zero() {
        return Err(format!("`{v}` is not a positive duration"));
    }
    Ok(d)
}

fn parse_duration_str(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{s}` is not a duration (write e.g. `90s`, `5m`, `1h30m`, `2d`, or seconds)");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" | "sec" | "secs" => Duration::from_secs(n),
            "m" | "min" | "mins" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            "d" => Duration::from_secs(n.checked_mul(86_400).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

/// Parse a positive size in bytes: `B`, `KB`/`MB`/`GB` (powers of 1000),
/// `KiB`/`MiB`/`GiB` (powers of 1024), case-insensitive; a bare integer is bytes.
pub fn parse_size(v: &NumOrText) -> Result<u64, String> {
    let n = match v {
        NumOrText::Int(i) if *i <= 0 => return Err(format!("`{i}` is not a positive size")),
        NumOrText::Int(i) => *i as u64,
        NumOrText::Text(s) => parse_size_str(s)?,
    };
    if n == 0 {
        return Err(format!("`{v}` is not a positive size"));
    }
    Ok(n)
}

fn parse_size_str(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a size (write e.g. `25MB`, `25MiB`, `500KB`, or bytes)");
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits == 0 {
        return Err(bad());
    }
    let n: u64 = t[..digits].parse().map_err(|_| bad())?;
    let mult: u64 = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// Show a duration the way the config writes it (`90s`, `5m`, `2d`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_millis() != 0 || s == 0 {
        return format!("{}ms", d.as_millis());
    }
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NumOrText {
        NumOrText::Text(s.into())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration(&t("90s")), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(&t("5m")), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration(&t("1h")), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration(&t("2d")), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(&t("1h30m")), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(&t("250ms")), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(&t("45")), Ok(Duration::from_secs(45)));
        assert_eq!(
            parse_duration(&NumOrText::Int(60)),
            Ok(Duration::from_secs(60))
        );
        for bad in ["", "m", "5x", "-5m", "5.5m", "0s"] {
            let e = parse_duration(&t(bad)).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        assert!(parse_duration(&NumOrText::Int(0)).is_err());
        assert!(parse_duration(&NumOrText::Int(-1)).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(&t("25MB")), Ok(25_000_000));
        assert_eq!(parse_size(&t("25MiB")), Ok(25 * 1024 * 1024));
        assert_eq!(parse_size(&t("500KB")), Ok(500_000));
        assert_eq!(parse_size(&t("500 kib")), Ok(512_000));
        assert_eq!(parse_size(&t("1GiB")), Ok(1 << 30));
        assert_eq!(parse_size(&NumOrText::Int(4096)), Ok(4096));
        for bad in ["", "MB", "25XB", "0", "1.5MB", "99999999999999999999GB"] {
            assert!(parse_size(&t(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for s in ["90s", "5m", "1h", "2d", "250ms"] {
            let d = parse_duration(&t(s)).unwrap();
            assert_eq!(format_duration(d), s);
        }
    }
}
