//! One connection. Announces (plain and with a passkey) and scrapes are
//! answered straight from the socket buffer (the fast path: no hyper, no router, and no task at all
//! when the whole request is already there and the client closes after the
//! reply); anything else is handed to hyper and the axum router together
//! with the bytes read so far. Must not contain tracker policy.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use super::SHUTDOWN_DEADLINE;
use super::prefixed::Prefixed;
use crate::app::Tracker;
use crate::http::fast::{self, Endpoint, MAX_FAST_HEAD_BYTES};
use crate::http::{self, announce_reply, date, fast_peer_ip, scrape_reply};

thread_local! {
    /// Buffers for connections answered inline: the request head and the
    /// replies (reused, so an inline connection allocates nothing here).
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// What every connection needs.
#[derive(Debug)]
pub(super) struct Shared {
    pub tracker: Arc<Tracker>,
    pub router: Router,
    pub hyper: http1::Builder,
    /// Longest wait for a request head, idle keep-alive time included.
    pub header_read_timeout: Duration,
    /// Longest time to answer one request.
    pub request_timeout: Duration,
    pub connections: TaskTracker,
    pub token: CancellationToken,
}

/// A connection just accepted, not read from yet.
#[derive(Debug)]
pub(super) struct Accepted {
    /// The socket, non-blocking.
    pub stream: std::net::TcpStream,
    pub remote: SocketAddr,
    /// Its place under the connection cap.
    pub permit: OwnedSemaphorePermit,
}

/// What a connection does once its buffered requests are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Wait for the next request.
    Read,
    /// Close (the client asked to).
    Close,
    /// Give the rest (buffered bytes first) to hyper.
    Hyper,
}

