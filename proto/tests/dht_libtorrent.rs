//! Interop: libtorrent (python3-libtorrent) bootstraps its DHT from our
//! responder alone over real UDP on 127.0.0.1 and on ::1, gets a peer from our store
//! with `get_peers`, and announces its listen port with the token we gave it.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p2p_proto::dht::NodeId;
use p2p_proto::dht::peers::PeerStore;
use p2p_proto::dht::responder::{Incoming, Responder};
use p2p_proto::dht::routing::RoutingTable;
use p2p_proto::dht::tokens::Tokens;

const HASH: [u8; 20] = [0x5a; 20];

#[test]
fn libtorrent_bootstraps_from_our_responder_gets_peers_and_announces_over_ipv4() {
    run("127.0.0.1", "10.1.2.3:4567".parse().unwrap());
}

#[test]
fn libtorrent_bootstraps_from_our_responder_gets_peers_and_announces_over_ipv6() {
    run("[::1]", "[fd00::3]:4567".parse().unwrap());
}

/// libtorrent on `host` (loopback) against our responder; `stored` is the
/// peer of our store it must get back.
fn run(host: &str, stored: SocketAddr) {
    let socket = UdpSocket::bind(format!("{host}:0")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let scratch = tempfile::tempdir().unwrap();
    let from_libtorrent = |peers: &PeerStore| {
        peers
            .peers(&NodeId(HASH), stored.is_ipv6(), 100, 1)
            .into_iter()
            .find(|p| p.ip().is_loopback())
    };

    let mut table4 = RoutingTable::new(NodeId([0x11; 20]), 0);
    let mut table6 = RoutingTable::new(NodeId([0x66; 20]), 0);
    let tokens = Tokens::new([9; 16], 0);
    let mut peers = PeerStore::new();
    peers.announce(NodeId(HASH), stored, 0);

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dht/libtorrent_client.py");
    let hash_hex: String = HASH.iter().map(|b| format!("{b:02x}")).collect();
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(host)
        .arg(port.to_string())
        .arg(&hash_hex)
        .arg(stored.to_string())
        .arg(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let start = Instant::now();
    let mut queries = 0;
    let mut buf = [0u8; 2048];
    let mut exited = None;
    while start.elapsed() < Duration::from_secs(60) {
        if from_libtorrent(&peers).is_some() {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        let Ok((len, source)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let handled = Responder {
            table4: &mut table4,
            table6: &mut table6,
            tokens: &tokens,
            peers: &mut peers,
        }
        .handle(&buf[..len], source, 1);
        if let Incoming::Answer(bytes) = handled.incoming {
            queries += 1;
            socket.send_to(&bytes, source).unwrap();
        }
    }
    // Closing stdin lets the script exit; it is ours, so stop it if it does not.
    drop(child.stdin.take());
    let wait_until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = exited.or(child.try_wait().unwrap()) {
            break Some(s);
        }
        if Instant::now() > wait_until {
            child.kill().unwrap();
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "libtorrent side: {out}"
    );
    assert!(queries > 0);
    let listen_port = out
        .lines()
        .find_map(|l| l.strip_prefix("listen_port "))
        .and_then(|p| p.parse::<u16>().ok());
    let announced = from_libtorrent(&peers).map(|p| p.port());
    assert_eq!(announced, listen_port, "libtorrent said: {out}");
    let table = if stored.is_ipv6() { &table6 } else { &table4 };
    assert_eq!(table.len(), 1, "libtorrent's node is in our table");
}
