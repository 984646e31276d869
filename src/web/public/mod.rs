//! The public one-click pages (issue 20), as an axum [`Router`] for the one
//! HTTP server.
//!
//! `GET /l/{token}` shows a confirmation page with one button and changes
//! nothing (mail scanners and link previews fetch every link); `POST /l/{token}`
//! records the step ("reported by the applicant") or, for the unsubscribe
//! token, stops the case's reminders (RFC 8058: the mail client POSTs
//! `List-Unsubscribe=One-Click` to the `List-Unsubscribe` URL). A used or
//! outdated link shows where the case stands; a forged one is refused (403),
//! an expired one too (410). Pages show the first name and the stage, nothing else.

mod pages;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};

use crate::links::{token_sha256, Link, LinkError, Signer, Step};
use crate::parse::Language;
use crate::store::{Case, StepOutcome, Store};
use pages::{render, step_text, t_, Page};

/// The clock the pages read (tests pass a controllable one).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What the public pages need.
#[derive(Clone)]
pub struct PublicState {
    pub store: Store,
    pub signer: Arc<Signer>,
    pub clock: Clock,
    /// For pages whose case has no language (and refusals).
    pub default_language: Language,
}

impl PublicState {
    /// From the settings: the link key of [`Signer::key_path`] (created on first
    /// use), `notify.default_language`, the system clock. For the daemon's listener.
    pub fn from_settings(
        store: Store,
        settings: &crate::config::Settings,
    ) -> Result<PublicState, crate::links::KeyError> {
        let signer = Signer::load_or_create(&Signer::key_path(settings))?;
        Ok(PublicState::new(
            store,
            signer,
            settings.notify.default_language,
        ))
    }

    /// With the system clock.
    pub fn new(store: Store, signer: Signer, default_language: Language) -> PublicState {
        PublicState {
            store,
            signer: Arc::new(signer),
            clock: Arc::new(Utc::now),
            default_language,
        }
    }
}

/// `GET|POST /l/{token}`.
pub fn router(state: PublicState) -> Router {
    Router::new()
        .route("/l/{token}", get(show).post(act))
        .with_state(state)
}

/// The page, with headers that keep the token out of caches, referrers and indexes.
fn page(status: StatusCode, p: &Page<'_>) -> Response {
    let mut r = (status, render(p)).into_response();
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    r.headers_mut().insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    r
}

fn refused(lang: Language, e: LinkError) -> Response {
    let (status, title, msg) = match e {
        LinkError::Forged => (StatusCode::FORBIDDEN, "bad_title", "bad"),
        LinkError::Expired => (StatusCode::GONE, "expired_title", "expired"),
    };
    simple(status, lang, title, msg, None)
}

fn simple(
    status: StatusCode,
    lang: Language,
    title: &str,
    msg: &str,
    case: Option<&Case>,
) -> Response {
    page(
        status,
        &Page {
            lang,
            title: t_(lang, title),
            first_name: case.and_then(first_name),
            message: t_(lang, msg).to_string(),
            stage: case.map(|c| c.stage),
            button: None,
        },
    )
}

fn failed(lang: Language, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "public page: store error");
    simple(
        StatusCode::INTERNAL_SERVER_ERROR,
        lang,
        "error_title",
        "error",
        None,
    )
}

/// The first word of the name as the notice wrote it; nothing else is shown.
fn first_name(c: &Case) -> Option<String> {
    c.name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map(|n| n.chars().take(40).collect())
}

/// The verified link and its case, or the page that says why not.
async fn resolve(st: &PublicState, token: &str) -> Result<(Link, Case, Language), Response> {
    let lang = st.default_language;
    let link = st
        .signer
        .verify(token, (st.clock)())
        .map_err(|e| refused(lang, e))?;
    match st.store.case_by_id(link.case_id).await {
        Ok(Some(c)) => {
            let lang = c.language.unwrap_or(lang);
            Ok((link, c, lang))
        }
        // A valid signature over a case that is gone: nothing to show.
        Ok(None) => Err(refused(lang, LinkError::Forged)),
        Err(e) => Err(failed(lang, e)),
    }
}

async fn show(State(st): State<PublicState>, Path(token): Path<String>) -> Response {
    let (link, case, lang) = match resolve(&st, &token).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (message, button) = match link.step.stage() {
        None => (t_(lang, "unsub_ask").to_string(), t_(lang, "button")),
        Some(_) if !Step::open_at(case.stage).contains(&link.step) => {
            return simple(
                StatusCode::OK,
                lang,
                "outdated_title",
                "outdated",
                Some(&case),
            );
        }
        Some(_) => (
            format!("{} “{}”", t_(lang, "confirm"), step_text(link.step, lang)),
            step_text(link.step, lang),
        ),
    };
    page(
        StatusCode::OK,
        &Page {
            lang,
            title: t_(lang, "confirm_title"),
            first_name: first_name(&case),
            message,
            stage: Some(case.stage),
            button: Some(button),
        },
    )
}

async fn act(State(st): State<PublicState>, Path(token): Path<String>) -> Response {
    let (link, case, lang) = match resolve(&st, &token).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = (st.clock)();
    let Some(stage) = link.step.stage() else {
        return match st.store.unsubscribe(case.id, now).await {
            Ok(()) => {
                tracing::info!(case = case.id, "reminders stopped by the applicant");
                simple(StatusCode::OK, lang, "thanks_title", "unsub", Some(&case))
            }
            Err(e) => failed(lang, e),
        };
    };
    let outcome = st
        .store
        .report_step(case.id, stage, &token_sha256(&token), now)
        .await;
    let (title, msg, stage) = match outcome {
        Ok(StepOutcome::Recorded { from, to }) => {
            tracing::info!(case = case.id, %from, %to, "step reported by the applicant");
            ("thanks_title", "thanks", to)
        }
        Ok(StepOutcome::AlreadyUsed { stage }) => ("used_title", "used", stage),
        Ok(StepOutcome::Outdated { stage }) => ("outdated_title", "outdated", stage),
        Err(e) => return failed(lang, e),
    };
    let case = Case { stage, ..case };
    simple(StatusCode::OK, lang, title, msg, Some(&case))
}
