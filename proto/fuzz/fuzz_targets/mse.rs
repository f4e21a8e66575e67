//! The MSE handshake (`p2p_proto::mse`) on arbitrary bytes, as a receiver
//! and as an initiator, fed in two chunks split where the first byte says.
//!
//! Invariants: no panic; the bytes a side asks us to send stay within the
//! spec's bounds (a key, at most 512 bytes of padding, the offer or the
//! answer); a finished handshake hands over no more bytes than it was fed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::infohash::InfoHash;
use p2p_proto::mse::{CryptoSet, Initiator, KEY_LEN, MAX_IA_LEN, MAX_PAD, Receiver, Secrets};

const TORRENT: InfoHash = InfoHash([7; 20]);

fn secrets() -> Secrets {
    Secrets {
        private_key: [3; 20],
        pad: vec![0; 100],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(data.len());
    let (first, second) = data.split_at(split);
    let mut out = Vec::new();
    let mut r = Receiver::new(secrets(), CryptoSet::BOTH);
    let mut lookup = |_: &[u8; 20]| Some(TORRENT);
    for part in [first, second] {
        match r.receive(part, &mut out, &mut lookup) {
            Ok(Some(done)) => {
                assert!(done.payload.len() <= data.len());
                break;
            }
            Ok(None) => {}
            Err(_) => break,
        }
    }
    assert!(out.len() <= KEY_LEN + MAX_PAD + 14);
    out.clear();
    let mut i = Initiator::new(secrets(), TORRENT, CryptoSet::BOTH, vec![1; 68], &mut out);
    for part in [first, second] {
        match i.receive(part, &mut out) {
            Ok(Some(done)) => {
                assert!(done.payload.len() <= data.len());
                break;
            }
            Ok(None) => {}
            Err(_) => break,
        }
    }
    assert!(out.len() <= KEY_LEN + MAX_PAD + 40 + 16 + MAX_IA_LEN);
});
