//! The watcher's state machine, part one: which items are dirty, how stable
//! they are, and what each poll decides (withdraw, wait, hash, rename).
//! Runs on the async loop; every filesystem access goes through
//! `spawn_blocking`. Job results and publishing are in `publish.rs`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use p2p_proto::metainfo::Metainfo;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::build::{self, BuildError, Built};
use super::cache::CacheEntry;
use super::events::{CLOSE_EVENTS, FsChange};
use super::names::{ItemKey, key_for};
use super::probe::{Fingerprint, Probe, list_items, probe};
use super::{WatchEvent, WatcherConfig};

/// Withdrawn items remembered for rename detection.
const MAX_GONE: usize = 1024;

/// Why the loop must stop.
#[derive(Debug)]
pub(super) enum Stop {
    /// The cancellation token fired.
    Cancelled,
    /// Nobody listens to the events any more.
    Closed,
}

/// An item being shared.
#[derive(Debug)]
pub(super) struct Published {
    pub entry: CacheEntry,
    pub metainfo: Metainfo,
    /// Whether `Shared` was sent in this run (false for items loaded from the cache).
    pub announced: bool,
}

/// A job in flight for an item.
#[derive(Debug)]
pub(super) struct Running {
    pub id: u64,
    pub fp: Fingerprint,
    pub cancel: Arc<AtomicBool>,
}

/// Stability tracking for an item that is not (or no longer) shared as it is.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// The fingerprint seen at the last poll since the last event.
    pub last_fp: Option<Fingerprint>,
    /// Complete with this fingerprint, waiting for a hashing slot.
    pub queued: Option<Fingerprint>,
    pub running: Option<Running>,
}

/// Why an item is not retried.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// Hashing failed on this fingerprint; retried when it changes.
    At(Fingerprint),
    /// Refused for this reason (already logged).
    Unsupported(String),
}

/// A withdrawn item, kept so that it reappearing elsewhere is a rename.
#[derive(Debug)]
pub(super) struct GoneItem {
    pub fp: Fingerprint,
    pub metainfo: Metainfo,
}

/// What a finished job returns.
pub(super) type JobResult = (ItemKey, u64, Result<Built, BuildError>);

/// Everything the watcher knows.
#[derive(Debug)]
pub(super) struct State {
    pub config: Arc<WatcherConfig>,
    pub events: mpsc::Sender<WatchEvent>,
    pub cancel: CancellationToken,
    pub published: HashMap<ItemKey, Published>,
    pub pending: HashMap<ItemKey, Pending>,
    /// Items to probe at the next poll.
    pub dirty: HashSet<ItemKey>,
    /// Files written to and not closed yet.
    pub open_writes: HashSet<PathBuf>,
    pub failed: HashMap<ItemKey, Failure>,
    pub gone: VecDeque<GoneItem>,
    /// Complete items waiting for a hashing slot.
    pub queue: VecDeque<ItemKey>,
    pub jobs: JoinSet<JobResult>,
    /// Each job's item, job id, and whether it hashes (counts against the limit).
    pub task_keys: HashMap<tokio::task::Id, (ItemKey, u64, bool)>,
    pub hashing_jobs: usize,
    pub next_job: u64,
    /// .torrent files to delete at the end of this poll.
    pub to_remove: Vec<String>,
    pub rescan: bool,
    pub cache_dirty: bool,
}

impl State {
    /// A state that starts with a full scan; `published` comes from the cache.
    pub fn new(
        config: Arc<WatcherConfig>,
        events: mpsc::Sender<WatchEvent>,
        cancel: CancellationToken,
        published: HashMap<ItemKey, Published>,
    ) -> Self {
        State {
            config,
            events,
            cancel,
            published,
            pending: HashMap::new(),
            dirty: HashSet::new(),
            open_writes: HashSet::new(),
            failed: HashMap::new(),
            gone: VecDeque::new(),
            queue: VecDeque::new(),
            jobs: JoinSet::new(),
            task_keys: HashMap::new(),
            hashing_jobs: 0,
            next_job: 0,
            to_remove: Vec::new(),
            rescan: true,
            cache_dirty: false,
        }
    }

