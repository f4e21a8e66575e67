//! The Linux worker loop: datagrams in and answers out by the batch
//! (`recvmmsg` and `sendmmsg`), so a busy tracker makes two system calls
//! per batch instead of two per datagram. `recvmmsg` with `MSG_WAITFORONE`
//! waits for the first datagram only (up to the socket's read timeout) and
//! then takes what is queued, so a quiet tracker answers each datagram as
//! soon as it comes.

use std::io::IoSlice;
use std::io::IoSliceMut;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};
use tokio_util::sync::CancellationToken;

use super::{ConnectionIds, MAX_DATAGRAM, answer, unix_secs};
use crate::app::Tracker;

/// Most datagrams taken (and answers sent) in one system call.
const BATCH: usize = 32;

/// One worker: receive a batch, answer each datagram, send the answers.
pub(super) fn work(
    socket: &UdpSocket,
    t: &Tracker,
    ids: &ConnectionIds,
    token: &CancellationToken,
) {
    let fd = socket.as_raw_fd();
    let mut bufs = vec![[0u8; MAX_DATAGRAM]; BATCH];
    let mut outs: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| Vec::with_capacity(MAX_DATAGRAM))
        .collect();
    let mut recv_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut send_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    // What each received datagram was: its length and sender.
    let mut got: Vec<(usize, Option<SocketAddr>)> = Vec::with_capacity(BATCH);
    // Where each answer goes, in the order of `outs`.
    let mut to: Vec<Option<SockaddrStorage>> = Vec::with_capacity(BATCH);
    while !token.is_cancelled() {
        got.clear();
        {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = Vec::new();
            iovs.extend(bufs.iter_mut().map(|b| [IoSliceMut::new(b)]));
            match recvmmsg(
                fd,
                &mut recv_headers,
                iovs.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(received) => got.extend(received.map(|m| {
                    (
                        m.bytes,
                        m.address.and_then(|a: SockaddrStorage| std_addr(&a)),
                    )
                })),
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                // An ICMP error for an earlier answer: nothing to do for it.
                Err(e) => {
                    tracing::debug!("UDP receive: {e}");
                    continue;
                }
            }
        }
        let now = unix_secs();
        to.clear();
        for (i, &(n, from)) in got.iter().enumerate() {
            let Some(from) = from else { continue };
            // A datagram longer than the buffer arrives cut to it and is
            // then refused as too long, as with `recv_from`.
            let datagram = &bufs[i][..n.min(MAX_DATAGRAM)];
            if answer(t, ids, datagram, from, now, &mut outs[to.len()]) {
                to.push(Some(SockaddrStorage::from(from)));
            }
        }
        send_all(fd, &mut send_headers, &outs[..to.len()], &to);
    }
}

/// Sends `outs[i]` to `to[i]`; an answer the kernel refuses is dropped
/// (logged) and the rest still go.
fn send_all(
    fd: i32,
    headers: &mut MultiHeaders<SockaddrStorage>,
    outs: &[Vec<u8>],
    to: &[Option<SockaddrStorage>],
) {
    let mut start = 0;
    while start < outs.len() {
        let slices: Vec<[IoSlice<'_>; 1]> =
            outs[start..].iter().map(|o| [IoSlice::new(o)]).collect();
        let none: [ControlMessage<'_>; 0] = [];
        match sendmmsg(
            fd,
            headers,
            slices.iter(),
            &to[start..],
            none,
            MsgFlags::empty(),
        ) {
            Ok(sent) => start += sent.count().max(1),
            Err(e) => {
                tracing::debug!("UDP answer: {e}");
                start += 1;
            }
        }
    }
}

fn std_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        Some(SocketAddr::V4(SocketAddrV4::from(*v4)))
    } else {
        a.as_sockaddr_in6()
            .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
    }
}
