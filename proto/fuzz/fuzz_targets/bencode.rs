//! Bencode decoder on arbitrary bytes.
//!
//! Invariants checked when a decode succeeds:
//! - `value.raw` is the whole input, and every nested value's `raw` decodes
//!   on its own to that same value;
//! - `decode_prefix_with` agrees and reports the whole input as used;
//! - the owned value re-encodes to bytes that decode to the same owned value
//!   and re-encode to the same bytes (the encoder's output is canonical);
//! - the encoding is as long as the input (the decoder is strict, so only key
//!   order can differ), and equals the input exactly when every dictionary
//!   in the input has its keys in sorted order.
//!
//! When `decode` fails, `decode_prefix_with` may still succeed on a prefix;
//! then that prefix alone must decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::bencode::{Kind, Limits, OwnedValue, Value, decode, decode_prefix_with, encode};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let value = match decode(data) {
        Ok(v) => v,
        Err(_) => {
            if let Ok((prefix_value, used)) = decode_prefix_with(data, &limits) {
                assert!(
                    used < data.len(),
                    "prefix decode used all input but decode failed"
                );
                assert_eq!(prefix_value.raw, &data[..used]);
                let again = decode(&data[..used]).expect("decoded prefix does not decode alone");
                assert_eq!(again, prefix_value);
            }
            return;
        }
    };

    assert_eq!(value.raw, data, "top-level raw is not the whole input");
    let (prefix_value, used) =
        decode_prefix_with(data, &limits).expect("decode ok but decode_prefix_with failed");
    assert_eq!(used, data.len());
    assert_eq!(prefix_value, value);

    check_raw_spans(&value);

    let owned = OwnedValue::from(&value);
    let encoded = encode(&owned);
    let redecoded = decode(&encoded).expect("re-encoded value does not decode");
    assert_eq!(
        OwnedValue::from(&redecoded),
        owned,
        "decode(encode(v)) != v"
    );
    assert_eq!(
        encode(&OwnedValue::from(&redecoded)),
        encoded,
        "encoding is not canonical"
    );
    assert!(
        sorted_everywhere(&redecoded),
        "encoder wrote an unsorted dictionary"
    );

    assert_eq!(encoded.len(), data.len(), "re-encoding changed the length");
    if sorted_everywhere(&value) {
        assert_eq!(encoded, data, "sorted input does not re-encode to itself");
    } else {
        assert_ne!(encoded, data, "unsorted input re-encoded to itself");
    }
});

/// Every nested value's raw bytes decode alone to the same value.
fn check_raw_spans(v: &Value<'_>) {
    match &v.kind {
        Kind::Int(_) | Kind::Bytes(_) => {
            let alone = decode(v.raw).expect("a scalar's raw bytes do not decode alone");
            assert_eq!(&alone, v);
        }
        Kind::List(items) => {
            for item in items {
                check_raw_spans(item);
            }
        }
        Kind::Dict(entries) => {
            for (_, item) in entries {
                check_raw_spans(item);
            }
        }
    }
    // Containers: check the span once, at this level (children were checked
    // above), so the total work stays linear in depth times size.
    if matches!(v.kind, Kind::List(_) | Kind::Dict(_)) {
        let alone = decode(v.raw).expect("a container's raw bytes do not decode alone");
        assert_eq!(&alone, v);
    }
}

/// Whether every dictionary in the tree lists its keys in strictly increasing order.
fn sorted_everywhere(v: &Value<'_>) -> bool {
    match &v.kind {
        Kind::Int(_) | Kind::Bytes(_) => true,
        Kind::List(items) => items.iter().all(sorted_everywhere),
        Kind::Dict(entries) => {
            entries.windows(2).all(|w| w[0].0 < w[1].0)
                && entries.iter().all(|(_, v)| sorted_everywhere(v))
        }
    }
}
