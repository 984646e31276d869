//! `[followup]`: reminders, one-click links and replies (issue 20). The file
//! form ([`FollowupFile`]) and the validated settings ([`FollowupSettings`]);
//! validation is in `validate/followup.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::units::NumOrText;
use crate::store::Stage;

/// `[followup]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupFile {
    /// Run the reminder pass in the daemon. Default true.
    pub reminders: Option<bool>,
    /// How often the daemon runs the pass. Default `15m`.
    pub interval: Option<NumOrText>,
    /// Reminders per stage before the case is flagged stalled for staff. Default 2.
    pub max_reminders: Option<i64>,
    /// Time of the applicant's day (Europe/Tirane) when reminders may be
    /// queued, `HH:MM-HH:MM`. Default `09:00-19:00`.
    pub window: Option<String>,
    /// Delay per stage from entering it (or from the last reminder) to the next
    /// reminder. Keys: approved, address_confirmed, fee_paid (default `10d`),
    /// nid_pending (`7d`), applied, card_ready (`14d`). Unlisted stages get none.
    #[serde(default)]
    pub after: BTreeMap<String, NumOrText>,
    /// Base URL of the public one-click pages, e.g. `https://leje.example.al`.
    /// Default: none (emails carry no links and no List-Unsubscribe).
    pub public_url: Option<String>,
    /// How long a link stays valid. Default `60d`.
    pub link_ttl: Option<NumOrText>,
    /// The HMAC key file for links. Default: `$CREDENTIALS_DIRECTORY/leje-link-key`
    /// when that exists (systemd credential), else `<state_dir>/link.key`, created
    /// (0600) on first use.
    pub key_file: Option<PathBuf>,
    /// `Reply-To` of every email leje sends: the shared inbox. Default: none.
    pub reply_to: Option<String>,
}

/// Validated `[followup]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowupSettings {
    pub reminders: bool,
    pub interval: Duration,
    pub max_reminders: u32,
    /// Minutes after local midnight (Europe/Tirane): from, until.
    pub window: (u32, u32),
    /// Stages that are reminded and their delays, in stage order.
    pub after: Vec<(Stage, Duration)>,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub link_ttl: Duration,
    pub key_file: Option<PathBuf>,
    pub reply_to: Option<String>,
}

/// The stages reminded by default and their delays.
pub const DEFAULT_AFTER: [(Stage, u64); 6] = [
    (Stage::Approved, 10),
    (Stage::AddressConfirmed, 10),
    (Stage::FeePaid, 10),
    (Stage::NidPending, 7),
    (Stage::Applied, 14),
    (Stage::CardReady, 14),
];

impl Default for FollowupSettings {
    fn default() -> Self {
        FollowupSettings {
            reminders: true,
            interval: Duration::from_secs(15 * 60),
            max_reminders: 2,
            window: (9 * 60, 19 * 60),
            after: DEFAULT_AFTER
                .iter()
                .map(|(s, d)| (*s, Duration::from_secs(d * 86400)))
                .collect(),
            public_url: None,
            link_ttl: Duration::from_secs(60 * 86400),
            key_file: None,
            reply_to: None,
        }
    }
}
