//! One swarm's peers, laid out for the announce's hot path: per address
//! family, a dense array of what a compact answer copies (BEP 23 bytes and
//! the seeder flag: 7 bytes an IPv4 peer, 19 an IPv6 one) and beside it the
//! bookkeeping an answer never reads (peer id, last announce: 24 bytes).
//! A pick walks the dense array only. An index by peer id (a table of
//! 4-byte positions hashed with a keyed hash) exists only once the swarm
//! is large: most swarms have a handful of peers, where a scan is faster
//! and costs no memory. Knows nothing of announces or policy.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use p2p_proto::tracker::PeerId;

/// Peers above which a swarm keeps an index by peer id.
const INDEX_ABOVE_PEERS: usize = 32;
/// Peers below which an indexed swarm drops its index again (lower than
/// [`INDEX_ABOVE_PEERS`] so a swarm at the threshold does not rebuild it on
/// every join and leave).
const UNINDEX_BELOW_PEERS: usize = 16;
/// The bit of an indexed position that says "IPv6 array".
const V6_BIT: u32 = 1 << 31;

/// Peer ids come from clients, so the index hashes them with a keyed hash
/// (foldhash, seeded at random per process): one key for every swarm
/// instead of 8+ bytes of hasher state in each.
static ID_HASHER: LazyLock<DefaultHashBuilder> = LazyLock::new(DefaultHashBuilder::default);

fn id_hash(id: &PeerId) -> u64 {
    ID_HASHER.hash_one(id.0)
}

/// A peer as the rest of the swarm module sees it (assembled from both
/// arrays; not how it is stored).
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
}

/// Where a peer is in its list: valid until the list next changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub v6: bool,
    pub i: usize,
}

impl Slot {
    fn packed(self) -> u32 {
        self.i as u32 | if self.v6 { V6_BIT } else { 0 }
    }

    fn unpack(p: u32) -> Slot {
        Slot {
            v6: p & V6_BIT != 0,
            i: (p & !V6_BIT) as usize,
        }
    }
}

/// A compact address (BEP 23 / BEP 7: address then port, big-endian).
pub(crate) trait Compact: Copy + PartialEq + std::fmt::Debug {
    const V6: bool;
    fn bytes(&self) -> &[u8];
}

pub(crate) type Compact4 = [u8; 6];
pub(crate) type Compact6 = [u8; 18];

impl Compact for Compact4 {
    const V6: bool = false;
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl Compact for Compact6 {
    const V6: bool = true;
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// The compact bytes of `addr`, in the array of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompactAddr {
    V4(Compact4),
    V6(Compact6),
}

impl CompactAddr {
    pub fn of(addr: SocketAddr) -> CompactAddr {
        let port = addr.port().to_be_bytes();
        match addr.ip() {
            IpAddr::V4(ip) => {
                let mut b = [0; 6];
                b[..4].copy_from_slice(&ip.octets());
                b[4..].copy_from_slice(&port);
                CompactAddr::V4(b)
            }
            IpAddr::V6(ip) => {
                let mut b = [0; 18];
                b[..16].copy_from_slice(&ip.octets());
                b[16..].copy_from_slice(&port);
                CompactAddr::V6(b)
            }
        }
    }
}

/// The address of compact bytes (6 or 18 of them).
pub(crate) fn socket_addr(compact: &[u8]) -> SocketAddr {
    let (ip, port) = compact.split_at(compact.len() - 2);
    let port = u16::from_be_bytes([port[0], port[1]]);
    let ip = match <[u8; 4]>::try_from(ip) {
        Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).unwrap_or([0; 16]))),
    };
    SocketAddr::new(ip, port)
}

/// What a pick reads of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hot<A> {
    pub addr: A,
    pub seeder: bool,
}

/// What only the bookkeeping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cold {
    pub id: PeerId,
    pub last_seen: u32,
}

/// The peers of one address family: `hot[i]` and `cold[i]` are one peer.
#[derive(Debug)]
pub(crate) struct Family<A> {
    pub hot: Vec<Hot<A>>,
    pub cold: Vec<Cold>,
}

impl<A> Default for Family<A> {
    fn default() -> Self {
        Family {
            hot: Vec::new(),
            cold: Vec::new(),
        }
    }
}

impl<A: Compact> Family<A> {
    fn push(&mut self, hot: Hot<A>, cold: Cold) -> usize {
        if self.hot.len() == self.hot.capacity() {
            // Grow by half rather than double: a swarm's arrays are most
            // of its memory, and amortised pushes stay O(1).
            let more = (self.hot.len() / 2).max(2);
            self.hot.reserve_exact(more);
            self.cold.reserve_exact(more);
        }
        self.hot.push(hot);
        self.cold.push(cold);
        self.hot.len() - 1
    }

