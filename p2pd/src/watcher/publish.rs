//! The watcher's state machine, part two: hashing and rename jobs on the
//! blocking pool, their results, writing the .torrent, sending `Shared`,
//! and persisting the cache. Never blocks the async loop: file writes and
//! hashing go through `spawn_blocking`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use p2p_proto::create::CreateOptions;
use p2p_proto::metainfo::{Metainfo, TorrentExtras};
use tokio::task::JoinError;

use super::build::{self, BuildError, Built};
use super::cache::{self, CacheEntry};
use super::names::ItemKey;
use super::probe::Fingerprint;
use super::state::{Failure, JobResult, Published, Running, State, Stop};
use super::{CREATED_BY, WatchEvent};

/// Items hashed at once (each hash already uses every core).
const MAX_HASH_JOBS: usize = 2;

impl State {
    /// The options `create` gets for `key`: group items are private with the
    /// group as `source`, public ones are neither.
    fn create_options(&self, key: &ItemKey) -> CreateOptions {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        CreateOptions {
            piece_length: self.config.piece_length,
            private: key.group.is_some(),
            source: key.group.clone(),
            include_hidden: false,
            threads: None,
            extras: TorrentExtras {
                trackers: self.config.trackers.borrow().clone(),
                created_by: Some(CREATED_BY.to_owned()),
                creation_date: Some(now),
                ..TorrentExtras::default()
            },
        }
    }

    /// Marks a job as running for `key`; returns its id and cancel flag.
    fn new_running(&mut self, key: &ItemKey, fp: Fingerprint) -> Option<(u64, Arc<AtomicBool>)> {
        let pending = self.pending.get_mut(key)?;
        self.next_job += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        pending.running = Some(Running {
            id: self.next_job,
            fp,
            cancel: Arc::clone(&cancel),
        });
        Some((self.next_job, cancel))
    }

    /// Starts hashing queued items while slots are free.
    pub fn spawn_queued(&mut self) {
        while self.hashing_jobs < MAX_HASH_JOBS {
            let Some(key) = self.queue.pop_front() else {
                return;
            };
            let Some(fp) = self.pending.get_mut(&key).and_then(|p| p.queued.take()) else {
                continue;
            };
            let Some((id, cancel)) = self.new_running(&key, fp) else {
                continue;
            };
            self.hashing_jobs += 1;
            let opts = self.create_options(&key);
            let root = self.config.shared_dir.clone();
            let job_key = key.clone();
            let handle = self.jobs.spawn_blocking(move || {
                let result = build::hash_item(&root, &job_key, &fp, &opts, &cancel);
                (job_key, id, result)
            });
            self.task_keys.insert(handle.id(), (key, id, true));
        }
    }

    /// Builds the torrent of a renamed item from its old one, without hashing.
    pub fn spawn_rename(&mut self, key: ItemKey, fp: Fingerprint, old: Metainfo) {
        let Some((id, _cancel)) = self.new_running(&key, fp) else {
            return;
        };
        let opts = self.create_options(&key);
        let job_key = key.clone();
        let handle = self.jobs.spawn_blocking(move || {
            let result = build::rename_item(&old, &job_key, &opts);
            (job_key, id, result)
        });
        self.task_keys.insert(handle.id(), (key, id, false));
    }

    /// Handles a finished job: publish its torrent, retry, or give up on the item.
    pub async fn on_job_done(
        &mut self,
        done: Result<(tokio::task::Id, JobResult), JoinError>,
    ) -> Result<(), Stop> {
        let task_id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let Some((key, id, hashing)) = self.task_keys.remove(&task_id) else {
            return Ok(());
        };
        if hashing {
            self.hashing_jobs = self.hashing_jobs.saturating_sub(1);
        }
        let current = self
            .pending
            .get_mut(&key)
            .and_then(|p| p.running.take_if(|r| r.id == id));
        let result = match done {
            Ok((_, (_, _, r))) => r,
            Err(e) => {
                tracing::error!(item = %key.to_rel_string(), error = %e, "a hashing task failed");
                Err(BuildError::Cancelled)
            }
        };
        let outcome = match current {
            // Withdrawn or superseded meanwhile: the result is stale.
            None => Ok(()),
            Some(run) => self.finish(key, run.fp, result).await,
        };
        self.spawn_queued();
        outcome
    }

