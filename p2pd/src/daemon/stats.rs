//! Transfer rates sampled once a second (and the all-time totals fed from
//! the same samples), and whether the tracker answers. Read by the control
//! handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{Reachability, TrackerState};

use tokio_util::sync::CancellationToken;

use super::totals::{Moved, Totals};
use crate::engine::Engine;
use crate::tracker_api::TrackerApi;

/// How often the tracker is checked.
const TRACKER_CHECK_PERIOD: Duration = Duration::from_secs(30);
/// Time the tracker has to answer a check.
const TRACKER_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes per second per torrent, from the last two samples.
#[derive(Debug, Default)]
pub struct Rates {
    inner: Mutex<HashMap<InfoHash, Sample>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Sample {
    downloaded: u64,
    uploaded: u64,
    download_rate: u64,
    upload_rate: u64,
}

impl Rates {
    /// (download, upload) bytes per second of a torrent.
    pub fn of(&self, ih: InfoHash) -> (u64, u64) {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&ih)
            .map_or((0, 0), |s| (s.download_rate, s.upload_rate))
    }
}

/// Samples the engine's counters once a second until `cancel`, and once
/// more then (the torrents still run: their last bytes reach the totals).
pub(crate) async fn sample_loop(
    engine: Engine,
    rates: Arc<Rates>,
    totals: Arc<Totals>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = Instant::now();
    loop {
        let stop = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tick.tick() => false,
        };
        let now = Instant::now();
        let elapsed = now.duration_since(last);
        last = now;
        let stats = engine.all_counters();
        let mut moved = Vec::with_capacity(stats.len());
        {
            let mut map = rates.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let mut next = HashMap::new();
            for s in &stats {
                let prev = map.remove(&s.info_hash);
                // The counters start at 0 with the torrent: a torrent not
                // sampled before moved all it counts.
                let (down, up) = match prev {
                    Some(p) => (
                        s.downloaded.saturating_sub(p.downloaded),
                        s.uploaded.saturating_sub(p.uploaded),
                    ),
                    None => (s.downloaded, s.uploaded),
                };
                let seeding = match prev {
                    Some(_) if s.seeding => elapsed,
                    _ => Duration::ZERO,
                };
                moved.push(Moved {
                    info_hash: s.info_hash,
                    downloaded: down,
                    uploaded: up,
                    seeding,
                });
                let sample = Sample {
                    downloaded: s.downloaded,
                    uploaded: s.uploaded,
                    download_rate: prev.map_or(0, |_| down),
                    upload_rate: prev.map_or(0, |_| up),
                };
                next.insert(s.info_hash, sample);
            }
            *map = next;
        }
        totals.add(&moved);
        if stop {
            return;
        }
    }
}

/// Whether the tracker answers, checked every [`TRACKER_CHECK_PERIOD`].
#[derive(Debug)]
pub struct TrackerCheck(Mutex<TrackerState>);

impl Default for TrackerCheck {
    fn default() -> Self {
        TrackerCheck(Mutex::new(TrackerState {
            state: Reachability::Unknown,
            reason: "not checked yet".into(),
        }))
    }
}

impl TrackerCheck {
    /// The last finding.
    pub fn get(&self) -> TrackerState {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, state: Reachability, reason: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = TrackerState {
            state,
            reason: reason.into(),
        };
    }
}

/// Checks the configured tracker (`None`: no tracker; `Err`: why its URL
/// is unusable) until `cancel`.
pub(crate) async fn tracker_check_loop(
    api: Option<Result<TrackerApi, String>>,
    check: Arc<TrackerCheck>,
    cancel: CancellationToken,
) {
    let api = match api {
        Some(Ok(api)) => api,
        Some(Err(why)) => return check.set(Reachability::Unreachable, &why),
        None => return check.set(Reachability::None, NO_TRACKER),
    };
    loop {
        // Any HTTP answer counts: the tracker is up, even if it refuses.
        // With several instances the check fails over like any call, and
        // names the instance in use.
        let (state, reason) = match api.health(TRACKER_CHECK_TIMEOUT).await {
            Ok(()) => (Reachability::Ok, format!("{} answers", api.base())),
            Err(e) => (Reachability::Unreachable, format!("{}: {e}", api.base())),
        };
        check.set(state, &reason);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(TRACKER_CHECK_PERIOD) => {}
        }
    }
}

/// Why there is no tracker API client when no tracker is configured.
pub(crate) const NO_TRACKER: &str = "no tracker configured";
