//! The BitTorrent engine: one TCP listener for every torrent, a task per
//! torrent (tracker, connections, choking, resume) and a task per peer.
//! Started by [`Engine::start`] with a config and a cancellation token, so
//! tests can run several engines in one process. What happens to torrents
//! (completed, failed, stopped, metadata received) comes out of
//! [`Engine::subscribe`] as it happens.
//!
//! Not here: the watched folder, the control socket, accounts (see the rest
//! of p2pd).
//!
//! The modules form a tree below this one (`tests/module_graph.rs` fails on
//! a cycle); each imports only the modules under it:
//!
//! ```text
//! mod (Engine) ── listener ── peer ──┬── torrent ──┬── disk ── storage, piecebuf
//!             │   (admission, mse)   │             │   (storage ── handles, nofollow,
//!             │                      │             │    partfile, selection, posio)
//!             ├── lsd (torrent)      │             │
//!             └── manager ──┬── peer ┘             ├── picker ── piecebuf
//!                           ├── announce           ├── resume ── storage
//!                           ├── choker             ├── ratelimit, events, caps
//!                           ├── vouch              ├── admission (per-address caps)
//!                           ├── webseed ── torrent ├── vouch (who may connect)
//!                           ├── dht_peers          │
//!             └── metadata ─┘ (announce)           └── storage
//! ```
//! `relocate` moves a stopped torrent's files (`p2pctl move`); a recheck
//! marker beside the resume record has the next start hash every piece
//! (`p2pctl verify`).
//! File selection: `selection` turns file priorities into piece
//! priorities (the picker's tiers), `partfile` keeps skipped files' bytes
//! of shared pieces, and the resume record keeps the choice.
//! The DHT node itself is `crate::dht`, below the engine: the engine asks
//! it for peers of public torrents only.
//! Connections: `peer` and `metadata` dial through `connect` (── mse ──
//! transport); `listener` answers through `mse`.
//! The disk threads see a torrent only through `disk::PieceOwner`; the
//! engine's vocabulary (`EngineConfig`, `AddTorrent`, `EngineError`) lives
//! in this module and is the only thing children name upwards.

mod admission;
mod announce;
mod caps;
mod choker;
mod connect;
mod dht_peers;
mod disk;
mod events;
mod handles;
mod listener;
mod lsd;
mod manager;
mod metadata;
mod mse;
mod nofollow;
mod partfile;
mod peer;
mod picker;
mod piecebuf;
mod posio;
mod ratelimit;
mod relocate;
mod resume;
pub mod selection;
mod sockopt;
mod space;
mod storage;
mod torrent;
mod transport;
mod utp;
mod vouch;
mod webseed;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{FilePriority, FileSet};
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::PeerId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::dht::{DhtNode, DhtStatus};
pub use events::{EngineEvent, next_event};
pub use metadata::MetadataError;
pub use nofollow::FolderId;
pub use ratelimit::RateLimiter;
pub use space::{NoSpace, check as check_space, check_selected as check_selected_space};
pub use torrent::{Counters, PeerInfo, TorrentState, TorrentStats, WebSeedInfo};

/// Deletes a torrent's files under `dir` (pinned to `pin`, see
/// [`AddTorrent::folder_pin`]) and the folders they leave empty, never
/// following a link below `dir`. Blocking.
pub fn delete_files(
    meta: &Metainfo,
    dir: &std::path::Path,
    pin: Option<FolderId>,
) -> std::io::Result<()> {
    let handles = Arc::new(handles::FileHandles::new(1));
    storage::Storage::new(meta, dir, false, handles)?
        .pinned(pin)
        .delete_files()
}

/// Moves a stopped torrent's files from `from` to `to` (pinned to `pin`),
/// all or nothing, keeping what its resume record compares so it starts
/// again without hashing (see `relocate`). Blocking.
pub fn move_files(
    meta: &Metainfo,
    from: &std::path::Path,
    to: &std::path::Path,
    pin: Option<FolderId>,
) -> std::io::Result<usize> {
    relocate::move_files(meta, from, to, pin)
}

