//! p2pd's typed configuration: defaults < TOML file < environment < flags,
//! unknown keys rejected, every field documented, and the commented default
//! file that `--print-config` prints. Resolves the folders it names.
//!
//! Holds no engine default of its own: unset engine keys take
//! [`EngineConfig::default`]'s values, and [`Settings::engine_config`] turns
//! the resolved settings back into an [`EngineConfig`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use p2p_proto::ipc::{Ratio, Schedule, parse_schedule, parse_seed_time};
use serde::Deserialize;

use crate::dht::DhtConfig;
use crate::engine::{Encryption, EngineConfig, UtpMode};

/// The file in the state folder that keeps the DHT's known nodes.
pub const DHT_NODES_FILE: &str = "dht-nodes.txt";

/// The configuration file, every field optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// One folder for everything (shared/, torrents/, downloads/, state/, the socket).
    pub home: Option<PathBuf>,
    /// Watched folder: what is placed here is shared.
    pub shared_dir: Option<PathBuf>,
    /// Where created .torrent files are kept.
    pub torrents_dir: Option<PathBuf>,
    /// Where downloads go (their progress in `.progress/` inside).
    pub downloads_dir: Option<PathBuf>,
    /// Daemon state: the list of downloads, the hash cache.
    pub state_dir: Option<PathBuf>,
    /// Control socket path; on Windows a named pipe (`\\.\pipe\NAME`).
    pub socket: Option<PathBuf>,
    /// Let the daemon's group use the control socket (mode 0660, not 0600).
    /// Default: on for the system service.
    pub socket_group_access: Option<bool>,
    /// Peer port; 0 picks a free one.
    pub listen_port: Option<u16>,
    /// Tracker announce URL put in shared torrents.
    pub tracker: Option<String>,
    /// Announce URLs of the other instances of `tracker`'s deployment
    /// (trackerd instances sharing one PostgreSQL), in the order they are
    /// tried when `tracker` does not answer or shuts down.
    pub tracker_instances: Option<Vec<String>>,
    /// Put `tracker_instances` in the announce list of torrents made from
    /// the watched folder (one BEP 12 tier with `tracker`).
    pub list_tracker_instances: Option<bool>,
    /// PEM file of extra root certificates trusted for https:// trackers
    /// (a tracker whose certificate comes from a private CA).
    pub tracker_ca_file: Option<PathBuf>,
    /// Most peer connections per torrent.
    pub max_peers_per_torrent: Option<usize>,
    /// Most peer connections in all.
    pub max_peers_total: Option<usize>,
    /// Upload slots per torrent.
    pub upload_slots: Option<usize>,
    /// Download limit, bytes per second (absent: unlimited).
    pub download_rate_limit: Option<u64>,
    /// Upload limit, bytes per second (absent: unlimited).
    pub upload_rate_limit: Option<u64>,
    /// Download limit while the alternative speed is on, bytes per second
    /// (absent: unlimited).
    pub alt_download_rate_limit: Option<u64>,
    /// Upload limit while the alternative speed is on, bytes per second
    /// (absent: unlimited).
    pub alt_upload_rate_limit: Option<u64>,
    /// Daily local-time window `HH:MM-HH:MM` in which the alternative speed
    /// is on by itself (absent or `off`: no schedule).
    pub alt_speed_schedule: Option<String>,
    /// Write downloaded pieces with direct I/O where the file system allows.
    pub direct_writes: Option<bool>,
    /// Message Stream Encryption with peers: `prefer`, `require` or `disable`.
    pub encryption: Option<Encryption>,
    /// uTP with peers: `on`, `prefer` or `off`.
    pub utp: Option<UtpMode>,
    /// Folders any socket client may share from and download into, whatever
    /// its own rights (other clients than the daemon's user are otherwise
    /// held to what they could read and write themselves).
    pub client_folders: Option<Vec<PathBuf>>,
    /// Hold every socket client, the daemon's own user included, to
    /// `client_folders` for `share`, `add --to` and .torrent paths.
    pub only_client_folders: Option<bool>,
    /// Most data files kept open at once, for all torrents (lowered to a
    /// quarter of the descriptor limit when that is smaller).
    pub max_open_files: Option<usize>,
    /// Local Service Discovery (BEP 14): find peers of public torrents on
    /// the LAN by multicast, without a tracker.
    pub lsd: Option<bool>,
    /// Find peers of public torrents through the DHT (BEP 5); private
    /// torrents never use it.
    pub dht: Option<bool>,
    /// UDP port of the DHT node (absent: `listen_port` + 1 while uTP holds
    /// `listen_port`'s UDP port, else `listen_port`'s number; 0 any free
    /// port).
    pub dht_port: Option<u16>,
    /// Nodes (`host:port`) to join the DHT through (absent: the public
    /// routers; empty: start a DHT of our own).
    pub dht_bootstrap: Option<Vec<String>>,
    /// Answer other DHT nodes from the start, not only once reachable from
    /// outside (a private network of nodes needs it).
    pub dht_server_mode: Option<bool>,
    /// Log file for `--daemon`.
    pub log_file: Option<PathBuf>,
    /// Pid file for `--daemon`.
    pub pid_file: Option<PathBuf>,
    /// Start downloads from the .torrent files and magnet links dropped
    /// into `watch_dir`.
    pub watch: Option<bool>,
    /// The .torrent watch folder (default: `watch/` in the home).
    pub watch_dir: Option<PathBuf>,
    /// A program and its arguments, run (never through a shell) when a
    /// download completes, with `P2P_TORRENT_NAME`, `P2P_TORRENT_PATH` and
    /// `P2P_INFO_HASH` in its environment.
    pub on_complete: Option<Vec<String>>,
    /// Seconds `on_complete` may run before it is killed.
    pub on_complete_timeout: Option<u64>,
    /// Downloads running at once, the others queued (0: unlimited).
    pub max_active_downloads: Option<u32>,
    /// Complete downloads seeding at once, the others queued (0: unlimited).
    pub max_active_seeds: Option<u32>,
    /// Seconds without payload after which an active download is stalled
    /// and no longer holds a queue slot.
    pub stalled_download_secs: Option<u64>,
    /// Share ratio (uploaded / size) at which seeding stops (absent: none).
    pub seed_ratio_limit: Option<Ratio>,
    /// Seeding time after which seeding stops, e.g. `3h` (absent: none).
    pub seed_time_limit: Option<String>,
    /// What a reached seed goal does: `stop` or `remove`.
    pub seed_goal_action: Option<SeedGoalAction>,
    /// Seed goals stop the watched folder's items too.
    pub seed_goals_apply_to_shared: Option<bool>,
}

