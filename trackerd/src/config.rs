//! trackerd's configuration: one typed struct, read from TOML with unknown
//! keys rejected, with documented defaults (`--print-config`). Does not read
//! flags or the environment; `main.rs` applies those on top.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The default configuration file, with a comment on every field.
/// `--print-config` prints this; a test checks it equals [`Config::default`].
pub const DEFAULT_CONFIG_TOML: &str = r#"# trackerd configuration. Every key is optional; unknown keys are an error.
# Precedence: defaults < this file < TRACKERD_* environment < command-line flags.

# Address and port to listen on. Port 0 picks a free port.
# Use "[::]:6969" to accept IPv6 (and IPv4-mapped) connections too.
listen = "0.0.0.0:6969"

# Folder for the default SQLite database. Empty: $XDG_DATA_HOME/p2p,
# else ~/.local/share/p2p, else the current folder.
data_dir = ""

# Store URL: "sqlite:///var/lib/trackerd/trackerd.sqlite" (one machine), or
# "postgres://user:password@host/dbname" (several trackerd instances may share
# one PostgreSQL database). Empty: a SQLite file "trackerd.sqlite" in data_dir.
database = ""

# "open": any info-hash is tracked. "catalog": only torrents registered with
# POST /api/v1/torrents; others get a failure reason.
mode = "open"

# Base URL of this tracker as clients reach it, used in the announce URL of
# personalised .torrent files and magnet links, e.g. "http://tracker.lan:6969".
# Empty: taken from each request's Host header.
public_url = ""

# Text file that gets one timestamped line per event (register, login, publish...).
# Empty: "trackerd-events.log" in data_dir.
event_log = ""

# File holding the key that seals passkeys in the database (made 0600 at
# the first start; keep it with, but apart from, the database backups: a
# database without it cannot give users their passkeys back).
# Empty: the database file's path with ".passkey-key" added; with PostgreSQL,
# "trackerd.passkey-key" in data_dir (instances sharing a database must share
# this file too).
passkey_key_file = ""

[announce]
# Seconds a client should wait between announces.
interval_secs = 1800
# Seconds a client must wait between announces.
min_interval_secs = 60
# Seconds after its last announce when a peer is dropped (a little over two intervals).
peer_timeout_secs = 3900
# Peers returned when the client does not say (numwant).
default_numwant = 50
# Most peers returned, whatever numwant says.
max_numwant = 200
# Answer /scrape without info_hash with every torrent (can be large).
full_scrape = false
# Most torrents tracked at once; announces for new ones beyond it are refused.
max_torrents = 1000000
# Most peers tracked at once over all torrents (about 85 bytes each).
max_peers = 5000000
# Most swarms one client address (IPv6: one /64) may create and have held at
# once, counting only torrents neither registered nor published (open mode);
# announces creating more get a failure reason. 0: no limit.
max_torrents_per_address = 1000
# Most peers one client address may have in one torrent (different peer_ids
# from one address); new ones beyond get a failure reason. 0: no limit.
max_peers_per_address_per_torrent = 16
# Most peers one client address may have over all torrents. 0: no limit.
max_peers_per_address = 20000
# Proxies whose X-Forwarded-For header is trusted, e.g. ["127.0.0.1"]: their
# requests count as coming from the last forwarded address (announces, rate
# limits, stream caps, and the loopback-only torrent registration when
# admin_token is empty). Requests from any other address use the
# connection's address. The announce's "ip" parameter is never believed.
trusted_proxies = []
# Serve UDP announces and scrapes (BEP 15) on the listen port's number, with
# the same swarms and group rules; a passkey comes as BEP 41 URL data
# (udp://host:port/announce/<passkey>). Answers go to the datagram's sender:
# trusted_proxies does not apply.
udp = true
# Threads answering UDP datagrams; 0: one per two cores (at least one, at
# most 8), which leaves the kernel's share of each datagram its own cores.
udp_workers = 0

