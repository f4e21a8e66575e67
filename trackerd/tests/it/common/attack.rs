//! Helpers for the resource attacks: a process's resident memory, requests
//! left half-sent on open connections, connections from another loopback
//! address, and a normal announce timed while an attack runs. They measure;
//! the tests assert.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use p2p_proto::tracker::AnnounceRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::http::{REPLY_TIMEOUT, parse_reply};
use super::{Reply, Request};

/// Resident memory of process `pid` in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// Opens a connection and writes `bytes` (a head, maybe part of a body),
/// leaving the connection open.
pub async fn half_sent(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// A `POST target` head with `Content-Length: declared`, followed by
/// `sent` bytes of body.
pub fn post_head(target: &str, declared: usize, sent: usize) -> Vec<u8> {
    let mut b = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    .into_bytes();
    b.resize(b.len() + sent, b'x');
    b
}

/// Reads what the server sends on `s` until a whole head has arrived, the
/// connection closes or [`REPLY_TIMEOUT`] passes; `None` without a head.
pub async fn read_head(s: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
    Some(parse_reply(&buf))
}

/// Sends `request` from the loopback address `from` (any of 127.0.0.0/8)
/// and reads the reply until the server closes.
pub async fn send_from(from: IpAddr, addr: SocketAddr, request: &Request) -> Reply {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(&request.to_bytes(addr)).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(REPLY_TIMEOUT, s.read_to_end(&mut buf))
        .await
        .expect("the server answered in time")
        .unwrap();
    parse_reply(&buf)
}

/// An announce for `r` sent from `from`.
pub async fn announce_from(from: IpAddr, addr: SocketAddr, r: &AnnounceRequest) -> Reply {
    let target = format!("/announce?{}", r.to_query_string());
    send_from(from, addr, &Request::get(&target)).await
}

/// Sends a normal announce and returns its reply with the time it took.
pub async fn timed_announce(addr: SocketAddr, r: &AnnounceRequest) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = super::announce(addr, r).await;
    (reply, started.elapsed())
}

/// Sends `request` from the loopback address `from` and reads only the
/// head of the reply, leaving the connection open (a stream stays open).
pub async fn open_from(from: IpAddr, addr: SocketAddr, request: &Request) -> (TcpStream, Reply) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(&request.to_bytes(addr)).await.unwrap();
    let head = read_head(&mut s).await.expect("a reply head");
    (s, head)
}
