//! Per-user upload and download totals from announces. Clients report
//! cumulative byte counts per torrent; this keeps the last report of each
//! (user, torrent, peer) and adds the increase to a pending tally that the
//! caller writes to the store. Traffic of torrents outside any group is
//! also tallied apart: it is what other users see (issue 12). Plain Rust,
//! no I/O.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;

/// Most (user, torrent, peer) reports remembered.
pub const MAX_TRACKED_PEERS: usize = 1_000_000;

/// One user's increases waiting to be written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrafficDelta {
    /// The user.
    pub user: i64,
    /// Bytes uploaded, all torrents.
    pub uploaded: u64,
    /// Bytes downloaded, all torrents.
    pub downloaded: u64,
    /// Bytes uploaded in torrents no group owns.
    pub public_uploaded: u64,
    /// Bytes downloaded in torrents no group owns.
    pub public_downloaded: u64,
}

impl TrafficDelta {
    fn add(&mut self, o: &TrafficDelta) {
        self.uploaded = self.uploaded.saturating_add(o.uploaded);
        self.downloaded = self.downloaded.saturating_add(o.downloaded);
        self.public_uploaded = self.public_uploaded.saturating_add(o.public_uploaded);
        self.public_downloaded = self.public_downloaded.saturating_add(o.public_downloaded);
    }
}

/// Last reports and pending increases.
#[derive(Debug, Default)]
pub struct Traffic {
    last: HashMap<(i64, InfoHash, PeerId), (u64, u64)>,
    pending: HashMap<i64, TrafficDelta>,
}

impl Traffic {
    /// Takes one announce's cumulative counters; `stopped` forgets the peer;
    /// `public`: no group owns the torrent. One map lookup per report
    /// (announces of logged-in users call this).
    #[allow(clippy::too_many_arguments)]
    pub fn report(
        &mut self,
        user: i64,
        h: InfoHash,
        peer: PeerId,
        up: u64,
        down: u64,
        stopped: bool,
        public: bool,
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
            let (pu, pd) = if public { (du, dd) } else { (0, 0) };
            self.pending
                .entry(user)
                .or_insert(TrafficDelta {
                    user,
                    ..TrafficDelta::default()
                })
                .add(&TrafficDelta {
                    user,
                    uploaded: du,
                    downloaded: dd,
                    public_uploaded: pu,
                    public_downloaded: pd,
                });
        }
    }

    /// Takes the pending increases.
    pub fn drain(&mut self) -> Vec<TrafficDelta> {
        self.pending.drain().map(|(_, d)| d).collect()
    }

    /// Puts back increases that could not be written.
    pub fn restore(&mut self, batch: &[TrafficDelta]) {
        for d in batch {
            self.pending
                .entry(d.user)
                .or_insert(TrafficDelta {
                    user: d.user,
                    ..TrafficDelta::default()
                })
                .add(d);
        }
    }

    /// Pending increases of one user (not yet written).
    pub fn pending(&self, user: i64) -> TrafficDelta {
        self.pending.get(&user).copied().unwrap_or(TrafficDelta {
            user,
            ..TrafficDelta::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increases_are_counted_once_and_a_restart_counts_from_zero() {
        let mut t = Traffic::default();
        let (h, p) = (InfoHash([1; 20]), PeerId([2; 20]));
        let d = |up, down, pub_up, pub_down| TrafficDelta {
            user: 1,
            uploaded: up,
            downloaded: down,
            public_uploaded: pub_up,
            public_downloaded: pub_down,
        };
        t.report(1, h, p, 100, 10, false, true);
        t.report(1, h, p, 150, 10, false, true);
        assert_eq!(t.pending(1), d(150, 10, 150, 10));
        t.report(1, h, p, 20, 0, false, true);
        assert_eq!(t.drain(), vec![d(170, 10, 170, 10)]);
        t.report(1, h, p, 20, 5, true, true);
        assert_eq!(t.drain(), vec![d(0, 5, 0, 5)]);
        assert!(t.last.is_empty());
        // A group's torrent counts in the totals only.
        t.report(1, InfoHash([3; 20]), p, 7, 0, false, false);
        assert_eq!(t.drain(), vec![d(7, 0, 0, 0)]);
    }
}
