//! The tracker's own figures: `/health`, `/api/v1/stats` and the torrents
//! it tracks (`/api/v1/torrents`).

use serde::{Deserialize, Serialize};

use crate::infohash::InfoHash;

/// Answer to `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// How the tracker treats unknown info-hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerMode {
    /// Any info-hash is tracked.
    Open,
    /// Only registered (catalog) torrents are tracked.
    Catalog,
}

/// Answer to `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerStats {
    /// Open or catalog.
    pub mode: TrackerMode,
    /// Swarms in memory.
    pub torrents: u64,
    /// Torrents in the catalog.
    pub registered_torrents: u64,
    /// Seeders over all swarms.
    pub seeders: u64,
    /// Leechers over all swarms.
    pub leechers: u64,
    /// Announces over the last second.
    pub announces_per_second: f64,
    /// Announces answered since start.
    pub announces_total: u64,
    /// Scrapes answered since start.
    pub scrapes_total: u64,
    /// Requests refused with a failure reason.
    pub failures_total: u64,
    /// Completed downloads counted since start.
    pub completed_total: u64,
    /// Completions not yet written to the store.
    pub completed_pending: u64,
    /// HTTP connections accepted.
    pub connections_total: u64,
    /// Seconds since start.
    pub uptime_secs: u64,
}

/// A tracked torrent (`GET /api/v1/torrents/{info_hash}`, entries of
/// [`TorrentList`], answer to registering a torrent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentInfo {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Whether it is in the catalog.
    pub registered: bool,
    /// Peers with everything.
    pub seeders: u64,
    /// Peers still downloading.
    pub leechers: u64,
    /// Completed downloads.
    pub completed: u64,
    /// What the catalog knows of it (registered torrents only).
    #[serde(flatten)]
    pub details: Option<TorrentDetails>,
}

/// Catalog facts of a registered torrent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentDetails {
    /// Torrent name.
    pub name: String,
    /// Bytes of content.
    pub total_length: u64,
    /// Bytes per piece.
    pub piece_length: u64,
    /// Files.
    pub file_count: u64,
    /// BEP 27 private flag.
    pub private: bool,
    /// Unix seconds.
    pub added_at: i64,
}

/// Answer to `GET /api/v1/torrents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentList {
    /// Torrents anyone may see (not group torrents).
    pub torrents: Vec<TorrentInfo>,
}