[http]
# Most simultaneous connections; further ones wait to be accepted.
max_connections = 4096
# Seconds a client gets to send a complete request head.
header_read_timeout_secs = 10
# Seconds a request (head and body) may take before it is answered 408.
request_timeout_secs = 30
# Largest request head (request line and headers), in bytes (at least 8192).
max_header_bytes = 16384
# Largest .torrent accepted by POST /api/v1/torrents and by publishing
# (POST /api/v1/groups/<g>/torrents, /api/v1/public/torrents), in bytes.
max_torrent_bytes = 10485760
# Largest body of every other request (login, register, groups...), in bytes.
# A larger Content-Length is refused with 413 before any of the body is read.
max_body_bytes = 8192
# Most bytes of request bodies held at once over all requests in flight (each
# request reserves its Content-Length, or its route's limit when chunked). A
# request that finds the budget spent waits a second, then gets 503.
max_buffered_body_bytes = 67108864
# Seconds a client gets to send a whole request body; slower ones get 408.
body_read_timeout_secs = 10
# Most event and session streams (GET /api/v1/events/stream and
# /api/v1/session/stream) open at once. Streams never get more than half of
# max_connections, so the rest always answers announces and logins.
max_streams = 1024
# Most streams one user may hold open; further ones get 429. 0: no limit.
max_streams_per_user = 8
# Most streams one client address (IPv6: one /64) may hold open; further
# ones get 429. 0: no limit. Each logged-in p2pd holds one session stream:
# raise this when more daemons share one address (a NAT, or a proxy missing
# from trusted_proxies), or their sessions lapse and they stop sharing.
max_streams_per_address = 64
# Bearer token required by POST /api/v1/torrents. Empty: only loopback
# clients may register torrents.
admin_token = ""

[store]
# Milliseconds between writes of completed-download counters to the store.
flush_interval_ms = 1000
# With PostgreSQL (several instances on one database): milliseconds between
# writes of this instance's peer changes for the other instances (10 to 500).
# A peer announcing to one instance is handed out by the others about this
# much later (plus a database round trip).
swarm_share_interval_ms = 100

[accounts]
# Seconds after its last request (or session-stream renewal) when a login
# session ends. Daemons keep theirs alive by holding the session stream.
session_ttl_secs = 120
# Failed logins allowed per client address within the window; further
# attempts from it get 429 until the oldest failure leaves the window. One
# address failing for one username gets 4x this per 60 windows, then waits.
max_login_failures = 5
# The window for failed logins, in seconds.
login_failure_window_secs = 60
# Failed logins allowed per username from addresses it never logged in from
# (in the last 30 days) within the user window: a ceiling on guesses spread
# over many addresses. The owner's known addresses are not blocked by it.
max_login_failures_per_user = 100
# The user window, in seconds.
user_login_failure_window_secs = 3600
# Password checks (login, registration, password change) one client address
# may have running or waiting at once; more get 429 with Retry-After at once.
max_password_checks_per_address = 2
# Accounts one client address (IPv6: one /64) may create within the window;
# further registrations get 429 until the oldest leaves the window. Only
# successful registrations count (20 leaves room for an office behind one NAT
# address). 0: no limit.
max_registrations_per_address = 20
# The window for registrations, in seconds.
registration_window_secs = 3600
# Allow torrents to be published outside any group (public catalog).
allow_public_torrents = true
# Users who see what is otherwise shown to each user only about themself:
# online users' addresses, the addresses in login events, and every user's
# full traffic (private groups included). E.g. ["alice"].
admins = []

[quotas]
# Per-user limits, so one account cannot grow the database or the announce
# index without bound; beyond one, the request is refused with 403 and the
# code "quota_exceeded" naming the limit. 0: no limit.
# Groups one user may own at once (created by them or passed to them).
max_groups_owned = 20
# Catalog entries one user may have published at once (all scopes).
max_catalog_entries = 1000
# Bytes of .torrent files one user's catalog entries may hold in total (256 MiB).
max_torrent_bytes_stored = 268435456
"#;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Folder for the default database; empty means the platform default.
    pub data_dir: PathBuf,
    /// Store URL, `sqlite://...` or `postgres://...`; empty means
    /// `sqlite://<data_dir>/trackerd.sqlite`.
    pub database: String,
    /// Which torrents are tracked.
    pub mode: Mode,
    /// Announce and scrape policy.
    pub announce: AnnounceConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Store behaviour.
    pub store: StoreConfig,
    /// Base URL for personalised announce URLs; empty: the request's Host.
    pub public_url: String,
    /// Event log text file; empty: `trackerd-events.log` in the data dir.
    pub event_log: PathBuf,
    /// Key that seals passkeys at rest; empty: beside the database file
    /// (in the data dir for PostgreSQL).
    pub passkey_key_file: PathBuf,
    /// Accounts, sessions and the catalog.
    pub accounts: AccountsConfig,
    /// Per-user quotas.
    pub quotas: QuotasConfig,
}

