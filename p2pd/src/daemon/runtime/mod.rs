//! The run-time settings (`config get`, `config set`): rate limits, the
//! alternative speed and its schedule, connection caps, upload slots and
//! the tracker. A change applies at once (engine limits, the tracker of
//! what is shared next) and is kept in `state/settings.json` over the
//! config file, which is never rewritten. The alternative speed's schedule
//! is checked at every minute boundary by [`schedule_loop`]. A reload of the
//! config file (SIGHUP) changes the values under the state file's
//! ([`Runtime::reload`]).
//!
//! Depends on the engine and on sharing (for the tracker); knows nothing of
//! the control socket beyond the error it answers.

mod file;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use p2p_proto::ipc::{ErrorCode, IpcError, RuntimeSettings, SettingKey};
use tokio_util::sync::CancellationToken;

use super::sharing::Sharing;
use crate::config::Settings;
use crate::engine::Engine;
pub(crate) use file::{Overrides, load};

/// Minutes after local midnight, now. Injected so tests fix the time.
pub(crate) type LocalClock = Arc<dyn Fn() -> u16 + Send + Sync>;

/// The system's local time (its time zone from `TZ` or /etc/localtime;
/// UTC when it has none).
pub(crate) fn system_clock() -> LocalClock {
    Arc::new(|| {
        let now = jiff::Zoned::now();
        let (h, m) = (now.hour(), now.minute());
        u16::try_from(i32::from(h) * 60 + i32::from(m)).unwrap_or(0)
    })
}

/// The settings as the config file gives them, before the state file.
pub(crate) fn from_config(s: &Settings) -> RuntimeSettings {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    RuntimeSettings {
        download_rate_limit: s.download_rate_limit.filter(|&r| r > 0),
        upload_rate_limit: s.upload_rate_limit.filter(|&r| r > 0),
        alt_download_rate_limit: s.alt_download_rate_limit.filter(|&r| r > 0),
        alt_upload_rate_limit: s.alt_upload_rate_limit.filter(|&r| r > 0),
        alt_speed: false,
        alt_speed_schedule: s.alt_speed_schedule,
        alt_speed_active: false,
        max_peers_per_torrent: count(s.max_peers_per_torrent),
        max_peers_total: count(s.max_peers_total),
        upload_slots: count(s.upload_slots),
        tracker: s.tracker.clone().unwrap_or_default(),
        max_active_downloads: s.max_active_downloads,
        max_active_seeds: s.max_active_seeds,
        seed_ratio_limit: s.seed_ratio_limit,
        seed_time_limit: s.seed_time_limit,
    }
}

/// Puts run-time settings into the resolved settings the daemon starts
/// with, so the engine, the tracker client and sharing start with them.
pub(crate) fn over_config(mut s: Settings, r: &RuntimeSettings, minute: u16) -> Settings {
    let (down, up) = effective(r, minute).1;
    s.download_rate_limit = down;
    s.upload_rate_limit = up;
    s.max_peers_per_torrent = r.max_peers_per_torrent as usize;
    s.max_peers_total = r.max_peers_total as usize;
    s.upload_slots = r.upload_slots as usize;
    s.tracker = Some(r.tracker.clone()).filter(|t| !t.is_empty());
    s.max_active_downloads = r.max_active_downloads;
    s.max_active_seeds = r.max_active_seeds;
    s.seed_ratio_limit = r.seed_ratio_limit;
    s.seed_time_limit = r.seed_time_limit;
    s
}

/// Whether the alternative speed is in effect at `minute` (switched on, or
/// inside its schedule's window), and the rate limits that follow.
pub(crate) fn effective(r: &RuntimeSettings, minute: u16) -> (bool, (Option<u64>, Option<u64>)) {
    let in_window = r.alt_speed_schedule.is_some_and(|w| w.contains(minute));
    (r.alt_speed || in_window, r.effective_limits(in_window))
}

/// The run-time settings service.
pub(crate) struct Runtime {
    engine: Engine,
    sharing: Arc<Sharing>,
    file: PathBuf,
    clock: LocalClock,
    current: Mutex<RuntimeSettings>,
    /// Tells the queue of every change (its limits and seed goals).
    changes: tokio::sync::watch::Sender<RuntimeSettings>,
    /// What the state file holds. An async lock: it serialises changes
    /// with their file writes, so two `config set` never lose one another.
    overrides: tokio::sync::Mutex<Overrides>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// The service over `engine` and `sharing`, which already run with
    /// `settings` (see [`over_config`]); changes are kept in `file`.
    pub fn new(
        engine: Engine,
        sharing: Arc<Sharing>,
        (settings, overrides): (RuntimeSettings, Overrides),
        file: PathBuf,
        clock: LocalClock,
    ) -> Runtime {
        let rt = Runtime {
            engine,
            sharing,
            file,
            clock,
            current: Mutex::new(settings.clone()),
            changes: tokio::sync::watch::Sender::new(settings.clone()),
            overrides: tokio::sync::Mutex::new(overrides),
        };
        rt.apply(settings);
        rt
    }

