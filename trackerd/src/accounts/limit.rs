//! Failed-login rate limiting: at most N failures per key (a username or an
//! address) within a sliding window. Plain Rust with `now` as an argument;
//! the caller owns the lock. Must not do I/O.

use std::collections::{HashMap, VecDeque};

/// Most keys remembered; beyond this, the oldest windows are dropped first.
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// Failure timestamps per key.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    failures: HashMap<String, VecDeque<i64>>,
}

impl FailureLimiter {
    /// Seconds until `key` may try again, when it already has `max`
    /// failures inside the window ending at `now`.
    pub fn blocked_for(&mut self, key: &str, now: i64, max: u32, window_secs: i64) -> Option<i64> {
        let q = self.failures.get_mut(key)?;
        while q.front().is_some_and(|&t| t <= now - window_secs) {
            q.pop_front();
        }
        if q.len() >= max as usize {
            q.front().map(|&first| (first + window_secs - now).max(1))
        } else {
            None
        }
    }

    /// Records one failure for `key` at `now`.
    pub fn record(&mut self, key: &str, now: i64, window_secs: i64) {
        if self.failures.len() >= MAX_TRACKED_KEYS {
            self.prune(now, window_secs);
        }
        if self.failures.len() >= MAX_TRACKED_KEYS {
            return;
        }
        self.failures
            .entry(key.to_owned())
            .or_default()
            .push_back(now);
    }

    /// Forgets failures older than the window.
    pub fn prune(&mut self, now: i64, window_secs: i64) {
        self.failures.retain(|_, q| {
            while q.front().is_some_and(|&t| t <= now - window_secs) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_within_a_minute_is_blocked_until_the_first_failure_ages_out() {
        let mut l = FailureLimiter::default();
        for t in 0..5 {
            assert_eq!(l.blocked_for("alice", 100 + t, 5, 60), None);
            l.record("alice", 100 + t, 60);
        }
        assert_eq!(l.blocked_for("alice", 110, 5, 60), Some(50));
        assert_eq!(l.blocked_for("bob", 110, 5, 60), None);
        assert_eq!(l.blocked_for("alice", 160, 5, 60), None);
        l.prune(1000, 60);
        assert!(l.failures.is_empty());
    }
}
