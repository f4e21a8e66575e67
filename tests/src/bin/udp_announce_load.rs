//! Load generator for UDP trackers (BEP 15), for bench/udp_tracker.sh:
//! SOCKETS client sockets, each with WINDOW announces in flight (a new one
//! sent for each answer), for SECONDS; prints one JSON line with the
//! answered announces per second. Each socket connects first and asks for
//! a new connection id when an answer is an error. The info-hashes come
//! from a file of hex lines (the whitelist an opentracker needs).
//!
//! Usage: udp-announce-load --target 127.0.0.1:PORT --hashes FILE
//!        [--seconds 10] [--sockets 32] [--window 8]

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench tool: it fails loudly

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::udp::{UdpAnnounce, UdpRequest, UdpResponse};
use p2p_proto::tracker::{Event, PeerId};
use tokio::net::UdpSocket;

struct Args {
    target: SocketAddr,
    hashes: Vec<InfoHash>,
    seconds: u64,
    sockets: u32,
    window: u32,
}

fn args() -> Args {
    let mut a = std::env::args().skip(1);
    let (mut target, mut hashes, mut seconds, mut sockets, mut window) = (None, None, 10, 32, 8);
    while let Some(flag) = a.next() {
        let value = a.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => target = Some(value.parse().expect("--target ADDR:PORT")),
            "--hashes" => {
                let text = std::fs::read_to_string(&value).expect("--hashes FILE");
                hashes = Some(
                    text.lines()
                        .filter(|l| l.len() == 40)
                        .map(|l| l.parse::<InfoHash>().expect("hex info-hash"))
                        .collect::<Vec<_>>(),
                );
            }
            "--seconds" => seconds = value.parse().expect("--seconds N"),
            "--sockets" => sockets = value.parse().expect("--sockets N"),
            "--window" => window = value.parse().expect("--window N"),
            other => panic!("unknown flag {other}"),
        }
    }
    let hashes = hashes.expect("--hashes FILE");
    assert!(!hashes.is_empty(), "no info-hashes in the file");
    Args {
        target: target.expect("--target ADDR:PORT"),
        hashes,
        seconds,
        sockets,
        window,
    }
}

/// Asks for a connection id until one comes.
async fn connect(socket: &UdpSocket, buf: &mut [u8]) -> u64 {
    let mut tid = 0xc0_0000u32;
    loop {
        tid += 1;
        socket
            .send(
                &UdpRequest::Connect {
                    transaction_id: tid,
                }
                .encode(),
            )
            .await
            .unwrap();
        let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), socket.recv(buf)).await else {
            continue;
        };
        if let Ok(UdpResponse::Connect {
            transaction_id,
            connection_id,
        }) = UdpResponse::decode(&buf[..n], false)
            && transaction_id == tid
        {
            return connection_id;
        }
    }
}

fn announce(connection_id: u64, hashes: &[InfoHash], socket: u32, n: u64) -> Vec<u8> {
    let mut peer_id = *b"-UL0001-............";
    peer_id[8..12].copy_from_slice(&socket.to_be_bytes());
    peer_id[12..20].copy_from_slice(&n.to_be_bytes());
    UdpRequest::Announce {
        connection_id,
        transaction_id: n as u32,
        announce: UdpAnnounce {
            info_hash: hashes[(n as usize).wrapping_mul(7919) % hashes.len()],
            peer_id: PeerId(peer_id),
            downloaded: 0,
            left: if n.is_multiple_of(3) { 0 } else { 1 << 20 },
            uploaded: 0,
            event: Event::None,
            key: socket,
            num_want: Some(50),
            port: 1024 + (n % 60000) as u16,
            url_data: Vec::new(),
        },
    }
    .encode()
}

async fn client(args: Arc<Args>, socket_no: u32, answered: Arc<AtomicU64>, until: Instant) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(args.target).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let mut id = connect(&socket, &mut buf).await;
    let mut n = u64::from(socket_no) << 32;
    for _ in 0..args.window {
        n += 1;
        socket
            .send(&announce(id, &args.hashes, socket_no, n))
            .await
            .unwrap();
    }
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf)).await {
            Ok(Ok(got)) => match UdpResponse::decode(&buf[..got], false) {
                Ok(UdpResponse::Announce { .. }) => {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                _ => id = connect(&socket, &mut buf).await,
            },
            // Lost datagrams: fill the window again.
            _ => {
                for _ in 1..args.window {
                    n += 1;
                    let _ = socket.send(&announce(id, &args.hashes, socket_no, n)).await;
                }
            }
        }
        n += 1;
        let _ = socket.send(&announce(id, &args.hashes, socket_no, n)).await;
    }
}

fn main() {
    let args = Arc::new(args());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answered = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let until = started + Duration::from_secs(args.seconds);
        let mut tasks = tokio::task::JoinSet::new();
        for s in 0..args.sockets {
            tasks.spawn(client(args.clone(), s, answered.clone(), until));
        }
        while tasks.join_next().await.is_some() {}
        let secs = started.elapsed().as_secs_f64();
        let total = answered.load(Ordering::Relaxed);
        println!(
            "{{\"answered\":{total},\"seconds\":{secs:.3},\"announces_per_s\":{:.0}}}",
            total as f64 / secs
        );
    });
}
