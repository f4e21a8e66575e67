//! The .torrent watch folder: a `.torrent` file, or a `.magnet` text file
//! holding a magnet link, dropped into `watch/` starts a download; the file
//! is then renamed `NAME.added`, or `NAME.invalid` with the reason in the
//! log and in the [`Report`]. Starts nothing itself: it hands what it read
//! to a [`Starter`] (the daemon's download path, the one `p2pctl download`
//! takes), and knows nothing of the engine or the socket.
//!
//! # When a file is read
//! The folder is looked at on notify events (the watched folder's own
//! `FsEvents`, not recursive here) and at each tick while a file waits to
//! settle, else every 30 s. A file is read once its size, mtime and
//! inode stayed the same between two looks 2 s apart and no writer holds it
//! open: known from close-after-write events where the platform reports
//! them, and asked of `/proc` just before reading (Linux: a writer that
//! started before the watch, or whose events were lost). If it changed while
//! being read it waits to settle again. Half-written files are never parsed
//! as whole ones.
//!
//! # Once only
//! A file being handled is not looked at again, and its rename takes it out
//! of the folder's names. Two files of one info-hash handled at once: the
//! second is "already there", as is a torrent the daemon already has.

mod read;
mod report;
mod settle;
mod writers;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use p2p_proto::infohash::InfoHash;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::watcher::events::{CLOSE_EVENTS, FsChange, FsEvents, classify};
use read::{Kind, Unread};
use settle::{Look, Settling};

pub use read::{Found, MAX_TORRENT_BYTES};
pub use report::Report;

/// How often the loop looks at files waiting to settle.
const TICK: Duration = Duration::from_millis(500);
/// How often the whole folder is listed when no event asks for it (events
/// can be lost; without notify at all, every [`NO_EVENTS_RESCAN`]).
const RESCAN: Duration = Duration::from_secs(30);
/// The listing period when the folder cannot be watched for events.
const NO_EVENTS_RESCAN: Duration = Duration::from_secs(2);
/// Files handled at once (a magnet link may wait minutes for its metadata).
const MAX_HANDLED_AT_ONCE: usize = 4;
/// Numbered names tried when `NAME.added` (or `.invalid`) is taken.
const MAX_RENAME_TRIES: usize = 100;

/// What became of what a file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A download started; its name.
    Started(String),
    /// The torrent was there already (running, recorded, or being added
    /// from another file); for the log.
    AlreadyThere(String),
    /// It could not start, and why.
    Refused(String),
}

/// Starts what a file of the watch folder holds.
pub trait Starter: Send + Sync + 'static {
    /// Starts a download of `found`.
    fn start(&self, found: Found) -> impl Future<Output = Outcome> + Send;
}

/// Watches `dir` (which must exist) until `cancel`, starting what is
/// dropped into it through `starter` and keeping `report` up to date.
pub async fn run<S: Starter>(
    dir: PathBuf,
    report: Arc<Report>,
    starter: Arc<S>,
    cancel: CancellationToken,
) {
    let at = dir.clone();
    let events =
        tokio::task::spawn_blocking(move || FsEvents::start_with(&at, RecursiveMode::NonRecursive))
            .await;
    let mut events = match events {
        Ok(Ok(e)) => Some(e),
        Ok(Err(e)) => {
            tracing::warn!(
                "cannot watch {} for events ({e}): looking at it every {NO_EVENTS_RESCAN:?}",
                dir.display()
            );
            None
        }
        Err(e) => {
            tracing::error!("the watch folder's setup failed: {e}");
            return;
        }
    };
    tracing::info!("watch folder at {}", dir.display());
    let mut w = Watch {
        dir,
        report,
        starter,
        settling: Settling::default(),
        busy: HashSet::new(),
        stuck: HashMap::new(),
        in_flight: Arc::default(),
        jobs: JoinSet::new(),
        dirty: true,
        last_listed: Instant::now(),
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            event = next_event(&mut events) => match event {
                Some(event) => classify(event).into_iter().for_each(|c| w.on_change(c)),
                None => {
                    tracing::warn!("the watch folder's events stopped: looking at it every {NO_EVENTS_RESCAN:?}");
                    events = None;
                }
            },
            Some(done) = w.jobs.join_next(), if !w.jobs.is_empty() => match done {
                Ok(done) => w.on_done(done),
                // A bug: its file stays as it is, untouched until a restart.
                Err(e) => tracing::error!("a watch folder task failed: {e}"),
            },
            _ = tick.tick() => {
                if events.as_ref().is_some_and(FsEvents::take_lost) {
                    w.on_change(FsChange::Rescan("the event queue was full".into()));
                }
                let every = if events.is_some() { RESCAN } else { NO_EVENTS_RESCAN };
                if w.dirty || !w.settling.is_empty() || w.last_listed.elapsed() >= every {
                    w.look().await;
                }
            }
        }
    }
    // A download half started is found again at the next start: already
    // there, then renamed.
    w.jobs.shutdown().await;
}

