//! One torrent: its shared state (pieces, peers, bans) and its manager task
//! (check or resume at start, announces, dialing peers, choking, resume
//! records, stopped announce at the end). Peers run as their own tasks and
//! call in here with short lock-holding methods; no lock is held across an await.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{FilePriority, PeerSource, PeerTransport};
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{BlockRef, PeerId};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::MAX_INCOMING_PER_IP_PER_TORRENT;
use super::disk::{Disk, DiskJob, PieceEnd, PieceOwner};
use super::events::EngineEvent;
use super::picker::Picker;
use super::piecebuf::PieceBuf;
use super::ratelimit::RateLimiter;
use super::space;
use super::storage::Storage;
use super::transport::Link;
use super::vouch::Vouch;
use super::{AddTorrent, EngineConfig, EngineError, EngineInner};
use crate::dht::DhtNode;

/// What a torrent is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentState {
    /// Hashing files already on disk.
    Checking,
    /// Missing pieces.
    Downloading,
    /// Every piece verified; uploading only.
    Seeding,
    /// Stopped.
    Stopped,
    /// A disk error stopped it.
    Error(String),
    /// Missing pieces, but the disk is full: it requests nothing and looks
    /// at the free space now and then, going on by itself when there is
    /// room (the text says so, with the sizes).
    DiskFull(String),
}

/// A torrent's byte counters, for the rate sampler.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    /// Which torrent.
    pub info_hash: InfoHash,
    /// Payload bytes received, this run.
    pub downloaded: u64,
    /// Payload bytes sent, this run.
    pub uploaded: u64,
    /// It is seeding.
    pub seeding: bool,
}

/// A snapshot of a torrent for display.
#[derive(Debug, Clone)]
pub struct TorrentStats {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Its name.
    pub name: String,
    /// What it is doing.
    pub state: TorrentState,
    /// Verified pieces.
    pub pieces_have: usize,
    /// All pieces.
    pub piece_count: usize,
    /// Verified bytes.
    pub bytes_have: u64,
    /// Total bytes.
    pub total_length: u64,
    /// Payload bytes received from peers since start (including wasted).
    pub downloaded: u64,
    /// Payload bytes sent to peers since start.
    pub uploaded: u64,
    /// Pieces hashed at start to rebuild state (0 when the resume record fit).
    pub pieces_rechecked: usize,
    /// Pieces that failed their hash check.
    pub hash_failures: u64,
    /// Connected peers.
    pub peers: Vec<PeerInfo>,
    /// Web seeds (BEP 19): fetching, waiting, given up, or done.
    pub web_seeds: Vec<WebSeedInfo>,
    /// Banned peers.
    pub banned: usize,
    /// Last tracker outcome.
    pub tracker_status: String,
}

/// One connected peer.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// Its address.
    pub addr: SocketAddr,
    /// Its id, as text.
    pub peer_id: String,
    /// Payload bytes we got from it.
    pub downloaded: u64,
    /// Payload bytes we sent it.
    pub uploaded: u64,
    /// Whether we dialed it.
    pub outgoing: bool,
    /// Whether the stream is RC4-encrypted (MSE); a plaintext stream after
    /// an MSE handshake is not.
    pub encrypted: bool,
    /// What carries it.
    pub transport: PeerTransport,
    /// How we learnt of it.
    pub source: PeerSource,
}

/// One web seed of a torrent.
#[derive(Debug, Clone)]
pub struct WebSeedInfo {
    /// Its URL.
    pub url: String,
    /// Payload bytes we got from it.
    pub downloaded: u64,
    /// How it is doing: `ok`, the last error and the next try, or why it
    /// was given up.
    pub status: String,
}

/// What a web seed task keeps and the torrent reads.
#[derive(Debug)]
pub(crate) struct WebSeedStats {
    pub url: String,
    pub downloaded: AtomicU64,
    /// Its pieces that failed the hash check.
    pub strikes: AtomicU32,
    pub status: Mutex<String>,
    /// Told when the hash check is done with one of its pieces.
    pub judged: tokio::sync::Notify,
}

impl WebSeedStats {
    pub fn set_status(&self, status: impl Into<String>) {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = status.into();
    }

