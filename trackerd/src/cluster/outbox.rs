//! This instance's peer changes waiting to be shared (issue 16): one slot
//! per peer of a swarm, the last change wins, drained in a batch. Sharded
//! like the swarms so announces for different torrents do not contend.
//! Bounded by the swarms' own caps: a change is recorded only for an
//! announce the swarms accepted (or a `stopped` that removed a peer).
//! Keyed by client-chosen ids, hashed with foldhash (randomly keyed): a
//! fraction of SipHash's cost on every announce.

use hashbrown::HashMap;
use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;
use parking_lot::Mutex;

use crate::store::peers::PeerChange;

/// Shards of the outbox.
const SHARDS: usize = 16;

type Key = (InfoHash, bool, PeerId);

/// Changes waiting for the next batch.
#[derive(Debug)]
pub struct Outbox {
    shards: Box<[Mutex<HashMap<Key, PeerChange>>]>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

fn key(c: &PeerChange) -> Key {
    (c.info_hash, c.outsider, c.peer_id)
}

impl Outbox {
    fn shard(&self, h: &InfoHash) -> &Mutex<HashMap<Key, PeerChange>> {
        &self.shards[usize::from(h.0[0]) % SHARDS]
    }

    /// Records a change, replacing the peer's earlier one (a completion
    /// counted in between is kept).
    pub fn record(&self, c: PeerChange) {
        let mut shard = self.shard(&c.info_hash).lock();
        let slot = shard.entry(key(&c)).or_insert(c);
        let completed = slot.completed || c.completed;
        *slot = PeerChange { completed, ..c };
    }

    /// Takes every waiting change.
    pub fn drain(&self) -> Vec<PeerChange> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.lock().drain().map(|(_, c)| c));
        }
        out
    }

    /// Puts back a batch that could not be written, under any change
    /// recorded since (those are newer).
    pub fn restore(&self, batch: Vec<PeerChange>) {
        for c in batch {
            let mut shard = self.shard(&c.info_hash).lock();
            let slot = shard.entry(key(&c)).or_insert(c);
            slot.completed |= c.completed;
        }
    }

    /// Changes waiting.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn change(peer: u8, stopped: bool, completed: bool) -> PeerChange {
        PeerChange {
            info_hash: InfoHash([1; 20]),
            outsider: false,
            peer_id: PeerId([peer; 20]),
            addr: SocketAddr::from(([127, 0, 0, 1], 6881)),
            seeder: completed,
            stopped,
            completed,
        }
    }

    #[test]
    fn the_last_change_of_a_peer_wins_and_keeps_a_completion_seen_before() {
        let o = Outbox::default();
        o.record(change(1, false, false));
        o.record(change(1, false, true));
        o.record(change(1, true, false));
        o.record(change(2, false, false));
        let mut batch = o.drain();
        batch.sort_by_key(|c| c.peer_id.0);
        assert_eq!(batch.len(), 2);
        assert!(batch[0].stopped && batch[0].completed);
        assert!(o.is_empty());
    }

    #[test]
    fn a_restored_batch_does_not_overwrite_a_newer_change() {
        let o = Outbox::default();
        o.record(change(1, false, false));
        let batch = o.drain();
        o.record(change(1, true, false));
        o.restore(batch);
        let now = o.drain();
        assert_eq!(now.len(), 1);
        assert!(now[0].stopped);
    }
}
