//! The messages of the control protocol and the shapes of their replies.

use serde::{Deserialize, Serialize};

/// First line a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    /// Version and client name.
    pub hello: ClientHelloBody,
}

/// Body of [`ClientHello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHelloBody {
    /// [`super::PROTOCOL_VERSION`] of the client.
    pub version: u32,
    /// Free text, e.g. `p2pctl 0.1.0`.
    #[serde(default)]
    pub client: String,
}

/// The daemon's answer to a hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    /// Version and server name.
    pub hello: ServerHelloBody,
}

/// Body of [`ServerHello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHelloBody {
    /// [`super::PROTOCOL_VERSION`] of the daemon.
    pub version: u32,
    /// e.g. `p2pd 0.1.0`.
    pub server: String,
}

/// One request line: an id chosen by the client and a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestFrame {
    /// Echoed in the reply.
    pub id: u64,
    /// What to do.
    #[serde(flatten)]
    pub request: Request,
}

/// The commands. On the wire: `"cmd": "<name>"` and the fields under `"args"`.
/// `Debug` hides passwords.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", content = "args", rename_all = "snake_case")]
pub enum Request {
    /// Daemon version, uptime, login and tracker state, counts, rates ([`StatusInfo`]).
    Status,
    /// Every torrent ([`TorrentSummary`] list).
    List,
    /// Starts a download or seeds a torrent ([`TorrentSummary`]).
    Add {
        /// A .torrent path (absolute), a magnet URI, an info-hash or a catalog name.
        source: String,
        /// Folder to download into instead of the daemon's downloads folder.
        #[serde(default)]
        to: Option<String>,
        /// Add without starting.
        #[serde(default)]
        paused: bool,
    },
    /// Resume progress of one torrent ([`ProgressInfo`]).
    Progress {
        /// Info-hash or a unique prefix of it, or a name.
        id: String,
    },
    /// Stops a torrent, keeping it in the list ([`TorrentSummary`]).
    Pause {
        /// Torrent id.
        id: String,
    },
    /// Starts a paused torrent ([`TorrentSummary`]).
    Resume {
        /// Torrent id.
        id: String,
    },
    /// Forgets a torrent ([`TorrentSummary`] of what was removed).
    Remove {
        /// Torrent id.
        id: String,
        /// Also delete its downloaded files.
        #[serde(default)]
        delete_data: bool,
    },
    /// Connected peers of a torrent ([`PeerSummary`] list).
    Peers {
        /// Torrent id.
        id: String,
    },
    /// Copies a file or folder into the watched folder ([`ShareInfo`]).
    Share {
        /// Absolute path.
        path: String,
        /// Group subfolder; none for public.
        #[serde(default)]
        group: Option<String>,
    },
    /// Keeps the connection open and streams [`Event`]s.
    Subscribe {
        /// Only events of this torrent.
        #[serde(default)]
        id: Option<String>,
    },
    /// Creates an account on the tracker.
    Register {
        /// User name.
        user: String,
        /// Password (never logged).
        password: String,
    },
    /// Logs in; sharing starts.
    Login {
        /// User name.
        user: String,
        /// Password (never logged).
        password: String,
        /// End a session that is online elsewhere.
        #[serde(default)]
        force: bool,
    },
    /// Logs out; sharing stops.
    Logout,
    /// Who is logged in.
    Whoami,
    /// Creates a group owned by the logged-in user (the tracker's group object).
    GroupCreate {
        /// Group name.
        name: String,
    },
    /// Every group (`{groups: [...]}` from the tracker).
    GroupList,
    /// Asks to join a group.
    GroupJoin {
        /// Group name.
        name: String,
    },
    /// Leaves a group (`{group, new_owner, deleted}`).
    GroupLeave {
        /// Group name.
        name: String,
    },
    /// Pending join requests of a group the user owns (`{requests: [...]}`).
    GroupRequests {
        /// Group name.
        name: String,
    },
    /// Accepts a join request (owner only).
    GroupAccept {
        /// Group name.
        name: String,
        /// Who asked.
        user: String,
    },
    /// Rejects a join request (owner only).
    GroupReject {
        /// Group name.
        name: String,
        /// Who asked.
        user: String,
    },
    /// Members of a group (`{members: [...]}`).
    GroupMembers {
        /// Group name.
        name: String,
    },
    /// Removes a member (owner only).
    GroupRemove {
        /// Group name.
        name: String,
        /// The member.
        user: String,
    },
    /// A catalog (`{torrents: [...]}`): a group's, or the public one.
    Files {
        /// Group name; none for the public catalog.
        #[serde(default)]
        group: Option<String>,
    },
    /// Catalog entries whose name contains a term (`{torrents: [...]}`).
    Search {
        /// Text to look for (any case).
        term: String,
    },
    /// A page of the tracker's events (`{events: [...], next_after}`).
    Events {
        /// Only events after this id.
        #[serde(default)]
        after: Option<u64>,
        /// At most this many (1 to 1000; the tracker's default is 100).
        #[serde(default)]
        limit: Option<u32>,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(pw) = v.get_mut("args").and_then(|a| a.get_mut("password")) {
            *pw = serde_json::Value::String("<redacted>".into());
        }
        write!(f, "Request({v})")
    }
}

