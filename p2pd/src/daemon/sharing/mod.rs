//! What p2pd shares and under which identity: the watched folder's items
//! and the recorded downloads, started in the engine with announce URLs
//! that carry the user's passkey while logged in, stopped at a logout and
//! started again at the next login; and the catalog entries of the
//! watched-folder items (publish, withdraw).
//!
//! Knows nothing of the control socket or of how a login happens: the
//! session hands it credentials ([`Sharing::share_as`]) or takes them back
//! ([`Sharing::stop`]). Depends only on the engine, the registry, the
//! watcher and the tracker API client.

mod catalog;
mod watched;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::Event;
use p2p_proto::metainfo::Metainfo;
use tokio::sync::{broadcast, watch};

use super::registry::Registry;
use crate::engine::{AddTorrent, Engine, EngineError, FolderId};
use crate::tracker_api::TrackerApi;

pub(crate) use watched::WatchedFolder;

/// A watched-folder item being seeded.
#[derive(Debug, Clone)]
pub struct SharedItem {
    /// Its torrent (kept to share it again after a login).
    pub metainfo: Metainfo,
    /// Folder that contains it.
    pub data_dir: PathBuf,
    /// Its group (`shared/<group>/`), `None` for a public item.
    pub group: Option<String>,
}

/// The user's credentials for announces and the catalog. `Debug` hides them.
#[derive(Clone)]
pub(crate) struct Credentials {
    /// Bearer token for the catalog.
    pub token: String,
    /// Passkey for announce URLs.
    pub passkey: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// Under which identity we share, if at all.
#[derive(Debug, Default)]
struct Identity {
    /// Set while logged in.
    credentials: Option<Credentials>,
    /// Stopped by a logout (or the tracker ending the session) until the
    /// next login. A daemon that never logged in shares anonymously.
    stopped: bool,
}

/// Whether [`Sharing::start_download`] started a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// It runs.
    Now,
    /// Sharing is stopped by a logout: it starts at the next login.
    AtLogin,
}

/// Where things go, from the settings.
#[derive(Debug, Clone)]
pub(crate) struct Places {
    /// The configured tracker's announce URL at start (a run-time setting
    /// may change it: [`Sharing::set_tracker`]).
    pub tracker: Option<String>,
    /// The other instances of the tracker's deployment (announce URLs):
    /// their announce URLs get the passkey like the tracker's.
    pub tracker_instances: Vec<String>,
    /// Torrents shared from now on list `tracker_instances` in the
    /// tracker's tier.
    pub list_tracker_instances: bool,
    /// Resume records of downloads.
    pub downloads_resume_dir: PathBuf,
    /// Resume records of watched-folder items.
    pub shared_resume_dir: PathBuf,
}

/// The sharing service.
#[derive(Debug)]
pub(crate) struct Sharing {
    engine: Engine,
    places: Places,
    api: Option<TrackerApi>,
    registry: Arc<Mutex<Registry>>,
    items: Mutex<HashMap<InfoHash, SharedItem>>,
    identity: Mutex<Identity>,
    events: broadcast::Sender<Event>,
    /// The announce tiers of torrents shared from now on: the configured
    /// tracker, or none. The watcher reads it for each torrent it makes.
    tiers: watch::Sender<Vec<Vec<String>>>,
    /// Downloads the queue holds back: a login does not start them.
    held: Mutex<HashSet<InfoHash>>,
    /// Held while every torrent restarts under another identity (a login,
    /// a logout): the queue starts nothing meanwhile, or it would start a
    /// torrent with the announce URLs of before.
    switching: tokio::sync::Mutex<()>,
}

