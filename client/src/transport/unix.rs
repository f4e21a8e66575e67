//! The control socket on Unix: a Unix stream socket, trusted only once it,
//! its folder and its listener belong to the expected owners
//! ([`crate::owner`]), with a deadline on every read and write.

use std::io;
use std::path::Path;
use std::time::Duration;

use crate::connection::ClientError;
use crate::owner::Owners;

/// A connection to the daemon.
pub(crate) type Stream = std::os::unix::net::UnixStream;

/// Connects to `socket`, checks who is behind it and sets the deadlines.
pub(crate) fn open(
    socket: &Path,
    timeout: Duration,
    owners: &Owners,
) -> Result<Stream, ClientError> {
    let stream = connect(socket)?;
    crate::owner::check(socket, &stream, owners).map_err(|why| ClientError::Untrusted {
        socket: socket.to_path_buf(),
        why,
    })?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|error| ClientError::Io {
            socket: socket.to_path_buf(),
            error,
        })?;
    Ok(stream)
}

fn connect(socket: &Path) -> Result<Stream, ClientError> {
    use std::os::unix::fs::FileTypeExt;

    let error = match Stream::connect(socket) {
        Ok(stream) => return Ok(stream),
        Err(e) => e,
    };
    let no_daemon = |why| ClientError::NoDaemon {
        socket: socket.to_path_buf(),
        why,
    };
    Err(match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            no_daemon("there is no socket there")
        }
        io::ErrorKind::ConnectionRefused => match std::fs::metadata(socket) {
            Ok(m) if !m.file_type().is_socket() => no_daemon("that file is not a socket"),
            _ => no_daemon(
                "the socket exists but nothing listens on it (left over from a daemon that stopped)",
            ),
        },
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
            socket: socket.to_path_buf(),
        },
        _ => ClientError::Connect {
            socket: socket.to_path_buf(),
            error,
        },
    })
}
