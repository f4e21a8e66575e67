//! BEP 10 extension handshake and BEP 9 ut_metadata tests.

use std::collections::BTreeMap;

use super::super::{
    ExtHandshake, MAX_EXTENSIONS, MAX_METADATA_SIZE, METADATA_PIECE_LEN, MetadataMsg, UT_METADATA,
    WireError,
};

fn full_handshake() -> ExtHandshake {
    ExtHandshake {
        m: BTreeMap::from([(UT_METADATA.to_owned(), 3), ("ut_pex".to_owned(), 1)]),
        metadata_size: Some(31235),
        client: Some("p2p 0.1.0".into()),
        listen_port: Some(6881),
        reqq: Some(250),
        yourip: Some(vec![127, 0, 0, 1]),
    }
}

#[test]
fn an_extension_handshake_round_trips() {
    for h in [ExtHandshake::default(), full_handshake()] {
        assert_eq!(ExtHandshake::decode(&h.encode()), Ok(h));
    }
}

#[test]
fn an_empty_extension_handshake_still_carries_an_m_dictionary() {
    assert_eq!(ExtHandshake::default().encode(), b"d1:mdee");
}

#[test]
fn a_real_clients_handshake_decodes_and_unknown_keys_are_ignored() {
    let payload = b"d1:ei0e1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5000e\
                    1:pi51413e4:reqqi500e1:v12:qBittorrent/6:yourip4:\x0a\x00\x00\x01\
                    12:complete_agoi-1ee";
    let h = ExtHandshake::decode(payload).unwrap();
    assert_eq!(h.m.get(UT_METADATA), Some(&2));
    assert_eq!(h.m.get("ut_pex"), Some(&1));
    assert_eq!(h.metadata_size, Some(5000));
    assert_eq!(h.listen_port, Some(51413));
    assert_eq!(h.reqq, Some(500));
    assert_eq!(h.client.as_deref(), Some("qBittorrent/"));
    assert_eq!(h.yourip, Some(vec![10, 0, 0, 1]));
}

#[test]
fn extensions_with_id_zero_are_disabled_and_left_out() {
    let h = ExtHandshake::decode(b"d1:md11:ut_metadatai0e6:ut_pexi1eee").unwrap();
    assert_eq!(h.m, BTreeMap::from([("ut_pex".to_owned(), 1)]));
}

#[test]
fn bad_optional_values_are_ignored() {
    let payload = b"d1:md1:ai256e1:bi-1e1:c3:str1:di7ee13:metadata_size3:abc\
                    1:pi70000e4:reqqi-5e1:vi3e6:yourip3:abce";
    let h = ExtHandshake::decode(payload).unwrap();
    assert_eq!(h.m, BTreeMap::from([("d".to_owned(), 7)]));
    assert_eq!(
        h,
        ExtHandshake {
            m: h.m.clone(),
            ..Default::default()
        }
    );
    let h = ExtHandshake::decode(b"d1:m4:nope13:metadata_sizei99999999999ee").unwrap();
    assert_eq!(h, ExtHandshake::default());
}

#[test]
fn an_extension_handshake_that_is_not_a_dictionary_is_refused() {
    assert_eq!(
        ExtHandshake::decode(b"li1ee"),
        Err(WireError::NotADictionary {
            what: "extension handshake",
            found: "list"
        })
    );
}

#[test]
fn an_extension_handshake_that_is_not_bencode_is_refused() {
    assert!(matches!(
        ExtHandshake::decode(b"d1:m"),
        Err(WireError::BadBencode {
            what: "extension handshake",
            ..
        })
    ));
    assert!(matches!(
        ExtHandshake::decode(b""),
        Err(WireError::BadBencode { .. })
    ));
}

#[test]
fn an_extension_handshake_with_too_many_extensions_is_refused() {
    let mut h = ExtHandshake::default();
    for i in 0..=MAX_EXTENSIONS {
        h.m.insert(format!("ext_{i:03}"), 1);
    }
    assert_eq!(
        ExtHandshake::decode(&h.encode()),
        Err(WireError::TooManyExtensions {
            count: MAX_EXTENSIONS + 1,
            max: MAX_EXTENSIONS
        })
    );
    h.m.remove("ext_000");
    assert_eq!(ExtHandshake::decode(&h.encode()), Ok(h));
}

