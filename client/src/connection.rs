//! A blocking client of p2pd's control socket: connect, say hello, then one
//! request at a time, or a stream of events. Plain std I/O, no async runtime.
//!
//! Before anything is sent, the socket must belong to the expected user
//! and so must the process listening on it ([`crate::owner`]).
//!
//! Every line from the daemon goes through [`FrameReader`], so a huge or
//! garbage answer is an error, never a hang or an unbounded buffer; every
//! read has a deadline except on the event stream, which is quiet by design.
//! No error here carries an `io::Error` as its source: a closed socket must
//! not look like a closed stdout, which `p2pctl` treats as success.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use p2p_proto::ipc::{
    ClientHello, ClientHelloBody, Event, EventFrame, FrameError, FrameReader, IpcError,
    MAX_REPLY_BYTES, PROTOCOL_VERSION, ReplyBody, ReplyFrame, Request, RequestFrame, Response,
    ServerHello, encode_frame,
};
use serde::Serialize;

use crate::owner::{Owners, Untrusted};

use crate::transport::Stream;

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Characters of an unreadable line quoted in an error.
const EXCERPT_CHARS: usize = 60;

/// Why talking to the daemon failed. Each message is one line that names the
/// socket, so a user can tell which daemon was meant.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing to connect to.
    #[error("no p2pd daemon is running at {} (start it with `p2pd`): {why}", socket.display())]
    NoDaemon { socket: PathBuf, why: &'static str },
    /// The socket is there but not ours to use.
    #[error(
        "cannot connect to p2pd at {}: permission denied (is it another user's daemon? use --socket to pick yours)",
        socket.display()
    )]
    PermissionDenied { socket: PathBuf },
    /// The socket or its listener belongs to someone unexpected.
    #[error("refusing to talk to p2pd at {}: {why}; nothing was sent", socket.display())]
    Untrusted { socket: PathBuf, why: Untrusted },
    /// `--socket-owner` names no user.
    #[error("--socket-owner: {0}")]
    SocketOwner(String),
    /// Any other failure to connect.
    #[error("cannot connect to p2pd at {}: {error}", socket.display())]
    Connect { socket: PathBuf, error: io::Error },
    /// No answer in time.
    #[error("p2pd at {} did not answer within {} s", socket.display(), waited.as_secs_f64())]
    Timeout { socket: PathBuf, waited: Duration },
    /// The daemon hung up.
    #[error("p2pd at {} closed the connection (did it stop?)", socket.display())]
    Closed { socket: PathBuf },
    /// Reading or writing the socket failed.
    #[error("lost the connection to p2pd at {}: {error}", socket.display())]
    Io { socket: PathBuf, error: io::Error },
    /// A line too long or not text.
    #[error("p2pd at {} sent an unusable line: {error}", socket.display())]
    Frame { socket: PathBuf, error: FrameError },
    /// The first answer was not a p2pd hello.
    #[error(
        "{} does not answer like p2pd (is something else listening there?): it said {excerpt}",
        socket.display()
    )]
    NotP2pd { socket: PathBuf, excerpt: String },
    /// A later answer was not a reply or event of the protocol.
    #[error("p2pd at {} sent an answer this client cannot read: {excerpt}", socket.display())]
    BadReply { socket: PathBuf, excerpt: String },
    /// The daemon speaks another protocol version.
    #[error(
        "p2pd at {} ({server}) speaks control protocol version {theirs} but this p2pctl speaks version {PROTOCOL_VERSION}: use p2pctl and p2pd of the same release",
        socket.display()
    )]
    VersionMismatch {
        socket: PathBuf,
        theirs: u32,
        server: String,
    },
    /// The daemon refused the hello (it checks versions too).
    #[error("p2pd at {} refused this p2pctl: {error}", socket.display())]
    HelloRefused { socket: PathBuf, error: IpcError },
    /// The daemon refused a request; its message says why.
    #[error("{0}")]
    Daemon(IpcError),
    /// A reply of the wrong shape for its command.
    #[error("p2pd's answer to `{command}` is not what this p2pctl expects: {error}")]
    Shape { command: String, error: String },
}

/// One connection to the daemon, past the hello.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    frames: FrameReader,
    socket: PathBuf,
    timeout: Duration,
    next_id: u64,
    server: String,
}

impl Client {
    /// Connects to the socket, checks that it and its listener belong to
    /// one of `owners`, and exchanges hellos; `timeout` bounds each read and
    /// write from here on.
    pub fn connect(
        socket: &Path,
        timeout: Duration,
        owners: &Owners,
    ) -> Result<Client, ClientError> {
        let stream = crate::transport::open(socket, timeout, owners)?;
        let mut client = Client {
            stream,
            frames: FrameReader::with_limit(MAX_REPLY_BYTES),
            socket: socket.to_path_buf(),
            timeout,
            next_id: 1,
            server: String::new(),
        };
        client.hello()?;
        Ok(client)
    }

