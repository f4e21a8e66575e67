//! When a dropped file may be read: the same size, mtime and inode at two
//! looks at least [`SETTLE`] apart, and no writer holding it open where the
//! platform reports close-after-write. A debouncer alone is not enough (a
//! writer may pause longer than any window), hence the open-writer set.
//! Pure: the caller looks at the disk and passes the time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Time a file must stay the same between two looks.
pub(super) const SETTLE: Duration = Duration::from_secs(2);

/// What is compared between looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Look {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    /// Device and inode (0 where the platform has none): a file replaced by
    /// another of the same size and time is a new file.
    pub id: (u64, u64),
}

impl Look {
    /// The look of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Look {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let id = (0, 0);
        Look {
            size: meta.len(),
            mtime_ns,
            id,
        }
    }
}

/// The files seen and not settled yet, and those open for writing.
#[derive(Debug, Default)]
pub(super) struct Settling {
    seen: HashMap<PathBuf, (Look, Instant)>,
    open: HashSet<PathBuf>,
}

impl Settling {
    /// A writer wrote to `path` and has not closed it yet.
    pub fn written(&mut self, path: PathBuf) {
        self.open.insert(path);
    }

    /// A writer closed `path`.
    pub fn closed(&mut self, path: &Path) {
        self.open.remove(path);
    }

    /// `path` went away.
    pub fn removed(&mut self, path: &Path) {
        self.open.remove(path);
        self.seen.remove(path);
    }

    /// Close events may have been lost: the looks alone decide from now.
    pub fn forget_writers(&mut self) {
        self.open.clear();
    }

    /// Whether any file is waiting to settle.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Looks at `path` at `now`: true once it has settled. A file open for
    /// writing never settles, and its clock starts again at each look, so
    /// that it waits [`SETTLE`] after the writer closes it too.
    pub fn look(&mut self, path: &Path, look: Look, now: Instant) -> bool {
        if !self.open.contains(path)
            && let Some((before, since)) = self.seen.get(path)
            && *before == look
        {
            return now.saturating_duration_since(*since) >= SETTLE;
        }
        self.seen.insert(path.to_path_buf(), (look, now));
        false
    }

    /// Forgets `path` (it is being read, or was handled).
    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// Forgets the files that are no longer there.
    pub fn keep_only(&mut self, present: &HashSet<PathBuf>) {
        self.seen.retain(|p, _| present.contains(p));
        self.open.retain(|p| present.contains(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(size: u64, mtime_ns: i128) -> Look {
        Look {
            size,
            mtime_ns,
            id: (1, 2),
        }
    }

    #[test]
    fn a_file_settles_once_it_stays_the_same_for_the_settle_time() {
        let (mut s, t0, p) = (
            Settling::default(),
            Instant::now(),
            Path::new("/w/a.torrent"),
        );
        assert!(!s.look(p, look(10, 1), t0));
        assert!(!s.look(p, look(10, 1), t0 + SETTLE / 2));
        // It grew: the clock starts again.
        assert!(!s.look(p, look(20, 2), t0 + SETTLE));
        assert!(!s.look(p, look(20, 2), t0 + SETTLE + SETTLE / 2));
        assert!(s.look(p, look(20, 2), t0 + SETTLE * 2));
    }

    #[test]
    fn a_file_open_for_writing_never_settles_however_long_the_writer_pauses() {
        let (mut s, t0, p) = (
            Settling::default(),
            Instant::now(),
            Path::new("/w/a.torrent"),
        );
        s.written(p.to_path_buf());
        for i in 0..10 {
            assert!(!s.look(p, look(10, 1), t0 + SETTLE * i));
        }
        s.closed(p);
        // The settle time counts from the last look while it was open.
        assert!(!s.look(p, look(10, 1), t0 + SETTLE * 9 + SETTLE / 2));
        assert!(s.look(p, look(10, 1), t0 + SETTLE * 10));
    }

    #[test]
    fn a_replaced_file_of_the_same_size_and_time_starts_again() {
        let (mut s, t0, p) = (
            Settling::default(),
            Instant::now(),
            Path::new("/w/a.magnet"),
        );
        assert!(!s.look(p, look(10, 1), t0));
        let other = Look {
            id: (1, 3),
            ..look(10, 1)
        };
        assert!(!s.look(p, other, t0 + SETTLE));
        s.keep_only(&HashSet::new());
        assert!(s.is_empty());
    }
}
