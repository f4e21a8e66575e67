//! `Magnet::parse` on arbitrary UTF-8.
//!
//! Invariant: a magnet link that parses prints (`Display`) to a URI that
//! parses back to an equal `Magnet`, and printing that again gives the same
//! text (the printed form is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::magnet::{MAX_MAGNET_BYTES, Magnet, MagnetError};

fuzz_target!(|text: &str| {
    let Ok(m) = Magnet::parse(text) else {
        return;
    };
    let uri = m.to_string();
    match Magnet::parse(&uri) {
        Ok(again) => {
            assert_eq!(again, m, "magnet does not round-trip through {uri:?}");
            assert_eq!(again.to_string(), uri, "printed form is not canonical");
        }
        // Percent-encoding can make the printed form up to 3x longer.
        Err(MagnetError::TooLong(n)) => assert!(n > MAX_MAGNET_BYTES),
        Err(e) => panic!("printed magnet {uri:?} does not parse: {e}"),
    }
});
