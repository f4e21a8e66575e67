//! The engine's DHT node seen from a peer (BEP 5): for a public torrent the
//! engine's handshake sets the DHT bit and a PORT message names its node;
//! for a private one (BEP 27) neither. A DHT node whose default UDP port
//! (the TCP port's number) is taken starts on another; the nodes file
//! keeps what a node knew (and the nodes PORT messages named) and gets
//! the next start into the DHT; hostile datagrams leave the node answering.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_utp_on_the_listen_port_the_dht_takes_the_next_one() {
    // A port whose TCP and UDP sides and the next UDP port are free now.
    let port = (0..100)
        .find_map(|_| {
            let tcp = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let p = tcp.local_addr().ok()?.port();
            let _udp = std::net::UdpSocket::bind(("127.0.0.1", p)).ok()?;
            let _next = std::net::UdpSocket::bind(("127.0.0.1", p.checked_add(1)?)).ok()?;
            Some(p)
        })
        .unwrap();
    let cancel = CancellationToken::new();
    let e = engine(&cancel, |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.dht = Some(DhtConfig {
            port: None,
            ..lone_dht()
        });
    })
    .await;
    assert_eq!(e.listen_addr().port(), port);
    // uTP answers on the listen port's UDP side (a SYN gets a STATE back).
    let probe = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut syn = [0u8; 20];
    syn[0] = 0x41; // type ST_SYN, version 1
    syn[2..4].copy_from_slice(&7u16.to_be_bytes()); // connection id
    syn[12..16].copy_from_slice(&(1u32 << 20).to_be_bytes()); // window
    syn[16..18].copy_from_slice(&1u16.to_be_bytes()); // seq_nr
    probe.send_to(&syn, ("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = timeout(Duration::from_secs(5), probe.recv_from(&mut buf))
        .await
        .expect("no uTP answer on the listen port")
        .unwrap();
    assert!(
        n >= 20 && buf[0] == 0x21,
        "not a uTP ST_STATE: {:?}",
        &buf[..n]
    );
    assert_eq!(e.dht_status().await.unwrap().port, port + 1);
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

/// A daemon starting with many public torrents asks for more searches at
/// once than the node runs lookups: the rest wait their turn, and every
/// one of them reaches the DHT (here one node that never answers, so each
/// lookup lasts a query timeout) and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_beyond_the_nodes_room_wait_their_turn_and_all_run() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    silent
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let node = DhtNode::start(
        &DhtConfig {
            bootstrap: Some(vec![silent.local_addr().unwrap().to_string()]),
            ..lone_dht()
        },
        "127.0.0.1:0".parse().unwrap(),
        cancel.clone(),
        &tasks,
    )
    .await
    .unwrap();
    const SEARCHES: u16 = 200;
    let lookups = (0..SEARCHES).map(|i| {
        let node = node.clone();
        let mut hash = [0xab; 20];
        hash[..2].copy_from_slice(&i.to_be_bytes());
        tokio::spawn(async move {
            node.lookup(p2p_proto::infohash::InfoHash(hash), Some(1), |_| {})
                .await
        })
    });
    let lookups: Vec<_> = lookups.collect();
    let asked = tokio::task::spawn_blocking(move || {
        let mut hashes = std::collections::HashSet::new();
        let mut buf = [0u8; 2048];
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while hashes.len() < usize::from(SEARCHES) && std::time::Instant::now() < deadline {
            if let Ok(n) = silent.recv(&mut buf) {
                let d = &buf[..n];
                if let Some(at) = d.windows(13).position(|w| w == b"9:info_hash20") {
                    hashes.insert(d[at + 14..at + 34].to_vec());
                }
            }
        }
        hashes.len()
    });
    for l in lookups {
        let found = timeout(Duration::from_secs(90), l).await.unwrap().unwrap();
        assert_eq!(found, 0);
    }
    assert_eq!(asked.await.unwrap(), usize::from(SEARCHES));
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
}

/// A KRPC ping from node id `id` with transaction id `t`.
fn ping(id: u8, t: &[u8]) -> Vec<u8> {
    query(b"ping", id, b"", t)
}

/// A KRPC query `q` from node id `id` carrying the bencoded arguments
/// `args` (besides `id`), with transaction id `t`.
fn query(q: &[u8], id: u8, args: &[u8], t: &[u8]) -> Vec<u8> {
    let mut m = b"d1:ad2:id20:".to_vec();
    m.extend_from_slice(&[id; 20]);
    m.extend_from_slice(args);
    m.extend_from_slice(format!("e1:q{}:", q.len()).as_bytes());
    m.extend_from_slice(q);
    m.extend_from_slice(format!("1:t{}:", t.len()).as_bytes());
    m.extend_from_slice(t);
    m.extend_from_slice(b"1:y1:qe");
    m
}

/// Pings `to` with transaction id `t` and returns the answer.
async fn pong(sock: &tokio::net::UdpSocket, to: SocketAddr, t: &[u8]) -> Vec<u8> {
    answer(sock, to, &ping(t[0], t), t).await
}

/// Sends `query` to `to` until the response carrying its transaction id
/// `t` comes back (UDP may drop one), for at most five seconds.
async fn answer(sock: &tokio::net::UdpSocket, to: SocketAddr, query: &[u8], t: &[u8]) -> Vec<u8> {
    let mut tid = format!("1:t{}:", t.len()).into_bytes();
    tid.extend_from_slice(t);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        sock.send_to(query, to).await.unwrap();
        while let Ok(Ok((n, _))) =
            timeout(Duration::from_millis(200), sock.recv_from(&mut buf)).await
        {
            let answer = &buf[..n];
            if answer.windows(tid.len()).any(|w| w == tid.as_slice()) {
                assert!(
                    answer.windows(6).any(|w| w == b"1:y1:r"),
                    "a query's answer is a response: {}",
                    String::from_utf8_lossy(answer)
                );
                return answer.to_vec();
            }
        }
    }
    panic!(
        "no answer to {} within five seconds",
        String::from_utf8_lossy(query)
    );
}

