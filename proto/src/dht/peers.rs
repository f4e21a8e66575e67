//! Peers announced to us (BEP 5 `announce_peer`), kept per info-hash for
//! [`PEER_TTL_SECS`] and handed out in `get_peers` answers. Any info-hash
//! is accepted (a small private DHT needs every node to store), within
//! bounds per hash and in total so an announce flood cannot grow memory.
//!
//! Must not check tokens (see `tokens`) or know sockets; time is `now`.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::NodeId;

/// How long an announce is kept; clients re-announce every 15 to 30 minutes.
pub const PEER_TTL_SECS: u64 = 30 * 60;
/// Most peers kept for one info-hash; the oldest goes first.
pub const MAX_PEERS_PER_HASH: usize = 512;
/// Most info-hashes kept.
pub const MAX_HASHES: usize = 4096;
/// Most peers kept over all info-hashes.
pub const MAX_PEERS_TOTAL: usize = 32_768;

/// What [`PeerStore::announce`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new peer.
    Added,
    /// A peer already known, its time renewed.
    Renewed,
    /// A new peer in place of the oldest of that info-hash.
    ReplacedOldest,
    /// Not kept: the store is full of live announces.
    Full,
}

/// Announced peers by info-hash.
#[derive(Debug, Clone, Default)]
pub struct PeerStore {
    /// Peer address to the time it announced.
    by_hash: HashMap<NodeId, HashMap<SocketAddr, u64>>,
    total: usize,
}

impl PeerStore {
    /// An empty store.
    pub fn new() -> PeerStore {
        PeerStore::default()
    }

    /// Peers kept, over all info-hashes (expired ones included until [`PeerStore::expire`]).
    pub fn len(&self) -> usize {
        self.total
    }

    /// True when no peer is kept.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Info-hashes with at least one peer kept.
    pub fn hash_count(&self) -> usize {
        self.by_hash.len()
    }

    /// Records that `peer` announced `info_hash` at `now`.
    pub fn announce(&mut self, info_hash: NodeId, peer: SocketAddr, now: u64) -> Stored {
        if let Some(peers) = self.by_hash.get_mut(&info_hash) {
            if let Some(t) = peers.get_mut(&peer) {
                *t = now;
                return Stored::Renewed;
            }
            if peers.len() >= MAX_PEERS_PER_HASH {
                let oldest = peers.iter().min_by_key(|(_, t)| **t).map(|(a, _)| *a);
                if let Some(oldest) = oldest {
                    peers.remove(&oldest);
                }
                peers.insert(peer, now);
                return Stored::ReplacedOldest;
            }
        }
        let new_hash = !self.by_hash.contains_key(&info_hash);
        if self.total >= MAX_PEERS_TOTAL || (new_hash && self.by_hash.len() >= MAX_HASHES) {
            self.expire(now);
            let new_hash = !self.by_hash.contains_key(&info_hash);
            if self.total >= MAX_PEERS_TOTAL || (new_hash && self.by_hash.len() >= MAX_HASHES) {
                return Stored::Full;
            }
        }
        self.by_hash.entry(info_hash).or_default().insert(peer, now);
        self.total += 1;
        Stored::Added
    }

    /// Up to `max` live peers of `info_hash` in the family asked (IPv6 or
    /// not, BEP 32), most recent announces first.
    pub fn peers(&self, info_hash: &NodeId, ipv6: bool, max: usize, now: u64) -> Vec<SocketAddr> {
        let Some(peers) = self.by_hash.get(info_hash) else {
            return Vec::new();
        };
        let mut live: Vec<(&SocketAddr, &u64)> = peers
            .iter()
            .filter(|(a, t)| a.is_ipv6() == ipv6 && live(**t, now))
            .collect();
        live.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        live.into_iter().take(max).map(|(a, _)| *a).collect()
    }

    /// Drops every announce older than [`PEER_TTL_SECS`]; call it now and then.
    pub fn expire(&mut self, now: u64) {
        let mut total = 0;
        self.by_hash.retain(|_, peers| {
            peers.retain(|_, t| live(*t, now));
            total += peers.len();
            !peers.is_empty()
        });
        self.total = total;
    }
}