#[test]
fn every_metadata_message_round_trips() {
    let data = vec![7u8; METADATA_PIECE_LEN];
    let msgs = [
        MetadataMsg::Request { piece: 0 },
        MetadataMsg::Reject { piece: u32::MAX },
        MetadataMsg::Data {
            piece: 2,
            total_size: 40000,
            data: &data,
        },
        MetadataMsg::Data {
            piece: 0,
            total_size: 5,
            data: b"d1:xe",
        },
    ];
    for msg in msgs {
        assert_eq!(MetadataMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn a_metadata_request_is_encoded_as_bep_9_shows() {
    assert_eq!(
        MetadataMsg::Request { piece: 0 }.encode(),
        b"d8:msg_typei0e5:piecei0ee"
    );
    let data = MetadataMsg::Data {
        piece: 0,
        total_size: 3425,
        data: b"xyz",
    };
    assert_eq!(
        data.encode(),
        b"d8:msg_typei1e5:piecei0e10:total_sizei3425eexyz"
    );
}

#[test]
fn metadata_data_longer_than_one_piece_is_refused() {
    let mut payload = b"d8:msg_typei1e5:piecei0e10:total_sizei99999ee".to_vec();
    payload.resize(payload.len() + METADATA_PIECE_LEN + 1, 0);
    assert_eq!(
        MetadataMsg::decode(&payload),
        Err(WireError::MetadataPieceTooLong {
            len: METADATA_PIECE_LEN + 1,
            max: METADATA_PIECE_LEN
        })
    );
}

#[test]
fn an_unknown_metadata_msg_type_is_refused() {
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei3e5:piecei0ee"),
        Err(WireError::UnknownMetadataMsgType(3))
    );
}

#[test]
fn metadata_messages_missing_a_field_name_it() {
    assert_eq!(
        MetadataMsg::decode(b"d5:piecei0ee"),
        Err(WireError::MissingField { field: "msg_type" })
    );
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei0ee"),
        Err(WireError::MissingField { field: "piece" })
    );
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei1e5:piecei0eexyz"),
        Err(WireError::MissingField {
            field: "total_size"
        })
    );
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_type1:05:piecei0ee"),
        Err(WireError::MissingField { field: "msg_type" })
    );
}

#[test]
fn metadata_fields_out_of_range_are_refused_with_their_value() {
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei0e5:piecei-1ee"),
        Err(WireError::FieldOutOfRange {
            field: "piece",
            value: -1
        })
    );
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei0e5:piecei4294967296ee"),
        Err(WireError::FieldOutOfRange {
            field: "piece",
            value: 1 << 32
        })
    );
    let too_big = MAX_METADATA_SIZE as i64 + 1;
    let payload = format!("d8:msg_typei1e5:piecei0e10:total_sizei{too_big}ee");
    assert_eq!(
        MetadataMsg::decode(payload.as_bytes()),
        Err(WireError::FieldOutOfRange {
            field: "total_size",
            value: too_big
        })
    );
}

#[test]
fn a_metadata_header_that_is_not_a_dictionary_or_not_bencode_is_refused() {
    assert_eq!(
        MetadataMsg::decode(b"i1e"),
        Err(WireError::NotADictionary {
            what: "ut_metadata message",
            found: "integer"
        })
    );
    assert!(matches!(
        MetadataMsg::decode(b"d8:msg_type"),
        Err(WireError::BadBencode { .. })
    ));
}

#[test]
fn unknown_header_keys_and_bytes_after_a_request_are_ignored() {
    assert_eq!(
        MetadataMsg::decode(b"d8:msg_typei2e5:piecei4e4:zzzzli1eeetrailing"),
        Ok(MetadataMsg::Reject { piece: 4 })
    );
}
