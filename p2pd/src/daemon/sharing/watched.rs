//! Connects the watched folder to the engine: what the watcher shares is
//! seeded (and announced, and published), what it withdraws stops.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use p2p_proto::ipc::Event;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{SharedItem, Sharing};
use crate::watcher::{self, WatchEvent, WatcherConfig};

/// How often the watcher checks that a new item stopped changing.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The folders of the watched folder, from the settings.
#[derive(Debug, Clone)]
pub(crate) struct WatchedFolder {
    /// The watched folder.
    pub shared_dir: PathBuf,
    /// Where its .torrent files are written.
    pub torrents_dir: PathBuf,
    /// The watcher's hash cache.
    pub cache_file: PathBuf,
}

impl Sharing {
    /// Follows the watched folder until `cancel`.
    pub async fn watch(self: Arc<Self>, folder: WatchedFolder, cancel: CancellationToken) {
        let config = WatcherConfig {
            poll_interval: POLL_INTERVAL,
            trackers: self.tiers.subscribe(),
            ..WatcherConfig::new(folder.shared_dir, folder.torrents_dir, folder.cache_file)
        };
        let (tx, mut rx) = mpsc::channel(256);
        let watcher = tokio::spawn(watcher::run(config, tx, cancel));
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
                    self.items().insert(ih, item.clone());
                    if let Err(e) = self.seed(item.clone()).await {
                        tracing::warn!("cannot share {}: {e}", rel_path.display());
                    }
                    let _ = self.events.send(Event::Shared {
                        info_hash: ih,
                        path: rel_path.display().to_string(),
                    });
                    // Into the catalog, in the background: the tracker may be slow.
                    let me = self.clone();
                    tokio::spawn(async move { me.publish(&item).await });
                }
                WatchEvent::Unshared {
                    rel_path,
                    info_hash,
                } => {
                    let item = self.items().remove(&info_hash);
                    // A download of the same torrent elsewhere is not ours to stop.
                    if let Some(item) = item {
                        self.engine.remove(info_hash).await;
                        tracing::info!(info_hash = %info_hash, "stopped sharing {}", rel_path.display());
                        let me = self.clone();
                        tokio::spawn(async move {
                            me.withdraw(info_hash, item.group.as_deref()).await;
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
}
