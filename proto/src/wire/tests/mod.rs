//! Tests for the wire protocol: round trips, every split point of every
//! buffer, malformed input and property tests. Must not open sockets.

mod extension;
mod handshake;
mod message;
mod props;

use super::{DEFAULT_MAX_MESSAGE_LEN, Decoded, Message};

/// Decoding every strict prefix of `buf` asks for more bytes (never an
/// error, never a message, never more bytes than `buf` has), and the whole
/// of `buf` decodes to `expected` using every byte.
fn assert_every_split_needs_more_then_decodes(buf: &[u8], expected: &Message<'_>) {
    for cut in 0..buf.len() {
        match Message::decode(&buf[..cut], DEFAULT_MAX_MESSAGE_LEN) {
            Ok(Decoded::NeedMore(n)) => assert!(
                n >= 1 && cut + n <= buf.len(),
                "cut {cut} of {}: asked for {n} more",
                buf.len()
            ),
            other => panic!("cut {cut} of {expected:?}: {other:?}"),
        }
    }
    assert_eq!(
        Message::decode(buf, DEFAULT_MAX_MESSAGE_LEN),
        Ok(Decoded::Done(expected.clone(), buf.len()))
    );
}

/// Encodes into a fresh buffer.
fn encoded(msg: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    msg.encode(&mut out);
    out
}
