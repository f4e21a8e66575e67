//! Swarms in memory: who is in which torrent, which peers to hand out,
//! expiry and counters. Plain Rust: time (`now`) and randomness come in as
//! arguments, so every rule is tested without sleeping.
//!
//! Sharded by info-hash (one mutex per shard) so announces for different
//! torrents do not contend. Must not do I/O, await, or read the clock.

mod address;
#[cfg(test)]
mod address_caps_tests;
mod limits;
mod peers;
mod remote;
#[cfg(test)]
mod remote_tests;
mod select;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hashbrown::HashMap;
use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{Event, Peer, PeerId, ScrapeStats};
use parking_lot::Mutex;
use rand::Rng;

/// Default number of shards (a power of two well above the core count).
pub const DEFAULT_SHARDS: usize = 128;

/// One announce, as the swarm sees it (already validated and capped).
#[derive(Debug, Clone, Copy)]
pub struct AnnounceInput {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The peer's own id.
    pub peer_id: PeerId,
    /// Where other peers reach it.
    pub addr: SocketAddr,
    /// Bytes still missing (0: seeder).
    pub left: u64,
    /// What happened.
    pub event: Event,
    /// Most peers to return (already capped by policy).
    pub numwant: usize,
    /// The torrent is tracked only because the tracker is open (neither
    /// registered nor published): creating its swarm counts against the
    /// address's [`Limits::max_torrents_per_address`].
    pub open_swarm: bool,
}

/// What the swarm answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnounceOutcome {
    /// Peers for the caller, never itself.
    pub peers: Vec<Peer>,
    /// Seeders after this announce.
    pub complete: u32,
    /// Leechers after this announce.
    pub incomplete: u32,
    /// True when this announce counted a completed download.
    pub counted_completion: bool,
    /// True when a `stopped` removed the peer (a `stopped` from a peer
    /// the swarm does not hold changes nothing).
    pub removed: bool,
}

/// [`AnnounceOutcome`] but the peers, which went to a [`PeerSink`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnnounceCounts {
    /// Seeders after this announce.
    pub complete: u32,
    /// Leechers after this announce.
    pub incomplete: u32,
    /// True when this announce counted a completed download.
    pub counted_completion: bool,
    /// True when a `stopped` removed the peer.
    pub removed: bool,
}

/// Totals over every swarm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Swarms held in memory.
    pub torrents: usize,
    /// Seeders over all swarms.
    pub seeders: usize,
    /// Leechers over all swarms.
    pub leechers: usize,
}

pub use address::AddressKey;
use address::{ByAddress, entries_from};
pub use limits::{Full, Limits};
use peers::{CompactAddr, PeerEntry, PeerList, Slot};
pub use remote::RemotePeer;
pub use select::PeerSink;

/// One torrent's peers and counters.
#[derive(Debug, Default)]
pub(crate) struct Swarm {
    pub peers: PeerList,
    pub seeders: u32,
    pub downloaded: u64,
    /// The address that created it, when that counts against its cap.
    pub creator: Option<AddressKey>,
}

impl Swarm {
    fn leechers(&self) -> u32 {
        self.peers.len() as u32 - self.seeders
    }

    fn stats(&self) -> ScrapeStats {
        ScrapeStats {
            complete: self.seeders,
            downloaded: u32::try_from(self.downloaded).unwrap_or(u32::MAX),
            incomplete: self.leechers(),
        }
    }

    fn remove_at(&mut self, s: Slot) -> PeerEntry {
        let gone = self.peers.swap_remove(s);
        if gone.seeder {
            self.seeders -= 1;
        }
        gone
    }

    /// Sets where the known peer at `s` is and whether it seeds; returns
    /// its slot afterwards.
    fn update(&mut self, s: Slot, addr: SocketAddr, seeder: bool, last_seen: u32) -> Slot {
        let was_seeder = self.peers.is_seeder(s);
        if was_seeder != seeder {
            if seeder {
                self.seeders += 1;
            } else {
                self.seeders -= 1;
            }
        }
        self.peers.update(s, addr, seeder, last_seen)
    }

