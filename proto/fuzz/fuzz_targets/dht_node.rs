//! `dht::machine::Dht`, the whole sans-io node, on arbitrary datagrams:
//! the node first pings two nodes and starts a search (so answers to its
//! own queries are possible: its transaction ids come from a fixed seed),
//! then each input, split at `\n#\n` into up to 8 datagrams, arrives from
//! the pinged IPv4 node, the pinged IPv6 node or a stranger (by index),
//! with time passing between them.
//!
//! Invariants: never a panic; every datagram sent decodes, fits
//! `MAX_ANSWER_BYTES` and goes to a port other than 0; only the three
//! sources can enter the routing tables.
#![no_main]

use std::net::{Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use p2p_proto::dht::NodeId;
use p2p_proto::dht::krpc::Message;
use p2p_proto::dht::machine::{Config, Dht};
use p2p_proto::dht::responder::MAX_ANSWER_BYTES;

fuzz_target!(|data: &[u8]| {
    let v4 = SocketAddr::from(([10, 0, 0, 1], 6881));
    let v6 = SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), 6881));
    let stranger = SocketAddr::from(([10, 9, 9, 9], 4000));
    let config = Config {
        bootstrap: vec![v4, v6],
        read_only: true,
        ipv4: true,
        ipv6: true,
    };
    let mut dht = Dht::new(NodeId([0x42; 20]), [7; 32], config, 0);
    dht.tick(0);
    dht.add_node(v4, 0);
    dht.get_peers(NodeId([0x17; 20]), Some(6881), 0);
    let mut now = 10;
    for (i, datagram) in split(data).into_iter().enumerate().take(8) {
        let from = [v4, v6, stranger][i % 3];
        dht.handle(datagram, from, now);
        now += 700;
        dht.tick(now);
        while let Some(t) = dht.poll_transmit() {
            assert!(t.bytes.len() <= MAX_ANSWER_BYTES, "{} bytes sent", t.bytes.len());
            Message::decode(&t.bytes).expect("what we send decodes");
            assert!(t.to.port() != 0);
        }
        while dht.poll_event().is_some() {}
    }
    // Only the three sources can have entered the tables.
    assert!(dht.health().nodes4 + dht.health().nodes6 <= 3);
});

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(3).position(|w| w == b"\n#\n") {
        parts.push(&rest[..at]);
        rest = &rest[at + 3..];
    }
    parts.push(rest);
    parts
}
