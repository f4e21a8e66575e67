//! Token buckets for upload and download limits. A caller reserves bytes
//! and is told how long to wait; tokens may go into debt so a large block is
//! never starved, and the wait pays the debt back. Time is passed in. The
//! rate can change while the engine runs (a run-time setting).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A byte-rate limit; `None` lets everything through at once.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; 0 is unlimited.
    rate: AtomicU64,
    bucket: Mutex<Bucket>,
    /// Wakes the callers waiting in [`RateLimiter::acquire`] when the rate
    /// changes.
    changed: tokio::sync::Notify,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of `rate` bytes per second, with a burst of one second.
    pub fn new(rate: Option<u64>) -> RateLimiter {
        RateLimiter {
            rate: AtomicU64::new(rate.unwrap_or(0)),
            bucket: Mutex::new(Bucket {
                tokens: rate.unwrap_or(0) as f64,
                last: None,
            }),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Whether there is no limit.
    pub fn is_unlimited(&self) -> bool {
        self.rate().is_none()
    }

    /// The limit in bytes per second; `None` is unlimited.
    pub fn rate(&self) -> Option<u64> {
        Some(self.rate.load(Ordering::Relaxed)).filter(|&r| r > 0)
    }

    /// Changes the limit for every reservation from now on. The bucket keeps
    /// at most one second of the new rate and forgets its debt, so a lower
    /// limit holds at once and a higher one is not held back by the old;
    /// callers waiting under the old rate go on at once (each with the
    /// bytes it had reserved, at most one block per peer). Setting the rate
    /// it has changes nothing, so re-applying settings keeps the limit exact.
    pub fn set_rate(&self, rate: Option<u64>) {
        let rate = rate.unwrap_or(0);
        if self.rate.load(Ordering::Relaxed) == rate {
            return;
        }
        {
            let mut b = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
            b.tokens = b.tokens.clamp(0.0, rate as f64);
            self.rate.store(rate, Ordering::Relaxed);
        }
        self.changed.notify_waiters();
    }

    /// Takes `bytes` tokens at `now` and returns how long to wait before using them.
    pub fn reserve(&self, bytes: u64, now: Instant) -> Duration {
        let Some(rate) = self.rate() else {
            return Duration::ZERO;
        };
        let rate = rate as f64;
        let mut b = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = b.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * rate).min(rate);
        }
        b.last = Some(now);
        b.tokens -= bytes as f64;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / rate)
        }
    }

    /// Waits until `bytes` may pass, or until the rate changes (the debt
    /// the wait was paying is forgiven then).
    pub async fn acquire(&self, bytes: u64) {
        // Registered before reserving, so a change in between still wakes us.
        let changed = self.changed.notified();
        let wait = self.reserve(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let r = RateLimiter::new(None);
        assert_eq!(r.reserve(u64::MAX, Instant::now()), Duration::ZERO);
    }

    #[test]
    fn a_burst_of_one_second_passes_then_the_rate_holds() {
        let r = RateLimiter::new(Some(1000));
        let t0 = Instant::now();
        assert_eq!(r.reserve(1000, t0), Duration::ZERO);
        assert_eq!(r.reserve(500, t0), Duration::from_millis(500));
        // Half a second later the debt is paid; another 500 bytes wait 0.5 s.
        assert_eq!(
            r.reserve(500, t0 + Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        // After a long pause the bucket refills only up to one second of burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(r.reserve(1000, later), Duration::ZERO);
        assert!(r.reserve(1, later) > Duration::ZERO);
    }

    #[test]
    fn a_new_rate_holds_for_the_next_reservation() {
        let r = RateLimiter::new(None);
        let t0 = Instant::now();
        assert_eq!(r.reserve(1 << 30, t0), Duration::ZERO);
        r.set_rate(Some(1000));
        assert_eq!(r.rate(), Some(1000));
        // An empty bucket at the new rate: 500 bytes wait half a second.
        assert_eq!(r.reserve(500, t0), Duration::from_millis(500));
        // The same rate again keeps the debt.
        r.set_rate(Some(1000));
        assert_eq!(r.reserve(0, t0), Duration::from_millis(500));
        // Raised: the debt of the old rate is forgotten.
        r.set_rate(Some(4000));
        assert_eq!(r.reserve(2000, t0), Duration::from_millis(500));
        r.set_rate(None);
        assert!(r.is_unlimited());
        assert_eq!(r.reserve(u64::MAX, t0), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_caller_waiting_under_the_old_rate_goes_on_when_it_changes() {
        let r = std::sync::Arc::new(RateLimiter::new(Some(1)));
        // A block at one byte per second: a wait of hours.
        let waiter = tokio::spawn({
            let r = r.clone();
            async move { r.acquire(16_384).await }
        });
        // Until it has reserved (a debt makes even zero bytes wait).
        let reserved = async {
            while r.reserve(0, Instant::now()).is_zero() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), reserved)
            .await
            .expect("the waiter never reserved");
        r.set_rate(None);
        tokio::time::timeout(Duration::from_secs(20), waiter)
            .await
            .expect("the waiter was not woken")
            .unwrap();
    }

    #[test]
    fn lowering_the_rate_drops_the_burst_to_one_second_of_the_new_rate() {
        let r = RateLimiter::new(Some(10_000));
        let t0 = Instant::now();
        r.set_rate(Some(100));
        assert_eq!(r.reserve(100, t0), Duration::ZERO);
        assert_eq!(r.reserve(100, t0), Duration::from_secs(1));
    }
}
