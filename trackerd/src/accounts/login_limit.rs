//! The failed-login policy: who may try a password now, decided before
//! the password is hashed. Plain Rust with `now` as an argument; the
//! caller owns the lock. Must not do I/O.
//!
//! Three counts, each a sliding window of failures:
//! - per address, across usernames (`max` per `window`): one client cannot
//!   spray guesses over many accounts;
//! - per (username, address), a longer window (`4 * max` per `60 * window`):
//!   an address that keeps failing for one account waits longer and longer
//!   (a minute after the first `max`, then the rest of the hour);
//! - per username, across addresses (`max_per_user` per `user_window`): a
//!   ceiling on guesses from many addresses. It does not count, nor block,
//!   addresses the account logged in from successfully before (the
//!   owner's), so an attacker elsewhere cannot lock the owner out.
//!
//! An attempt takes its place in every count *before* it is hashed
//! ([`LoginLimits::reserve`]), so simultaneous attempts cannot all pass the
//! check before any is counted; a successful login gives its places back.

use std::collections::{HashMap, VecDeque};

use super::limit::FailureLimiter;
use crate::store::limits::Place;

/// Addresses remembered per user as "logged in from here before".
pub const KNOWN_ADDRESSES_PER_USER: usize = 8;
/// How long a successful login keeps its address known, in seconds (30 days).
pub const KNOWN_ADDRESS_SECS: i64 = 30 * 24 * 3600;
/// Users whose known addresses are remembered; beyond it the stalest go.
pub const MAX_USERS_WITH_KNOWN_ADDRESSES: usize = 100_000;
/// The long (username, address) window is this many short windows.
pub const LONG_WINDOW_FACTOR: i64 = 60;
/// ... and allows this many times `max` failures.
pub const LONG_WINDOW_MAX_FACTOR: u32 = 4;

/// The numbers the policy runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures per address (and the first step per username and address).
    pub max: u32,
    /// Their window, in seconds.
    pub window_secs: i64,
    /// Failures per username from addresses it never logged in from.
    pub max_per_user: u32,
    /// Their window, in seconds.
    pub user_window_secs: i64,
}

/// Why an attempt may not run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Who is limited: the address, or the username.
    pub who: String,
    /// The limit that was reached.
    pub max: u32,
    /// Its window, in seconds.
    pub window_secs: i64,
    /// Seconds until a place frees up.
    pub wait_secs: i64,
}

/// The places one attempt took; give them back with
/// [`LoginLimits::succeeded`], or keep them (a failure) by dropping it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a successful login must give its places back"]
pub struct Reservation {
    user: String,
    address: String,
    /// Which counts hold a place (those that had room to record it).
    held: [bool; 3],
    at: i64,
}

/// The failure counts and the addresses each user logged in from.
#[derive(Debug, Default)]
pub struct LoginLimits {
    addresses: FailureLimiter,
    pairs: FailureLimiter,
    users: FailureLimiter,
    known: HashMap<String, VecDeque<(String, i64)>>,
}

fn pair_key(user: &str, address: &str) -> String {
    format!("{user}@{address}")
}

impl LoginLimits {
    /// Whether `user` logged in from `address` within [`KNOWN_ADDRESS_SECS`].
    pub fn is_known(&self, user: &str, address: &str, now: i64) -> bool {
        self.known.get(user).is_some_and(|q| {
            q.iter()
                .any(|(a, at)| a == address && *at > now.saturating_sub(KNOWN_ADDRESS_SECS))
        })
    }