/// Per-user quotas; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasConfig {
    /// Groups one user may own at once.
    pub max_groups_owned: u64,
    /// Catalog entries one user may have published at once.
    pub max_catalog_entries: u64,
    /// Bytes of .torrent files one user's catalog entries may hold.
    pub max_torrent_bytes_stored: u64,
}

impl Default for QuotasConfig {
    fn default() -> Self {
        QuotasConfig {
            max_groups_owned: 20,
            max_catalog_entries: 1000,
            max_torrent_bytes_stored: 256 << 20,
        }
    }
}

/// Accounts, sessions and the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Seconds without renewal after which a session ends.
    pub session_ttl_secs: u64,
    /// Failed logins allowed per client address within the window (and,
    /// times 4 per 60 windows, per username and address).
    pub max_login_failures: u32,
    /// The failed-login window in seconds.
    pub login_failure_window_secs: u64,
    /// Failed logins allowed per username from addresses it never logged
    /// in from, within the user window.
    pub max_login_failures_per_user: u32,
    /// The user window in seconds.
    pub user_login_failure_window_secs: u64,
    /// Password checks one client address may have running or waiting.
    pub max_password_checks_per_address: usize,
    /// Successful registrations allowed per address (IPv6: per /64) within
    /// the window; 0 means no limit.
    pub max_registrations_per_address: u32,
    /// The registration window in seconds.
    pub registration_window_secs: u64,
    /// Whether torrents may be published outside groups.
    pub allow_public_torrents: bool,
    /// Users who see others' addresses and full traffic.
    pub admins: Vec<String>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_ttl_secs: 120,
            max_login_failures: 5,
            login_failure_window_secs: 60,
            max_login_failures_per_user: 100,
            user_login_failure_window_secs: 3600,
            max_password_checks_per_address: crate::accounts::hash_queue::MAX_HASHES_PER_ADDRESS,
            max_registrations_per_address: 20,
            registration_window_secs: 3600,
            allow_public_torrents: true,
            admins: Vec::new(),
        }
    }
}

/// Which torrents the tracker accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Any info-hash.
    #[default]
    Open,
    /// Only registered torrents.
    Catalog,
}

/// Announce and scrape policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnounceConfig {
    /// Seconds between announces.
    pub interval_secs: u32,
    /// Minimum seconds between announces.
    pub min_interval_secs: u32,
    /// Seconds after which a silent peer is dropped.
    pub peer_timeout_secs: u64,
    /// Peers returned when numwant is absent.
    pub default_numwant: u32,
    /// Most peers returned.
    pub max_numwant: u32,
    /// Whether a scrape without info_hash lists every torrent.
    pub full_scrape: bool,
    /// Most swarms held at once.
    pub max_torrents: usize,
    /// Most peers held at once, over all swarms.
    pub max_peers: usize,
    /// Most open-mode swarms one address (IPv6: /64) created and still
    /// held; 0: no limit.
    pub max_torrents_per_address: usize,
    /// Most peers one address holds in one swarm; 0: no limit.
    pub max_peers_per_address_per_torrent: usize,
    /// Most peers one address holds over all swarms; 0: no limit.
    pub max_peers_per_address: usize,
    /// Proxies trusted for X-Forwarded-For.
    pub trusted_proxies: Vec<IpAddr>,
    /// Serve UDP announces and scrapes (BEP 15) on the listen port number.
    pub udp: bool,
    /// Threads answering UDP datagrams; 0: one per two cores (at least
    /// one, at most 8).
    pub udp_workers: usize,
}

