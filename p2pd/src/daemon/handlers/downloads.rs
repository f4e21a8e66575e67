//! Changing the set of downloads: add (a .torrent, a magnet link, a
//! catalog entry), pause, resume and remove.

use std::path::{Path, PathBuf};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    Added, ErrorCode, FilePriority, FileSet, IpcError, TorrentState, TorrentSummary, parse_rate,
};
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;

use super::err;
use super::rights::{self, Peer, Want};
use super::views::{idle_summaries, summary};
use crate::daemon::registry::{Entry, store_torrent};
use crate::daemon::sharing::read_torrent;
use crate::daemon::{Daemon, community};
use crate::engine::{AddMagnet, EngineError, FolderId, selection};
use crate::watchdir::Found;

type Reply<T> = Result<T, IpcError>;

/// What a torrent waiting for a login is told.
const STARTS_AT_LOGIN: &str =
    "sharing is stopped since the logout: it starts at the next login (p2pctl login USER)";

/// Largest .torrent accepted through `add`.
const MAX_TORRENT_FILE_BYTES: u64 = 80 << 20;
/// Time allowed to fetch a magnet link's metadata.
const MAGNET_DEADLINE: Duration = Duration::from_secs(120);

pub(super) async fn add(
    d: &Daemon,
    peer: &Peer,
    source: &str,
    to: Option<&str>,
    paused: bool,
    files: Option<&FileSet>,
    sequential: bool,
) -> Reply<Added> {
    let dir = to
        .map(PathBuf::from)
        .unwrap_or_else(|| d.settings.downloads_dir.clone());
    if !dir.is_absolute() {
        return Err(err(
            ErrorCode::BadRequest,
            format!("download folder {} must be an absolute path", dir.display()),
        ));
    }
    let dir = if to.is_some() {
        // Written with the daemon's rights: only where the client could
        // write, and only into the very folder judged.
        judge_folder(d, peer, dir).await?
    } else {
        (dir, None)
    };
    if source.starts_with("magnet:") {
        let magnet =
            Magnet::parse(source).map_err(|e| err(ErrorCode::InvalidTorrent, e.to_string()))?;
        return add_magnet(d, magnet, dir, files.cloned(), sequential).await;
    }
    let path = Path::new(source);
    let looks_like_a_path =
        source.contains('/') || source.to_ascii_lowercase().ends_with(".torrent");
    if !path.is_absolute() && looks_like_a_path {
        return Err(err(
            ErrorCode::NotSupported,
            format!("{source:?} is a relative path: give the .torrent's absolute path"),
        ));
    }
    let bytes = if path.is_absolute() {
        let p = judge(d, peer, path.to_path_buf(), Want::Read).await?;
        tokio::task::spawn_blocking(move || read_capped(&p))
            .await
            .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| err(ErrorCode::Io, format!("cannot read {source}: {e}")))?
    } else {
        // An info-hash or a catalog name: the personalised .torrent from the tracker.
        community::fetch_torrent(&d.session, source.trim()).await?
    };
    // Up to 80 MiB of bencode: parsed on the blocking pool.
    let (meta, bytes) = tokio::task::spawn_blocking(move || (Metainfo::from_bytes(&bytes), bytes))
        .await
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
    let meta = meta.map_err(|e| err(ErrorCode::InvalidTorrent, format!("{source}: {e}")))?;
    add_parsed(d, meta, bytes, dir, paused, files, sequential).await
}

/// Starts a download from a file of the .torrent watch folder the way
/// [`add`] starts one for p2pctl: into the downloads folder, running.
pub(crate) async fn add_dropped(d: &Daemon, found: Found) -> Reply<Added> {
    let dir = (d.settings.downloads_dir.clone(), None);
    match found {
        Found::Torrent { meta, bytes } => {
            add_parsed(d, *meta, bytes, dir, false, None, false).await
        }
        Found::Magnet(magnet) => add_magnet(d, *magnet, dir, None, false).await,
    }
}

