//! Token buckets for upload and download limits. A caller reserves bytes
//! and is told how long to wait; tokens may go into debt so a large block is
//! never starved, and the wait pays the debt back. Time is passed in. The
//! rate may change while peers use the bucket (a configuration reload).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A byte-rate limit; `None` lets everything through at once.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; 0 for no limit.
    rate: AtomicU64,
    bucket: Mutex<Bucket>,
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
        }
    }

    /// Whether there is no limit.
    pub fn is_unlimited(&self) -> bool {
        self.rate().is_none()
    }

    /// The limit in bytes per second, `None` for none.
    pub fn rate(&self) -> Option<u64> {
        Some(self.rate.load(Ordering::Relaxed)).filter(|&r| r > 0)
    }

    /// Changes the limit. A limit that replaces none starts with a full
    /// bucket (one second of burst, as at start); otherwise at most one
    /// second of the new rate stays in it, so a lower limit holds at once.
    pub fn set_rate(&self, rate: Option<u64>) {
        let mut b = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let was_unlimited = self.is_unlimited();
        self.rate.store(rate.unwrap_or(0), Ordering::Relaxed);
        if let Some(r) = rate.filter(|&r| r > 0) {
            let r = r as f64;
            b.tokens = if was_unlimited { r } else { b.tokens.min(r) };
        }
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

    /// Waits until `bytes` may pass.
    pub async fn acquire(&self, bytes: u64) {
        let wait = self.reserve(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
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
    fn a_new_rate_applies_to_the_next_reservation() {
        let r = RateLimiter::new(None);
        let t0 = Instant::now();
        r.set_rate(Some(1000));
        assert_eq!(r.rate(), Some(1000));
        assert_eq!(r.reserve(1000, t0), Duration::ZERO);
        assert_eq!(r.reserve(1000, t0), Duration::from_secs(1));
        r.set_rate(None);
        assert_eq!(r.reserve(u64::MAX, t0), Duration::ZERO);
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
