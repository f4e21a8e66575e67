//! The control endpoint on Windows: a named pipe (`\\.\pipe\...`) whose
//! DACL admits only the pipe's owner (the user running p2pd), the
//! Administrators and LocalSystem, that refuses remote clients, and that
//! must be the pipe's first instance: a daemon (or anyone) already holding
//! the name makes binding fail instead of sharing it.

use std::path::Path;

use anyhow::{Context, bail};
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::windows::local_socket::ListenerOptionsExt;
use interprocess::os::windows::security_descriptor::SecurityDescriptor;

use crate::daemon::handlers::rights::{self, Peer};

/// Protected DACL: generic all to the owner (OW), the Administrators (BA)
/// and LocalSystem (SY); nobody else, and nothing inherited.
const PIPE_SDDL: &str = "D:P(A;;GA;;;OW)(A;;GA;;;BA)(A;;GA;;;SY)";

/// Where pipes live; a control "socket" path must name one.
const PIPE_PREFIX: &str = r"\\.\pipe\";
/// Every instance of the pipe is serving someone (Win32 `ERROR_PIPE_BUSY`).
const ERROR_PIPE_BUSY: i32 = 231;

/// Creates the pipe. Fails if its name is taken (another p2pd runs).
pub(crate) fn bind(path: &Path, _group_access: bool) -> anyhow::Result<Listener> {
    let text = path.to_string_lossy();
    if !text.to_ascii_lowercase().starts_with(PIPE_PREFIX) {
        bail!(
            "the control socket on Windows is a named pipe: {} does not start with {PIPE_PREFIX}",
            path.display()
        );
    }
    // The first-instance flag refuses a taken name, but Wine ignores it:
    // knock first, as a client would.
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => bail!("another p2pd is already running on {}", path.display()),
        Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) => {
            bail!("another p2pd is already running on {}", path.display())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            bail!(
                "{} is taken by a pipe this user may not open",
                path.display()
            )
        }
        Err(_) => {}
    }
    let sddl = widestring::U16CString::from_str(PIPE_SDDL).context("pipe security descriptor")?;
    let sd = SecurityDescriptor::deserialize(&sddl)
        .context("cannot build the pipe's security descriptor")?;
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("bad pipe name {}", path.display()))?;
    ListenerOptions::new()
        .name(name)
        .security_descriptor(sd)
        .create_tokio()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::AddrInUse => {
                anyhow::anyhow!("another p2pd is already running on {}", path.display())
            }
            _ => anyhow::Error::new(e).context(format!("cannot listen on {}", path.display())),
        })
}

/// Every client the DACL lets in is the daemon's user or an administrator:
/// full rights, as the daemon's own user has on Unix.
pub(crate) fn peer(_stream: &Stream) -> Peer {
    rights::peer(Some(rights::daemon_uid()), None, None)
}
