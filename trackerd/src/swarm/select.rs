//! Choosing which peers an announce gets: at most `numwant` from a random
//! place in the swarm, never the caller itself (by peer id or by ip:port, which
//! matters for libtorrent), and no seeders for a seeder. Does not change
//! the swarm.

use p2p_proto::tracker::Peer;
use rand::{Rng, RngExt};

use super::AnnounceInput;
use super::peers::PeerEntry;

fn eligible(p: &PeerEntry, a: &AnnounceInput, caller_is_seeder: bool) -> bool {
    p.id != a.peer_id && !p.is_at(&a.addr) && !(caller_is_seeder && p.seeder)
}

fn to_peer(p: &PeerEntry) -> Peer {
    Peer {
        id: Some(p.id),
        addr: p.addr(),
    }
}

/// Picks up to `a.numwant` eligible peers from a random place.
pub(super) fn pick(
    peers: &[PeerEntry],
    a: &AnnounceInput,
    caller_is_seeder: bool,
    rng: &mut (impl Rng + ?Sized),
) -> Vec<Peer> {
    let want = a.numwant;
    // Sized once: a filtered iterator's `collect` would grow the vector
    // (and reallocate) several times on every announce.
    let mut out = Vec::with_capacity(want.min(peers.len()));
    // Small swarm: everyone eligible fits (the caller may be among them).
    if peers.len() <= want + 1 {
        out.extend(
            peers
                .iter()
                .filter(|p| eligible(p, a, caller_is_seeder))
                .map(to_peer)
                .take(want),
        );
        return out;
    }
    // Large swarm: the eligible peers that follow a random place in the
    // list, wrapping round (opentracker does the same). One sequential read
    // instead of `want` scattered ones and no sampling; which peers are
    // neighbours changes as others leave (a leaver's place is taken by the
    // last peer), and each announce starts elsewhere. A seeder in a
    // seeder-heavy swarm walks on until it has every leecher it can get.
    let start = rng.random_range(0..peers.len());
    out.extend(
        peers[start..]
            .iter()
            .chain(&peers[..start])
            .filter(|p| eligible(p, a, caller_is_seeder))
            .take(want)
            .map(to_peer),
    );
    out
}