impl Sharing {
    pub fn new(
        engine: Engine,
        places: Places,
        api: Option<TrackerApi>,
        registry: Arc<Mutex<Registry>>,
        events: broadcast::Sender<Event>,
    ) -> Sharing {
        let tiers = tiers_for(&places, places.tracker.clone());
        Sharing {
            engine,
            tiers: watch::Sender::new(tiers),
            places,
            api,
            registry,
            items: Mutex::new(HashMap::new()),
            identity: Mutex::new(Identity::default()),
            events,
            held: Mutex::default(),
            switching: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits for a change of identity to end and holds off the next one
    /// while the guard lives (the queue starts downloads under it).
    pub async fn steady(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.switching.lock().await
    }

    /// The downloads the queue holds back from now on (see
    /// [`Sharing::start_recorded`]).
    pub fn hold(&self, held: HashSet<InfoHash>) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = held;
    }

    /// Holds one more download back until the queue's next [`Sharing::hold`].
    pub fn hold_one(&self, id: InfoHash) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    /// Whether sharing is stopped by a logout until the next login.
    pub fn is_stopped(&self) -> bool {
        self.identity().stopped
    }

    /// The info-hashes of the watched-folder items.
    pub fn item_ids(&self) -> Vec<InfoHash> {
        self.items().keys().copied().collect()
    }

    /// The recorded downloads.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tracker announce URL for torrents shared from now on.
    pub fn tracker(&self) -> Option<String> {
        self.tiers.borrow().first().and_then(|t| t.first()).cloned()
    }

    /// Changes the tracker of torrents shared from now on: watched-folder
    /// items hashed after this, torrents without a tracker started after
    /// this, catalog entries published after this. What runs keeps its URLs.
    pub fn set_tracker(&self, url: Option<String>) {
        self.tiers.send_replace(tiers_for(&self.places, url));
    }

    fn items(&self) -> MutexGuard<'_, HashMap<InfoHash, SharedItem>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn identity(&self) -> MutexGuard<'_, Identity> {
        self.identity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The watched-folder items being shared, copied out of the lock.
    pub fn snapshot(&self) -> Vec<SharedItem> {
        self.items().values().cloned().collect()
    }

    /// The folder of a watched-folder item, if `ih` is one.
    pub fn item_dir(&self, ih: InfoHash) -> Option<PathBuf> {
        self.items().get(&ih).map(|i| i.data_dir.clone())
    }

    /// What a torrent announces with right now: torrents with no tracker get
    /// the configured one, and while logged in that one carries the user's
    /// passkey. `None` while sharing is stopped by a logout.
    fn torrent_for_now(&self, mut meta: Metainfo) -> Option<Metainfo> {
        let identity = self.identity();
        if identity.stopped {
            return None;
        }
        let Some(t) = self.tracker() else {
            return Some(meta);
        };
        if meta.trackers.is_empty() {
            meta.trackers = self.tiers.borrow().clone();
        }
        let ours: Vec<&str> = std::iter::once(t.as_str())
            .chain(self.places.tracker_instances.iter().map(String::as_str))
            .collect();
        let passkey = identity.credentials.as_ref().map(|c| c.passkey.as_str());
        for tier in &mut meta.trackers {
            announce_to_every_instance(tier, &ours, passkey);
        }
        Some(meta)
    }

    /// Adds a download to the engine, into `dir` (pinned to `pin`, see
    /// [`AddTorrent::folder_pin`]); while sharing is stopped by a logout it
    /// waits, and starts at the next login.
    pub async fn start_download(
        &self,
        meta: Metainfo,
        dir: &Path,
        pin: Option<FolderId>,
    ) -> Result<Start, EngineError> {
        let Some(meta) = self.torrent_for_now(meta) else {
            return Ok(Start::AtLogin);
        };
        let resume_dir = self.places.downloads_resume_dir.clone();
        self.add(meta, (dir.to_path_buf(), pin), resume_dir, false)
            .await
            .map(|_| Start::Now)
    }

    /// Adds a torrent that announces to its trackers, with the limits and
    /// file priorities of its own that its download's entry records (none
    /// for other torrents).
    async fn add(
        &self,
        metainfo: Metainfo,
        (download_dir, folder_pin): (PathBuf, Option<FolderId>),
        resume_dir: PathBuf,
        assume_complete: bool,
    ) -> Result<InfoHash, EngineError> {
        let (download_rate_limit, upload_rate_limit, file_priorities, sequential) = self
            .registry()
            .get(metainfo.info_hash)
            .map_or((None, None, None, false), |e| {
                (
                    e.download_rate_limit,
                    e.upload_rate_limit,
                    e.file_priorities.clone(),
                    e.sequential,
                )
            });
        self.engine
            .add(AddTorrent {
                metainfo,
                download_dir,
                resume_dir,
                download_rate_limit,
                upload_rate_limit,
                extra_peers: Vec::new(),
                use_trackers: true,
                assume_complete,
                folder_pin,
                file_priorities,
                sequential,
            })
            .await
    }

    /// Seeds a watched-folder item, unless sharing is stopped by a logout.
    async fn seed(&self, item: SharedItem) -> Result<(), EngineError> {
        let Some(metainfo) = self.torrent_for_now(item.metainfo) else {
            return Ok(());
        };
        let resume_dir = self.places.shared_resume_dir.clone();
        // The watcher hashed it a moment ago: complete without a check.
        let added = self
            .add(metainfo, (item.data_dir, None), resume_dir, true)
            .await;
        match added {
            Ok(_) | Err(EngineError::Duplicate(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Starts the recorded downloads that are not paused, held back by the
    /// queue, nor running.
    pub async fn start_recorded(&self) {
        let entries: Vec<_> = self.registry().entries().cloned().collect();
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for e in entries
            .into_iter()
            .filter(|e| !e.paused && !held.contains(&e.info_hash))
        {
            if self.engine.is_running(e.info_hash) {
                continue;
            }
            match read_torrent(e.torrent_file.clone()).await {
                Ok(meta) => {
                    if let Err(err) = self
                        .start_download(meta, &e.download_dir, e.folder_pin)
                        .await
                    {
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

    /// Stops every torrent (stopped announces, connections closed); they
    /// are remembered and start again at the next [`Sharing::share_as`].
    async fn stop_all(&self) {
        for s in self.engine.all_stats() {
            self.engine.remove(s.info_hash).await;
        }
    }

    /// Shares everything again under `credentials` (a login): every torrent
    /// restarts with announce URLs that carry the passkey, and every
    /// watched-folder item goes into the catalog.
    pub async fn share_as(self: &Arc<Self>, credentials: Credentials) {
        let switching = self.switching.lock().await;
        self.stop_all().await;
        {
            let mut identity = self.identity();
            identity.credentials = Some(credentials);
            identity.stopped = false;
        }
        self.start_recorded().await;
        drop(switching);
        for item in self.snapshot() {
            if let Err(e) = self.seed(item).await {
                tracing::warn!("cannot share again: {e}");
            }
        }
        // In the background: a slow tracker must not hold up the login.
        let me = self.clone();
        tokio::spawn(async move { me.publish_all().await });
    }

    /// The credentials we share under, while logged in.
    pub fn credentials(&self) -> Option<Credentials> {
        self.identity().credentials.clone()
    }

    /// Stops every torrent before a passkey rotation: their stopped
    /// announces still carry the old passkey while the tracker takes it, so
    /// the swarms drop our entries instead of keeping them until they time
    /// out. [`Sharing::rekey`] (or [`Sharing::share_as`]) starts them again.
    pub async fn stop_for_rekey(&self) {
        self.stop_all().await;
    }

    /// Shares again under a new passkey (a rotation): every torrent
    /// restarts with announce URLs that carry it. Returns how many run.
    pub async fn rekey(self: &Arc<Self>, credentials: Credentials) -> u64 {
        self.share_as(credentials).await;
        self.engine.all_stats().len() as u64
    }

    /// Stops sharing until the next login (a logout, or the tracker ended
    /// the session).
    pub async fn stop(&self) {
        let _switching = self.switching.lock().await;
        {
            let mut identity = self.identity();
            identity.credentials = None;
            identity.stopped = true;
        }
        self.stop_all().await;
    }

    /// The catalog token, while logged in.
    fn token(&self) -> Option<String> {
        self.identity()
            .credentials
            .as_ref()
            .map(|c| c.token.clone())
    }
}

/// The announce tiers of torrents shared with `tracker`: one tier, the
/// tracker then its other instances when they are listed (BEP 12: the
/// trackers of a tier share their swarms, as the instances do).
fn tiers_for(places: &Places, tracker: Option<String>) -> Vec<Vec<String>> {
    let Some(tracker) = tracker else {
        return Vec::new();
    };
    let mut tier = vec![tracker];
    if places.list_tracker_instances {
        for url in &places.tracker_instances {
            if !tier.contains(url) {
                tier.push(url.clone());
            }
        }
    }
    vec![tier]
}

/// In a tier that names our tracker or another instance of it (bare, or
/// with a passkey: a group download's personalised .torrent may carry one
/// rotated since), every instance is announced to, with the passkey of now:
/// the ones it names are rewritten, the others are added after them, since
/// they serve the same swarms.
fn announce_to_every_instance(tier: &mut Vec<String>, ours: &[&str], passkey: Option<&str>) {
    let is = |t: &str, url: &str| url == t || is_passkey_announce(t, url);
    let mut named = false;
    for url in tier.iter_mut() {
        if let Some(t) = ours.iter().find(|t| is(t, url)) {
            named = true;
            if let Some(pk) = passkey {
                *url = passkey_announce(t, pk);
            }
        }
    }
    if !named {
        return;
    }
    for t in ours {
        if !tier.iter().any(|url| is(t, url)) {
            tier.push(passkey.map_or_else(|| (*t).to_owned(), |pk| passkey_announce(t, pk)));
        }
    }
}

/// The announce URL with the user's passkey, for torrents on our tracker.
pub fn passkey_announce(tracker: &str, passkey: &str) -> String {
    format!("{}/{passkey}", tracker.trim_end_matches('/'))
}

/// Whether `url` is `tracker`'s announce URL with a passkey (32 hex).
fn is_passkey_announce(tracker: &str, url: &str) -> bool {
    url.strip_prefix(tracker.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|pk| pk.len() == 32 && pk.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads and parses a .torrent on the blocking pool.
pub(crate) async fn read_torrent(path: PathBuf) -> Result<Metainfo, String> {
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        Metainfo::from_bytes(&bytes).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_naming_one_instance_announces_to_every_instance_with_the_passkey_of_now() {
        let (a, b) = ("http://a:6969/announce", "http://b:6969/announce");
        let (old, now) = ("0".repeat(32), "f".repeat(32));
        // A group .torrent personalised by instance B, with an old passkey.
        let mut tier = vec![
            passkey_announce(b, &old),
            "http://elsewhere/announce".to_owned(),
        ];
        announce_to_every_instance(&mut tier, &[a, b], Some(&now));
        assert_eq!(
            tier,
            [
                passkey_announce(b, &now),
                "http://elsewhere/announce".to_owned(),
                passkey_announce(a, &now)
            ]
        );
        // A tier of other trackers is left as it is.
        let mut other = vec!["http://elsewhere/announce".to_owned()];
        announce_to_every_instance(&mut other, &[a, b], Some(&now));
        assert_eq!(other, ["http://elsewhere/announce"]);
        // Anonymous: the instances are added bare.
        let mut bare = vec![a.to_owned()];
        announce_to_every_instance(&mut bare, &[a, b], None);
        assert_eq!(bare, [a, b]);
    }

    #[test]
    fn only_the_trackers_own_passkey_urls_count_as_passkey_announces() {
        let t = "http://127.0.0.1:6969/announce";
        let pk = "0123456789abcdef0123456789abcdef";
        assert!(is_passkey_announce(t, &passkey_announce(t, pk)));
        assert!(!is_passkey_announce(t, t));
        assert!(!is_passkey_announce(t, &format!("{t}/{pk}/x")));
        assert!(!is_passkey_announce(t, &format!("{t}/short")));
        assert!(!is_passkey_announce(
            t,
            &format!("http://other/announce/{pk}")
        ));
    }
}
