//! `[web]`: the staff console (issue 19), served on the `[http]` listener.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::units::NumOrText;

/// `[web]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebFile {
    /// Serve the console at `/` (needs `[http] enabled`). Default true.
    pub console: Option<bool>,
    /// The address staff open, e.g. `https://leje.example.al` (a reverse proxy with TLS).
    /// Cookies are `Secure` when it is https. Default: `http://<http.listen>`.
    pub public_url: Option<String>,
    /// A session ends after this long without a request. Default `2h`.
    pub session_idle: Option<NumOrText>,
    /// A session ends this long after login. Default `12h`.
    pub session_max: Option<NumOrText>,
    /// A case in an active stage unchanged this long counts as stalled. Default `14d`.
    pub stalled_after: Option<NumOrText>,
    /// Single sign-on: the header a reverse proxy (oauth2-proxy, Authelia) sets to the
    /// authenticated user's address, e.g. `X-Forwarded-Email`. Default: none (off).
    pub sso_header: Option<String>,
    /// The proxies trusted to set `sso_header` and `X-Forwarded-For`. Required with `sso_header`.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// `[web]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    pub console: bool,
    pub public_url: Option<String>,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub stalled_after: Duration,
    pub sso_header: Option<String>,
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            console: true,
            public_url: None,
            session_idle: Duration::from_secs(2 * 3600),
            session_max: Duration::from_secs(12 * 3600),
            stalled_after: Duration::from_secs(14 * 86400),
            sso_header: None,
            trusted_proxies: Vec::new(),
        }
    }
}

impl WebSettings {
    /// Where staff open the console.
    pub fn console_url(&self, listen: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string() + "/",
            None => format!("http://{listen}/"),
        }
    }

    /// Cookies get `Secure` behind https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