/// Records and starts (unless `paused`) a parsed .torrent whose bytes are
/// `bytes`, with only `files` wanted when given.
async fn add_parsed(
    d: &Daemon,
    meta: Metainfo,
    bytes: Vec<u8>,
    dir: Folder,
    paused: bool,
    files: Option<&FileSet>,
    sequential: bool,
) -> Reply<Added> {
    let ih = meta.info_hash;
    if d.engine.is_running(ih) || d.registry().get(ih).is_some() {
        return Err(err(
            ErrorCode::AlreadyExists,
            format!("{} is already added ({})", meta.info.name, ih.short_hex()),
        ));
    }
    let priorities = files
        .map(|set| selection::from_file_set(&meta.info.files, set))
        .transpose()
        .map_err(|e| err(ErrorCode::BadRequest, format!("--files: {e}")))?;
    // Refused before anything is recorded: it could not be downloaded.
    fits(&meta, &dir.0, priorities.clone()).await?;
    record(d, &meta, bytes, &dir, paused, priorities, sequential).await?;
    if paused {
        return Ok(Added {
            torrent: idle_summary(d, ih)?,
            note: None,
        });
    }
    start_and_summarize(d, ih).await
}

/// The path to act on for a client (see [`rights::check`]), on the blocking pool.
pub(super) async fn judge(d: &Daemon, peer: &Peer, path: PathBuf, want: Want) -> Reply<PathBuf> {
    with_rights(d, peer, move |policy, peer| {
        rights::check(policy, peer, &path, want)
    })
    .await
}

/// A download folder for a client (see [`rights::check_folder`]), on the blocking pool.
pub(super) async fn judge_folder(d: &Daemon, peer: &Peer, path: PathBuf) -> Reply<Folder> {
    with_rights(d, peer, move |policy, peer| {
        rights::check_folder(policy, peer, &path)
    })
    .await
}

/// Runs a rights check (it walks the file system) on the blocking pool.
async fn with_rights<T: Send + 'static>(
    d: &Daemon,
    peer: &Peer,
    check: impl FnOnce(&rights::Policy, &Peer) -> Reply<T> + Send + 'static,
) -> Reply<T> {
    let policy = rights::policy(&d.settings.client_folders, d.settings.only_client_folders);
    let peer = peer.clone();
    tokio::task::spawn_blocking(move || check(&policy, &peer))
        .await
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
}

/// A download folder and its pin (see [`crate::engine::AddTorrent::folder_pin`]).
pub(super) type Folder = (PathBuf, Option<FolderId>);

/// Whether the torrent's wanted files fit in the free space of `dir` (a
/// stat per file, on the blocking pool).
async fn fits(meta: &Metainfo, dir: &Path, priorities: Option<Vec<FilePriority>>) -> Reply<()> {
    let (meta, dir) = (meta.clone(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || {
        crate::engine::check_selected_space(&meta, &dir, priorities.as_deref())
    })
    .await
    .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| err(ErrorCode::Io, e.to_string()))
}

/// Stores the .torrent copy (on the blocking pool) and records the download.
async fn record(
    d: &Daemon,
    meta: &Metainfo,
    torrent: Vec<u8>,
    (dir, pin): &Folder,
    paused: bool,
    file_priorities: Option<Vec<FilePriority>>,
    sequential: bool,
) -> Reply<()> {
    let ih = meta.info_hash;
    let entry = Entry {
        info_hash: ih,
        torrent_file: d.registry().torrent_path(ih),
        download_dir: dir.clone(),
        paused,
        name: meta.info.name.clone(),
        size: meta.info.total_length,
        folder_pin: *pin,
        download_rate_limit: None,
        upload_rate_limit: None,
        file_priorities,
        sequential,
        queue: Default::default(),
    };
    let entry = store_torrent(entry, torrent)
        .await
        .map_err(|e| err(ErrorCode::Io, format!("cannot record the download: {e}")))?;
    d.registry().insert(entry);
    Ok(())
}

/// The summary of a recorded torrent the engine is not running.
pub(super) fn idle_summary(d: &Daemon, ih: InfoHash) -> Reply<TorrentSummary> {
    idle_summaries(d)
        .into_iter()
        .find(|s| s.info_hash == ih)
        .ok_or_else(|| {
            err(
                ErrorCode::NotFound,
                format!("{} is not recorded", ih.short_hex()),
            )
        })
}