/// Writes as much of `out` as the socket takes now; returns how much.
fn write_now(stream: &std::net::TcpStream, out: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < out.len() {
        match (&*stream).write(&out[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

impl Shared {
    /// Answers the fast-path requests at the start of `buf`, appending the
    /// replies to `out`. Returns what comes next and the bytes consumed.
    fn answer(&self, buf: &[u8], out: &mut Vec<u8>, remote: SocketAddr) -> (Next, usize) {
        let mut used = 0;
        while used < buf.len() {
            let Some(req) = fast::parse(&buf[used..]) else {
                return (Next::Hyper, used);
            };
            // Behind a trusted proxy, the client it names; what only all
            // the headers tell is hyper's.
            let trusted = &self.tracker.config.announce.trusted_proxies;
            let Some(client) = fast_peer_ip(trusted, remote.ip(), req.forwarded_for) else {
                return (Next::Hyper, used);
            };
            let client = SocketAddr::new(client, remote.port());
            let body = match req.endpoint {
                // The client is known: no headers are needed.
                Endpoint::Announce { passkey } => {
                    announce_reply(&self.tracker, passkey, req.query, client, &HeaderMap::new())
                }
                Endpoint::Scrape => scrape_reply(&self.tracker, req.query),
            };
            fast::write_response(out, &body, req.close, &date::now());
            used += req.head_len;
            if req.close {
                return (Next::Close, buf.len());
            }
        }
        (Next::Read, used)
    }

    /// Serves a connection just accepted (`stream` must be non-blocking):
    /// inline when its request is already buffered and the connection ends
    /// with the reply, otherwise in a task. When nothing has arrived yet and
    /// `may_wait` is set, hands the connection back for another look later
    /// (a connection answered inline costs no task and no reactor
    /// registration).
    pub fn accepted(self: &Arc<Self>, conn: Accepted, may_wait: bool) -> Option<Accepted> {
        let Accepted {
            stream,
            remote,
            permit,
        } = conn;
        SCRATCH.with_borrow_mut(|(head, out)| {
            head.resize(MAX_FAST_HEAD_BYTES, 0);
            out.clear();
            let read = match (&stream).read(head) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if may_wait {
                        return Some(Accepted {
                            stream,
                            remote,
                            permit,
                        });
                    }
                    0
                }
                Err(e) => {
                    tracing::debug!("connection from {remote}: {e}");
                    return None;
                }
            };
            let (next, used) = self.answer(&head[..read], out, remote);
            let written = match write_now(&stream, out) {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!("connection from {remote}: {e}");
                    return None;
                }
            };
            if next == Next::Close && written == out.len() {
                return None; // Dropping the socket closes it.
            }
            let (buf, out) = (head[used..read].to_vec(), out[written..].to_vec());
            self.spawn(stream, remote, buf, out, next, permit);
            None
        })
    }

    fn spawn(
        self: &Arc<Self>,
        stream: std::net::TcpStream,
        remote: SocketAddr,
        buf: Vec<u8>,
        out: Vec<u8>,
        next: Next,
        permit: OwnedSemaphorePermit,
    ) {
        let shared = self.clone();
        self.connections.spawn(async move {
            let _permit = permit;
            match TcpStream::from_std(stream) {
                Ok(stream) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!("connection from {remote}: no TCP_NODELAY: {e}");
                    }
                    shared.run(stream, remote, buf, out, next).await;
                }
                Err(e) => tracing::debug!("connection from {remote}: {e}"),
            }
        });
    }

    /// The fast path's keep-alive loop: write what is pending, then read and
    /// answer requests until the client closes, falls idle, or sends
    /// something for hyper.
    async fn run(
        &self,
        stream: TcpStream,
        remote: SocketAddr,
        mut buf: Vec<u8>,
        mut out: Vec<u8>,
        mut next: Next,
    ) {
        let mut stream = stream;
        let cancelled = self.token.cancelled();
        tokio::pin!(cancelled);
        let idle = tokio::time::sleep(self.header_read_timeout);
        tokio::pin!(idle);
        loop {
            if !out.is_empty() {
                let write = tokio::io::AsyncWriteExt::write_all(&mut stream, &out);
                match tokio::time::timeout(self.request_timeout, write).await {
                    Ok(Ok(())) => out.clear(),
                    Ok(Err(e)) => return tracing::debug!("connection from {remote}: {e}"),
                    Err(_) => return tracing::debug!("connection from {remote}: write timed out"),
                }
            }
            match next {
                Next::Close => return,
                Next::Hyper => return self.hyper(stream, remote, buf).await,
                Next::Read => {}
            }
            idle.as_mut()
                .reset(tokio::time::Instant::now() + self.header_read_timeout);
            tokio::select! {
                biased;
                r = stream.readable() => if r.is_err() { return },
                _ = &mut idle => return,
                _ = &mut cancelled => return,
            }
            buf.reserve(MAX_FAST_HEAD_BYTES);
            match stream.try_read_buf(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return tracing::debug!("connection from {remote}: {e}"),
            }
            let used;
            (next, used) = self.answer(&buf, &mut out, remote);
            buf.drain(..used);
        }
    }

    /// Serves the rest of the connection with hyper and the router.
    async fn hyper(&self, stream: TcpStream, remote: SocketAddr, prefix: Vec<u8>) {
        let router = self.router.clone();
        let request_timeout = self.request_timeout;
        let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            let mut router = router.clone();
            async move {
                match tokio::time::timeout(request_timeout, router.call(req)).await {
                    Ok(res) => res,
                    Err(_) => Ok::<_, Infallible>(http::json_error(
                        StatusCode::REQUEST_TIMEOUT,
                        "request took too long",
                    )),
                }
            }
        });
        let io = TokioIo::new(Prefixed::new(prefix, stream));
        let conn = self.hyper.serve_connection(io, svc);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => if let Err(e) = r {
                tracing::debug!("connection from {remote}: {e}");
            },
            _ = self.token.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(SHUTDOWN_DEADLINE, conn).await;
            }
        }
    }
}
