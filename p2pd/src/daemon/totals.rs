//! All-time figures per torrent (bytes down and up, time spent seeding),
//! kept across restarts in `state/torrent-totals.json`. The rate sampler
//! (`stats`) adds what each torrent moved since its last sample; the file
//! is written atomically on the blocking pool every [`SAVE_PERIOD`] when
//! something changed, and once more at shutdown. A crash loses at most
//! that period; a torrent stopped between two samples, at most a second.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use p2p_proto::fsutil::write_atomically;
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::AllTime;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// How often changed figures are written.
const SAVE_PERIOD: Duration = Duration::from_secs(30);
/// Largest file read back (about 100 bytes a torrent).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// One torrent's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Total {
    downloaded: u64,
    uploaded: u64,
    /// Milliseconds spent complete and running.
    seeding_ms: u64,
}

/// What one torrent moved between two samples.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Payload bytes received.
    pub downloaded: u64,
    /// Payload bytes sent.
    pub uploaded: u64,
    /// Time spent complete and running.
    pub seeding: Duration,
}

/// Every torrent's figures.
#[derive(Debug)]
pub struct Totals {
    path: PathBuf,
    map: Mutex<HashMap<InfoHash, Total>>,
    dirty: AtomicBool,
}

impl Totals {
    /// Reads `path` (missing or unreadable: no figures yet). Blocking.
    pub fn load(path: &Path) -> Totals {
        let map = match read_capped(path) {
            Ok(Some(bytes)) => serde_json::from_slice::<HashMap<InfoHash, Total>>(&bytes)
                .unwrap_or_else(|e| {
                    tracing::warn!("ignoring unreadable {}: {e}", path.display());
                    HashMap::new()
                }),
            Ok(None) => HashMap::new(),
            Err(e) => {
                tracing::warn!("ignoring {}: {e}", path.display());
                HashMap::new()
            }
        };
        Totals {
            path: path.to_path_buf(),
            map: Mutex::new(map),
            dirty: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<InfoHash, Total>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds what each torrent moved, and the time it spent seeding, since
    /// its last sample (one lock for a whole sample).
    pub fn add(&self, sample: &[Moved]) {
        let mut map = self.lock();
        for m in sample {
            if m.downloaded == 0 && m.uploaded == 0 && m.seeding.is_zero() {
                continue;
            }
            let t = map.entry(m.info_hash).or_default();
            t.downloaded = t.downloaded.saturating_add(m.downloaded);
            t.uploaded = t.uploaded.saturating_add(m.uploaded);
            let ms = u64::try_from(m.seeding.as_millis()).unwrap_or(u64::MAX);
            t.seeding_ms = t.seeding_ms.saturating_add(ms);
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// A torrent's figures, the ratio worked out for its `size`.
    pub fn of(&self, ih: InfoHash, size: u64) -> AllTime {
        let t = self.lock().get(&ih).copied().unwrap_or_default();
        AllTime::new(t.downloaded, t.uploaded, t.seeding_ms / 1000, size)
    }

    /// Forgets a removed torrent.
    pub fn forget(&self, ih: InfoHash) {
        if self.lock().remove(&ih).is_some() {
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Writes the figures if they changed since the last write. Blocking.
    fn save(&self) {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        let bytes = match serde_json::to_vec(&*self.lock()) {
            Ok(b) => b,
            Err(e) => return tracing::error!("cannot serialise the torrent totals: {e}"),
        };
        if let Err(e) = write_atomically(&self.path, &bytes) {
            self.dirty.store(true, Ordering::Relaxed);
            tracing::error!("cannot save {}: {e}", self.path.display());
        }
    }
}

fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(
            "larger than any totals file we write",
        ));
    }
    Ok(Some(bytes))
}

/// Writes changed figures every [`SAVE_PERIOD`] until `done`, then once more.
pub async fn save_loop(totals: Arc<Totals>, done: CancellationToken) {
    let mut tick = tokio::time::interval(SAVE_PERIOD);
    tick.tick().await;
    loop {
        let open = tokio::select! {
            _ = tick.tick() => true,
            _ = done.cancelled() => false,
        };
        let t = totals.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || t.save()).await {
            tracing::error!("saving the torrent totals failed: {e}");
        }
        if !open {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(info_hash: InfoHash, downloaded: u64, uploaded: u64, seeding_ms: u64) -> Moved {
        Moved {
            info_hash,
            downloaded,
            uploaded,
            seeding: Duration::from_millis(seeding_ms),
        }
    }

    #[tokio::test]
    async fn figures_survive_a_reload_and_a_removed_torrent_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("torrent-totals.json");
        let (a, b) = (InfoHash([1; 20]), InfoHash([2; 20]));
        let totals = Arc::new(Totals::load(&path));
        let done = CancellationToken::new();
        let saver = tokio::spawn(save_loop(totals.clone(), done.clone()));
        totals.add(&[moved(a, 100, 50, 0), moved(b, 7, 0, 0)]);
        totals.add(&[moved(a, 0, 250, 1_500)]);
        totals.add(&[moved(a, 0, 0, 600)]);
        totals.forget(b);
        done.cancel();
        saver.await.unwrap();
        let again = Totals::load(&path);
        assert_eq!(
            again.of(a, 1000),
            AllTime {
                downloaded: 100,
                uploaded: 300,
                ratio: 3.0,
                seeding_secs: 2
            }
        );
        assert_eq!(again.of(b, 10), AllTime::default());
    }

    #[test]
    fn a_seed_that_never_downloaded_counts_its_ratio_over_its_size() {
        let t = Totals::load(Path::new("/nonexistent/totals.json"));
        let ih = InfoHash([3; 20]);
        t.add(&[moved(ih, 0, 500, 9_000)]);
        assert_eq!(t.of(ih, 1000).ratio, 0.5);
        assert_eq!(t.of(ih, 0).ratio, 0.0);
    }

    #[test]
    fn a_garbled_file_loads_as_no_figures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, b"{\"nope\":").unwrap();
        assert_eq!(
            Totals::load(&path).of(InfoHash([1; 20]), 1),
            AllTime::default()
        );
    }
}