    /// The daemon's name and version from its hello, e.g. `p2pd 0.1.0`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one request and returns its typed reply.
    pub fn request(&mut self, request: Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&RequestFrame {
            id,
            request: request.clone(),
        })?;
        let line = self.read_line()?;
        let reply = match ReplyFrame::decode(&line, &request) {
            Ok(reply) => reply,
            Err(p2p_proto::ipc::ReplyDecodeError::Shape { command, source }) => {
                return Err(ClientError::Shape {
                    command: command.to_owned(),
                    error: source.to_string(),
                });
            }
            Err(_) => return Err(self.bad_reply(&line)),
        };
        if reply.id != id {
            return Err(self.bad_reply(&format!("a reply to request {} instead of {id}", reply.id)));
        }
        match reply.body {
            ReplyBody::Ok(value) => Ok(value),
            ReplyBody::Error(e) => Err(ClientError::Daemon(e)),
        }
    }

    /// Subscribes to events (of one torrent, or of all) and turns this
    /// connection into their stream.
    pub fn subscribe(mut self, id: Option<String>) -> Result<Events, ClientError> {
        self.request(Request::Subscribe { id })?;
        // Events come only when something happens, and an idle daemon may be
        // quiet for a long time: no read deadline on the stream.
        self.stream
            .set_read_timeout(None)
            .map_err(|e| self.io_error(e))?;
        Ok(Events {
            client: self,
            done: false,
        })
    }

    fn hello(&mut self) -> Result<(), ClientError> {
        self.send(&ClientHello {
            hello: ClientHelloBody {
                version: PROTOCOL_VERSION,
                client: format!("p2pctl {}", env!("CARGO_PKG_VERSION")),
            },
        })?;
        let line = self.read_line()?;
        if let Ok(h) = serde_json::from_str::<ServerHello>(&line) {
            if h.hello.version != PROTOCOL_VERSION {
                return Err(ClientError::VersionMismatch {
                    socket: self.socket.clone(),
                    theirs: h.hello.version,
                    server: h.hello.server,
                });
            }
            self.server = h.hello.server;
            return Ok(());
        }
        // A daemon that refuses our version answers with an error reply.
        if let Some((_, error)) = ReplyFrame::decode_error(&line) {
            return Err(ClientError::HelloRefused {
                socket: self.socket.clone(),
                error,
            });
        }
        Err(ClientError::NotP2pd {
            socket: self.socket.clone(),
            excerpt: excerpt(&line),
        })
    }

    fn send<T: Serialize>(&mut self, value: &T) -> Result<(), ClientError> {
        let line = encode_frame(value);
        self.stream
            .write_all(&line)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.io_error(e))
    }

    /// The next non-empty line, waiting at most the read timeout per read.
    fn read_line(&mut self) -> Result<String, ClientError> {
        let mut buf = vec![0u8; READ_CHUNK_BYTES];
        loop {
            match self.frames.next_frame() {
                Ok(Some(line)) if line.trim().is_empty() => continue,
                Ok(Some(line)) => return Ok(line),
                Ok(None) => {}
                Err(error) => {
                    return Err(ClientError::Frame {
                        socket: self.socket.clone(),
                        error,
                    });
                }
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(ClientError::Closed {
                        socket: self.socket.clone(),
                    });
                }
                Ok(n) => self.frames.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn io_error(&self, error: io::Error) -> ClientError {
        let socket = self.socket.clone();
        match error.kind() {
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof => ClientError::Closed { socket },
            // A read timeout surfaces as WouldBlock on Unix, TimedOut on Windows.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout {
                socket,
                waited: self.timeout,
            },
            _ => ClientError::Io { socket, error },
        }
    }

    fn bad_reply(&self, line: &str) -> ClientError {
        ClientError::BadReply {
            socket: self.socket.clone(),
            excerpt: excerpt(line),
        }
    }
}

/// The events of a subscription; ends after the first error.
#[derive(Debug)]
pub struct Events {
    client: Client,
    done: bool,
}

impl Iterator for Events {
    type Item = Result<Event, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.client.read_line() {
                Ok(line) => line,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match serde_json::from_str::<EventFrame>(&line) {
                Ok(frame) => return Some(Ok(frame.event)),
                // A newer daemon of the same protocol may add event types:
                // skip those rather than give up on the stream.
                Err(_) if is_event_frame(&line) => continue,
                Err(_) => {
                    self.done = true;
                    return Some(Err(self.client.bad_reply(&line)));
                }
            }
        }
        None
    }
}

/// The error for a reply of another kind than the command answers with
/// (a daemon bug: [`ReplyFrame::decode`] types replies by command).
pub fn unexpected(command: &str, reply: &Response) -> ClientError {
    ClientError::Shape {
        command: command.to_owned(),
        error: format!("unexpected reply {reply:?}"),
    }
}

/// Unwraps the reply variant a command answers with, e.g.
/// `reply_as!(reply, "status", Response::Status)`.
#[macro_export]
macro_rules! reply_as {
    ($reply:expr, $command:expr, $variant:path) => {
        match $reply {
            $variant(inner) => Ok(inner),
            other => Err($crate::unexpected($command, &other)),
        }
    };
}

/// Whether a line is an event frame (of a type this build may not know):
/// an object under `event`, whatever is in it.
fn is_event_frame(line: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct AnyEvent {
        #[allow(dead_code)] // only its shape is checked
        event: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    }
    serde_json::from_str::<AnyEvent>(line).is_ok()
}

/// The start of a line, quoted, for an error message on one line.
fn excerpt(line: &str) -> String {
    let mut short: String = line.chars().take(EXCERPT_CHARS).collect();
    if short.len() < line.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt("garbage"), "\"garbage\"");
        let long = "x".repeat(500);
        let e = excerpt(&long);
        assert!(e.len() < 80, "{e}");
        assert!(e.ends_with("...\""), "{e}");
    }

    #[test]
    fn unknown_event_types_are_recognised_as_events() {
        assert!(is_event_frame(r#"{"event":{"type":"new_thing"}}"#));
        assert!(!is_event_frame(r#"{"id":1,"ok":null}"#));
        assert!(!is_event_frame("garbage"));
    }
}
