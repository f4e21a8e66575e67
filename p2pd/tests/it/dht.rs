//! The engine's DHT node seen from a peer (BEP 5): for a public torrent the
//! engine's handshake sets the DHT bit and a PORT message names its node;
//! for a private one (BEP 27) neither. A DHT node whose default UDP port
//! (the TCP port's number) is taken starts on another; the nodes file
//! keeps what a node knew (and the nodes PORT messages named) and gets
//! the next start into the DHT.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{
    DEFAULT_MAX_MESSAGE_LEN, Decoded, HANDSHAKE_LEN, Handshake, Message, PeerId,
};
use p2pd::dht::{DhtConfig, DhtNode};
use p2pd::engine::Encryption;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::{add, data, engine};

/// A DHT of our own: no bootstrap node, any free UDP port.
fn lone_dht() -> DhtConfig {
    DhtConfig {
        port: Some(0),
        bootstrap: Some(Vec::new()),
        server_mode: true,
        nodes_file: None,
    }
}

fn torrent(dir: &Path, private: bool) -> Metainfo {
    let file = dir.join(if private { "private.bin" } else { "public.bin" });
    std::fs::write(&file, data(64 * 1024, 5)).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16 * 1024),
        private,
        ..CreateOptions::default()
    };
    create_torrent(&file, &opts, &Control::default())
        .unwrap()
        .metainfo
}

/// What the engine said when it dialled us: its handshake, and the port
/// of a PORT message among the messages up to its extension handshake
/// (PORT comes last in its greeting) and a short while after.
async fn greeting(l: &TcpListener, meta: &Metainfo) -> (Handshake, Option<u16>) {
    let (mut s, _) = timeout(Duration::from_secs(20), l.accept())
        .await
        .unwrap()
        .unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    let Decoded::Done(theirs, _) = Handshake::decode(&hs).unwrap() else {
        panic!("short handshake");
    };
    let ours = Handshake::new(meta.info_hash, PeerId(*b"-XX0001-dhtscripted0")).with_dht();
    s.write_all(&ours.to_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut port = None;
    let mut extended_at = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Decoded::Done(msg, used) = Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN).unwrap()
        {
            match msg {
                Message::Port(p) => port = Some(p),
                Message::Extended { id: 0, .. } => extended_at = Some(Instant::now()),
                _ => {}
            }
            buf.drain(..used);
        }
        // Everything of the greeting is one write: a PORT would be here.
        let enough = port.is_some()
            || extended_at.is_some_and(|at| at.elapsed() > Duration::from_millis(500));
        if enough || Instant::now() > deadline {
            return (theirs, port);
        }
        let mut chunk = [0u8; 4096];
        if let Ok(read) = timeout(Duration::from_millis(100), s.read(&mut chunk)).await {
            let n = read.unwrap();
            assert!(n > 0, "the engine closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_torrent_offers_our_dht_node_and_a_private_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    // The scripted peer reads a plain handshake.
    let e = engine(&cancel, |c| {
        c.dht = Some(lone_dht());
        c.encryption = Encryption::Disable;
    })
    .await;
    let dht_port = e.dht_status().await.unwrap().port;
    for private in [false, true] {
        let meta = torrent(dir.path(), private);
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let me: SocketAddr = l.local_addr().unwrap();
        e.add(add(&meta, dir.path(), vec![me])).await.unwrap();
        let (theirs, port) = greeting(&l, &meta).await;
        if private {
            assert!(!theirs.supports_dht(), "DHT bit on a private torrent");
            assert_eq!(port, None, "PORT sent on a private torrent");
        } else {
            assert!(theirs.supports_dht(), "no DHT bit on a public torrent");
            assert_eq!(port, Some(dht_port));
        }
    }
    cancel.cancel();
    e.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_udp_port_moves_the_dht_to_another_and_the_engine_starts() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = udp.local_addr().unwrap().port();
    let cancel = CancellationToken::new();
    let e = engine(&cancel, |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], taken));
        c.dht = Some(DhtConfig {
            port: None,
            ..lone_dht()
        });
    })
    .await;
    assert_eq!(e.listen_addr().port(), taken);
    let moved = e.dht_status().await.unwrap().port;
    assert_ne!(moved, taken);
    assert_ne!(moved, 0);
    cancel.cancel();
    e.shutdown(Duration::from_secs(5)).await;
}

/// Polls `node` until it knows at least one node, for at most 30 s.
async fn joined(node: &DhtNode) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if node.status().await.nodes >= 1 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_file_keeps_the_routing_table_and_port_nodes_and_bootstraps_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dht-nodes.txt");
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    // A DHT of two: `first` joins through `router`.
    let router = DhtNode::start(&lone_dht(), local, cancel.clone(), &tasks)
        .await
        .unwrap();
    let first = DhtNode::start(
        &DhtConfig {
            bootstrap: Some(vec![format!("127.0.0.1:{}", router.port())]),
            nodes_file: Some(file.clone()),
            ..lone_dht()
        },
        local,
        cancel.clone(),
        &tasks,
    )
    .await
    .unwrap();
    assert!(joined(&first).await, "the first node never joined");
    first.add_node("127.0.0.1:9".parse().unwrap());
    first.save_nodes(file.clone()).await.unwrap();
    let saved = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = saved.lines().collect();
    assert_eq!(
        lines,
        [
            format!("127.0.0.1:{}", router.port()).as_str(),
            "127.0.0.1:9"
        ],
        "{saved:?}"
    );

    // Started with no bootstrap node at all, the file alone gets it in.
    let next = DhtNode::start(
        &DhtConfig {
            bootstrap: Some(Vec::new()),
            nodes_file: Some(file.clone()),
            ..lone_dht()
        },
        local,
        cancel.clone(),
        &tasks,
    )
    .await
    .unwrap();
    assert!(
        joined(&next).await,
        "the nodes file did not bootstrap the node"
    );
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
}
