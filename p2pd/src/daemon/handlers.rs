//! One small handler per control command. Handlers only translate between
//! the control protocol and the engine; blocking file work goes to blocking
//! threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    ErrorCode, Event, EventFrame, FileProgress, IpcError, PeerSummary, ProgressInfo, ReplyBody,
    ReplyFrame, Request, ShareInfo, StatusInfo, TorrentSummary, encode_frame,
};
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::{Daemon, community, session};
use crate::engine::{AddMagnet, TorrentState, TorrentStats};

/// Largest .torrent accepted through `add`.
const MAX_TORRENT_FILE_BYTES: u64 = 80 << 20;
/// Time allowed to fetch a magnet link's metadata.
const MAGNET_DEADLINE: Duration = Duration::from_secs(120);
/// How often subscribers get progress.
const PROGRESS_PERIOD: Duration = Duration::from_millis(500);

type Reply = Result<Value, IpcError>;

fn err(code: ErrorCode, message: impl Into<String>) -> IpcError {
    IpcError::new(code, message)
}

fn json<T: serde::Serialize>(v: T) -> Reply {
    serde_json::to_value(v).map_err(|e| err(ErrorCode::Internal, e.to_string()))
}

pub(crate) async fn handle(d: &Arc<Daemon>, request: Request) -> Reply {
    match request {
        Request::Status => json(status(d)),
        Request::List => json(list(d)),
        Request::Add { source, to, paused } => add(d, &source, to.as_deref(), paused).await,
        Request::Progress { id } => json(progress(d, resolve(d, &id)?)?),
        Request::Pause { id } => pause(d, resolve(d, &id)?).await,
        Request::Resume { id } => resume(d, resolve(d, &id)?).await,
        Request::Remove { id, delete_data } => remove(d, resolve(d, &id)?, delete_data).await,
        Request::Peers { id } => json(peers(d, resolve(d, &id)?)?),
        Request::Share { path, group } => share(d, &path, group.as_deref()).await,
        Request::Subscribe { .. } => Err(err(
            ErrorCode::Internal,
            "subscribe is handled by the connection",
        )),
        Request::Register { user, password } => session::register(d, &user, &password).await,
        Request::Login {
            user,
            password,
            force,
        } => session::login(d, &user, &password, force).await,
        Request::Logout => session::logout(d).await,
        Request::Whoami => Ok(session::whoami(d)),
        r @ (Request::GroupCreate { .. }
        | Request::GroupList
        | Request::GroupJoin { .. }
        | Request::GroupLeave { .. }
        | Request::GroupRequests { .. }
        | Request::GroupAccept { .. }
        | Request::GroupReject { .. }
        | Request::GroupMembers { .. }
        | Request::GroupRemove { .. }
        | Request::Files { .. }
        | Request::Search { .. }
        | Request::Events { .. }) => community::proxy(d, &r).await,
    }
}

fn state_name(s: &TorrentState) -> (&'static str, Option<String>) {
    match s {
        TorrentState::Checking => ("checking", None),
        TorrentState::Downloading => ("downloading", None),
        TorrentState::Seeding => ("seeding", None),
        TorrentState::Stopped => ("paused", None),
        TorrentState::Error(e) => ("error", Some(e.clone())),
    }
}

fn summary(d: &Daemon, s: &TorrentStats) -> TorrentSummary {
    let (state, error) = state_name(&s.state);
    let (down, up) = d.rates.of(s.info_hash);
    let shared_dir = d
        .shared_items
        .lock()
        .ok()
        .and_then(|m| m.get(&s.info_hash).map(|i| i.data_dir.clone()));
    let save_path = d
        .registry()
        .get(s.info_hash)
        .map(|e| e.download_dir.clone())
        .or(shared_dir)
        .unwrap_or_else(|| d.settings.shared_dir.clone());
    TorrentSummary {
        info_hash: s.info_hash.to_hex(),
        short_id: s.info_hash.to_hex()[..8].to_owned(),
        name: s.name.clone(),
        state: state.into(),
        error,
        progress: if s.total_length == 0 {
            1.0
        } else {
            s.bytes_have as f64 / s.total_length as f64
        },
        size: s.total_length,
        downloaded: s.downloaded,
        uploaded: s.uploaded,
        download_rate: down,
        upload_rate: up,
        peers: s.peers.len(),
        save_path: save_path.display().to_string(),
    }
}

