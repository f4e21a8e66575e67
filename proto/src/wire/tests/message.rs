//! Peer message tests: one example of every message, framing errors.

use super::super::{
    BlockRef, DEFAULT_MAX_MESSAGE_LEN, Decoded, MAX_REQUEST_LEN, Message, PIECE_HEADER_LEN,
    WireError, decode_piece_header, encode_piece_header,
};
use super::{assert_every_split_needs_more_then_decodes, encoded};

const BLOCK: BlockRef = BlockRef {
    index: 7,
    begin: 16384,
    length: 16384,
};

fn samples() -> Vec<Message<'static>> {
    vec![
        Message::KeepAlive,
        Message::Choke,
        Message::Unchoke,
        Message::Interested,
        Message::NotInterested,
        Message::Have(0x0102_0304),
        Message::Bitfield(&[0xff, 0x80]),
        Message::Bitfield(&[]),
        Message::Request(BLOCK),
        Message::Piece {
            index: 1,
            begin: 2,
            data: b"hello",
        },
        Message::Piece {
            index: 1,
            begin: 0,
            data: &[],
        },
        Message::Cancel(BLOCK),
        Message::Port(6881),
        Message::Suggest(9),
        Message::HaveAll,
        Message::HaveNone,
        Message::Reject(BLOCK),
        Message::AllowedFast(u32::MAX),
        Message::Extended {
            id: 0,
            payload: b"d1:md11:ut_metadatai3eee",
        },
        Message::Extended {
            id: 3,
            payload: &[],
        },
        Message::Unknown {
            id: 10,
            payload: b"xyz",
        },
        Message::Unknown {
            id: 255,
            payload: &[],
        },
    ]
}

/// A frame: 4-byte big-endian length, then the bytes after it.
fn frame(len: u32, rest: &[u8]) -> Vec<u8> {
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(rest);
    out
}

#[test]
fn every_message_round_trips_and_encoded_len_is_exact() {
    for msg in samples() {
        let buf = encoded(&msg);
        assert_eq!(buf.len(), msg.encoded_len(), "{msg:?}");
        assert_eq!(
            Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN),
            Ok(Decoded::Done(msg.clone(), buf.len()))
        );
    }
}

#[test]
fn every_prefix_of_every_message_needs_more_and_the_whole_uses_every_byte() {
    for msg in samples() {
        assert_every_split_needs_more_then_decodes(&encoded(&msg), &msg);
    }
}

#[test]
fn messages_back_to_back_decode_in_sequence() {
    let all = samples();
    let mut buf = Vec::new();
    for msg in &all {
        msg.encode(&mut buf);
    }
    buf.extend_from_slice(&[0, 0, 0, 5, 4]); // a partial `have` at the end
    let mut at = 0;
    let mut got = Vec::new();
    loop {
        match Message::decode(&buf[at..], DEFAULT_MAX_MESSAGE_LEN).unwrap() {
            Decoded::Done(msg, used) => {
                got.push(msg);
                at += used;
            }
            Decoded::NeedMore(n) => {
                assert_eq!(n, 4);
                break;
            }
        }
    }
    assert_eq!(got, all);
    assert_eq!(at, buf.len() - 5);
}

#[test]
fn encode_appends_without_clearing_the_buffer() {
    let mut out = b"old".to_vec();
    Message::Have(1).encode(&mut out);
    assert_eq!(out, b"old\x00\x00\x00\x05\x04\x00\x00\x00\x01");
}

#[test]
fn keep_alive_is_four_zero_bytes_and_uses_exactly_four() {
    assert_eq!(encoded(&Message::KeepAlive), [0, 0, 0, 0]);
    assert_eq!(
        Message::decode(&[0, 0, 0, 0, 0, 0], DEFAULT_MAX_MESSAGE_LEN),
        Ok(Decoded::Done(Message::KeepAlive, 4))
    );
}

#[test]
fn the_wire_bytes_of_a_request_are_as_bep_3_lays_them_out() {
    let buf = encoded(&Message::Request(BlockRef {
        index: 1,
        begin: 2,
        length: 3,
    }));
    assert_eq!(buf, [0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
}

#[test]
fn the_wire_bytes_of_a_port_are_as_bep_5_lays_them_out() {
    let buf = encoded(&Message::Port(0x1ae1));
    assert_eq!(buf, [0, 0, 0, 3, 9, 0x1a, 0xe1]);
    assert_eq!(
        Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN),
        Ok(Decoded::Done(Message::Port(6881), 7))
    );
}

#[test]
fn a_length_above_the_cap_is_refused_from_the_prefix_alone() {
    let buf = frame(101, &[]);
    assert_eq!(
        Message::decode(&buf, 100),
        Err(WireError::MessageTooLong { len: 101, max: 100 })
    );
    assert_eq!(
        Message::decode(&frame(u32::MAX, &[7]), DEFAULT_MAX_MESSAGE_LEN),
        Err(WireError::MessageTooLong {
            len: u32::MAX,
            max: DEFAULT_MAX_MESSAGE_LEN
        })
    );
}

#[test]
fn a_length_exactly_at_the_cap_is_accepted() {
    let payload = vec![0xab; 99];
    let msg = Message::Unknown {
        id: 200,
        payload: &payload,
    };
    let buf = encoded(&msg);
    assert_eq!(
        Message::decode(&buf, 100),
        Ok(Decoded::Done(msg.clone(), 104))
    );
}

#[test]
fn the_default_cap_fits_the_largest_bitfield_and_a_max_size_piece() {
    let bitfield_len = 1 + (64usize << 20) / 20 / 8 + 1;
    assert!(bitfield_len <= DEFAULT_MAX_MESSAGE_LEN);
    assert!(9 + MAX_REQUEST_LEN as usize <= DEFAULT_MAX_MESSAGE_LEN);
}

#[test]
fn each_fixed_size_message_with_the_wrong_length_is_refused_once_its_id_arrives() {
    // (id, the one right length)
    let fixed: [(u8, u32); 13] = [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 5),
        (6, 13),
        (8, 13),
        (9, 3),
        (13, 5),
        (14, 1),
        (15, 1),
        (16, 13),
        (17, 5),
    ];
    for (id, right) in fixed {
        for len in [right - 1, right + 1, right + 100] {
            if len == 0 {
                continue; // a keep-alive
            }
            let want = Err(WireError::BadLength { id, len });
            assert_eq!(Message::decode(&frame(len, &[id]), 1000), want, "id {id}");
            let mut whole = frame(len, &[id]);
            whole.resize(4 + len as usize, 0);
            assert_eq!(Message::decode(&whole, 1000), want, "id {id} whole");
        }
    }
}