    /// Records a filesystem change: the item it touches is probed at the next poll.
    pub fn on_fs_change(&mut self, change: FsChange) {
        let path = match change {
            FsChange::Rescan(reason) => {
                tracing::info!(%reason, "rescanning the shared folder");
                self.rescan = true;
                return;
            }
            FsChange::Touched(p) => p,
            FsChange::Written(p) => {
                if CLOSE_EVENTS && self.key_of(&p).is_some() {
                    self.open_writes.insert(p.clone());
                }
                p
            }
            FsChange::Closed(p) => {
                self.open_writes.remove(&p);
                p
            }
            FsChange::Removed(p) => {
                self.open_writes.retain(|o| !o.starts_with(&p));
                p
            }
        };
        if let Some(key) = self.key_of(&path) {
            if let Some(p) = self.pending.get_mut(&key) {
                p.last_fp = None;
            }
            self.dirty.insert(key);
        }
    }

    fn key_of(&self, path: &Path) -> Option<ItemKey> {
        key_for(path.strip_prefix(&self.config.shared_dir).ok()?)
    }

    /// One poll: probe every dirty item, then withdraw what is gone and move
    /// the rest along (stable twice -> queued for hashing; a known
    /// fingerprint -> renamed without hashing).
    pub async fn poll(&mut self) -> Result<(), Stop> {
        let scan_root = std::mem::take(&mut self.rescan);
        if scan_root {
            // Close events may have been lost with the rest: trust the polls alone.
            self.open_writes.clear();
            let known: Vec<ItemKey> = self
                .published
                .keys()
                .chain(self.pending.keys())
                .cloned()
                .collect();
            self.dirty.extend(known);
        }
        if scan_root || !self.dirty.is_empty() {
            self.probe_dirty(scan_root).await?;
        }
        self.flush_removals().await;
        self.spawn_queued();
        self.save_cache().await;
        Ok(())
    }