/// Has every piece of a torrent hashed again at its next start, whatever
/// its resume record says; the start then reports what it found as
/// [`EngineEvent::Rechecked`]. Blocking.
pub fn request_recheck(resume_dir: &std::path::Path, info_hash: InfoHash) -> std::io::Result<()> {
    let record = resume::record_path(resume_dir, info_hash);
    p2p_proto::fsutil::write_atomically(&resume::recheck_path(&record), b"")
}

/// Creates the folders `rest` below `dir` (which must still be the folder
/// `pin` names) without following a link, and returns the pin of the
/// folder made: for a download folder a client chose that did not exist
/// yet. Blocking.
pub fn create_pinned_folder(
    dir: &std::path::Path,
    pin: FolderId,
    rest: &std::path::Path,
) -> std::io::Result<FolderId> {
    nofollow::create_below(&nofollow::Root::new(dir, Some(pin)), rest)
}

/// Engine settings. Every limit is per engine unless it says otherwise.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where peers connect to us; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Most peer connections per torrent.
    pub max_peers_per_torrent: usize,
    /// Most peer connections in all.
    pub max_peers_total: usize,
    /// Time allowed to connect and finish the handshake.
    pub connect_timeout: Duration,
    /// Peers unchoked by rate, per torrent (plus one optimistic unchoke).
    pub upload_slots: usize,
    /// Time between choking rounds (BEP 3 suggests 10 s). A slot freed
    /// between rounds is given away at once.
    pub choke_period: Duration,
    /// Download limit in bytes per second for all torrents; `None` is unlimited.
    pub download_rate_limit: Option<u64>,
    /// Upload limit in bytes per second for all torrents; `None` is unlimited.
    pub upload_rate_limit: Option<u64>,
    /// Pieces failing their hash check, sent only by one peer, before it is banned.
    pub ban_after_bad_pieces: u32,
    /// How often resume state is written while pieces complete.
    pub resume_interval: Duration,
    /// Client name sent in the BEP 10 handshake.
    pub client_name: String,
    /// Write verified pieces with direct I/O where the file system allows
    /// (Linux): far less kernel CPU than filling the page cache, at the cost
    /// of reading from the disk when those pieces are uploaded later.
    pub direct_writes: bool,
    /// Most data files kept open at once, for all torrents (the least
    /// recently used is closed first). Lowered at start to a quarter of
    /// the process's descriptor limit, so sockets always have room.
    pub max_open_files: usize,
    /// Message Stream Encryption with peers.
    pub encryption: Encryption,
    /// uTP (BEP 29) beside TCP, on the UDP port of the same number.
    pub utp: UtpMode,
    /// The HTTP client announces go through (the daemon shares its own, so
    /// both use one set of root certificates); `None` builds a default one
    /// at [`Engine::start`].
    pub http: Option<reqwest::Client>,
    /// Local Service Discovery (BEP 14): announce our public torrents on
    /// the LAN by multicast and dial the peers that announce theirs.
    /// Private torrents never take part.
    pub lsd: bool,
    /// The DHT node to find peers of public torrents with (BEP 5); `None`
    /// runs none (an embedded engine opts in; p2pd's config turns it on).
    pub dht: Option<crate::dht::DhtConfig>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 6881)),
            max_peers_per_torrent: 50,
            max_peers_total: 400,
            connect_timeout: Duration::from_secs(10),
            upload_slots: 4,
            choke_period: Duration::from_secs(10),
            download_rate_limit: None,
            upload_rate_limit: None,
            ban_after_bad_pieces: 2,
            resume_interval: Duration::from_secs(1),
            client_name: format!("p2p {}", env!("CARGO_PKG_VERSION")),
            direct_writes: true,
            max_open_files: 256,
            encryption: Encryption::Prefer,
            utp: UtpMode::On,
            http: None,
            lsd: true,
            dht: None,
        }
    }
}

