//! Choking (BEP 3): a few upload slots go to the best peers by rate (what
//! they give us while we download, what they take while we seed), plus one
//! optimistic slot that rotates so new peers get a chance. Snubbed peers
//! (no data for a long time) lose their slot. The decision is a pure function.

use std::collections::HashSet;

/// A peer as the choker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Torrent-local peer key.
    pub key: u64,
    /// Whether it wants data from us.
    pub interested: bool,
    /// Bytes per second it sends us.
    pub download_rate: u64,
    /// Bytes per second we send it.
    pub upload_rate: u64,
    /// It has not sent requested data for a long time.
    pub snubbed: bool,
}

/// Peers to unchoke: the `slots` best interested peers by rate, and the
/// optimistic peer if it is interested.
pub fn decide(
    peers: &[Candidate],
    slots: usize,
    seeding: bool,
    optimistic: Option<u64>,
) -> HashSet<u64> {
    let mut ranked: Vec<&Candidate> = peers
        .iter()
        .filter(|p| p.interested && !p.snubbed)
        .collect();
    ranked.sort_by_key(|p| {
        std::cmp::Reverse(if seeding {
            p.upload_rate
        } else {
            p.download_rate
        })
    });
    let mut chosen: HashSet<u64> = ranked.iter().take(slots).map(|p| p.key).collect();
    if let Some(o) = optimistic
        && peers.iter().any(|p| p.key == o && p.interested)
    {
        chosen.insert(o);
    }
    chosen
}

/// The next optimistic unchoke: an interested peer not already chosen, taken
/// round-robin after the previous one (`pick` is a random number).
pub fn next_optimistic(peers: &[Candidate], chosen: &HashSet<u64>, pick: u64) -> Option<u64> {
    let pool: Vec<u64> = peers
        .iter()
        .filter(|p| p.interested && !chosen.contains(&p.key))
        .map(|p| p.key)
        .collect();
    if pool.is_empty() {
        None
    } else {
        Some(pool[(pick % pool.len() as u64) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(key: u64, interested: bool, down: u64, up: u64) -> Candidate {
        Candidate {
            key,
            interested,
            download_rate: down,
            upload_rate: up,
            snubbed: false,
        }
    }

    #[test]
    fn the_fastest_interested_peers_get_the_slots() {
        let peers = [
            peer(1, true, 10, 0),
            peer(2, true, 30, 0),
            peer(3, false, 99, 0),
            peer(4, true, 20, 0),
        ];
        assert_eq!(decide(&peers, 2, false, None), HashSet::from([2, 4]));
    }

    #[test]
    fn while_seeding_upload_rate_ranks() {
        let peers = [
            peer(1, true, 0, 5),
            peer(2, true, 99, 1),
            peer(3, true, 0, 9),
        ];
        assert_eq!(decide(&peers, 2, true, None), HashSet::from([1, 3]));
    }

    #[test]
    fn the_optimistic_peer_is_added_and_snubbed_peers_lose_their_slot() {
        let mut peers = vec![
            peer(1, true, 50, 0),
            peer(2, true, 40, 0),
            peer(3, true, 0, 0),
        ];
        peers[0].snubbed = true;
        assert_eq!(decide(&peers, 1, false, Some(3)), HashSet::from([2, 3]));
        let chosen = HashSet::from([2]);
        assert!(matches!(next_optimistic(&peers, &chosen, 7), Some(1 | 3)));
        assert_eq!(next_optimistic(&[], &chosen, 7), None);
    }
}
