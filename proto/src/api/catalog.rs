//! The catalog: published torrents of the public catalog and of groups,
//! search, withdraw, magnet links.

use serde::{Deserialize, Serialize};

use crate::infohash::InfoHash;

/// A catalog entry (201 answer to a publish; entries of [`CatalogList`]).
/// A publish's body is the raw .torrent (`application/x-bittorrent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Torrent name.
    pub name: String,
    /// Group; `None` for the public catalog.
    pub group: Option<String>,
    /// Bytes of content.
    pub total_length: u64,
    /// Bytes per piece.
    pub piece_length: u64,
    /// Files.
    pub file_count: u64,
    /// BEP 27 private flag.
    pub private: bool,
    /// `source` key of the info dict.
    pub source: Option<String>,
    /// Who published it.
    pub publisher: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// Answer to the catalog listings (`GET /api/v1/public/torrents`,
/// `GET /api/v1/groups/{g}/torrents`) and `GET /api/v1/search?q=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogList {
    /// Entries the caller may see.
    pub torrents: Vec<CatalogEntry>,
}

/// Answer to a withdraw (`DELETE .../torrents/{info_hash}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    /// What left the catalog.
    pub withdrawn: InfoHash,
}

/// Answer to `GET /api/v1/torrents/{info_hash}/magnet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MagnetLink {
    /// `magnet:?xt=urn:btih:...` with the caller's announce URL.
    pub magnet: String,
}