/// Message Stream Encryption (MSE/PE) with peers: what we offer when we
/// dial and what we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Dial with the obfuscated handshake offering RC4 and plaintext (the
    /// peer picks), and again in plaintext if the peer hangs up on it;
    /// accept both, picking plaintext after the handshake unless the peer
    /// offers only RC4.
    Prefer,
    /// RC4 only, both ways; plaintext peers are refused.
    Require,
    /// Plaintext only; encrypted handshakes are refused.
    Disable,
}

impl Encryption {
    /// The config file's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::Prefer => "prefer",
            Encryption::Require => "require",
            Encryption::Disable => "disable",
        }
    }
}

/// uTP (BEP 29) with peers: whether we take it, and which transport an
/// outgoing connection tries first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UtpMode {
    /// Accept uTP; dial TCP first, and uTP when TCP cannot connect or when
    /// the peer is known to speak uTP (peer exchange's flag, or the last
    /// connection to it). The kernel's TCP still moves more bytes per core
    /// than our user-space uTP (about 1.4 times on loopback).
    On,
    /// Accept uTP and dial every peer over uTP first, TCP when that fails
    /// (libtorrent's and Transmission's order).
    Prefer,
    /// TCP only: no UDP socket for uTP.
    Off,
}

impl UtpMode {
    /// The config file's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            UtpMode::On => "on",
            UtpMode::Prefer => "prefer",
            UtpMode::Off => "off",
        }
    }
}

/// How a torrent is added.
#[derive(Debug, Clone)]
pub struct AddTorrent {
    /// The torrent.
    pub metainfo: Metainfo,
    /// Folder that holds the torrent's files (they go below it).
    pub download_dir: PathBuf,
    /// Folder for resume records (usually `download_dir/.progress`).
    pub resume_dir: PathBuf,
    /// Per-torrent download limit in bytes per second.
    pub download_rate_limit: Option<u64>,
    /// Per-torrent upload limit in bytes per second.
    pub upload_rate_limit: Option<u64>,
    /// Extra peers to dial (tests, magnet `x.pe`), besides the trackers'.
    pub extra_peers: Vec<SocketAddr>,
    /// Announce to the torrent's trackers.
    pub use_trackers: bool,
    /// The caller has just hashed the data itself (the watched folder did):
    /// with no resume record, trust that every piece is there instead of
    /// hashing it all again.
    pub assume_complete: bool,
    /// The download folder's identity when a client of another user chose
    /// it: files are then opened only while it is still that folder.
    pub folder_pin: Option<FolderId>,
    /// Each file's priority (one per file of the info dictionary) for a
    /// torrent never started; a resume record's own choice wins. `None`:
    /// every file normal.
    pub file_priorities: Option<Vec<FilePriority>>,
    /// Sequential (streaming) mode from the start (see
    /// [`Engine::set_sequential`]).
    pub sequential: bool,
}

/// How a magnet link is added.
#[derive(Debug, Clone)]
pub struct AddMagnet {
    /// Folder that holds the torrent's files.
    pub download_dir: PathBuf,
    /// Folder for resume records.
    pub resume_dir: PathBuf,
    /// Peers to ask for the metadata and the data, besides the link's.
    pub extra_peers: Vec<SocketAddr>,
    /// Announce to the link's trackers.
    pub use_trackers: bool,
    /// As [`AddTorrent::folder_pin`].
    pub folder_pin: Option<FolderId>,
    /// Ask the DHT for the link's peers. A magnet link carries no private
    /// flag: the caller turns this off for an info-hash it knows to be
    /// private; once the metadata says private, the DHT is never asked again.
    pub use_dht: bool,
    /// Fetch only these files (by their `files-of` index, from 1); `None`:
    /// what the link's `so=` lists, else every file.
    pub files: Option<FileSet>,
    /// As [`AddTorrent::sequential`].
    pub sequential: bool,
}

