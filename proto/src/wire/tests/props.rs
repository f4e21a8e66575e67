//! Property tests: hostile bytes never panic, arbitrary messages round trip
//! and survive being split anywhere.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::super::{
    BlockRef, DEFAULT_MAX_MESSAGE_LEN, Decoded, ExtHandshake, Handshake, MAX_METADATA_SIZE,
    METADATA_PIECE_LEN, Message, MetadataMsg, PIECE_HEADER_LEN, decode_piece_header,
};
use super::{assert_every_split_needs_more_then_decodes, encoded};

/// Message ids this module knows (anything else decodes as `Unknown`).
const KNOWN_IDS: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20];

/// The owned parts of an arbitrary message: (variant, numbers, id, bytes).
type Parts = (u8, [u32; 3], u16, u8, Vec<u8>);

fn parts() -> impl Strategy<Value = Parts> {
    (
        0u8..19,
        any::<[u32; 3]>(),
        any::<u16>(),
        any::<u8>().prop_filter("unknown ids only", |id| !KNOWN_IDS.contains(id)),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
}

fn build(p: &Parts) -> Message<'_> {
    let (variant, [a, b, c], port, unknown_id, bytes) = p;
    let block = BlockRef {
        index: *a,
        begin: *b,
        length: *c,
    };
    match variant {
        0 => Message::KeepAlive,
        1 => Message::Choke,
        2 => Message::Unchoke,
        3 => Message::Interested,
        4 => Message::NotInterested,
        5 => Message::Have(*a),
        6 => Message::Bitfield(bytes),
        7 => Message::Request(block),
        8 => Message::Piece {
            index: *a,
            begin: *b,
            data: bytes,
        },
        9 => Message::Cancel(block),
        10 => Message::Port(*port),
        11 => Message::Suggest(*a),
        12 => Message::HaveAll,
        13 => Message::HaveNone,
        14 => Message::Reject(block),
        15 => Message::AllowedFast(*a),
        16 => Message::Extended {
            id: *port as u8,
            payload: bytes,
        },
        _ => Message::Unknown {
            id: *unknown_id,
            payload: bytes,
        },
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        max in 0usize..300,
    ) {
        for cap in [max, DEFAULT_MAX_MESSAGE_LEN] {
            match Message::decode(&bytes, cap) {
                Ok(Decoded::Done(_, used)) => prop_assert!(used >= 4 && used <= bytes.len()),
                Ok(Decoded::NeedMore(n)) => prop_assert!(n >= 1),
                Err(_) => {}
            }
        }
        let _ = Handshake::decode(&bytes);
        let _ = Handshake::decode_info_hash(&bytes);
        let _ = ExtHandshake::decode(&bytes);
        let _ = MetadataMsg::decode(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_length_prefix_never_panic(
        id in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut buf = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        buf.push(id);
        buf.extend_from_slice(&body);
        if let Ok(Decoded::Done(msg, used)) = Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN) {
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(encoded(&msg), buf);
        }
    }

    #[test]
    fn a_piece_header_read_from_arbitrary_bytes_agrees_with_the_full_decoder(
        id in prop_oneof![Just(7u8), any::<u8>()],
        len in prop_oneof![0u32..40, any::<u32>()],
        body in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut buf = len.to_be_bytes().to_vec();
        buf.push(id);
        buf.extend_from_slice(&body);
        let Some(b) = decode_piece_header(&buf) else {
            return Ok(());
        };
        prop_assert!(buf.len() >= PIECE_HEADER_LEN);
        match Message::decode(&buf, usize::MAX) {
            Ok(Decoded::Done(Message::Piece { index, begin, data }, _)) => {
                prop_assert_eq!((index, begin, data.len()), (b.index, b.begin, b.length as usize));
            }
            Ok(Decoded::NeedMore(n)) => {
                prop_assert_eq!(buf.len() + n, PIECE_HEADER_LEN + b.length as usize);
            }
            other => prop_assert!(false, "header {b:?} but decode gave {other:?}"),
        }
    }

    #[test]
    fn arbitrary_messages_round_trip_at_every_split_point(p in parts()) {
        let msg = build(&p);
        let buf = encoded(&msg);
        prop_assert_eq!(buf.len(), msg.encoded_len());
        assert_every_split_needs_more_then_decodes(&buf, &msg);
    }

    #[test]
    fn arbitrary_message_sequences_decode_back_in_order(ps in proptest::collection::vec(parts(), 0..12)) {
        let msgs: Vec<Message<'_>> = ps.iter().map(build).collect();
        let mut buf = Vec::new();
        for m in &msgs {
            m.encode(&mut buf);
        }
        let mut at = 0;
        let mut got = Vec::new();
        while let Decoded::Done(m, used) = Message::decode(&buf[at..], DEFAULT_MAX_MESSAGE_LEN).unwrap() {
            got.push(m);
            at += used;
        }
        prop_assert_eq!(at, buf.len());
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn arbitrary_extension_handshakes_round_trip(
        m in proptest::collection::btree_map("[a-z_]{1,12}", 1u8..=255, 0..10),
        metadata_size in proptest::option::of(1..=MAX_METADATA_SIZE),
        client in proptest::option::of(".{0,20}"),
        listen_port in proptest::option::of(1u16..),
        reqq in proptest::option::of(1u32..),
        yourip in proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 4),
            proptest::collection::vec(any::<u8>(), 16),
        ]),
    ) {
        let h = ExtHandshake { m: BTreeMap::from_iter(m), metadata_size, client, listen_port, reqq, yourip };
        prop_assert_eq!(ExtHandshake::decode(&h.encode()), Ok(h));
    }

    #[test]
    fn arbitrary_metadata_messages_round_trip(
        kind in 0u8..3,
        piece in any::<u32>(),
        total_size in 0..=MAX_METADATA_SIZE,
        data in proptest::collection::vec(any::<u8>(), 0..=METADATA_PIECE_LEN),
    ) {
        let msg = match kind {
            0 => MetadataMsg::Request { piece },
            1 => MetadataMsg::Reject { piece },
            _ => MetadataMsg::Data { piece, total_size, data: &data },
        };
        let payload = msg.encode();
        prop_assert_eq!(MetadataMsg::decode(&payload), Ok(msg));
    }
}
