//! Login, sessions, CSRF and throttling.
//!
//! A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie
//! (Secure behind https); the store keeps only its sha256, with the session's CSRF
//! token, and ends it after `web.session_idle` without use or `web.session_max`
//! after login. Failed logins are counted per account and per client address
//! over 15 minutes; past the limit, even the right password is refused.
//! With `web.sso_header`, a request from a trusted proxy carrying that header for
//! an existing account gets a session without a password.

use std::net::{IpAddr, SocketAddr};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Console, WebError};
use crate::store::{SessionLimits, StaffSession};

pub(crate) const SESSION_COOKIE: &str = "leje_session";
const PRE_COOKIE: &str = "leje_login";
/// Failed logins allowed per account in the window.
pub(crate) const MAX_PER_ACCOUNT: u64 = 5;
/// Failed logins allowed per client address in the window (several staff share an office NAT).
pub(crate) const MAX_PER_ADDRESS: u64 = 20;
const WINDOW_MINUTES: i64 = 15;

/// The logged-in staff member, as handlers and templates see them.
#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub admin: bool,
    pub language: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Staff {
    fn from_session(s: StaffSession) -> Staff {
        Staff {
            id: s.staff.id,
            email: s.staff.email,
            admin: s.staff.admin,
            language: s.staff.language,
            csrf: s.csrf,
        }
    }

    /// Refuses a form whose token is not this session's.
    pub(crate) fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if constant_eq(token.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "the form's CSRF token is missing or wrong; reload the page",
            ))
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes, hex.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn set_cookie(c: &Console, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age {
        s.push_str(&format!("; Max-Age={a}"));
    }
    if c.0.web.secure_cookies() {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn limits(c: &Console) -> SessionLimits {
    let d = |x: std::time::Duration| Duration::seconds(x.as_secs() as i64);
    SessionLimits {
        idle: d(c.0.web.session_idle),
        absolute: d(c.0.web.session_max),
    }
}

/// The client's address: the peer, or behind a trusted proxy the last hop it names.
pub(crate) fn client_ip(c: &Console, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if c.0.web.trusted_proxies.contains(&peer.ip()) {
        if let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

/// Middleware of every private page: a live session (or trusted single sign-on),
/// else a redirect to the login page (GET) or 403 (anything else).
pub(crate) async fn require_login(
    State(c): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let now = c.now();
    let mut new_cookie = None;
    let mut staff = None;
    if let Some(tok) = cookie(req.headers(), SESSION_COOKIE) {
        match c
            .store()
            .session_get(&token_hash(&tok), now, limits(&c))
            .await
        {
            Ok(s) => staff = s.map(Staff::from_session),
            Err(e) => return WebError::from(e).into_response(),
        }
    }
    if staff.is_none() {
        match sso(&c, peer, req.headers()).await {
            Ok(Some((s, tok))) => {
                staff = Some(s);
                new_cookie = Some(tok);
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    let Some(staff) = staff else {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            return Redirect::to("/login").into_response();
        }
        return WebError::Forbidden("not logged in").into_response();
    };
    req.extensions_mut().insert(staff);
    let mut r = next.run(req).await;
    if let Some(tok) = new_cookie {
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&c, SESSION_COOKIE, &tok, None),
        );
    }
    r
}

/// Single sign-on: the configured header, from a trusted proxy, naming an account.
async fn sso(
    c: &Console,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Option<(Staff, String)>, WebError> {
    let Some(h) = &c.0.web.sso_header else {
        return Ok(None);
    };
    if !c.0.web.trusted_proxies.contains(&peer.ip()) {
        return Ok(None);
    }
    let Some(email) = headers.get(h.as_str()).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((member, _)) = c.store().staff_login_info(email).await? else {
        return Ok(None);
    };
    let (token, csrf) = (random_token(), random_token());
    c.store()
        .session_create(member.id, &token_hash(&token), &csrf, c.now())
        .await?;
    tracing::info!(staff = %member.email, "console: single sign-on");
    Ok(Some((
        Staff {
            id: member.id,
            email: member.email,
            admin: member.admin,
            language: member.language,
            csrf,
        },
        token,
    )))
}

#[derive(Serialize)]
struct LoginPage<'a> {
    csrf: &'a str,
    error: Option<&'a str>,
    email: &'a str,
}

/// GET /login: the form, with a CSRF token bound to a cookie (double submit).
pub(crate) async fn login_form(State(c): State<Console>, headers: HeaderMap) -> Response {
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or_else(random_token);
    login_page(&c, &pre, None, "", StatusCode::OK)
}

fn login_page(
    c: &Console,
    pre: &str,
    error: Option<&str>,
    email: &str,
    status: StatusCode,
) -> Response {
    let page = LoginPage {
        csrf: pre,
        error,
        email,
    };
    match c.page("login.html", None, page) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(c, PRE_COOKIE, pre, None));
            r
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// POST /login.
pub(crate) async fn login(
    State(c): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    match login_inner(&c, peer, &headers, f).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn login_inner(
    c: &Console,
    peer: SocketAddr,
    headers: &HeaderMap,
    f: LoginForm,
) -> Result<Response, WebError> {
    let Some(pre) =
        cookie(headers, PRE_COOKIE).filter(|p| constant_eq(p.as_bytes(), f.csrf.as_bytes()))
    else {
        return Err(WebError::Forbidden(
            "the form's CSRF token is missing or wrong; reload the page",
        ));
    };
    let t = super::i18n::words("en");
    let email = f.email.trim().to_lowercase();
    let now = c.now();
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let acct_key = format!("account:{email}");
    let addr_key = format!("address:{}", client_ip(c, peer, headers));
    let store = c.store();
    if store.login_failures(&acct_key, since).await? >= MAX_PER_ACCOUNT
        || store.login_failures(&addr_key, since).await? >= MAX_PER_ADDRESS
    {
        tracing::warn!(staff = %email, client = %addr_key, "console: login refused (too many failures)");
        return Ok(login_page(
            c,
            &pre,
            Some(t["throttled"]),
            &email,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let info = store.staff_login_info(&email).await?;
    let hash = info.as_ref().and_then(|(_, h)| h.clone());
    let password = f.password;
    // NOTE: verified even without an account (against a fixed hash), so the time
    // taken does not tell which addresses have one.
    let ok = tokio::task::spawn_blocking(move || {
        crate::web::password::verify(&password, hash.as_deref())
    })
    .await
    .unwrap_or(false);
    let Some((member, _)) = info.filter(|_| ok) else {
        store
            .login_failed(&[&acct_key, &addr_key], now, now - Duration::days(1))
            .await?;
        tracing::info!(staff = %email, client = %addr_key, "console: login failed");
        return Ok(login_page(
            c,
            &pre,
            Some(t["login_failed"]),
            &email,
            StatusCode::UNAUTHORIZED,
        ));
    };
    store.login_failures_clear(&acct_key).await?;
    let (token, csrf) = (random_token(), random_token());
    store
        .session_create(member.id, &token_hash(&token), &csrf, now)
        .await?;
    tracing::info!(staff = %member.email, "console: logged in");
    let mut r = Redirect::to("/").into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(c, SESSION_COOKIE, &token, None),
    );
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(c, PRE_COOKIE, "", Some(0)));
    Ok(r)
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// POST /logout: the session ends in the store, not only in the browser.
pub(crate) async fn logout(
    State(c): State<Console>,
    axum::Extension(staff): axum::Extension<Staff>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    if let Some(tok) = cookie(&headers, SESSION_COOKIE) {
        c.store().session_delete(&token_hash(&tok)).await?;
    }
    tracing::info!(staff = %staff.email, "console: logged out");
    let mut r = Redirect::to("/login").into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&c, SESSION_COOKIE, "", Some(0)),
    );
    Ok(r)
}

#[derive(Deserialize)]
pub(crate) struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    language: String,
}

/// POST /language: the staff member's console language.
pub(crate) async fn language(
    State(c): State<Console>,
    axum::Extension(staff): axum::Extension<Staff>,
    headers: HeaderMap,
    Form(f): Form<LanguageForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    let lang = match f.language.as_str() {
        "sq" => "sq",
        "en" => "en",
        _ => return Err(WebError::BadRequest("language must be en or sq".into())),
    };
    c.store().staff_set_language(staff.id, lang).await?;
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let mut r = Redirect::to(&back).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    Ok(r)
}
