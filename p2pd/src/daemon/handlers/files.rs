//! The files of a download: `torrent_files` lists them with their progress
//! and priority, `file_priority` changes the priority of some at once,
//! `sequential` the order pieces come in.
//! Files are numbered from 1 as people see them (padding files left out).

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    ErrorCode, FilePriority, FileSet, IpcError, TorrentFile, TorrentFiles, TorrentSummary,
};

use super::err;
use crate::daemon::Daemon;
use crate::engine::{EngineError, FileView};

pub(super) fn list(d: &Daemon, ih: InfoHash) -> Result<TorrentFiles, IpcError> {
    let (files, name) = running(d, ih)?;
    Ok(shown(ih, name, &files))
}

pub(super) async fn set(
    d: &Daemon,
    ih: InfoHash,
    set: &FileSet,
    priority: FilePriority,
) -> Result<TorrentFiles, IpcError> {
    let (files, _) = running(d, ih)?;
    let visible: Vec<usize> = (0..files.len()).filter(|&i| !files[i].pad).collect();
    set.check_within(visible.len())
        .map_err(|e| err(ErrorCode::BadRequest, e.to_string()))?;
    let mut priorities: Vec<FilePriority> = files.iter().map(|f| f.priority).collect();
    for (shown, &i) in visible.iter().enumerate() {
        if set.contains(shown) {
            priorities[i] = priority;
        }
    }
    d.engine
        .set_file_priorities(ih, priorities.clone())
        .await
        .map_err(|e| match e {
            EngineError::NotRunning(_) => err(ErrorCode::NotFound, e.to_string()),
            _ => err(ErrorCode::Io, e.to_string()),
        })?;
    // Kept with the download too, for a start without a resume record.
    d.registry().set_file_priorities(ih, priorities);
    list(d, ih)
}

/// Turns sequential mode on or off, now if the torrent runs, and for its
/// next start.
pub(super) fn sequential(d: &Daemon, ih: InfoHash, on: bool) -> Result<TorrentSummary, IpcError> {
    let running = d.engine.set_sequential(ih, on).is_ok();
    let recorded = d.registry().set_sequential(ih, on);
    if !running && !recorded {
        return Err(err(
            ErrorCode::NotFound,
            format!("{} is not a download of this daemon", ih.short_hex()),
        ));
    }
    super::downloads::describe(d, ih)
}

fn running(d: &Daemon, ih: InfoHash) -> Result<(Vec<FileView>, String), IpcError> {
    let files = d.engine.files(ih).zip(d.engine.metainfo(ih));
    files
        .map(|(f, meta)| (f, meta.info.name.clone()))
        .ok_or_else(|| {
            err(
                ErrorCode::NotFound,
                format!(
                    "{} is not running (paused, or waiting for a login): resume it to see or change its files",
                    ih.short_hex()
                ),
            )
        })
}

fn shown(ih: InfoHash, name: String, files: &[FileView]) -> TorrentFiles {
    TorrentFiles {
        info_hash: ih,
        name,
        files: files
            .iter()
            .filter(|f| !f.pad)
            .enumerate()
            .map(|(n, f)| TorrentFile {
                index: n as u32 + 1,
                path: f.path.clone(),
                length: f.length,
                have: f.have,
                priority: f.priority,
            })
            .collect(),
    }
}