/// Seconds an `on_complete` program may run when none is configured.
pub const DEFAULT_ON_COMPLETE_TIMEOUT_SECS: u64 = 600;
/// Longest `on_complete_timeout` accepted: a day.
const MAX_ON_COMPLETE_TIMEOUT_SECS: u64 = 86_400;

/// What a reached seed goal does to a download.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedGoalAction {
    /// Stop it, keeping it in the list as finished.
    #[default]
    Stop,
    /// Forget it (its files stay).
    Remove,
}

/// Downloads running at once unless configured.
pub const DEFAULT_MAX_ACTIVE_DOWNLOADS: u32 = 5;
/// Seconds without payload before a download stops holding a queue slot.
pub const DEFAULT_STALLED_DOWNLOAD_SECS: u64 = 300;

/// The tracker announce URL written into shared torrents when none is set.
pub const DEFAULT_TRACKER: &str = "http://127.0.0.1:6969/announce";

/// The commented default file `--print-config` prints. The engine's values
/// come from [`EngineConfig::default`], so the file cannot drift from it.
pub fn default_config_toml() -> String {
    let engine = EngineConfig::default();
    let rate = |key: &str, value: Option<u64>, example: u64| match value {
        Some(n) => format!("{key} = {n}"),
        None => format!("# {key} = {example}"),
    };
    format!(
        r#"# p2pd configuration. Every key is optional; the values shown are the defaults.
# Precedence: built-in defaults < this file < environment (P2PD_HOME, P2PD_SOCKET,
# P2PD_TRACKER, P2PD_TRACKER_CA_FILE) < command-line flags.

# One folder for everything: shared/, torrents/, downloads/, state/ and p2pd.sock.
# Unset: XDG folders ($XDG_DATA_HOME/p2p/...; the socket in $XDG_RUNTIME_DIR/p2pd/),
# or /var/lib/p2pd and /run/p2pd/p2pd.sock under systemd.
# home = "/srv/p2p"

# Each folder on its own (they default to folders under home).
# shared_dir = "~/.local/share/p2p/shared"     # watched: what lands here is shared
# torrents_dir = "~/.local/share/p2p/torrents" # .torrent files of shared items
# downloads_dir = "~/.local/share/p2p/downloads"
# state_dir = "~/.local/share/p2p/state"
# socket = "/run/user/1000/p2pd/p2pd.sock"
# On Windows the socket is a named pipe (default \\.\pipe\p2pd-<user>, or
# \\.\pipe\p2pd for the service) and the folders default to %LOCALAPPDATA%\p2p:
# socket = '\\.\pipe\p2pd-me'

# Let the members of p2pd's group use the control socket (mode 0660, not 0600).
# Default: on for the system service (systemd/p2pd.service passes
# --socket-group-access), off otherwise.
# socket_group_access = false

# Peer port; 0 picks a free port.
listen_port = {listen_port}

# Tracker announce URL written into torrents made from the watched folder.
tracker = "{DEFAULT_TRACKER}"

# Other instances of the same tracker (trackerd instances sharing one PostgreSQL),
# as announce URLs, in the order they are tried. When `tracker` stops answering,
# or says it is shutting down, the session moves to the next instance instead
# of ending; announces fail over within the tier. Torrents made from the watched
# folder list them all in one announce tier with `tracker` (BEP 12) unless
# list_tracker_instances is false.
# tracker_instances = ["http://tracker-b.example:6969/announce"]
list_tracker_instances = true

# Extra root certificates (PEM, one or more) trusted for https:// trackers, on
# top of the system's: for a tracker whose certificate comes from a private CA.
# tracker_ca_file = "/etc/p2pd/tracker-ca.pem"

# Connection limits and upload slots (plus one optimistic unchoke).
max_peers_per_torrent = {max_peers_per_torrent}
max_peers_total = {max_peers_total}
upload_slots = {upload_slots}

# Rate limits in bytes per second; absent means unlimited.
{download_rate_limit}
{upload_rate_limit}

# The alternative speed: a second pair of limits, switched on with
# `p2pctl config set alt_speed on` or by itself inside a daily local-time
# window (it may cross midnight). Absent limits mean unlimited.
# alt_download_rate_limit = 1000000
# alt_upload_rate_limit = 500000
# alt_speed_schedule = "22:00-07:00"
#
# `p2pctl config set KEY VALUE` changes the keys above (limits, connection
# caps, upload slots, tracker, alternative speed) while p2pd runs; changes are
# kept in state_dir/settings.json, over this file, which p2pd never rewrites.

# Write verified pieces straight to the disk (O_DIRECT, Linux), not through the
# page cache: far less CPU at high rates; uploading them later reads the disk.
# Falls back to plain writes by itself where the file system refuses.
direct_writes = {direct_writes}

# Message Stream Encryption (MSE/PE, the obfuscated handshake of libtorrent,
# Transmission, qBittorrent and Vuze) with peers:
#   "prefer"  obfuscated handshakes, dialled and accepted, falling back to a
#             plain handshake when the peer hangs up; the data after it is
#             plaintext unless the peer insists on RC4 (libtorrent's default:
#             RC4 costs a core per ~650 MB/s)
#   "require" RC4 only, both ways; plaintext peers are refused
#   "disable" plaintext only; encrypted handshakes are refused
encryption = "{encryption}"

# uTP (BEP 29, the UDP transport of libtorrent, Transmission and qBittorrent),
# on the UDP port with the number of listen_port:
#   "on"      accept uTP; dial TCP first, uTP when TCP cannot connect or the
#             peer is known to speak uTP (the kernel's TCP still moves more
#             bytes per core than uTP in user space)
#   "prefer"  dial uTP first, TCP when it cannot connect (libtorrent's order)
#   "off"     TCP only
utp = "{utp}"

# Paths named by socket clients (p2pctl share, download --to, a .torrent file)
# are read and written with p2pd's rights. A client running as another user
# (a member of the socket's group, for the system service) may only name what
# it could read (share) or write (--to) itself, or anything under these folders.
# client_folders = ["/srv/p2p/incoming"]
# Hold every client, p2pd's own user included, to client_folders.
only_client_folders = false
# Most data files kept open at once, for all torrents; others are opened when
# needed. Lowered by itself to a quarter of the descriptor limit (ulimit -n).
max_open_files = {max_open_files}

# Local Service Discovery (BEP 14): announce public torrents on the LAN by
# multicast (239.192.152.143 and [ff15::efc0:988f], UDP port 6771) every five
# minutes, and connect to the peers that announce theirs, without a tracker.
# Private torrents, group torrents among them, never take part.
lsd = {lsd}
# The DHT (BEP 5): finds peers of public torrents and magnet links without a
# tracker. Private torrents (group torrents among them) never touch it. IPv4
# and IPv6 (BEP 32) on the same port number.
dht = true
# UDP port of the DHT node; absent: listen_port + 1 (uTP holds the UDP port of
# listen_port's number; with utp = "off", that number).
# dht_port = 6882
# Nodes to join the DHT through (host:port); absent: these public routers.
# An empty list starts a DHT of our own. Nodes seen in the last run are kept
# in state_dir/dht-nodes.txt and tried as well.
# dht_bootstrap = [{bootstrap}]
# Take part as a full node: other nodes put us in their routing tables and
# query us. Off, our queries say read-only (BEP 43): nodes still answer us
# but never route through us; for a node others cannot reach (behind a NAT
# with no port forwarded). We answer the queries that reach us either way.
dht_server_mode = true

# The .torrent watch folder: a .torrent file, or a text file ending in .magnet
# that holds a magnet link, dropped here starts a download into downloads_dir,
# as `p2pctl download` would, once the file has been left alone for a few
# seconds (a file still open for writing waits). The file is then renamed
# NAME.added, or NAME.invalid with the reason in the log and in `p2pctl status`.
watch = true
# watch_dir = "~/.local/share/p2p/watch"

# A program run when a download completes, as a list: the program, then its
# arguments. It is never run through a shell. Its environment holds
# P2P_TORRENT_NAME, P2P_TORRENT_PATH (the data's full path) and P2P_INFO_HASH
# (40 hex digits); its exit status and the first line of its stderr are logged.
# At most 4 run at once; one still running after on_complete_timeout seconds
# is killed (with what it started).
# on_complete = ["/usr/local/bin/p2p-done", "--notify"]
on_complete_timeout = {on_complete_timeout}
# The queue: at most this many downloads run at once; the others wait in order
# (`p2pctl queue ID top|up|down|bottom`), their state `queued`. 0 is unlimited.
# A download that received nothing for stalled_download_secs stops holding a
# slot (it keeps running) and the next one starts. Complete downloads seed
# without a limit unless max_active_seeds is set (Transmission's defaults: a
# download queue of 5, no seed queue); the watched folder's items are never
# queued. max_active_downloads and max_active_seeds are run-time settings
# (`p2pctl config set`).
max_active_downloads = {max_active_downloads}
max_active_seeds = 0
stalled_download_secs = {stalled_download_secs}

# Seed goals: a torrent stops seeding once it has uploaded seed_ratio_limit
# times its size, or seeded for seed_time_limit (e.g. "90m", "3h", "2d"),
# whichever comes first; then seed_goal_action "stop" keeps it in the list as
# finished, "remove" forgets it (its files stay). Absent: seed forever. Run-time
# settings; `p2pctl seed-goal ID --ratio R --time T` sets a torrent's own.
# The watched folder's items keep seeding unless seed_goals_apply_to_shared.
# seed_ratio_limit = 2.0
# seed_time_limit = "3d"
seed_goal_action = "stop"
seed_goals_apply_to_shared = false

# For --daemon: where logs and the pid go (default: under state_dir).
# log_file = "~/.local/share/p2p/state/p2pd.log"
# pid_file = "~/.local/share/p2p/state/p2pd.pid"
"#,
        listen_port = engine.listen.port(),
        max_active_downloads = DEFAULT_MAX_ACTIVE_DOWNLOADS,
        stalled_download_secs = DEFAULT_STALLED_DOWNLOAD_SECS,
        max_peers_per_torrent = engine.max_peers_per_torrent,
        max_peers_total = engine.max_peers_total,
        upload_slots = engine.upload_slots,
        download_rate_limit = rate(
            "download_rate_limit",
            engine.download_rate_limit,
            10_000_000
        ),
        upload_rate_limit = rate("upload_rate_limit", engine.upload_rate_limit, 5_000_000),
        direct_writes = engine.direct_writes,
        encryption = engine.encryption.as_str(),
        utp = engine.utp.as_str(),
        max_open_files = engine.max_open_files,
        lsd = engine.lsd,
        on_complete_timeout = DEFAULT_ON_COMPLETE_TIMEOUT_SECS,
        bootstrap = crate::dht::default_bootstrap()
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Everything resolved to real values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub shared_dir: PathBuf,
    pub torrents_dir: PathBuf,
    pub downloads_dir: PathBuf,
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    pub listen_port: u16,
    pub tracker: Option<String>,
    /// The other instances of the tracker's deployment (announce URLs).
    pub tracker_instances: Vec<String>,
    /// Torrents made here list `tracker_instances` beside `tracker`.
    pub list_tracker_instances: bool,
    /// Extra PEM root certificates for https:// trackers.
    pub tracker_ca_file: Option<PathBuf>,
    pub max_peers_per_torrent: usize,
    pub max_peers_total: usize,
    pub upload_slots: usize,
    pub download_rate_limit: Option<u64>,
    pub upload_rate_limit: Option<u64>,
    pub alt_download_rate_limit: Option<u64>,
    pub alt_upload_rate_limit: Option<u64>,
    /// The alternative speed's daily window, if any.
    pub alt_speed_schedule: Option<Schedule>,
    pub direct_writes: bool,
    pub encryption: Encryption,
    pub utp: UtpMode,
    /// Folders any socket client may name paths in.
    pub client_folders: Vec<PathBuf>,
    /// Every client is held to `client_folders`.
    pub only_client_folders: bool,
    pub max_open_files: usize,
    /// Local Service Discovery on.
    pub lsd: bool,
    /// The DHT node, when on (its nodes file in `state_dir`).
    pub dht: Option<DhtConfig>,
    pub log_file: PathBuf,
    pub pid_file: PathBuf,
    /// Running as the system service (root under systemd): system paths.
    pub system: bool,
    /// The socket is also open to the daemon's group (mode 0660), so its
    /// members can use p2pctl.
    pub socket_group_access: bool,
    /// The .torrent watch folder, when it is on.
    pub watch_dir: Option<PathBuf>,
    /// The program and arguments run when a download completes (empty: none).
    pub on_complete: Vec<String>,
    /// How long `on_complete` may run before it is killed.
    pub on_complete_timeout: std::time::Duration,
    /// Downloads running at once (0: unlimited).
    pub max_active_downloads: u32,
    /// Complete downloads seeding at once (0: unlimited).
    pub max_active_seeds: u32,
    /// Seconds without payload before a download is stalled.
    pub stalled_download_secs: u64,
    /// Ratio at which seeding stops.
    pub seed_ratio_limit: Option<Ratio>,
    /// Seconds of seeding after which it stops.
    pub seed_time_limit: Option<u64>,
    /// What a reached seed goal does.
    pub seed_goal_action: SeedGoalAction,
    /// Seed goals apply to the watched folder's items.
    pub seed_goals_apply_to_shared: bool,
}

impl Settings {
    /// The engine's configuration: these settings over
    /// [`EngineConfig::default`], announcing through `http` when given.
    pub fn engine_config(&self, http: Option<reqwest::Client>) -> EngineConfig {
        let defaults = EngineConfig::default();
        EngineConfig {
            listen: SocketAddr::new(defaults.listen.ip(), self.listen_port),
            max_peers_per_torrent: self.max_peers_per_torrent,
            max_peers_total: self.max_peers_total,
            upload_slots: self.upload_slots,
            download_rate_limit: self.download_rate_limit,
            upload_rate_limit: self.upload_rate_limit,
            direct_writes: self.direct_writes,
            encryption: self.encryption,
            utp: self.utp,
            max_open_files: self.max_open_files,
            lsd: self.lsd,
            http,
            dht: self.dht.clone(),
            ..defaults
        }
    }
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Cannot read the file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Bad TOML or an unknown key.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml said (names the key).
        message: String,
    },
    /// No home folder to put things in.
    #[error(
        "cannot find a home folder: set HOME, XDG_DATA_HOME (LOCALAPPDATA on Windows) or --home"
    )]
    NoHome,
    /// A value the key cannot take.
    #[error("{key}: {value:?} is not {expected}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// The value (cut short).
        value: String,
        /// What it takes.
        expected: &'static str,
    },
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
    }

    /// Fills what is unset from the environment (`P2PD_HOME`, `P2PD_SOCKET`,
    /// `P2PD_TRACKER`, `P2PD_TRACKER_CA_FILE`).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        if let Some(h) = env("P2PD_HOME") {
            self.home = Some(h.into());
        }
        if let Some(s) = env("P2PD_SOCKET") {
            self.socket = Some(s.into());
        }
        if let Some(t) = env("P2PD_TRACKER") {
            self.tracker = Some(t);
        }
        if let Some(f) = env("P2PD_TRACKER_CA_FILE") {
            self.tracker_ca_file = Some(f.into());
        }
    }

    /// Resolves every path and default. `system` is true under systemd as root.
    pub fn resolve(
        &self,
        system: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let base = match &self.home {
            Some(h) => h.clone(),
            None => default_home(system, &env).ok_or(ConfigError::NoHome)?,
        };
        let socket = match (&self.socket, &self.home) {
            (Some(s), _) => s.clone(),
            // On Windows the socket is a named pipe, never a file in the home.
            (None, Some(h)) if !cfg!(windows) => h.join("p2pd.sock"),
            (None, _) => p2p_proto::ipc::default_socket_path(system, &env),
        };
        let state_dir = self.state_dir.clone().unwrap_or_else(|| base.join("state"));
        let engine = EngineConfig::default();
        let alt_speed_schedule = match self.alt_speed_schedule.as_deref() {
            None => None,
            Some(text) => parse_schedule(text).ok_or_else(|| ConfigError::BadValue {
                key: "alt_speed_schedule",
                value: text.chars().take(80).collect(),
                expected: "a daily window `HH:MM-HH:MM` in local time (e.g. 22:00-07:00) or `off`",
            })?,
        };
        let on_complete = self.on_complete.clone().unwrap_or_default();
        if on_complete.first().is_some_and(String::is_empty) {
            return Err(ConfigError::BadValue {
                key: "on_complete",
                value: String::new(),
                expected: "a program (then its arguments)",
            });
        }
        let on_complete_timeout = self
            .on_complete_timeout
            .unwrap_or(DEFAULT_ON_COMPLETE_TIMEOUT_SECS);
        if !(1..=MAX_ON_COMPLETE_TIMEOUT_SECS).contains(&on_complete_timeout) {
            return Err(ConfigError::BadValue {
                key: "on_complete_timeout",
                value: on_complete_timeout.to_string(),
                expected: "a number of seconds from 1 to 86400",
            });
        }
        let seed_time_limit = match self.seed_time_limit.as_deref() {
            None => None,
            Some(text) => parse_seed_time(text).ok_or_else(|| ConfigError::BadValue {
                key: "seed_time_limit",
                value: text.chars().take(80).collect(),
                expected: "a time such as 90m, 3h, 2d or 1h30m (at most ten years) or `unlimited`",
            })?,
        };
        let tracker_instances = self.tracker_instances.clone().unwrap_or_default();
        if let Some(bad) = tracker_instances.iter().find(|u| !is_tracker_url(u)) {
            return Err(ConfigError::BadValue {
                key: "tracker_instances",
                value: bad.chars().take(80).collect(),
                expected: "an http:// or https:// announce URL",
            });
        }
        let shared_dir = self
            .shared_dir
            .clone()
            .unwrap_or_else(|| base.join("shared"));
        let torrents_dir = self
            .torrents_dir
            .clone()
            .unwrap_or_else(|| base.join("torrents"));
        let downloads_dir = self
            .downloads_dir
            .clone()
            .unwrap_or_else(|| base.join("downloads"));
        let watch_dir = self
            .watch
            .unwrap_or(true)
            .then(|| self.watch_dir.clone().unwrap_or_else(|| base.join("watch")));
        // The .torrent files made of shared items, or a downloaded one, must
        // never be taken for dropped files.
        if let Some(w) = &watch_dir
            && (w.starts_with(&shared_dir)
                || [&torrents_dir, &downloads_dir, &state_dir].contains(&w))
        {
            return Err(ConfigError::BadValue {
                key: "watch_dir",
                value: w.display().to_string().chars().take(80).collect(),
                expected: "a folder of its own (not shared_dir or inside it, nor torrents_dir, downloads_dir or state_dir)",
            });
        }
        Ok(Settings {
            shared_dir,
            torrents_dir,
            downloads_dir,
            socket,
            listen_port: self.listen_port.unwrap_or(engine.listen.port()),
            tracker: match &self.tracker {
                Some(t) if t.is_empty() => None,
                Some(t) => Some(t.clone()),
                None => Some(DEFAULT_TRACKER.into()),
            },
            tracker_instances,
            list_tracker_instances: self.list_tracker_instances.unwrap_or(true),
            tracker_ca_file: self
                .tracker_ca_file
                .clone()
                .filter(|f| !f.as_os_str().is_empty()),
            max_peers_per_torrent: self
                .max_peers_per_torrent
                .unwrap_or(engine.max_peers_per_torrent),
            max_peers_total: self.max_peers_total.unwrap_or(engine.max_peers_total),
            upload_slots: self.upload_slots.unwrap_or(engine.upload_slots),
            download_rate_limit: self.download_rate_limit.or(engine.download_rate_limit),
            upload_rate_limit: self.upload_rate_limit.or(engine.upload_rate_limit),
            alt_download_rate_limit: self.alt_download_rate_limit,
            alt_upload_rate_limit: self.alt_upload_rate_limit,
            alt_speed_schedule,
            direct_writes: self.direct_writes.unwrap_or(engine.direct_writes),
            encryption: self.encryption.unwrap_or(engine.encryption),
            utp: self.utp.unwrap_or(engine.utp),
            client_folders: self.client_folders.clone().unwrap_or_default(),
            only_client_folders: self.only_client_folders.unwrap_or(false),
            max_open_files: self.max_open_files.unwrap_or(engine.max_open_files),
            lsd: self.lsd.unwrap_or(engine.lsd),
            dht: self.dht.unwrap_or(true).then(|| DhtConfig {
                port: self.dht_port,
                bootstrap: self.dht_bootstrap.clone(),
                server_mode: self.dht_server_mode.unwrap_or(true),
                nodes_file: Some(state_dir.join(DHT_NODES_FILE)),
            }),
            log_file: self
                .log_file
                .clone()
                .unwrap_or_else(|| state_dir.join("p2pd.log")),
            pid_file: self
                .pid_file
                .clone()
                .unwrap_or_else(|| state_dir.join("p2pd.pid")),
            state_dir,
            system,
            socket_group_access: self.socket_group_access.unwrap_or(system),
            watch_dir,
            on_complete,
            on_complete_timeout: std::time::Duration::from_secs(on_complete_timeout),
            max_active_downloads: self
                .max_active_downloads
                .unwrap_or(DEFAULT_MAX_ACTIVE_DOWNLOADS),
            max_active_seeds: self.max_active_seeds.unwrap_or(0),
            stalled_download_secs: self
                .stalled_download_secs
                .unwrap_or(DEFAULT_STALLED_DOWNLOAD_SECS),
            seed_ratio_limit: self.seed_ratio_limit,
            seed_time_limit,
            seed_goal_action: self.seed_goal_action.unwrap_or_default(),
            seed_goals_apply_to_shared: self.seed_goals_apply_to_shared.unwrap_or(false),
        })
    }
}

