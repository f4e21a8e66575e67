//! `dht::krpc::Message::decode` (BEP 5 KRPC with BEP 32/42/43 fields) on arbitrary bytes.
//!
//! Invariants: a datagram that decodes keeps every field within its bound
//! (transaction id, token, node and peer counts); encoding what was decoded
//! and decoding that again gives the same message; a decoding error names
//! a transaction id only within the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::dht::krpc::{
    Body, MAX_NODES, MAX_TOKEN_BYTES, MAX_TRANSACTION_ID_BYTES, MAX_VALUES, Message, QueryKind,
};

fuzz_target!(|data: &[u8]| {
    let msg = match Message::decode(data) {
        Ok(m) => m,
        Err(e) => {
            if let Some(t) = &e.transaction_id {
                assert!(!t.is_empty() && t.len() <= MAX_TRANSACTION_ID_BYTES);
            }
            return;
        }
    };
    assert!(!msg.transaction_id.is_empty() && msg.transaction_id.len() <= MAX_TRANSACTION_ID_BYTES);
    match &msg.body {
        Body::Response(r) => {
            assert!(r.nodes.len() <= MAX_NODES && r.nodes6.len() <= MAX_NODES);
            assert!(r.values.len() <= MAX_VALUES);
            assert!(r.token.as_ref().is_none_or(|t| t.len() <= MAX_TOKEN_BYTES));
        }
        Body::Query(q) => {
            if let QueryKind::AnnouncePeer { port, implied_port, token, .. } = &q.kind {
                assert!(*implied_port || *port != 0);
                assert!(token.len() <= MAX_TOKEN_BYTES);
            }
        }
        Body::Error(_) => {}
    }
    let bytes = msg.encode();
    let again = Message::decode(&bytes).expect("our own encoding decodes");
    assert_eq!(again, msg, "decode(encode(m)) != m");
    assert_eq!(again.encode(), bytes, "encoding is not stable");
});
