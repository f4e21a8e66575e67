//! The daemon: folders, the engine, the control socket, the downloads list,
//! and the rates and events that p2pctl shows. Started by [`run`] with
//! resolved settings and the root cancellation token.
//!
//! Its modules form layers; each imports only from layers below it (a test,
//! `tests/module_graph.rs`, fails on an import against the arrows):
//!
//! ```text
//! control  -> handlers                                  (the socket; one handler per command)
//! watch_torrents -> handlers                            (the .torrent watch folder: downloads as `add` starts them)
//! handlers -> community, queue, runtime, session, sharing, registry, stats, totals
//! lifecycle -> runtime                                  (the main loop: SIGHUP reloads the run-time settings)
//! runtime  -> sharing, registry                         (run-time settings: the tracker of new shares)
//! queue    -> sharing, registry, totals                 (which downloads run; seed goals)
//! community -> session                                  (groups, catalog: the session's token)
//! session  -> sharing                                   (login hands credentials to sharing)
//! sharing  -> registry                                  (watched folder, downloads, catalog entries)
//! stats    -> totals                                    (the rate samples feed the all-time totals)
//! registry, totals, engine_events, on_complete         (leaves)
//! ```
//! Below them all: `crate::engine` (torrents, peers, disk; reports events),
//! `crate::tracker_api` (typed trackerd client) and `crate::watcher`. Only
//! `control` and `handlers` see `Daemon`, which this module builds.

mod community;
mod control;
mod engine_events;
mod handlers;
pub mod lifecycle;
mod on_complete;
mod queue;
mod registry;
mod runtime;
mod session;
mod sharing;
mod stats;
mod totals;
mod watch_torrents;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use p2p_proto::ipc::Event;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::engine::Engine;
use crate::tracker_api::TrackerApi;
use registry::Registry;
use session::Session;
use sharing::{Places, Sharing, WatchedFolder};

/// Time allowed for torrents to stop (announces, resume records) at shutdown.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(8);

/// How the daemon meets its service manager.
pub struct Service {
    /// Readiness, status and watchdog pings (systemd's notify socket).
    pub notifier: crate::service_manager::Notifier,
    /// Builds the settings again on SIGHUP (`systemctl reload`).
    pub reload: lifecycle::Reload,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("notifier", &self.notifier)
            .finish_non_exhaustive()
    }
}

/// The services the control handlers use. Built and wired by [`run`];
/// the services themselves know nothing of it.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub settings: Settings,
    pub engine: Engine,
    pub started: Instant,
    pub rates: Arc<stats::Rates>,
    pub tracker: Arc<stats::TrackerCheck>,
    pub events: broadcast::Sender<Event>,
    pub cancel: CancellationToken,
    /// The watched folder's items and the downloads, and who they are
    /// shared as.
    pub sharing: Arc<Sharing>,
    /// The user's session with the tracker.
    pub session: Arc<Session>,
    /// The run-time settings (`config get`, `config set`).
    pub runtime: Arc<runtime::Runtime>,
    /// All-time figures per torrent, kept across restarts.
    pub totals: Arc<totals::Totals>,
    /// What the .torrent watch folder did, when it is on.
    pub watch_report: Option<Arc<crate::watchdir::Report>>,
    /// Which downloads run, and the seed goals.
    pub queue: Arc<queue::Queue>,
}

impl Daemon {
    /// The recorded downloads.
    pub fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.sharing.registry()
    }
}

