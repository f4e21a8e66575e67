//! A uTP connection as tokio sees a TCP one: a stream with owned read and
//! write halves. Reads take bytes the driver received; writes queue bytes
//! and send what the windows allow at once, from the writing task.
//!
//! Must not read the socket: that is driver.rs's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use p2p_proto::utp::conn::State;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Slot, Socket, failure_error};

/// Closes the connection when the last of its halves is dropped.
struct Owner {
    socket: Arc<Socket>,
    slot: Arc<Mutex<Slot>>,
}

impl Owner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let now = self.socket.now();
        let mut s = self.lock();
        if s.conn.state() == State::SynSent {
            s.conn.abort();
        } else {
            s.conn.close();
            s.flush(&self.socket.udp, now);
        }
        s.released = Some(now);
        drop(s);
        self.socket.timers_moved.notify_one();
    }
}

/// A connected uTP stream.
pub(crate) struct UtpStream {
    owner: Arc<Owner>,
    addr: SocketAddr,
}

/// The reading half of a [`UtpStream`].
pub(crate) struct UtpReadHalf {
    owner: Arc<Owner>,
}

/// The writing half of a [`UtpStream`].
pub(crate) struct UtpWriteHalf {
    owner: Arc<Owner>,
}

impl UtpStream {
    pub(super) fn new(socket: Arc<Socket>, slot: Arc<Mutex<Slot>>, addr: SocketAddr) -> Self {
        UtpStream {
            owner: Arc::new(Owner { socket, slot }),
            addr,
        }
    }

    /// Sends what the connection has to send.
    pub(super) fn flush(&self) {
        let now = self.owner.socket.now();
        self.owner.lock().flush(&self.owner.socket.udp, now);
    }

    /// The peer's address.
    pub(crate) fn remote_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The two halves; the connection closes when both are dropped.
    pub(crate) fn split(self) -> (UtpReadHalf, UtpWriteHalf) {
        (
            UtpReadHalf {
                owner: self.owner.clone(),
            },
            UtpWriteHalf { owner: self.owner },
        )
    }
}

impl AsyncRead for UtpReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let owner = &self.owner;
        let mut s = owner.lock();
        let (a, b) = s.conn.readable_slices();
        if a.is_empty() {
            if s.conn.at_eof() {
                return Poll::Ready(Ok(()));
            }
            if s.conn.state() == State::Closed {
                return Poll::Ready(Err(failure_error(s.conn.failure())));
            }
            s.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let from_a = a.len().min(buf.remaining());
        buf.put_slice(&a[..from_a]);
        let from_b = b.len().min(buf.remaining());
        buf.put_slice(&b[..from_b]);
        s.conn.consume(from_a + from_b);
        // Reading may open a window the peer waits on.
        s.flush(&owner.socket.udp, owner.socket.now());
        Poll::Ready(Ok(()))
    }
}

impl UtpWriteHalf {
    fn write_slices(
        &self,
        cx: &mut Context<'_>,
        slices: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let owner = &self.owner;
        let mut s = owner.lock();
        if s.conn.state() == State::Closed {
            return Poll::Ready(Err(failure_error(s.conn.failure())));
        }
        let mut n = 0;
        for slice in slices {
            let took = s.conn.write(slice);
            n += took;
            if took < slice.len() {
                break;
            }
        }
        if n == 0 && slices.iter().any(|s| !s.is_empty()) {
            s.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        // The retransmission timer this may start is seen by the driver's
        // next tick.
        s.flush(&owner.socket.udp, owner.socket.now());
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for UtpWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_slices(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written bytes are queued in the connection, as TCP queues them
        // in the kernel.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let owner = &self.owner;
        let mut s = owner.lock();
        s.conn.close();
        s.flush(&owner.socket.udp, owner.socket.now());
        Poll::Ready(Ok(()))
    }
}