    /// Applies one announce at `now` (seconds since the epoch) from the
    /// peer at `known` (looked up by the caller), and hands the peers
    /// picked for it to `sink`.
    fn announce(
        &mut self,
        a: &AnnounceInput,
        known: Option<Slot>,
        now: u32,
        rng: &mut (impl Rng + ?Sized),
        sink: &mut impl PeerSink,
    ) -> AnnounceCounts {
        let seeder = a.left == 0;
        let was_seeder = known.is_some_and(|s| self.peers.is_seeder(s));
        // A download counts once: on `completed`, or when a known leecher
        // reports nothing left (aria2 with --seed-time=0 goes straight to
        // `stopped`), but never again for a peer already seeding.
        let counted = seeder && !was_seeder && (a.event == Event::Completed || known.is_some());
        if counted {
            self.downloaded += 1;
        }
        let mut removed = false;
        let mut own = None;
        if a.event == Event::Stopped {
            if let Some(s) = known {
                self.remove_at(s);
                removed = true;
            }
        } else {
            own = Some(match known {
                Some(s) => self.update(s, a.addr, seeder, now),
                None => {
                    self.seeders += u32::from(seeder);
                    self.peers.push(PeerEntry {
                        id: a.peer_id,
                        ip: a.addr.ip(),
                        port: a.addr.port(),
                        seeder,
                        last_seen: now,
                    })
                }
            });
        }
        if a.event != Event::Stopped {
            let caller = select::Caller {
                slot: own,
                addr: CompactAddr::of(a.addr),
                seeder,
            };
            select::pick(&self.peers, &caller, a.numwant, rng, sink);
        }
        AnnounceCounts {
            complete: self.seeders,
            incomplete: self.leechers(),
            counted_completion: counted,
            removed,
        }
    }

    /// Drops peers last seen before `deadline` (seconds since the epoch),
    /// telling `gone` about each; returns how many.
    fn purge(&mut self, deadline: u32, mut gone: impl FnMut(&PeerEntry)) -> usize {
        let before = self.peers.len();
        for v6 in [false, true] {
            let mut i = 0;
            loop {
                let cold = if v6 {
                    &self.peers.v6.cold
                } else {
                    &self.peers.v4.cold
                };
                let Some(c) = cold.get(i) else { break };
                if c.last_seen < deadline {
                    gone(&self.remove_at(Slot { v6, i }));
                } else {
                    i += 1;
                }
            }
        }
        before - self.peers.len()
    }
}

/// Every swarm, sharded by info-hash. The shards' maps hash with
/// foldhash, keyed at random (info-hashes come from clients), a fraction
/// of SipHash's cost per announce.
#[derive(Debug)]
pub struct Swarms {
    shards: Box<[Mutex<HashMap<InfoHash, Swarm>>]>,
    limits: Limits,
    torrents: AtomicUsize,
    peers: AtomicUsize,
    /// What each address holds, for the per-address caps (kept only when
    /// one is set).
    by_address: ByAddress,
    /// The first `now` seen; peers store whole seconds since it (4 bytes
    /// instead of a 16-byte `Instant`).
    epoch: OnceLock<Instant>,
}

impl Default for Swarms {
    fn default() -> Self {
        Swarms::new(DEFAULT_SHARDS, Limits::default())
    }
}

impl Swarms {
    /// Creates `shards` empty shards (at least one).
    pub fn new(shards: usize, limits: Limits) -> Self {
        Swarms {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            limits,
            torrents: AtomicUsize::new(0),
            peers: AtomicUsize::new(0),
            by_address: ByAddress::default(),
            epoch: OnceLock::new(),
        }
    }

    /// Whole seconds from the epoch to `now` (0 before it). Truncating is
    /// safe for expiry: a peer seen at second `s` is dropped only when the
    /// deadline is at second `s + 1` or later, so never early and at most
    /// one second late.
    fn seconds(&self, now: Instant) -> u32 {
        let epoch = *self.epoch.get_or_init(|| now);
        u32::try_from(now.saturating_duration_since(epoch).as_secs()).unwrap_or(u32::MAX)
    }

    fn shard_of(&self, h: &InfoHash) -> usize {
        let n = u64::from_le_bytes([
            h.0[0], h.0[1], h.0[2], h.0[3], h.0[4], h.0[5], h.0[6], h.0[7],
        ]);
        (n % self.shards.len() as u64) as usize
    }

    fn shard(&self, h: &InfoHash) -> &Mutex<HashMap<InfoHash, Swarm>> {
        &self.shards[self.shard_of(h)]
    }

    /// Applies an announce (BEP 3) at time `now` and picks up to
    /// `numwant` random peers, never the caller (by id or by address) and
    /// no seeders for a seeder. Refuses a new swarm or a new peer past the
    /// [`Limits`], the per-address ones included; a refused announce
    /// changes nothing.
    pub fn announce(
        &self,
        a: &AnnounceInput,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
    ) -> Result<AnnounceOutcome, Full> {
        let mut peers = Vec::new();
        let c = self.announce_into(a, now, rng, &mut peers)?;
        Ok(AnnounceOutcome {
            peers,
            complete: c.complete,
            incomplete: c.incomplete,
            counted_completion: c.counted_completion,
            removed: c.removed,
        })
    }