    /// Takes a place for one attempt by `user` from `address` (an address
    /// key, see [`super::limit::address_key`]), or says who is blocked.
    pub fn reserve(
        &mut self,
        p: &LoginPolicy,
        user: &str,
        address: &str,
        now: i64,
    ) -> Result<Reservation, Blocked> {
        let pair = pair_key(user, address);
        let long_max = p.max.saturating_mul(LONG_WINDOW_MAX_FACTOR);
        let long_window = p.window_secs.saturating_mul(LONG_WINDOW_FACTOR);
        let counts_for_user = !self.is_known(user, address, now);
        let blocked = |who: &str, max, window_secs, wait_secs| Blocked {
            who: who.to_owned(),
            max,
            window_secs,
            wait_secs,
        };
        if let Some(w) = self
            .addresses
            .blocked_for(address, now, p.max, p.window_secs)
        {
            return Err(blocked(address, p.max, p.window_secs, w));
        }
        if let Some(w) = self.pairs.blocked_for(&pair, now, long_max, long_window) {
            return Err(blocked(user, long_max, long_window, w));
        }
        if counts_for_user
            && let Some(w) = self
                .users
                .blocked_for(user, now, p.max_per_user, p.user_window_secs)
        {
            return Err(blocked(user, p.max_per_user, p.user_window_secs, w));
        }
        let held = [
            self.addresses.record(address, now, p.window_secs),
            self.pairs.record(&pair, now, long_window),
            counts_for_user && self.users.record(user, now, p.user_window_secs),
        ];
        Ok(Reservation {
            user: user.to_owned(),
            address: address.to_owned(),
            held,
            at: now,
        })
    }

    /// The attempt succeeded: its places are given back and its address
    /// becomes one the user is known to log in from.
    pub fn succeeded(&mut self, r: Reservation, now: i64) {
        self.release(&r);
        self.remember(r, now);
    }

    /// Gives the attempt's places back (it did not run, or succeeded).
    pub fn release(&mut self, r: &Reservation) {
        let [address, pair, user] = r.held;
        if address {
            self.addresses.forget(&r.address, r.at);
        }
        if pair {
            self.pairs.forget(&pair_key(&r.user, &r.address), r.at);
        }
        if user {
            self.users.forget(&r.user, r.at);
        }
    }

    /// The counts `r` holds a place in, as places for the counts every
    /// instance on a shared database keeps (issue 16).
    pub fn shared_places(&self, p: &LoginPolicy, r: &Reservation) -> Vec<Place> {
        let [address, pair, user] = r.held;
        let place = |scope, key: &str, max, window_secs| Place {
            scope,
            key: key.to_owned(),
            max,
            window_secs,
        };
        let mut places = Vec::with_capacity(3);
        if address {
            places.push(place("login_address", &r.address, p.max, p.window_secs));
        }
        if pair {
            places.push(place(
                "login_pair",
                &pair_key(&r.user, &r.address),
                p.max.saturating_mul(LONG_WINDOW_MAX_FACTOR),
                p.window_secs.saturating_mul(LONG_WINDOW_FACTOR),
            ));
        }
        if user {
            places.push(place(
                "login_user",
                &r.user,
                p.max_per_user,
                p.user_window_secs,
            ));
        }
        places
    }

    fn remember(&mut self, r: Reservation, now: i64) {
        if self.known.len() >= MAX_USERS_WITH_KNOWN_ADDRESSES && !self.known.contains_key(&r.user) {
            self.prune_known(now);
        }
        if self.known.len() >= MAX_USERS_WITH_KNOWN_ADDRESSES && !self.known.contains_key(&r.user) {
            return;
        }
        let q = self.known.entry(r.user).or_default();
        q.retain(|(a, _)| *a != r.address);
        q.push_back((r.address, now));
        while q.len() > KNOWN_ADDRESSES_PER_USER {
            q.pop_front();
        }
    }

    /// Forgets failures older than their windows and stale known addresses.
    pub fn prune(&mut self, now: i64, p: &LoginPolicy) {
        self.addresses.prune(now, p.window_secs);
        self.pairs
            .prune(now, p.window_secs.saturating_mul(LONG_WINDOW_FACTOR));
        self.users.prune(now, p.user_window_secs);
        self.prune_known(now);
    }

