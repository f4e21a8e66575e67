//! `PexMessage::decode` (BEP 11 ut_pex) on arbitrary bytes.
//!
//! Invariants: a payload that decodes keeps at most `PEX_MAX_ACCEPTED`
//! peers per list and no port 0; encoding what was decoded and decoding
//! that again gives the same message (the encoding loses nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::wire::{PEX_MAX_ACCEPTED, PexMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = PexMessage::decode(data) else {
        return;
    };
    assert!(msg.added.len() <= PEX_MAX_ACCEPTED);
    assert!(msg.dropped.len() <= PEX_MAX_ACCEPTED);
    assert!(msg.added.iter().all(|(a, _)| a.port() != 0));
    assert!(msg.dropped.iter().all(|a| a.port() != 0));
    let again = PexMessage::decode(&msg.encode()).expect("our own encoding decodes");
    // IPv4 peers come first in the encoding; compare as sets of entries.
    let mut a = msg.added.clone();
    let mut b = again.added.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "added peers do not round-trip");
    let mut a = msg.dropped.clone();
    let mut b = again.dropped.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "dropped peers do not round-trip");
});
