//! What one client address holds in the swarms, for the per-address caps:
//! the swarms it created (in open mode, where any info-hash makes a swarm)
//! and its peer entries over all swarms. An address is counted by its
//! [`AddressKey`]: an IPv4 address as is, an IPv6 address as the /64 it
//! lies in (one client usually holds a whole /64, so counting single IPv6
//! addresses would cap nothing). Knows nothing of announces.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use parking_lot::Mutex;

use super::Full;
use super::peers::PeerList;

/// An address as per-address caps count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// The key of `ip` (IPv4-mapped IPv6 counts as IPv4).
    pub fn of(ip: IpAddr) -> AddressKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddressKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => AddressKey(IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & !u128::from(u64::MAX),
            ))),
        }
    }
}

/// An IPv4 address as is, an IPv6 one as its /64 (`2001:db8:1:2::/64`).
impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    swarms_created: usize,
    peers: usize,
}

/// Entries of `peers` from `key` (a scan: new peers are rare next to
/// re-announces, and the addresses are dense arrays of 7 or 19 bytes, so
/// even a large swarm is scanned in microseconds; an index per address
/// would cost memory in every swarm).
pub(crate) fn entries_from(peers: &PeerList, key: AddressKey) -> usize {
    peers.iter().filter(|p| AddressKey::of(p.ip) == key).count()
}

/// Usage per address; an address holding nothing is forgotten.
#[derive(Debug, Default)]
pub(crate) struct ByAddress(Mutex<HashMap<AddressKey, Usage>>);

impl ByAddress {
    #[cfg(test)]
    fn get(&self, key: AddressKey) -> Usage {
        self.0.lock().get(&key).copied().unwrap_or_default()
    }

    fn update(&self, key: AddressKey, f: impl FnOnce(&mut Usage)) {
        let mut map = self.0.lock();
        let usage = map.entry(key).or_default();
        f(usage);
        if usage.swarms_created == 0 && usage.peers == 0 {
            map.remove(&key);
        }
    }

    /// Swarms created from `key` and still held.
    #[cfg(test)]
    pub fn swarms_created(&self, key: AddressKey) -> usize {
        self.get(key).swarms_created
    }

    /// Peer entries of `key` over all swarms.
    #[cfg(test)]
    pub fn peers(&self, key: AddressKey) -> usize {
        self.get(key).peers
    }

    /// Counts one more swarm created by `key`, unless it has `cap` already
    /// (0: no limit). Checked and counted under one lock, so announces in
    /// other shards cannot pass the cap together.
    pub fn try_add_swarm(&self, key: AddressKey, cap: usize) -> Result<(), Full> {
        let mut map = self.0.lock();
        let usage = map.entry(key).or_default();
        if cap > 0 && usage.swarms_created >= cap {
            return Err(Full::AddressTorrents(cap));
        }
        usage.swarms_created += 1;
        Ok(())
    }

    /// Counts one more peer entry of `key`, unless it has `cap` already
    /// (0: no limit).
    pub fn try_add_peer(&self, key: AddressKey, cap: usize) -> Result<(), Full> {
        let mut map = self.0.lock();
        let usage = map.entry(key).or_default();
        if cap > 0 && usage.peers >= cap {
            if usage.swarms_created == 0 && usage.peers == 0 {
                map.remove(&key);
            }
            return Err(Full::AddressPeers(cap));
        }
        usage.peers += 1;
        Ok(())
    }

    pub fn remove_swarm(&self, key: AddressKey) {
        self.update(key, |u| {
            u.swarms_created = u.swarms_created.saturating_sub(1)
        });
    }

    pub fn remove_peer(&self, key: AddressKey) {
        self.update(key, |u| u.peers = u.peers.saturating_sub(1));
    }

    /// Addresses holding something (for tests: nothing is left behind).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> AddressKey {
        AddressKey::of(s.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key_and_mapped_ipv4_is_ipv4() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }

    #[test]
    fn an_address_is_forgotten_once_it_holds_nothing() {
        let b = ByAddress::default();
        let a = key("10.0.0.1");
        b.try_add_swarm(a, 1).unwrap();
        assert_eq!(b.try_add_swarm(a, 1), Err(Full::AddressTorrents(1)));
        b.try_add_peer(a, 2).unwrap();
        b.try_add_peer(a, 2).unwrap();
        assert_eq!(b.try_add_peer(a, 2), Err(Full::AddressPeers(2)));
        assert_eq!((b.swarms_created(a), b.peers(a)), (1, 2));
        b.remove_peer(a);
        b.remove_peer(a);
        assert_eq!(b.len(), 1);
        b.remove_swarm(a);
        assert_eq!(b.len(), 0);
    }
}