/// The summary of a torrent: running in the engine, or recorded idle.
pub(super) fn describe(d: &Daemon, ih: InfoHash) -> Reply<TorrentSummary> {
    match d.engine.stats(ih) {
        Some(stats) => Ok(summary(d, &stats)),
        None => idle_summary(d, ih),
    }
}

/// Lets the queue start a recorded download (or leave it waiting for a
/// slot or a login) and describes it; fails when the engine refuses it.
async fn start_and_summarize(d: &Daemon, ih: InfoHash) -> Reply<Added> {
    d.queue.retry(ih);
    let refused = d.queue.plan().await;
    if let Some((_, why)) = refused.into_iter().find(|(id, _)| *id == ih) {
        return Err(err(ErrorCode::Io, why));
    }
    Ok(Added {
        torrent: describe(d, ih)?,
        note: d.sharing.is_stopped().then(|| STARTS_AT_LOGIN.to_owned()),
    })
}

async fn add_magnet(
    d: &Daemon,
    magnet: Magnet,
    dir: Folder,
    files: Option<FileSet>,
    sequential: bool,
) -> Reply<Added> {
    let ih = magnet.info_hash;
    if d.engine.is_running(ih) || d.registry().get(ih).is_some() {
        let name = magnet.display_name.unwrap_or_else(|| ih.short_hex());
        return Err(err(
            ErrorCode::AlreadyExists,
            format!("{name} is already added ({})", ih.short_hex()),
        ));
    }
    let add = AddMagnet {
        download_dir: dir.0.clone(),
        resume_dir: d.settings.downloads_dir.join(".progress"),
        extra_peers: Vec::new(),
        use_trackers: true,
        folder_pin: dir.1,
        use_dht: !known_private(d, magnet.info_hash).await,
        files,
        sequential,
    };
    let ih = d
        .engine
        .add_magnet(&magnet, add, MAGNET_DEADLINE)
        .await
        .map_err(|e| {
            let code = match e {
                EngineError::NoSpace(_) => ErrorCode::Io,
                EngineError::FileIndex(_) => ErrorCode::BadRequest,
                _ => ErrorCode::Tracker,
            };
            err(code, e.to_string())
        })?;
    if let Some(meta) = d.engine.metainfo(ih) {
        let torrent = p2p_proto::metainfo::encode_torrent(
            &meta.raw_info,
            &p2p_proto::metainfo::TorrentExtras {
                trackers: meta.trackers.clone(),
                ..Default::default()
            },
        );
        let priorities = d
            .engine
            .files(ih)
            .map(|f| f.iter().map(|f| f.priority).collect());
        record(d, &meta, torrent, &dir, false, priorities, sequential).await?;
        // The engine started it to fetch the metadata: now it takes its
        // place in the queue (last), and waits if the slots are taken.
        d.queue.plan().await;
    }
    Ok(Added {
        torrent: describe(d, ih)?,
        note: None,
    })
}

/// Whether an info-hash is known to be private: a download recorded before
/// (paused, or removed from the engine) whose .torrent says so. A magnet
/// link carries no private flag, so an unknown one is looked up in the DHT;
/// a group's torrents come as .torrent files from the tracker, not as links.
async fn known_private(d: &Daemon, ih: InfoHash) -> bool {
    let Some(path) = d.registry().get(ih).map(|e| e.torrent_file.clone()) else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        read_capped(&path)
            .ok()
            .and_then(|bytes| Metainfo::from_bytes(&bytes).ok())
            .is_some_and(|m| m.info.private)
    })
    .await
    .unwrap_or(true)
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TORRENT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TORRENT_FILE_BYTES {
        return Err(std::io::Error::other("file too large to be a torrent"));
    }
    Ok(bytes)
}

pub(super) async fn pause(d: &Daemon, ih: InfoHash) -> Reply<TorrentSummary> {
    let Some(stats) = d.engine.stats(ih) else {
        return pause_idle(d, ih).await;
    };
    if d.registry().get(ih).is_none() {
        return Err(err(
            ErrorCode::BadRequest,
            "shared items stop when their file leaves the watched folder",
        ));
    }
    d.engine.remove(ih).await;
    d.registry().set_paused(ih, true);
    // Its slot goes to the next in the queue.
    d.queue.plan().await;
    let mut s = summary(d, &stats);
    s.state = TorrentState::Paused;
    Ok(s)
}