/// Paused downloads are not in the engine; they are listed from the registry.
fn paused_summaries(d: &Daemon) -> Vec<TorrentSummary> {
    let entries: Vec<_> = d
        .registry()
        .entries()
        .filter(|e| e.paused)
        .cloned()
        .collect();
    entries
        .into_iter()
        .map(|e| TorrentSummary {
            info_hash: e.info_hash.clone(),
            short_id: e.info_hash[..8].to_owned(),
            name: e.name.clone(),
            state: "paused".into(),
            error: None,
            progress: 0.0,
            size: e.size,
            downloaded: 0,
            uploaded: 0,
            download_rate: 0,
            upload_rate: 0,
            peers: 0,
            save_path: e.download_dir.display().to_string(),
        })
        .collect()
}

fn list(d: &Daemon) -> Vec<TorrentSummary> {
    let mut all: Vec<TorrentSummary> = d.engine.all_stats().iter().map(|s| summary(d, s)).collect();
    all.extend(paused_summaries(d));
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.info_hash.cmp(&b.info_hash)));
    all
}

fn status(d: &Daemon) -> StatusInfo {
    // One lock for both fields: a second lock() in one expression would deadlock.
    let (logged_in_as, logged_out_because) = {
        let s = d.session();
        (s.user.clone(), s.ended_because.clone())
    };
    let all = d.engine.all_stats();
    let count = |st: TorrentState| all.iter().filter(|s| s.state == st).count();
    let (down, up) = all.iter().fold((0, 0), |(a, b), s| {
        let (x, y) = d.rates.of(s.info_hash);
        (a + x, b + y)
    });
    StatusInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: d.started.elapsed().as_secs(),
        logged_in_as,
        logged_out_because,
        tracker: d
            .tracker
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone()),
        listen_port: d.engine.listen_addr().port(),
        shared_dir: d.settings.shared_dir.display().to_string(),
        downloads_dir: d.settings.downloads_dir.display().to_string(),
        torrents: all.len() + paused_summaries(d).len(),
        downloading: count(TorrentState::Downloading),
        seeding: count(TorrentState::Seeding),
        download_rate: down,
        upload_rate: up,
    }
}

/// Finds a torrent by info-hash, unique prefix, or exact name.
fn resolve(d: &Daemon, id: &str) -> Result<InfoHash, IpcError> {
    let id = id.trim();
    let mut known: Vec<(InfoHash, String)> = d
        .engine
        .all_stats()
        .into_iter()
        .map(|s| (s.info_hash, s.name))
        .collect();
    for e in d.registry().entries() {
        if let Ok(ih) = InfoHash::parse(&e.info_hash)
            && !known.iter().any(|(k, _)| *k == ih)
        {
            known.push((ih, String::new()));
        }
    }
    let lower = id.to_ascii_lowercase();
    let matches: Vec<InfoHash> = known
        .iter()
        .filter(|(ih, name)| (!lower.is_empty() && ih.to_hex().starts_with(&lower)) || name == id)
        .map(|(ih, _)| *ih)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(err(
            ErrorCode::NotFound,
            format!("no torrent matches {id:?}"),
        )),
        _ => Err(err(
            ErrorCode::Ambiguous,
            format!(
                "{id:?} matches {} torrents; give more of the info-hash",
                matches.len()
            ),
        )),
    }
}