    fn current(&self) -> MutexGuard<'_, RuntimeSettings> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The settings in effect.
    pub fn get(&self) -> RuntimeSettings {
        self.current().clone()
    }

    /// Changes one setting, keeps it in the state file, then applies it.
    /// A bad key or value, or a file that cannot be written, changes
    /// nothing.
    pub async fn set(&self, key: &str, value: &str) -> Result<RuntimeSettings, IpcError> {
        let invalid = |e: p2p_proto::ipc::SettingError| {
            IpcError::new(ErrorCode::InvalidSetting, e.to_string())
        };
        let key = SettingKey::parse(key).map_err(invalid)?;
        let mut overrides = self.overrides.lock().await;
        let mut next = self.get();
        next.set(key, value).map_err(invalid)?;
        let mut kept = overrides.clone();
        kept.insert(key.name().to_owned(), next.get(key));
        file::store(self.file.clone(), kept.clone())
            .await
            .map_err(|e| IpcError::new(ErrorCode::Io, format!("{e:#}")))?;
        *overrides = kept;
        match key {
            // An announce URL may carry a passkey, which is never logged.
            SettingKey::Tracker => tracing::info!("setting tracker changed"),
            _ => tracing::info!("setting {} = {}", key.name(), next.get(key)),
        }
        Ok(self.apply(next))
    }

    /// Takes `config`, the configuration read again (SIGHUP), as the values
    /// under the state file's: a key changed with `config set` keeps its
    /// value, the others follow `config` at once. Returns the keys whose
    /// value in `config` is not in effect because the state file holds
    /// another.
    pub async fn reload(&self, config: &Settings) -> Vec<&'static str> {
        let base = from_config(config);
        let overrides = self.overrides.lock().await;
        let held = SettingKey::ALL
            .into_iter()
            // Only switched at run time: the config file has no such key.
            .filter(|&k| k != SettingKey::AltSpeed)
            .filter(|&k| overrides.get(k.name()).is_some_and(|v| *v != base.get(k)))
            .map(SettingKey::name)
            .collect();
        let (next, _) = file::overlay(base, overrides.clone(), &self.file);
        self.apply(next);
        held
    }

    /// Checks the schedule against the clock and applies what follows.
    pub fn refresh(&self) -> RuntimeSettings {
        let now = self.get();
        self.apply(now)
    }

    /// Makes `next` the settings in effect: the engine's limits, the
    /// tracker, and whether the alternative speed is on at this minute.
    fn apply(&self, mut next: RuntimeSettings) -> RuntimeSettings {
        let (active, (down, up)) = effective(&next, (self.clock)());
        next.alt_speed_active = active;
        self.engine.set_rate_limits(down, up);
        self.engine.set_connection_limits(
            next.max_peers_per_torrent as usize,
            next.max_peers_total as usize,
            next.upload_slots as usize,
        );
        self.sharing
            .set_tracker(Some(next.tracker.clone()).filter(|t| !t.is_empty()));
        let mut current = self.current();
        if current.alt_speed_active != active {
            tracing::info!("alternative speed {}", if active { "on" } else { "off" });
        }
        *current = next.clone();
        drop(current);
        self.changes.send_if_modified(|sent| {
            let changed = *sent != next;
            if changed {
                sent.clone_from(&next);
            }
            changed
        });
        next
    }

    /// The settings in effect, and each change from now on.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<RuntimeSettings> {
        self.changes.subscribe()
    }
}

/// Re-checks the alternative speed's schedule at every minute boundary
/// until `cancel`.
pub(crate) async fn schedule_loop(runtime: Arc<Runtime>, cancel: CancellationToken) {
    loop {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Whole-minute offsets: a minute starts at the same instant locally.
        let wait = Duration::from_secs(60 - since_epoch.as_secs() % 60)
            - Duration::from_nanos(u64::from(since_epoch.subsec_nanos()))
            + Duration::from_millis(5);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        runtime.refresh();
    }
}

#[cfg(test)]
mod tests;
