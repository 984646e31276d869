//! systemd integration (`Type=notify`): READY=1, STATUS= lines, RELOADING=1,
//! STOPPING=1, and WATCHDOG=1 pings when `WatchdogSec=` is set. All calls are
//! no-ops when not started by systemd (no `$NOTIFY_SOCKET`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

use super::health::Health;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify failed: {e}");
    }
}

/// Startup finished: mailboxes are being watched.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A SIGHUP reload has begun.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// The watchdog interval requested by systemd (`$WATCHDOG_USEC`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0u64;
    sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec))
}

/// Every few seconds: STATUS= from [`Health::status_line`] and, when the watchdog is on,
/// WATCHDOG=1 at half its interval. Runs until `stop`.
///
/// NOTE: the ping proves the runtime is alive and scheduling tasks; a mailbox stuck
/// on a dead server shows up in STATUS, /healthz and the logs instead, since
/// killing the whole service would not help it.
pub async fn supervise(health: Arc<Health>, stop: impl Future<Output = ()>) {
    let watchdog = watchdog_interval();
    let period = watchdog
        .map(|w| (w / 2).min(Duration::from_secs(10)))
        .unwrap_or(Duration::from_secs(10))
        .max(Duration::from_millis(100));
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_status = String::new();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {}
        }
        let status = health.status_line();
        if watchdog.is_some() {
            send(&[NotifyState::Watchdog, NotifyState::Status(&status)]);
        } else if status != last_status {
            send(&[NotifyState::Status(&status)]);
        }
        last_status = status;
    }
}
