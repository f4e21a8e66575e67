//! KRPC (BEP 5) datagrams against the DHT node p2pd runs.
//!
//! mainline parses KRPC for p2pd and keeps its decoder private, so the
//! target drives it from outside, as a hostile node would: one mainline
//! node on 127.0.0.1, built as `p2pd/src/dht` builds it (server mode, no
//! bootstrap), is sent each input as one datagram. Coverage still reaches
//! the decoder: libFuzzer counts edges in every thread of the process.
//!
//! Invariants: every answer to the input fits one Ethernet frame (no
//! amplification), and the node still answers a ping afterwards (a panic
//! on mainline's thread would end its actor and fail here, and the panic
//! itself aborts the process under cargo-fuzz).
#![no_main]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

/// Largest answer a query may draw: mainline's own datagrams stay well
/// under an Ethernet frame.
const MAX_ANSWER: usize = 1500;

struct Node {
    // Kept alive for the whole run: dropping it stops the actor.
    _dht: mainline::Dht,
    addr: SocketAddr,
    sock: UdpSocket,
}

fn node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| {
        // mainline's blocking API to read its address back is deprecated:
        // take a free port first (nothing else binds here meanwhile).
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free UDP port")
            .port();
        let empty: [&str; 0] = [];
        let dht = mainline::Dht::builder()
            .bind_address(Ipv4Addr::LOCALHOST)
            .port(port)
            .server_mode()
            .bootstrap(&empty)
            .build()
            .expect("a DHT node on 127.0.0.1");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let sock = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        Node {
            _dht: dht,
            addr,
            sock,
        }
    })
}

fn ping(t: &[u8; 4]) -> Vec<u8> {
    let mut m = b"d1:ad2:id20:".to_vec();
    m.extend_from_slice(&[7; 20]);
    m.extend_from_slice(b"e1:q4:ping1:t4:");
    m.extend_from_slice(t);
    m.extend_from_slice(b"1:y1:qe");
    m
}

fuzz_target!(|data: &[u8]| {
    let node = node();
    // A datagram larger than UDP allows is refused by our own kernel.
    if node.sock.send_to(data, node.addr).is_err() {
        return;
    }
    // A fresh transaction id per round, so a late pong of an earlier
    // round is not taken for this one.
    static ROUND: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let t = ROUND
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_be_bytes();
    let mut tid = b"1:t4:".to_vec();
    tid.extend_from_slice(&t);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 65_536];
    while Instant::now() < deadline {
        node.sock.send_to(&ping(&t), node.addr).expect("ping sent");
        while let Ok(n) = node.sock.recv(&mut buf) {
            assert!(n <= MAX_ANSWER, "a {n}-byte answer");
            if buf[..n].windows(tid.len()).any(|w| w == tid.as_slice()) {
                return;
            }
        }
    }
    panic!("the DHT node stopped answering pings");
});