    async fn probe_dirty(&mut self, scan_root: bool) -> Result<(), Stop> {
        // A dirty group folder: its known items may have gone with it.
        let tops: HashSet<String> = self
            .dirty
            .iter()
            .filter(|k| k.group.is_none())
            .map(|k| k.name.clone())
            .collect();
        let under: Vec<ItemKey> = self
            .published
            .keys()
            .chain(self.pending.keys())
            .filter(|k| k.group.as_ref().is_some_and(|g| tops.contains(g)))
            .cloned()
            .collect();
        self.dirty.extend(under);
        let keys: Vec<ItemKey> = self.dirty.drain().collect();
        let open: Vec<PathBuf> = self.open_writes.iter().cloned().collect();
        let root = self.config.shared_dir.clone();
        let probes = tokio::task::spawn_blocking(move || probe_all(&root, keys, &open, scan_root))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "probing the shared folder failed");
                BTreeMap::new()
            });
        // Withdrawals first, so that a rename seen in one poll finds its old half.
        for (key, probe) in &probes {
            match probe {
                Probe::Present { .. } => {}
                Probe::Unsupported(reason) => {
                    let failure = Failure::Unsupported(reason.clone());
                    if self.failed.get(key) != Some(&failure) {
                        tracing::warn!(item = %key.to_rel_string(), %reason, "not sharing");
                        self.failed.insert(key.clone(), failure);
                    }
                    self.withdraw(key, true).await?;
                }
                // A group folder is not an item (a public file may have become one).
                Probe::Nothing | Probe::Group(_) => {
                    self.failed.remove(key);
                    self.withdraw(key, true).await?;
                }
            }
        }
        for (key, probe) in probes {
            if let Probe::Present { fp, busy } = probe {
                self.consider(key, fp, busy).await?;
            }
        }
        Ok(())
    }

    /// Stops tracking an item; if it was shared, sends `Unshared` and (when
    /// `maybe_renamed`) remembers it so that it can reappear under another name.
    pub async fn withdraw(&mut self, key: &ItemKey, maybe_renamed: bool) -> Result<(), Stop> {
        if let Some(p) = self.pending.remove(key)
            && let Some(r) = p.running
        {
            r.cancel.store(true, Ordering::Relaxed);
        }
        let Some(p) = self.published.remove(key) else {
            return Ok(());
        };
        self.cache_dirty = true;
        self.to_remove.push(p.entry.torrent_file.clone());
        let info_hash = p.metainfo.info_hash;
        tracing::info!(item = %key.to_rel_string(), info_hash = %build::short(&info_hash), "withdrawn");
        if maybe_renamed {
            if self.gone.len() >= MAX_GONE {
                self.gone.pop_front();
            }
            self.gone.push_back(GoneItem {
                fp: p.entry.fingerprint,
                metainfo: p.metainfo,
            });
        }
        self.emit(WatchEvent::Unshared {
            rel_path: key.rel_path(),
            info_hash,
        })
        .await
    }

    async fn consider(
        &mut self,
        key: ItemKey,
        fp: Fingerprint,
        busy: Option<String>,
    ) -> Result<(), Stop> {
        match self.failed.get(&key) {
            Some(Failure::At(f)) if *f == fp => return Ok(()),
            Some(_) => {
                self.failed.remove(&key);
            }
            None => {}
        }
        if let Some(p) = self.published.get_mut(&key) {
            if p.entry.fingerprint != fp {
                // Modified: what is seeded no longer matches the disk.
                self.withdraw(&key, false).await?;
            } else if busy.is_some() {
                // Open for writing but not changed yet: keep looking.
                self.dirty.insert(key);
                return Ok(());
            } else {
                self.pending.remove(&key);
                if !p.announced {
                    p.announced = true;
                    if let Some(event) = self.shared_event(&key, false) {
                        return self.emit(event).await;
                    }
                }
                return Ok(());
            }
        }
        let pending = self.pending.entry(key.clone()).or_default();
        if let Some(r) = &pending.running {
            if r.fp != fp || busy.is_some() {
                r.cancel.store(true, Ordering::Relaxed);
            }
            return Ok(());
        }
        if let Some(reason) = busy {
            tracing::debug!(item = %key.to_rel_string(), %reason, "not complete yet");
            pending.last_fp = None;
            pending.queued = None;
            self.dirty.insert(key);
            return Ok(());
        }
        if pending.queued == Some(fp) {
            return Ok(());
        }
        pending.queued = None;
        if let Some(i) = self.gone.iter().position(|g| g.fp == fp) {
            if let Some(gone) = self.gone.remove(i) {
                self.spawn_rename(key, fp, gone.metainfo);
            }
            return Ok(());
        }
        if pending.last_fp == Some(fp) {
            // Unchanged across two polls since the last event: complete.
            pending.last_fp = None;
            pending.queued = Some(fp);
            self.queue.push_back(key);
        } else {
            pending.last_fp = Some(fp);
            self.dirty.insert(key);
        }
        Ok(())
    }

    /// Sends an event unless the watcher is being stopped.
    pub async fn emit(&self, event: WatchEvent) -> Result<(), Stop> {
        tokio::select! {
            sent = self.events.send(event) => sent.map_err(|_| Stop::Closed),
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
        }
    }
}

/// Probes `keys`, every direct child of `root` when `scan_root`, and the
/// items of every group folder met on the way. Blocking.
fn probe_all(
    root: &Path,
    keys: Vec<ItemKey>,
    open: &[PathBuf],
    scan_root: bool,
) -> BTreeMap<ItemKey, Probe> {
    let mut todo: VecDeque<ItemKey> = keys.into();
    if scan_root {
        match list_items(root, None) {
            Ok(tops) => todo.extend(tops),
            Err(e) => {
                tracing::warn!(dir = %root.display(), error = %e, "cannot list the shared folder")
            }
        }
    }
    let mut out = BTreeMap::new();
    while let Some(key) = todo.pop_front() {
        if out.contains_key(&key) {
            continue;
        }
        let path = key.disk_path(root);
        let writing = open.iter().any(|o| o.starts_with(&path));
        let result = probe(root, &key, writing);
        if let Probe::Group(items) = &result {
            todo.extend(items.iter().cloned());
        }
        out.insert(key, result);
    }
    out
}
