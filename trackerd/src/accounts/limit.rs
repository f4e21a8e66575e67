//! Rate limiting: at most N events per key within a sliding window. Used
//! for failed logins (per username and per address) and for registrations
//! (per address, see [`address_key`]). Plain Rust with `now` as an
//! argument; the caller owns the lock. Must not do I/O.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Most keys remembered; beyond this, the oldest windows are dropped first.
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// Event timestamps per key (failed logins, or registrations).
#[derive(Debug, Default)]
pub struct FailureLimiter {
    failures: HashMap<String, VecDeque<i64>>,
}

impl FailureLimiter {
    /// Seconds until `key` may try again, when it already has `max`
    /// failures inside the window ending at `now`.
    pub fn blocked_for(&mut self, key: &str, now: i64, max: u32, window_secs: i64) -> Option<i64> {
        let q = self.failures.get_mut(key)?;
        while q
            .front()
            .is_some_and(|&t| t <= now.saturating_sub(window_secs))
        {
            q.pop_front();
        }
        if q.len() >= max as usize {
            q.front()
                .map(|&first| first.saturating_add(window_secs).saturating_sub(now).max(1))
        } else {
            None
        }
    }

    /// Records one event for `key` at `now`; false when it was not (too
    /// many keys tracked, even after dropping those with nothing in the window).
    pub fn record(&mut self, key: &str, now: i64, window_secs: i64) -> bool {
        if self.failures.len() >= MAX_TRACKED_KEYS && !self.failures.contains_key(key) {
            self.prune(now, window_secs);
        }
        if self.failures.len() >= MAX_TRACKED_KEYS && !self.failures.contains_key(key) {
            return false;
        }
        self.failures
            .entry(key.to_owned())
            .or_default()
            .push_back(now);
        true
    }

    /// Takes back one event recorded for `key` at `at` (an attempt that,
    /// after all, does not count). Does nothing when there is none.
    pub fn forget(&mut self, key: &str, at: i64) {
        let Some(q) = self.failures.get_mut(key) else {
            return;
        };
        if let Some(i) = q.iter().rposition(|&t| t == at) {
            q.remove(i);
        }
        if q.is_empty() {
            self.failures.remove(key);
        }
    }

    /// Forgets failures older than the window.
    pub fn prune(&mut self, now: i64, window_secs: i64) {
        self.failures.retain(|_, q| {
            while q
                .front()
                .is_some_and(|&t| t <= now.saturating_sub(window_secs))
            {
                q.pop_front();
            }
            !q.is_empty()
        });
    }
}

/// The key an address is counted under: an IPv4 address as is, an IPv6
/// address as the /64 it lies in (`2001:db8:1:2::/64`), since one client
/// usually holds a whole /64. IPv4-mapped IPv6 counts as IPv4.
pub fn address_key(ip: IpAddr) -> String {
    crate::swarm::AddressKey::of(ip).to_string()
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

    #[test]
    fn a_forgotten_event_frees_its_place_and_an_empty_key_is_dropped() {
        let mut l = FailureLimiter::default();
        for t in [10, 20, 20] {
            l.record("a", t, 3600);
        }
        assert_eq!(l.blocked_for("a", 30, 3, 3600), Some(3580));
        l.forget("a", 20);
        assert_eq!(l.blocked_for("a", 30, 3, 3600), None);
        assert_eq!(l.failures["a"], [10, 20]);
        l.forget("a", 99);
        assert_eq!(l.failures["a"], [10, 20]);
        l.forget("a", 10);
        l.forget("a", 20);
        assert!(l.failures.is_empty());
        l.forget("nobody", 1);
    }

    #[test]
    fn beyond_the_key_cap_new_keys_are_not_recorded_until_old_windows_pass() {
        let mut l = FailureLimiter::default();
        for i in 0..MAX_TRACKED_KEYS {
            assert!(l.record(&i.to_string(), 0, 60));
        }
        assert!(!l.record("new", 1, 60), "full");
        assert!(l.record("7", 1, 60), "a tracked key still counts");
        assert_eq!(l.failures["7"].len(), 2);
        assert!(l.record("new", 60, 60), "the old windows were dropped");
        assert_eq!(l.failures.len(), 2);
    }

    #[test]
    fn ipv4_counts_per_address_and_ipv6_per_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::1"), "::/64");
    }
}
