//! The tracker as a whole: swarms, the catalog, counters waiting to be
//! persisted and live statistics, with the announce and scrape policies
//! (catalog check, numwant caps, intervals). Takes `now` and an RNG; knows
//! nothing of HTTP. Store calls are async and never made under a lock.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::tracker::{
    AnnounceRequest, AnnounceResponse, Event, ScrapeRequest, ScrapeResponse, ScrapeStats,
};
use parking_lot::{Mutex, RwLock};
use rand::Rng;

use crate::catalog::{AnnounceIdentity, Denied, UNKNOWN_PASSKEY};
use crate::config::{Config, Mode};
use crate::outsiders::Outsiders;
use crate::store::peers::PeerChange;
use crate::store::{Store, StoreError, TorrentRecord};
use crate::swarm::{AnnounceCounts, AnnounceInput, Full, Limits, PeerSink, Swarms, Totals};

/// Most torrents listed by a full scrape.
pub const MAX_FULL_SCRAPE: usize = 10_000;

/// Why an announce or scrape was refused (the message is the failure reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Catalog mode and the torrent is not registered.
    #[error("torrent {0} is not registered with this tracker")]
    NotRegistered(InfoHash),
    /// A cap on swarms or peers was reached.
    #[error(transparent)]
    Full(#[from] Full),
    /// A scrape without info_hash while full scrape is off.
    #[error("full scrape is disabled; pass one or more info_hash")]
    FullScrapeDisabled,
    /// An unknown passkey (see [`crate::catalog`]). A group torrent
    /// announced by a non-member is refused as [`Refusal::NotRegistered`]
    /// in catalog mode, and answered from an outsiders' swarm in open mode
    /// (see [`crate::outsiders`]), as an unknown torrent would be.
    #[error("{0}")]
    Private(&'static str),
}

/// Why a torrent could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The body is not a valid .torrent.
    #[error("not a valid .torrent: {0}")]
    Invalid(#[from] p2p_proto::metainfo::MetainfoError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The parsing task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Live counters.
#[derive(Debug)]
pub struct Stats {
    /// When the tracker started.
    pub started: Instant,
    /// Announces answered successfully.
    pub announces: AtomicU64,
    /// Scrapes answered successfully.
    pub scrapes: AtomicU64,
    /// Announces and scrapes answered with a failure reason (counted where
    /// the reply is made, [`crate::http::announce_reply`] and
    /// [`crate::http::scrape_reply`]).
    pub failures: AtomicU64,
    /// Completed downloads counted since start.
    pub completed: AtomicU64,
    /// HTTP connections accepted since start.
    pub connections: AtomicU64,
    /// Announces per second over the last tick, as f64 bits.
    announce_rate_bits: AtomicU64,
    last_tick: Mutex<(Instant, u64)>,
}

impl Stats {
    fn new(now: Instant) -> Self {
        Stats {
            started: now,
            announces: AtomicU64::new(0),
            scrapes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            announce_rate_bits: AtomicU64::new(0),
            last_tick: Mutex::new((now, 0)),
        }
    }

    /// Announces per second measured at the last [`Stats::tick`].
    pub fn announce_rate(&self) -> f64 {
        f64::from_bits(self.announce_rate_bits.load(Ordering::Relaxed))
    }

    /// Recomputes the announce rate since the previous tick.
    pub fn tick(&self, now: Instant) {
        let count = self.announces.load(Ordering::Relaxed);
        let mut last = self.last_tick.lock();
        let secs = now.saturating_duration_since(last.0).as_secs_f64();
        if secs >= 0.5 {
            let rate = count.saturating_sub(last.1) as f64 / secs;
            self.announce_rate_bits
                .store(rate.to_bits(), Ordering::Relaxed);
            *last = (now, count);
        }
    }
}

/// The tracker state shared by every request.
#[derive(Debug)]
pub struct Tracker {
    /// The configuration it runs with.
    pub config: Config,
    /// Every swarm.
    pub swarms: Swarms,
    /// Registered info-hashes (a cache of the store's catalog).
    catalog: RwLock<HashSet<InfoHash>>,
    /// Completed downloads not yet written to the store.
    pending: Mutex<HashMap<InfoHash, u64>>,
    /// Completed downloads taken from `pending` by a flush whose write has
    /// not committed yet: still pending for whoever asks.
    flushing: AtomicU64,
    /// The store.
    pub store: Box<dyn Store>,
    /// Live counters.
    pub stats: Stats,
    /// Accounts, groups, the group catalog and events (issue 5).
    pub community: std::sync::Arc<crate::community::Community>,
    /// Keys of the swarms where non-members of a group swarm go (open mode).
    outsiders: Outsiders,
    /// The last hour of the dashboard's charts (issue 14).
    pub samples: crate::web::samples::Samples,
    /// Swarms shared with other instances on the same database (issue
    /// 16); `None` on SQLite.
    pub sharing: Option<crate::cluster::Sharing>,
}

impl Tracker {
    /// Loads the catalog and the counters from the store.
    pub async fn load(config: Config, store: Box<dyn Store>) -> Result<Tracker, StoreError> {
        let catalog = store
            .torrents()
            .await?
            .into_iter()
            .map(|t| t.info_hash)
            .collect();
        let limits = Limits {
            max_torrents: config.announce.max_torrents,
            max_peers: config.announce.max_peers,
            max_torrents_per_address: config.announce.max_torrents_per_address,
            max_peers_per_address_per_torrent: config.announce.max_peers_per_address_per_torrent,
            max_peers_per_address: config.announce.max_peers_per_address,
        };
        let swarms = Swarms::new(crate::swarm::DEFAULT_SHARDS, limits);
        for (h, n) in store.completed_counts().await? {
            swarms.set_downloaded(h, n);
        }
        let community = crate::community::Community::load(&config, store.community()).await?;
        let sharing = store.peer_exchange().map(crate::cluster::Sharing::new);
        Ok(Tracker {
            sharing,
            community,
            config,
            swarms,
            catalog: RwLock::new(catalog),
            pending: Mutex::default(),
            flushing: AtomicU64::new(0),
            store,
            stats: Stats::new(Instant::now()),
            outsiders: Outsiders::default(),
            samples: crate::web::samples::Samples::default(),
        })
    }

    /// Whether the torrent is registered.
    pub fn is_registered(&self, h: &InfoHash) -> bool {
        self.catalog.read().contains(h)
    }

    /// Registered torrents.
    pub fn registered_count(&self) -> usize {
        self.catalog.read().len()
    }

    fn admitted(&self, h: &InfoHash) -> bool {
        self.config.mode == Mode::Open || self.is_registered(h)
    }

    /// Handles an announce from `addr` (the peer's address, already decided
    /// from the connection or a trusted proxy) and encodes the response. A
    /// refusal is returned, not counted: the caller answers and counts it.
    pub fn announce(
        &self,
        req: &AnnounceRequest,
        addr: SocketAddr,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
    ) -> Result<Vec<u8>, Refusal> {
        self.announce_as(req, None, addr, now, rng)
    }

    /// [`Tracker::announce`] with the passkey of an `/announce/<passkey>`
    /// URL: group torrents are served to their members only, and the
    /// user's traffic and downloads are recorded.
    pub fn announce_as(
        &self,
        req: &AnnounceRequest,
        passkey: Option<&str>,
        addr: SocketAddr,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
    ) -> Result<Vec<u8>, Refusal> {
        self.announce_answer(req, passkey, addr, now, rng)
            .map(|r| r.encode(req.compact, req.no_peer_id))
    }

    /// [`Tracker::announce_as`] before encoding: what HTTP bencodes and
    /// UDP (BEP 15) packs in its own layout.
    pub fn announce_answer(
        &self,
        req: &AnnounceRequest,
        passkey: Option<&str>,
        addr: SocketAddr,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
    ) -> Result<AnnounceResponse, Refusal> {
        let mut peers = Vec::new();
        let c = self.announce_into(req, passkey, addr, now, rng, &mut peers)?;
        let a = &self.config.announce;
        Ok(AnnounceResponse {
            interval: a.interval_secs,
            min_interval: Some(a.min_interval_secs),
            complete: c.complete,
            incomplete: c.incomplete,
            tracker_id: None,
            warning: None,
            peers,
        })
    }

    /// [`Tracker::announce_answer`] handing the picked peers to `sink`
    /// (a UDP answer copies their compact bytes into its datagram) and
    /// returning the counts.
    pub fn announce_into(
        &self,
        req: &AnnounceRequest,
        passkey: Option<&str>,
        addr: SocketAddr,
        now: Instant,
        rng: &mut (impl Rng + ?Sized),
        sink: &mut impl PeerSink,
    ) -> Result<AnnounceCounts, Refusal> {
        // The swarm the announcer joins: the torrent's own, or for a
        // non-member of a group swarm in open mode, the outsiders' one.
        let (identity, swarm) = match self.community.authorize_announce(&req.info_hash, passkey) {
            Ok(identity) => (identity, req.info_hash),
            Err(Denied::UnknownPasskey) => return Err(Refusal::Private(UNKNOWN_PASSKEY)),
            // What a torrent this tracker does not know gets: an open
            // swarm in open mode, a refusal in the same words in catalog mode.
            Err(Denied::NotForYou) if self.config.mode == Mode::Open => (
                AnnounceIdentity::default(),
                self.outsiders.key(&req.info_hash),
            ),
            Err(Denied::NotForYou) => return Err(Refusal::NotRegistered(req.info_hash)),
        };
        let outsider = swarm != req.info_hash;
        if !outsider && !identity.published && !self.admitted(&req.info_hash) {
            return Err(Refusal::NotRegistered(req.info_hash));
        }
        let a = &self.config.announce;
        let numwant = req.numwant.unwrap_or(a.default_numwant).min(a.max_numwant);
        let input = AnnounceInput {
            info_hash: swarm,
            peer_id: req.peer_id,
            addr,
            left: req.left,
            event: req.event,
            numwant: numwant as usize,
            open_swarm: outsider || (!identity.published && !self.is_registered(&req.info_hash)),
        };
        let out = self.swarms.announce_into(&input, now, rng, sink)?;
        if let Some(s) = &self.sharing
            && (req.event != Event::Stopped || out.removed)
        {
            s.outbox.record(PeerChange {
                info_hash: req.info_hash,
                outsider,
                peer_id: req.peer_id,
                addr,
                seeder: req.left == 0,
                stopped: req.event == Event::Stopped,
                completed: out.counted_completion,
            });
        }
        // An outsiders' swarm lives in memory only: its completions are
        // counted there, not stored under its key.
        if out.counted_completion && !outsider {
            *self.pending.lock().entry(req.info_hash).or_default() += 1;
            self.stats.completed.fetch_add(1, Ordering::Relaxed);
        }
        self.community
            .record_announce(&identity, req, out.counted_completion);
        self.stats.announces.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Handles a scrape (BEP 48) and encodes the response.
    pub fn scrape(&self, req: &ScrapeRequest) -> Result<Vec<u8>, Refusal> {
        self.scrape_answer(req)
            .map(|files| ScrapeResponse { files }.encode())
    }

    /// [`Tracker::scrape`] before encoding: the counts per torrent, in the
    /// order asked.
    pub fn scrape_answer(
        &self,
        req: &ScrapeRequest,
    ) -> Result<Vec<(InfoHash, ScrapeStats)>, Refusal> {
        let mut files = if req.info_hashes.is_empty() {
            if !self.config.announce.full_scrape {
                return Err(Refusal::FullScrapeDisabled);
            }
            match self.config.mode {
                Mode::Open => self.swarms.scrape_all(MAX_FULL_SCRAPE),
                // Every registered torrent, with or without a swarm.
                Mode::Catalog => {
                    let registered: Vec<InfoHash> = self
                        .catalog
                        .read()
                        .iter()
                        .take(MAX_FULL_SCRAPE)
                        .copied()
                        .collect();
                    registered
                        .into_iter()
                        .map(|h| (h, self.torrent_stats(&h)))
                        .collect()
                }
            }
        } else {
            req.info_hashes
                .iter()
                .filter(|h| self.admitted(h))
                .map(|h| (*h, self.swarms.scrape(h).unwrap_or_default()))
                .collect()
        };
        // Group swarms are private (scrapes carry no passkey): a full
        // scrape leaves them and the outsiders' swarms out, and one asked
        // for by info-hash reads as an unknown torrent would: its
        // outsiders' swarm in open mode, no peers in catalog mode.
        let access = &self.community.access;
        if req.info_hashes.is_empty() {
            files.retain(|(h, _)| !access.is_group_only(h) && !self.outsiders.is_key(h));
        } else {
            for (h, stats) in &mut files {
                if access.is_group_only(h) {
                    *stats = self.outsiders_stats(h).unwrap_or_default();
                }
            }
        }
        self.stats.scrapes.fetch_add(1, Ordering::Relaxed);
        Ok(files)
    }

    /// In open mode, the counters of the outsiders' swarm of the group
    /// torrent `h` (what a non-member is shown), when it has one.
    pub fn outsiders_stats(&self, h: &InfoHash) -> Option<ScrapeStats> {
        if self.config.mode != Mode::Open {
            return None;
        }
        self.swarms.scrape(&self.outsiders.key(h))
    }

    /// Counters of one torrent (zeros when it has no swarm).
    pub fn torrent_stats(&self, h: &InfoHash) -> ScrapeStats {
        self.swarms.scrape(h).unwrap_or_default()
    }

    /// Totals over every swarm.
    pub fn totals(&self) -> Totals {
        self.swarms.totals()
    }

    /// Parses and registers a .torrent; returns the record and whether it is new.
    pub async fn register(
        &self,
        bytes: Vec<u8>,
        now_unix: i64,
    ) -> Result<(TorrentRecord, bool), RegisterError> {
        // Parsing a large .torrent is CPU work: keep it off the async workers.
        let (m, bytes) = tokio::task::spawn_blocking(move || (Metainfo::from_bytes(&bytes), bytes))
            .await
            .map_err(|e| RegisterError::Internal(e.to_string()))?;
        let m = m?;
        let rec = TorrentRecord {
            info_hash: m.info_hash,
            name: m.info.name.clone(),
            total_length: m.info.total_length,
            piece_length: m.info.piece_length,
            file_count: m.info.files.iter().filter(|f| !f.pad).count() as u64,
            private: m.info.private,
            added_at: now_unix,
            metainfo: bytes,
        };
        let new = self.store.add_torrent(&rec).await?;
        self.catalog.write().insert(rec.info_hash);
        Ok((rec, new))
    }

    /// Writes pending completed counters to the store. On failure they are
    /// kept for the next flush.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let batch: Vec<(InfoHash, u64)> = {
            let mut pending = self.pending.lock();
            let batch: Vec<(InfoHash, u64)> = pending.drain().collect();
            // Counted as in flight before the lock is let go, so that
            // `pending_completed` never reads 0 before the write commits.
            self.flushing
                .fetch_add(batch.iter().map(|(_, n)| n).sum(), Ordering::SeqCst);
            batch
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let total: u64 = batch.iter().map(|(_, n)| n).sum();
        let written = self.store.add_completed(&batch).await;
        if written.is_err() {
            let mut pending = self.pending.lock();
            for &(h, n) in &batch {
                *pending.entry(h).or_default() += n;
            }
        }
        self.flushing.fetch_sub(total, Ordering::SeqCst);
        written.map(|()| batch.len())
    }

    /// Completed downloads counted but not yet written to the store
    /// (including those a flush is writing now).
    pub fn pending_completed(&self) -> u64 {
        let pending = self.pending.lock();
        pending.values().sum::<u64>() + self.flushing.load(Ordering::SeqCst)
    }

    /// The swarm where peers of `h` are kept: its own, or its outsiders'
    /// one (under this instance's secret key).
    pub fn swarm_key(&self, h: &InfoHash, outsider: bool) -> InfoHash {
        if outsider { self.outsiders.key(h) } else { *h }
    }

    /// Reads the announce index and the registered torrents again, after
    /// another instance changed them (issue 16).
    pub async fn reload_index(&self) -> Result<(), StoreError> {
        let catalog: HashSet<InfoHash> = self
            .store
            .torrents()
            .await?
            .into_iter()
            .map(|t| t.info_hash)
            .collect();
        self.catalog.write().extend(catalog);
        self.community.reload_index().await
    }

    /// Drops expired peers.
    pub fn purge(&self, now: Instant) -> usize {
        let timeout = Duration::from_secs(self.config.announce.peer_timeout_secs);
        self.swarms.purge_expired(now, timeout)
    }
}