/// Pauses a download the engine does not run: one waiting in the queue
/// (or for a login).
async fn pause_idle(d: &Daemon, ih: InfoHash) -> Reply<TorrentSummary> {
    let waiting = d.registry().get(ih).is_some_and(|e| !e.paused);
    if !waiting {
        return Err(err(
            ErrorCode::NotFound,
            format!("{} is not running", ih.short_hex()),
        ));
    }
    d.registry().set_paused(ih, true);
    d.queue.plan().await;
    idle_summary(d, ih)
}

pub(super) async fn resume(d: &Daemon, ih: InfoHash) -> Reply<Added> {
    let entry = d
        .registry()
        .get(ih)
        .cloned()
        .ok_or_else(|| err(ErrorCode::NotFound, "not a paused download"))?;
    if !entry.paused {
        return Err(err(
            ErrorCode::BadRequest,
            format!("{} is not paused", ih.short_hex()),
        ));
    }
    // Read first: a .torrent that went bad leaves it paused, with the reason.
    read_torrent(entry.torrent_file.clone())
        .await
        .map_err(|e| err(ErrorCode::InvalidTorrent, e))?;
    d.registry().set_paused(ih, false);
    start_and_summarize(d, ih).await
}

/// Sets a download's own rate limits: kept in its entry (so they hold
/// after a pause or a restart) and applied at once if it runs.
pub(super) fn limits(
    d: &Daemon,
    ih: InfoHash,
    download: Option<u64>,
    upload: Option<u64>,
) -> Reply<TorrentSummary> {
    for (key, rate) in [
        ("download_rate_limit", download),
        ("upload_rate_limit", upload),
    ] {
        // The checks `config set` makes on a global limit.
        if let Some(r) = rate.filter(|&r| parse_rate(&r.to_string()) != Some(Some(r))) {
            return Err(err(
                ErrorCode::InvalidSetting,
                format!("{key}: {r} is not a rate from 1 byte to 1 TiB per second"),
            ));
        }
    }
    if !d.registry().set_limits(ih, download, upload) {
        return Err(err(
            ErrorCode::InvalidSetting,
            "per-torrent limits are kept for downloads; a watched-folder item follows the global limits",
        ));
    }
    d.engine.set_torrent_limits(ih, download, upload);
    describe(d, ih)
}

pub(super) async fn remove(d: &Daemon, ih: InfoHash, delete_data: bool) -> Reply<TorrentSummary> {
    let stats = d.engine.stats(ih);
    let meta = d.engine.metainfo(ih);
    let entry = d.registry().get(ih).cloned();
    if entry.is_none() && stats.is_some() {
        return Err(err(
            ErrorCode::BadRequest,
            "shared items stop when their file leaves the watched folder",
        ));
    }
    let summary_before = describe(d, ih)?;
    d.engine.remove(ih).await;
    let removed = d.registry().remove(ih);
    d.totals.forget(ih);
    let resume_file = d
        .settings
        .downloads_dir
        .join(".progress")
        .join(format!("{}.resume", ih.to_hex()));
    // Skipped files' bytes beside it (see engine::partfile).
    let part_file = resume_file.with_extension("parts");
    let meta = match (meta, &removed) {
        (Some(meta), _) => Some(meta),
        (None, Some(entry)) if delete_data => read_torrent(entry.torrent_file.clone())
            .await
            .ok()
            .map(std::sync::Arc::new),
        (None, _) => None,
    };
    tokio::task::spawn_blocking(move || {
        if let Some(entry) = &removed {
            remove_if_there(&entry.torrent_file)?;
        }
        remove_if_there(&resume_file)?;
        remove_if_there(&part_file)?;
        match (delete_data, meta, removed) {
            (true, Some(meta), Some(entry)) => {
                crate::engine::delete_files(&meta, &entry.download_dir, entry.folder_pin)
            }
            _ => Ok(()),
        }
    })
    .await
    .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| err(ErrorCode::Io, format!("cannot delete the data: {e}")))?;
    // Its slot goes to the next in the queue.
    d.queue.plan().await;
    Ok(summary_before)
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
