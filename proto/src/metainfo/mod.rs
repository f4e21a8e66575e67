//! BitTorrent v1 metainfo (.torrent files, BEP 3) with announce tiers
//! (BEP 12), private torrents (BEP 27), web seeds (BEP 19) and pad and
//! symlink file attributes (BEP 47). Hybrid v1+v2 torrents load as v1 once
//! their two file lists are checked to agree; v2-only torrents are refused.
//!
//! The info-hash is the SHA-1 of the info dictionary's bytes exactly as they
//! appear in the file; nothing is ever re-encoded to compute it.
//! Not here: reading files from disk (see `create`), or any I/O.

mod build;
mod error;
mod hybrid;
mod parse;
pub mod path;

pub use build::{TorrentExtras, encode_torrent};
pub use error::MetainfoError;

use crate::infohash::InfoHash;
use crate::magnet::Magnet;

/// Largest piece length accepted when reading (libtorrent's limit is 128 MiB for
/// creation; real torrents stay far below).
pub const MAX_PIECE_LENGTH: i64 = 256 << 20;
/// Largest total size accepted: 2^50 bytes (1 PiB), well inside every offset type.
pub const MAX_TOTAL_LENGTH: u64 = 1 << 50;
/// Most files in one torrent.
pub const MAX_FILES: usize = 1_000_000;

/// A parsed .torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of `raw_info`.
    pub info_hash: InfoHash,
    /// The info dictionary, bit for bit as found in the file.
    pub raw_info: Vec<u8>,
    /// What the info dictionary says.
    pub info: Info,
    /// Trackers in tiers (BEP 12); `announce` alone becomes a single tier.
    pub trackers: Vec<Vec<String>>,
    /// Web seeds (BEP 19 `url-list`).
    pub web_seeds: Vec<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
}

/// The info dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Top-level name, made safe (see [`path`]).
    pub name: String,
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u64,
    /// One SHA-1 per piece.
    pub pieces: Vec<[u8; 20]>,
    /// Files in torrent order, with their byte offsets in the torrent.
    pub files: Vec<FileEntry>,
    /// Whether `files` came from a multi-file info dictionary (BEP 3); then
    /// every file lives in a folder named `name`.
    pub multi_file: bool,
    /// BEP 27: peers only from the torrent's trackers.
    pub private: bool,
    /// `source`, the private-tracker convention that makes info-hashes unique per site.
    pub source: Option<String>,
    /// Sum of every file length, pad files included.
    pub total_length: u64,
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Safe components relative to the download folder (for a multi-file
    /// torrent the first one is the torrent's name).
    pub path: Vec<String>,
    /// Length in bytes (0 for a symlink).
    pub length: u64,
    /// Offset of the first byte in the torrent's byte stream.
    pub offset: u64,
    /// BEP 47 pad file: zeros that align the next file, never written to disk.
    pub pad: bool,
    /// BEP 47 symlink: recorded, never created (a link could point anywhere).
    pub symlink: bool,
    /// BEP 47 executable bit.
    pub executable: bool,
}

impl FileEntry {
    /// The path joined with `/`.
    pub fn display_path(&self) -> String {
        self.path.join("/")
    }
}

impl Metainfo {
    /// Parses and validates a .torrent file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        parse::parse(bytes)
    }

    /// Parses a bare info dictionary, as fetched from peers with BEP 9.
    pub fn from_info_bytes(raw_info: &[u8]) -> Result<Metainfo, MetainfoError> {
        parse::parse_info_only(raw_info)
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> usize {
        self.info.pieces.len()
    }

    /// Length of piece `index` (the last one may be short); `None` past the end.
    pub fn piece_size(&self, index: usize) -> Option<u64> {
        if index >= self.info.pieces.len() {
            return None;
        }
        let start = index as u64 * self.info.piece_length;
        Some((self.info.total_length - start).min(self.info.piece_length))
    }

    /// A magnet link for this torrent with its name, size and trackers.
    pub fn magnet(&self) -> Magnet {
        Magnet {
            info_hash: self.info_hash,
            display_name: Some(self.info.name.clone()),
            trackers: self.trackers.iter().flatten().cloned().collect(),
            exact_length: Some(self.info.total_length),
            peers: Vec::new(),
            web_seeds: self.web_seeds.clone(),
            select_only: None,
        }
    }
}

#[cfg(test)]
mod tests;