/// Why the engine could not do something.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Could not listen.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The torrent is already in the engine.
    #[error("torrent {0} is already added")]
    Duplicate(InfoHash),
    /// A magnet link's metadata could not be fetched.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// Its files could not be prepared.
    #[error("cannot prepare the files of {name}: {source}")]
    Storage {
        /// Torrent name.
        name: String,
        /// The error.
        source: std::io::Error,
    },
    /// The disk threads could not be started.
    #[error("cannot start the disk threads: {0}")]
    DiskThread(std::io::Error),
    /// The download does not fit in its folder's free space.
    #[error(transparent)]
    NoSpace(#[from] NoSpace),
    /// The DHT node could not start (its UDP port is taken, say).
    #[error("cannot start the DHT node: {0}")]
    Dht(std::io::Error),
    /// The HTTP client for announces could not be built.
    #[error("cannot set up the HTTP client for announces: {0}")]
    Http(crate::http_client::ClientError),
    /// The engine does not run this torrent.
    #[error("torrent {0} is not running")]
    NotRunning(InfoHash),
    /// A file list that does not fit the torrent.
    #[error(transparent)]
    FileIndex(#[from] p2p_proto::indexes::IndexError),
    /// File priorities could not be changed.
    #[error("cannot change the files of {name}: {reason}")]
    Files {
        /// Torrent name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// One file of a running torrent, for `files-of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileView {
    /// Path inside the download folder.
    pub path: String,
    /// Bytes.
    pub length: u64,
    /// Bytes of it in verified pieces; 0 for a file not created (skipped).
    pub have: u64,
    /// How eagerly it is fetched.
    pub priority: FilePriority,
    /// A padding file (BEP 47): not shown to people.
    pub pad: bool,
}

/// A running engine. Cloning gives another handle to the same engine.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

#[derive(Debug)]
pub(crate) struct EngineInner {
    pub config: EngineConfig,
    pub peer_id: PeerId,
    pub listen_addr: SocketAddr,
    /// Announces go through it.
    pub http: reqwest::Client,
    pub torrents: Mutex<HashMap<InfoHash, torrent::Torrent>>,
    /// Connection caps and upload slots, changed at run time.
    pub caps: Arc<caps::Caps>,
    /// Incoming connections per address, and the half-open budget.
    pub admission: admission::Admission,
    /// Bytes all peers hold read from disk to upload.
    pub upload_cache_bytes: Arc<std::sync::atomic::AtomicU64>,
    pub disk: disk::Disk,
    /// Open data files of every torrent.
    pub handles: Arc<handles::FileHandles>,
    pub download_limit: Arc<RateLimiter>,
    pub upload_limit: Arc<RateLimiter>,
    pub cancel: CancellationToken,
    pub tasks: TaskTracker,
    pub events: events::Events,
    /// Tells local service discovery that a torrent was added.
    pub lsd_wake: Arc<tokio::sync::Notify>,
    /// Finds peers of public torrents.
    pub dht: Option<DhtNode>,
    /// uTP's socket, when uTP is on.
    pub utp: Option<utp::UtpSocket>,
}

impl EngineInner {
    /// How to dial a peer; `utp_first` when the peer is known to speak uTP.
    pub(crate) fn dial(&self, utp_first: bool) -> connect::Dial {
        dial_settings(&self.config, self.utp.clone(), utp_first)
    }
}

/// How to dial a peer under `config`.
pub(crate) fn dial_settings(
    config: &EngineConfig,
    utp: Option<utp::UtpSocket>,
    utp_first: bool,
) -> connect::Dial {
    connect::Dial {
        encryption: config.encryption,
        timeout: config.connect_timeout,
        utp_first: utp.is_some() && (utp_first || config.utp == UtpMode::Prefer),
        utp,
    }
}

/// Tries for a TCP and a UDP port of the same number, when the port is
/// left to the system (0): the one it picks for TCP may be taken for UDP.
const PORT_PAIR_TRIES: usize = 8;

/// Binds the TCP listener and, when uTP is on, the uTP socket on the same
/// port number (peers dial both at the one port trackers announce). A
/// fixed port whose UDP side is taken runs without uTP, with a warning.
async fn bind_listeners(
    config: &EngineConfig,
    cancel: &CancellationToken,
) -> Result<(TcpListener, SocketAddr, Option<utp::UtpSocket>), EngineError> {
    let listen_error = |source| EngineError::Listen {
        addr: config.listen,
        source,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(listen_error)?;
        let listen_addr = listener.local_addr().map_err(listen_error)?;
        if config.utp == UtpMode::Off {
            return Ok((listener, listen_addr, None));
        }
        match utp::bind(listen_addr, config.max_peers_total, cancel.child_token()).await {
            Ok(socket) => return Ok((listener, listen_addr, Some(socket))),
            Err(e) if config.listen.port() == 0 && tries < PORT_PAIR_TRIES => {
                tracing::debug!(
                    "UDP port {} taken for uTP ({e}): another pair",
                    listen_addr.port()
                );
            }
            Err(e) => {
                tracing::warn!("uTP is off: cannot bind UDP {listen_addr}: {e}");
                return Ok((listener, listen_addr, None));
            }
        }
    }
}

impl Engine {
    /// Binds the listener and starts accepting peers. The engine stops when
    /// `cancel` is cancelled; then await [`Engine::shutdown`].
    pub async fn start(
        config: EngineConfig,
        cancel: CancellationToken,
    ) -> Result<Engine, EngineError> {
        let (listener, listen_addr, utp) = bind_listeners(&config, &cancel).await?;
        let http = match &config.http {
            Some(client) => client.clone(),
            None => tokio::task::spawn_blocking(|| crate::http_client::build(None))
                .await
                .unwrap_or_else(|e| Err(crate::http_client::ClientError::Build(e.to_string())))
                .map_err(EngineError::Http)?,
        };
        let peer_id = PeerId::generate(rand::random());
        let tasks = TaskTracker::new();
        // uTP holds the UDP port of the TCP port's number: the DHT takes the
        // next one (peers learn it from PORT messages, nodes from its packets).
        let dht_default = match &utp {
            Some(_) => SocketAddr::new(listen_addr.ip(), listen_addr.port().wrapping_add(1)),
            None => listen_addr,
        };
        let dht = match &config.dht {
            Some(c) => Some(
                DhtNode::start(c, dht_default, cancel.clone(), &tasks)
                    .await
                    .map_err(EngineError::Dht)?,
            ),
            None => None,
        };
        let inner = Arc::new(EngineInner {
            peer_id,
            http,
            listen_addr,
            torrents: Mutex::new(HashMap::new()),
            caps: Arc::new(caps::Caps::new(
                config.max_peers_per_torrent,
                config.max_peers_total,
                config.upload_slots,
            )),
            admission: admission::Admission::default(),
            upload_cache_bytes: Arc::default(),
            disk: disk::Disk::start().map_err(EngineError::DiskThread)?,
            handles: Arc::new(handles::FileHandles::new(handles::capacity_within_limit(
                config.max_open_files,
            ))),
            download_limit: Arc::new(RateLimiter::new(config.download_rate_limit)),
            upload_limit: Arc::new(RateLimiter::new(config.upload_rate_limit)),
            cancel,
            tasks,
            events: events::Events::new(),
            lsd_wake: Arc::default(),
            dht,
            utp: utp.clone(),
            config,
        });
        inner
            .tasks
            .spawn(listener::accept_loop(listener, Arc::downgrade(&inner)));
        if let Some(utp) = utp {
            inner.tasks.spawn(utp::drive(utp.clone()));
            inner
                .tasks
                .spawn(listener::utp_accept_loop(utp, Arc::downgrade(&inner)));
        }
        if inner.config.lsd {
            inner
                .tasks
                .spawn(lsd::run(Arc::downgrade(&inner), inner.lsd_wake.clone()));
        }
        Ok(Engine { inner })
    }

    /// The address peers can reach us on (with the real port).
    pub fn listen_addr(&self) -> SocketAddr {
        self.inner.listen_addr
    }

    /// The DHT node's state, when one runs.
    pub async fn dht_status(&self) -> Option<DhtStatus> {
        match &self.inner.dht {
            Some(d) => Some(d.status().await),
            None => None,
        }
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// What happens to torrents from now on: completed, failed, stopped,
    /// metadata received. A receiver that falls behind misses the oldest.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Adds a torrent: checks or resumes its files, then downloads or seeds it.
    pub async fn add(&self, add: AddTorrent) -> Result<InfoHash, EngineError> {
        let info_hash = add.metainfo.info_hash;
        if self.lock_torrents().contains_key(&info_hash) {
            return Err(EngineError::Duplicate(info_hash));
        }
        let (t, stopped) = torrent::Torrent::new(self.inner.clone(), add).await?;
        self.inner
            .tasks
            .spawn(manager::run(t.shared.clone(), stopped));
        match self.lock_torrents().entry(info_hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                t.stop();
                Err(EngineError::Duplicate(info_hash))
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(t);
                self.inner.lsd_wake.notify_one();
                Ok(info_hash)
            }
        }
    }

    /// Adds a magnet link: fetches the info dictionary from peers (BEP 9),
    /// checks it against the info-hash, then adds the torrent like
    /// [`Engine::add`], with the link's trackers as the torrent's.
    pub async fn add_magnet(
        &self,
        magnet: &Magnet,
        add: AddMagnet,
        deadline: Duration,
    ) -> Result<InfoHash, EngineError> {
        if self.lock_torrents().contains_key(&magnet.info_hash) {
            return Err(EngineError::Duplicate(magnet.info_hash));
        }
        let dht = self.inner.dht.as_ref().filter(|_| add.use_dht);
        let metainfo = metadata::fetch(
            &self.inner.http,
            dht,
            magnet,
            &add.extra_peers,
            metadata::Us {
                peer_id: self.inner.peer_id,
                listen_port: self.inner.listen_addr.port(),
                dial: self.inner.dial(false),
            },
            deadline,
            &self.inner.cancel,
        )
        .await?;
        self.inner.events.send(EngineEvent::MetadataReceived {
            info_hash: magnet.info_hash,
            name: metainfo.info.name.clone(),
        });
        let file_priorities = match (&add.files, &magnet.select_only) {
            (Some(set), _) => Some(selection::from_file_set(&metainfo.info.files, set)?),
            (None, Some(so)) => Some(selection::from_select_only(&metainfo.info.files, so)),
            (None, None) => None,
        };
        // Refused before a byte is written, as a .torrent's add is.
        let (meta, dir, chosen) = (metainfo, add.download_dir.clone(), file_priorities.clone());
        let (mut metainfo, fits) = tokio::task::spawn_blocking(move || {
            let fits = space::check_selected(&meta, &dir, chosen.as_deref());
            (meta, fits)
        })
        .await
        .map_err(|e| EngineError::DiskThread(std::io::Error::other(e)))?;
        fits?;
        metainfo.trackers = magnet.trackers.iter().map(|t| vec![t.clone()]).collect();
        metainfo.web_seeds = magnet.web_seeds.clone();
        let mut extra_peers = add.extra_peers;
        extra_peers.extend(magnet.peers.iter().copied());
        self.add(AddTorrent {
            metainfo,
            download_dir: add.download_dir,
            resume_dir: add.resume_dir,
            download_rate_limit: None,
            upload_rate_limit: None,
            extra_peers,
            use_trackers: add.use_trackers,
            assume_complete: false,
            folder_pin: add.folder_pin,
            file_priorities,
            sequential: add.sequential,
        })
        .await
    }

    /// The files of a running torrent with their progress and priority.
    pub fn files(&self, info_hash: InfoHash) -> Option<Vec<FileView>> {
        let t = self.lock_torrents().get(&info_hash).cloned()?;
        let s = &t.shared;
        let (have, priorities) = {
            let st = s.lock();
            (st.picker.have().clone(), st.file_priorities.clone())
        };
        let spans = selection::Span::of(&s.meta.info.files);
        Some(
            s.meta
                .info
                .files
                .iter()
                .zip(spans)
                .zip(priorities)
                .enumerate()
                .map(|(i, ((f, span), priority))| FileView {
                    path: f.display_path(),
                    length: f.length,
                    // A parked file's bytes in shared pieces wait in the
                    // part file: not its data until it is wanted.
                    have: if s.storage.is_parked(i) {
                        0
                    } else {
                        selection::verified_bytes(&span, &have, s.meta.info.piece_length)
                    },
                    priority,
                    pad: f.pad,
                })
                .collect(),
        )
    }

    /// Turns sequential (streaming) mode of a running torrent on or off:
    /// on, the first and last pieces of its media files come first, then
    /// the pieces in order (see the picker). Pieces under way are finished.
    pub fn set_sequential(&self, info_hash: InfoHash, on: bool) -> Result<(), EngineError> {
        let t = self
            .lock_torrents()
            .get(&info_hash)
            .cloned()
            .ok_or(EngineError::NotRunning(info_hash))?;
        t.shared.set_sequential(on);
        Ok(())
    }

    /// Changes the priorities of a running torrent's files (one per file of
    /// the info dictionary): files wanted again come out of the part file
    /// first, then pieces are picked by the new priorities. Kept in the
    /// next resume record.
    pub async fn set_file_priorities(
        &self,
        info_hash: InfoHash,
        priorities: Vec<FilePriority>,
    ) -> Result<(), EngineError> {
        let t = self
            .lock_torrents()
            .get(&info_hash)
            .cloned()
            .ok_or(EngineError::NotRunning(info_hash))?;
        let shared = t.shared.clone();
        let fail = |reason: String| EngineError::Files {
            name: shared.meta.info.name.clone(),
            reason,
        };
        if priorities.len() != shared.meta.info.files.len() {
            return Err(fail(format!(
                "{} priorities for {} files",
                priorities.len(),
                shared.meta.info.files.len()
            )));
        }
        if shared.lock().status == TorrentState::Checking {
            return Err(fail(
                "it is still checking its files; try again when it is done".into(),
            ));
        }
        let s = shared.clone();
        let wanted: Vec<bool> = priorities.iter().map(|p| p.wanted()).collect();
        tokio::task::spawn_blocking(move || {
            for (i, &w) in wanted.iter().enumerate() {
                if w {
                    s.storage.unpark(i)?;
                } else {
                    s.storage.park_if_absent(i)?;
                }
            }
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(e.to_string()))?;
        shared.apply_priorities(priorities);
        Ok(())
    }

    /// Stops a torrent (a `stopped` announce, connections closed, resume
    /// state written) and forgets it. Its files stay.
    pub async fn remove(&self, info_hash: InfoHash) -> bool {
        let t = self.lock_torrents().remove(&info_hash);
        match t {
            Some(t) => {
                t.stop();
                t.wait_stopped().await;
                true
            }
            None => false,
        }
    }

    /// Changes the global rate limits, in bytes per second (`None`:
    /// unlimited), for every transfer from now on.
    pub fn set_rate_limits(&self, download: Option<u64>, upload: Option<u64>) {
        self.inner.download_limit.set_rate(download);
        self.inner.upload_limit.set_rate(upload);
    }

    /// The global rate limits in effect, `(download, upload)`.
    pub fn rate_limits(&self) -> (Option<u64>, Option<u64>) {
        (
            self.inner.download_limit.rate(),
            self.inner.upload_limit.rate(),
        )
    }

    /// Changes the connection caps and upload slots at once. Connections
    /// above a lowered cap are not closed: they drain as peers leave, and
    /// no new one is made until the count is under the cap; lowered upload
    /// slots apply from the next choking round (at most ten seconds).
    pub fn set_connection_limits(&self, per_torrent: usize, total: usize, upload_slots: usize) {
        self.inner.caps.set(per_torrent, total, upload_slots);
    }

    /// The connection caps and upload slots in effect, `(per torrent,
    /// total, upload slots)`.
    pub fn connection_limits(&self) -> (usize, usize, usize) {
        let c = &self.inner.caps;
        (c.per_torrent(), c.total(), c.upload_slots())
    }

    /// Changes one torrent's own rate limits (under the global ones) from
    /// now on; false when the engine does not run it.
    pub fn set_torrent_limits(
        &self,
        info_hash: InfoHash,
        download: Option<u64>,
        upload: Option<u64>,
    ) -> bool {
        let Some(t) = self.lock_torrents().get(&info_hash).cloned() else {
            return false;
        };
        t.shared.download_limits[1].set_rate(download);
        t.shared.upload_limits[1].set_rate(upload);
        true
    }

    /// One torrent's own rate limits in effect, `(download, upload)`.
    pub fn torrent_limits(&self, info_hash: InfoHash) -> Option<(Option<u64>, Option<u64>)> {
        let t = self.lock_torrents().get(&info_hash).cloned()?;
        Some((
            t.shared.download_limits[1].rate(),
            t.shared.upload_limits[1].rate(),
        ))
    }

    /// Whether the engine runs this torrent (without taking a snapshot).
    pub fn is_running(&self, info_hash: InfoHash) -> bool {
        self.lock_torrents().contains_key(&info_hash)
    }

    /// The torrents running now.
    pub fn running(&self) -> std::collections::HashSet<InfoHash> {
        self.lock_torrents().keys().copied().collect()
    }

    /// A snapshot of one torrent.
    pub fn stats(&self, info_hash: InfoHash) -> Option<TorrentStats> {
        self.lock_torrents()
            .get(&info_hash)
            .map(torrent::Torrent::stats)
    }

    /// The torrent's metadata.
    pub fn metainfo(&self, info_hash: InfoHash) -> Option<Arc<Metainfo>> {
        self.lock_torrents()
            .get(&info_hash)
            .map(|t| t.shared.meta.clone())
    }

    /// The pieces verified so far.
    pub fn have(&self, info_hash: InfoHash) -> Option<p2p_proto::bitfield::Bitfield> {
        let t = self.lock_torrents().get(&info_hash).cloned()?;
        let have = t.shared.lock().picker.have().clone();
        Some(have)
    }

    /// Every torrent's byte counters and state: what the once-a-second rate
    /// sampler and the queue's look need, without the full [`TorrentStats`]
    /// (a name and a peer list copied per torrent, every second).
    pub fn all_counters(&self) -> Vec<Counters> {
        self.lock_torrents()
            .values()
            .map(torrent::Torrent::counters)
            .collect()
    }

    /// Snapshots of every torrent.
    pub fn all_stats(&self) -> Vec<TorrentStats> {
        self.lock_torrents()
            .values()
            .map(torrent::Torrent::stats)
            .collect()
    }

    /// Waits until a torrent has every piece, or `timeout` passes; returns
    /// whether it is complete.
    pub async fn wait_complete(&self, info_hash: InfoHash, timeout: Duration) -> bool {
        let Some(t) = self.lock_torrents().get(&info_hash).cloned() else {
            return false;
        };
        tokio::time::timeout(timeout, t.wait_complete())
            .await
            .is_ok()
    }

    /// Waits for every task to finish after `cancel` was cancelled, for at most `deadline`.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        self.inner.cancel.cancel();
        let torrents: Vec<torrent::Torrent> = self.lock_torrents().values().cloned().collect();
        self.inner.tasks.close();
        let all = async {
            for t in torrents {
                t.wait_stopped().await;
            }
            self.inner.tasks.wait().await;
        };
        tokio::time::timeout(deadline, all).await.is_ok()
    }

    fn lock_torrents(&self) -> std::sync::MutexGuard<'_, HashMap<InfoHash, torrent::Torrent>> {
        self.inner
            .torrents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
