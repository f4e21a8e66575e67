//! Making and keeping the .torrent of an item: hash it with
//! `p2p_proto::create`, rename a cached torrent without re-hashing, write and
//! delete files in `torrents/`, reload them after a restart. Blocking: call
//! from `spawn_blocking`. No decisions about *when* to do any of it.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use p2p_proto::bencode::{self, OwnedValue};
use p2p_proto::create::{Control, CreateError, CreateOptions, create_torrent};
use p2p_proto::fsutil::write_atomically;
use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::{Metainfo, TorrentExtras, encode_torrent};

use super::cache::CacheEntry;
use super::names::ItemKey;
use super::probe::{Fingerprint, Probe, probe};

/// Largest .torrent we read back from `torrents/` (a torrent of 1 million
/// files is about 100 MiB; ours are far smaller).
const MAX_TORRENT_FILE_BYTES: u64 = 128 << 20;

/// A torrent made for an item.
#[derive(Debug)]
pub(super) struct Built {
    /// Its parsed form.
    pub metainfo: Metainfo,
    /// The .torrent file's bytes.
    pub bytes: Vec<u8>,
    /// Whether the item's bytes were read and hashed (false for a rename).
    pub rehashed: bool,
}

/// Why no torrent was made.
#[derive(Debug, thiserror::Error)]
pub(super) enum BuildError {
    /// Stopped because the item changed or the watcher stops.
    #[error("cancelled")]
    Cancelled,
    /// The item is no longer what was fingerprinted.
    #[error("changed while it was being hashed")]
    Changed,
    /// `create` refused it.
    #[error(transparent)]
    Create(CreateError),
    /// The cached torrent could not be renamed.
    #[error("cannot rename the cached torrent: {0}")]
    Rename(String),
}

/// Hashes the item, then checks it still has fingerprint `fp`.
pub(super) fn hash_item(
    root: &Path,
    key: &ItemKey,
    fp: &Fingerprint,
    opts: &CreateOptions,
    cancel: &AtomicBool,
) -> Result<Built, BuildError> {
    let control = Control {
        progress: None,
        cancel: Some(cancel),
    };
    let created = match create_torrent(&key.disk_path(root), opts, &control) {
        Ok(c) => c,
        Err(CreateError::Cancelled) => return Err(BuildError::Cancelled),
        Err(CreateError::Changed(_)) => return Err(BuildError::Changed),
        Err(CreateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(BuildError::Changed);
        }
        Err(e) => return Err(BuildError::Create(e)),
    };
    match probe(root, key, false) {
        Probe::Present { fp: now, .. } if now == *fp => Ok(Built {
            metainfo: created.metainfo,
            bytes: created.bytes,
            rehashed: true,
        }),
        _ => Err(BuildError::Changed),
    }
}

/// Makes the torrent of a renamed (or regrouped) item from the torrent it had
/// before: the same info dictionary with a new `name`, and `private` and
/// `source` set for its group. Nothing is read from disk. For a folder the
/// files and their order are unchanged, since only the folder's name moved.
pub(super) fn rename_item(
    old: &Metainfo,
    key: &ItemKey,
    opts: &CreateOptions,
) -> Result<Built, BuildError> {
    let decoded =
        bencode::decode(&old.raw_info).map_err(|e| BuildError::Rename(format!("{e:?}")))?;
    let mut info = OwnedValue::from(&decoded);
    let OwnedValue::Dict(dict) = &mut info else {
        return Err(BuildError::Rename("the info is not a dictionary".into()));
    };
    dict.insert(b"name".to_vec(), OwnedValue::bytes(&key.name));
    if opts.private {
        dict.insert(b"private".to_vec(), OwnedValue::Int(1));
    } else {
        dict.remove(b"private".as_slice());
    }
    match &opts.source {
        Some(s) => {
            dict.insert(b"source".to_vec(), OwnedValue::bytes(s));
        }
        None => {
            dict.remove(b"source".as_slice());
        }
    }
    let bytes = encode_torrent(&bencode::encode(&info), &opts.extras);
    let metainfo = Metainfo::from_bytes(&bytes).map_err(|e| BuildError::Rename(e.to_string()))?;
    Ok(Built {
        metainfo,
        bytes,
        rehashed: false,
    })
}

/// Writes a new .torrent into `dir` and returns its file name:
/// `<name>.torrent`, or `<name>.<first 8 hex digits of the info-hash>.torrent`
/// when that name is `taken` by another item or is a file we did not write.
pub(super) fn write_torrent(
    dir: &Path,
    metainfo: &Metainfo,
    bytes: &[u8],
    taken: &HashSet<String>,
) -> std::io::Result<String> {
    let stem = &metainfo.info.name;
    let plain = format!("{stem}.torrent");
    let name = if !taken.contains(&plain) && !dir.join(&plain).exists() {
        plain
    } else {
        let hex = metainfo.info_hash.to_hex();
        format!("{stem}.{}.torrent", &hex[..8])
    };
    write_atomically(&dir.join(&name), bytes)?;
    Ok(name)
}

/// Removes a .torrent we wrote; a missing one is fine.
pub(super) fn remove_torrent(dir: &Path, name: &str) {
    match fs::remove_file(dir.join(name)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = name, error = %e, "cannot remove a withdrawn .torrent"),
    }
}

/// Reads back the .torrent of a cache entry and checks its info-hash. When
/// the configured trackers changed, the file is rewritten around the same
/// info dictionary (same info-hash, nothing re-hashed).
pub(super) fn reload(
    dir: &Path,
    entry: &CacheEntry,
    extras: &TorrentExtras,
) -> Result<Metainfo, String> {
    let path = dir.join(&entry.torrent_file);
    let len = fs::metadata(&path).map_err(|e| e.to_string())?.len();
    if len > MAX_TORRENT_FILE_BYTES {
        return Err(format!("{len} bytes is too large"));
    }
    let bytes = fs::read(&path).map_err(|e| e.to_string())?;
    let metainfo = Metainfo::from_bytes(&bytes).map_err(|e| e.to_string())?;
    if Some(metainfo.info_hash) != entry.info_hash() {
        return Err("its info-hash is not the cached one".into());
    }
    let wanted: Vec<Vec<String>> = extras
        .trackers
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    if metainfo.trackers != wanted {
        let bytes = encode_torrent(&metainfo.raw_info, extras);
        write_atomically(&path, &bytes).map_err(|e| e.to_string())?;
        return Metainfo::from_bytes(&bytes).map_err(|e| e.to_string());
    }
    Ok(metainfo)
}

/// The first 8 hex digits of an info-hash, for logs.
pub(super) fn short(hash: &InfoHash) -> String {
    let mut hex = hash.to_hex();
    hex.truncate(8);
    hex
}
