//! The queue and the seed goals: which recorded downloads run (at most
//! `max_active_downloads` downloading and `max_active_seeds` seeding, the
//! first in queue order; a stalled download runs on without its slot), and
//! which stop because they reached a share ratio or a seeding time.
//!
//! Acts through the engine's own calls (add through sharing, remove) when
//! something changes: a completion or failure the engine reports, a control
//! request (add, pause, resume, a queue move), a run-time setting, and a
//! look every [`LOOK_PERIOD`] for stalls and seed goals. The watched
//! folder's items are never queued (they are not recorded downloads), and
//! seed goals pass them by unless `seed_goals_apply_to_shared`.
//!
//! Depends on sharing and the registry; knows nothing of the control socket
//! nor of the run-time settings service, whose changes it is handed.

mod plan;
mod watch;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{QueueMove, RuntimeSettings};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::registry::{Entry, Finished, QueueState};
use super::sharing::{Sharing, read_torrent};
use super::totals::Totals;
use crate::config::{SeedGoalAction, Settings};
use crate::engine::{Counters, Engine, EngineEvent, TorrentState};
use plan::{Candidate, Kind, Limits, Run};
use watch::{Goal, Look, Watch};

/// How often running torrents are looked at for stalls and seed goals.
pub(crate) const LOOK_PERIOD: Duration = Duration::from_secs(2);

/// The queue's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Slots (0: unlimited).
    pub limits: Limits,
    /// Time without payload after which a download is stalled.
    pub stalled_after: Duration,
    /// Global seed goals.
    pub goal: Goal,
    /// What a reached goal does to a download.
    pub action: SeedGoalAction,
    /// Seed goals stop watched-folder items too.
    pub apply_to_shared: bool,
}

impl Policy {
    /// The policy the settings give.
    pub fn from_settings(s: &Settings) -> Policy {
        Policy {
            limits: Limits {
                downloads: s.max_active_downloads,
                seeds: s.max_active_seeds,
            },
            stalled_after: Duration::from_secs(s.stalled_download_secs),
            goal: Goal {
                ratio: s.seed_ratio_limit,
                time_secs: s.seed_time_limit,
            },
            action: s.seed_goal_action,
            apply_to_shared: s.seed_goals_apply_to_shared,
        }
    }

    /// Takes the run-time part of `r` (slots and global goals).
    fn follow(&mut self, r: &RuntimeSettings) {
        self.limits = Limits {
            downloads: r.max_active_downloads,
            seeds: r.max_active_seeds,
        };
        self.goal = Goal {
            ratio: r.seed_ratio_limit,
            time_secs: r.seed_time_limit,
        };
    }
}

/// The queue service.
#[derive(Debug)]
pub(crate) struct Queue {
    engine: Engine,
    sharing: Arc<Sharing>,
    /// All-time figures: seed goals count every run, not only this one.
    totals: Arc<Totals>,
    /// Resume records of downloads (deleted with a removed download).
    resume_dir: PathBuf,
    policy: Mutex<Policy>,
    watch: Mutex<Watch>,
    /// Downloads waiting for a slot, and their places (1 is next).
    queued: Mutex<HashMap<InfoHash, usize>>,
    /// Downloads a plan has taken out of the queue and is starting: the
    /// engine does not run them yet, but they are on their way.
    starting: Mutex<HashSet<InfoHash>>,
    /// Downloads the engine would not start, and why: not tried again
    /// until resumed or moved.
    refused: Mutex<HashMap<InfoHash, String>>,
    /// Watched-folder items a seed goal stopped, until they run again.
    finished_shared: Mutex<HashMap<InfoHash, FinishedShared>>,
    /// Downloads a `move` or `verify` stopped for a moment: not started
    /// until it is done with them (see [`Queue::set_aside`]).
    aside: Mutex<HashSet<InfoHash>>,
    /// One plan at a time: a plan awaits the engine.
    turn: tokio::sync::Mutex<()>,
}

/// A download set aside; dropping it lets the queue start it again (at
/// its next plan).
#[derive(Debug)]
pub(crate) struct Aside<'a> {
    queue: &'a Queue,
    id: InfoHash,
}

