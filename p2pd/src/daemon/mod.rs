//! The daemon: folders, the engine, the control socket, the downloads list,
//! and the rates and events that p2pctl shows. Started by [`run`] with
//! resolved settings and the root cancellation token.

mod community;
mod control;
mod engine_events;
mod handlers;
mod registry;
mod session;
mod shared;
mod stats;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use p2p_proto::ipc::{Event, Reachability, TrackerState};
use p2p_proto::metainfo::Metainfo;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::engine::{AddTorrent, Engine, EngineConfig};
use registry::Registry;

/// Time allowed for torrents to stop (announces, resume records) at shutdown.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(8);

/// What a running daemon tells its caller once it is ready.
#[derive(Debug, Clone)]
pub struct Ready {
    /// Control socket path.
    pub socket: std::path::PathBuf,
    /// Peer port.
    pub listen_port: u16,
}

/// State shared by the control handlers.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub settings: Settings,
    pub engine: Engine,
    pub registry: Mutex<Registry>,
    pub started: Instant,
    pub rates: stats::Rates,
    pub tracker: Mutex<TrackerState>,
    pub events: broadcast::Sender<Event>,
    pub cancel: CancellationToken,
    /// The HTTP client the tracker calls go through (the engine's too).
    pub http: reqwest::Client,
    /// The user's session with the tracker.
    pub session: Mutex<session::Session>,
    /// Items of the watched folder being seeded, by info-hash.
    pub shared_items:
        Mutex<std::collections::HashMap<p2p_proto::infohash::InfoHash, shared::SharedItem>>,
}

impl Daemon {
    pub fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The watched-folder items being shared, copied out of the lock.
    pub fn shared_snapshot(&self) -> Vec<shared::SharedItem> {
        self.shared_items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// What a torrent announces with right now: torrents with no tracker get
    /// the configured one, and while logged in that one carries the user's
    /// passkey. `None` while sharing is stopped by a logout.
    pub fn torrent_for_now(&self, mut meta: Metainfo) -> Option<Metainfo> {
        let session = self.session();
        if session.sharing_stopped {
            return None;
        }
        if let Some(t) = &self.settings.tracker {
            if meta.trackers.is_empty() {
                meta.trackers = vec![vec![t.clone()]];
            }
            if let Some(passkey) = &session.passkey {
                for url in meta.trackers.iter_mut().flatten() {
                    if url == t {
                        *url = session::passkey_announce(t, passkey);
                    }
                }
            }
        }
        Some(meta)
    }

    /// Adds a torrent to the engine, downloading into `dir`; while sharing
    /// is stopped by a logout it waits, and starts at the next login.
    pub async fn start_torrent(
        &self,
        meta: Metainfo,
        dir: &Path,
    ) -> Result<Start, crate::engine::EngineError> {
        let Some(meta) = self.torrent_for_now(meta) else {
            return Ok(Start::AtLogin);
        };
        self.engine
            .add(AddTorrent {
                metainfo: meta,
                download_dir: dir.to_path_buf(),
                resume_dir: self.settings.downloads_dir.join(".progress"),
                download_rate_limit: None,
                upload_rate_limit: None,
                extra_peers: Vec::new(),
                use_trackers: true,
                assume_complete: false,
            })
            .await
            .map(|_| Start::Now)
    }
}

/// Whether [`Daemon::start_torrent`] started a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// It runs.
    Now,
    /// Sharing is stopped by a logout: it starts at the next login.
    AtLogin,
}

