//! What the daemon shows of its torrents, session and tracker: the typed
//! bodies of replies and events.

use serde::{Deserialize, Serialize};

use crate::infohash::InfoHash;

/// An error reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    /// Machine-readable kind.
    pub code: ErrorCode,
    /// One line for people.
    pub message: String,
}

impl IpcError {
    /// An error of a kind with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

/// Kinds of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a request.
    BadRequest,
    /// A command this daemon does not know.
    UnknownCommand,
    /// The client speaks another protocol version.
    VersionMismatch,
    /// A line over the size limit.
    FrameTooLong,
    /// No torrent matches the id.
    NotFound,
    /// An id matching several torrents.
    Ambiguous,
    /// Already there.
    AlreadyExists,
    /// A .torrent or magnet that cannot be used.
    InvalidTorrent,
    /// A file could not be read or written.
    Io,
    /// Needs a login first.
    NotLoggedIn,
    /// The tracker refused or could not be reached.
    Tracker,
    /// The tracker refused: not allowed for this user (not a member of the
    /// group, not its owner).
    Forbidden,
    /// A run-time setting key or value that cannot be used (nothing changed).
    InvalidSetting,
    /// Not available in this build.
    NotSupported,
    /// A bug.
    Internal,
}

/// Reply to `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    /// Daemon version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// User name, or null when logged out.
    pub logged_in_as: Option<String>,
    /// Why the last session ended (logout, tracker shutdown), if it did.
    #[serde(default)]
    pub logged_out_because: Option<String>,
    /// Whether the tracker can be reached.
    pub tracker: TrackerState,
    /// Peer port.
    pub listen_port: u16,
    /// Watched folder.
    pub shared_dir: String,
    /// Where downloads go.
    pub downloads_dir: String,
    /// Number of torrents.
    pub torrents: usize,
    /// Torrents downloading.
    pub downloading: usize,
    /// Torrents seeding.
    pub seeding: usize,
    /// Bytes per second, all torrents.
    pub download_rate: u64,
    /// Bytes per second, all torrents.
    pub upload_rate: u64,
    /// The DHT node; `None` when it is off (or the daemon predates it).
    /// Boxed: it is the largest part of the largest reply.
    #[serde(default)]
    pub dht: Option<Box<DhtInfo>>,
    /// The .torrent watch folder; `None` when it is off (or the daemon
    /// predates it).
    #[serde(default)]
    pub watch_folder: Option<Box<WatchFolderInfo>>,
}

/// The .torrent watch folder, for `status`: what became of the files
/// dropped into it since the daemon started.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WatchFolderInfo {
    /// The folder.
    pub dir: String,
    /// Files that started a download (renamed `.added`).
    pub started: u64,
    /// Files whose torrent was already there (renamed `.added` too).
    pub already_there: u64,
    /// Files that could not be used (renamed `.invalid`).
    pub invalid: u64,
    /// The last few invalid files, newest last, and why.
    pub recent_invalid: Vec<InvalidWatchFile>,
}

/// A file of the watch folder that could not start a download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidWatchFile {
    /// Its name as dropped (before `.invalid` was added).
    pub file: String,
    /// Why, for people (the parser's error, the size limit...).
    pub reason: String,
}

/// A torrent's transfers over its whole life in this daemon, kept across
/// restarts (the `downloaded` and `uploaded` of [`TorrentSummary`] count
/// since it last started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AllTime {
    /// Payload bytes received.
    pub downloaded: u64,
    /// Payload bytes sent.
    pub uploaded: u64,
    /// `uploaded / downloaded`; over the torrent's size when nothing was
    /// downloaded (a torrent seeded from data that was already here).
    pub ratio: f64,
    /// Seconds spent complete and running.
    pub seeding_secs: u64,
}

impl AllTime {
    /// Figures with the ratio worked out for a torrent of `size` bytes.
    pub fn new(downloaded: u64, uploaded: u64, seeding_secs: u64, size: u64) -> AllTime {
        let base = if downloaded > 0 { downloaded } else { size };
        AllTime {
            downloaded,
            uploaded,
            ratio: if base == 0 {
                0.0
            } else {
                uploaded as f64 / base as f64
            },
            seeding_secs,
        }
    }
}

/// The daemon's DHT node (BEP 5), for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhtInfo {
    /// Its UDP port.
    pub port: u16,
    /// Nodes in its routing table seen recently; 0 means it has not
    /// joined the DHT (yet).
    pub nodes: usize,
    /// Whether it answers other nodes' queries.
    pub server_mode: bool,
    /// Whether it has not been seen reachable from outside.
    pub firewalled: bool,
    /// Our address as other nodes see it, once they agree.
    #[serde(default)]
    pub public_address: Option<String>,
}

