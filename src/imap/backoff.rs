//! Reconnect delays: exponential, capped, with jitter, so a fleet of daemons that lost
//! the same server does not come back in lock step, and a broken server is never
//! hammered in a busy loop.

use std::time::Duration;

/// Exponential backoff state for one mailbox.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// First delay about `base`, doubling up to `cap` (the config's `reconnect_max`).
    pub fn new(base: Duration, cap: Duration) -> Self {
        let base = base.max(Duration::from_millis(10));
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// The next delay: `min(cap, base·2ⁿ)` scaled by a random factor in [0.5, 1.0]
    /// ("equal jitter": never less than half, so the growth stays visible).
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(20));
        let ceiling = exp.min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// Number of failures since the last [`Backoff::reset`].
    pub fn failures(&self) -> u32 {
        self.attempt
    }

    /// After a successful connection and check.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps_with_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let d: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(500) && d[0] <= Duration::from_secs(1));
        assert!(d[3] >= Duration::from_secs(4) && d[3] <= Duration::from_secs(8));
        for x in &d[6..] {
            assert!(
                *x >= Duration::from_secs(30) && *x <= Duration::from_secs(60),
                "{x:?}"
            );
        }
        // Jitter: not all capped delays are identical.
        assert!(d[6..].windows(2).any(|w| w[0] != w[1]));
        assert_eq!(b.failures(), 12);
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn never_zero() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert!(b.next_delay() >= Duration::from_millis(5));
    }
}
