//! Per-user upload and download totals from announces. Clients report
//! cumulative byte counts per torrent; this keeps the last report of each
//! (user, torrent, peer) and adds the increase to a pending tally that the
//! caller writes to the store. Plain Rust, no I/O.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;

/// Most (user, torrent, peer) reports remembered.
pub const MAX_TRACKED_PEERS: usize = 1_000_000;

/// Last reports and pending increases.
#[derive(Debug, Default)]
pub struct Traffic {
    last: HashMap<(i64, InfoHash, PeerId), (u64, u64)>,
    pending: HashMap<i64, (u64, u64)>,
}

impl Traffic {
    /// Takes one announce's cumulative counters; `stopped` forgets the peer.
    /// One map lookup per report (announces of logged-in users call this).
    pub fn report(
        &mut self,
        user: i64,
        h: InfoHash,
        peer: PeerId,
        up: u64,
        down: u64,
        stopped: bool,
    ) {
        let key = (user, h, peer);
        let last = if stopped {
            self.last.remove(&key).unwrap_or((0, 0))
        } else {
            let full = self.last.len() >= MAX_TRACKED_PEERS;
            match self.last.entry(key) {
                Entry::Occupied(mut e) => e.insert((up, down)),
                Entry::Vacant(e) => {
                    if !full {
                        e.insert((up, down));
                    }
                    (0, 0)
                }
            }
        };
        // Counters that went down mean the client restarted: count from zero.
        let increase = |now: u64, before: u64| if now >= before { now - before } else { now };
        let (du, dd) = (increase(up, last.0), increase(down, last.1));
        if du > 0 || dd > 0 {
            let p = self.pending.entry(user).or_default();
            p.0 = p.0.saturating_add(du);
            p.1 = p.1.saturating_add(dd);
        }
    }

    /// Takes the pending increases: (user, uploaded, downloaded).
    pub fn drain(&mut self) -> Vec<(i64, u64, u64)> {
        self.pending.drain().map(|(u, (a, b))| (u, a, b)).collect()
    }

    /// Puts back increases that could not be written.
    pub fn restore(&mut self, batch: &[(i64, u64, u64)]) {
        for &(u, a, b) in batch {
            let p = self.pending.entry(u).or_default();
            p.0 = p.0.saturating_add(a);
            p.1 = p.1.saturating_add(b);
        }
    }

    /// Pending increases of one user (not yet written).
    pub fn pending(&self, user: i64) -> (u64, u64) {
        self.pending.get(&user).copied().unwrap_or((0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increases_are_counted_once_and_a_restart_counts_from_zero() {
        let mut t = Traffic::default();
        let (h, p) = (InfoHash([1; 20]), PeerId([2; 20]));
        t.report(1, h, p, 100, 10, false);
        t.report(1, h, p, 150, 10, false);
        assert_eq!(t.pending(1), (150, 10));
        t.report(1, h, p, 20, 0, false);
        assert_eq!(t.drain(), vec![(1, 170, 10)]);
        t.report(1, h, p, 20, 5, true);
        assert_eq!(t.drain(), vec![(1, 0, 5)]);
        assert!(t.last.is_empty());
    }
}
