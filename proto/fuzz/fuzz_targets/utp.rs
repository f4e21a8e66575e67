//! `utp::packet::decode` (BEP 29) on arbitrary datagrams.
//!
//! Invariants: a datagram that decodes encodes back (header, selective
//! ACK, large-packet offer, payload) to one that decodes to the same packet; a selective ACK
//! is whole 32-bit words; so is a large-packet offer kept; the payload is the datagram's tail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::utp::packet;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = packet::decode(data) else {
        return;
    };
    assert!(data.ends_with(p.payload));
    if let Some(s) = p.sack {
        assert!(!s.is_empty() && s.len() % 4 == 0);
    }
    let mut out = Vec::new();
    packet::encode(&p.header, p.sack, p.large, p.payload, &mut out);
    let again = packet::decode(&out).expect("our own encoding decodes");
    assert_eq!(again, p, "the packet does not round-trip");
});
