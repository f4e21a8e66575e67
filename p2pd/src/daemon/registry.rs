//! The downloads the daemon was asked for, persisted so they come back after
//! a restart: a copy of each .torrent under `state/torrents/` and a list in
//! `state/downloads.json`, both written atomically.
//!
//! The list lives in memory behind the daemon's mutex; changing it never
//! touches the disk under that lock, nor serialises the list (thousands of
//! entries, thousands of adds). Each change only tells [`save_loop`], a
//! task that copies the list when it is free to write it and writes it on
//! the blocking pool (a burst of changes costs one copy and one write), and
//! writes the last one at shutdown.
//! The .torrent copies are written by [`store_torrent`] on the blocking pool
//! before the entry that names them is recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{FilePriority, SeedGoal};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use p2p_proto::fsutil::write_atomically;

use crate::engine::FolderId;

/// One download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its info-hash (40 hex digits in the file).
    pub info_hash: InfoHash,
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
    /// Set when a client of another user chose `download_dir`: the torrent
    /// writes only into that very folder, across restarts too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_pin: Option<FolderId>,
    /// Its own download limit in bytes per second, under the global one
    /// (absent in lists written before run-time settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_rate_limit: Option<u64>,
    /// Its own upload limit in bytes per second, under the global one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_rate_limit: Option<u64>,
    /// Each file's priority (one per file of the info dictionary), as
    /// chosen with `--files` or changed since; absent: every file. The
    /// torrent's resume record holds the same choice once it has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_priorities: Option<Vec<FilePriority>>,
    /// Sequential (streaming) mode, as asked with `--sequential` or changed since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sequential: bool,
    /// Its place in the queue, its seed goals, and whether one was reached
    /// (absent in lists written before the queue).
    #[serde(default)]
    pub queue: QueueState,
}

/// What the queue keeps of a download.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Lower starts first; a new download goes last.
    #[serde(default)]
    pub position: u64,
    /// It had every piece when last seen: it waits for a seed slot, not a
    /// download slot.
    #[serde(default)]
    pub complete: bool,
    /// Its own seed goals.
    #[serde(default, skip_serializing_if = "SeedGoal::is_global")]
    pub seed_goal: SeedGoal,
    /// The seed goal that stopped it (it is paused then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Finished>,
}

/// A reached seed goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    /// Which goal, for people: `ratio 2.00 reached`.
    pub reason: String,
    /// Bytes uploaded when it stopped.
    pub uploaded: u64,
}

/// Every download, by info-hash.
#[derive(Debug)]
pub struct Registry {
    torrents_dir: PathBuf,
    entries: BTreeMap<InfoHash, Entry>,
    /// Counts the changes, for [`save_loop`].
    changes: watch::Sender<u64>,
}

/// The receiving half of the registry's change count, for [`save_loop`].
#[derive(Debug)]
pub struct Saves {
    path: PathBuf,
    rx: watch::Receiver<u64>,
}

