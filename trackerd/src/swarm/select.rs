//! Choosing which peers an announce gets: a random subset of at most
//! `numwant`, never the caller itself (by peer id or by ip:port, which
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

/// Picks up to `a.numwant` eligible peers at random.
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
    // Large swarm: a uniform sample of indices, with room for the caller.
    out.extend(
        rand::seq::index::sample(rng, peers.len(), want + 1)
            .into_iter()
            .map(|i| &peers[i])
            .filter(|p| eligible(p, a, caller_is_seeder))
            .take(want)
            .map(to_peer),
    );
    if out.len() < want {
        // Many ineligible peers (a seeder in a seeder-heavy swarm): walk the
        // whole swarm from a random offset to fill up.
        out.clear();
        let start = rng.random_range(0..peers.len());
        out.extend(
            peers[start..]
                .iter()
                .chain(&peers[..start])
                .filter(|p| eligible(p, a, caller_is_seeder))
                .take(want)
                .map(to_peer),
        );
    }
    out
}
