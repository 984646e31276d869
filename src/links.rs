//! Signed one-click links (issue 20): "I have paid", "I have applied", …
//!
//! A token names one case, one step and an expiry, and carries an HMAC-SHA256
//! over them (truncated to 128 bits) with a key kept in the state directory
//! (created 0600 on first use) or handed in as a systemd credential. Nothing in
//! a token is personal: a case number, a step name, a time.
//!
//! `42.paid.1767225600.3f1c…` = case 42, step `paid`, valid until that Unix time.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::config::Settings;
use crate::parse::Language;
use crate::store::Stage;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a token.
const MAC_LEN: usize = 16;
/// Shortest key accepted.
const MIN_KEY: usize = 32;
/// The systemd credential's name.
pub const CREDENTIAL: &str = "leje-link-key";

/// What a link reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    AddressConfirmed,
    FeePaid,
    Applied,
    /// "My ID number was not ready yet".
    NidPending,
    Collected,
    /// RFC 8058 one-click unsubscribe from reminders.
    Unsubscribe,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::AddressConfirmed,
        Step::FeePaid,
        Step::Applied,
        Step::NidPending,
        Step::Collected,
        Step::Unsubscribe,
    ];

    /// The name in tokens and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::AddressConfirmed => "address",
            Step::FeePaid => "paid",
            Step::Applied => "applied",
            Step::NidPending => "nid",
            Step::Collected => "collected",
            Step::Unsubscribe => "unsubscribe",
        }
    }

    fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The stage the step moves a case to (`None` for unsubscribe).
    pub fn stage(self) -> Option<Stage> {
        Some(match self {
            Step::AddressConfirmed => Stage::AddressConfirmed,
            Step::FeePaid => Stage::FeePaid,
            Step::Applied => Stage::Applied,
            Step::NidPending => Stage::NidPending,
            Step::Collected => Stage::Collected,
            Step::Unsubscribe => return None,
        })
    }

    /// What the applicant says by clicking.
    pub fn label(self, lang: Language) -> &'static str {
        use Language::*;
        match (self, lang) {
            (Step::AddressConfirmed, En) => "I have confirmed my address",
            (Step::AddressConfirmed, Sq) => "E kam konfirmuar adresën",
            (Step::FeePaid, En) => "I have paid",
            (Step::FeePaid, Sq) => "E kam paguar tarifën",
            (Step::Applied, En) => "I have applied",
            (Step::Applied, Sq) => "E kam bërë aplikimin",
            (Step::NidPending, En) => "My ID number was not ready yet",
            (Step::NidPending, Sq) => "Numri im i identitetit nuk ishte gati ende",
            (Step::Collected, En) => "I have collected my card",
            (Step::Collected, Sq) => "E kam tërhequr kartën",
            (Step::Unsubscribe, En) => "Stop the reminders",
            (Step::Unsubscribe, Sq) => "Ndaloni kujtesat",
        }
    }

    /// The steps still open at `stage`, in the order they are done.
    pub fn open_at(stage: Stage) -> Vec<Step> {
        use Stage::*;
        let all = [
            (Step::AddressConfirmed, AddressConfirmed),
            (Step::FeePaid, FeePaid),
            (Step::Applied, Applied),
            (Step::Collected, Collected),
        ];
        let mut out: Vec<Step> = all
            .iter()
            .filter(|(_, s)| stage.allowed_next(None).contains(s))
            .map(|(st, _)| *st)
            .collect();
        if matches!(stage, Approved | AddressConfirmed | FeePaid | Applied) {
            let at = out
                .iter()
                .position(|s| *s == Step::Collected)
                .unwrap_or(out.len());
            out.insert(at, Step::NidPending);
        }
        out
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token, or its MAC does not match (forged or altered).
    #[error("the link is not valid")]
    Forged,
    /// Authentic but past its expiry.
    #[error("the link has expired")]
    Expired,
}

