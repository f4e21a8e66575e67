//! What a socket client may name as a path: `share` and `.torrent` files
//! are read, `add --to` folders written, with the daemon's rights. A client
//! running as another user (a member of the system service's socket group)
//! may only name what it could read or write itself, judged from `stat`
//! modes along the resolved path with its uid and groups from the socket's
//! peer credentials, or what lies under `client_folders`. The daemon's own
//! user and root keep full rights, unless `only_client_folders` holds every
//! client to those folders.
//!
//! The rules are pure functions of `stat` results, so other users are tested
//! without being one. Not modelled: ACLs and capabilities (a client an ACL
//! lets in is refused; one an ACL shuts out is judged by the mode bits).

use std::path::{Path, PathBuf};

use p2p_proto::ipc::{ErrorCode, IpcError};

use crate::engine::FolderId;

/// Who is asking, from the socket's peer credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid and supplementary groups.
    pub gids: Vec<u32>,
}

/// What `stat` says about one path, as far as the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Node {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits and file type (`st_mode`).
    pub mode: u32,
}

/// What the daemon is asked to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Read a file, or list and read a folder (share, a .torrent).
    Read,
    /// Create files in a folder (a download folder).
    Write,
}

/// Who keeps full rights and where every client may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The daemon's own effective uid.
    pub daemon_uid: u32,
    /// Resolved `client_folders`.
    pub folders: Vec<PathBuf>,
    /// Every client, the daemon's user included, is held to `folders`.
    pub only_folders: bool,
}

const READ: u32 = 4;
const WRITE: u32 = 2;
const SEARCH: u32 = 1;
const TYPE_MASK: u32 = 0o170000;
const DIR: u32 = 0o040000;

/// Whether `peer` has `bits` (rwx as 4/2/1) on `node`: the owner's class if
/// it owns it, else the group's if in the group, else the others' (as the
/// kernel decides: an owner with fewer bits than others is still refused).
pub(crate) fn allows(peer: &Peer, node: Node, bits: u32) -> bool {
    if peer.uid == 0 {
        return true;
    }
    let class = if node.uid == peer.uid {
        node.mode >> 6
    } else if peer.gids.contains(&node.gid) {
        node.mode >> 3
    } else {
        node.mode
    };
    class & bits == bits
}

/// The decision for a resolved path, given `stat` of each folder above it
/// (from the root down) and of the path itself.
pub(crate) fn decide(
    policy: &Policy,
    peer: &Peer,
    path: &Path,
    above: &[(PathBuf, Node)],
    target: Node,
    want: Want,
) -> Result<(), Denied> {
    if !policy.only_folders && (peer.uid == policy.daemon_uid || peer.uid == 0) {
        return Ok(());
    }
    if policy.folders.iter().any(|f| path.starts_with(f)) {
        return Ok(());
    }
    if policy.only_folders {
        return Err(Denied::Outside {
            path: path.to_path_buf(),
            folders: policy.folders.clone(),
        });
    }
    for (dir, node) in above {
        if !allows(peer, *node, SEARCH) {
            return Err(Denied::NoRight {
                path: path.to_path_buf(),
                blocked: dir.clone(),
                node: *node,
                uid: peer.uid,
                need: "search (x)",
            });
        }
    }
    let is_dir = target.mode & TYPE_MASK == DIR;
    let (bits, need) = match (want, is_dir) {
        (Want::Read, false) => (READ, "read (r)"),
        (Want::Read, true) => (READ | SEARCH, "read and search (rx)"),
        (Want::Write, _) => (WRITE | SEARCH, "write and search (wx)"),
    };
    if allows(peer, target, bits) {
        return Ok(());
    }
    Err(Denied::NoRight {
        path: path.to_path_buf(),
        blocked: path.to_path_buf(),
        node: target,
        uid: peer.uid,
        need,
    })
}

/// Why a client may not name a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Denied {
    /// The client's own rights do not reach it.
    #[error(
        "{} is not yours to use: uid {uid} lacks {need} permission on {} (owner uid {}, group {}, mode {:04o}); p2pd acts only on paths its clients could use themselves, or under its client_folders",
        path.display(), blocked.display(), node.uid, node.gid, node.mode & 0o7777
    )]
    NoRight {
        path: PathBuf,
        blocked: PathBuf,
        node: Node,
        uid: u32,
        need: &'static str,
    },
    /// Outside the configured folders.
    #[error(
        "{} is outside the folders p2pd's clients may use (client_folders: {})",
        path.display(),
        list(folders)
    )]
    Outside {
        path: PathBuf,
        folders: Vec<PathBuf>,
    },
}

fn list(folders: &[PathBuf]) -> String {
    if folders.is_empty() {
        return "none".into();
    }
    let names: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    names.join(", ")
}

impl From<Denied> for IpcError {
    fn from(d: Denied) -> IpcError {
        IpcError::new(ErrorCode::Forbidden, d.to_string())
    }
}

/// The groups in a `/proc/<pid>/status` text (`Groups:` line).
pub(crate) fn parse_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The peer behind a connection: its uid and gid from the socket, its
/// supplementary groups from `/proc` (none when unreadable: fewer rights,
/// never more). Unknown credentials get no rights of their own.
pub(crate) fn peer(uid: Option<u32>, gid: Option<u32>, pid: Option<i32>) -> Peer {
    let mut gids: Vec<u32> = gid.into_iter().collect();
    if let Some(pid) = pid
        && let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
    {
        gids.extend(parse_groups(&status));
    }
    Peer {
        uid: uid.unwrap_or(u32::MAX),
        gids,
    }
}

