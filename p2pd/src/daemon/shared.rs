//! Connects the watched folder to the engine: what the watcher shares is
//! seeded (and announced), what it withdraws stops.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use p2p_proto::ipc::Event;
use p2p_proto::metainfo::Metainfo;
use tokio::sync::mpsc;

use super::Daemon;
use crate::engine::{AddTorrent, EngineError};
use crate::watcher::{self, WatchEvent, WatcherConfig};

/// How often the watcher checks that a new item stopped changing.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A watched-folder item being seeded.
#[derive(Debug, Clone)]
pub struct SharedItem {
    /// Its torrent (kept to share it again after a login).
    pub metainfo: Metainfo,
    /// Folder that contains it.
    pub data_dir: PathBuf,
    /// Its group (`shared/<group>/`), `None` for a public item.
    pub group: Option<String>,
}

pub(crate) async fn run(daemon: Arc<Daemon>) {
    let s = &daemon.settings;
    let config = WatcherConfig {
        poll_interval: POLL_INTERVAL,
        trackers: s.tracker.iter().map(|t| vec![t.clone()]).collect(),
        ..WatcherConfig::new(
            s.shared_dir.clone(),
            s.torrents_dir.clone(),
            s.state_dir.join("watch-cache.json"),
        )
    };
    let (tx, mut rx) = mpsc::channel(256);
    let watcher = tokio::spawn(watcher::run(config, tx, daemon.cancel.child_token()));
    while let Some(event) = rx.recv().await {
        match event {
            WatchEvent::Shared {
                rel_path,
                group,
                metainfo,
                data_dir,
                rehashed,
                ..
            } => {
                let ih = metainfo.info_hash;
                tracing::info!(torrent = %metainfo.info.name, info_hash = %ih, rehashed, "sharing {}", rel_path.display());
                let item = SharedItem {
                    metainfo,
                    data_dir,
                    group,
                };
                daemon
                    .shared_items
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ih, item.clone());
                if let Err(e) = seed(&daemon, item.clone()).await {
                    tracing::warn!("cannot share {}: {e}", rel_path.display());
                }
                let _ = daemon.events.send(Event::Shared {
                    info_hash: ih,
                    path: rel_path.display().to_string(),
                });
                // Into the catalog, in the background: the tracker may be slow.
                let d = daemon.clone();
                tokio::spawn(async move { super::community::publish(&d, &item).await });
            }
            WatchEvent::Unshared {
                rel_path,
                info_hash,
            } => {
                let item = daemon
                    .shared_items
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&info_hash);
                // A download of the same torrent elsewhere is not ours to stop.
                if let Some(item) = item {
                    daemon.engine.remove(info_hash).await;
                    tracing::info!(info_hash = %info_hash, "stopped sharing {}", rel_path.display());
                    let d = daemon.clone();
                    tokio::spawn(async move {
                        super::community::withdraw(&d, info_hash, item.group.as_deref()).await;
                    });
                }
            }
        }
    }
    match watcher.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("the watched folder stopped: {e}"),
        Err(e) => tracing::error!("the watched folder task failed: {e}"),
    }
}

/// Seeds a shared item, unless sharing is stopped by a logout.
pub(crate) async fn seed(daemon: &Daemon, item: SharedItem) -> Result<(), EngineError> {
    let Some(metainfo) = daemon.torrent_for_now(item.metainfo) else {
        return Ok(());
    };
    let added = daemon
        .engine
        .add(AddTorrent {
            metainfo,
            download_dir: item.data_dir,
            resume_dir: daemon.settings.state_dir.join("shared-progress"),
            download_rate_limit: None,
            upload_rate_limit: None,
            extra_peers: Vec::new(),
            use_trackers: true,
            // The watcher hashed it a moment ago.
            assume_complete: true,
        })
        .await;
    match added {
        Ok(_) | Err(EngineError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
