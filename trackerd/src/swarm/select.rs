//! Choosing which peers an announce gets: at most `numwant` from a random
//! place in the swarm, never the caller itself (by its slot, which is its
//! peer id, or by ip:port, which matters for libtorrent), and no seeders
//! for a seeder. Reads only the dense arrays of compact addresses and
//! hands each pick to a [`PeerSink`] (a UDP answer copies the bytes
//! straight into its datagram). Does not change the swarm.

use p2p_proto::tracker::{Peer, PeerId};
use rand::{Rng, RngExt};

use super::peers::{Compact, CompactAddr, Family, PeerList, Slot, socket_addr};

/// Where picked peers go.
pub trait PeerSink {
    /// Whether peers of this family are wanted (`v6`: IPv6). A UDP answer
    /// carries only the family of its socket (BEP 15).
    fn wants(&self, v6: bool) -> bool {
        let _ = v6;
        true
    }

    /// Most peers it takes, whatever `numwant` says.
    fn room(&self) -> usize {
        usize::MAX
    }

    /// One picked peer: its compact bytes (6 for IPv4, 18 for IPv6, BEP 23
    /// and BEP 7) and its id.
    fn push(&mut self, compact: &[u8], id: &PeerId);
}

/// Peers as values, with their ids (for dictionary answers and tests).
impl PeerSink for Vec<Peer> {
    fn push(&mut self, compact: &[u8], id: &PeerId) {
        Vec::push(
            self,
            Peer {
                id: Some(*id),
                addr: socket_addr(compact),
            },
        );
    }
}

/// The caller, as a pick must skip it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caller {
    /// Its own entry.
    pub slot: Option<Slot>,
    /// Where it announced from.
    pub addr: CompactAddr,
    pub seeder: bool,
}

/// Picks up to `want` eligible peers from a random place, into `sink`.
pub(super) fn pick(
    peers: &PeerList,
    caller: &Caller,
    want: usize,
    rng: &mut (impl Rng + ?Sized),
    sink: &mut impl PeerSink,
) {
    let want = want.min(sink.room());
    let n4 = if sink.wants(false) {
        peers.v4.hot.len()
    } else {
        0
    };
    let n6 = if sink.wants(true) {
        peers.v6.hot.len()
    } else {
        0
    };
    let total = n4 + n6;
    if want == 0 || total == 0 {
        return;
    }
    // Large swarm: the eligible peers that follow a random place in the
    // arrays (IPv4 then IPv6), wrapping round (opentracker does the same).
    // One sequential read of 7-byte entries instead of `want` scattered
    // ones and no sampling; which peers are neighbours changes as others
    // leave (a leaver's place is taken by the last peer), and each
    // announce starts elsewhere. A seeder in a seeder-heavy swarm walks on
    // until it has every leecher it can get. A small swarm (everyone
    // eligible fits, the caller may be among them) is read from the start.
    let start = if total <= want + 1 {
        0
    } else {
        rng.random_range(0..total)
    };
    let mut left = want;
    let (v4, v6) = (&peers.v4, &peers.v6);
    if start < n4 {
        walk(v4, start..n4, caller, &mut left, sink);
        walk(v6, 0..n6, caller, &mut left, sink);
        walk(v4, 0..start, caller, &mut left, sink);
    } else {
        let s6 = start - n4;
        walk(v6, s6..n6, caller, &mut left, sink);
        walk(v4, 0..n4, caller, &mut left, sink);
        walk(v6, 0..s6, caller, &mut left, sink);
    }
}

/// Hands the eligible peers of `family[range]` to `sink` until `left`
/// reaches 0.
fn walk<A: Compact>(
    family: &Family<A>,
    range: std::ops::Range<usize>,
    caller: &Caller,
    left: &mut usize,
    sink: &mut impl PeerSink,
) {
    if *left == 0 || range.is_empty() {
        return;
    }
    let own = caller.slot.filter(|s| s.v6 == A::V6).map(|s| s.i);
    let own_addr: Option<&[u8]> = match (&caller.addr, A::V6) {
        (CompactAddr::V4(b), false) => Some(b),
        (CompactAddr::V6(b), true) => Some(b),
        _ => None,
    };
    let base = range.start;
    for (k, h) in family.hot[range].iter().enumerate() {
        let i = base + k;
        if Some(i) == own
            || (caller.seeder && h.seeder)
            || own_addr.is_some_and(|a| a == h.addr.bytes())
        {
            continue;
        }
        sink.push(h.addr.bytes(), &family.cold[i].id);
        *left -= 1;
        if *left == 0 {
            return;
        }
    }
}
