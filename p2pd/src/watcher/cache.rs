//! The hash cache: for each shared item, the fingerprint it had when it was
//! hashed, its info-hash and the name of its .torrent in `torrents/`. JSON,
//! rewritten atomically (temp file, fsync, rename). Blocking: call from
//! `spawn_blocking`. The piece hashes are not here: they live in the .torrent.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use p2p_proto::fsutil::write_atomically;
use p2p_proto::infohash::InfoHash;
use serde::{Deserialize, Serialize};

use super::names::ItemKey;
use super::probe::Fingerprint;

/// Version of the cache file layout; another version is ignored (everything re-hashes).
const CACHE_VERSION: u32 = 1;

/// What is remembered about one shared item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct CacheEntry {
    /// The fingerprint the item had when its torrent was made.
    pub fingerprint: Fingerprint,
    /// Its info-hash, 40 hex digits.
    pub info_hash: String,
    /// The .torrent's file name inside `torrents/`.
    pub torrent_file: String,
}

impl CacheEntry {
    /// The info-hash, if the text is one.
    pub fn info_hash(&self) -> Option<InfoHash> {
        InfoHash::parse(&self.info_hash).ok()
    }
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    items: BTreeMap<String, CacheEntry>,
}

/// Reads the cache. A missing file is an empty cache; an unreadable or
/// foreign one is logged and treated as empty (items are then re-hashed).
pub(super) fn load(path: &Path) -> BTreeMap<ItemKey, CacheEntry> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the hash cache; re-hashing");
            return BTreeMap::new();
        }
    };
    let file: CacheFile = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the hash cache is corrupt; re-hashing");
            return BTreeMap::new();
        }
    };
    if file.version != CACHE_VERSION {
        tracing::info!(
            version = file.version,
            "hash cache of another version; re-hashing"
        );
        return BTreeMap::new();
    }
    file.items
        .into_iter()
        .filter_map(|(rel, entry)| Some((ItemKey::from_rel_string(&rel)?, entry)))
        .collect()
}

/// Writes the cache atomically.
pub(super) fn save<'a>(
    path: &Path,
    entries: impl Iterator<Item = (&'a ItemKey, &'a CacheEntry)>,
) -> std::io::Result<()> {
    let file = CacheFile {
        version: CACHE_VERSION,
        items: entries
            .map(|(k, e)| (k.to_rel_string(), e.clone()))
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cache_round_trips_and_a_corrupt_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        assert!(load(&path).is_empty());
        let key = ItemKey::in_group("team", "x.iso");
        let entry = CacheEntry {
            fingerprint: Fingerprint {
                dev: 1,
                ino: 2,
                size: 3,
                mtime_ns: -4,
                files: 1,
                tree: u64::MAX,
            },
            info_hash: "00".repeat(20),
            torrent_file: "x.iso.torrent".into(),
        };
        save(&path, [(&key, &entry)].into_iter()).unwrap();
        let back = load(&path);
        assert_eq!(back.get(&key), Some(&entry));
        fs::write(&path, b"{not json").unwrap();
        assert!(load(&path).is_empty());
    }
}