    async fn finish(
        &mut self,
        key: ItemKey,
        fp: Fingerprint,
        result: Result<Built, BuildError>,
    ) -> Result<(), Stop> {
        match result {
            Ok(built) => self.publish(key, fp, built).await,
            Err(BuildError::Cancelled | BuildError::Changed) => {
                if let Some(p) = self.pending.get_mut(&key) {
                    p.last_fp = None;
                }
                self.dirty.insert(key);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(item = %key.to_rel_string(), error = %e, "cannot make a torrent; skipping until it changes");
                self.pending.remove(&key);
                self.failed.insert(key, Failure::At(fp));
                Ok(())
            }
        }
    }

    async fn publish(&mut self, key: ItemKey, fp: Fingerprint, built: Built) -> Result<(), Stop> {
        let taken: HashSet<String> = self
            .published
            .values()
            .map(|p| p.entry.torrent_file.clone())
            .collect();
        let dir = self.config.torrents_dir.clone();
        let Built {
            metainfo,
            bytes,
            rehashed,
        } = built;
        let meta = metainfo.clone();
        let written =
            tokio::task::spawn_blocking(move || build::write_torrent(&dir, &meta, &bytes, &taken))
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r);
        let torrent_file = match written {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(item = %key.to_rel_string(), error = %e, "cannot write the .torrent");
                self.pending.remove(&key);
                self.failed.insert(key, Failure::At(fp));
                return Ok(());
            }
        };
        tracing::info!(
            item = %key.to_rel_string(),
            info_hash = %build::short(&metainfo.info_hash),
            rehashed,
            "shared"
        );
        self.pending.remove(&key);
        self.cache_dirty = true;
        self.published.insert(
            key.clone(),
            Published {
                entry: CacheEntry {
                    fingerprint: fp,
                    info_hash: metainfo.info_hash.to_hex(),
                    torrent_file,
                },
                metainfo,
                announced: true,
            },
        );
        match self.shared_event(&key, rehashed) {
            Some(event) => self.emit(event).await,
            None => Ok(()),
        }
    }

    /// The `Shared` event of a published item.
    pub fn shared_event(&self, key: &ItemKey, rehashed: bool) -> Option<WatchEvent> {
        let p = self.published.get(key)?;
        Some(WatchEvent::Shared {
            rel_path: key.rel_path(),
            group: key.group.clone(),
            metainfo: p.metainfo.clone(),
            torrent_file: self.config.torrents_dir.join(&p.entry.torrent_file),
            data_dir: key.data_dir(&self.config.shared_dir),
            rehashed,
        })
    }

    /// Deletes the .torrent files of withdrawn items.
    pub async fn flush_removals(&mut self) {
        if self.to_remove.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.to_remove);
        let dir = self.config.torrents_dir.clone();
        let done = tokio::task::spawn_blocking(move || {
            for name in names {
                build::remove_torrent(&dir, &name);
            }
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "removing withdrawn .torrent files failed");
        }
    }

    /// Writes the cache if anything changed since the last write.
    pub async fn save_cache(&mut self) {
        if !self.cache_dirty {
            return;
        }
        self.cache_dirty = false;
        let entries: Vec<(ItemKey, CacheEntry)> = self
            .published
            .iter()
            .map(|(k, p)| (k.clone(), p.entry.clone()))
            .collect();
        let path = self.config.cache_path.clone();
        let saved = tokio::task::spawn_blocking(move || {
            cache::save(&path, entries.iter().map(|(k, e)| (k, e)))
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        if let Err(e) = saved {
            tracing::warn!(path = %self.config.cache_path.display(), error = %e, "cannot save the hash cache");
            self.cache_dirty = true;
        }
    }

    /// Cancels every job, waits for them, and saves the cache.
    pub async fn shutdown(&mut self) {
        for p in self.pending.values() {
            if let Some(r) = &p.running {
                r.cancel.store(true, Ordering::Relaxed);
            }
        }
        while self.jobs.join_next().await.is_some() {}
        self.flush_removals().await;
        self.save_cache().await;
    }
}
