//! The engine's limits changed while it runs (the run-time settings of
//! issue 15): a download held by a global limit goes on once the limit is
//! raised, a lowered per-torrent cap admits no new peer while the open ones
//! stay, and a torrent's own limits are read back as set.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed, sha1_tree};

// For the peers from other loopback addresses, which only Linux answers.
#[cfg(target_os = "linux")]
use {
    p2p_proto::wire::{HANDSHAKE_LEN, Handshake, PeerId},
    std::net::{IpAddr, SocketAddr},
    tokio::io::{AsyncReadExt, AsyncWriteExt},
    tokio::net::{TcpSocket, TcpStream},
};

/// Polls `f` every 20 ms until it holds, for at most [`WAIT`].
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_held_by_a_global_limit_goes_on_when_the_limit_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "file.bin",
        &[("", 8 << 20)],
        256 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    // One byte per second: the first block received waits for hours.
    let leecher = engine(&cancel, |c| c.download_rate_limit = Some(1)).await;
    let leech_dir = dir.path().join("leech");
    let ih = leecher
        .add(add(&meta, &leech_dir, vec![seeder.listen_addr()]))
        .await
        .unwrap();
    until("the first bytes", || {
        leecher.stats(ih).is_some_and(|s| s.downloaded > 0)
    })
    .await;
    let held = leecher.stats(ih).unwrap();
    assert!(held.bytes_have < meta.info.total_length, "{held:?}");
    assert_eq!(leecher.rate_limits(), (Some(1), None));

    leecher.set_rate_limits(None, None);
    assert_eq!(leecher.rate_limits(), (None, None));
    assert!(
        leecher.wait_complete(ih, WAIT).await,
        "{:?}",
        leecher.stats(ih)
    );
    assert_eq!(sha1_tree(&leech_dir), sha1_tree(&dir.path().join("seed")));

    // A torrent's own limits, set while it runs, read back as set.
    assert_eq!(leecher.torrent_limits(ih), Some((None, None)));
    assert!(leecher.set_torrent_limits(ih, Some(500 << 10), None));
    assert_eq!(leecher.torrent_limits(ih), Some((Some(500 << 10), None)));
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

/// A handshake for `ih` from 127.0.0.`host` with its own peer id.
#[cfg(target_os = "linux")]
async fn handshake_from(host: u8, to: SocketAddr, ih: p2p_proto::infohash::InfoHash) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::from([127, 0, 0, host]), 0))
        .unwrap();
    let mut s = socket.connect(to).await.unwrap();
    s.write_all(&Handshake::new(ih, PeerId([host; 20])).to_bytes())
        .await
        .unwrap();
    let mut reply = [0u8; HANDSHAKE_LEN];
    tokio::time::timeout(WAIT, s.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    s
}

/// Whether the other side has closed the connection, waiting for at most
/// [`WAIT`]; what it sends before closing is read and dropped.
#[cfg(target_os = "linux")]
async fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[cfg(target_os = "linux")] // 127.0.0.x other than .1 answers on Linux
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_peer_cap_admits_no_new_peer_and_keeps_the_open_ones() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "f.bin",
        &[("", 300_000)],
        64 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let (to, ih) = (seeder.listen_addr(), meta.info_hash);
    let peers = || seeder.stats(ih).map_or(0, |s| s.peers.len());

    let mut open = Vec::new();
    for host in 11..14 {
        open.push(handshake_from(host, to, ih).await);
    }
    until("three peers", || peers() == 3).await;

    seeder.set_connection_limits(2, 400, 4);
    assert_eq!(seeder.connection_limits(), (2, 400, 4));
    let mut refused = handshake_from(14, to, ih).await;
    assert!(closed_by_peer(&mut refused).await, "a fourth peer was kept");
    assert_eq!(peers(), 3, "the open peers were dropped");

    seeder.set_connection_limits(10, 400, 4);
    let _admitted = handshake_from(15, to, ih).await;
    until("a fourth peer after raising the cap", || peers() == 4).await;
    drop(open);
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
}