impl Registry {
    /// Loads `state_dir/downloads.json` (a missing or unreadable file is an
    /// empty list). Blocking: call it before serving, or on the blocking pool.
    pub fn load(state_dir: &Path) -> (Registry, Saves) {
        let path = state_dir.join("downloads.json");
        let entries: Vec<Entry> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable {}: {e}", path.display());
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        let (changes, rx) = watch::channel(0);
        let registry = Registry {
            torrents_dir: state_dir.join("torrents"),
            entries: entries.into_iter().map(|e| (e.info_hash, e)).collect(),
            changes,
        };
        (registry, Saves { path, rx })
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// One entry.
    pub fn get(&self, ih: InfoHash) -> Option<&Entry> {
        self.entries.get(&ih)
    }

    /// Where the copy of a torrent's .torrent goes.
    pub fn torrent_path(&self, ih: InfoHash) -> PathBuf {
        self.torrents_dir.join(format!("{}.torrent", ih.to_hex()))
    }

    /// Records a download whose .torrent [`store_torrent`] has written; a
    /// new one goes last in the queue.
    pub fn insert(&mut self, mut entry: Entry) {
        if !self.entries.contains_key(&entry.info_hash) {
            entry.queue.position = self
                .entries
                .values()
                .map(|e| e.queue.position + 1)
                .max()
                .unwrap_or(0);
        }
        self.entries.insert(entry.info_hash, entry);
        self.save();
    }

    /// Marks a download paused or running; running again clears the seed
    /// goal that stopped it.
    pub fn set_paused(&mut self, ih: InfoHash, paused: bool) {
        if let Some(e) = self.entries.get_mut(&ih) {
            e.paused = paused;
            if !paused {
                e.queue.finished = None;
            }
        }
        self.save();
    }

    /// Every entry in queue order.
    pub fn in_queue_order(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.entries.values().collect();
        all.sort_by_key(|e| (e.queue.position, e.info_hash));
        all
    }

    /// Numbers the entries named in `order` 0, 1, 2...; others keep theirs.
    pub fn set_queue_order(&mut self, order: &[InfoHash]) {
        for (i, ih) in order.iter().enumerate() {
            if let Some(e) = self.entries.get_mut(ih) {
                e.queue.position = i as u64;
            }
        }
        self.save();
    }

    /// Notes that a download has every piece (written only on a change).
    pub fn set_complete(&mut self, ih: InfoHash) {
        if let Some(e) = self.entries.get_mut(&ih).filter(|e| !e.queue.complete) {
            e.queue.complete = true;
            self.save();
        }
    }

    /// Sets a download's own seed goals; false when it is not recorded.
    pub fn set_seed_goal(&mut self, ih: InfoHash, goal: SeedGoal) -> bool {
        let Some(e) = self.entries.get_mut(&ih) else {
            return false;
        };
        e.queue.seed_goal = goal;
        self.save();
        true
    }

    /// Stops a download for a reached seed goal: paused, with the reason.
    pub fn finish(&mut self, ih: InfoHash, finished: Finished) {
        if let Some(e) = self.entries.get_mut(&ih) {
            e.paused = true;
            e.queue.finished = Some(finished);
        }
        self.save();
    }

    /// Sets a download's own rate limits; false when it is not recorded.
    pub fn set_limits(&mut self, ih: InfoHash, download: Option<u64>, upload: Option<u64>) -> bool {
        let Some(e) = self.entries.get_mut(&ih) else {
            return false;
        };
        e.download_rate_limit = download;
        e.upload_rate_limit = upload;
        self.save();
        true
    }

    /// Records a download's new folder and its pin after its files moved;
    /// false when it is not recorded.
    pub fn set_download_dir(&mut self, ih: InfoHash, dir: PathBuf, pin: Option<FolderId>) -> bool {
        let Some(e) = self.entries.get_mut(&ih) else {
            return false;
        };
        e.download_dir = dir;
        e.folder_pin = pin;
        self.save();
        true
    }

    /// Records a download's file priorities; false when it is not recorded.
    /// Records a download's sequential mode; false when it is not recorded.
    pub fn set_sequential(&mut self, ih: InfoHash, on: bool) -> bool {
        let Some(e) = self.entries.get_mut(&ih) else {
            return false;
        };
        e.sequential = on;
        self.save();
        true
    }

    pub fn set_file_priorities(&mut self, ih: InfoHash, priorities: Vec<FilePriority>) -> bool {
        let Some(e) = self.entries.get_mut(&ih) else {
            return false;
        };
        e.file_priorities = Some(priorities);
        self.save();
        true
    }

    /// Forgets a download; the caller deletes its .torrent copy.
    pub fn remove(&mut self, ih: InfoHash) -> Option<Entry> {
        let e = self.entries.remove(&ih);
        self.save();
        e
    }

    fn save(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

/// Writes the .torrent copy an entry names, on the blocking pool; then the
/// entry can be recorded.
pub async fn store_torrent(entry: Entry, torrent: Vec<u8>) -> std::io::Result<Entry> {
    let file = entry.torrent_file.clone();
    tokio::task::spawn_blocking(move || write_atomically(&file, &torrent))
        .await
        .map_err(std::io::Error::other)??;
    Ok(entry)
}

/// Writes the list after each change of `registry` until `cancel`, then
/// once more if it changed since.
pub async fn save_loop(
    mut saves: Saves,
    registry: Arc<Mutex<Registry>>,
    cancel: CancellationToken,
) {
    loop {
        let open = tokio::select! {
            changed = saves.rx.changed() => changed.is_ok(),
            _ = cancel.cancelled() => false,
        };
        if open || saves.rx.has_changed().unwrap_or(false) {
            saves.rx.borrow_and_update();
            // Copied under the lock, serialised and written outside it.
            let list: Vec<Entry> = registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entries
                .values()
                .cloned()
                .collect();
            let path = saves.path.clone();
            let written = tokio::task::spawn_blocking(move || {
                let bytes = serde_json::to_vec_pretty(&list).map_err(std::io::Error::other)?;
                write_atomically(&path, &bytes)
            })
            .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("cannot save {}: {e}", saves.path.display()),
                Err(e) => tracing::error!("saving {} failed: {e}", saves.path.display()),
            }
        }
        if !open {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A download named `t{i}` of `size` bytes with info-hash `[i; 20]`.
    fn entry(i: u8, size: u64) -> Entry {
        Entry {
            info_hash: InfoHash([i; 20]),
            torrent_file: PathBuf::from("/x"),
            download_dir: PathBuf::from("/dl"),
            folder_pin: None,
            paused: false,
            name: format!("t{i}"),
            size,
            download_rate_limit: None,
            upload_rate_limit: None,
            file_priorities: None,
            sequential: false,
            queue: QueueState::default(),
        }
    }

    /// Runs `change` on the registry in `dir` while its saver runs, then
    /// stops the saver as the daemon does.
    async fn changed_and_saved(dir: &Path, change: impl FnOnce(&mut Registry)) {
        let (r, saves) = Registry::load(dir);
        let shared = Arc::new(Mutex::new(r));
        let cancel = CancellationToken::new();
        let saver = tokio::spawn(save_loop(saves, shared.clone(), cancel.clone()));
        change(&mut shared.lock().unwrap());
        cancel.cancel();
        saver.await.unwrap();
    }

    #[tokio::test]
    async fn downloads_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let ih = InfoHash([7; 20]);
        let entry = Entry {
            info_hash: ih,
            torrent_file: Registry::load(dir.path()).0.torrent_path(ih),
            download_dir: PathBuf::from("/dl"),
            folder_pin: None,
            paused: false,
            name: "t".into(),
            size: 1,
            download_rate_limit: None,
            upload_rate_limit: None,
            file_priorities: None,
            sequential: false,
            queue: QueueState::default(),
        };
        let entry = store_torrent(entry, b"d4:infodee".to_vec()).await.unwrap();
        changed_and_saved(dir.path(), |r| {
            r.insert(entry);
            r.set_paused(ih, true);
            assert!(r.set_limits(ih, Some(1000), None));
            assert!(r.set_file_priorities(ih, vec![FilePriority::Skip, FilePriority::High]));
            assert!(!r.set_limits(InfoHash([8; 20]), None, None));
        })
        .await;
        let (again, _) = Registry::load(dir.path());
        let e = again.get(ih).unwrap();
        assert!(e.paused);
        assert_eq!(
            (e.download_rate_limit, e.upload_rate_limit),
            (Some(1000), None)
        );
        assert_eq!(
            e.file_priorities,
            Some(vec![FilePriority::Skip, FilePriority::High])
        );
        assert_eq!(std::fs::read(&e.torrent_file).unwrap(), b"d4:infodee");
        let text = std::fs::read_to_string(dir.path().join("downloads.json")).unwrap();
        assert!(text.contains(&"07".repeat(20)), "{text}");
    }

    #[tokio::test]
    async fn the_queue_order_goals_and_finished_downloads_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let order = |r: &Registry| -> Vec<u8> {
            r.in_queue_order()
                .iter()
                .map(|e| e.info_hash.0[0])
                .collect()
        };
        let goal = SeedGoal {
            ratio: p2p_proto::ipc::GoalLimit::Unlimited,
            ..SeedGoal::default()
        };
        changed_and_saved(dir.path(), |r| {
            for i in [5u8, 3, 9] {
                r.insert(entry(i, 10));
            }
            // New downloads go last, whatever their info-hash.
            assert_eq!(order(r), [5, 3, 9]);
            r.set_queue_order(&[InfoHash([9; 20]), InfoHash([5; 20]), InfoHash([3; 20])]);
            r.set_complete(InfoHash([5; 20]));
            assert!(r.set_seed_goal(InfoHash([3; 20]), goal));
            r.finish(
                InfoHash([5; 20]),
                Finished {
                    reason: "ratio 1.00 reached".into(),
                    uploaded: 10,
                },
            );
        })
        .await;
        let (mut again, _) = Registry::load(dir.path());
        assert_eq!(order(&again), [9, 5, 3]);
        let five = again.get(InfoHash([5; 20])).unwrap();
        assert!(five.paused && five.queue.complete);
        assert_eq!(five.queue.finished.as_ref().unwrap().uploaded, 10);
        assert_eq!(again.get(InfoHash([3; 20])).unwrap().queue.seed_goal, goal);
        // Resumed, it is no longer finished.
        again.set_paused(InfoHash([5; 20]), false);
        assert_eq!(again.get(InfoHash([5; 20])).unwrap().queue.finished, None);
    }

    #[test]
    fn a_list_written_before_per_torrent_limits_loads_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let old = format!(
            r#"[{{"info_hash":"{}","torrent_file":"/t","download_dir":"/d","paused":false}}]"#,
            "09".repeat(20)
        );
        std::fs::write(dir.path().join("downloads.json"), old).unwrap();
        let (r, _) = Registry::load(dir.path());
        let e = r.get(InfoHash([9; 20])).unwrap();
        assert_eq!((e.download_rate_limit, e.upload_rate_limit), (None, None));
    }

    #[tokio::test]
    async fn a_burst_of_changes_ends_with_the_last_list_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        changed_and_saved(dir.path(), |r| {
            for i in 0..50u8 {
                r.insert(entry(i, u64::from(i)));
            }
            r.remove(InfoHash([0; 20]));
        })
        .await;
        let (again, _) = Registry::load(dir.path());
        assert_eq!(again.entries().count(), 49);
        assert!(again.get(InfoHash([0; 20])).is_none());
    }
}
