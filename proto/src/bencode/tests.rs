use proptest::prelude::*;

use super::*;

fn kind_of(input: &[u8]) -> DecodeErrorKind {
    decode(input).expect_err("input must be rejected").kind
}

#[test]
fn decodes_each_type_and_keeps_raw_spans() {
    let input = b"d3:bari-42e3:fool4:spami0eee";
    let v = decode(input).expect("valid");
    assert_eq!(v.raw, input);
    assert_eq!(v.get("bar").and_then(Value::as_int), Some(-42));
    let foo = v.get("foo").expect("foo");
    assert_eq!(foo.raw, b"l4:spami0ee");
    let items = foo.as_list().expect("list");
    assert_eq!(items[0].as_bytes(), Some(&b"spam"[..]));
    assert_eq!(items[1].raw, b"i0e");
}

#[test]
fn unsorted_keys_are_accepted_and_their_raw_bytes_kept() {
    let input = b"d1:zi1e1:ai2ee";
    let v = decode(input).expect("unsorted keys are legal in the wild");
    assert_eq!(v.raw, input);
    // Re-encoding sorts, which is why the info-hash must use `raw`.
    assert_eq!(encode(&OwnedValue::from(&v)), b"d1:ai2e1:zi1ee");
}

#[test]
fn integers_with_leading_zeros_or_negative_zero_are_rejected() {
    assert_eq!(
        kind_of(b"i03e"),
        DecodeErrorKind::BadInteger("leading zero")
    );
    assert_eq!(
        kind_of(b"i-0e"),
        DecodeErrorKind::BadInteger("negative zero")
    );
    assert_eq!(
        kind_of(b"i-03e"),
        DecodeErrorKind::BadInteger("leading zero")
    );
    assert_eq!(kind_of(b"ie"), DecodeErrorKind::BadInteger("no digits"));
    assert_eq!(kind_of(b"i-e"), DecodeErrorKind::BadInteger("no digits"));
    assert_eq!(
        kind_of(b"i1x2e"),
        DecodeErrorKind::BadInteger("not a decimal number")
    );
    assert_eq!(
        kind_of(b"i+1e"),
        DecodeErrorKind::BadInteger("not a decimal number")
    );
}

#[test]
fn integers_beyond_64_bits_are_rejected() {
    assert_eq!(
        decode(b"i9223372036854775807e").unwrap().as_int(),
        Some(i64::MAX)
    );
    assert_eq!(
        decode(b"i-9223372036854775808e").unwrap().as_int(),
        Some(i64::MIN)
    );
    assert_eq!(
        kind_of(b"i9223372036854775808e"),
        DecodeErrorKind::BadInteger("out of the 64-bit range")
    );
    assert_eq!(
        kind_of(b"i12345678901234567890123e"),
        DecodeErrorKind::BadInteger("more than 20 digits")
    );
}

#[test]
fn string_lengths_are_checked_before_use() {
    assert_eq!(
        kind_of(b"5:abc"),
        DecodeErrorKind::StringPastEnd {
            len: 5,
            available: 3
        }
    );
    assert_eq!(kind_of(b"05:abcde"), DecodeErrorKind::BadLength);
    assert_eq!(
        kind_of(b"99999999999999999999999:a"),
        DecodeErrorKind::BadLength
    );
    let limits = Limits {
        max_string_bytes: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode_with(b"5:abcde", &limits).unwrap_err().kind,
        DecodeErrorKind::StringTooLong { len: 5, max: 4 }
    );
}

#[test]
fn nesting_is_capped() {
    let deep = format!("{}{}", "l".repeat(65), "e".repeat(65));
    assert_eq!(
        kind_of(deep.as_bytes()),
        DecodeErrorKind::TooDeep(DEFAULT_MAX_DEPTH)
    );
    let ok = format!("{}{}", "l".repeat(64), "e".repeat(64));
    assert!(decode(ok.as_bytes()).is_ok());
}

#[test]
fn item_count_is_capped() {
    let limits = Limits {
        max_items: 3,
        ..Limits::default()
    };
    assert_eq!(
        decode_with(b"li1ei2ei3ee", &limits).unwrap_err().kind,
        DecodeErrorKind::TooManyItems(3)
    );
}

#[test]
fn structural_errors_are_named() {
    assert_eq!(kind_of(b""), DecodeErrorKind::UnexpectedEnd);
    assert_eq!(kind_of(b"l"), DecodeErrorKind::UnexpectedEnd);
    assert_eq!(kind_of(b"d3:foo"), DecodeErrorKind::UnexpectedEnd);
    assert_eq!(kind_of(b"i1ei2e"), DecodeErrorKind::TrailingBytes);
    assert_eq!(kind_of(b"x"), DecodeErrorKind::UnexpectedByte(b'x'));
    assert_eq!(kind_of(b"di1ei2ee"), DecodeErrorKind::KeyNotString);
    assert_eq!(
        kind_of(b"d1:ai1e1:ai2ee"),
        DecodeErrorKind::DuplicateKey("a".into())
    );
    assert_eq!(
        kind_of(b"d1:bi1e1:ai2e1:bi3ee"),
        DecodeErrorKind::DuplicateKey("b".into())
    );
}

#[test]
fn error_offsets_point_at_the_problem() {
    let err = decode(b"li1ei01ee").unwrap_err();
    assert_eq!(err.offset, 5);
    assert_eq!(
        err.to_string(),
        "invalid bencode at byte 5: bad integer: leading zero"
    );
}

#[test]
fn prefix_decoding_reports_bytes_used() {
    let (v, used) = decode_prefix_with(b"d1:ai1ee<raw data>", &Limits::default()).unwrap();
    assert_eq!(used, 8);
    assert_eq!(v.get("a").and_then(Value::as_int), Some(1));
}

fn owned_value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(OwnedValue::Int),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(OwnedValue::Bytes),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(OwnedValue::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..8),
                inner,
                0..8
            )
            .prop_map(OwnedValue::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn encode_then_decode_gives_back_the_value(v in owned_value()) {
        let bytes = encode(&v);
        let decoded = decode(&bytes).expect("our own encoding decodes");
        prop_assert_eq!(decoded.raw, &bytes[..]);
        prop_assert_eq!(OwnedValue::from(&decoded), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn every_strict_prefix_of_a_valid_document_is_an_error(v in owned_value()) {
        let bytes = encode(&v);
        for cut in 0..bytes.len() {
            prop_assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