    fn swap_remove(&mut self, i: usize) -> (Hot<A>, Cold) {
        let gone = (self.hot.swap_remove(i), self.cold.swap_remove(i));
        let len = self.hot.len();
        if self.hot.capacity() > 2 * len.max(2) {
            self.hot.shrink_to(len * 3 / 2);
            self.cold.shrink_to(len * 3 / 2);
        }
        gone
    }
}

/// The peers of one swarm.
#[derive(Debug, Default)]
pub(crate) struct PeerList {
    pub v4: Family<Compact4>,
    pub v6: Family<Compact6>,
    /// Packed [`Slot`] of each peer, hashed by its id; empty (and
    /// unallocated) but for large swarms. Not boxed: in a large swarm,
    /// reaching it through a box was one more cache miss per announce.
    index: HashTable<u32>,
}

impl PeerList {
    pub fn len(&self) -> usize {
        self.v4.hot.len() + self.v6.hot.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn cold(&self, s: Slot) -> &Cold {
        if s.v6 {
            &self.v6.cold[s.i]
        } else {
            &self.v4.cold[s.i]
        }
    }

    /// Every slot, IPv4 first.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + use<> {
        let (n4, n6) = (self.v4.hot.len(), self.v6.hot.len());
        (0..n4)
            .map(|i| Slot { v6: false, i })
            .chain((0..n6).map(|i| Slot { v6: true, i }))
    }

    /// The peer at `s`.
    pub fn get(&self, s: Slot) -> PeerEntry {
        let (addr, seeder) = if s.v6 {
            let h = &self.v6.hot[s.i];
            (socket_addr(&h.addr), h.seeder)
        } else {
            let h = &self.v4.hot[s.i];
            (socket_addr(&h.addr), h.seeder)
        };
        let c = self.cold(s);
        PeerEntry {
            id: c.id,
            ip: addr.ip(),
            port: addr.port(),
            last_seen: c.last_seen,
            seeder,
        }
    }

    /// Whether the peer at `s` is a seeder.
    pub fn is_seeder(&self, s: Slot) -> bool {
        if s.v6 {
            self.v6.hot[s.i].seeder
        } else {
            self.v4.hot[s.i].seeder
        }
    }

    /// The slot of the peer with this id.
    pub fn find(&self, id: &PeerId) -> Option<Slot> {
        if self.indexed() {
            self.index
                .find(id_hash(id), |&p| self.cold(Slot::unpack(p)).id == *id)
                .map(|&p| Slot::unpack(p))
        } else {
            let at = |cold: &[Cold]| cold.iter().position(|c| c.id == *id);
            at(&self.v4.cold)
                .map(|i| Slot { v6: false, i })
                .or_else(|| at(&self.v6.cold).map(|i| Slot { v6: true, i }))
        }
    }

    /// Adds a peer whose id is not in the list yet; returns its slot.
    pub fn push(&mut self, entry: PeerEntry) -> Slot {
        let cold = Cold {
            id: entry.id,
            last_seen: entry.last_seen,
        };
        let seeder = entry.seeder;
        let slot = match CompactAddr::of(entry.addr()) {
            CompactAddr::V4(addr) => Slot {
                v6: false,
                i: self.v4.push(Hot { addr, seeder }, cold),
            },
            CompactAddr::V6(addr) => Slot {
                v6: true,
                i: self.v6.push(Hot { addr, seeder }, cold),
            },
        };
        if self.indexed() {
            self.index_insert(slot);
        } else if self.len() > INDEX_ABOVE_PEERS {
            let mut index = HashTable::with_capacity(self.len());
            let slots: Vec<Slot> = self.slots().collect();
            for s in slots {
                let id = self.cold(s).id;
                index.insert_unique(id_hash(&id), s.packed(), |&p| {
                    id_hash(&self.cold(Slot::unpack(p)).id)
                });
            }
            self.index = index;
        }
        slot
    }

    /// Whether lookups go through the index (a large swarm).
    fn indexed(&self) -> bool {
        !self.index.is_empty()
    }

    fn index_insert(&mut self, s: Slot) {
        let hash = id_hash(&self.cold(s).id);
        let (v4, v6) = (&self.v4.cold, &self.v6.cold);
        self.index.insert_unique(hash, s.packed(), |&p| {
            let p = Slot::unpack(p);
            id_hash(&if p.v6 { &v6[p.i] } else { &v4[p.i] }.id)
        });
    }

    /// Drops the index entry of `id`, which is at `s`.
    fn index_remove(&mut self, id: &PeerId, s: Slot) {
        if let Ok(e) = self.index.find_entry(id_hash(id), |&p| p == s.packed()) {
            e.remove();
        }
    }

