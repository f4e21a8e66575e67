//! uTP (BEP 29) between engines over loopback: a download over uTP, plain
//! and inside MSE; a dial that finds TCP refused falls back to uTP; a
//! dialer preferring uTP falls back to TCP when the peer has no uTP.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::PeerTransport;
use p2p_proto::metainfo::Metainfo;
use p2pd::engine::{Encryption, Engine, UtpMode};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed};

/// What carries the engine's first peer, once it has one.
async fn first_peer_transport(e: &Engine, ih: InfoHash) -> PeerTransport {
    for _ in 0..1000 {
        if let Some(p) = e.stats(ih).and_then(|s| s.peers.first().cloned()) {
            return p.transport;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no peer connected");
}

fn torrent(dir: &Path) -> Metainfo {
    make_torrent(
        &dir.join("seed"),
        "over-utp.bin",
        &[("", 6_000_000)],
        64 * 1024,
    )
}

fn same_file(dir: &Path) {
    assert_eq!(
        fs::read(dir.join("leech/over-utp.bin")).unwrap(),
        fs::read(dir.join("seed/over-utp.bin")).unwrap()
    );
}

/// Seeds with `seeder_utp`, downloads with `leecher_utp` from `dial` (the
/// seeder's address unless a test puts something between); returns the
/// transport both ends saw.
async fn transfer(
    seeder_utp: UtpMode,
    leecher_utp: UtpMode,
    encryption: Encryption,
    via: impl AsyncFnOnce(SocketAddr) -> SocketAddr,
) -> PeerTransport {
    let dir = tempfile::tempdir().unwrap();
    let meta = torrent(dir.path());
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| {
        c.utp = seeder_utp;
        c.encryption = encryption;
        // Slow enough that both ends are seen with their peer.
        c.upload_rate_limit = Some(3_000_000);
    })
    .await;
    let leecher = engine(&cancel, |c| {
        c.utp = leecher_utp;
        c.encryption = encryption;
    })
    .await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let target = via(seeder.listen_addr()).await;
    let ih = leecher
        .add(add(&meta, &dir.path().join("leech"), vec![target]))
        .await
        .unwrap();
    let leecher_side = first_peer_transport(&leecher, ih).await;
    let seeder_side = first_peer_transport(&seeder, ih).await;
    assert_eq!(
        leecher_side, seeder_side,
        "both ends agree on the transport"
    );
    let encrypted = leecher.stats(ih).unwrap().peers[0].encrypted;
    assert_eq!(encrypted, encryption == Encryption::Require);
    assert!(leecher.wait_complete(ih, WAIT).await);
    same_file(dir.path());
    cancel.cancel();
    leecher_side
}

async fn direct(addr: SocketAddr) -> SocketAddr {
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_preferring_utp_downloads_over_utp() {
    let t = transfer(UtpMode::On, UtpMode::Prefer, Encryption::Prefer, direct).await;
    assert_eq!(t, PeerTransport::Utp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_download_over_utp_is_rc4_inside_utp() {
    let t = transfer(UtpMode::On, UtpMode::Prefer, Encryption::Require, direct).await;
    assert_eq!(t, PeerTransport::Utp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_at_their_defaults_use_tcp() {
    let t = transfer(UtpMode::On, UtpMode::On, Encryption::Prefer, direct).await;
    assert_eq!(t, PeerTransport::Tcp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialer_preferring_utp_falls_back_to_tcp_when_the_peer_has_none() {
    let t = transfer(UtpMode::Off, UtpMode::Prefer, Encryption::Prefer, direct).await;
    assert_eq!(t, PeerTransport::Tcp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialer_finding_tcp_refused_falls_back_to_utp() {
    // The leecher is told of a port with no TCP listener, whose UDP side
    // relays to the seeder's uTP: TCP is refused, uTP gets through.
    let t = transfer(UtpMode::On, UtpMode::On, Encryption::Prefer, udp_relay).await;
    assert_eq!(t, PeerTransport::Utp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_over_utp_through_a_lossy_relay_arrives_whole() {
    // Every seventh datagram each way is lost and every eleventh arrives
    // twice: retransmission, selective ACKs and the reorder buffer at
    // work between two engines (whose packets are large, on loopback).
    let t = transfer(UtpMode::On, UtpMode::On, Encryption::Prefer, lossy_relay).await;
    assert_eq!(t, PeerTransport::Utp);
}

/// A UDP relay to `target` on a fresh port (nothing listens on its TCP
/// side); returns its address. Runs until the test's runtime ends.
async fn udp_relay(target: SocketAddr) -> SocketAddr {
    relay(target, Mangle::default()).await
}

async fn lossy_relay(target: SocketAddr) -> SocketAddr {
    relay(
        target,
        Mangle {
            drop_every: 7,
            twice_every: 11,
        },
    )
    .await
}

/// What a relay does to the datagrams it passes (0: nothing).
#[derive(Default, Clone, Copy)]
struct Mangle {
    drop_every: usize,
    twice_every: usize,
}

impl Mangle {
    /// How many copies of the `n`th datagram (from 1) go on.
    fn copies(self, n: usize) -> usize {
        if self.drop_every > 0 && n.is_multiple_of(self.drop_every) {
            0
        } else if self.twice_every > 0 && n.is_multiple_of(self.twice_every) {
            2
        } else {
            1
        }
    }
}

async fn relay(target: SocketAddr, mangle: Mangle) -> SocketAddr {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = front.local_addr().unwrap();
    // One back socket per client, so the target's answers find their way.
    let mut backs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut forwarded = 0;
        loop {
            let Ok((n, from)) = front.recv_from(&mut buf).await else {
                return;
            };
            let back = match backs.get(&from) {
                Some(b) => b.clone(),
                None => {
                    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                    back.connect(target).await.unwrap();
                    let (b, f) = (back.clone(), front.clone());
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 65_536];
                        let mut count = 0;
                        while let Ok(n) = b.recv(&mut buf).await {
                            count += 1;
                            for _ in 0..mangle.copies(count) {
                                let _ = f.send_to(&buf[..n], from).await;
                            }
                        }
                    });
                    backs.insert(from, back.clone());
                    back
                }
            };
            forwarded += 1;
            for _ in 0..mangle.copies(forwarded) {
                let _ = back.send(&buf[..n]).await;
            }
        }
    });
    addr
}