async fn add(d: &Daemon, source: &str, to: Option<&str>, paused: bool) -> Reply {
    let dir = to
        .map(PathBuf::from)
        .unwrap_or_else(|| d.settings.downloads_dir.clone());
    if !dir.is_absolute() {
        return Err(err(
            ErrorCode::BadRequest,
            format!("download folder {} must be an absolute path", dir.display()),
        ));
    }
    if source.starts_with("magnet:") {
        let magnet =
            Magnet::parse(source).map_err(|e| err(ErrorCode::InvalidTorrent, e.to_string()))?;
        return add_magnet(d, magnet, dir).await;
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
        read_capped(path).map_err(|e| err(ErrorCode::Io, format!("cannot read {source}: {e}")))?
    } else {
        // An info-hash or a catalog name: the personalised .torrent from the tracker.
        community::fetch_torrent(d, source.trim()).await?
    };
    let meta = Metainfo::from_bytes(&bytes)
        .map_err(|e| err(ErrorCode::InvalidTorrent, format!("{source}: {e}")))?;
    let ih = meta.info_hash;
    if d.engine.stats(ih).is_some() || d.registry().get(ih).is_some() {
        return Err(err(
            ErrorCode::AlreadyExists,
            format!(
                "{} is already added ({})",
                meta.info.name,
                &ih.to_hex()[..8]
            ),
        ));
    }
    d.registry()
        .insert(ih, &bytes, &dir, paused)
        .map_err(|e| err(ErrorCode::Io, format!("cannot record the download: {e}")))?;
    if paused {
        return json(
            paused_summaries(d)
                .into_iter()
                .find(|s| s.info_hash == ih.to_hex()),
        );
    }
    start_and_summarize(d, meta, &dir).await
}

/// The summary of a torrent the engine is running.
fn describe(d: &Daemon, ih: InfoHash) -> Reply {
    let stats = d
        .engine
        .stats(ih)
        .ok_or_else(|| err(ErrorCode::Internal, "torrent vanished"))?;
    json(summary(d, &stats))
}

/// Starts a torrent in the engine and describes it.
async fn start_and_summarize(d: &Daemon, meta: Metainfo, dir: &Path) -> Reply {
    let ih = meta.info_hash;
    d.start_torrent(meta, dir)
        .await
        .map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    describe(d, ih)
}

async fn add_magnet(d: &Daemon, magnet: Magnet, dir: PathBuf) -> Reply {
    let add = AddMagnet {
        download_dir: dir.clone(),
        resume_dir: d.settings.downloads_dir.join(".progress"),
        extra_peers: Vec::new(),
        use_trackers: true,
    };
    let ih = d
        .engine
        .add_magnet(&magnet, add, MAGNET_DEADLINE)
        .await
        .map_err(|e| err(ErrorCode::Tracker, e.to_string()))?;
    if let Some(meta) = d.engine.metainfo(ih) {
        let torrent = p2p_proto::metainfo::encode_torrent(
            &meta.raw_info,
            &p2p_proto::metainfo::TorrentExtras {
                trackers: meta.trackers.clone(),
                ..Default::default()
            },
        );
        d.registry()
            .insert(ih, &torrent, &dir, false)
            .map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    }
    describe(d, ih)
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

fn progress(d: &Daemon, ih: InfoHash) -> Result<ProgressInfo, IpcError> {
    let (Some(s), Some(meta), Some(have)) =
        (d.engine.stats(ih), d.engine.metainfo(ih), d.engine.have(ih))
    else {
        return Err(err(
            ErrorCode::NotFound,
            format!(
                "{} is paused: resume it to see its progress",
                &ih.to_hex()[..8]
            ),
        ));
    };
    let (down, _) = d.rates.of(ih);
    let left = s.total_length - s.bytes_have;
    let pl = meta.info.piece_length;
    let files = meta
        .info
        .files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| {
            let complete = f.length == 0 || {
                let first = f.offset / pl;
                let last = (f.offset + f.length - 1) / pl;
                (first..=last).all(|p| have.get(p as usize))
            };
            FileProgress {
                path: f.display_path(),
                length: f.length,
                complete,
            }
        })
        .collect();
    Ok(ProgressInfo {
        info_hash: ih.to_hex(),
        name: s.name.clone(),
        state: state_name(&s.state).0.into(),
        pieces_total: s.piece_count,
        pieces_have: s.pieces_have,
        bytes_total: s.total_length,
        bytes_have: s.bytes_have,
        pieces_rechecked: s.pieces_rechecked,
        eta_secs: (down > 0 && left > 0).then(|| left / down),
        files,
    })
}

