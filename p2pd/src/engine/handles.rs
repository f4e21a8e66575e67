//! The engine's open data files: a bounded cache of handles shared by every
//! torrent, the least recently used closed first. A torrent with more files
//! than the process may hold descriptors then still downloads and seeds,
//! and the listener and the control socket keep descriptors to accept with.
//!
//! Not here: opening files (nofollow) or knowing what they hold (storage).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Which handle of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Read-only.
    Read,
    /// Read and write.
    Write,
    /// Write with direct I/O.
    Direct,
}

/// A file of a torrent: the storage's id, the file's index, the handle kind.
pub type Key = (u64, usize, Kind);

/// Handles kept open, at most `capacity`.
#[derive(Debug)]
pub struct FileHandles {
    capacity: usize,
    lru: Mutex<Lru>,
    next_owner: AtomicU64,
}

#[derive(Debug, Default)]
struct Lru {
    open: HashMap<Key, (Arc<File>, u64)>,
    /// Last use -> key; the first entry is the one to close next.
    by_use: BTreeMap<u64, Key>,
    clock: u64,
}

impl FileHandles {
    /// A cache of at most `capacity` handles (at least one).
    pub fn new(capacity: usize) -> FileHandles {
        FileHandles {
            capacity: capacity.max(1),
            lru: Mutex::new(Lru::default()),
            next_owner: AtomicU64::new(1),
        }
    }

    /// An id for a new storage's keys.
    pub fn new_owner(&self) -> u64 {
        self.next_owner.fetch_add(1, Ordering::Relaxed)
    }

    /// Handles open now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle for `key`, if open (it becomes the most recently used).
    pub fn get(&self, key: Key) -> Option<Arc<File>> {
        let mut lru = self.lock();
        lru.clock += 1;
        let now = lru.clock;
        let (file, used) = lru.open.get_mut(&key)?;
        let (file, before) = (file.clone(), std::mem::replace(used, now));
        lru.by_use.remove(&before);
        lru.by_use.insert(now, key);
        Some(file)
    }

    /// Keeps `file` open for `key`, closing the least recently used handle
    /// when full. A handle in use elsewhere closes when its user drops it.
    pub fn insert(&self, key: Key, file: Arc<File>) -> Arc<File> {
        let mut evicted = Vec::new();
        let mut lru = self.lock();
        lru.clock += 1;
        let now = lru.clock;
        if let Some((_, before)) = lru.open.insert(key, (file.clone(), now)) {
            lru.by_use.remove(&before);
        }
        lru.by_use.insert(now, key);
        while lru.open.len() > self.capacity {
            let Some((_, oldest)) = lru.by_use.pop_first() else {
                break;
            };
            evicted.extend(lru.open.remove(&oldest));
        }
        drop(lru);
        // Closed outside the lock.
        drop(evicted);
        file
    }

    /// Closes every handle of one storage (its torrent is gone).
    pub fn forget(&self, owner: u64) {
        let mut lru = self.lock();
        let keys: Vec<Key> = lru.open.keys().filter(|k| k.0 == owner).copied().collect();
        let mut closed = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some((file, used)) = lru.open.remove(&k) {
                lru.by_use.remove(&used);
                closed.push(file);
            }
        }
        drop(lru);
        drop(closed);
    }
}

/// `configured`, lowered to a quarter of the soft descriptor limit (peer
/// sockets, the listener and the control socket need the rest), at least 4.
pub fn capacity_within_limit(configured: usize) -> usize {
    let limit = descriptor_limit().map_or(usize::MAX, |n| (n / 4).max(4));
    let capacity = configured.min(limit).max(1);
    if capacity < configured {
        tracing::info!(
            "keeping at most {capacity} data files open (a quarter of the descriptor limit)"
        );
    }
    capacity
}

#[cfg(target_os = "linux")]
fn descriptor_limit() -> Option<usize> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    usize::try_from(limit).ok()
}

#[cfg(not(target_os = "linux"))]
fn descriptor_limit() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_handle_is_closed_first_and_the_cache_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let h = FileHandles::new(3);
        let file = |i: usize| {
            let f = File::create(dir.path().join(i.to_string())).unwrap();
            Arc::new(f)
        };
        for i in 0..3 {
            h.insert((1, i, Kind::Read), file(i));
        }
        // 0 is used again, so 1 is the oldest.
        assert!(h.get((1, 0, Kind::Read)).is_some());
        h.insert((1, 3, Kind::Read), file(3));
        assert_eq!(h.len(), 3);
        assert!(h.get((1, 1, Kind::Read)).is_none());
        assert!(h.get((1, 0, Kind::Read)).is_some());
        for i in 4..100 {
            h.insert((2, i, Kind::Write), file(i));
            assert!(h.len() <= 3);
        }
        h.forget(2);
        assert_eq!(h.len(), 0);
    }
}