    /// [`Swarms::announce`] handing the picked peers to `sink` (nothing
    /// reaches it when the announce is refused).
    pub fn announce_into(
        &self,
        a: &AnnounceInput,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
        sink: &mut impl PeerSink,
    ) -> Result<AnnounceCounts, Full> {
        let now = self.seconds(now);
        let per_address = self.limits.per_address();
        let key = AddressKey::of(a.addr.ip());
        let mut shard = self.shard(&a.info_hash).lock();
        let stopped = a.event == Event::Stopped;
        let existing = shard.get(&a.info_hash);
        if existing.is_none() {
            if stopped {
                return Ok(AnnounceCounts::default());
            }
            if self.torrents.load(Ordering::Relaxed) >= self.limits.max_torrents {
                return Err(Full::Torrents(self.limits.max_torrents));
            }
        }
        let known = existing.and_then(|s| s.peers.find(&a.peer_id));
        let old_key = match (existing, known) {
            (Some(s), Some(slot)) => Some(AddressKey::of(s.peers.get(slot).ip)),
            _ => None,
        };
        if !stopped
            && known.is_none()
            && self.peers.load(Ordering::Relaxed) >= self.limits.max_peers
        {
            return Err(Full::Peers(self.limits.max_peers));
        }
        // A new entry for this address: a new peer, or a known one that moved.
        let joins = !stopped && old_key != Some(key);
        let creator = if per_address {
            self.count_for_address(existing, a, key, joins)?
        } else {
            None
        };
        let swarm = shard.entry(a.info_hash).or_insert_with(|| {
            self.torrents.fetch_add(1, Ordering::Relaxed);
            Swarm {
                creator,
                ..Swarm::default()
            }
        });
        let before = swarm.peers.len();
        let out = swarm.announce(a, known, now, rng, sink);
        let after = swarm.peers.len();
        if after > before {
            self.peers.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.peers.fetch_sub(before - after, Ordering::Relaxed);
        }
        if let Some(old) = old_key.filter(|_| per_address && (stopped || joins)) {
            self.by_address.remove_peer(old);
        }
        Ok(out)
    }

    /// Checks the per-address caps for an announce from `key` that creates
    /// `swarm` (when `None`) or adds an entry to it (`joins`), and counts
    /// what it takes; nothing is counted when it is refused. Returns the
    /// creator to record in a new open swarm.
    fn count_for_address(
        &self,
        swarm: Option<&Swarm>,
        a: &AnnounceInput,
        key: AddressKey,
        joins: bool,
    ) -> Result<Option<AddressKey>, Full> {
        let l = &self.limits;
        let here = l.max_peers_per_address_per_torrent;
        if joins && here > 0 && swarm.is_some_and(|s| entries_from(&s.peers, key) >= here) {
            return Err(Full::AddressPeersInTorrent(here));
        }
        let creates = swarm.is_none() && a.open_swarm;
        if creates {
            self.by_address
                .try_add_swarm(key, l.max_torrents_per_address)?;
        }
        if joins && let Err(e) = self.by_address.try_add_peer(key, l.max_peers_per_address) {
            if creates {
                self.by_address.remove_swarm(key);
            }
            return Err(e);
        }
        Ok(creates.then_some(key))
    }

    /// Counters for one torrent, if it has a swarm.
    pub fn scrape(&self, h: &InfoHash) -> Option<ScrapeStats> {
        self.shard(h).lock().get(h).map(Swarm::stats)
    }

    /// Counters for every swarm, at most `limit`, in no particular order.
    pub fn scrape_all(&self, limit: usize) -> Vec<(InfoHash, ScrapeStats)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            for (h, s) in shard.lock().iter() {
                if out.len() == limit {
                    return out;
                }
                out.push((*h, s.stats()));
            }
        }
        out
    }

    /// Sets the completed counter of a torrent (loaded from the store at start).
    pub fn set_downloaded(&self, h: InfoHash, downloaded: u64) {
        let mut shard = self.shard(&h).lock();
        if !shard.contains_key(&h) {
            self.torrents.fetch_add(1, Ordering::Relaxed);
        }
        shard.entry(h).or_default().downloaded = downloaded;
    }

    /// Removes peers not seen for `timeout` before `now`, and swarms left with
    /// neither peers nor a completed count. Returns the peers removed.
    pub fn purge_expired(&self, now: Instant, timeout: Duration) -> usize {
        let Some(deadline) = now.checked_sub(timeout) else {
            return 0;
        };
        let deadline = self.seconds(deadline);
        let per_address = self.limits.per_address();
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let swarms_before = shard.len();
            let mut peers_removed = 0;
            shard.retain(|_, s| {
                peers_removed += s.purge(deadline, |p| {
                    if per_address {
                        self.by_address.remove_peer(AddressKey::of(p.ip));
                    }
                });
                let keep = !s.peers.is_empty() || s.downloaded > 0;
                if let (false, Some(c)) = (keep, s.creator) {
                    self.by_address.remove_swarm(c);
                }
                keep
            });
            self.torrents
                .fetch_sub(swarms_before - shard.len(), Ordering::Relaxed);
            self.peers.fetch_sub(peers_removed, Ordering::Relaxed);
            removed += peers_removed;
        }
        removed
    }

    /// Totals over all swarms.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            t.torrents += shard.len();
            for s in shard.values() {
                t.seeders += s.seeders as usize;
                t.leechers += s.leechers() as usize;
            }
        }
        t
    }
}
