//! The watched folder: files and folders placed in `shared/` become torrents
//! once they are complete, and stop being torrents when they go away.
//! [`run`] reports what to seed and what to withdraw as [`WatchEvent`]s; it
//! never seeds, announces or talks to the tracker itself.
//!
//! # What is an item
//! - Every **folder** directly under `shared/` is a **group folder**
//!   (`shared/<group>/`); its direct children, files or folders, are that
//!   group's items.
//! - Every **file** directly under `shared/` is a **public** item. A folder
//!   cannot be shared publicly as a folder (it would be taken for a group):
//!   share its files one by one, or an archive of it.
//! - Hidden names (leading `.`) and temporary names (`.part`, `.tmp`, `~`,
//!   `.crdownload`, `.partial`, any case) are never items, nor group folders.
//!   A folder item that contains a temporary name is not complete yet.
//! - Symlinks are never followed: a symlinked item or group folder, or a
//!   folder item that contains a symlink, is skipped with a warning (sharing
//!   it would publish data from outside `shared/`, whose changes we cannot
//!   see). Empty files and folders are skipped quietly. Names that are not
//!   UTF-8 are skipped.
//! - Group items are `private` with `source` = the group name in the info
//!   dictionary, so the same bytes in two groups make two info-hashes.
//!
//! # When an item is complete
//! At start a full scan, then notify events (recursive; an overflow, an
//! error or a full event queue means a full rescan). After the last event
//! for an item, its fingerprint (a file: size and mtime; a folder: number
//! of files, total size, newest mtime and a digest of every path, size and
//! mtime) must be the same at two consecutive polls. Where the platform
//! reports close-after-write (Linux), a file written to and not closed yet
//! is never complete, however long the writer pauses. Hashing runs on the
//! blocking pool, at most two items at a time, and is cancelled when the
//! item changes; a result is kept only if the fingerprint after hashing is
//! still the one before.
//!
//! # Changes
//! - Modified: `Unshared` (old info-hash) as soon as the change is seen,
//!   then `Shared` when the new version is complete and hashed.
//! - Deleted, moved out, or no longer an item: `Unshared`, and its .torrent
//!   is deleted.
//! - Renamed or moved between groups inside `shared/` (same device, inode,
//!   size and mtime, files or folders): `Unshared` (old) then `Shared` (new
//!   name) built from the old piece hashes, without reading the data
//!   (`rehashed: false`). Without inodes (not unix), size and mtimes decide.
//! - Restart: an item whose fingerprint matches the cache is `Shared` again
//!   from its .torrent without hashing; one that changed or vanished while
//!   we were down is `Unshared`, then handled as new.
//!
//! # Files written
//! `torrents/<name>.torrent`, or `<name>.<first 8 hex digits of the
//! info-hash>.torrent` when that name belongs to another item (the same
//! name in two groups) or to a file we did not write. The cache (JSON) maps
//! each item's path to its fingerprint, info-hash and .torrent name. Both
//! are written atomically (temp file, fsync, rename). `torrents_dir` and
//! `cache_path` must not be inside `shared_dir`.

mod build;
mod cache;
// Also used by the .torrent watch folder (`crate::watchdir`).
pub(crate) mod events;
mod names;
mod probe;
mod publish;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::{Metainfo, TorrentExtras};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use events::{FsChange, FsEvents, classify};
use names::ItemKey;
use state::{Published, State, Stop};

/// The poll period when none is configured.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest poll period accepted (shorter ones are raised to it).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// `created by` in the torrents we make.
pub const CREATED_BY: &str = concat!("p2pd ", env!("CARGO_PKG_VERSION"));

/// Where to watch and how to make torrents.
#[derive(Debug, Clone)]
pub struct WatcherConfig {
    /// The watched folder (created if missing).
    pub shared_dir: PathBuf,
    /// Where `<name>.torrent` files are written (created if missing).
    pub torrents_dir: PathBuf,
    /// The hash cache file.
    pub cache_path: PathBuf,
    /// Stability poll period.
    pub poll_interval: Duration,
    /// Announce tiers written into created torrents, as they are when each
    /// one is made (the daemon may change them while the watcher runs).
    pub trackers: tokio::sync::watch::Receiver<Vec<Vec<String>>>,
    /// Piece length; `None` uses the automatic rule of `p2p_proto::create`.
    pub piece_length: Option<u64>,
}

impl WatcherConfig {
    /// A config with the default poll period, no trackers and automatic piece length.
    pub fn new(shared_dir: PathBuf, torrents_dir: PathBuf, cache_path: PathBuf) -> Self {
        WatcherConfig {
            shared_dir,
            torrents_dir,
            cache_path,
            poll_interval: DEFAULT_POLL_INTERVAL,
            trackers: tokio::sync::watch::channel(Vec::new()).1,
            piece_length: None,
        }
    }
}