    fn info(&self) -> WebSeedInfo {
        WebSeedInfo {
            url: self.url.clone(),
            downloaded: self.downloaded.load(Ordering::Relaxed),
            status: self
                .status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Messages from the torrent to a peer task.
#[derive(Debug, Clone, Copy)]
pub enum PeerCmd {
    /// We verified a piece.
    Have(u32),
    /// Stop uploading to it.
    Choke,
    /// Start uploading to it.
    Unchoke,
    /// Another peer delivered this block first.
    Cancel(BlockRef),
    /// Close the connection (the peer was banned).
    Disconnect,
    /// The files wanted changed: count again what the peer has for us.
    Wanted,
}

/// Counters a peer task keeps and the torrent reads.
#[derive(Debug, Default)]
pub struct PeerStats {
    pub downloaded: AtomicU64,
    pub uploaded: AtomicU64,
    /// Bytes per second over the last measurement window.
    pub download_rate: AtomicU64,
    pub upload_rate: AtomicU64,
    pub peer_interested: AtomicBool,
    pub snubbed: AtomicBool,
}

pub(crate) struct PeerHandle {
    pub addr: SocketAddr,
    /// Where others can reach it: the address we dialled, or for an
    /// incoming peer its IP with the port of its extension handshake
    /// (peer exchange passes these on).
    pub listen_addr: Option<SocketAddr>,
    pub peer_id: PeerId,
    pub outgoing: bool,
    pub link: Link,
    pub source: PeerSource,
    pub cmd: mpsc::UnboundedSender<PeerCmd>,
    pub stats: Arc<PeerStats>,
    pub unchoked: bool,
}

/// Most addresses kept to dial per torrent (tracker answers, peer
/// exchange, the user's): a bound on what peers can make us hold.
pub(crate) const MAX_CANDIDATES: usize = 2000;

/// What we know of an address we may dial.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Where we first heard of it (a later source does not replace it).
    pub source: PeerSource,
    pub next_attempt: Instant,
    pub failures: u32,
    pub connected: bool,
    /// Dial it over uTP first: it said so (peer exchange's uTP flag) or
    /// the last connection that worked was uTP.
    pub utp_first: bool,
}

/// Who a ban applies to: the IP, except on loopback, where every local
/// client shares one address and the peer id tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum BanKey {
    Ip(IpAddr),
    LocalPeer(PeerId),
}

impl BanKey {
    pub fn of(addr: SocketAddr, id: PeerId) -> BanKey {
        if addr.ip().is_loopback() {
            BanKey::LocalPeer(id)
        } else {
            BanKey::Ip(addr.ip())
        }
    }
}

pub(crate) struct State {
    pub picker: Picker,
    pub status: TorrentState,
    pub peers: HashMap<u64, PeerHandle>,
    /// Who each peer key was, kept after it leaves (bans need it).
    pub identities: HashMap<u64, (SocketAddr, PeerId)>,
    pub next_peer_key: u64,
    pub candidates: HashMap<SocketAddr, Candidate>,
    pub strikes: HashMap<BanKey, u32>,
    pub banned: HashSet<BanKey>,
    pub resume_dirty: bool,
    pub pieces_rechecked: usize,
    pub hash_failures: u64,
    pub tracker_status: String,
    /// While the disk is full: when to look at the free space next, and
    /// the wait after that (doubling up to a minute).
    pub space_retry: Option<(Instant, Duration)>,
    /// Web seeds, kept once done or given up (for display).
    pub web_seeds: Vec<Arc<WebSeedStats>>,
    /// Pieces from a web seed in the disk threads: a bad one is its strike.
    pub web_pieces: HashMap<u32, Arc<WebSeedStats>>,
    /// Each file's priority (one per file of the info dictionary).
    pub file_priorities: Vec<FilePriority>,
}

/// Everything peers and the manager share.
pub(crate) struct Shared {
    pub meta: Arc<Metainfo>,
    pub storage: Arc<Storage>,
    pub peer_id: PeerId,
    pub listen_port: u16,
    /// The engine's uTP socket, when uTP is on.
    pub utp: Option<super::utp::UtpSocket>,
    /// The engine's HTTP client, for announces.
    pub http: reqwest::Client,
    pub config: EngineConfig,
    /// The engine's connection caps and upload slots.
    pub caps: Arc<super::caps::Caps>,
    /// Bytes every peer of the engine holds read for uploads (bounded in peer/upload.rs).
    pub upload_cache_bytes: Arc<AtomicU64>,
    /// The engine's disk threads: they hash and write completed pieces.
    pub disk: Disk,
    /// Bytes of whole pieces received and not yet verified and written;
    /// peers stop requesting above [`MAX_UNVERIFIED_BYTES`] (backpressure
    /// when the disk is slower than the network).
    pub unverified_bytes: AtomicU64,
    pub download_limits: [Arc<RateLimiter>; 2],
    pub upload_limits: [Arc<RateLimiter>; 2],
    pub cancel: CancellationToken,
    pub peer_tasks: TaskTracker,
    pub state: Mutex<State>,
    pub complete_tx: watch::Sender<bool>,
    pub downloaded: AtomicU64,
    pub uploaded: AtomicU64,
    pub resume_path: PathBuf,
    pub add: AddTorrent,
    /// Wakes the manager to announce `completed` or dial new peers.
    pub wake: tokio::sync::Notify,
    /// An unchoked peer left or lost interest: the manager chokes and
    /// unchokes again now, not at the next round (peers that finish
    /// usually just close, and the slot would idle up to a whole round).
    pub slot_freed: tokio::sync::Notify,
    /// The engine's event channel.
    pub events: super::events::Events,
    /// Who may connect to us for this torrent (everyone unless it is private).
    pub vouch: Vouch,
    /// The engine's DHT node, for a public torrent only (BEP 27: a private
    /// torrent's info-hash never reaches the DHT).
    pub dht: Option<DhtNode>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Torrent")
            .field("info_hash", &self.meta.info_hash)
            .finish_non_exhaustive()
    }
}