/// The folder of everything when no home is given: on Unix
/// `/var/lib/p2pd` for the system service, else `$XDG_DATA_HOME/p2p` or
/// `~/.local/share/p2p`; on Windows `%ProgramData%\p2pd` for the service,
/// else `%LOCALAPPDATA%\p2p`.
fn default_home(system: bool, env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|d| !d.is_empty()).map(PathBuf::from);
    match (cfg!(windows), system) {
        (true, true) => var("ProgramData").map(|d| d.join("p2pd")),
        (true, false) => var("LOCALAPPDATA").map(|d| d.join("p2p")),
        (false, true) => Some(PathBuf::from("/var/lib/p2pd")),
        (false, false) => var("XDG_DATA_HOME")
            .map(|d| d.join("p2p"))
            .or_else(|| var("HOME").map(|h| h.join(".local/share/p2p"))),
    }
}

/// An `http://` or `https://` URL with a host.
fn is_tracker_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_env(k: &str) -> Option<String> {
        (k == "HOME").then(|| "/home/u".to_string())
    }

    #[test]
    fn the_printed_defaults_parse_back_to_the_built_in_defaults() {
        let parsed = Config::from_toml(&default_config_toml()).unwrap();
        assert_eq!(
            parsed.resolve(false, home_env).unwrap(),
            Config::default().resolve(false, home_env).unwrap()
        );
    }

    #[test]
    fn the_default_and_printed_configs_resolve_to_exactly_the_engine_defaults() {
        // `EngineConfig` holds a `reqwest::Client` and so has no `PartialEq`;
        // its `Debug` shows every field, so a new field is compared too.
        // The DHT is the one key the daemon turns on over the engine's
        // default (an embedded engine runs none): with DhtConfig's defaults.
        let dht = DhtConfig {
            nodes_file: Some(PathBuf::from("/home/u/.local/share/p2p/state").join(DHT_NODES_FILE)),
            ..DhtConfig::default()
        };
        let engine = format!(
            "{:?}",
            EngineConfig {
                dht: Some(dht),
                ..EngineConfig::default()
            }
        );
        for config in [
            Config::default(),
            Config::from_toml(&default_config_toml()).unwrap(),
        ] {
            let settings = config.resolve(false, home_env).unwrap();
            assert_eq!(format!("{:?}", settings.engine_config(None)), engine);
        }
    }

    #[test]
    fn configured_values_reach_the_engine_and_the_rest_stay_default() {
        let c = Config::from_toml(
            "listen_port = 7000\nmax_peers_total = 9\nupload_rate_limit = 5\ndirect_writes = false\nlsd = false",
        )
        .unwrap();
        let e = c.resolve(false, home_env).unwrap().engine_config(None);
        let d = EngineConfig::default();
        assert_eq!(e.listen, SocketAddr::new(d.listen.ip(), 7000));
        assert_eq!(e.max_peers_total, 9);
        assert_eq!(e.upload_rate_limit, Some(5));
        assert!(!e.direct_writes);
        assert!(!e.lsd);
        assert_eq!(e.max_peers_per_torrent, d.max_peers_per_torrent);
        assert_eq!(e.resume_interval, d.resume_interval);
    }

    #[test]
    fn the_alternative_speed_keys_resolve_and_a_bad_window_is_refused() {
        let c = Config::from_toml(
            "alt_download_rate_limit = 1000\nalt_speed_schedule = \"22:00-07:00\"",
        )
        .unwrap();
        let s = c.resolve(false, home_env).unwrap();
        assert_eq!(s.alt_download_rate_limit, Some(1000));
        assert_eq!(s.alt_upload_rate_limit, None);
        assert_eq!(
            s.alt_speed_schedule,
            Some(Schedule {
                from_minute: 22 * 60,
                to_minute: 7 * 60
            })
        );
        let bad = Config::from_toml("alt_speed_schedule = \"25:00-01:00\"").unwrap();
        let e = bad.resolve(false, home_env).unwrap_err().to_string();
        assert!(
            e.starts_with("alt_speed_schedule: \"25:00-01:00\" is not a daily window"),
            "{e}"
        );
    }

    #[test]
    fn tracker_instances_resolve_in_order_and_a_url_that_is_not_http_is_refused() {
        let c = Config::from_toml(
            "tracker_instances = [\"http://b:6969/announce\", \"https://c/announce\"]",
        )
        .unwrap();
        let s = c.resolve(false, home_env).unwrap();
        assert_eq!(
            s.tracker_instances,
            ["http://b:6969/announce", "https://c/announce"]
        );
        assert!(s.list_tracker_instances);
        let c = Config::from_toml("tracker_instances = [\"udp://b:6969\"]").unwrap();
        assert_eq!(
            c.resolve(false, home_env).unwrap_err().to_string(),
            "tracker_instances: \"udp://b:6969\" is not an http:// or https:// announce URL"
        );
        let c = Config::from_toml("list_tracker_instances = false").unwrap();
        assert!(!c.resolve(false, home_env).unwrap().list_tracker_instances);
    }

    #[test]
    fn the_dht_keys_reach_the_engine_and_dht_false_turns_it_off() {
        let c = Config::from_toml(
            "dht_port = 7001\ndht_bootstrap = [\"127.0.0.1:7002\"]\ndht_server_mode = false",
        )
        .unwrap();
        let dht = c
            .resolve(false, home_env)
            .unwrap()
            .engine_config(None)
            .dht
            .unwrap();
        assert_eq!(dht.port, Some(7001));
        assert_eq!(dht.bootstrap, Some(vec!["127.0.0.1:7002".to_owned()]));
        assert!(!dht.server_mode);
        let off = Config::from_toml("dht = false").unwrap();
        assert!(
            off.resolve(false, home_env)
                .unwrap()
                .engine_config(None)
                .dht
                .is_none()
        );
    }

    #[test]
    fn the_watch_folder_is_on_in_the_home_by_default_and_watch_false_turns_it_off() {
        let s = Config::default().resolve(false, home_env).unwrap();
        assert_eq!(
            s.watch_dir,
            Some(PathBuf::from("/home/u/.local/share/p2p/watch"))
        );
        let c = Config::from_toml("watch_dir = \"/srv/in\"").unwrap();
        assert_eq!(
            c.resolve(false, home_env).unwrap().watch_dir,
            Some(PathBuf::from("/srv/in"))
        );
        let off = Config::from_toml("watch = false\nwatch_dir = \"/srv/in\"").unwrap();
        assert_eq!(off.resolve(false, home_env).unwrap().watch_dir, None);
        for clash in [
            "home = \"/h\"\nwatch_dir = \"/h/shared/in\"",
            "home = \"/h\"\nwatch_dir = \"/h/torrents\"",
            "home = \"/h\"\nwatch_dir = \"/h/downloads\"",
        ] {
            let e = Config::from_toml(clash)
                .unwrap()
                .resolve(false, home_env)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("watch_dir: "), "{e}");
        }
    }

    #[test]
    fn on_complete_is_an_argument_list_and_its_timeout_is_bounded() {
        let c = Config::from_toml("on_complete = [\"/bin/prog\", \"a b\", \"$(x)\"]").unwrap();
        let s = c.resolve(false, home_env).unwrap();
        assert_eq!(s.on_complete, ["/bin/prog", "a b", "$(x)"]);
        assert_eq!(
            s.on_complete_timeout,
            std::time::Duration::from_secs(DEFAULT_ON_COMPLETE_TIMEOUT_SECS)
        );
        assert!(
            Config::default()
                .resolve(false, home_env)
                .unwrap()
                .on_complete
                .is_empty()
        );
        let e = Config::from_toml("on_complete = [\"\"]")
            .unwrap()
            .resolve(false, home_env)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "on_complete: \"\" is not a program (then its arguments)");
        let e = Config::from_toml("on_complete_timeout = 0")
            .unwrap()
            .resolve(false, home_env)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("on_complete_timeout: \"0\""), "{e}");
        assert!(Config::from_toml("on_complete = \"/bin/sh -c x\"").is_err());
    }

    #[test]
    fn the_queue_and_seed_goal_keys_resolve_and_a_bad_seed_time_is_refused() {
        let d = Config::default().resolve(false, home_env).unwrap();
        assert_eq!((d.max_active_downloads, d.max_active_seeds), (5, 0));
        assert_eq!((d.seed_ratio_limit, d.seed_time_limit), (None, None));
        assert_eq!(d.seed_goal_action, SeedGoalAction::Stop);
        let s = Config::from_toml(
            "max_active_downloads = 2\nseed_ratio_limit = 1.5\nseed_time_limit = \"1h30m\"\n\
             seed_goal_action = \"remove\"\nseed_goals_apply_to_shared = true",
        )
        .unwrap()
        .resolve(false, home_env)
        .unwrap();
        assert_eq!(s.max_active_downloads, 2);
        assert_eq!(s.seed_ratio_limit.map(Ratio::hundredths), Some(150));
        assert_eq!(s.seed_time_limit, Some(5400));
        assert_eq!(s.seed_goal_action, SeedGoalAction::Remove);
        assert!(s.seed_goals_apply_to_shared);
        let bad = Config::from_toml("seed_time_limit = \"soon\"")
            .unwrap()
            .resolve(false, home_env)
            .unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("seed_time_limit: \"soon\" is not"),
            "{bad}"
        );
        assert!(Config::from_toml("seed_ratio_limit = -1").is_err());
        assert!(Config::from_toml("seed_goal_action = \"delete\"").is_err());
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml("listen_prot = 1").unwrap_err();
        assert!(err.contains("listen_prot"), "{err}");
    }

    #[test]
    fn home_puts_everything_under_one_folder() {
        let c = Config {
            home: Some("/srv/p".into()),
            ..Config::default()
        };
        let s = c.resolve(false, |_| None).unwrap();
        assert_eq!(s.shared_dir, PathBuf::from("/srv/p/shared"));
        assert_eq!(s.downloads_dir, PathBuf::from("/srv/p/downloads"));
        assert_eq!(s.socket, PathBuf::from("/srv/p/p2pd.sock"));
        assert_eq!(s.pid_file, PathBuf::from("/srv/p/state/p2pd.pid"));
    }

    #[test]
    fn environment_fills_in_and_an_empty_tracker_means_none() {
        let mut c = Config::from_toml("tracker = \"\"").unwrap();
        c.apply_env(|k| match k {
            "P2PD_SOCKET" => Some("/tmp/s.sock".to_string()),
            "P2PD_TRACKER_CA_FILE" => Some("/etc/p2pd/ca.pem".to_string()),
            _ => None,
        });
        let s = c
            .resolve(false, |k| (k == "HOME").then(|| "/h".to_string()))
            .unwrap();
        assert_eq!(s.socket, PathBuf::from("/tmp/s.sock"));
        assert_eq!(s.tracker_ca_file, Some(PathBuf::from("/etc/p2pd/ca.pem")));
        assert_eq!(s.tracker, None);
        assert_eq!(s.shared_dir, PathBuf::from("/h/.local/share/p2p/shared"));
    }

    #[test]
    fn encryption_takes_its_three_words_and_refuses_others() {
        for (word, want) in [
            ("prefer", Encryption::Prefer),
            ("require", Encryption::Require),
            ("disable", Encryption::Disable),
        ] {
            let config = Config::from_toml(&format!("encryption = \"{word}\"")).unwrap();
            let settings = config.resolve(false, home_env).unwrap();
            assert_eq!(settings.engine_config(None).encryption, want);
        }
        let err = Config::from_toml("encryption = \"always\"").unwrap_err();
        assert!(
            err.contains("encryption") && err.contains("always"),
            "{err}"
        );
    }
}
