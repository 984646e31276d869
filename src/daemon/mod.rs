//! The long-running service: one worker per mailbox, the outbox sender, the HTTP
//! health/metrics listener and systemd notifications, until shutdown.
//!
//! Shutdown (SIGTERM/SIGINT in `leje run`, a oneshot in tests) lets each worker
//! finish and commit the message in hand, apply its actions, LOGOUT and release
//! its lease. SIGHUP re-reads the config file: if it is valid, changed mailboxes
//! are restarted with the new settings; if not, every error is logged and the
//! daemon keeps running on the old config.

pub mod cli;
pub mod health;
pub mod http;
pub mod ingest;
pub mod leases;
pub mod pending;
pub mod status;
pub mod systemd;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::store::Store;
use health::Health;
use ingest::Ctx;

/// How long shutdown waits for the workers (each finishes its message, actions, LOGOUT).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Runs the daemon until `shutdown` resolves. SIGHUP reloads the config when it came
/// from a file (`settings.source`).
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (reload_tx, reload_rx) = mpsc::channel(4);
    if settings.source.is_some() {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot install the SIGHUP handler")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if reload_tx.send(()).await.is_err() {
                    break;
                }
            }
        });
    } else {
        drop(reload_tx);
    }
    run_with(settings, shutdown, reload_rx).await
}