/// libtorrent and Transmission send 2-byte transaction ids; a node must
/// echo whatever `t` it is given (BEP 5), or it never answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_with_a_2_byte_transaction_id_are_answered_with_it() {
    let cancel = CancellationToken::new();
    let e = engine(&cancel, |c| c.dht = Some(lone_dht())).await;
    let node = SocketAddr::from(([127, 0, 0, 1], e.dht_status().await.unwrap().port));
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    pong(&sock, node, b"aa").await;
    let get_peers = query(
        b"get_peers",
        7,
        &[b"9:info_hash20:".as_slice(), &[3; 20]].concat(),
        b"gp",
    );
    let got = answer(&sock, node, &get_peers, b"gp").await;
    assert!(
        got.windows(7).any(|w| w == b"5:token"),
        "a get_peers answer carries a token: {}",
        String::from_utf8_lossy(&got)
    );
    cancel.cancel();
}

/// BEP 32: the node answers on ::1, on the same port number as on
/// 127.0.0.1, and a `find_node` asking `want: [n6]` gets the IPv6 nodes it
/// knows in `nodes6`: here another node on ::1 that pinged it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_find_node_from_ipv6_loopback_wanting_n6_gets_nodes6() {
    let cancel = CancellationToken::new();
    let e = engine(&cancel, |c| c.dht = Some(lone_dht())).await;
    let port = e.dht_status().await.unwrap().port;
    let node = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let other = tokio::net::UdpSocket::bind("[::1]:0").await.unwrap();
    answer(&other, node, &ping(8, b"p6"), b"p6").await;
    let sock = tokio::net::UdpSocket::bind("[::1]:0").await.unwrap();
    let args = [b"6:target20:".as_slice(), &[5; 20], b"4:wantl2:n6e"].concat();
    let got = answer(&sock, node, &query(b"find_node", 7, &args, b"f6"), b"f6").await;
    // nodes6 holds one compact node: id, 16-byte address, port.
    let mut entry = b"6:nodes638:".to_vec();
    entry.extend_from_slice(&[8; 20]);
    entry.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    entry.extend_from_slice(&other.local_addr().unwrap().port().to_be_bytes());
    assert!(
        got.windows(entry.len()).any(|w| w == entry.as_slice()),
        "a find_node answer wanting n6 names the other ::1 node in nodes6: {}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        !got.windows(7).any(|w| w == b"5:nodes"),
        "no IPv4 nodes when only n6 is wanted"
    );
    cancel.cancel();
}

/// The running engine's node fed hostile datagrams from outside, as
/// another node would send them: every cut and many byte flips of a valid
/// query, deep nesting, absurd lengths, a datagram larger than any KRPC
/// message, random bytes, and the KRPC fuzz targets' seeds and
/// reproducers (`proto/fuzz`). It must still answer a ping afterwards, and
/// never answer with more than a response's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_krpc_datagrams_leave_the_dht_node_answering() {
    let cancel = CancellationToken::new();
    let e = engine(&cancel, |c| c.dht = Some(lone_dht())).await;
    let node = SocketAddr::from(([127, 0, 0, 1], e.dht_status().await.unwrap().port));
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    pong(&sock, node, b"aaaa").await;

    let valid = ping(9, b"zzzz");
    let mut hostile: Vec<Vec<u8>> = Vec::new();
    for cut in 0..valid.len() {
        hostile.push(valid[..cut].to_vec());
    }
    for i in 0..valid.len() {
        for bit in [0x01, 0x20, 0x80] {
            let mut m = valid.clone();
            m[i] ^= bit;
            hostile.push(m);
        }
    }
    hostile.push([b"l".repeat(5000), b"e".repeat(5000)].concat());
    hostile.push([b"d1:ad".to_vec(), b"d1:a".repeat(1000), b"e".repeat(1002)].concat());
    hostile.push(b"d1:ad2:id99999999999:".to_vec());
    hostile.push(b"d1:ad2:id-5:".to_vec());
    hostile.push(vec![b'd'; 60_000]);
    for n in 0..2000u32 {
        let len = (rand::random::<u32>() % 600) as usize;
        let mut m: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        if n % 2 == 0 && !m.is_empty() {
            m[0] = b'd';
        }
        hostile.push(m);
    }
    let mut kept = 0;
    for dir in ["seeds/krpc", "regressions/krpc", "regressions/dht_node"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../proto/fuzz")
            .join(dir);
        // The regressions folder exists once the fuzzer has found something.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "bin") {
                hostile.push(std::fs::read(&path).unwrap());
                kept += 1;
            }
        }
    }
    assert!(kept >= 8, "the fuzz target's seeds were not found");
    for m in &hostile {
        // A datagram too large for UDP is refused by our own kernel.
        let _ = sock.send_to(m, node).await;
    }
    let mut buf = [0u8; 65_536];
    let mut answers = 0;
    while let Ok(Ok((n, _))) = timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await {
        assert!(n <= 1500, "a {n}-byte answer to a hostile datagram");
        answers += 1;
    }
    assert!(
        answers <= hostile.len(),
        "{answers} answers to {} datagrams",
        hostile.len()
    );
    pong(&sock, node, b"bbbb").await;
    cancel.cancel();
}
