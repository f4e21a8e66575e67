//! The downloads the daemon was asked for, persisted so they come back after
//! a restart: a copy of each .torrent under `state/torrents/` and a list in
//! `state/downloads.json`, both written atomically.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use p2p_proto::infohash::InfoHash;
use serde::{Deserialize, Serialize};

/// One download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 40 hex digits.
    pub info_hash: String,
    /// Our copy of the .torrent.
    pub torrent_file: PathBuf,
    /// Folder its files go into.
    pub download_dir: PathBuf,
    /// Stopped by the user.
    pub paused: bool,
    /// Torrent name and total size, so listing a paused download does not
    /// read and parse its .torrent each time.
    #[serde(default)]
    pub name: String,
    /// Total bytes.
    #[serde(default)]
    pub size: u64,
}

/// Every download, by info-hash.
#[derive(Debug, Default)]
pub struct Registry {
    path: PathBuf,
    torrents_dir: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl Registry {
    /// Loads `state_dir/downloads.json` (a missing or unreadable file is an empty list).
    pub fn load(state_dir: &Path) -> Registry {
        let path = state_dir.join("downloads.json");
        let entries: Vec<Entry> = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Registry {
            path,
            torrents_dir: state_dir.join("torrents"),
            entries: entries
                .into_iter()
                .map(|e| (e.info_hash.clone(), e))
                .collect(),
        }
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// One entry.
    pub fn get(&self, ih: InfoHash) -> Option<&Entry> {
        self.entries.get(&ih.to_hex())
    }

    /// Stores the .torrent and records the download.
    pub fn insert(
        &mut self,
        ih: InfoHash,
        torrent: &[u8],
        download_dir: &Path,
        paused: bool,
    ) -> std::io::Result<()> {
        let file = self.torrents_dir.join(format!("{}.torrent", ih.to_hex()));
        let (name, size) = p2p_proto::metainfo::Metainfo::from_bytes(torrent)
            .map(|m| (m.info.name, m.info.total_length))
            .unwrap_or_default();
        write_atomically(&file, torrent)?;
        self.entries.insert(
            ih.to_hex(),
            Entry {
                info_hash: ih.to_hex(),
                torrent_file: file,
                download_dir: download_dir.to_path_buf(),
                paused,
                name,
                size,
            },
        );
        self.save()
    }

    /// Marks a download paused or running.
    pub fn set_paused(&mut self, ih: InfoHash, paused: bool) -> std::io::Result<()> {
        if let Some(e) = self.entries.get_mut(&ih.to_hex()) {
            e.paused = paused;
        }
        self.save()
    }

    /// Forgets a download and its .torrent copy.
    pub fn remove(&mut self, ih: InfoHash) -> std::io::Result<Option<Entry>> {
        let e = self.entries.remove(&ih.to_hex());
        if let Some(e) = &e {
            let _ = fs::remove_file(&e.torrent_file);
        }
        self.save()?;
        Ok(e)
    }

    fn save(&self) -> std::io::Result<()> {
        let list: Vec<&Entry> = self.entries.values().collect();
        let bytes = serde_json::to_vec_pretty(&list).map_err(std::io::Error::other)?;
        write_atomically(&self.path, &bytes)
    }
}

use crate::fsutil::write_atomically;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let ih = InfoHash([7; 20]);
        let mut r = Registry::load(dir.path());
        r.insert(ih, b"d4:infodee", Path::new("/dl"), false)
            .unwrap();
        r.set_paused(ih, true).unwrap();
        let again = Registry::load(dir.path());
        let e = again.get(ih).unwrap();
        assert!(e.paused);
        assert_eq!(fs::read(&e.torrent_file).unwrap(), b"d4:infodee");
        let mut again = again;
        again.remove(ih).unwrap();
        assert!(Registry::load(dir.path()).get(ih).is_none());
    }
}
