//! Rate-limit places counted over every instance of a shared database
//! (issue 16 item 3): failed logins and registrations. Each instance keeps
//! its own counts in memory ([`crate::accounts::login_limit`]); on a
//! database others share it also takes a place here, where every
//! instance's attempts are counted, so going round the instances gains an
//! attacker nothing. Only PostgreSQL has one
//! ([`super::community::CommunityStore::shared_limits`]). Rows only: the
//! policy is the caller's.

use std::fmt::Debug;

use super::StoreFuture;

/// One count an attempt takes a place in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Which count: `login_address`, `login_pair`, `login_user`, `register`.
    pub scope: &'static str,
    /// Whose count (an address key, `user@address`, a username).
    pub key: String,
    /// Places in the window.
    pub max: u32,
    /// The window, in seconds.
    pub window_secs: i64,
}

/// A count with no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    /// Which of the places asked for.
    pub index: usize,
    /// Seconds until a place frees up.
    pub wait_secs: i64,
}

/// Places shared through the database.
pub trait SharedLimits: Send + Sync + Debug {
    /// Takes a place at `now` in every one of `places`, or in none when
    /// one has no room (checked and taken under locks held until commit,
    /// so attempts through several instances at once cannot all pass).
    /// Returns the places' ids.
    fn take_places<'a>(
        &'a self,
        places: &'a [Place],
        now: i64,
    ) -> StoreFuture<'a, Result<Vec<i64>, Full>>;
    /// Gives places back (the attempt succeeded, or never ran).
    fn give_back_places<'a>(&'a self, ids: &'a [i64]) -> StoreFuture<'a, ()>;
    /// Deletes places whose window is over at `now`.
    fn prune_places(&self, now: i64) -> StoreFuture<'_, u64>;
}