async fn next_event(events: &mut Option<FsEvents>) -> Option<notify::Result<notify::Event>> {
    match events {
        Some(e) => e.next().await,
        None => std::future::pending().await,
    }
}

/// The loop's state.
struct Watch<S> {
    dir: PathBuf,
    report: Arc<Report>,
    starter: Arc<S>,
    settling: Settling,
    /// Files being read or started.
    busy: HashSet<PathBuf>,
    /// Files handled whose rename failed, as they were: left alone until
    /// they change.
    stuck: HashMap<PathBuf, Look>,
    /// Info-hashes being started.
    in_flight: Arc<Mutex<HashSet<InfoHash>>>,
    jobs: JoinSet<Done>,
    /// An event asked for a look at the folder.
    dirty: bool,
    last_listed: Instant,
}

/// A file handled.
struct Done {
    path: PathBuf,
    look: Look,
    handled: Handled,
}

enum Handled {
    /// It changed while being read, or went away: nothing was done.
    NotYet,
    /// What it held was started (or not), and the file renamed (or not).
    Done {
        outcome: Outcome,
        renamed: std::io::Result<PathBuf>,
    },
}

impl<S: Starter> Watch<S> {
    fn on_change(&mut self, change: FsChange) {
        match change {
            FsChange::Rescan(why) => {
                tracing::debug!(%why, "looking at the whole watch folder again");
                self.settling.forget_writers();
            }
            FsChange::Written(p) if CLOSE_EVENTS => self.settling.written(p),
            FsChange::Closed(p) => self.settling.closed(&p),
            FsChange::Removed(p) => self.settling.removed(&p),
            FsChange::Written(_) | FsChange::Touched(_) => {}
        }
        self.dirty = true;
    }

    /// Lists the folder and starts handling the files that settled.
    async fn look(&mut self) {
        self.dirty = false;
        self.last_listed = Instant::now();
        let dir = self.dir.clone();
        let listed = match tokio::task::spawn_blocking(move || list(&dir)).await {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                tracing::warn!("cannot list the watch folder {}: {e}", self.dir.display());
                return;
            }
            Err(e) => {
                tracing::error!("listing the watch folder failed: {e}");
                return;
            }
        };
        let present: HashSet<PathBuf> = listed.iter().map(|f| f.0.clone()).collect();
        self.settling.keep_only(&present);
        self.stuck.retain(|p, _| present.contains(p));
        let now = Instant::now();
        for (path, kind, look) in listed {
            if self.busy.contains(&path) || self.stuck.get(&path) == Some(&look) {
                continue;
            }
            self.stuck.remove(&path);
            if !self.settling.look(&path, look, now) || self.jobs.len() >= MAX_HANDLED_AT_ONCE {
                continue;
            }
            self.settling.forget(&path);
            self.busy.insert(path.clone());
            self.jobs.spawn(handle(
                path,
                kind,
                look,
                self.starter.clone(),
                self.in_flight.clone(),
            ));
        }
    }

    fn on_done(&mut self, done: Done) {
        self.busy.remove(&done.path);
        let Handled::Done { outcome, renamed } = done.handled else {
            // Looked at again at the next tick, as a new file.
            self.dirty = true;
            return;
        };
        let file = file_name(&done.path);
        match &outcome {
            Outcome::Started(name) => {
                tracing::info!("watch folder: {file} started {name}");
                self.report.started();
            }
            Outcome::AlreadyThere(why) => {
                tracing::info!("watch folder: {file} was already there: {why}");
                self.report.already_there();
            }
            Outcome::Refused(why) => {
                tracing::warn!("watch folder: {file} is invalid: {why}");
                self.report.invalid(&file, why);
            }
        }
        if let Err(e) = renamed {
            tracing::error!(
                "watch folder: cannot rename {file}: {e}; it is left alone until it changes"
            );
            self.stuck.insert(done.path, done.look);
        }
    }
}