/// A handle to a running torrent.
#[derive(Debug, Clone)]
pub(crate) struct Torrent {
    pub shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
}

/// Why a peer was not admitted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("connected to ourselves")]
    OurOwnId,
    #[error("peer is banned")]
    Banned,
    #[error("already connected to this peer")]
    Duplicate,
    #[error("torrent has its maximum number of peers")]
    Full,
    #[error("torrent is stopping")]
    Stopping,
    #[error("torrent is still checking its files")]
    Checking,
    #[error("too many peers from this address")]
    TooManyFromAddress,
}

impl Torrent {
    /// Prepares a torrent; the caller runs its manager task with the
    /// returned sender, which says when the torrent has stopped.
    pub async fn new(
        engine: Arc<EngineInner>,
        add: AddTorrent,
    ) -> Result<(Torrent, watch::Sender<bool>), EngineError> {
        let meta = Arc::new(add.metainfo.clone());
        let storage = Storage::new(
            &meta,
            &add.download_dir,
            engine.config.direct_writes,
            engine.handles.clone(),
        )
        .map(|s| {
            s.pinned(add.folder_pin).with_part_file(
                &meta,
                super::resume::part_file_path(&super::resume::record_path(
                    &add.resume_dir,
                    meta.info_hash,
                )),
            )
        })
        .map_err(|source| EngineError::Storage {
            name: meta.info.name.clone(),
            source,
        })?;
        let n = meta.piece_count();
        let (complete_tx, _) = watch::channel(false);
        let (stopped_tx, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            storage: Arc::new(storage),
            peer_id: engine.peer_id,
            listen_port: engine.listen_addr.port(),
            utp: engine.utp.clone(),
            http: engine.http.clone(),
            config: engine.config.clone(),
            caps: engine.caps.clone(),
            upload_cache_bytes: engine.upload_cache_bytes.clone(),
            disk: engine.disk.clone(),
            unverified_bytes: AtomicU64::new(0),
            download_limits: [
                engine.download_limit.clone(),
                Arc::new(RateLimiter::new(add.download_rate_limit)),
            ],
            upload_limits: [
                engine.upload_limit.clone(),
                Arc::new(RateLimiter::new(add.upload_rate_limit)),
            ],
            cancel: engine.cancel.child_token(),
            peer_tasks: TaskTracker::new(),
            state: Mutex::new(State {
                picker: Picker::new(
                    meta.info.piece_length,
                    meta.info.total_length,
                    Bitfield::new(n),
                    rand::random(),
                ),
                status: TorrentState::Checking,
                peers: HashMap::new(),
                identities: HashMap::new(),
                next_peer_key: 1,
                candidates: HashMap::new(),
                strikes: HashMap::new(),
                banned: HashSet::new(),
                resume_dirty: false,
                pieces_rechecked: 0,
                hash_failures: 0,
                tracker_status: "not announced yet".into(),
                space_retry: None,
                web_seeds: Vec::new(),
                web_pieces: HashMap::new(),
                file_priorities: vec![FilePriority::Normal; meta.info.files.len()],
            }),
            complete_tx,
            downloaded: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            resume_path: super::resume::record_path(&add.resume_dir, meta.info_hash),
            vouch: Vouch::new(
                meta.info.private,
                add.use_trackers && meta.trackers.iter().any(|tier| !tier.is_empty()),
                &add.extra_peers,
            ),
            dht: engine.dht.clone().filter(|_| !meta.info.private),
            meta,
            add,
            wake: tokio::sync::Notify::new(),
            slot_freed: tokio::sync::Notify::new(),
            events: engine.events.clone(),
        });
        if shared.add.sequential {
            shared.set_sequential(true);
        }
        Ok((Torrent { shared, stopped }, stopped_tx))
    }

    pub fn stop(&self) {
        self.shared.cancel.cancel();
    }

    pub async fn wait_stopped(&self) {
        let mut rx = self.stopped.clone();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub async fn wait_complete(&self) {
        let mut rx = self.shared.complete_tx.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Its byte counters and whether it seeds.
    pub fn counters(&self) -> Counters {
        let s = &self.shared;
        Counters {
            info_hash: s.meta.info_hash,
            downloaded: s.downloaded.load(Ordering::Relaxed),
            uploaded: s.uploaded.load(Ordering::Relaxed),
            seeding: matches!(s.lock().status, TorrentState::Seeding),
        }
    }

    pub fn stats(&self) -> TorrentStats {
        let s = &self.shared;
        let st = s.lock();
        let have = st.picker.have();
        let piece_len = s.meta.info.piece_length;
        let mut bytes_have = have.count_ones() as u64 * piece_len;
        let last = s.meta.piece_count().saturating_sub(1);
        if have.get(last) {
            bytes_have = bytes_have - piece_len + s.meta.piece_size(last).unwrap_or(0);
        }
        TorrentStats {
            info_hash: s.meta.info_hash,
            name: s.meta.info.name.clone(),
            state: st.status.clone(),
            pieces_have: have.count_ones(),
            piece_count: have.len(),
            bytes_have,
            total_length: s.meta.info.total_length,
            downloaded: s.downloaded.load(Ordering::Relaxed),
            uploaded: s.uploaded.load(Ordering::Relaxed),
            pieces_rechecked: st.pieces_rechecked,
            hash_failures: st.hash_failures,
            peers: st
                .peers
                .values()
                .map(|p| PeerInfo {
                    addr: p.addr,
                    peer_id: p.peer_id.to_string(),
                    downloaded: p.stats.downloaded.load(Ordering::Relaxed),
                    uploaded: p.stats.uploaded.load(Ordering::Relaxed),
                    outgoing: p.outgoing,
                    encrypted: p.link.encrypted,
                    transport: p.link.transport,
                    source: p.source,
                })
                .collect(),
            web_seeds: st.web_seeds.iter().map(|w| w.info()).collect(),
            banned: st.banned.len(),
            tracker_status: st.tracker_status.clone(),
        }
    }
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a peer after its handshake.
    pub fn register_peer(
        &self,
        addr: SocketAddr,
        peer_id: PeerId,
        outgoing: bool,
        link: Link,
    ) -> Result<(u64, mpsc::UnboundedReceiver<PeerCmd>, Arc<PeerStats>), Refused> {
        if self.cancel.is_cancelled() {
            return Err(Refused::Stopping);
        }
        if peer_id == self.peer_id {
            return Err(Refused::OurOwnId);
        }
        let mut st = self.lock();
        if st.status == TorrentState::Checking {
            // What we have is not known yet; the peer will come back.
            return Err(Refused::Checking);
        }
        if st.banned.contains(&BanKey::of(addr, peer_id)) {
            return Err(Refused::Banned);
        }
        if st.peers.values().any(|p| p.peer_id == peer_id) {
            return Err(Refused::Duplicate);
        }
        if st.peers.len() >= self.caps.per_torrent() {
            return Err(Refused::Full);
        }
        let same_address = st
            .peers
            .values()
            .filter(|p| !p.outgoing && p.addr.ip() == addr.ip())
            .count();
        if !outgoing && same_address >= MAX_INCOMING_PER_IP_PER_TORRENT {
            return Err(Refused::TooManyFromAddress);
        }
        let source = if outgoing {
            st.candidates
                .get(&addr)
                .map_or(PeerSource::User, |c| c.source)
        } else {
            PeerSource::Incoming
        };
        let key = st.next_peer_key;
        st.next_peer_key += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(PeerStats::default());
        st.identities.insert(key, (addr, peer_id));
        st.peers.insert(
            key,
            PeerHandle {
                addr,
                listen_addr: outgoing.then_some(addr),
                peer_id,
                outgoing,
                link,
                source,
                cmd: tx,
                stats: stats.clone(),
                unchoked: false,
            },
        );
        Ok((key, rx, stats))
    }

    /// A peer task ended: forget its pieces and return its requests to the pool.
    pub fn unregister_peer(&self, key: u64, pieces: &Bitfield, in_flight: &[BlockRef]) {
        let mut st = self.lock();
        if let Some(p) = st.peers.remove(&key) {
            if p.unchoked {
                self.slot_freed.notify_one();
            }
            if let Some(c) = st.candidates.get_mut(&p.addr) {
                c.connected = false;
            }
        }
        st.picker.remove_peer(pieces);
        for b in in_flight {
            st.picker.cancelled(*b);
        }
    }

    /// Adds addresses to dial, learnt from `source`.
    pub fn add_candidates(&self, source: PeerSource, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.add_candidates_hinted(source, addrs.into_iter().map(|a| (a, false)));
    }

    /// As [`Shared::add_candidates`], each with whether it is said to speak
    /// uTP (then dialled over uTP first).
    pub fn add_candidates_hinted(
        &self,
        source: PeerSource,
        addrs: impl IntoIterator<Item = (SocketAddr, bool)>,
    ) {
        let own = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), self.listen_port);
        let now = Instant::now();
        let mut st = self.lock();
        for (a, utp) in addrs {
            if a.port() == 0 || a == own {
                continue;
            }
            // Peer exchange lets any peer name addresses: past the cap,
            // only addresses already known are refreshed.
            if st.candidates.len() >= MAX_CANDIDATES && !st.candidates.contains_key(&a) {
                continue;
            }
            st.candidates
                .entry(a)
                .or_insert(Candidate {
                    source,
                    next_attempt: now,
                    failures: 0,
                    connected: false,
                    utp_first: false,
                })
                .utp_first |= utp;
        }
        drop(st);
        self.wake.notify_one();
    }

    /// A whole piece arrived: the disk threads hash it, write it, and
    /// tell every peer. `contributor_keys` sent its blocks.
    pub fn piece_complete(
        self: &Arc<Self>,
        index: u32,
        data: PieceBuf,
        contributor_keys: Vec<u64>,
    ) {
        let contributors: Vec<(SocketAddr, PeerId)> = {
            let st = self.lock();
            contributor_keys
                .iter()
                .filter_map(|k| st.identities.get(k).copied())
                .collect()
        };
        self.unverified_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.disk.submit(DiskJob {
            owner: self.clone(),
            index,
            data,
            contributors,
            tracked: self.peer_tasks.token(),
        });
    }

    /// A web seed starts: its key (for the picker) and its counters.
    pub fn register_web_seed(&self, url: &str) -> (u64, Arc<WebSeedStats>) {
        let stats = Arc::new(WebSeedStats {
            url: url.to_owned(),
            downloaded: AtomicU64::new(0),
            strikes: AtomicU32::new(0),
            status: Mutex::new("starting".into()),
            judged: tokio::sync::Notify::new(),
        });
        let mut st = self.lock();
        let key = st.next_peer_key;
        st.next_peer_key += 1;
        st.web_seeds.push(stats.clone());
        (key, stats)
    }

    /// A web seed task ended.
    pub fn unregister_web_seed(&self, stats: &Arc<WebSeedStats>) {
        self.lock().web_seeds.retain(|w| !Arc::ptr_eq(w, stats));
    }

    /// A web seed fetched a whole piece: it is hashed and written like a
    /// peer's, unless peers completed it first.
    pub fn web_piece_complete(
        self: &Arc<Self>,
        key: u64,
        index: u32,
        data: PieceBuf,
        from: &Arc<WebSeedStats>,
    ) {
        {
            let mut st = self.lock();
            if !st.picker.web_seed_done(key, index) {
                st.picker.recycle(data);
                return;
            }
            st.web_pieces.insert(index, from.clone());
        }
        self.piece_complete(index, data, Vec::new());
    }

    /// A web seed could not fetch its piece.
    pub fn web_piece_failed(&self, key: u64, index: u32, data: PieceBuf) {
        let mut st = self.lock();
        st.picker.web_seed_released(key, index);
        st.picker.recycle(data);
    }

    /// Pieces passed their hash check and are on disk: one lock for the
    /// lot (the write thread settles a run of pieces at once), their buffers
    /// back to the picker, a HAVE for each to every peer.
    pub(super) fn pieces_verified(&self, pieces: Vec<(u32, PieceBuf)>) {
        let bytes: u64 = pieces.iter().map(|(_, b)| b.len() as u64).sum();
        let mut st = self.lock();
        self.unverified_bytes.fetch_sub(bytes, Ordering::Relaxed);
        for (index, buf) in pieces {
            if let Some(web) = st.web_pieces.remove(&index) {
                web.judged.notify_one();
            }
            st.picker.recycle(buf);
            if !self.storage.holds_piece(index) {
                // Its files were skipped while it was on its way: its
                // bytes had nowhere to go, so we do not have it.
                st.picker.failed(index);
                continue;
            }
            st.picker.verified(index);
            for p in st.peers.values() {
                let _ = p.cmd.send(PeerCmd::Have(index));
            }
        }
        st.resume_dirty = true;
        let fetching = matches!(
            st.status,
            TorrentState::Downloading | TorrentState::DiskFull(_)
        );
        if st.picker.is_done() && fetching {
            self.finish(st);
        }
    }

    /// Every wanted piece is in: seeding what we have, and everyone is told.
    fn finish(&self, mut st: MutexGuard<'_, State>) {
        st.picker.set_paused(false);
        st.space_retry = None;
        st.status = TorrentState::Seeding;
        drop(st);
        tracing::info!(torrent = %self.meta.info.name, "download complete, seeding");
        self.complete_tx.send_replace(true);
        self.events.send(EngineEvent::Completed {
            info_hash: self.meta.info_hash,
            name: self.meta.info.name.clone(),
        });
        self.wake.notify_one();
    }

    /// Sequential mode on or off; peers look for blocks to ask again.
    pub fn set_sequential(&self, on: bool) {
        let streaming = on.then(|| super::picker::Streaming {
            first: super::selection::media_ends(&self.meta.info.files, self.meta.info.piece_length),
        });
        let mut st = self.lock();
        st.picker.set_streaming(streaming);
        for p in st.peers.values() {
            let _ = p.cmd.send(PeerCmd::Wanted);
        }
    }

    /// Takes new file priorities (the storage has already brought wanted
    /// files out of the part file): the picker's piece priorities, the
    /// state (done or downloading again), peers' interest, the next record.
    pub fn apply_priorities(&self, priorities: Vec<FilePriority>) {
        let mut st = self.lock();
        let pieces = super::selection::piece_priorities(
            &super::selection::Span::of(&self.meta.info.files),
            &priorities,
            self.meta.info.piece_length,
            self.meta.piece_count(),
        );
        st.picker.set_priorities(pieces);
        st.file_priorities = priorities;
        st.resume_dirty = true;
        for p in st.peers.values() {
            let _ = p.cmd.send(PeerCmd::Wanted);
        }
        let done = st.picker.is_done();
        match st.status {
            TorrentState::Downloading | TorrentState::DiskFull(_) if done => {
                return self.finish(st);
            }
            TorrentState::Seeding if !done => {
                st.status = TorrentState::Downloading;
                drop(st);
                tracing::info!(torrent = %self.meta.info.name, "more files wanted: downloading again");
                self.complete_tx.send_replace(false);
            }
            _ => drop(st),
        }
        self.wake.notify_one();
    }

    pub(super) fn piece_failed(&self, index: u32, contributors: &[(SocketAddr, PeerId)]) {
        let mut st = self.lock();
        st.picker.failed(index);
        st.hash_failures += 1;
        if let Some(web) = st.web_pieces.remove(&index) {
            let strikes = web.strikes.fetch_add(1, Ordering::Relaxed) + 1;
            web.judged.notify_one();
            tracing::warn!(piece = index, url = %web.url, strikes, "a web seed's piece failed its hash check");
            return;
        }
        tracing::warn!(
            piece = index,
            peers = contributors.len(),
            "piece failed its hash check"
        );
        // Only a peer that sent every block of a bad piece is surely guilty;
        // mixed pieces are downloaded again, and the guilty peer is caught
        // on a piece of its own.
        if let [(addr, id)] = contributors {
            let key = BanKey::of(*addr, *id);
            let strikes = st.strikes.entry(key.clone()).or_insert(0);
            *strikes += 1;
            if *strikes >= self.config.ban_after_bad_pieces {
                tracing::warn!(%addr, "banning peer after {strikes} bad pieces");
                for p in st.peers.values() {
                    if BanKey::of(p.addr, p.peer_id) == key {
                        let _ = p.cmd.send(PeerCmd::Disconnect);
                    }
                }
                st.banned.insert(key);
            }
        }
    }

    /// A piece could not be written for want of space: it will be fetched
    /// again, once the disk has room; until then nothing is requested.
    fn out_of_space(&self, index: u32, e: &std::io::Error) {
        let mut st = self.lock();
        st.picker.failed(index);
        if !matches!(
            st.status,
            TorrentState::Downloading | TorrentState::DiskFull(_)
        ) {
            return;
        }
        st.picker.set_paused(true);
        let first = st.space_retry.is_none();
        let (next, delay) = st
            .space_retry
            .unwrap_or((Instant::now(), space::FIRST_RETRY));
        st.space_retry = Some((next.max(Instant::now() + delay), delay));
        let free = space::available(&self.add.download_dir).unwrap_or(0);
        st.status = TorrentState::DiskFull(format!(
            "{e}: {} free in {}; waiting for space, it goes on by itself",
            space::human(free),
            self.add.download_dir.display()
        ));
        drop(st);
        if first {
            tracing::warn!(torrent = %self.meta.info.name, "disk full: waiting for free space ({e})");
        }
    }

    /// Whether a download paused for lack of space is due for
    /// [`Shared::retry_when_space`]: cheap, so the once-a-second save tick of
    /// every torrent asks this before a trip to the blocking pool (with
    /// thousands of idle torrents those trips were most of the idle CPU).
    pub(super) fn space_retry_due(&self) -> bool {
        matches!(self.lock().space_retry, Some((next, _)) if next <= Instant::now())
    }

    /// While the disk is full, looks at the free space when due: with room
    /// for what is missing (or for a few pieces), the download goes on;
    /// else the next look is later (the wait doubles up to a minute).
    /// Blocking: a statvfs.
    pub(super) fn retry_when_space(&self) {
        let missing = {
            let st = self.lock();
            match st.space_retry {
                Some((next, _)) if next <= Instant::now() => {}
                _ => return,
            }
            st.picker.wanted_missing() as u64 * self.meta.info.piece_length
        };
        let free = space::available(&self.add.download_dir).unwrap_or(u64::MAX);
        let want = space::enough_to_resume(
            missing.min(self.meta.info.total_length),
            self.meta.info.piece_length,
        );
        let mut st = self.lock();
        let Some((_, delay)) = st.space_retry else {
            return;
        };
        if free >= want {
            st.space_retry = None;
            st.picker.set_paused(false);
            if matches!(st.status, TorrentState::DiskFull(_)) {
                st.status = TorrentState::Downloading;
            }
            drop(st);
            tracing::info!(torrent = %self.meta.info.name, "disk space is back ({}): downloading again", space::human(free));
            return;
        }
        let delay = (delay * 2).min(space::LONGEST_RETRY);
        st.space_retry = Some((Instant::now() + delay, delay));
        if let TorrentState::DiskFull(why) = &mut st.status {
            *why = format!(
                "no space left on the device: {} free in {}, {} needed to go on; next look in {} s",
                space::human(free),
                self.add.download_dir.display(),
                space::human(want),
                delay.as_secs()
            );
        }
    }

    pub(super) fn disk_error(&self, message: String) {
        self.fail(message);
        self.cancel.cancel();
    }

    /// Takes back the buffer of a piece that left the disk threads.
    fn piece_settled(&self, data: PieceBuf) {
        let len = data.len() as u64;
        self.lock().picker.recycle(data);
        self.unverified_bytes.fetch_sub(len, Ordering::Relaxed);
    }

    /// Puts the torrent in the error state and says so on the event channel.
    /// The first failure is the one shown: pieces still in the disk
    /// threads may fail after it, for the same cause.
    pub(super) fn fail(&self, message: String) {
        {
            let mut st = self.lock();
            if matches!(st.status, TorrentState::Error(_)) {
                return;
            }
            st.status = TorrentState::Error(message.clone());
        }
        tracing::error!(torrent = %self.meta.info.name, "{message}");
        self.events.send(EngineEvent::Failed {
            info_hash: self.meta.info_hash,
            name: self.meta.info.name.clone(),
            message,
        });
    }

    /// Unchokes a peer at once if an upload slot is free (instead of waiting
    /// up to ten seconds for the next choking round).
    /// A peer we unchoked is no longer interested: its slot can go to
    /// another now.
    pub fn lost_interest(&self, key: u64) {
        if self.lock().peers.get(&key).is_some_and(|p| p.unchoked) {
            self.slot_freed.notify_one();
        }
    }

    pub fn try_unchoke(&self, key: u64) -> bool {
        let mut st = self.lock();
        let unchoked = st.peers.values().filter(|p| p.unchoked).count();
        if unchoked > self.caps.upload_slots() {
            return false;
        }
        match st.peers.get_mut(&key) {
            Some(p) => {
                p.unchoked = true;
                true
            }
            None => false,
        }
    }

    /// Tells the other peers asked for `block` that it has arrived.
    pub fn cancel_elsewhere(&self, from: u64, block: BlockRef) {
        let st = self.lock();
        for (k, p) in &st.peers {
            if *k != from {
                let _ = p.cmd.send(PeerCmd::Cancel(block));
            }
        }
    }

    /// Counts payload traffic.
    pub fn count_download(&self, bytes: u64) {
        self.downloaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn count_upload(&self, bytes: u64) {
        self.uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Waits for the download limiters to let `bytes` through.
    pub async fn throttle_download(&self, bytes: u64) {
        for l in &self.download_limits {
            l.acquire(bytes).await;
        }
    }

    /// Waits for the upload limiters to let `bytes` through.
    pub async fn throttle_upload(&self, bytes: u64) {
        for l in &self.upload_limits {
            l.acquire(bytes).await;
        }
    }
}

/// Most bytes of received pieces waiting to be hashed and written.
pub(crate) const MAX_UNVERIFIED_BYTES: u64 = 32 << 20;

/// How long to wait before dialing an address again after `failures` failures.
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_secs(
        5u64.saturating_mul(1 << failures.saturating_sub(1).min(7))
            .min(600),
    )
}

impl PieceOwner for Shared {
    fn expected_hash(&self, index: u32) -> [u8; 20] {
        self.meta.info.pieces[index as usize]
    }

    fn storage(&self) -> &Storage {
        &self.storage
    }

    fn pieces_written(&self, pieces: Vec<(u32, PieceBuf)>) {
        self.pieces_verified(pieces);
    }

    fn piece_ended(&self, index: u32, data: PieceBuf, end: PieceEnd) {
        self.piece_settled(data);
        if !matches!(end, PieceEnd::BadHash(_))
            && let Some(web) = self.lock().web_pieces.remove(&index)
        {
            web.judged.notify_one();
        }
        match end {
            PieceEnd::BadHash(contributors) => self.piece_failed(index, &contributors),
            PieceEnd::WriteFailed(e) if space::is_no_space(&e) => self.out_of_space(index, &e),
            PieceEnd::WriteFailed(e) => self.disk_error(format!("cannot write piece {index}: {e}")),
            PieceEnd::Lost => {
                self.disk_error(format!(
                    "piece {index} was dropped: the disk threads have stopped"
                ));
            }
        }
    }

    fn disk_failed(&self, reason: String) {
        self.disk_error(reason);
    }
}
