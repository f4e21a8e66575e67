//! The hello lines and the requests of the control protocol.

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
    /// Daemon version, uptime, login and tracker state, counts, rates ([`super::StatusInfo`]).
    Status,
    /// Every torrent (a list of [`super::TorrentSummary`]).
    List,
    /// Starts a download or seeds a torrent ([`super::Added`]).
    Add {
        /// A .torrent path (absolute), a magnet URI, an info-hash or a catalog name.
        source: String,
        /// Folder to download into instead of the daemon's downloads folder.
        #[serde(default)]
        to: Option<String>,
        /// Add without starting.
        #[serde(default)]
        paused: bool,
        /// Fetch only these files (by their `torrent_files` index, from 1);
        /// the others are skipped. None: every file, or a magnet link's
        /// own `so=` list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files: Option<super::FileSet>,
        /// Download in sequential (streaming) mode.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sequential: bool,
    },
    /// Resume progress of one torrent ([`super::ProgressInfo`]).
    Progress {
        /// Info-hash or a unique prefix of it, or a name.
        id: String,
    },
    /// Stops a torrent, keeping it in the list ([`super::TorrentSummary`]).
    Pause {
        /// Torrent id.
        id: String,
    },
    /// Starts a paused torrent ([`super::Added`]).
    Resume {
        /// Torrent id.
        id: String,
    },
    /// Forgets a torrent ([`super::TorrentSummary`] of what was removed).
    Remove {
        /// Torrent id.
        id: String,
        /// Also delete its downloaded files.
        #[serde(default)]
        delete_data: bool,
    },
    /// Connected peers of a torrent (a list of [`super::PeerSummary`]).
    Peers {
        /// Torrent id.
        id: String,
    },
    /// Copies a file or folder into the watched folder ([`super::ShareInfo`]).
    Share {
        /// Absolute path.
        path: String,
        /// Group subfolder; none for public.
        #[serde(default)]
        group: Option<String>,
    },
    /// Answers [`super::Subscribed`], then keeps the connection open and streams [`super::Event`]s.
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
    /// Creates a group owned by the logged-in user ([`crate::api::Group`]).
    GroupCreate {
        /// Group name.
        name: String,
    },
    /// Every group ([`crate::api::GroupList`]).
    GroupList,
    /// Asks to join a group.
    GroupJoin {
        /// Group name.
        name: String,
    },
    /// Leaves a group ([`crate::api::Left`]).
    GroupLeave {
        /// Group name.
        name: String,
    },
    /// Pending join requests of a group the user owns ([`crate::api::JoinRequests`]).
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
    /// Members of a group ([`crate::api::Members`]).
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
    /// A catalog ([`crate::api::CatalogList`]): a group's, or the public one.
    Files {
        /// Group name; none for the public catalog.
        #[serde(default)]
        group: Option<String>,
    },
    /// Catalog entries whose name contains a term ([`crate::api::CatalogList`]).
    Search {
        /// Text to look for (any case).
        term: String,
    },
    /// A page of the tracker's events ([`crate::api::EventPage`]).
    Events {
        /// Only events after this id.
        #[serde(default)]
        after: Option<u64>,
        /// At most this many (1 to 1000; the tracker's default is 100).
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Replaces the logged-in user's passkey on the tracker (the old one is
    /// refused at once) and restarts sharing with the new one
    /// ([`super::PasskeyRotatedInfo`]).
    PasskeyRotate,
    /// The daemon's run-time settings ([`super::RuntimeSettings`]).
    ConfigGet,
    /// Changes one run-time setting at once and keeps it across restarts
    /// (in the state folder, over the config file, which is never
    /// rewritten); answers the settings after the change
    /// ([`super::RuntimeSettings`]). A bad key or value changes nothing.
    ConfigSet {
        /// One of [`super::SettingKey::ALL`] by name.
        key: String,
        /// The value as typed, checked by [`super::RuntimeSettings::set`].
        value: String,
    },
    /// Sets one torrent's own rate limits, under the global ones, kept in
    /// its registry entry ([`super::TorrentSummary`] after the change).
    TorrentLimits {
        /// Torrent id.
        id: String,
        /// Bytes per second; none: only the global limit applies.
        #[serde(default)]
        download_rate_limit: Option<u64>,
        /// Bytes per second; none: only the global limit applies.
        #[serde(default)]
        upload_rate_limit: Option<u64>,
    },
    /// The files of a torrent with their size, progress and priority
    /// ([`super::TorrentFiles`]).
    TorrentFiles {
        /// Torrent id.
        id: String,
    },
    /// Changes the priority of some files of a running torrent at once,
    /// kept in its resume record ([`super::TorrentFiles`] after the change).
    FilePriority {
        /// Torrent id.
        id: String,
        /// The files, by their `torrent_files` index (from 1).
        files: super::FileSet,
        /// The new priority.
        priority: super::FilePriority,
    },
    /// Turns a download's sequential (streaming) mode on or off: pieces in
    /// order, the first and last of media files first; kept with the
    /// download ([`super::TorrentSummary`] after the change).
    Sequential {
        /// Torrent id.
        id: String,
        /// On or off.
        on: bool,
    },
    /// Moves a download in the queue, which decides the order downloads
    /// and seeds start in ([`super::TorrentSummary`] after the move).
    Queue {
        /// Torrent id.
        id: String,
        /// Where to.
        to: super::QueueMove,
    },
    /// Sets a download's own seed goals, kept in its registry entry
    /// ([`super::SeedGoalInfo`]); a goal not given stays as it was.
    SeedGoal {
        /// Torrent id.
        id: String,
        /// A ratio (e.g. `2.0`), `unlimited`, or `global`.
        #[serde(default)]
        ratio: Option<String>,
        /// A seeding time (e.g. `3h`), `unlimited`, or `global`.
        #[serde(default)]
        time: Option<String>,
    },
    /// Moves a download's data to another folder and goes on from there
    /// without hashing it again ([`super::TorrentSummary`] after the move).
    /// A failed move leaves every file where it was.
    Move {
        /// Torrent id.
        id: String,
        /// The new download folder (absolute; judged like `add`'s `to`).
        to: String,
    },
    /// Hashes every piece of a download again now, drops the bad ones from
    /// what it has so they are downloaded again ([`super::Verified`]).
    Verify {
        /// Torrent id.
        id: String,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Register { user, .. } => {
                write!(f, "Register {{ user: {user:?}, password: <redacted> }}")
            }
            Request::Login { user, force, .. } => write!(
                f,
                "Login {{ user: {user:?}, password: <redacted>, force: {force} }}"
            ),
            other => match serde_json::to_string(other) {
                Ok(json) => write!(f, "Request({json})"),
                Err(_) => write!(f, "Request({})", other.name()),
            },
        }
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
            Request::PasskeyRotate => "passkey_rotate",
            Request::ConfigGet => "config_get",
            Request::ConfigSet { .. } => "config_set",
            Request::TorrentLimits { .. } => "torrent_limits",
            Request::TorrentFiles { .. } => "torrent_files",
            Request::FilePriority { .. } => "file_priority",
            Request::Queue { .. } => "queue",
            Request::Sequential { .. } => "sequential",
            Request::SeedGoal { .. } => "seed_goal",
            Request::Move { .. } => "move",
            Request::Verify { .. } => "verify",
        }
    }
}
