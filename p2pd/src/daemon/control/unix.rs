//! The control endpoint on Unix: a socket created owner-only (0600; 0660
//! for the system service, whose group may use it) in a folder that is
//! ours alone (`socket_dir`), a stale socket replaced, another live daemon
//! refused; clients known by their peer credentials.

use std::path::Path;

use anyhow::{Context, bail};
use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;

use super::socket_dir;
use crate::daemon::handlers::rights::{self, Peer};

/// Creates the socket. Fails if another daemon answers on it.
pub(crate) fn bind(path: &Path, group_access: bool) -> anyhow::Result<Listener> {
    let mode = if group_access { 0o660 } else { 0o600 };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    socket_dir::prepare(dir)?;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("another p2pd is already running on {}", path.display());
        }
        // Nobody answers: a socket left by a daemon that died.
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        tracing::info!("replaced stale socket {}", path.display());
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("bad socket path {}", path.display()))?;
    let listener = ListenerOptions::new()
        .name(name)
        .reclaim_name(false)
        .mode(mode)
        .create_tokio()
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    // Belt and braces: the mode set at creation, checked and enforced.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok(listener)
}

/// Who is asking, from the socket's peer credentials: it bounds the paths
/// a client may name (share, add --to).
pub(crate) fn peer(stream: &Stream) -> Peer {
    match stream.peer_creds() {
        Ok(c) => rights::peer(c.euid(), c.egid(), c.pid()),
        Err(e) => {
            tracing::warn!("cannot read a control client's credentials: {e}");
            rights::peer(None, None, None)
        }
    }
}