/// Reads one settled file, starts what it holds, and renames it.
async fn handle<S: Starter>(
    path: PathBuf,
    kind: Kind,
    look: Look,
    starter: Arc<S>,
    in_flight: Arc<Mutex<HashSet<InfoHash>>>,
) -> Done {
    let at = path.clone();
    let read = tokio::task::spawn_blocking(move || read::read(&at, kind, look))
        .await
        .unwrap_or_else(|e| Err(Unread::Invalid(format!("reading it failed: {e}"))));
    let outcome = match read {
        Err(Unread::Changed | Unread::Gone) => {
            return Done {
                path,
                look,
                handled: Handled::NotYet,
            };
        }
        Err(Unread::Invalid(why)) => Outcome::Refused(why),
        Ok(found) => {
            let ih = found.info_hash();
            let in_flight = |f: fn(&mut HashSet<InfoHash>, InfoHash) -> bool| {
                f(
                    &mut in_flight.lock().unwrap_or_else(PoisonError::into_inner),
                    ih,
                )
            };
            if in_flight(|s, ih| s.insert(ih)) {
                let outcome = starter.start(found).await;
                in_flight(|s, ih| s.remove(&ih));
                outcome
            } else {
                Outcome::AlreadyThere(format!(
                    "{} is being added from another file",
                    ih.short_hex()
                ))
            }
        }
    };
    let suffix = match outcome {
        Outcome::Started(_) | Outcome::AlreadyThere(_) => "added",
        Outcome::Refused(_) => "invalid",
    };
    let from = path.clone();
    let renamed = tokio::task::spawn_blocking(move || rename_marked(&from, suffix))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    Done {
        path,
        look,
        handled: Handled::Done { outcome, renamed },
    }
}

/// The files of the folder the watch folder reads, with their looks (a
/// symlink's own: it is refused when read, never followed). Blocking.
fn list(dir: &Path) -> std::io::Result<Vec<(PathBuf, Kind, Look)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(kind) = Kind::of(&name.to_string_lossy()) else {
            continue;
        };
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) => out.push((path, kind, Look::of(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Renames `path` to `NAME.suffix` (or `NAME.N.suffix` when that is taken,
/// so nothing is overwritten) and returns the new path. Blocking.
fn rename_marked(path: &Path, suffix: &str) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    for n in 0..MAX_RENAME_TRIES {
        let mut marked = name.to_os_string();
        if n > 0 {
            marked.push(format!(".{n}"));
        }
        marked.push(format!(".{suffix}"));
        let to = path.with_file_name(marked);
        if std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        std::fs::rename(path, &to)?;
        return Ok(to);
    }
    Err(std::io::Error::other(format!(
        "{MAX_RENAME_TRIES} files of that name were marked .{suffix} already"
    )))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// Linux: the loop's test leans on `/proc` for a writer no event told of.
#[cfg(all(test, target_os = "linux"))]
mod tests;
