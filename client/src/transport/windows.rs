//! The control socket on Windows: p2pd's named pipe (`\\.\pipe\...`),
//! opened as a file. The pipe's DACL, set by p2pd, admits only its user and
//! the Administrators; this side does not check who serves the pipe (the
//! owner checks of [`crate::owner`] are Unix file modes and peer
//! credentials), so a pipe name taken by another local user before p2pd
//! starts is not detected here.
//!
//! A synchronous pipe handle has no read deadline, so reads are done by one
//! helper thread, one chunk when asked, and waited for with a deadline.
//! Only one operation is ever in flight on the handle: a write while a read
//! that timed out is still pending is refused (Windows serialises I/O on a
//! synchronous handle, so it would wait for that read). Writes have no
//! deadline: requests are small and the pipe buffers them.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::connection::ClientError;
use crate::owner::Owners;

/// Every instance of the pipe is serving someone (Win32 `ERROR_PIPE_BUSY`).
const ERROR_PIPE_BUSY: i32 = 231;
/// Pause between tries while every pipe instance is busy.
const BUSY_RETRY: Duration = Duration::from_millis(10);
/// Bytes asked of the pipe per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;

type Chunk = io::Result<Vec<u8>>;

/// A connection to the daemon.
#[derive(Debug)]
pub(crate) struct Stream {
    file: File,
    asks: Sender<()>,
    chunks: Receiver<Chunk>,
    /// Bytes read but not yet handed out, from `taken` on.
    pending: Vec<u8>,
    taken: usize,
    read_timeout: Option<Duration>,
    /// A read was asked of the helper and has not answered yet.
    in_flight: bool,
}

/// Opens the pipe (waiting up to `timeout` while its instances are busy).
/// `owners` is not checked on Windows: the pipe's DACL stands instead.
pub(crate) fn open(
    socket: &Path,
    timeout: Duration,
    _owners: &Owners,
) -> Result<Stream, ClientError> {
    let deadline = Instant::now() + timeout;
    let file = loop {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(socket)
        {
            Ok(file) => break file,
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && Instant::now() < deadline => {
                std::thread::sleep(BUSY_RETRY);
            }
            Err(e) => return Err(open_error(socket, timeout, e)),
        }
    };
    Stream::new(file, timeout).map_err(|error| ClientError::Io {
        socket: socket.to_path_buf(),
        error,
    })
}

fn open_error(socket: &Path, timeout: Duration, error: io::Error) -> ClientError {
    match error.kind() {
        io::ErrorKind::NotFound => ClientError::NoDaemon {
            socket: socket.to_path_buf(),
            why: "there is no pipe of that name",
        },
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
            socket: socket.to_path_buf(),
        },
        _ if error.raw_os_error() == Some(ERROR_PIPE_BUSY) => ClientError::Timeout {
            socket: socket.to_path_buf(),
            waited: timeout,
        },
        _ => ClientError::Connect {
            socket: socket.to_path_buf(),
            error,
        },
    }
}

impl Stream {
    fn new(file: File, timeout: Duration) -> io::Result<Stream> {
        let mut reader = file.try_clone()?;
        let (asks, asked) = mpsc::channel::<()>();
        let (chunks_tx, chunks) = mpsc::channel::<Chunk>();
        // Ends when the stream is dropped, unless blocked in a read: then
        // when the daemon closes the pipe or the process exits.
        std::thread::Builder::new()
            .name("p2pd-pipe-reader".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    let mut buf = vec![0u8; READ_CHUNK_BYTES];
                    let chunk = reader.read(&mut buf).map(|n| {
                        buf.truncate(n);
                        buf
                    });
                    if chunks_tx.send(chunk).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Stream {
            file,
            asks,
            chunks,
            pending: Vec::new(),
            taken: 0,
            read_timeout: Some(timeout),
            in_flight: false,
        })
    }

    /// The deadline of each read from now on (`None`: wait for ever).
    pub(crate) fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout = timeout;
        Ok(())
    }

    fn next_chunk(&mut self) -> io::Result<Vec<u8>> {
        if !self.in_flight {
            self.asks.send(()).map_err(|_| reader_gone())?;
            self.in_flight = true;
        }
        let chunk = match self.read_timeout {
            Some(t) => self.chunks.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => io::ErrorKind::TimedOut.into(),
                RecvTimeoutError::Disconnected => reader_gone(),
            })?,
            None => self.chunks.recv().map_err(|_| reader_gone())?,
        };
        self.in_flight = false;
        chunk
    }
}

fn reader_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe reader stopped")
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.taken == self.pending.len() {
            self.pending = self.next_chunk()?;
            self.taken = 0;
        }
        let n = buf.len().min(self.pending.len() - self.taken);
        buf[..n].copy_from_slice(&self.pending[self.taken..self.taken + n]);
        self.taken += n;
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.in_flight {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a read that timed out is still pending on the pipe",
            ));
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
