//! The periods of the Law on Albanian Citizenship, in one table.
//!
//! Law No. 8389 of 5 August 1998 "On Albanian Citizenship" (as amended). These are
//! the defaults; `[citizenship]` in the configuration overrides each of them, since
//! laws change and operators must check the law in force.

use serde::Serialize;

/// The periods the rules count, in whole years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Law {
    /// Art. 9: lawful residence for not less than five consecutive years (general route).
    pub general_years: u32,
    /// Art. 9: three years for a person of Albanian origin (up to the second degree).
    pub albanian_origin_years: u32,
    /// Art. 10: married to an Albanian citizen for at least three years…
    pub marriage_years: u32,
    /// Art. 10: …and resided continuously and lawfully for at least one year.
    pub marriage_residence_years: u32,
    /// Art. 9: at least 18 years old (not considered for a stateless person).
    pub adult_age: u32,
}

/// One period of the law: its configuration key, its value, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The key in `[citizenship]`.
    pub key: &'static str,
    pub years: u32,
    /// The article of Law No. 8389 that sets it.
    pub article: &'static str,
    pub what: &'static str,
}

/// The table: Law No. 8389 of 5 August 1998.
pub const LAW_8389: [Period; 5] = [
    Period {
        key: "general_years",
        years: 5,
        article: "art. 9",
        what: "consecutive years of lawful residence (general route)",
    },
    Period {
        key: "albanian_origin_years",
        years: 3,
        article: "art. 9",
        what: "consecutive years of lawful residence for a person of Albanian origin",
    },
    Period {
        key: "marriage_years",
        years: 3,
        article: "art. 10",
        what: "years of marriage to an Albanian citizen",
    },
    Period {
        key: "marriage_residence_years",
        years: 1,
        article: "art. 10",
        what: "years of continuous lawful residence for the spouse of an Albanian citizen",
    },
    Period {
        key: "adult_age",
        years: 18,
        article: "art. 9",
        what: "years of age (not considered for a stateless person)",
    },
];

/// The article that sets a period, by its key.
pub fn article(key: &str) -> &'static str {
    LAW_8389
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.article)
        .unwrap_or("Law No. 8389")
}

impl Default for Law {
    /// The values of [`LAW_8389`].
    fn default() -> Law {
        let v = |key: &str| {
            LAW_8389
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.years)
                .unwrap_or_default()
        };
        Law {
            general_years: v("general_years"),
            albanian_origin_years: v("albanian_origin_years"),
            marriage_years: v("marriage_years"),
            marriage_residence_years: v("marriage_residence_years"),
            adult_age: v("adult_age"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_law_s_values() {
        let l = Law::default();
        assert_eq!(
            (
                l.general_years,
                l.albanian_origin_years,
                l.marriage_years,
                l.marriage_residence_years,
                l.adult_age
            ),
            (5, 3, 3, 1, 18)
        );
        assert_eq!(article("marriage_years"), "art. 10");
    }
}