impl Drop for Aside<'_> {
    fn drop(&mut self) {
        lock(&self.queue.aside).remove(&self.id);
    }
}

/// A watched-folder item a seed goal stopped, as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinishedShared {
    /// Torrent name.
    pub name: String,
    /// Total bytes.
    pub size: u64,
    /// The goal reached, and the bytes uploaded.
    pub finished: Finished,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Queue {
    pub fn new(
        engine: Engine,
        sharing: Arc<Sharing>,
        totals: Arc<Totals>,
        resume_dir: PathBuf,
        policy: Policy,
    ) -> Queue {
        Queue {
            engine,
            sharing,
            totals,
            resume_dir,
            policy: Mutex::new(policy),
            watch: Mutex::default(),
            queued: Mutex::default(),
            starting: Mutex::default(),
            refused: Mutex::default(),
            finished_shared: Mutex::default(),
            aside: Mutex::default(),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// A download's place among those waiting (1 is next), if it waits.
    pub fn place(&self, id: InfoHash) -> Option<usize> {
        lock(&self.queued).get(&id).copied()
    }

    /// Whether a plan is starting a download the engine does not run yet.
    pub fn is_starting(&self, id: InfoHash) -> bool {
        lock(&self.starting).contains(&id)
    }

    /// Why the engine would not start a download, if it would not.
    pub fn refused(&self, id: InfoHash) -> Option<String> {
        lock(&self.refused).get(&id).cloned()
    }

    /// The watched-folder items a seed goal stopped that do not run again.
    pub fn finished_shared(&self) -> Vec<(InfoHash, FinishedShared)> {
        let mut all = lock(&self.finished_shared);
        all.retain(|id, _| !self.engine.is_running(*id) && self.sharing.item_dir(*id).is_some());
        all.iter().map(|(id, f)| (*id, f.clone())).collect()
    }

    /// Lets a download the engine refused be tried again.
    pub fn retry(&self, id: InfoHash) {
        lock(&self.refused).remove(&id);
    }

    /// Keeps a download from being started (by a plan or a login) while
    /// the guard lives, so it can be stopped and its files handled.
    /// Waits for a plan under way: it may be starting it.
    pub async fn set_aside(&self, id: InfoHash) -> Aside<'_> {
        let _turn = self.turn.lock().await;
        lock(&self.aside).insert(id);
        self.sharing.hold_one(id);
        Aside { queue: self, id }
    }

    /// Moves a download in the queue (kept in the registry), then plans.
    pub async fn move_to(&self, id: InfoHash, to: QueueMove) {
        {
            let mut registry = self.sharing.registry();
            let order: Vec<InfoHash> = registry
                .in_queue_order()
                .iter()
                .map(|e| e.info_hash)
                .collect();
            registry.set_queue_order(&plan::moved(&order, id, to));
        }
        self.retry(id);
        self.plan().await;
    }

    /// Brings the running downloads in line with the queue and the seed
    /// goals. Returns the downloads the engine would not start, and why.
    pub async fn plan(&self) -> Vec<(InfoHash, String)> {
        let _turn = self.turn.lock().await;
        // Left over only by a plan dropped halfway (none runs beside us).
        lock(&self.starting).clear();
        let policy = *lock(&self.policy);
        let now = Instant::now();
        let aside = lock(&self.aside).clone();
        // What the plan needs of each entry, not the entries: this runs
        // every few seconds over thousands of them.
        let entries: Vec<(InfoHash, QueueState)> = self
            .sharing
            .registry()
            .in_queue_order()
            .into_iter()
            .filter(|e| !e.paused && !aside.contains(&e.info_hash))
            .map(|e| (e.info_hash, e.queue.clone()))
            .collect();
        // One pass over the engine's torrents, not a lookup per entry.
        let running: HashMap<InfoHash, Counters> = self
            .engine
            .all_counters()
            .into_iter()
            .map(|c| (c.info_hash, c))
            .collect();
        let (candidates, done) = self.look(&entries, &running, &policy, now);
        for (id, finished) in done {
            self.finish(id, finished, policy.action).await;
        }
        if policy.apply_to_shared {
            self.finish_shared(&running, &policy, now).await;
        }
        let plan = plan::decide(&candidates, policy.limits);
        // A login starts what is not held: not what is set aside either.
        self.sharing
            .hold(plan.queued.iter().chain(&aside).copied().collect());
        // While logged out nothing starts; the login starts what is not held.
        let stopped = self.sharing.is_stopped();
        // Marked before they leave the queue, so that a look between the
        // two never finds them neither queued nor running.
        if !stopped {
            lock(&self.starting).extend(plan.start.iter().copied());
        }
        *lock(&self.queued) = plan
            .queued
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i + 1))
            .collect();
        for id in plan.stop {
            tracing::info!(torrent = %id, "queued: a download earlier in the queue takes its slot");
            self.engine.remove(id).await;
        }
        lock(&self.watch).keep_only(|id| self.engine.is_running(*id));
        if stopped {
            return Vec::new();
        }
        let mut refused = Vec::new();
        for id in plan.start {
            let entry = self.sharing.registry().get(id).cloned();
            let started = match &entry {
                Some(e) => self.start(e).await,
                None => Ok(()),
            };
            lock(&self.starting).remove(&id);
            if let (Some(e), Err(why)) = (entry, started) {
                tracing::warn!(torrent = %e.name, "cannot start download: {why}");
                lock(&self.refused).insert(id, why.clone());
                refused.push((id, why));
            }
        }
        refused
    }

    /// The candidates for the plan (in queue order) and the downloads that
    /// reached a seed goal.
    fn look(
        &self,
        entries: &[(InfoHash, QueueState)],
        running: &HashMap<InfoHash, Counters>,
        policy: &Policy,
        now: Instant,
    ) -> (Vec<Candidate>, Vec<(InfoHash, Finished)>) {
        let refused = lock(&self.refused).clone();
        let mut watch = lock(&self.watch);
        let mut candidates = Vec::with_capacity(entries.len());
        let mut done = Vec::new();
        let mut complete = Vec::new();
        for (id, queue) in entries {
            let id = *id;
            let Some(s) = running.get(&id) else {
                let kind = if queue.complete {
                    Kind::Seed
                } else {
                    Kind::Download
                };
                let run = if refused.contains_key(&id) {
                    Run::Inert
                } else {
                    Run::Idle
                };
                candidates.push(Candidate { id, kind, run });
                continue;
            };
            let seeding = s.state == TorrentState::Seeding;
            let look = Look {
                downloaded: s.downloaded,
                seeding,
            };
            let (stalled, seeded) = watch.look(id, look, now, policy.stalled_after);
            if seeding {
                if !queue.complete {
                    complete.push(id);
                }
                let goal = Goal {
                    ratio: queue.seed_goal.ratio.or_global(policy.goal.ratio),
                    time_secs: queue.seed_goal.time_secs.or_global(policy.goal.time_secs),
                };
                let (uploaded, seeded) = self.all_time(s, seeded);
                if let Some(reason) = watch::reached(goal, uploaded, s.total_length, seeded) {
                    done.push((id, Finished { reason, uploaded }));
                    continue;
                }
            }
            let run = match s.state {
                TorrentState::Checking | TorrentState::Seeding => Run::Active,
                TorrentState::Downloading if stalled => Run::Stalled,
                TorrentState::Downloading => Run::Active,
                _ => Run::Inert,
            };
            let kind = if seeding { Kind::Seed } else { Kind::Download };
            candidates.push(Candidate { id, kind, run });
        }
        drop(watch);
        let mut registry = self.sharing.registry();
        for id in complete {
            registry.set_complete(id);
        }
        (candidates, done)
    }

    /// Bytes uploaded and time seeded over every run (the totals are
    /// sampled once a second, so this run's own count may be ahead).
    fn all_time(&self, s: &Counters, seeded_now: Duration) -> (u64, Duration) {
        let all = self.totals.of(s.info_hash, s.total_length);
        (
            all.uploaded.max(s.uploaded),
            Duration::from_secs(all.seeding_secs).max(seeded_now),
        )
    }

    /// Stops (or forgets, after `action`) a download that reached a goal.
    async fn finish(&self, id: InfoHash, finished: Finished, action: SeedGoalAction) {
        tracing::info!(torrent = %id, "seed goal: {}", finished.reason);
        self.engine.remove(id).await;
        match action {
            SeedGoalAction::Stop => self.sharing.registry().finish(id, finished),
            SeedGoalAction::Remove => {
                let Some(entry) = self.sharing.registry().remove(id) else {
                    return;
                };
                let resume = self.resume_dir.join(format!("{}.resume", id.to_hex()));
                let removed = tokio::task::spawn_blocking(move || {
                    for file in [entry.torrent_file, resume] {
                        match std::fs::remove_file(&file) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                tracing::warn!("cannot remove {}: {e}", file.display())
                            }
                            _ => {}
                        }
                    }
                })
                .await;
                if let Err(e) = removed {
                    tracing::warn!("removing a finished download's records failed: {e}");
                }
            }
        }
    }

    /// Stops the watched-folder items that reached the global goals; they
    /// seed again when the watcher shares them again (a restart, a change).
    async fn finish_shared(
        &self,
        running: &HashMap<InfoHash, Counters>,
        policy: &Policy,
        now: Instant,
    ) {
        if policy.goal.ratio.is_none() && policy.goal.time_secs.is_none() {
            return;
        }
        let mut done = Vec::new();
        {
            let mut watch = lock(&self.watch);
            for id in self.sharing.item_ids() {
                let Some(s) = running.get(&id) else {
                    continue;
                };
                let look = Look {
                    downloaded: s.downloaded,
                    seeding: s.state == TorrentState::Seeding,
                };
                let (_, seeded) = watch.look(id, look, now, policy.stalled_after);
                let (uploaded, seeded) = self.all_time(s, seeded);
                if look.seeding
                    && let Some(why) = watch::reached(policy.goal, uploaded, s.total_length, seeded)
                {
                    let finished = Finished {
                        reason: why,
                        uploaded,
                    };
                    // A name only for the few that stop.
                    let name = self
                        .engine
                        .metainfo(id)
                        .map_or_else(|| id.to_hex(), |m| m.info.name.clone());
                    done.push((
                        id,
                        FinishedShared {
                            name,
                            size: s.total_length,
                            finished,
                        },
                    ));
                }
            }
        }
        for (id, f) in done {
            tracing::info!(torrent = %f.name, "seed goal of a shared item: {}; it stops", f.finished.reason);
            self.engine.remove(id).await;
            lock(&self.finished_shared).insert(id, f);
        }
    }

    /// Starts a recorded download in the engine.
    async fn start(&self, e: &Entry) -> Result<(), String> {
        let meta = read_torrent(e.torrent_file.clone()).await?;
        // Not halfway through a login: it would announce as before it.
        let _steady = self.sharing.steady().await;
        if self.engine.is_running(e.info_hash) {
            return Ok(());
        }
        self.sharing
            .start_download(meta, &e.download_dir, e.folder_pin)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Takes a change of the run-time settings.
    fn follow(&self, r: &RuntimeSettings) {
        lock(&self.policy).follow(r);
    }

    /// Notes a completion: the download waits for a seed slot from now on.
    fn completed(&self, id: InfoHash) {
        self.sharing.registry().set_complete(id);
        lock(&self.watch).completed(id, Instant::now());
    }
}

/// Plans at each completion or failure the engine reports, each change of
/// the run-time settings, and every [`LOOK_PERIOD`], until `cancel`.
pub(crate) async fn run(
    queue: Arc<Queue>,
    mut engine: tokio::sync::broadcast::Receiver<EngineEvent>,
    mut settings: tokio::sync::watch::Receiver<RuntimeSettings>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(LOOK_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut settings_open = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            e = engine.recv() => match e {
                Ok(EngineEvent::Completed { info_hash, .. }) => queue.completed(info_hash),
                Ok(EngineEvent::Failed { .. }) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => return,
            },
            changed = settings.changed(), if settings_open => match changed {
                Ok(()) => queue.follow(&settings.borrow_and_update()),
                Err(_) => settings_open = false,
            },
            _ = tick.tick() => {}
        }
        queue.plan().await;
    }
}