    /// Removes the peer at `s` (the last peer of its family takes its place).
    pub fn swap_remove(&mut self, s: Slot) -> PeerEntry {
        let gone = self.get(s);
        let last = Slot {
            v6: s.v6,
            i: if s.v6 {
                self.v6.hot.len()
            } else {
                self.v4.hot.len()
            } - 1,
        };
        let moved = (last != s).then(|| self.cold(last).id);
        if s.v6 {
            self.v6.swap_remove(s.i);
        } else {
            self.v4.swap_remove(s.i);
        }
        if self.len() < UNINDEX_BELOW_PEERS {
            self.index = HashTable::new();
        }
        if self.indexed() {
            self.index_remove(&gone.id, s);
            if let Some(moved) = moved {
                self.index_remove(&moved, last);
                self.index_insert(s);
            }
        }
        gone
    }

    /// Sets where the peer at `s` is, whether it seeds and when it last
    /// announced; returns its slot afterwards (another family's array when
    /// its address changed family).
    pub fn update(&mut self, s: Slot, addr: SocketAddr, seeder: bool, last_seen: u32) -> Slot {
        match (CompactAddr::of(addr), s.v6) {
            (CompactAddr::V4(a), false) => {
                self.v4.hot[s.i] = Hot { addr: a, seeder };
                self.v4.cold[s.i].last_seen = last_seen;
                s
            }
            (CompactAddr::V6(a), true) => {
                self.v6.hot[s.i] = Hot { addr: a, seeder };
                self.v6.cold[s.i].last_seen = last_seen;
                s
            }
            _ => {
                let id = self.swap_remove(s).id;
                self.push(PeerEntry {
                    id,
                    ip: addr.ip(),
                    port: addr.port(),
                    last_seen,
                    seeder,
                })
            }
        }
    }

    /// Every peer, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = PeerEntry> + '_ {
        self.slots().map(|s| self.get(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> PeerEntry {
        let mut id = [b'x'; 20];
        id[..4].copy_from_slice(&n.to_be_bytes());
        // Every third peer on IPv6, so both arrays and moves between them
        // are exercised.
        let ip = if n.is_multiple_of(3) {
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n as u16])
        } else {
            IpAddr::from([10, 0, 0, 1])
        };
        PeerEntry {
            id: PeerId(id),
            ip,
            port: 1000 + n as u16,
            last_seen: n,
            seeder: n.is_multiple_of(2),
        }
    }

    fn check(list: &PeerList, present: &[u32]) {
        assert_eq!(list.len(), present.len());
        for &n in present {
            let s = list.find(&entry(n).id).expect("present peer is found");
            assert_eq!(list.get(s), entry(n));
        }
        assert_eq!(list.find(&entry(9999).id), None);
    }

    #[test]
    fn a_pick_reads_7_bytes_per_ipv4_peer_and_the_bookkeeping_is_24() {
        assert_eq!(std::mem::size_of::<Hot<Compact4>>(), 7);
        assert_eq!(std::mem::size_of::<Hot<Compact6>>(), 19);
        assert_eq!(std::mem::size_of::<Cold>(), 24);
    }

    #[test]
    fn compact_bytes_round_trip_to_the_address() {
        for a in ["10.1.2.3:6881", "[2001:db8::7]:51413"] {
            let addr: SocketAddr = a.parse().unwrap();
            let bytes = match CompactAddr::of(addr) {
                CompactAddr::V4(b) => b.to_vec(),
                CompactAddr::V6(b) => b.to_vec(),
            };
            assert_eq!(socket_addr(&bytes), addr);
        }
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
        assert!(list.indexed());
        // Remove from the front, the middle and the end, down to nothing.
        while let Some(&n) = present.get(present.len() / 3) {
            let s = list.find(&entry(n).id).expect("present");
            assert_eq!(list.swap_remove(s), entry(n));
            present.retain(|&m| m != n);
            check(&list, &present);
        }
        assert!(!list.indexed());
        assert!(list.is_empty());
    }

    #[test]
    fn a_peer_that_changes_family_moves_array_and_stays_findable() {
        let mut list = PeerList::default();
        for n in 0..60 {
            list.push(entry(n));
        }
        for n in [1, 3, 40, 59] {
            let s = list.find(&entry(n).id).expect("present");
            let to: SocketAddr = if s.v6 {
                "10.9.9.9:7000".parse().unwrap()
            } else {
                "[2001:db8::99]:7000".parse().unwrap()
            };
            let after = list.update(s, to, true, 77);
            assert_eq!(after.v6, !s.v6);
            let got = list.get(list.find(&entry(n).id).expect("still present"));
            assert_eq!((got.addr(), got.seeder, got.last_seen), (to, true, 77));
        }
        assert_eq!(list.len(), 60);
        for n in 0..60 {
            assert!(list.find(&entry(n).id).is_some());
        }
    }
}
