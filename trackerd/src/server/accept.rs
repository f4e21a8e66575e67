//! Accepting connections: take a permit (the connection cap), accept, and
//! hand the socket to `conn` as a plain non-blocking socket, out of the
//! reactor (tokio would only report a new socket readable after a reactor
//! turn; the fast path reads it at once). A connection whose request has
//! not arrived yet waits until the listener's queue is drained, then gets a
//! second look before it is given a task. Must not read or write
//! connections itself.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, TryAcquireError};

use super::conn::{Accepted, Shared};

/// Connections accepted in a row before letting other tasks on this worker run.
const ACCEPTS_BEFORE_YIELD: u32 = 32;
/// Most connections waiting for another look.
const MAX_WAITING: usize = 64;
/// Looks at a silent connection before it is given a task.
const MAX_LOOKS: u8 = 4;
/// Longest wait for a new connection while some are waiting for a look.
const PATIENCE: Duration = Duration::from_millis(1);
/// Pause after a failed accept (out of file descriptors and the like).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// A connection already in the listener's queue, if any (never waits).
async fn accept_now(listener: &TcpListener) -> Option<io::Result<(TcpStream, SocketAddr)>> {
    poll_fn(|cx| match listener.poll_accept(cx) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Looks again at the waiting connections: those that sent their request
/// are answered, the others keep waiting (given a task when `last`, or
/// after [`MAX_LOOKS`]).
fn look_again(shared: &Arc<Shared>, waiting: &mut Vec<(Accepted, u8)>, last: bool) {
    for (conn, looks) in std::mem::take(waiting) {
        let may_wait = !last && looks < MAX_LOOKS;
        if let Some(conn) = shared.accepted(conn, may_wait) {
            waiting.push((conn, looks + 1));
        }
    }
}

/// Accepts until the shutdown token is cancelled.
pub(super) async fn run(listener: Arc<TcpListener>, shared: Arc<Shared>, permits: Arc<Semaphore>) {
    let mut accepted = 0u32;
    let mut waiting: Vec<(Accepted, u8)> = Vec::with_capacity(MAX_WAITING);
    loop {
        if shared.token.is_cancelled() {
            return;
        }
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return,
            Err(TryAcquireError::NoPermits) => {
                // The waiting connections hold permits too: serve them first.
                look_again(&shared, &mut waiting, true);
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                    _ = shared.token.cancelled() => return,
                }
            }
        };
        let r = match accept_now(&listener).await {
            Some(r) => r,
            None if waiting.is_empty() => tokio::select! {
                biased;
                r = listener.accept() => r,
                _ = shared.token.cancelled() => return,
            },
            None => {
                // The queue is empty: let the other tasks here run once; by
                // then most waiting connections have sent their requests.
                tokio::task::yield_now().await;
                look_again(&shared, &mut waiting, false);
                tokio::select! {
                    biased;
                    r = listener.accept() => r,
                    _ = tokio::time::sleep(PATIENCE), if !waiting.is_empty() => {
                        look_again(&shared, &mut waiting, true);
                        continue;
                    }
                    _ = shared.token.cancelled() => return,
                }
            }
        };
        match r.and_then(|(stream, remote)| Ok((stream.into_std()?, remote))) {
            Ok((stream, remote)) => {
                shared
                    .tracker
                    .stats
                    .connections
                    .fetch_add(1, Ordering::Relaxed);
                let conn = Accepted {
                    stream,
                    remote,
                    permit,
                };
                if let Some(conn) = shared.accepted(conn, true) {
                    waiting.push((conn, 1));
                    if waiting.len() == MAX_WAITING {
                        look_again(&shared, &mut waiting, true);
                    }
                }
                accepted = accepted.wrapping_add(1);
                if accepted.is_multiple_of(ACCEPTS_BEFORE_YIELD) {
                    tokio::task::yield_now().await;
                }
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}
