//! `dht::responder::Responder::handle` on arbitrary bytes from an IPv4 or
//! IPv6 source (by the input length's parity), against a node that knows a few nodes and peers.
//!
//! Invariants: never a panic; an answer decodes, echoes the transaction id
//! and stays within `MAX_ANSWER_BYTES`; an error answer is no longer than
//! the datagram that caused it; a reply handed back is not a query; at
//! most k nodes to ping.
#![no_main]

use std::net::{Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use p2p_proto::dht::NodeId;
use p2p_proto::dht::krpc::{Body, Message};
use p2p_proto::dht::peers::PeerStore;
use p2p_proto::dht::responder::{Incoming, MAX_ANSWER_BYTES, Responder};
use p2p_proto::dht::routing::{Contact, RoutingTable};
use p2p_proto::dht::tokens::Tokens;

fuzz_target!(|data: &[u8]| {
    let datagram = data;
    let mut table4 = RoutingTable::new(NodeId([0x11; 20]), 0);
    let mut table6 = RoutingTable::new(NodeId([0x66; 20]), 0);
    let mut peers = PeerStore::new();
    for i in 1..=4u8 {
        let v4 = SocketAddr::from(([10, 0, 0, i], 7000));
        let v6 = SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i.into()), 7000));
        table4.heard_from(NodeId([i; 20]), v4, Contact::Reply, 10);
        table6.heard_from(NodeId([i; 20]), v6, Contact::Reply, 10);
        peers.announce(NodeId([i; 20]), v4, 10);
        peers.announce(NodeId([i; 20]), v6, 10);
    }
    let tokens = Tokens::new([7; 16], 0);
    let source = // The length's parity picks the family, so the krpc seeds serve as they are.
    if data.len() % 2 == 0 {
        SocketAddr::from(([10, 9, 9, 9], 6881))
    } else {
        SocketAddr::from((Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 9), 6881))
    };
    let mut responder = Responder {
        table4: &mut table4,
        table6: &mut table6,
        tokens: &tokens,
        peers: &mut peers,
    };
    let handled = responder.handle(datagram, source, 20);
    assert!(handled.ping.len() <= 8);
    match handled.incoming {
        Incoming::Answer(bytes) => {
            assert!(bytes.len() <= MAX_ANSWER_BYTES);
            let answer = Message::decode(&bytes).expect("our answer decodes");
            if let Body::Error(_) = answer.body {
                assert!(bytes.len() <= datagram.len(), "an error answer amplifies");
            }
        }
        Incoming::Reply(m) => assert!(!matches!(m.body, Body::Query(_))),
        Incoming::Dropped => {}
    }
});
