//! Peers other trackerd instances hold (issue 16): their changes, read
//! from the shared database, applied to the swarms here so that they are
//! handed out by announces and counted by scrapes like this instance's
//! own. A remote peer's `last_seen` is set from its row's expiry, so the
//! purge drops it when its row expires, and a re-announce on its instance
//! (a new row) keeps it. Caps: one instance refuses what is over its caps
//! before sharing it; here only the memory bounds (`max_torrents`,
//! `max_peers`) hold, and a remote peer is counted against its address
//! without being refused, so the per-address caps see the whole cluster.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;
use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;

use super::peers::PeerEntry;
use super::{AddressKey, Swarm, Swarms};

/// A change of a peer on another instance, ready to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemotePeer {
    /// The swarm (an outsiders' key already mapped to this instance's).
    pub swarm: InfoHash,
    /// The peer.
    pub peer_id: PeerId,
    /// Where other peers reach it.
    pub addr: SocketAddr,
    /// Nothing left to download.
    pub seeder: bool,
    /// It left the swarm.
    pub stopped: bool,
    /// Its instance counted a completed download: count it here too, so
    /// scrapes agree.
    pub completed: bool,
    /// Time left before it expires.
    pub expires_in: Duration,
}

impl Swarms {
    /// Applies another instance's change at `now`, where local peers
    /// expire `timeout` after their last announce. Returns false when it
    /// was dropped because the swarms are full.
    pub fn apply_remote(&self, p: &RemotePeer, now: Instant, timeout: Duration) -> bool {
        let mut one = [*p];
        self.apply_remote_batch(&mut one, now, timeout) == 0
    }

    /// Applies a batch of other instances' changes (reordered: by shard,
    /// each peer's changes kept in their order), taking each shard's lock
    /// once for all of its changes rather than once a change. Returns how
    /// many were dropped because the swarms are full.
    pub fn apply_remote_batch(
        &self,
        batch: &mut [RemotePeer],
        now: Instant,
        timeout: Duration,
    ) -> usize {
        // Stable: a peer's `stopped` must stay after its announce.
        batch.sort_by_key(|p| self.shard_of(&p.swarm));
        let mut dropped = 0;
        for run in batch.chunk_by(|a, b| self.shard_of(&a.swarm) == self.shard_of(&b.swarm)) {
            let mut shard = self.shard(&run[0].swarm).lock();
            for p in run {
                // As if it announced at the moment that makes it expire
                // with its row.
                let seen = (now + p.expires_in).checked_sub(timeout).unwrap_or(now);
                if !self.apply_one(&mut shard, p, self.seconds(seen)) {
                    dropped += 1;
                }
            }
        }
        dropped
    }

    /// One change, under its shard's lock; false when the swarms are full.
    fn apply_one(
        &self,
        shard: &mut HashMap<InfoHash, Swarm>,
        p: &RemotePeer,
        last_seen: u32,
    ) -> bool {
        let per_address = self.limits.per_address();
        let swarm = match shard.entry(p.swarm) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                if p.stopped || self.torrents.load(Ordering::Relaxed) >= self.limits.max_torrents {
                    return p.stopped;
                }
                self.torrents.fetch_add(1, Ordering::Relaxed);
                e.insert(Swarm::default())
            }
        };
        if p.completed {
            swarm.downloaded += 1;
        }
        let known = swarm.peers.find(&p.peer_id);
        match known {
            Some(s) if p.stopped => {
                let gone = swarm.remove_at(s);
                self.peers.fetch_sub(1, Ordering::Relaxed);
                if per_address {
                    self.by_address.remove_peer(AddressKey::of(gone.ip));
                }
            }
            None if p.stopped => {}
            Some(s) => {
                let entry = swarm.peers.get(s);
                let moved = entry.ip != p.addr.ip();
                swarm.update(s, p.addr, p.seeder, entry.last_seen.max(last_seen));
                if per_address && moved {
                    self.by_address.remove_peer(AddressKey::of(entry.ip));
                    self.count_remote(p.addr);
                }
            }
            None => {
                if self.peers.load(Ordering::Relaxed) >= self.limits.max_peers {
                    return false;
                }
                swarm.peers.push(PeerEntry {
                    id: p.peer_id,
                    ip: p.addr.ip(),
                    port: p.addr.port(),
                    seeder: p.seeder,
                    last_seen,
                });
                swarm.seeders += u32::from(p.seeder);
                self.peers.fetch_add(1, Ordering::Relaxed);
                if per_address {
                    self.count_remote(p.addr);
                }
            }
        }
        true
    }

    /// Counts a remote peer against its address, never refusing it.
    fn count_remote(&self, addr: SocketAddr) {
        // A cap of 0 is no cap: this cannot fail.
        let _ = self.by_address.try_add_peer(AddressKey::of(addr.ip()), 0);
    }
}