fn live(announced: u64, now: u64) -> bool {
    now.saturating_sub(announced) < PEER_TTL_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u32, port: u16) -> SocketAddr {
        SocketAddr::from((n.to_be_bytes(), port))
    }

    #[test]
    fn announced_peers_come_back_newest_first_and_by_family() {
        let mut s = PeerStore::new();
        let h = NodeId([1; 20]);
        assert_eq!(s.announce(h, peer(1, 1), 10), Stored::Added);
        assert_eq!(s.announce(h, peer(2, 2), 20), Stored::Added);
        let v6: SocketAddr = "[::1]:3".parse().unwrap_or(peer(9, 9));
        assert_eq!(s.announce(h, v6, 30), Stored::Added);
        assert_eq!(s.peers(&h, false, 10, 30), vec![peer(2, 2), peer(1, 1)]);
        assert_eq!(s.peers(&h, true, 10, 30), vec![v6]);
        assert_eq!(s.peers(&h, false, 1, 30), vec![peer(2, 2)]);
        assert_eq!(s.announce(h, peer(1, 1), 40), Stored::Renewed);
        assert_eq!(s.peers(&h, false, 10, 40), vec![peer(1, 1), peer(2, 2)]);
        assert!(s.peers(&NodeId([2; 20]), false, 10, 40).is_empty());
    }

    #[test]
    fn announces_expire_after_the_ttl() {
        let mut s = PeerStore::new();
        let h = NodeId([1; 20]);
        s.announce(h, peer(1, 1), 0);
        assert_eq!(s.peers(&h, false, 10, PEER_TTL_SECS - 1).len(), 1);
        assert!(s.peers(&h, false, 10, PEER_TTL_SECS).is_empty());
        s.expire(PEER_TTL_SECS);
        assert_eq!((s.len(), s.hash_count()), (0, 0));
    }

    #[test]
    fn a_full_hash_drops_its_oldest_peer() {
        let mut s = PeerStore::new();
        let h = NodeId([1; 20]);
        for n in 0..MAX_PEERS_PER_HASH as u32 {
            s.announce(h, peer(n, 1), u64::from(n) + 1);
        }
        assert_eq!(
            s.announce(h, peer(99_999, 1), 10_000),
            Stored::ReplacedOldest
        );
        assert_eq!(s.len(), MAX_PEERS_PER_HASH);
        let all = s.peers(&h, false, usize::MAX, 10_000);
        assert!(!all.contains(&peer(0, 1)));
        assert!(all.contains(&peer(99_999, 1)));
    }

    #[test]
    fn the_store_refuses_new_hashes_when_full_of_live_announces() {
        let mut s = PeerStore::new();
        for n in 0..MAX_HASHES as u32 {
            let mut h = [0u8; 20];
            h[..4].copy_from_slice(&n.to_be_bytes());
            s.announce(NodeId(h), peer(n, 1), 0);
        }
        assert_eq!(s.announce(NodeId([0xff; 20]), peer(1, 1), 1), Stored::Full);
        // Once the old announces expire there is room again.
        assert_eq!(
            s.announce(NodeId([0xff; 20]), peer(1, 1), PEER_TTL_SECS),
            Stored::Added
        );
        assert_eq!((s.len(), s.hash_count()), (1, 1));
    }

    #[test]
    fn the_total_cap_holds_across_hashes() {
        let mut s = PeerStore::new();
        let per = MAX_PEERS_PER_HASH as u32;
        let hashes = (MAX_PEERS_TOTAL as u32).div_ceil(per) + 1;
        for h in 0..hashes {
            let mut id = [0u8; 20];
            id[..4].copy_from_slice(&h.to_be_bytes());
            for n in 0..per {
                s.announce(NodeId(id), peer(n, 1), 0);
            }
        }
        assert_eq!(s.len(), MAX_PEERS_TOTAL);
    }
}