/// [`run`] with the reload trigger supplied by the caller (tests send on it).
pub async fn run_with(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
    mut reload: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .with_context(|| {
            format!(
                "cannot open the store `{}`",
                redact_url(&settings.store_url)
            )
        })?;
    let health = Arc::new(Health::new(
        settings.mailboxes.iter().map(|m| m.name.as_str()),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox_kick = Arc::new(tokio::sync::Notify::new());
    let ctx = Arc::new(Ctx {
        store: store.clone(),
        health: health.clone(),
        instance: crate::store::process_holder(&settings.instance),
        staff_addresses: settings.notify.staff_addresses.clone(),
        staff_domains: settings.notify.staff_domains.clone(),
        outbox_kick: outbox_kick.clone(),
        trust: Arc::new(crate::trust::Checker::new(&settings.trust)),
        limits: settings.limits,
    });

    let mut aux: Vec<JoinHandle<()>> = Vec::new();
    if let Some(h) = &settings.http {
        let listener = tokio::net::TcpListener::bind(h.listen)
            .await
            .with_context(|| format!("cannot listen on `{}` (http.listen)", h.listen))?;
        tracing::info!(
            "health and metrics on http://{}/healthz and /metrics",
            h.listen
        );
        let figures = figures_fn(store.clone());
        let app = http::app(&settings, h, &store, health.clone(), figures);
        if settings.web.console {
            tracing::info!("staff console on {}", settings.web.console_url(h.listen));
        }
        let mut rx = stop_rx.clone();
        aux.push(tokio::spawn(crate::web::serve(listener, app, async move {
            worker::stopped(&mut rx).await
        })));
    }
    if settings.web.console && settings.http.is_some() {
        // The console's search terms follow the cases in the background (a big
        // backlog, after an upgrade or an import, is never a staff request's).
        let st = store.clone();
        let job = move || {
            let store = st.clone();
            async move {
                let t = std::time::Instant::now();
                match store.sync_case_terms().await {
                    Ok(n) if n > 1000 => tracing::info!(
                        cases = n,
                        secs = t.elapsed().as_secs_f64(),
                        "search terms brought up to date"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("search terms not brought up to date (retried): {e}"),
                }
            }
        };
        aux.push(tokio::spawn(leases::job_loop(
            store.clone(),
            ctx.instance.clone(),
            "search-terms",
            leases::HEARTBEAT,
            job,
            stop_rx.clone(),
        )));
    }
    if settings.citizenship.enabled {
        // NOTE: run once across instances: only the holder of the job's lease runs it.
        let (st, cit, kick) = (
            store.clone(),
            settings.citizenship.clone(),
            outbox_kick.clone(),
        );
        let job = move || {
            let (store, cit, kick) = (st.clone(), cit.clone(), kick.clone());
            async move {
                match crate::citizenship::pass::run_once(&store, &cit, chrono::Utc::now()).await {
                    Ok(r) if !r.queued.is_empty() => kick.notify_one(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("citizenship pass failed (retried at the next): {e}")
                    }
                }
            }
        };
        aux.push(tokio::spawn(leases::job_loop(
            store.clone(),
            ctx.instance.clone(),
            "citizenship",
            settings.citizenship.check_interval,
            job,
            stop_rx.clone(),
        )));
    }
    if settings.followup.reminders {
        // The reminder pass (issue 20), once across instances like the citizenship pass
        // (its rows are taken with SKIP LOCKED too, so an overlap would only cost work).
        let (st, f, kick) = (
            store.clone(),
            settings.followup.clone(),
            outbox_kick.clone(),
        );
        let job = move || {
            let (store, f, kick) = (st.clone(), f.clone(), kick.clone());
            async move { crate::followup::pass_once(&store, &f, &kick).await }
        };
        aux.push(tokio::spawn(leases::job_loop(
            store.clone(),
            ctx.instance.clone(),
            "followup",
            settings.followup.interval,
            job,
            stop_rx.clone(),
        )));
    }
    aux.push(spawn_outbox(
        &settings,
        &store,
        &health,
        outbox_kick,
        stop_rx.clone(),
        &ctx.instance,
    ));

    let lease_wake = Arc::new(tokio::sync::Notify::new());
    let (listening_tx, listening) = tokio::sync::oneshot::channel();
    aux.push(tokio::spawn(leases::listen(
        settings.store_url.clone(),
        lease_wake.clone(),
        stop_rx.clone(),
        listening_tx,
    )));
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let coordinator = tokio::spawn(
        leases::Coordinator::new(ctx.clone(), &settings.mailboxes, lease_wake).run(
            stop_rx.clone(),
            cmd_rx,
            listening,
        ),
    );
    let mut workers = Workers { cmd: cmd_tx };
    if settings.mailboxes.is_empty() {
        tracing::warn!("no [[mailbox]] configured: nothing to watch");
    }
    {
        let mut rx = stop_rx.clone();
        let h = health.clone();
        aux.push(tokio::spawn(async move {
            systemd::supervise(h, async move { worker::stopped(&mut rx).await }).await
        }));
    }
    systemd::ready(&health.status_line());
    tracing::info!(
        mailboxes = settings.mailboxes.len(),
        instance = %ctx.instance,
        "leje is running"
    );

    let mut settings = settings;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = reload.recv() => {
                systemd::reloading();
                settings = reload_config(settings, &mut workers, &ctx).await;
                systemd::ready(&health.status_line());
            }
        }
    }

    tracing::info!("shutting down: finishing the messages in hand");
    systemd::stopping();
    let _ = stop_tx.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE * 2, coordinator)
        .await
        .is_err()
    {
        tracing::warn!("the mailbox workers did not stop in time");
    }
    for h in aux {
        if tokio::time::timeout(SHUTDOWN_GRACE, h).await.is_err() {
            tracing::warn!("a background task did not stop in time");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The mailbox workers, run by the [`leases::Coordinator`] as it wins leases.
struct Workers {
    cmd: mpsc::Sender<leases::Command>,
}

/// SIGHUP: load and validate the file again; apply mailbox changes; keep the old
/// settings (and say why) when the new file is invalid.
async fn reload_config(old: Settings, workers: &mut Workers, ctx: &Arc<Ctx>) -> Settings {
    let Some(path) = old.source.clone() else {
        return old;
    };
    tracing::info!("SIGHUP: reloading `{}`", path.display());
    let new = match crate::config::load(Some(&path)) {
        Ok(s) => s,
        Err(errors) => {
            tracing::error!(
                "config `{}` is invalid; keeping the running config:\n{errors}",
                path.display()
            );
            ctx.health
                .error("config", "reload", "invalid config on reload");
            return old;
        }
    };
    for field in changed_fields_needing_restart(&old, &new) {
        tracing::warn!("`{field}` changed: takes effect only after a restart");
    }
    // NOTE: removed and changed mailboxes stop gracefully; the coordinator's next
    // heartbeat takes the changed and added ones with their new settings.
    if workers
        .cmd
        .send(leases::Command::SetMailboxes(new.mailboxes.clone()))
        .await
        .is_err()
    {
        tracing::warn!("the mailbox coordinator is gone; mailbox changes not applied");
    }
    if old.log.level != new.log.level {
        if let Err(e) = crate::logging::set_level(&new.log.level) {
            tracing::warn!("{e}");
        }
    }
    tracing::info!("reload done: {} mailbox(es)", new.mailboxes.len());
    new
}

fn changed_fields_needing_restart(old: &Settings, new: &Settings) -> Vec<&'static str> {
    let mut v = Vec::new();
    if old.store_url != new.store_url {
        v.push("store");
    }
    if old.state_dir != new.state_dir {
        v.push("state_dir");
    }
    if old.instance != new.instance {
        v.push("instance");
    }
    if old.http != new.http {
        v.push("http");
    }
    if old.web != new.web {
        v.push("web");
    }
    if old.smtp != new.smtp || old.notify != new.notify || old.offices != new.offices {
        v.push("smtp/notify/offices");
    }
    if old.log.format != new.log.format {
        v.push("log.format");
    }
    if old.citizenship != new.citizenship {
        v.push("citizenship");
    }
    v
}

/// A store URL for messages: the password of a PostgreSQL URL is hidden.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((cred, host)) = rest.rsplit_once('@') {
            let user = cred.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

/// Store totals for `/metrics`.
fn figures_fn(store: Store) -> http::FiguresFn {
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store_figures(&store).await })
    })
}

