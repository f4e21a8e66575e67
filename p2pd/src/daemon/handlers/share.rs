//! `share`: copies a path a client names into the watched folder. The copy
//! reads with the daemon's rights, so a client judged by [`rights`] gets
//! only what it could read itself: the path, and every file and folder
//! inside a shared folder (links resolved and judged where they lead), each
//! file checked again once opened.

use std::io;
use std::path::{Path, PathBuf};

use p2p_proto::ipc::{ErrorCode, IpcError, ShareInfo};

use super::downloads::judge;
use super::err;
use super::rights::{self, Peer, Policy, Want};
use crate::daemon::Daemon;

/// Copies into the watched folder under a hidden name, then renames it in,
/// so the watcher only ever sees a complete item.
pub(super) async fn share(
    d: &Daemon,
    peer: &Peer,
    path: &str,
    group: Option<&str>,
) -> Result<ShareInfo, IpcError> {
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
    let policy = rights::policy(&d.settings.client_folders, d.settings.only_client_folders);
    let judged = policy.only_folders || (peer.uid != policy.daemon_uid && peer.uid != 0);
    let src = judge(d, peer, src, Want::Read).await?;
    let dest = dest_dir.join(&name);
    let probe = dest.clone();
    let taken = tokio::task::spawn_blocking(move || probe.exists())
        .await
        .unwrap_or(false);
    if taken {
        return Err(err(
            ErrorCode::AlreadyExists,
            format!("{} is already shared", dest.display()),
        ));
    }
    let tmp = dest_dir.join(format!(".{}.p2p-copy", name.to_string_lossy()));
    let (t, fin) = (tmp.clone(), dest.clone());
    let guard = judged.then(|| (policy, peer.clone()));
    let copied = tokio::task::spawn_blocking(move || -> Result<(), CopyError> {
        std::fs::create_dir_all(t.parent().unwrap_or(Path::new(".")))?;
        copy_tree(&src, &t, guard.as_ref())?;
        std::fs::rename(&t, &fin)?;
        Ok(())
    })
    .await
    .map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&tmp).or_else(|_| std::fs::remove_file(&tmp));
        return Err(match e {
            CopyError::Denied(e) => e,
            CopyError::Io(e) => err(ErrorCode::Io, format!("cannot copy {path}: {e}")),
        });
    }
    Ok(ShareInfo {
        placed_at: dest.display().to_string(),
    })
}

/// A refusal inside a shared folder, or a failed copy.
#[derive(Debug)]
enum CopyError {
    Denied(IpcError),
    Io(io::Error),
}

impl From<io::Error> for CopyError {
    fn from(e: io::Error) -> CopyError {
        CopyError::Io(e)
    }
}

/// Copies a file or a folder. With a guard, each entry is judged for the
/// client where it really is, and each file checked again once opened.
fn copy_tree(src: &Path, dest: &Path, guard: Option<&(Policy, Peer)>) -> Result<(), CopyError> {
    let src = match guard {
        Some((policy, peer)) => {
            rights::check(policy, peer, src, Want::Read).map_err(CopyError::Denied)?
        }
        None => src.to_path_buf(),
    };
    let meta = std::fs::metadata(&src)?;
    if meta.is_dir() {
        std::fs::create_dir_all(dest)?;
        for entry in std::fs::read_dir(&src)? {
            let entry = entry?;
            copy_tree(&entry.path(), &dest.join(entry.file_name()), guard)?;
        }
        return Ok(());
    }
    let Some((_, peer)) = guard else {
        std::fs::copy(&src, dest)?;
        return Ok(());
    };
    let mut from = open_no_follow(&src)?;
    // The path may have been swapped since it was judged: judge what opened,
    // and where it really is (a folder above swapped for a link would lead
    // the open elsewhere, e.g. into a folder the client may not enter).
    if !rights::allows_opened(peer, &from.metadata()?) || !opened_at(&from, &src) {
        return Err(CopyError::Denied(err(
            ErrorCode::Forbidden,
            format!(
                "{} changed while being shared and is no longer readable by uid {}",
                src.display(),
                peer.uid
            ),
        )));
    }
    io::copy(&mut from, &mut std::fs::File::create(dest)?)?;
    Ok(())
}

/// Whether the open file `f` is the one at `path` (a resolved path), as
/// the kernel names it.
#[cfg(target_os = "linux")]
fn opened_at(f: &std::fs::File, path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).is_ok_and(|real| real == path)
}

#[cfg(not(target_os = "linux"))]
fn opened_at(_: &std::fs::File, _: &Path) -> bool {
    true
}

#[cfg(target_os = "linux")]
fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}