    fn prune_known(&mut self, now: i64) {
        self.known.retain(|_, q| {
            q.retain(|(_, at)| *at > now.saturating_sub(KNOWN_ADDRESS_SECS));
            !q.is_empty()
        });
    }
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max: 5,
            window_secs: 60,
            max_per_user: 100,
            user_window_secs: 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: LoginPolicy = LoginPolicy {
        max: 3,
        window_secs: 60,
        max_per_user: 5,
        user_window_secs: 3600,
    };

    #[test]
    fn places_are_taken_before_the_attempt_runs_so_the_fourth_at_once_is_blocked() {
        let mut l = LoginLimits::default();
        let held: Vec<_> = (0..3)
            .map(|_| l.reserve(&P, "alice", "203.0.113.9", 100).unwrap())
            .collect();
        let b = l.reserve(&P, "alice", "203.0.113.9", 100).unwrap_err();
        assert_eq!((b.who.as_str(), b.max, b.wait_secs), ("203.0.113.9", 3, 60));
        assert_eq!(held.len(), 3);
    }

    #[test]
    fn another_address_is_not_blocked_by_an_attackers_failures() {
        let mut l = LoginLimits::default();
        for _ in 0..3 {
            let _ = l.reserve(&P, "alice", "203.0.113.9", 100).unwrap();
        }
        assert!(l.reserve(&P, "alice", "203.0.113.9", 101).is_err());
        let r = l.reserve(&P, "alice", "198.51.100.7", 101).unwrap();
        l.succeeded(r, 101);
        assert!(l.is_known("alice", "198.51.100.7", 102));
    }

    #[test]
    fn the_per_user_ceiling_stops_many_addresses_but_not_a_known_one() {
        let mut l = LoginLimits::default();
        let r = l.reserve(&P, "alice", "198.51.100.7", 10).unwrap();
        l.succeeded(r, 10);
        for i in 0..5 {
            let _ = l
                .reserve(&P, "alice", &format!("203.0.113.{i}"), 20)
                .unwrap();
        }
        let b = l.reserve(&P, "alice", "203.0.113.99", 21).unwrap_err();
        assert_eq!((b.who.as_str(), b.max, b.window_secs), ("alice", 5, 3600));
        // The owner's address neither counts towards it nor is stopped by it.
        let r = l.reserve(&P, "alice", "198.51.100.7", 21).unwrap();
        assert_eq!(r.held, [true, true, false]);
        l.succeeded(r, 21);
    }

    #[test]
    fn an_address_that_keeps_failing_for_one_user_waits_longer_each_time() {
        let p = LoginPolicy {
            max_per_user: 100,
            ..P
        };
        let mut l = LoginLimits::default();
        let mut now = 0;
        // 12 failures (4 x 3) pass, a minute's three at a time...
        for _ in 0..4 {
            for _ in 0..3 {
                let _ = l.reserve(&p, "bob", "203.0.113.9", now).unwrap();
            }
            let b = l.reserve(&p, "bob", "203.0.113.9", now).unwrap_err();
            assert_eq!(b.wait_secs, 60);
            now += 60;
        }
        // ...then the address waits for the hour to pass.
        let b = l.reserve(&p, "bob", "203.0.113.9", now).unwrap_err();
        assert_eq!((b.who.as_str(), b.window_secs), ("bob", 3600));
        assert_eq!(b.wait_secs, 3600 - 240);
        assert!(l.reserve(&p, "bob", "203.0.113.9", 3600).is_ok());
    }

    #[test]
    fn a_success_gives_its_places_back_and_pruning_forgets_old_state() {
        let mut l = LoginLimits::default();
        for _ in 0..3 {
            let r = l.reserve(&P, "alice", "a", 0).unwrap();
            l.succeeded(r, 0);
        }
        assert!(l.reserve(&P, "alice", "a", 0).is_ok());
        l.prune(KNOWN_ADDRESS_SECS + 3600, &P);
        assert!(l.known.is_empty());
        assert!(!l.is_known("alice", "a", KNOWN_ADDRESS_SECS + 3600));
    }
}
