//! Read-only views of the daemon's downloads: the list, status, progress
//! of one torrent and its peers.

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    DhtInfo, ErrorCode, FileProgress, IpcError, PeerSource, PeerSummary, PeerTransport,
    ProgressInfo, StatusInfo, TorrentState, TorrentSummary, piece_map,
};

use super::err;
use crate::daemon::Daemon;
use crate::daemon::registry::Entry;
use crate::engine::{self, TorrentStats};

fn shown_state(s: &engine::TorrentState) -> (TorrentState, Option<String>) {
    match s {
        engine::TorrentState::Checking => (TorrentState::Checking, None),
        engine::TorrentState::Downloading => (TorrentState::Downloading, None),
        engine::TorrentState::Seeding => (TorrentState::Seeding, None),
        engine::TorrentState::Stopped => (TorrentState::Paused, None),
        engine::TorrentState::Error(e) => (TorrentState::Error, Some(e.clone())),
        engine::TorrentState::DiskFull(why) => (TorrentState::DiskFull, Some(why.clone())),
    }
}

pub(super) fn summary(d: &Daemon, s: &TorrentStats) -> TorrentSummary {
    let (state, error) = shown_state(&s.state);
    let (down, up) = d.rates.of(s.info_hash);
    let shared_dir = d.sharing.item_dir(s.info_hash);
    let entry = d.registry().get(s.info_hash).map(|e| {
        (
            e.download_dir.clone(),
            e.download_rate_limit,
            e.upload_rate_limit,
        )
    });
    let (download_rate_limit, upload_rate_limit) =
        entry.as_ref().map_or((None, None), |e| (e.1, e.2));
    let save_path = entry
        .map(|e| e.0)
        .or(shared_dir)
        .unwrap_or_else(|| d.settings.shared_dir.clone());
    TorrentSummary {
        info_hash: s.info_hash,
        short_id: s.info_hash.short_hex(),
        name: s.name.clone(),
        state,
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
        download_rate_limit,
        upload_rate_limit,
        all_time: d.totals.of(s.info_hash, s.total_length),
        sequential: s.sequential,
    }
}

/// Downloads the engine is not running (paused, queued, finished, or
/// waiting for a login) are listed from the registry.
pub(super) fn idle_summaries(d: &Daemon) -> Vec<TorrentSummary> {
    let running = d.engine.running();
    // Only the idle ones copied: with thousands seeding, that is few.
    let entries: Vec<Entry> = d
        .registry()
        .entries()
        .filter(|e| e.paused || !running.contains(&e.info_hash))
        .cloned()
        .collect();
    entries.iter().map(|e| idle_summary(d, e)).collect()
}

/// The summary of one recorded download the engine is not running.
pub(super) fn idle_summary(d: &Daemon, e: &Entry) -> TorrentSummary {
    let (state, error) = idle_state(d, e);
    TorrentSummary {
        info_hash: e.info_hash,
        short_id: e.info_hash.short_hex(),
        name: e.name.clone(),
        state,
        error,
        progress: if e.queue.complete { 1.0 } else { 0.0 },
        size: e.size,
        downloaded: 0,
        uploaded: e.queue.finished.as_ref().map_or(0, |f| f.uploaded),
        download_rate: 0,
        upload_rate: 0,
        peers: 0,
        save_path: e.download_dir.display().to_string(),
        download_rate_limit: e.download_rate_limit,
        upload_rate_limit: e.upload_rate_limit,
        all_time: d.totals.of(e.info_hash, e.size),
        sequential: e.sequential,
    }
}

/// What a recorded download the engine does not run is doing, and why.
fn idle_state(d: &Daemon, e: &Entry) -> (TorrentState, Option<String>) {
    if let Some(f) = &e.queue.finished {
        return (TorrentState::Finished, Some(f.reason.clone()));
    }
    if e.paused {
        return (TorrentState::Paused, None);
    }
    if let Some(n) = d.queue.place(e.info_hash) {
        return (TorrentState::Queued, Some(format!("#{n} in the queue")));
    }
    // Out of the queue and not yet in the engine: a start begins by
    // checking the files.
    if d.queue.is_starting(e.info_hash) {
        return (TorrentState::Checking, None);
    }
    match d.queue.refused(e.info_hash) {
        Some(why) => (TorrentState::Error, Some(why)),
        None => (TorrentState::Waiting, None),
    }
}

