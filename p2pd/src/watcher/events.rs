//! Filesystem events: a recursive notify watcher whose callback thread
//! forwards into a bounded tokio channel, and the translation of notify's
//! events into the few changes the watcher cares about. When the channel is
//! full, the event is dropped and a "lost" flag asks for a rescan, so the
//! notify thread never blocks. Decides nothing about items.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Whether the platform reports close-after-write (inotify does); elsewhere
/// completeness rests on the polls alone.
pub(crate) const CLOSE_EVENTS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Events buffered between notify's thread and the watcher's loop.
const FS_EVENT_QUEUE: usize = 8192;

/// A change the watcher acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FsChange {
    /// Events were lost, or the watch failed: look at everything again.
    Rescan(String),
    /// Something about this path changed (created, attributes, renamed in).
    Touched(PathBuf),
    /// Data was written: the file is open for writing until `Closed`.
    Written(PathBuf),
    /// A writer closed the file.
    Closed(PathBuf),
    /// The path went away (deleted, or renamed away).
    Removed(PathBuf),
}

/// The live watch on `shared/` and its event channel.
pub(crate) struct FsEvents {
    // Kept alive for as long as the events are wanted; dropping it stops the watch.
    _watcher: RecommendedWatcher,
    rx: mpsc::Receiver<notify::Result<Event>>,
    lost: Arc<AtomicBool>,
}

impl std::fmt::Debug for FsEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsEvents").finish_non_exhaustive()
    }
}

impl FsEvents {
    /// Starts watching `root` recursively, without following symlinks.
    /// Blocking: a recursive watch walks the whole tree.
    pub fn start(root: &Path) -> notify::Result<Self> {
        Self::start_with(root, RecursiveMode::Recursive)
    }

    /// Starts watching `root` alone (`NonRecursive`) or with everything
    /// below it. Blocking, as [`FsEvents::start`].
    pub fn start_with(root: &Path, mode: RecursiveMode) -> notify::Result<Self> {
        let (tx, rx) = mpsc::channel(FS_EVENT_QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let lost_in_callback = Arc::clone(&lost);
        // A large copy writes the same file thousands of times a second: pass
        // on only the first of a run of writes to one path.
        let mut last_written: Option<PathBuf> = None;
        let mut watcher = RecommendedWatcher::new(
            move |res: notify::Result<Event>| {
                let written = match &res {
                    Ok(e) if matches!(e.kind, EventKind::Modify(ModifyKind::Data(_))) => {
                        e.paths.first().cloned()
                    }
                    _ => None,
                };
                if written.is_some() && written == last_written {
                    return;
                }
                last_written = written;
                if tx.try_send(res).is_err() {
                    lost_in_callback.store(true, Ordering::Relaxed);
                }
            },
            notify::Config::default().with_follow_symlinks(false),
        )?;
        watcher.watch(root, mode)?;
        Ok(FsEvents {
            _watcher: watcher,
            rx,
            lost,
        })
    }

    /// The next raw event; `None` when the watcher thread is gone.
    pub async fn next(&mut self) -> Option<notify::Result<Event>> {
        self.rx.recv().await
    }

    /// Whether events were dropped since the last call.
    pub fn take_lost(&self) -> bool {
        self.lost.swap(false, Ordering::Relaxed)
    }
}

/// What a notify event means for the watcher.
pub(crate) fn classify(res: notify::Result<Event>) -> Vec<FsChange> {
    let event = match res {
        Ok(e) => e,
        Err(e) => return vec![FsChange::Rescan(e.to_string())],
    };
    if event.need_rescan() {
        return vec![FsChange::Rescan("the kernel dropped events".into())];
    }
    let paths = event.paths;
    let each = |f: fn(PathBuf) -> FsChange| paths.iter().cloned().map(f).collect();
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => each(FsChange::Closed),
        // Opens and reads (our own hashing among them) change nothing.
        EventKind::Access(_) => Vec::new(),
        EventKind::Modify(ModifyKind::Data(_)) => each(FsChange::Written),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            each(FsChange::Removed)
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            let mut out = Vec::new();
            let mut it = paths.iter().cloned();
            out.extend(it.next().map(FsChange::Removed));
            out.extend(it.map(FsChange::Touched));
            out
        }
        _ => each(FsChange::Touched),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, Flag};

    #[test]
    fn reads_are_ignored_and_writes_are_tracked() {
        let p = PathBuf::from("/s/x");
        let ev = |k| Ok(Event::new(k).add_path(p.clone()));
        assert!(classify(ev(EventKind::Access(AccessKind::Open(AccessMode::Any)))).is_empty());
        assert!(classify(ev(EventKind::Access(AccessKind::Close(AccessMode::Read)))).is_empty());
        assert_eq!(
            classify(ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)))),
            vec![FsChange::Written(p.clone())]
        );
        assert_eq!(
            classify(ev(EventKind::Access(AccessKind::Close(AccessMode::Write)))),
            vec![FsChange::Closed(p.clone())]
        );
        assert_eq!(
            classify(ev(EventKind::Create(CreateKind::File))),
            vec![FsChange::Touched(p.clone())]
        );
    }

    #[test]
    fn an_overflow_asks_for_a_rescan() {
        let ev = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert!(matches!(classify(Ok(ev)).as_slice(), [FsChange::Rescan(_)]));
    }
}
