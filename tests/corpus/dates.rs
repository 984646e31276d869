//! The forwarded original's date in each email-forward-parser body, read off the files by
//! hand, as the `notified_at` leje must give: the zone written in the block where it has
//! one (`GMT+3`, `EEST`, `OESZ`, `CEST`, `UTC+2`, `-0400`, `EST`, `CET`), else Europe/Tirane
//! local time (CEST, +02:00, until 31 October 2021; CET, +01:00, in November and February).
//! The first prefix a file name starts with wins; `02/10/2023 4:52 PM EST` (slashes and a
//! 12-hour clock) is the US order.

pub const FORWARD_DATES: &[(&str, &str)] = &[
    ("apple_mail_en_body_variant_4", "2021-10-25T11:43:00+02:00"),
    ("apple_mail_en_body_variant_6", "2021-07-16T19:24:14+02:00"),
    ("apple_mail_en_body_variant_7", "2021-07-16T19:24:14+02:00"),
    ("apple_mail_en_body_variant_13", "2022-08-17T09:06:24+02:00"),
    ("apple_mail_en", "2021-10-25T11:17:21+03:00"),
    ("apple_mail", "2021-10-26T14:25:08+03:00"),
    ("gmail_en_body_variant_14", "2023-04-06T16:17:00+02:00"),
    ("gmail_en_body_variant_15", "2023-04-06T16:17:00+02:00"),
    ("gmail", "2021-10-27T09:31:00+02:00"),
    ("hubspot_en_body_variant_4", "2022-09-20T03:44:00+02:00"),
    ("hubspot_fr", "2022-09-19T15:20:05+02:00"),
    ("hubspot", "2022-09-19T17:55:44-04:00"),
    ("ionos", "2023-02-10T16:52:00-05:00"),
    ("mailmate", "2021-10-27T09:31:00+00:00"),
    ("missive_en_body_variant_3", "2022-07-01T17:03:00+02:00"),
    ("missive_en_body_variant", "2022-07-19T15:36:00+02:00"),
    ("missive", "2022-07-19T15:09:00+02:00"),
    (
        "new_outlook_2019_en_body_variant_14",
        "2023-04-06T16:17:00+02:00",
    ),
    (
        "new_outlook_2019_en_body_variant_15",
        "2023-04-06T16:17:00+02:00",
    ),
    ("new_outlook_2019_cs", "2021-10-28T12:06:00+02:00"),
    ("new_outlook_2019_da", "2021-10-28T12:06:00+02:00"),
    ("new_outlook_2019_fi", "2021-10-28T12:06:00+02:00"),
    ("new_outlook_2019_fr", "2021-10-28T12:06:00+02:00"),
    ("new_outlook_2019_nl", "2021-10-28T12:06:00+02:00"),
    ("new_outlook_2019", "2021-10-28T12:46:00+02:00"),
    ("outlook_2013", "2021-10-25T11:17:00+02:00"),
    ("outlook_2019", "2021-10-28T12:46:00+02:00"),
    (
        "outlook_live_en_body_variant_14",
        "2023-04-06T16:17:00+02:00",
    ),
    (
        "outlook_live_en_body_variant_15",
        "2023-04-06T16:17:00+02:00",
    ),
    ("outlook_live", "2021-10-27T15:14:00+02:00"),
    (
        "thunderbird_en_body_variant_14",
        "2023-04-06T16:17:00+02:00",
    ),
    (
        "thunderbird_en_body_variant_15",
        "2023-04-06T16:17:00+02:00",
    ),
    ("thunderbird", "2021-11-03T15:51:30+01:00"),
    ("unknown_en_body_variant_12", "2022-07-23T07:53:00+02:00"),
    ("yahoo_en_body_variant_4", "2021-11-02T15:01:36+01:00"),
    ("yahoo", "2021-11-02T09:26:50+01:00"),
];

/// Bodies whose original carries no address at all: `original_from` must be null (never
/// the forwarder's). An attribution without an address ("On 03/11/2021 15:51, John Doe
/// wrote:") is not recognised, so the notice under it has no date either (`false`); a
/// `From:` block without an address still gives its date (`true`).
pub const NO_ADDRESS: &[(&str, bool)] = &[
    ("mailmate_en_body_variant_4", false),
    ("thunderbird_en_body_variant_4", false),
    ("unknown_en_body_variant_12", true),
];

/// The expected date of a body, by the first prefix its name starts with.
pub fn expected_date(name: &str) -> &'static str {
    FORWARD_DATES
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .unwrap_or_else(|| panic!("{name}: no expected date in FORWARD_DATES"))
        .1
}