async fn pause(d: &Daemon, ih: InfoHash) -> Reply {
    let Some(stats) = d.engine.stats(ih) else {
        return Err(err(
            ErrorCode::NotFound,
            format!("{} is not running", &ih.to_hex()[..8]),
        ));
    };
    if d.registry().get(ih).is_none() {
        return Err(err(
            ErrorCode::BadRequest,
            "shared items stop when their file leaves the watched folder",
        ));
    }
    d.engine.remove(ih).await;
    d.registry()
        .set_paused(ih, true)
        .map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    let mut s = summary(d, &stats);
    s.state = "paused".into();
    json(s)
}

async fn resume(d: &Daemon, ih: InfoHash) -> Reply {
    let entry = d
        .registry()
        .get(ih)
        .cloned()
        .ok_or_else(|| err(ErrorCode::NotFound, "not a paused download"))?;
    if !entry.paused {
        return Err(err(
            ErrorCode::BadRequest,
            format!("{} is not paused", &ih.to_hex()[..8]),
        ));
    }
    let bytes =
        std::fs::read(&entry.torrent_file).map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    let meta =
        Metainfo::from_bytes(&bytes).map_err(|e| err(ErrorCode::InvalidTorrent, e.to_string()))?;
    d.registry()
        .set_paused(ih, false)
        .map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    start_and_summarize(d, meta, &entry.download_dir).await
}

async fn remove(d: &Daemon, ih: InfoHash, delete_data: bool) -> Reply {
    let stats = d.engine.stats(ih);
    let meta = d.engine.metainfo(ih);
    let entry = d.registry().get(ih).cloned();
    if entry.is_none() && stats.is_some() {
        return Err(err(
            ErrorCode::BadRequest,
            "shared items stop when their file leaves the watched folder",
        ));
    }
    let summary_before = stats.as_ref().map(|s| summary(d, s));
    d.engine.remove(ih).await;
    let removed = d
        .registry()
        .remove(ih)
        .map_err(|e| err(ErrorCode::Io, e.to_string()))?;
    let _ = std::fs::remove_file(
        d.settings
            .downloads_dir
            .join(".progress")
            .join(format!("{}.resume", ih.to_hex())),
    );
    if delete_data && let (Some(meta), Some(entry)) = (meta, removed) {
        let dir = entry.download_dir.clone();
        tokio::task::spawn_blocking(move || delete_files(&meta, &dir))
            .await
            .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
            .map_err(|e| err(ErrorCode::Io, format!("cannot delete the data: {e}")))?;
    }
    json(summary_before)
}

/// Deletes a torrent's files and the folders they leave empty, never above `dir`.
fn delete_files(meta: &Metainfo, dir: &Path) -> std::io::Result<()> {
    for f in meta.info.files.iter().filter(|f| !f.pad && !f.symlink) {
        let path: PathBuf = dir.join(f.path.iter().collect::<PathBuf>());
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut parent = path.parent();
        while let Some(p) = parent {
            if p == dir || !p.starts_with(dir) || std::fs::remove_dir(p).is_err() {
                break;
            }
            parent = p.parent();
        }
    }
    Ok(())
}