/// Runs the daemon until `cancel` fires; tells the service manager it is
/// ready once the socket accepts connections and the engine listens, then
/// runs the main loop (`lifecycle::main_loop`).
pub async fn run(
    settings: Settings,
    cancel: CancellationToken,
    service: Service,
) -> anyhow::Result<()> {
    let clock = runtime::system_clock();
    for dir in [
        &settings.shared_dir,
        &settings.torrents_dir,
        &settings.downloads_dir,
        &settings.state_dir,
    ]
    .into_iter()
    .chain(&settings.watch_dir)
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // The run-time settings kept in the state folder go over the config
    // file's before anything starts with them.
    let settings_file = settings.state_dir.join("settings.json");
    // A reload compares the file it reads with this, not with the values
    // the state file put over it.
    let configured = settings.clone();
    let (path, base) = (settings_file.clone(), runtime::from_config(&settings));
    let runtime_settings = tokio::task::spawn_blocking(move || runtime::load(&path, base))
        .await
        .context("loading the run-time settings")?;
    let settings = runtime::over_config(settings, &runtime_settings.0, clock());
    let listener = control::bind(&settings.socket, settings.socket_group_access)?;
    let ca_file = settings.tracker_ca_file.clone();
    let http = tokio::task::spawn_blocking(move || crate::http_client::build(ca_file.as_deref()))
        .await
        .context("cannot set up the HTTP client")??;
    let state_dir = settings.state_dir.clone();
    let (registry, saves) = tokio::task::spawn_blocking(move || Registry::load(&state_dir))
        .await
        .context("loading the downloads list")?;
    let totals_file = settings.state_dir.join("torrent-totals.json");
    let totals = tokio::task::spawn_blocking(move || totals::Totals::load(&totals_file))
        .await
        .context("loading the torrent totals")?;
    let engine = Engine::start(
        settings.engine_config(Some(http.clone())),
        cancel.child_token(),
    )
    .await
    .context("cannot start the peer engine")?;
    // Before any torrent starts, so no completion goes unheard.
    let engine_events = engine.subscribe();
    let completions = engine.subscribe();
    let queue_events = engine.subscribe();
    let (events, _) = broadcast::channel(256);
    let api = settings.tracker.as_deref().map(|url| {
        let instances: Vec<&str> = std::iter::once(url)
            .chain(settings.tracker_instances.iter().map(String::as_str))
            .collect();
        TrackerApi::with_instances(http.clone(), &instances).map_err(|e| e.to_string())
    });
    let sharing = Arc::new(Sharing::new(
        engine.clone(),
        Places {
            tracker: settings.tracker.clone(),
            tracker_instances: settings.tracker_instances.clone(),
            list_tracker_instances: settings.list_tracker_instances,
            downloads_resume_dir: settings.downloads_dir.join(".progress"),
            shared_resume_dir: settings.state_dir.join("shared-progress"),
        },
        api.clone().and_then(Result::ok),
        Arc::new(Mutex::new(registry)),
        events.clone(),
    ));
    let session = Arc::new(Session::new(
        api.clone()
            .unwrap_or_else(|| Err(stats::NO_TRACKER.to_owned())),
        sharing.clone(),
        events.clone(),
        cancel.clone(),
    ));
    let runtime = Arc::new(runtime::Runtime::new(
        engine.clone(),
        sharing.clone(),
        runtime_settings,
        settings_file,
        clock,
    ));
    let totals = Arc::new(totals);
    let queue = Arc::new(queue::Queue::new(
        engine.clone(),
        sharing.clone(),
        totals.clone(),
        settings.downloads_dir.join(".progress"),
        queue::Policy::from_settings(&settings),
    ));
    let daemon = Arc::new(Daemon {
        queue,
        runtime,
        totals,
        watch_report: settings
            .watch_dir
            .as_deref()
            .map(|dir| Arc::new(crate::watchdir::Report::new(dir))),
        engine,
        started: Instant::now(),
        rates: Arc::default(),
        tracker: Arc::default(),
        events,
        cancel: cancel.clone(),
        sharing,
        session,
        settings,
    });
    tracing::info!("control socket at {}", daemon.settings.socket.display());
    tracing::info!("peers on port {}", daemon.engine.listen_addr().port());
    // The queue starts the recorded downloads that have a slot.
    daemon.queue.plan().await;
    let signals = lifecycle::Signals::install()?;
    service.notifier.ready(&format!(
        "peers on port {}, control socket {}",
        daemon.engine.listen_addr().port(),
        daemon.settings.socket.display()
    ));

    // The downloads list is written until the control socket is closed,
    // then once more: no change made by a last request is lost.
    let saves_done = CancellationToken::new();
    let saver = tokio::spawn(registry::save_loop(saves, saves_done.clone()));
    let totals_saver = tokio::spawn(totals::save_loop(daemon.totals.clone(), saves_done.clone()));
    let tasks = tokio_util::task::TaskTracker::new();
    tasks.spawn(engine_events::forward(
        engine_events,
        daemon.events.clone(),
        cancel.clone(),
    ));
    tasks.spawn(queue::run(
        daemon.queue.clone(),
        queue_events,
        daemon.runtime.subscribe(),
        cancel.clone(),
    ));
    tasks.spawn(stats::sample_loop(
        daemon.engine.clone(),
        daemon.rates.clone(),
        daemon.totals.clone(),
        cancel.clone(),
    ));
    if let Some(hook) = on_complete::OnComplete::new(
        &daemon.settings.on_complete,
        daemon.settings.on_complete_timeout,
    ) {
        let sharing = daemon.sharing.clone();
        let downloads_dir = daemon.settings.downloads_dir.clone();
        let locate = move |ih| {
            let recorded = sharing.registry().get(ih).map(|e| e.download_dir.clone());
            recorded
                .or_else(|| sharing.item_dir(ih))
                .unwrap_or_else(|| downloads_dir.clone())
        };
        tasks.spawn(on_complete::forward(
            completions,
            Arc::new(hook),
            locate,
            tasks.clone(),
            cancel.clone(),
        ));
    }
    if let (Some(dir), Some(report)) = (&daemon.settings.watch_dir, &daemon.watch_report) {
        tasks.spawn(crate::watchdir::run(
            dir.clone(),
            report.clone(),
            Arc::new(watch_torrents::Downloads(daemon.clone())),
            cancel.child_token(),
        ));
    }
    tasks.spawn(runtime::schedule_loop(
        daemon.runtime.clone(),
        cancel.clone(),
    ));
    tasks.spawn(stats::tracker_check_loop(
        api,
        daemon.tracker.clone(),
        cancel.clone(),
    ));
    let s = &daemon.settings;
    let folder = WatchedFolder {
        shared_dir: s.shared_dir.clone(),
        torrents_dir: s.torrents_dir.clone(),
        cache_file: s.state_dir.join("watch-cache.json"),
    };
    tasks.spawn(daemon.sharing.clone().watch(folder, cancel.child_token()));
    let server = tokio::spawn(control::serve(listener, daemon.clone()));
    lifecycle::main_loop(
        daemon.runtime.clone(),
        configured,
        signals,
        service.notifier.clone(),
        service.reload,
        cancel.clone(),
    )
    .await;
    service.notifier.stopping();
    if let Err(e) = server.await {
        tracing::error!("the control socket server failed: {e}");
    }

    tasks.close();
    tasks.wait().await;
    saves_done.cancel();
    if let Err(e) = saver.await {
        tracing::error!("the downloads list writer failed: {e}");
    }
    if let Err(e) = totals_saver.await {
        tracing::error!("the torrent totals writer failed: {e}");
    }
    let clean = daemon.engine.shutdown(SHUTDOWN_DEADLINE).await;
    if !clean {
        tracing::warn!("some torrents did not stop within {SHUTDOWN_DEADLINE:?}");
    }
    let _ = std::fs::remove_file(&daemon.settings.socket);
    tracing::info!("stopped");
    Ok(())
}