/// HTTP limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Seconds to receive a request head.
    pub header_read_timeout_secs: u64,
    /// Seconds to receive and answer a whole request.
    pub request_timeout_secs: u64,
    /// Largest request head in bytes.
    pub max_header_bytes: usize,
    /// Largest .torrent upload (register and publish routes) in bytes.
    pub max_torrent_bytes: usize,
    /// Largest body of every other route in bytes.
    pub max_body_bytes: usize,
    /// Most body bytes buffered at once over all requests in flight (at
    /// least `max_torrent_bytes`, so one upload always fits).
    pub max_buffered_body_bytes: usize,
    /// Seconds to receive a whole request body.
    pub body_read_timeout_secs: u64,
    /// Most streams open at once (at most half of `max_connections`).
    pub max_streams: usize,
    /// Most streams per user (0: no limit).
    pub max_streams_per_user: usize,
    /// Most streams per client address, IPv6 per /64 (0: no limit).
    pub max_streams_per_address: usize,
    /// Bearer token for registering torrents; empty: loopback only.
    pub admin_token: String,
}

/// Store behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Milliseconds between counter flushes.
    pub flush_interval_ms: u64,
    /// Milliseconds between writes of peer changes for other instances
    /// (PostgreSQL only; clamped to 10..=500).
    pub swarm_share_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 6969)),
            data_dir: PathBuf::new(),
            database: String::new(),
            mode: Mode::Open,
            announce: AnnounceConfig::default(),
            http: HttpConfig::default(),
            store: StoreConfig::default(),
            public_url: String::new(),
            event_log: PathBuf::new(),
            passkey_key_file: PathBuf::new(),
            accounts: AccountsConfig::default(),
            quotas: QuotasConfig::default(),
        }
    }
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        // The swarm caps have one home: the swarms' own defaults.
        let caps = crate::swarm::Limits::default();
        AnnounceConfig {
            interval_secs: 1800,
            min_interval_secs: 60,
            peer_timeout_secs: 3900,
            default_numwant: 50,
            max_numwant: 200,
            full_scrape: false,
            max_torrents: caps.max_torrents,
            max_peers: caps.max_peers,
            max_torrents_per_address: caps.max_torrents_per_address,
            max_peers_per_address_per_torrent: caps.max_peers_per_address_per_torrent,
            max_peers_per_address: caps.max_peers_per_address,
            trusted_proxies: Vec::new(),
            udp: true,
            udp_workers: 0,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 4096,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_header_bytes: 16384,
            max_torrent_bytes: 10 << 20,
            max_body_bytes: 8192,
            max_buffered_body_bytes: 64 << 20,
            body_read_timeout_secs: 10,
            max_streams: 1024,
            max_streams_per_user: 8,
            max_streams_per_address: 64,
            admin_token: String::new(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            flush_interval_ms: 1000,
            swarm_share_interval_ms: 100,
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this struct (unknown key, bad type...).
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause, naming the key and line.
        source: Box<toml::de::Error>,
    },
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// The data folder: configured, else `$XDG_DATA_HOME/p2p`, else
    /// `~/.local/share/p2p`, else the current folder.
    pub fn data_dir(&self) -> PathBuf {
        if !self.data_dir.as_os_str().is_empty() {
            return self.data_dir.clone();
        }
        let env = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(d) = env("XDG_DATA_HOME") {
            return d.join("p2p");
        }
        if let Some(h) = env("HOME") {
            return h.join(".local/share/p2p");
        }
        PathBuf::from(".")
    }

    /// The store URL: configured, else a SQLite file in [`Config::data_dir`].
    pub fn database_url(&self) -> String {
        if !self.database.is_empty() {
            return self.database.clone();
        }
        format!(
            "sqlite://{}",
            self.data_dir().join("trackerd.sqlite").display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_defaults_parse_back_to_the_defaults() {
        assert_eq!(
            Config::from_toml(DEFAULT_CONFIG_TOML).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml("listen = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = Config::from_toml("[announce]\nintervall_secs = 3\n").unwrap_err();
        assert!(err.to_string().contains("intervall_secs"), "{err}");
    }

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let c = Config::from_toml("mode = \"catalog\"\n[announce]\ninterval_secs = 5\n").unwrap();
        assert_eq!(c.mode, Mode::Catalog);
        assert_eq!(c.announce.interval_secs, 5);
        assert_eq!(c.announce.max_numwant, 200);
    }

    #[test]
    fn the_database_defaults_to_a_sqlite_file_in_the_data_dir() {
        let c = Config {
            data_dir: "/tmp/x".into(),
            ..Config::default()
        };
        assert_eq!(c.database_url(), "sqlite:///tmp/x/trackerd.sqlite");
    }
}