impl Request {
    /// The command name, for logs (never the arguments: they may hold a password).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::List => "list",
            Request::Add { .. } => "add",
            Request::Progress { .. } => "progress",
            Request::Pause { .. } => "pause",
            Request::Resume { .. } => "resume",
            Request::Remove { .. } => "remove",
            Request::Peers { .. } => "peers",
            Request::Share { .. } => "share",
            Request::Subscribe { .. } => "subscribe",
            Request::Register { .. } => "register",
            Request::Login { .. } => "login",
            Request::Logout => "logout",
            Request::Whoami => "whoami",
            Request::GroupCreate { .. } => "group_create",
            Request::GroupList => "group_list",
            Request::GroupJoin { .. } => "group_join",
            Request::GroupLeave { .. } => "group_leave",
            Request::GroupRequests { .. } => "group_requests",
            Request::GroupAccept { .. } => "group_accept",
            Request::GroupReject { .. } => "group_reject",
            Request::GroupMembers { .. } => "group_members",
            Request::GroupRemove { .. } => "group_remove",
            Request::Files { .. } => "files",
            Request::Search { .. } => "search",
            Request::Events { .. } => "events",
        }
    }
}

/// One reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyFrame {
    /// The request's id (0 for errors about a line that had none).
    pub id: u64,
    /// The outcome.
    #[serde(flatten)]
    pub body: ReplyBody,
}

/// Success with a command-specific object, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    /// The command's result.
    Ok(serde_json::Value),
    /// Why it failed.
    Error(IpcError),
}

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
}

/// Tracker reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerState {
    /// `ok`, `unreachable`, `none` (no tracker configured) or `unknown`.
    pub state: String,
    /// Why, for people.
    pub reason: String,
}

/// A torrent in `list` and in replies about one torrent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    /// 40 hex digits.
    pub info_hash: String,
    /// The first 8 hex digits: enough to name it in commands.
    pub short_id: String,
    /// Torrent name.
    pub name: String,
    /// `checking`, `downloading`, `seeding`, `paused` or `error`.
    pub state: String,
    /// Error text when `state` is `error`.
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
}

/// Reply to `progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressInfo {
    /// 40 hex digits.
    pub info_hash: String,
    /// Torrent name.
    pub name: String,
    /// As in [`TorrentSummary::state`].
    pub state: String,
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

/// A connected peer.
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
        /// 40 hex digits.
        info_hash: String,
        /// Its name.
        name: String,
    },
    /// A torrent stopped on an error.
    Error {
        /// 40 hex digits.
        info_hash: String,
        /// Why.
        message: String,
    },
    /// A file from the watched folder is now shared.
    Shared {
        /// 40 hex digits.
        info_hash: String,
        /// Its path in the watched folder.
        path: String,
    },
    /// The session ended (logout, tracker shutdown).
    LoggedOut {
        /// Why.
        reason: String,
    },
}