async fn store_figures(store: &Store) -> Option<health::StoreFigures> {
    let stats = store.stats().await.ok()?;
    let mut f = figures_from(&stats);
    if let Ok((leases, _)) = store.cluster_status().await {
        let now = chrono::Utc::now();
        f.leases = leases
            .into_iter()
            .filter(|l| l.live)
            .map(|l| health::LeaseFigure {
                since_unix: l.since.map_or(0, |t| t.timestamp()),
                expires_in: (l.expires_at - now).num_milliseconds() as f64 / 1000.0,
                name: l.name,
                holder: l.holder,
                generation: l.generation,
            })
            .collect();
    }
    Some(f)
}

fn figures_from(stats: &crate::store::Stats) -> health::StoreFigures {
    let list = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
    health::StoreFigures {
        messages_by_outcome: list(&stats.messages_by_outcome),
        cases_by_stage: list(&stats.cases_by_stage),
        outbox_by_status: list(&stats.outbox_by_status),
        leases: Vec::new(),
    }
}

/// The outbox sender of [`crate::notify`], woken early whenever ingestion enqueues mail.
fn spawn_outbox(
    settings: &Settings,
    store: &Store,
    health: &Arc<Health>,
    kick: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
    holder: &str,
) -> JoinHandle<()> {
    let opts = crate::notify::worker::WorkerOptions {
        wake: Some(kick),
        holder: Some(holder.to_owned()),
        ..Default::default()
    };
    let fut = crate::notify::worker::run_outbox_with(
        store.clone(),
        Arc::new(settings.clone()),
        opts,
        async move { worker::stopped(&mut stop).await },
    );
    let health = health.clone();
    tokio::spawn(async move {
        if let Err(e) = fut.await {
            tracing::error!("outbox sender stopped: {e}");
            health.error("outbox", "sender", &e.to_string());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_hide_passwords() {
        assert_eq!(
            redact_url("postgres://leje:s3cret@db:5432/leje"),
            "postgres://leje:***@db:5432/leje"
        );
        assert_eq!(
            redact_url("sqlite:/var/lib/leje/leje.db"),
            "sqlite:/var/lib/leje/leje.db"
        );
    }
}
