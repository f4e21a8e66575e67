//! One hostile address against a seeding engine (issue 12 item 17): many
//! idle connections that never finish a handshake, and many handshakes
//! with different peer ids. Each address gets a few places, and a peer from
//! another address still connects and downloads. The attacker comes from
//! 127.0.0.3 (Linux loopback answers for all of 127/8); the honest
//! engine dials from 127.0.0.1.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use p2p_proto::wire::{HANDSHAKE_LEN, Handshake, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed, sha1_tree};

const ATTACKER: [u8; 4] = [127, 0, 0, 3];
/// What the engine lets one address hold (admission.rs).
const HALF_OPEN_PER_ADDRESS: usize = 8;
const PEERS_PER_ADDRESS_PER_TORRENT: usize = 8;

async fn connect_from(ip: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(ip), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the other side has closed the connection (without waiting).
fn closed(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    match s.try_read(&mut b) {
        Ok(0) => true,
        Ok(_) => false, // data: still open (the seeder's greeting)
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

/// Polls until `want` of `conns` are closed, or the deadline; returns how many are open.
async fn open_after_refusals(conns: &[TcpStream], want_closed: usize) -> usize {
    let deadline = Instant::now() + WAIT;
    let mut shut = vec![false; conns.len()];
    loop {
        for (i, c) in conns.iter().enumerate() {
            if !shut[i] && closed(c) {
                shut[i] = true;
            }
        }
        let n = shut.iter().filter(|s| **s).count();
        if n >= want_closed || Instant::now() > deadline {
            return conns.len() - n;
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), conns[0].readable()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_the_peer_slots_and_another_still_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "file.bin",
        &[("", 2_000_000)],
        64 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let target = seeder.listen_addr();
    let ih = meta.info_hash;

    // 50 whole handshakes, each with its own peer id, one after the other.
    let mut shakers = Vec::new();
    for i in 0..50u8 {
        let mut s = connect_from(ATTACKER, target).await;
        let mut id = [b'x'; 20];
        id[19] = i;
        s.write_all(&Handshake::new(ih, PeerId(id)).to_bytes())
            .await
            .unwrap();
        let mut reply = [0u8; HANDSHAKE_LEN];
        // The handshake comes back before the torrent decides; then refused ones close.
        let _ = tokio::time::timeout(WAIT, s.read_exact(&mut reply)).await;
        shakers.push(s);
    }
    let held_shakes = open_after_refusals(&shakers, 50 - PEERS_PER_ADDRESS_PER_TORRENT).await;
    let registered = seeder
        .stats(ih)
        .unwrap()
        .peers
        .iter()
        .filter(|p| p.addr.ip() == IpAddr::from(ATTACKER))
        .count();

    // 450 connections that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..450 {
        idle.push(connect_from(ATTACKER, target).await);
    }
    let held_idle = open_after_refusals(&idle, 450 - HALF_OPEN_PER_ADDRESS).await;
    eprintln!(
        "connections held by the attacker: {held_shakes} of 50 handshakes \
         ({registered} registered peers), {held_idle} of 450 idle"
    );
    assert_eq!(held_shakes, PEERS_PER_ADDRESS_PER_TORRENT);
    assert_eq!(registered, PEERS_PER_ADDRESS_PER_TORRENT);
    assert_eq!(held_idle, HALF_OPEN_PER_ADDRESS);

    // While the attacker holds its places, an honest engine downloads.
    let leecher = engine(&cancel, |_| {}).await;
    let leech_dir = dir.path().join("leech");
    let ih = leecher
        .add(add(&meta, &leech_dir, vec![target]))
        .await
        .unwrap();
    assert!(
        leecher.wait_complete(ih, WAIT).await,
        "{:?}",
        leecher.stats(ih)
    );
    assert_eq!(sha1_tree(&leech_dir), sha1_tree(&dir.path().join("seed")));
    drop((shakers, idle));
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}
