//! Replies of the commands that act on a download's data as a whole:
//! `verify` (hash every piece again) answers [`Verified`]; `move` answers
//! the torrent's summary like `pause` does.

use serde::{Deserialize, Serialize};

use crate::infohash::InfoHash;

/// Reply to `verify`: what hashing every piece again found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Its name.
    pub name: String,
    /// Pieces hashed (0 while the check waits for the torrent to start).
    pub checked: u64,
    /// Pieces the torrent had that failed their hash, by index from 0:
    /// dropped from what it has, and downloaded again.
    pub bad: Vec<u32>,
    /// Set when the check did not run now, and when it will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
