//! `[limits]`: the budget of one message.

use std::time::Duration;

use super::Ctx;
use crate::budget::Limits;
use crate::config::file::LimitsFile;

pub(super) fn limits(cx: &mut Ctx<'_>, f: Option<&LimitsFile>) -> Limits {
    let d = Limits::default();
    let Some(f) = f else { return d };
    let message_time = cx.duration("limits.message_time", &f.message_time, d.message_time);
    let message_memory = cx.size("limits.message_memory", &f.message_memory, d.message_memory);
    let watchdog = cx.duration("limits.watchdog", &f.watchdog, d.watchdog);
    if message_time.is_zero() {
        cx.err("limits.message_time", "must be more than 0");
    }
    if message_memory < 1 << 20 {
        cx.err(
            "limits.message_memory",
            "must be at least 1MB: even a small message needs that much to parse",
        );
    }
    if watchdog < message_time || watchdog < Duration::from_millis(100) {
        cx.err(
            "limits.watchdog",
            "must be at least limits.message_time (and 100ms): it catches a parse that ignores its time budget",
        );
    }
    Limits {
        message_time,
        message_memory,
        watchdog,
    }
}
