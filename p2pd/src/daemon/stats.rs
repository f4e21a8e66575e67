//! Transfer rates sampled once a second, and whether the tracker answers.
//! Read by the control handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{Reachability, TrackerState};

use super::Daemon;
use crate::engine::http::{self, HttpError, HttpUrl};

/// How often the tracker is checked.
const TRACKER_CHECK_PERIOD: Duration = Duration::from_secs(30);

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

pub(crate) async fn sample_loop(daemon: Arc<Daemon>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = daemon.cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let stats = daemon.engine.all_stats();
        {
            let mut map = daemon
                .rates
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut next = HashMap::new();
            for s in &stats {
                let prev = map.remove(&s.info_hash);
                let sample = Sample {
                    downloaded: s.downloaded,
                    uploaded: s.uploaded,
                    download_rate: prev.map_or(0, |p| s.downloaded.saturating_sub(p.downloaded)),
                    upload_rate: prev.map_or(0, |p| s.uploaded.saturating_sub(p.uploaded)),
                };
                next.insert(s.info_hash, sample);
            }
            *map = next;
        }
    }
}

pub(crate) async fn tracker_check_loop(daemon: Arc<Daemon>) {
    let Some(url) = daemon.settings.tracker.clone() else {
        set(&daemon, Reachability::None, "no tracker configured");
        return;
    };
    loop {
        let (state, reason) = match check(&url).await {
            Ok(()) => (Reachability::Ok, format!("{url} answers")),
            Err(e) => (Reachability::Unreachable, format!("{url}: {e}")),
        };
        set(&daemon, state, &reason);
        tokio::select! {
            _ = daemon.cancel.cancelled() => return,
            _ = tokio::time::sleep(TRACKER_CHECK_PERIOD) => {}
        }
    }
}

/// Any HTTP answer from the tracker's host counts: an announce URL without
/// parameters is an error to a tracker, but a reachable one.
async fn check(url: &str) -> Result<(), HttpError> {
    let mut u = HttpUrl::parse(url)?;
    u.path_and_query = "/health".into();
    match http::get(&u, Duration::from_secs(5)).await {
        Ok(_) | Err(HttpError::Response(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn set(daemon: &Daemon, state: Reachability, reason: &str) {
    *daemon
        .tracker
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = TrackerState {
        state,
        reason: reason.into(),
    };
}