/// Runs the daemon until `cancel` fires; `on_ready` is called once the
/// socket accepts connections and the engine listens.
pub async fn run(
    settings: Settings,
    cancel: CancellationToken,
    on_ready: impl FnOnce(&Ready),
) -> anyhow::Result<()> {
    for dir in [
        &settings.shared_dir,
        &settings.torrents_dir,
        &settings.downloads_dir,
        &settings.state_dir,
    ] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let listener = control::bind(&settings.socket, settings.system)?;
    let ca_file = settings.tracker_ca_file.clone();
    let http = tokio::task::spawn_blocking(move || crate::http_client::build(ca_file.as_deref()))
        .await
        .context("cannot set up the HTTP client")??;
    let state_dir = settings.state_dir.clone();
    let (registry, saves) = tokio::task::spawn_blocking(move || Registry::load(&state_dir))
        .await
        .context("loading the downloads list")?;
    let engine = Engine::start(
        EngineConfig {
            listen: std::net::SocketAddr::from(([0, 0, 0, 0], settings.listen_port)),
            max_peers_per_torrent: settings.max_peers_per_torrent,
            max_peers_total: settings.max_peers_total,
            upload_slots: settings.upload_slots,
            download_rate_limit: settings.download_rate_limit,
            upload_rate_limit: settings.upload_rate_limit,
            direct_writes: settings.direct_writes,
            http: Some(http.clone()),
            ..EngineConfig::default()
        },
        cancel.child_token(),
    )
    .await
    .context("cannot start the peer engine")?;
    // Before any torrent starts, so no completion goes unheard.
    let engine_events = engine.subscribe();
    let (events, _) = broadcast::channel(256);
    let daemon = Arc::new(Daemon {
        registry: Mutex::new(registry),
        settings,
        engine,
        started: Instant::now(),
        rates: stats::Rates::default(),
        tracker: Mutex::new(TrackerState {
            state: Reachability::Unknown,
            reason: "not checked yet".into(),
        }),
        events,
        cancel: cancel.clone(),
        http,
        shared_items: Mutex::new(std::collections::HashMap::new()),
        session: Mutex::new(session::Session::default()),
    });
    tracing::info!("control socket at {}", daemon.settings.socket.display());
    tracing::info!("peers on port {}", daemon.engine.listen_addr().port());
    restore_downloads(&daemon).await;
    on_ready(&Ready {
        socket: daemon.settings.socket.clone(),
        listen_port: daemon.engine.listen_addr().port(),
    });

    // The downloads list is written until the control socket is closed,
    // then once more: no change made by a last request is lost.
    let saves_done = CancellationToken::new();
    let saver = tokio::spawn(registry::save_loop(saves, saves_done.clone()));
    let tasks = tokio_util::task::TaskTracker::new();
    tasks.spawn(engine_events::forward(daemon.clone(), engine_events));
    tasks.spawn(stats::sample_loop(daemon.clone()));
    tasks.spawn(stats::tracker_check_loop(daemon.clone()));
    tasks.spawn(shared::run(daemon.clone()));
    control::serve(listener, daemon.clone()).await;

    tasks.close();
    tasks.wait().await;
    saves_done.cancel();
    if let Err(e) = saver.await {
        tracing::error!("the downloads list writer failed: {e}");
    }
    let clean = daemon.engine.shutdown(SHUTDOWN_DEADLINE).await;
    if !clean {
        tracing::warn!("some torrents did not stop within {SHUTDOWN_DEADLINE:?}");
    }
    let _ = std::fs::remove_file(&daemon.settings.socket);
    tracing::info!("stopped");
    Ok(())
}

/// Stops every torrent (stopped announces, connections closed); they are
/// remembered and start again at [`restart_sharing`].
pub(crate) async fn stop_sharing(daemon: &Daemon) {
    for s in daemon.engine.all_stats() {
        daemon.engine.remove(s.info_hash).await;
    }
}

/// Starts sharing again, with the current session's announce URLs.
pub(crate) async fn restart_sharing(daemon: &Daemon) {
    stop_sharing(daemon).await;
    daemon.session().sharing_stopped = false;
    restore_downloads(daemon).await;
    for item in daemon.shared_snapshot() {
        if let Err(e) = shared::seed(daemon, item).await {
            tracing::warn!("cannot share again: {e}");
        }
    }
}

/// Starts the downloads recorded before the last stop (paused ones stay paused).
async fn restore_downloads(daemon: &Daemon) {
    let entries: Vec<registry::Entry> = daemon.registry().entries().cloned().collect();
    for e in entries.into_iter().filter(|e| !e.paused) {
        if daemon.engine.stats(e.info_hash).is_some() {
            continue;
        }
        match read_torrent(e.torrent_file.clone()).await {
            Ok(meta) => {
                if let Err(err) = daemon.start_torrent(meta, &e.download_dir).await {
                    tracing::warn!(torrent = %e.info_hash, "cannot restart download: {err}");
                }
            }
            Err(err) => tracing::warn!(
                torrent = %e.info_hash,
                "cannot read {}: {err}",
                e.torrent_file.display()
            ),
        }
    }
}

/// Reads and parses a .torrent on the blocking pool.
pub(crate) async fn read_torrent(path: std::path::PathBuf) -> Result<Metainfo, String> {
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        Metainfo::from_bytes(&bytes).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}