/// Watched-folder items a seed goal stopped (with
/// `seed_goals_apply_to_shared`), until the watcher shares them again.
fn finished_shared(d: &Daemon) -> Vec<TorrentSummary> {
    d.queue
        .finished_shared()
        .into_iter()
        .map(|(ih, f)| TorrentSummary {
            info_hash: ih,
            short_id: ih.short_hex(),
            name: f.name,
            state: TorrentState::Finished,
            error: Some(f.finished.reason),
            progress: 1.0,
            size: f.size,
            downloaded: 0,
            uploaded: f.finished.uploaded,
            download_rate: 0,
            upload_rate: 0,
            peers: 0,
            save_path: d
                .sharing
                .item_dir(ih)
                .unwrap_or_else(|| d.settings.shared_dir.clone())
                .display()
                .to_string(),
            download_rate_limit: None,
            upload_rate_limit: None,
            all_time: d.totals.of(ih, f.size),
            sequential: false,
        })
        .collect()
}

pub(super) fn list(d: &Daemon) -> Vec<TorrentSummary> {
    let mut all: Vec<TorrentSummary> = d.engine.all_stats().iter().map(|s| summary(d, s)).collect();
    all.extend(idle_summaries(d));
    all.extend(finished_shared(d));
    // Sorted by place, then moved once: sorting the summaries themselves
    // moves each large struct log n times (10,000 torrents: 40 MB copied).
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| {
        (all[a].name.as_str(), all[a].info_hash).cmp(&(all[b].name.as_str(), all[b].info_hash))
    });
    let mut slots: Vec<Option<TorrentSummary>> = all.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

pub(super) async fn status(d: &Daemon) -> StatusInfo {
    let dht = d.engine.dht_status().await.map(|s| {
        Box::new(DhtInfo {
            port: s.port,
            nodes: s.nodes,
            server_mode: s.server_mode,
            firewalled: s.firewalled,
            public_address: s.public_address.map(|a| a.to_string()),
        })
    });
    // One lock for both fields: a second lock() in one expression would deadlock.
    let session = d.session.info();
    let (logged_in_as, logged_out_because) = (session.logged_in_as, session.ended_because);
    let all = d.engine.all_stats();
    let count = |st: engine::TorrentState| all.iter().filter(|s| s.state == st).count();
    let (down, up) = all.iter().fold((0, 0), |(a, b), s| {
        let (x, y) = d.rates.of(s.info_hash);
        (a + x, b + y)
    });
    StatusInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: d.started.elapsed().as_secs(),
        logged_in_as,
        logged_out_because,
        tracker: d.tracker.get(),
        listen_port: d.engine.listen_addr().port(),
        shared_dir: d.settings.shared_dir.display().to_string(),
        downloads_dir: d.settings.downloads_dir.display().to_string(),
        torrents: all.len() + idle_summaries(d).len(),
        downloading: count(engine::TorrentState::Downloading),
        seeding: count(engine::TorrentState::Seeding),
        download_rate: down,
        upload_rate: up,
        dht,
        watch_folder: d.watch_report.as_ref().map(|r| Box::new(r.view())),
    }
}

pub(super) fn progress(d: &Daemon, ih: InfoHash) -> Result<ProgressInfo, IpcError> {
    let (Some(s), Some(meta), Some(have)) =
        (d.engine.stats(ih), d.engine.metainfo(ih), d.engine.have(ih))
    else {
        return Err(err(
            ErrorCode::NotFound,
            format!(
                "{} is not running (paused, queued, finished, or waiting for a login): resume it to see its progress",
                ih.short_hex()
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
        info_hash: ih,
        name: s.name.clone(),
        state: shown_state(&s.state).0,
        pieces_total: s.piece_count,
        pieces_have: s.pieces_have,
        bytes_total: s.total_length,
        bytes_have: s.bytes_have,
        pieces_rechecked: s.pieces_rechecked,
        eta_secs: (down > 0 && left > 0).then(|| left / down),
        files,
        piece_map: piece_map(s.piece_count, |p| have.get(p)),
        all_time: d.totals.of(ih, s.total_length),
    })
}

pub(super) fn peers(d: &Daemon, ih: InfoHash) -> Result<Vec<PeerSummary>, IpcError> {
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
            source: p.source,
            encrypted: p.encrypted,
            transport: p.transport,
        })
        .chain(s.web_seeds.iter().map(|w| PeerSummary {
            addr: w.url.clone(),
            peer_id: w.status.clone(),
            downloaded: w.downloaded,
            uploaded: 0,
            outgoing: true,
            source: PeerSource::WebSeed,
            encrypted: false,
            transport: PeerTransport::Http,
        }))
        .collect())
}