/// Tracker reachability and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerState {
    /// Whether the tracker answers.
    pub state: Reachability,
    /// Why, for people.
    pub reason: String,
}

/// Whether the tracker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// It answered the last check.
    Ok,
    /// It did not.
    Unreachable,
    /// No tracker is configured.
    None,
    /// Not checked yet.
    Unknown,
}

/// What a torrent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TorrentState {
    /// Checking its files against the piece hashes.
    Checking,
    /// Fetching missing pieces.
    Downloading,
    /// Complete and serving.
    Seeding,
    /// Stopped by the user.
    Paused,
    /// Recorded but not started: sharing is stopped by a logout, and it
    /// starts at the next login.
    Waiting,
    /// Stopped by an error (the text is beside the state).
    Error,
    /// Waiting for free disk space, requesting nothing; goes on by itself
    /// when there is room (why, with the sizes, is beside the state).
    DiskFull,
    /// Waiting in the queue for a download or seed slot (its place is
    /// beside the state).
    Queued,
    /// Stopped by a seed goal (which one is beside the state).
    Finished,
}

impl TorrentState {
    /// The wire name, e.g. `downloading`.
    pub fn as_str(self) -> &'static str {
        match self {
            TorrentState::Checking => "checking",
            TorrentState::Downloading => "downloading",
            TorrentState::Seeding => "seeding",
            TorrentState::Paused => "paused",
            TorrentState::Waiting => "waiting",
            TorrentState::Error => "error",
            TorrentState::DiskFull => "disk_full",
            TorrentState::Queued => "queued",
            TorrentState::Finished => "finished",
        }
    }
}

impl std::fmt::Display for TorrentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A torrent in `list` and in replies about one torrent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// The first 8 hex digits: enough to name it in commands.
    pub short_id: String,
    /// Torrent name.
    pub name: String,
    /// What it is doing.
    pub state: TorrentState,
    /// Error text when `state` is `error`; why it waits when `disk_full`;
    /// its place when `queued` (`#2 in the queue`); the goal reached when
    /// `finished` (`ratio 2.00 reached`).
    #[serde(default)]
    pub error: Option<String>,
    /// Verified fraction, 0 to 1.
    pub progress: f64,
    /// Total bytes.
    pub size: u64,
    /// Payload bytes received this session.
    pub downloaded: u64,
    /// Payload bytes sent this session.
    pub uploaded: u64,
    /// Bytes per second.
    pub download_rate: u64,
    /// Bytes per second.
    pub upload_rate: u64,
    /// Connected peers.
    pub peers: usize,
    /// Where its files are.
    pub save_path: String,
    /// Its own download limit in bytes per second, under the global one.
    #[serde(default)]
    pub download_rate_limit: Option<u64>,
    /// Its own upload limit in bytes per second, under the global one.
    #[serde(default)]
    pub upload_rate_limit: Option<u64>,
    /// Its transfers over its whole life, across restarts.
    #[serde(default)]
    pub all_time: AllTime,
    /// Sequential (streaming) mode.
    #[serde(default)]
    pub sequential: bool,
}

/// Reply to `progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressInfo {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Torrent name.
    pub name: String,
    /// What it is doing.
    pub state: TorrentState,
    /// Pieces in the torrent.
    pub pieces_total: usize,
    /// Pieces verified.
    pub pieces_have: usize,
    /// Total bytes.
    pub bytes_total: u64,
    /// Verified bytes.
    pub bytes_have: u64,
    /// Pieces hashed at start because the resume record did not fit.
    pub pieces_rechecked: usize,
    /// Seconds to completion at the current rate, if it is moving.
    pub eta_secs: Option<u64>,
    /// Each file and whether all its pieces are verified.
    pub files: Vec<FileProgress>,
    /// Which pieces are verified, for a strip drawn left to right: at most
    /// [`PIECE_MAP_MAX_ENTRIES`] entries, each the percentage (0 to 100) of
    /// verified pieces in an equal run of pieces; one entry per piece when
    /// the torrent has no more pieces than that (see [`piece_map`]).
    #[serde(default)]
    pub piece_map: Vec<u8>,
    /// Its transfers over its whole life, across restarts.
    #[serde(default)]
    pub all_time: AllTime,
}

/// Most entries in [`ProgressInfo::piece_map`]: a strip as wide as a detail
/// pane, and a reply that stays small whatever the torrent's piece count.
pub const PIECE_MAP_MAX_ENTRIES: usize = 512;