#[test]
fn a_piece_shorter_than_nine_bytes_is_a_bad_length() {
    for len in 1..9 {
        let mut buf = frame(len, &[7]);
        buf.resize(4 + len as usize, 0);
        assert_eq!(
            Message::decode(&buf, 1000),
            Err(WireError::BadLength { id: 7, len })
        );
    }
}

#[test]
fn an_extended_message_without_its_extended_id_is_a_bad_length() {
    assert_eq!(
        Message::decode(&frame(1, &[20]), 1000),
        Err(WireError::BadLength { id: 20, len: 1 })
    );
}

#[test]
fn a_request_for_zero_or_too_many_bytes_still_decodes_for_the_engine_to_judge() {
    for length in [0, MAX_REQUEST_LEN + 1, u32::MAX] {
        let msg = Message::Request(BlockRef {
            index: 0,
            begin: 0,
            length,
        });
        assert_every_split_needs_more_then_decodes(&encoded(&msg), &msg);
    }
}

#[test]
fn unknown_ids_decode_as_unknown_with_their_payload() {
    for id in [10u8, 11, 12, 18, 19, 21, 100, 255] {
        let buf = frame(4, &[id, 1, 2, 3]);
        assert_eq!(
            Message::decode(&buf, 1000),
            Ok(Decoded::Done(
                Message::Unknown {
                    id,
                    payload: &[1, 2, 3]
                },
                8
            ))
        );
    }
}

#[test]
fn decoded_data_borrows_from_the_input_buffer() {
    let buf = encoded(&Message::Piece {
        index: 0,
        begin: 0,
        data: b"abcd",
    });
    let Ok(Decoded::Done(Message::Piece { data, .. }, _)) =
        Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN)
    else {
        panic!("not a piece");
    };
    assert!(std::ptr::eq(data.as_ptr(), buf[13..].as_ptr()));
}

#[test]
fn a_piece_header_plus_the_data_equals_the_encoded_piece_message() {
    let data = b"file bytes";
    let mut out = Vec::new();
    encode_piece_header(4, 32768, data.len() as u32, &mut out);
    assert_eq!(out.len(), 13);
    out.extend_from_slice(data);
    let whole = encoded(&Message::Piece {
        index: 4,
        begin: 32768,
        data,
    });
    assert_eq!(out, whole);
}

#[test]
fn a_piece_header_names_its_block_once_all_thirteen_bytes_are_there() {
    let data = vec![9u8; 16384];
    let whole = encoded(&Message::Piece {
        index: 0x0102_0304,
        begin: 16384,
        data: &data,
    });
    assert_eq!(
        decode_piece_header(&whole),
        Some(BlockRef {
            index: 0x0102_0304,
            begin: 16384,
            length: 16384
        })
    );
    assert_eq!(
        decode_piece_header(&whole[..PIECE_HEADER_LEN]),
        decode_piece_header(&whole)
    );
    for cut in 0..PIECE_HEADER_LEN {
        assert_eq!(decode_piece_header(&whole[..cut]), None, "cut {cut}");
    }
    let empty = encoded(&Message::Piece {
        index: 1,
        begin: 0,
        data: &[],
    });
    assert_eq!(
        decode_piece_header(&empty),
        Some(BlockRef {
            index: 1,
            begin: 0,
            length: 0
        })
    );
}

#[test]
fn no_other_message_reads_as_a_piece_header() {
    for msg in samples() {
        if matches!(msg, Message::Piece { .. }) {
            continue;
        }
        // Padded, so every message has the thirteen bytes to look at.
        let mut buf = encoded(&msg);
        buf.resize(buf.len().max(PIECE_HEADER_LEN), 0);
        assert_eq!(decode_piece_header(&buf), None, "{msg:?}");
    }
    // Id 7 with a length too short for index and begin.
    let short = frame(8, &[7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0]);
    assert_eq!(decode_piece_header(&short), None);
}

#[test]
fn wire_errors_name_the_offending_values() {
    let err = WireError::BadLength { id: 4, len: 6 };
    assert_eq!(err.to_string(), "message id 4 cannot be 6 bytes long");
    let err = WireError::MessageTooLong { len: 9, max: 8 };
    assert!(err.to_string().contains('9') && err.to_string().contains('8'));
}