/// A verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub case_id: i64,
    pub step: Step,
    pub expires: DateTime<Utc>,
}

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("link key `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("link key `{}` is shorter than {MIN_KEY} bytes", path.display())]
    Short { path: PathBuf },
}

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// A signer with this key (tests, and keys from elsewhere).
    pub fn from_key(key: &[u8]) -> Signer {
        Signer { key: key.to_vec() }
    }

    /// The key file the settings name: `followup.key_file`, else the systemd
    /// credential, else `<state_dir>/link.key`.
    pub fn key_path(settings: &Settings) -> PathBuf {
        if let Some(p) = &settings.followup.key_file {
            return p.clone();
        }
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let p = Path::new(&dir).join(CREDENTIAL);
            if p.is_file() {
                return p;
            }
        }
        settings.state_dir.join("link.key")
    }

    /// Loads the key at `path`, creating it (random, 0600) when absent.
    pub fn load_or_create(path: &Path) -> Result<Signer, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(k) => {
                let k = k.trim_ascii().to_vec();
                if k.len() < MIN_KEY {
                    return Err(KeyError::Short {
                        path: path.to_owned(),
                    });
                }
                Ok(Signer { key: k })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut raw = [0u8; 32];
                use std::io::Read;
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut raw))
                    .map_err(io)?;
                let text = hex::encode(raw);
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path);
                match created {
                    Ok(mut f) => {
                        f.write_all(text.as_bytes()).map_err(io)?;
                        f.sync_all().map_err(io)?;
                        Ok(Signer {
                            key: text.into_bytes(),
                        })
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Signer::load_or_create(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(b"leje-link-v1\0");
        m.update(payload.as_bytes());
        m
    }

    /// A token for `step` of `case_id`, valid until `expires`.
    pub fn sign(&self, case_id: i64, step: Step, expires: DateTime<Utc>) -> String {
        let payload = format!("{case_id}.{}.{}", step.as_str(), expires.timestamp());
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", hex::encode(&tag[..MAC_LEN]))
    }

    /// Checks a token's MAC (in constant time), then its expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Link, LinkError> {
        if token.len() > 200 {
            return Err(LinkError::Forged);
        }
        let (payload, tag) = token.rsplit_once('.').ok_or(LinkError::Forged)?;
        let tag = hex::decode(tag).map_err(|_| LinkError::Forged)?;
        if tag.len() != MAC_LEN {
            return Err(LinkError::Forged);
        }
        self.mac(payload)
            .verify_truncated_left(&tag)
            .map_err(|_| LinkError::Forged)?;
        let mut parts = payload.split('.');
        let (Some(case), Some(step), Some(exp), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Forged);
        };
        let case_id: i64 = case.parse().map_err(|_| LinkError::Forged)?;
        let step = Step::parse(step).ok_or(LinkError::Forged)?;
        let exp: i64 = exp.parse().map_err(|_| LinkError::Forged)?;
        let expires = DateTime::from_timestamp(exp, 0).ok_or(LinkError::Forged)?;
        if now > expires {
            return Err(LinkError::Expired);
        }
        Ok(Link {
            case_id,
            step,
            expires,
        })
    }
}

/// Hex sha256 of a token: what the store keeps of a used link.
pub fn token_sha256(token: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// One link in an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepLink {
    /// [`Step::as_str`], for templates that word it themselves.
    pub step: &'static str,
    pub label: &'static str,
    pub url: String,
}

/// The links an email carries (the template variable `followup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailLinks {
    /// The case's stage when the email was rendered.
    pub stage: &'static str,
    pub steps: Vec<StepLink>,
    /// The RFC 8058 one-click unsubscribe URL (also in `List-Unsubscribe`).
    pub unsubscribe: String,
}

/// The links of an email for `case_id` at `stage`, valid for `ttl` from `now`.
pub fn email_links(
    signer: &Signer,
    base_url: &str,
    case_id: i64,
    stage: Stage,
    lang: Language,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> EmailLinks {
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(60));
    let url = |step: Step| format!("{base_url}/l/{}", signer.sign(case_id, step, expires));
    EmailLinks {
        stage: stage.as_str(),
        steps: Step::open_at(stage)
            .into_iter()
            .map(|s| StepLink {
                step: s.as_str(),
                label: s.label(lang),
                url: url(s),
            })
            .collect(),
        unsubscribe: url(Step::Unsubscribe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn round_trip_and_refusals() {
        let s = Signer::from_key(&[7u8; 32]);
        let t = s.sign(42, Step::FeePaid, at(2_000_000_000));
        let l = s.verify(&t, at(1_900_000_000)).unwrap();
        assert_eq!((l.case_id, l.step), (42, Step::FeePaid));
        // Expired.
        assert_eq!(s.verify(&t, at(2_000_000_001)), Err(LinkError::Expired));
        // Another case, another step, a longer life: each breaks the MAC.
        for forged in [
            t.replacen("42.", "43.", 1),
            t.replace(".paid.", ".collected."),
            t.replace("2000000000", "2100000000"),
        ] {
            assert_eq!(s.verify(&forged, at(0)), Err(LinkError::Forged), "{forged}");
        }
        // Another key.
        let other = Signer::from_key(&[8u8; 32]);
        assert_eq!(other.verify(&t, at(0)), Err(LinkError::Forged));
        assert_eq!(s.verify("garbage", at(0)), Err(LinkError::Forged));
    }

    #[test]
    fn open_steps_follow_the_stage() {
        assert_eq!(
            Step::open_at(Stage::FeePaid),
            vec![Step::Applied, Step::NidPending, Step::Collected]
        );
        assert_eq!(Step::open_at(Stage::Collected), vec![]);
        assert_eq!(Step::open_at(Stage::NidPending), vec![Step::Applied]);
    }

    #[test]
    fn key_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("link.key");
        let a = Signer::load_or_create(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Signer::load_or_create(&p).unwrap();
        let t = a.sign(1, Step::Applied, at(2_000_000_000));
        assert!(b.verify(&t, at(0)).is_ok());
    }
}