/// [`ProgressInfo::piece_map`] for a torrent of `pieces` pieces, `have(i)`
/// telling whether piece `i` is verified: entry `e` covers pieces
/// `e * pieces / n .. (e + 1) * pieces / n`, `n` being the entry count.
pub fn piece_map(pieces: usize, have: impl Fn(usize) -> bool) -> Vec<u8> {
    let n = pieces.min(PIECE_MAP_MAX_ENTRIES);
    (0..n)
        .map(|e| {
            let (start, end) = (e * pieces / n, (e + 1) * pieces / n);
            let verified = (start..end).filter(|&p| have(p)).count();
            // Every run holds at least one piece, as n <= pieces; a run
            // short of complete never rounds up to 100.
            let percent = verified * 100 / (end - start);
            u8::try_from(percent).unwrap_or(100)
        })
        .collect()
}

/// One file in [`ProgressInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    /// Path inside the download folder.
    pub path: String,
    /// Bytes.
    pub length: u64,
    /// Every piece of it is verified.
    pub complete: bool,
}

/// A connected peer, or a web seed (its URL as `addr`, how it is doing
/// as `peer_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSummary {
    /// `IP:port`.
    pub addr: String,
    /// Its id as text.
    pub peer_id: String,
    /// Payload bytes from it.
    pub downloaded: u64,
    /// Payload bytes to it.
    pub uploaded: u64,
    /// We dialed it.
    pub outgoing: bool,
    /// How we learnt of it.
    #[serde(default)]
    pub source: PeerSource,
    /// The stream is RC4-encrypted (Message Stream Encryption). Absent
    /// from daemons older than encryption: false.
    #[serde(default)]
    pub encrypted: bool,
    /// What carries the connection. Absent from daemons older than uTP:
    /// TCP.
    #[serde(default)]
    pub transport: PeerTransport,
}

/// What carries a peer connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerTransport {
    /// TCP.
    #[default]
    Tcp,
    /// uTP over UDP (BEP 29).
    Utp,
    /// HTTP: a web seed (BEP 19).
    Http,
}

impl PeerTransport {
    /// The name `p2pctl peers` shows.
    pub fn name(self) -> &'static str {
        match self {
            PeerTransport::Tcp => "tcp",
            PeerTransport::Utp => "utp",
            PeerTransport::Http => "http",
        }
    }
}

/// How a peer was found. One name per source, shown by `p2pctl peers`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerSource {
    /// A tracker's announce answer.
    Tracker,
    /// The DHT (BEP 5).
    Dht,
    /// Peer exchange (BEP 11).
    Pex,
    /// Local service discovery (BEP 14).
    Lsd,
    /// Given by the user (a magnet link's `x.pe`, a download request).
    User,
    /// It connected to us.
    #[default]
    Incoming,
    /// Not a peer: a web seed of the torrent (BEP 19).
    WebSeed,
}

impl PeerSource {
    /// The name `p2pctl peers` shows (the same as on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            PeerSource::Tracker => "tracker",
            PeerSource::Dht => "dht",
            PeerSource::Pex => "pex",
            PeerSource::Lsd => "lsd",
            PeerSource::User => "user",
            PeerSource::Incoming => "incoming",
            PeerSource::WebSeed => "webseed",
        }
    }
}

/// Reply to `share`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInfo {
    /// Where the copy was placed in the watched folder.
    pub placed_at: String,
}

/// Reply to `whoami`, `login`, `logout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// User name, or null.
    pub logged_in_as: Option<String>,
    /// Why the last session ended, when nobody is logged in.
    #[serde(default)]
    pub ended_because: Option<String>,
}

/// Reply to `passkey_rotate`. The new passkey stays between the daemon and
/// the tracker (`whoami` on the tracker shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRotatedInfo {
    /// Whose passkey it was.
    pub user: String,
    /// Torrents restarted to announce with the new passkey.
    pub torrents: u64,
}

/// Reply to `register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterInfo {
    /// The account's name as the tracker stored it.
    pub registered: String,
}

/// First reply to `subscribe`; events follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    /// Always true.
    pub subscribed: bool,
}

/// Reply to `add` and `resume`: the torrent, and a note when it waits for
/// something before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Added {
    /// The torrent.
    #[serde(flatten)]
    pub torrent: TorrentSummary,
    /// Why it has not started yet (e.g. it starts at the next login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A line streamed to subscribers: `{"event": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    /// The event.
    pub event: Event,
}

/// Things that happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Periodic progress of torrents (of the subscribed one, or all).
    Progress {
        /// Their state now.
        torrents: Vec<TorrentSummary>,
    },
    /// A torrent verified its last piece.
    Completed {
        /// Its info-hash.
        info_hash: InfoHash,
        /// Its name.
        name: String,
    },
    /// A torrent stopped on an error.
    Error {
        /// Its info-hash.
        info_hash: InfoHash,
        /// Why.
        message: String,
    },
    /// A file from the watched folder is now shared.
    Shared {
        /// Its info-hash.
        info_hash: InfoHash,
        /// Its path in the watched folder.
        path: String,
    },
    /// The session ended (logout, tracker shutdown).
    LoggedOut {
        /// Why.
        reason: String,
    },
}