fn peers(d: &Daemon, ih: InfoHash) -> Result<Vec<PeerSummary>, IpcError> {
    let s = d
        .engine
        .stats(ih)
        .ok_or_else(|| err(ErrorCode::NotFound, "torrent is not running"))?;
    Ok(s.peers
        .iter()
        .map(|p| PeerSummary {
            addr: p.addr.to_string(),
            peer_id: p.peer_id.clone(),
            downloaded: p.downloaded,
            uploaded: p.uploaded,
            outgoing: p.outgoing,
        })
        .collect())
}

/// Copies into the watched folder under a hidden name, then renames it in,
/// so the watcher only ever sees a complete item.
async fn share(d: &Daemon, path: &str, group: Option<&str>) -> Reply {
    let src = PathBuf::from(path);
    if !src.is_absolute() {
        return Err(err(
            ErrorCode::BadRequest,
            format!("{path} must be an absolute path"),
        ));
    }
    let mut dest_dir = d.settings.shared_dir.clone();
    if let Some(g) = group {
        let safe = p2p_proto::metainfo::path::sanitize_component(g.as_bytes())
            .filter(|s| s == g)
            .ok_or_else(|| {
                err(
                    ErrorCode::BadRequest,
                    format!("{g:?} is not a usable group name"),
                )
            })?;
        dest_dir.push(safe);
    }
    let name = src
        .file_name()
        .ok_or_else(|| err(ErrorCode::BadRequest, format!("{path} has no file name")))?
        .to_owned();
    let dest = dest_dir.join(&name);
    if dest.exists() {
        return Err(err(
            ErrorCode::AlreadyExists,
            format!("{} is already shared", dest.display()),
        ));
    }
    let tmp = dest_dir.join(format!(".{}.p2p-copy", name.to_string_lossy()));
    let (s, t, fin) = (src.clone(), tmp.clone(), dest.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(t.parent().unwrap_or(Path::new(".")))?;
        copy_tree(&s, &t)?;
        std::fs::rename(&t, &fin)
    })
    .await
    .map_err(|e| err(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp).or_else(|_| std::fs::remove_file(&tmp));
        err(ErrorCode::Io, format!("cannot copy {path}: {e}"))
    })?;
    json(ShareInfo {
        placed_at: dest.display().to_string(),
    })
}

fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(src)?;
    if meta.is_dir() {
        std::fs::create_dir_all(dest)?;
        for entry in std::fs::read_dir(src)? {
            let entry = entry?;
            copy_tree(&entry.path(), &dest.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(src, dest).map(|_| ())
    }
}

/// Answers ok, then streams progress every half second and events as they
/// happen, until the client goes away or the daemon stops.
pub(crate) async fn subscribe(
    d: &Daemon,
    req_id: u64,
    filter: Option<&str>,
    tx: &mut (impl AsyncWriteExt + Unpin),
) -> anyhow::Result<()> {
    let only = match filter {
        Some(id) => match resolve(d, id) {
            Ok(ih) => Some(ih),
            Err(e) => {
                tx.write_all(&encode_frame(&ReplyFrame {
                    id: req_id,
                    body: ReplyBody::Error(e),
                }))
                .await?;
                return Ok(());
            }
        },
        None => None,
    };
    let mut events = d.events.subscribe();
    tx.write_all(&encode_frame(&ReplyFrame {
        id: req_id,
        body: ReplyBody::Ok(serde_json::json!({ "subscribed": true })),
    }))
    .await?;
    let mut tick = tokio::time::interval(PROGRESS_PERIOD);
    loop {
        let event = tokio::select! {
            _ = d.cancel.cancelled() => return Ok(()),
            _ = tick.tick() => {
                let torrents: Vec<TorrentSummary> = list(d)
                    .into_iter()
                    .filter(|t| only.is_none_or(|ih| t.info_hash == ih.to_hex()))
                    .collect();
                Event::Progress { torrents }
            }
            e = events.recv() => match e {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return Ok(()),
            },
        };
        tx.write_all(&encode_frame(&EventFrame { event })).await?;
    }
}
