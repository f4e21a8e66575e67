//! Handshake and peer id tests.

use super::super::{Decoded, HANDSHAKE_LEN, Handshake, PeerId, WireError};
use crate::infohash::InfoHash;

fn sample() -> Handshake {
    Handshake::new(InfoHash([0xaa; 20]), PeerId::generate(*b"abcdefghijkl"))
}

#[test]
fn a_handshake_round_trips_through_its_68_bytes() {
    let h = sample();
    let bytes = h.to_bytes();
    assert_eq!(bytes.len(), HANDSHAKE_LEN);
    assert_eq!(&bytes[..20], b"\x13BitTorrent protocol");
    assert_eq!(Handshake::decode(&bytes), Ok(Decoded::Done(h, 68)));
}

#[test]
fn our_handshake_advertises_fast_and_extensions() {
    let h = sample();
    assert_eq!(h.reserved, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    assert!(h.supports_fast());
    assert!(h.supports_extensions());
    let plain = Handshake {
        reserved: [0; 8],
        ..h
    };
    assert!(!plain.supports_fast());
    assert!(!plain.supports_extensions());
    assert!(!h.supports_dht());
}

#[test]
fn the_dht_bit_is_the_last_bit_of_byte_7_beside_fast() {
    let h = sample().with_dht();
    assert_eq!(h.reserved, [0, 0, 0, 0, 0, 0x10, 0, 0x05]);
    assert!(h.supports_dht() && h.supports_fast() && h.supports_extensions());
    assert_eq!(h.to_bytes()[27], 0x05);
}

#[test]
fn every_prefix_of_a_handshake_needs_more() {
    let bytes = sample().to_bytes();
    for cut in 0..HANDSHAKE_LEN {
        assert_eq!(
            Handshake::decode(&bytes[..cut]),
            Ok(Decoded::NeedMore(HANDSHAKE_LEN - cut))
        );
    }
}

#[test]
fn the_info_hash_is_available_after_48_bytes() {
    let h = sample();
    let bytes = h.to_bytes();
    for cut in 0..48 {
        assert_eq!(
            Handshake::decode_info_hash(&bytes[..cut]),
            Ok(Decoded::NeedMore(48 - cut))
        );
    }
    for cut in 48..=68 {
        assert_eq!(
            Handshake::decode_info_hash(&bytes[..cut]),
            Ok(Decoded::Done((h.reserved, h.info_hash), 48))
        );
    }
}

#[test]
fn bytes_after_the_handshake_are_left_for_the_message_decoder() {
    let mut bytes = sample().to_bytes().to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 1, 2]);
    assert!(matches!(
        Handshake::decode(&bytes),
        Ok(Decoded::Done(_, 68))
    ));
}

#[test]
fn a_wrong_protocol_length_is_refused_on_the_first_byte() {
    let err = Handshake::decode(b"G").unwrap_err();
    assert_eq!(
        err,
        WireError::BadProtocol {
            pstrlen: b'G',
            pstr: String::new()
        }
    );
    assert!(matches!(
        Handshake::decode_info_hash(b"GET / HTTP/1.1\r\n"),
        Err(WireError::BadProtocol { pstrlen: b'G', .. })
    ));
}

#[test]
fn a_wrong_protocol_string_is_refused_at_its_first_wrong_byte() {
    let err = Handshake::decode(b"\x13BitTorrent protx").unwrap_err();
    assert_eq!(
        err,
        WireError::BadProtocol {
            pstrlen: 19,
            pstr: "BitTorrent protx".into()
        }
    );
    let mut bytes = sample().to_bytes();
    bytes[19] = b'L';
    assert!(matches!(
        Handshake::decode(&bytes),
        Err(WireError::BadProtocol { pstrlen: 19, .. })
    ));
    assert!(err.to_string().contains("BitTorrent protx"), "{err}");
}

#[test]
fn our_peer_id_is_the_client_prefix_and_the_given_random_bytes() {
    let id = PeerId::generate([0xab; 12]);
    assert_eq!(&id.0[..8], b"-P20010-");
    assert_eq!(&id.0[8..], &[0xab; 12]);
}

#[test]
fn a_peer_id_shows_its_client_prefix_as_text_and_the_rest_as_hex() {
    let id = PeerId::generate([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff]);
    assert_eq!(id.to_string(), "-P20010-000102030405060708090aff");
    assert_eq!(
        format!("{id:?}"),
        "PeerId(-P20010-000102030405060708090aff)"
    );
}

#[test]
fn a_printable_peer_id_shows_as_text_and_a_binary_one_as_hex() {
    assert_eq!(
        PeerId(*b"-qB4250-abcdefghijkl").to_string(),
        "-qB4250-abcdefghijkl"
    );
    assert_eq!(PeerId([0; 20]).to_string(), "0".repeat(40));
}