/// The policy from the settings: folders resolved (as given when absent).
pub(crate) fn policy(folders: &[PathBuf], only_folders: bool) -> Policy {
    Policy {
        daemon_uid: daemon_uid(),
        folders: folders
            .iter()
            .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone()))
            .collect(),
        only_folders,
    }
}

/// Whether `peer` runs as p2pd's own user or root: what only they may do
/// (change the tracker its announces, and the passkey in them, go to).
pub(crate) fn is_daemon_user(peer: &Peer) -> bool {
    is_user_or_root(peer, daemon_uid())
}

pub(crate) fn is_user_or_root(peer: &Peer, daemon_uid: u32) -> bool {
    peer.uid == daemon_uid || peer.uid == 0
}

#[cfg(target_os = "linux")]
pub(crate) fn daemon_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn daemon_uid() -> u32 {
    0
}

/// Checks a path a client named (blocking: runs on the blocking pool) and
/// returns the path to act on: resolved (symlinks followed once, here)
/// when the client is judged, as given when it has full rights. A folder
/// to write into may not exist yet: its nearest existing folder is judged.
pub(crate) fn check(
    policy: &Policy,
    peer: &Peer,
    path: &Path,
    want: Want,
) -> Result<PathBuf, IpcError> {
    Ok(match judge(policy, peer, path, want)? {
        None => path.to_path_buf(),
        Some(j) => j.path(),
    })
}

/// A folder to download into, for a client: the path, and for a judged
/// client the pin of the very folder judged (see `engine::FolderId`), so
/// that swapping it or a folder above it later redirects nothing. Missing
/// folders below the one judged are created here, without following links.
pub(crate) fn check_folder(
    policy: &Policy,
    peer: &Peer,
    path: &Path,
) -> Result<(PathBuf, Option<FolderId>), IpcError> {
    let Some(j) = judge(policy, peer, path, Want::Write)? else {
        return Ok((path.to_path_buf(), None));
    };
    let Some(id) = j.id else {
        return Ok((j.path(), None));
    };
    let pin = crate::engine::create_pinned_folder(&j.real, id, &j.rest).map_err(|e| {
        IpcError::new(
            ErrorCode::Forbidden,
            format!("cannot use {}: {e}", j.path().display()),
        )
    })?;
    Ok((j.path(), Some(pin)))
}

/// What a judged client's path resolved to.
struct Judged {
    /// The nearest existing path, links resolved.
    real: PathBuf,
    /// Its identity, from the `stat` that was judged (none without inodes).
    id: Option<FolderId>,
    /// The part below it that does not exist yet.
    rest: PathBuf,
}

impl Judged {
    fn path(&self) -> PathBuf {
        // Joining an empty rest would add a trailing slash.
        if self.rest.as_os_str().is_empty() {
            self.real.clone()
        } else {
            self.real.join(&self.rest)
        }
    }
}

/// `None` when the client has full rights; else the resolved path it may use.
fn judge(
    policy: &Policy,
    peer: &Peer,
    path: &Path,
    want: Want,
) -> Result<Option<Judged>, IpcError> {
    if !policy.only_folders && (peer.uid == policy.daemon_uid || peer.uid == 0) {
        return Ok(None);
    }
    let io = |p: &Path, e: std::io::Error| {
        IpcError::new(ErrorCode::Io, format!("cannot use {}: {e}", p.display()))
    };
    let (existing, rest) = match want {
        Want::Read => (path.to_path_buf(), PathBuf::new()),
        Want::Write => {
            let mut existing = path;
            while !existing.exists() {
                existing = existing
                    .parent()
                    .ok_or_else(|| io(path, std::io::ErrorKind::NotFound.into()))?;
            }
            let rest = path
                .strip_prefix(existing)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            (existing.to_path_buf(), rest)
        }
    };
    let real = existing.canonicalize().map_err(|e| io(path, e))?;
    let mut above = Vec::new();
    for dir in real.ancestors().skip(1) {
        above.push((dir.to_path_buf(), stat(dir).map_err(|e| io(dir, e))?));
    }
    above.reverse();
    let meta = std::fs::metadata(&real).map_err(|e| io(path, e))?;
    let judged = Judged {
        id: identity(&meta),
        real,
        rest,
    };
    decide(policy, peer, &judged.path(), &above, node(&meta), want)?;
    Ok(Some(judged))
}

/// The rule for a file already opened: its owner and mode now, after any
/// swap of the path since it was checked.
pub(crate) fn allows_opened(peer: &Peer, meta: &std::fs::Metadata) -> bool {
    allows(peer, node(meta), READ)
}

fn stat(path: &Path) -> std::io::Result<Node> {
    std::fs::metadata(path).map(|m| node(&m))
}

#[cfg(unix)]
fn node(m: &std::fs::Metadata) -> Node {
    use std::os::unix::fs::MetadataExt;
    Node {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode(),
    }
}

#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> Option<FolderId> {
    use std::os::unix::fs::MetadataExt;
    Some(FolderId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn identity(_m: &std::fs::Metadata) -> Option<FolderId> {
    None
}

#[cfg(not(unix))]
fn node(_m: &std::fs::Metadata) -> Node {
    Node {
        uid: 0,
        gid: 0,
        mode: 0o100777,
    }
}

#[cfg(test)]
#[path = "rights_tests.rs"]
mod tests;
