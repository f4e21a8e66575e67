//! A download's data as a whole: `move` puts its files in another folder
//! and goes on from there without hashing them, `verify` hashes every piece
//! again and answers which were bad. Both stop the torrent (its resume
//! record is written at stop) while the queue leaves it aside, then let
//! the queue start it again. Watched-folder items are not downloads: they
//! live in `shared/`, and the watcher hashes them when their file changes.

use std::path::PathBuf;
use std::sync::Arc;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{ErrorCode, IpcError, TorrentSummary, Verified};
use tokio::sync::broadcast::error::RecvError;

use super::downloads::{describe, judge_folder};
use super::err;
use super::rights::Peer;
use crate::daemon::Daemon;
use crate::daemon::registry::Entry;
use crate::daemon::sharing::read_torrent;
use crate::engine::{self, EngineEvent};

type Reply<T> = Result<T, IpcError>;

/// What a check that waits for the queue is told.
const CHECKED_AT_START: &str = "it waits for a slot in the queue (or a login): every piece is hashed when it starts, and the log names the bad ones";

/// Moves a download's files to `to` (judged with the client's rights, like
/// `add --to`); on a failure every file stays where it was.
pub(super) async fn move_data(
    d: &Daemon,
    peer: &Peer,
    ih: InfoHash,
    to: &str,
) -> Reply<TorrentSummary> {
    let entry = download(d, ih, "moves with its file")?;
    let dir = PathBuf::from(to);
    if !dir.is_absolute() {
        return Err(err(
            ErrorCode::BadRequest,
            format!("folder {} must be an absolute path", dir.display()),
        ));
    }
    let (dir, pin) = judge_folder(d, peer, dir).await?;
    let meta = match d.engine.metainfo(ih) {
        Some(meta) => meta,
        None => Arc::new(
            read_torrent(entry.torrent_file.clone())
                .await
                .map_err(|e| err(ErrorCode::InvalidTorrent, e))?,
        ),
    };
    let aside = d.queue.set_aside(ih).await;
    d.engine.remove(ih).await;
    let (from, new_dir) = (entry.download_dir.clone(), dir.clone());
    let moved =
        tokio::task::spawn_blocking(move || engine::move_files(&meta, &from, &new_dir, pin))
            .await
            .map_err(|e| err(ErrorCode::Internal, e.to_string()));
    let outcome = match moved {
        Ok(Ok(files)) => {
            d.registry().set_download_dir(ih, dir.clone(), pin);
            tracing::info!(
                torrent = %entry.name,
                files,
                from = %entry.download_dir.display(),
                to = %dir.display(),
                "moved"
            );
            Ok(())
        }
        Ok(Err(e)) => Err(err(
            ErrorCode::Io,
            format!(
                "cannot move {}: {e}; its files stay in {}",
                entry.name,
                entry.download_dir.display()
            ),
        )),
        Err(e) => Err(e),
    };
    // Moved or not, it goes on as it was (from its folder of now).
    drop(aside);
    d.queue.retry(ih);
    d.queue.plan().await;
    outcome?;
    describe(d, ih)
}

/// Hashes every piece of a download again (at its next start, which is
/// now unless the queue holds it) and answers what was bad.
pub(super) async fn verify(d: &Daemon, ih: InfoHash) -> Reply<Verified> {
    let entry = download(d, ih, "is hashed by the watcher when its file changes")?;
    if entry.paused {
        return Err(err(
            ErrorCode::BadRequest,
            format!("{} is paused: resume it to verify it", entry.name),
        ));
    }
    let aside = d.queue.set_aside(ih).await;
    d.engine.remove(ih).await;
    // After the stop, whose own event is no answer.
    let mut events = d.engine.subscribe();
    let resume_dir = d.settings.downloads_dir.join(".progress");
    let marked = tokio::task::spawn_blocking(move || engine::request_recheck(&resume_dir, ih))
        .await
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))
        .and_then(|r| r.map_err(|e| err(ErrorCode::Io, format!("cannot ask for a check: {e}"))));
    drop(aside);
    d.queue.retry(ih);
    let refused = d.queue.plan().await;
    marked?;
    if let Some((_, why)) = refused.into_iter().find(|(id, _)| *id == ih) {
        return Err(err(ErrorCode::Io, why));
    }
    if !d.engine.is_running(ih) {
        return Ok(Verified {
            info_hash: ih,
            name: entry.name,
            checked: 0,
            bad: Vec::new(),
            note: Some(CHECKED_AT_START.to_owned()),
        });
    }
    loop {
        let event = tokio::select! {
            _ = d.cancel.cancelled() => {
                return Err(err(ErrorCode::Internal, "p2pd is stopping"));
            }
            e = events.recv() => e,
        };
        match event {
            Ok(EngineEvent::Rechecked {
                info_hash,
                name,
                checked,
                bad,
            }) if info_hash == ih => {
                return Ok(Verified {
                    info_hash,
                    name,
                    checked: checked as u64,
                    bad,
                    note: None,
                });
            }
            Ok(EngineEvent::Failed {
                info_hash, message, ..
            }) if info_hash == ih => return Err(err(ErrorCode::Io, message)),
            Ok(EngineEvent::Stopped { info_hash }) if info_hash == ih => {
                return Err(err(
                    ErrorCode::Io,
                    format!(
                        "{} stopped before its check ended: it is checked when it starts again",
                        entry.name
                    ),
                ));
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => {
                return Err(err(ErrorCode::Internal, "the engine stopped"));
            }
        }
    }
}

/// The recorded download `ih`; a watched-folder item (which `what`) is refused.
fn download(d: &Daemon, ih: InfoHash, what: &str) -> Reply<Entry> {
    d.registry().get(ih).cloned().ok_or_else(|| {
        err(
            ErrorCode::BadRequest,
            format!(
                "{} is a watched-folder item: it lives in shared/ and {what}",
                ih.short_hex()
            ),
        )
    })
}