/// What the watcher asks of the daemon.
// Events are rare (one per item change) and `Shared` is the common one:
// boxing its metainfo would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// An item is complete and hashed: seed it.
    Shared {
        /// The item's path relative to `shared_dir`.
        rel_path: PathBuf,
        /// Its group, `None` for a public item.
        group: Option<String>,
        /// Its torrent.
        metainfo: Metainfo,
        /// Where its .torrent was written.
        torrent_file: PathBuf,
        /// The folder that contains the item (`shared/` or `shared/<group>/`):
        /// what the engine takes as the download folder.
        data_dir: PathBuf,
        /// Whether the data was read and hashed for this event; false when the
        /// torrent came from the cache (restart) or from a rename.
        rehashed: bool,
    },
    /// An item was deleted, moved out, or replaced by a modified version:
    /// stop seeding and withdraw this info-hash.
    Unshared {
        /// The item's path relative to `shared_dir`.
        rel_path: PathBuf,
        /// The info-hash to withdraw.
        info_hash: InfoHash,
    },
}

/// Why the watcher could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A folder could not be created or resolved.
    #[error("cannot prepare {}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `torrents_dir` or `cache_path` inside the watched folder.
    #[error("{} must not be inside the shared folder {}", path.display(), shared.display())]
    InsideShared {
        /// The offending path.
        path: PathBuf,
        /// The shared folder.
        shared: PathBuf,
    },
    /// The filesystem watch could not be set up.
    #[error("cannot watch {}", path.display())]
    Notify {
        /// The watched folder.
        path: PathBuf,
        /// The error.
        source: notify::Error,
    },
    /// The filesystem watch ended on its own.
    #[error("the filesystem watch stopped")]
    WatchStopped,
    /// The receiver of the events was dropped before the watcher was cancelled.
    #[error("the watch event receiver was dropped")]
    EventsClosed,
    /// A setup task panicked or was cancelled.
    #[error("a watcher setup task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// Watches `config.shared_dir` until `cancel` fires, sending what to seed and
/// what to withdraw on `events`. On cancel, running hashes are stopped and
/// awaited and the cache is saved before returning.
pub async fn run(
    config: WatcherConfig,
    events: mpsc::Sender<WatchEvent>,
    cancel: CancellationToken,
) -> Result<(), WatchError> {
    let (config, published) = tokio::task::spawn_blocking(move || prepare(config)).await??;
    let config = Arc::new(config);
    let root = config.shared_dir.clone();
    let mut fs = tokio::task::spawn_blocking(move || FsEvents::start(&root))
        .await?
        .map_err(|source| WatchError::Notify {
            path: config.shared_dir.clone(),
            source,
        })?;
    let mut state = State::new(Arc::clone(&config), events, cancel.clone(), published);
    let mut ticker = tokio::time::interval(config.poll_interval.max(MIN_POLL_INTERVAL));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let result = loop {
        let step = tokio::select! {
            () = cancel.cancelled() => Err(Stop::Cancelled),
            event = fs.next() => match event {
                Some(event) => {
                    for change in classify(event) {
                        state.on_fs_change(change);
                    }
                    Ok(())
                }
                None => break Err(WatchError::WatchStopped),
            },
            Some(done) = state.jobs.join_next_with_id(), if !state.jobs.is_empty() => {
                state.on_job_done(done).await
            }
            _ = ticker.tick() => {
                if fs.take_lost() {
                    state.on_fs_change(FsChange::Rescan("the event queue was full".into()));
                }
                state.poll().await
            }
        };
        match step {
            Ok(()) => {}
            Err(Stop::Cancelled) => break Ok(()),
            Err(Stop::Closed) if cancel.is_cancelled() => break Ok(()),
            Err(Stop::Closed) => break Err(WatchError::EventsClosed),
        }
    };
    state.shutdown().await;
    drop(fs);
    result
}

/// Creates the folders, resolves them, and reloads the cached torrents. Blocking.
fn prepare(
    mut config: WatcherConfig,
) -> Result<(WatcherConfig, HashMap<ItemKey, Published>), WatchError> {
    let resolve = |path: &Path| -> Result<PathBuf, WatchError> {
        let io = |source| WatchError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        std::fs::canonicalize(path).map_err(io)
    };
    config.shared_dir = resolve(&config.shared_dir)?;
    config.torrents_dir = resolve(&config.torrents_dir)?;
    let cache_name = config
        .cache_path
        .file_name()
        .map(|n| n.to_os_string())
        .ok_or_else(|| WatchError::Io {
            path: config.cache_path.clone(),
            source: std::io::Error::other("the cache path has no file name"),
        })?;
    let cache_dir = match config.cache_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    config.cache_path = resolve(&cache_dir)?.join(cache_name);
    for path in [&config.torrents_dir, &config.cache_path] {
        if path.starts_with(&config.shared_dir) {
            return Err(WatchError::InsideShared {
                path: path.clone(),
                shared: config.shared_dir.clone(),
            });
        }
    }
    let extras = TorrentExtras {
        trackers: config.trackers.borrow().clone(),
        created_by: Some(CREATED_BY.to_owned()),
        ..TorrentExtras::default()
    };
    let mut published = HashMap::new();
    for (key, entry) in cache::load(&config.cache_path) {
        match build::reload(&config.torrents_dir, &entry, &extras) {
            Ok(metainfo) => {
                published.insert(
                    key,
                    Published {
                        entry,
                        metainfo,
                        announced: false,
                    },
                );
            }
            Err(reason) => {
                tracing::info!(item = %key.to_rel_string(), %reason, "cached torrent unusable; re-hashing");
                build::remove_torrent(&config.torrents_dir, &entry.torrent_file);
            }
        }
    }
    Ok((config, published))
}
