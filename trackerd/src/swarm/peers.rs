//! One swarm's peers, kept small: a compact entry per peer (44 bytes: id,
//! IP, port, a seconds stamp, seeder flag) in a vector for cheap random
//! picks, and an index by peer id only once the swarm is large (most swarms
//! have a handful of peers, where a scan is faster than a hash and costs no
//! memory). Knows nothing of announces or policy.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use p2p_proto::tracker::PeerId;

/// Peers above which a swarm keeps an index by peer id.
const INDEX_ABOVE_PEERS: usize = 32;
/// Peers below which an indexed swarm drops its index again (lower than
/// [`INDEX_ABOVE_PEERS`] so a swarm at the threshold does not rebuild it on
/// every join and leave).
const UNINDEX_BELOW_PEERS: usize = 16;

/// One peer of a swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerEntry {
    pub id: PeerId,
    pub ip: IpAddr,
    pub port: u16,
    /// Whole seconds since the swarms' epoch when it last announced.
    pub last_seen: u32,
    pub seeder: bool,
}

impl PeerEntry {
    /// Where other peers reach it.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// Whether it announced from `addr` (ip and port).
    pub fn is_at(&self, addr: &SocketAddr) -> bool {
        self.ip == addr.ip() && self.port == addr.port()
    }
}

/// The peers of one swarm.
#[derive(Debug, Default)]
pub(crate) struct PeerList {
    entries: Vec<PeerEntry>,
    /// Position of each peer in `entries`, only for large swarms. Boxed so
    /// the many small swarms pay 8 bytes for it, not 48.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<PeerId, u32>>>,
}

impl PeerList {
    /// Every peer, in no particular order.
    pub fn as_slice(&self) -> &[PeerEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Position of the peer with this id.
    pub fn find(&self, id: &PeerId) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(id).map(|&i| i as usize),
            None => self.entries.iter().position(|p| p.id == *id),
        }
    }

    pub fn get_mut(&mut self, i: usize) -> &mut PeerEntry {
        &mut self.entries[i]
    }

    /// Adds a peer whose id is not in the list yet.
    pub fn push(&mut self, entry: PeerEntry) {
        if self.entries.len() == self.entries.capacity() {
            // Grow by half rather than double: a swarm's vector is most of
            // its memory, and amortised pushes stay O(1).
            self.entries.reserve_exact((self.entries.len() / 2).max(2));
        }
        let position = self.entries.len() as u32;
        self.entries.push(entry);
        if let Some(index) = &mut self.index {
            index.insert(entry.id, position);
        } else if self.entries.len() > INDEX_ABOVE_PEERS {
            self.index = Some(Box::new(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.id, i as u32))
                    .collect(),
            ));
        }
    }

    /// Removes the peer at `i` (the last peer takes its place).
    pub fn swap_remove(&mut self, i: usize) -> PeerEntry {
        let gone = self.entries.swap_remove(i);
        if self.entries.len() < UNINDEX_BELOW_PEERS {
            self.index = None;
        }
        if let Some(index) = &mut self.index {
            index.remove(&gone.id);
            if let Some(moved) = self.entries.get(i) {
                index.insert(moved.id, i as u32);
            }
        }
        if self.entries.capacity() > 2 * self.entries.len().max(2) {
            self.entries.shrink_to(self.entries.len() * 3 / 2);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> PeerEntry {
        let mut id = [b'x'; 20];
        id[..4].copy_from_slice(&n.to_be_bytes());
        PeerEntry {
            id: PeerId(id),
            ip: IpAddr::from([10, 0, 0, 1]),
            port: 1000 + n as u16,
            last_seen: n,
            seeder: false,
        }
    }

    fn check(list: &PeerList, present: &[u32]) {
        assert_eq!(list.len(), present.len());
        for &n in present {
            let i = list.find(&entry(n).id).expect("present peer is found");
            assert_eq!(list.as_slice()[i], entry(n));
        }
        assert_eq!(list.find(&entry(9999).id), None);
    }

    #[test]
    fn an_entry_is_44_bytes() {
        assert_eq!(std::mem::size_of::<PeerEntry>(), 44);
    }

    #[test]
    fn peers_are_found_below_at_and_above_the_index_threshold_as_it_grows_and_shrinks() {
        let mut list = PeerList::default();
        let mut present = Vec::new();
        for n in 0..100 {
            list.push(entry(n));
            present.push(n);
            check(&list, &present);
        }
        assert!(list.index.is_some());
        // Remove from the front, the middle and the end, down to nothing.
        while let Some(&n) = present.get(present.len() / 3) {
            let i = list.find(&entry(n).id).expect("present");
            assert_eq!(list.swap_remove(i), entry(n));
            present.retain(|&m| m != n);
            check(&list, &present);
        }
        assert!(list.index.is_none());
        assert!(list.is_empty());
    }
}
