//! Places for long-lived event streams (the session and event streams): a
//! stream takes a place for its user, its client address and the tracker
//! as a whole, and gives them back when it ends (its [`StreamSlot`] is
//! dropped). The tracker-wide budget is kept well under the connection cap,
//! so streams can never hold every connection and starve announces. Must
//! not read or write streams.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::HttpConfig;
use crate::swarm::AddressKey;

/// Why a stream was refused (answered 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    /// The user has as many streams open as allowed.
    #[error("too many event streams open for this user (limit {0}); close one first")]
    User(usize),
    /// The client address has as many streams open as allowed.
    #[error("too many event streams open from this address (limit {0}); close one first")]
    Address(usize),
    /// The tracker has as many streams open as it gives streams.
    #[error("too many event streams open on this tracker (limit {0}); try again later")]
    Tracker(usize),
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_user: HashMap<i64, usize>,
    per_address: HashMap<AddressKey, usize>,
}

/// The stream places of one server.
#[derive(Debug)]
pub struct StreamSlots {
    per_user: usize,
    per_address: usize,
    total: usize,
    open: Mutex<Open>,
}

impl StreamSlots {
    /// Caps from the `[http]` configuration. The tracker-wide cap is at
    /// most half the connection cap: the other half stays for requests
    /// that end (announces, logins).
    pub fn new(c: &HttpConfig) -> Arc<StreamSlots> {
        Arc::new(StreamSlots {
            per_user: c.max_streams_per_user,
            per_address: c.max_streams_per_address,
            total: c.max_streams.min(c.max_connections / 2),
            open: Mutex::default(),
        })
    }

    /// Takes a place for a stream of `user` from `ip`.
    pub fn take(self: &Arc<Self>, user: i64, ip: IpAddr) -> Result<StreamSlot, StreamRefused> {
        let address = AddressKey::of(ip);
        let mut open = self.open.lock();
        // 0: no cap, as for the tracker's other per-address limits.
        let full = |n: Option<&usize>, cap: usize| cap != 0 && n.copied().unwrap_or(0) >= cap;
        if full(open.per_user.get(&user), self.per_user) {
            return Err(StreamRefused::User(self.per_user));
        }
        if full(open.per_address.get(&address), self.per_address) {
            return Err(StreamRefused::Address(self.per_address));
        }
        if open.total >= self.total {
            return Err(StreamRefused::Tracker(self.total));
        }
        open.total += 1;
        *open.per_user.entry(user).or_default() += 1;
        *open.per_address.entry(address).or_default() += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            user,
            address,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().total
    }
}

/// One stream's place; given back on drop.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    user: i64,
    address: AddressKey,
}

/// Takes one from a count, forgetting keys that reach zero (the maps hold
/// only users and addresses with streams open).
fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock();
        open.total -= 1;
        release(&mut open.per_user, &self.user);
        release(&mut open.per_address, &self.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(per_user: usize, per_address: usize, total: usize) -> Arc<StreamSlots> {
        StreamSlots::new(&HttpConfig {
            max_streams_per_user: per_user,
            max_streams_per_address: per_address,
            max_streams: total,
            max_connections: 1000,
            ..HttpConfig::default()
        })
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn each_cap_refuses_past_its_limit_and_a_closed_stream_gives_its_place_back() {
        let s = slots(2, 3, 4);
        let one = s.take(1, A).unwrap();
        let _two = s.take(1, A).unwrap();
        assert_eq!(s.take(1, B).unwrap_err(), StreamRefused::User(2));
        let _three = s.take(2, A).unwrap();
        assert_eq!(s.take(3, A).unwrap_err(), StreamRefused::Address(3));
        let _four = s.take(3, B).unwrap();
        assert_eq!(s.take(4, B).unwrap_err(), StreamRefused::Tracker(4));
        drop(one);
        assert_eq!(s.open(), 3);
        let _again = s.take(1, B).unwrap();
    }

    #[test]
    fn streams_never_get_more_than_half_the_connections() {
        let s = StreamSlots::new(&HttpConfig {
            max_streams: 10_000,
            max_connections: 100,
            ..HttpConfig::default()
        });
        assert_eq!(s.total, 50);
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        let s = slots(10, 1, 10);
        let _one = s.take(1, "2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(
            s.take(2, "2001:db8::2".parse().unwrap()).unwrap_err(),
            StreamRefused::Address(1)
        );
        let _other = s.take(2, "2001:db8:0:1::1".parse().unwrap()).unwrap();
    }
}
