//! The staff console: server-rendered pages behind a login, every state change a
//! POST with the session's CSRF token, strict security headers on every response.
//!
//! Files: `auth.rs` (login, sessions, CSRF, throttling, single sign-on),
//! `pages.rs` (Today, Cases, CSV), `case.rs` (one case and its actions),
//! `citizenship.rs` (the Citizenship list, the case page's clock and its forms),
//! `lists.rs` (Review, Outbox, Messages), `view.rs` (templates, escaping),
//! `i18n.rs` (English and Albanian).

mod auth;
mod case;
mod citizenship;
pub mod i18n;
mod lists;
mod pages;
pub mod view;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::web::WebSettings;
use crate::store::{Store, StoreError};
use crate::web::health::HealthSource;

pub use auth::Staff;

/// The clock (a parameter, so tests control expiry).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The console's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) web: WebSettings,
    pub(crate) env: minijinja::Environment<'static>,
    pub(crate) health: Arc<dyn HealthSource>,
    pub(crate) clock: Clock,
    /// For showing emails as sent (templates, offices, fee).
    pub(crate) settings: Arc<crate::config::Settings>,
    pub(crate) templates: Arc<crate::notify::Templates>,
    /// The nationalities of the case filter, read at most once a minute.
    pub(crate) nationalities: std::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>,
}

impl Console {
    pub fn new(
        store: Store,
        settings: &crate::config::Settings,
        health: Arc<dyn HealthSource>,
    ) -> Console {
        Console::with_clock(store, settings, health, Arc::new(Utc::now))
    }

    pub fn with_clock(
        store: Store,
        settings: &crate::config::Settings,
        health: Arc<dyn HealthSource>,
        clock: Clock,
    ) -> Console {
        Console(Arc::new(Inner {
            store,
            web: settings.web.clone(),
            env: view::environment(),
            health,
            clock,
            settings: Arc::new(settings.clone()),
            // An operator's broken override is reported by check-config and the
            // sender; the console then shows the shipped templates.
            templates: Arc::new(
                crate::notify::Templates::load(settings.notify.templates_dir.as_deref())
                    .unwrap_or_else(|_| crate::notify::Templates::embedded()),
            ),
            nationalities: std::sync::Mutex::new(None),
        }))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.0.clock)()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    /// The nationalities in the store, for the filter (the list reads an index from
    /// end to end, so it is kept for a minute).
    pub(crate) async fn nationalities(&self) -> Result<Vec<String>, StoreError> {
        let fresh = |t: &std::time::Instant| t.elapsed() < std::time::Duration::from_secs(60);
        if let Ok(g) = self.0.nationalities.lock() {
            if let Some((_, v)) = g.as_ref().filter(|(t, _)| fresh(t)) {
                return Ok(v.clone());
            }
        }
        let v = self.0.store.view_nationalities().await?;
        if let Ok(mut g) = self.0.nationalities.lock() {
            *g = Some((std::time::Instant::now(), v.clone()));
        }
        Ok(v)
    }

    /// Renders `name` with the staff member's words and the page's values.
    pub(crate) fn page<S: Serialize>(
        &self,
        name: &str,
        staff: Option<&Staff>,
        values: S,
    ) -> Result<Response, WebError> {
        let lang = staff.map_or("en", |s| s.language.as_str());
        let t = i18n::words(lang);
        let stages: Vec<(String, &str)> = crate::store::Stage::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), i18n::stage(lang, s.as_str())))
            .collect();
        let ctx = minijinja::context! {
            t => t,
            lang => lang,
            staff => staff,
            stage_names => stages.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            citizenship_on => self.0.settings.citizenship.enabled,
            page => minijinja::Value::from_serialize(&values),
        };
        let html = self.0.env.get_template(name)?.render(ctx)?;
        Ok(Html(html).into_response())
    }
}

/// The console's routes, with their middleware: security headers on all,
/// the login check on all but `/login` and the stylesheet.
pub fn router(c: Console) -> Router {
    let private = Router::new()
        .route("/", get(pages::today))
        .route("/cases", get(pages::cases))
        .route("/cases.csv", get(pages::cases_csv))
        .route("/cases/{id}", get(case::show))
        .route("/cases/{id}/advance", post(case::advance))
        .route("/cases/{id}/note", post(case::note))
        .route("/cases/{id}/edit", post(case::edit))
        .route("/cases/{id}/resolve", post(case::resolve))
        .route("/cases/{id}/waybills/{sha}", get(case::waybill))
        .route("/cases/{id}/citizenship", post(citizenship::set_facts))
        .route("/cases/{id}/residence", post(citizenship::residence))
        .route("/citizenship", get(citizenship::list))
        .route("/review", get(lists::review))
        .route("/outbox", get(lists::outbox))
        .route("/outbox/{id}", get(lists::outbox_row))
        // Row actions on an email: one route each (release of held mail joins here).
        .route("/outbox/{id}/retry", post(lists::retry))
        .route("/outbox/{id}/release", post(lists::release))
        .route("/messages", get(lists::messages))
        .route("/language", post(auth::language))
        .route("/logout", post(auth::logout))
        .route_layer(middleware::from_fn_with_state(
            c.clone(),
            auth::require_login,
        ));
    Router::new()
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/static/console.css", get(css))
        .merge(private)
        .layer(middleware::from_fn(security_headers))
        .with_state(c)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        view::CSS,
    )
        .into_response()
}

/// Headers on every console response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        if !h.contains_key(k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cache-control", "no-store");
    r
}

/// Why a request failed; each shows as a small page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("refused: {0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Render(#[from] minijinja::Error),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound | WebError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::BadRequest(_)
            | WebError::Store(StoreError::InvalidTransition { .. })
            | WebError::Store(StoreError::CitizenshipInput(_))
            | WebError::Store(StoreError::NotInReview { .. }) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("console: {self}");
        }
        let text = match status {
            StatusCode::INTERNAL_SERVER_ERROR => "internal error; see the log".to_string(),
            _ => self.to_string(),
        };
        let body = format!(
            "<!doctype html><meta charset=utf-8><link rel=stylesheet href=/static/console.css>\
             <title>{}</title><main><h1>{}</h1><p>{}</p><p><a href=/>leje</a></p></main>",
            status.as_u16(),
            status,
            html_escape(&view::visible(&text))
        );
        (status, Html(body)).into_response()
    }
}

/// Minimal HTML escaping for text outside templates.
pub(crate) fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}
