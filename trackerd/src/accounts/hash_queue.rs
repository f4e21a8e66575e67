//! Admission to Argon2 work: how many password hashes one address may have
//! waiting or running, and how many may wait overall. Argon2 runs one per
//! core (see `hashers`); without a bound, 200 simultaneous logins from one
//! address queued 200 hashes ahead of everyone else's login (7-15 s).
//! Refusals are immediate, so a flood costs the tracker a lock and a map
//! lookup per request, never a hash. Must not hash or do I/O.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// Hashes one address (IPv6: one /64) may have waiting or running, by
/// default (`accounts.max_password_checks_per_address`).
pub const MAX_HASHES_PER_ADDRESS: usize = 2;
/// Hashes waiting or running over all addresses; at one Argon2 run of
/// some 30-60 ms per core, the last in line waits about a second.
pub const MAX_HASHES_QUEUED: usize = 64;

/// Why a hash was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    /// This address already has its most password checks in the queue.
    #[error("{0} password checks from this address are already running; try again in 1 s")]
    Address(usize),
    /// [`MAX_HASHES_QUEUED`] hashes are queued.
    #[error("the tracker is busy checking passwords; try again in 1 s")]
    Tracker,
}

#[derive(Debug, Default)]
struct Queued {
    per_address: HashMap<String, usize>,
    total: usize,
}

/// The admission counts, shared by every request.
#[derive(Debug)]
pub struct HashQueue {
    queued: Arc<Mutex<Queued>>,
    per_address: usize,
}

/// A place in the queue, given back on drop (also when the request is
/// abandoned midway).
#[derive(Debug)]
pub struct HashTicket {
    queued: Arc<Mutex<Queued>>,
    address: String,
}

impl HashQueue {
    /// A queue that admits `per_address` hashes per address (at least 1).
    pub fn new(per_address: usize) -> HashQueue {
        HashQueue {
            queued: Arc::default(),
            per_address: per_address.max(1),
        }
    }

    /// A place for one hash on behalf of `address` (an address key).
    pub fn admit(&self, address: &str) -> Result<HashTicket, Busy> {
        let mut q = self.queued.lock();
        if q.total >= MAX_HASHES_QUEUED {
            return Err(Busy::Tracker);
        }
        let mine = q.per_address.entry(address.to_owned()).or_default();
        if *mine >= self.per_address {
            return Err(Busy::Address(self.per_address));
        }
        *mine += 1;
        q.total += 1;
        Ok(HashTicket {
            queued: self.queued.clone(),
            address: address.to_owned(),
        })
    }

    /// Hashes admitted and not yet finished.
    pub fn queued(&self) -> usize {
        self.queued.lock().total
    }
}

impl Drop for HashTicket {
    fn drop(&mut self) {
        let mut q = self.queued.lock();
        q.total = q.total.saturating_sub(1);
        if let Some(n) = q.per_address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                q.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_two_places_and_they_come_back_on_drop() {
        let q = HashQueue::new(MAX_HASHES_PER_ADDRESS);
        let a = q.admit("203.0.113.9").unwrap();
        let _b = q.admit("203.0.113.9").unwrap();
        assert_eq!(q.admit("203.0.113.9").unwrap_err(), Busy::Address(2));
        let _other = q.admit("198.51.100.7").unwrap();
        drop(a);
        assert!(q.admit("203.0.113.9").is_ok());
        assert_eq!(q.queued(), 2, "the ticket above was dropped at once");
    }

    #[test]
    fn the_whole_queue_is_bounded_across_addresses() {
        let q = HashQueue::new(1);
        let held: Vec<_> = (0..MAX_HASHES_QUEUED)
            .map(|i| q.admit(&format!("10.0.{}.{}", i / 256, i % 256)).unwrap())
            .collect();
        assert_eq!(q.admit("198.51.100.7").unwrap_err(), Busy::Tracker);
        drop(held);
        assert_eq!(q.queued(), 0);
        assert!(q.queued.lock().per_address.is_empty());
    }
}
