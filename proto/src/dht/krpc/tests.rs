#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::*;

fn id(b: u8) -> NodeId {
    NodeId([b; 20])
}

fn round_trip(m: &Message) {
    let bytes = m.encode();
    assert_eq!(
        &Message::decode(&bytes).unwrap(),
        m,
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
}

#[test]
fn bep5_ping_example_decodes_and_encodes_byte_for_byte() {
    let q = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    let m = Message::decode(q).unwrap();
    assert_eq!(m.transaction_id, b"aa");
    let Body::Query(query) = &m.body else {
        panic!("not a query")
    };
    assert_eq!(query.kind, QueryKind::Ping);
    assert_eq!(&query.id.0, b"abcdefghij0123456789");
    assert_eq!(m.encode(), q);

    let r = b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re";
    let m = Message::decode(r).unwrap();
    assert_eq!(m.encode(), r);
}

#[test]
fn bep5_get_peers_response_with_values_decodes() {
    let r = b"d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re";
    let m = Message::decode(r).unwrap();
    let Body::Response(resp) = &m.body else {
        panic!("not a response")
    };
    assert_eq!(resp.token.as_deref(), Some(&b"aoeusnth"[..]));
    assert_eq!(resp.values.len(), 2);
    assert_eq!(
        resp.values[0],
        "97.120.106.101:11893".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(m.encode(), r);
}

#[test]
fn bep5_error_example_decodes() {
    let e = b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
    let m = Message::decode(e).unwrap();
    assert_eq!(
        m.body,
        Body::Error(ErrorBody {
            code: ERROR_GENERIC,
            message: b"A Generic Error Ocurred".to_vec()
        })
    );
    assert_eq!(m.encode(), e);
}

#[test]
fn transaction_ids_of_two_and_sixteen_bytes_are_echoed_as_given() {
    for tid in [&b"\x00\x01"[..], &[7u8; 16][..], &b"x"[..]] {
        let m = Message::decode(&Message::query(tid, id(1), QueryKind::Ping).encode()).unwrap();
        assert_eq!(m.transaction_id, tid);
    }
}

#[test]
fn a_transaction_id_longer_than_the_limit_is_refused() {
    let m = Message::query(&[1u8; 17], id(1), QueryKind::Ping).encode();
    let err = Message::decode(&m).unwrap_err();
    assert_eq!(err.transaction_id, None);
    assert!(matches!(
        err.kind,
        DecodeErrorKind::BadLength {
            key: "t",
            len: 17,
            ..
        }
    ));
}

#[test]
fn every_query_round_trips() {
    let kinds = [
        QueryKind::Ping,
        QueryKind::FindNode { target: id(9) },
        QueryKind::GetPeers { info_hash: id(8) },
        QueryKind::AnnouncePeer {
            info_hash: id(8),
            port: 6881,
            implied_port: false,
            token: b"tok".to_vec(),
        },
        QueryKind::AnnouncePeer {
            info_hash: id(8),
            port: 0,
            implied_port: true,
            token: b"tok".to_vec(),
        },
        QueryKind::Unknown {
            method: b"sample_infohashes".to_vec(),
        },
    ];
    for kind in kinds {
        let mut m = Message::query(b"t1", id(1), kind);
        round_trip(&m);
        m.version = Some(b"P2\x00\x01".to_vec());
        m.read_only = true;
        if let Body::Query(q) = &mut m.body {
            q.want = Want { n4: true, n6: true };
        }
        round_trip(&m);
    }
}

#[test]
fn responses_with_nodes_nodes6_values_and_ip_round_trip() {
    let v4: SocketAddrV4 = "10.0.0.1:6881".parse().unwrap();
    let v6: SocketAddrV6 = "[2001:db8::1]:6882".parse().unwrap();
    let mut m = Message::response(
        b"\xff\xfe",
        Response {
            id: id(3),
            nodes: vec![(id(4), v4); 8],
            nodes6: vec![(id(5), v6); 8],
            values: vec![SocketAddr::V4(v4), SocketAddr::V6(v6)],
            token: Some(b"secret".to_vec()),
        },
    );
    m.ip = Some(SocketAddr::V6(v6));
    round_trip(&m);
}

#[test]
fn find_node_from_ipv6_wanting_n6_is_understood() {
    let q = b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n62:n4ee1:q9:find_node1:t2:xy1:y1:qe";
    let Body::Query(query) = Message::decode(q).unwrap().body else {
        panic!("not a query")
    };
    assert_eq!(query.want, Want { n4: true, n6: true });
}

#[test]
fn unknown_keys_and_unknown_want_entries_are_ignored() {
    let q = b"d1:ad2:id20:abcdefghij01234567891:xli1ee4:wantl2:n9ee1:q4:ping1:t2:aa3:zzzd1:ai1ee1:y1:qe";
    let m = Message::decode(q).unwrap();
    let Body::Query(query) = m.body else {
        panic!("not a query")
    };
    assert_eq!(query.want, Want::default());
}

#[test]
fn an_unknown_method_decodes_so_it_can_be_answered_with_204() {
    let q = b"d1:ad2:id20:abcdefghij01234567891:k20:abcdefghij0123456789e1:q3:get1:t2:aa1:y1:qe";
    let m = Message::decode(q).unwrap();
    let Body::Query(query) = m.body else {
        panic!("not a query")
    };
    assert_eq!(
        query.kind,
        QueryKind::Unknown {
            method: b"get".to_vec()
        }
    );
}

#[test]
fn a_bad_query_keeps_its_transaction_id_for_a_203_answer() {
    let q = b"d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe";
    let err = Message::decode(q).unwrap_err();
    assert_eq!(err.transaction_id.as_deref(), Some(&b"aa"[..]));
    assert!(err.is_query);
    assert!(matches!(
        err.kind,
        DecodeErrorKind::BadLength {
            key: "id",
            len: 3,
            ..
        }
    ));
}

#[test]
fn announce_without_a_port_or_with_port_zero_is_refused_unless_implied() {
    let base = |args: &str| {
        format!(
            "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456{args}5:token3:abce1:q13:announce_peer1:t2:aa1:y1:qe"
        )
    };
    let err = Message::decode(base("").as_bytes()).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Missing("port"));
    let err = Message::decode(base("4:porti0e").as_bytes()).unwrap_err();
    assert_eq!(
        err.kind,
        DecodeErrorKind::OutOfRange {
            key: "port",
            value: 0
        }
    );
    let err = Message::decode(base("4:porti65536e").as_bytes()).unwrap_err();
    assert_eq!(
        err.kind,
        DecodeErrorKind::OutOfRange {
            key: "port",
            value: 65536
        }
    );
    // Keys must stay sorted only for our encoder; the decoder takes any order.
    let m = Message::decode(base("12:implied_porti1e4:porti-1e").as_bytes()).unwrap();
    let Body::Query(q) = m.body else {
        panic!("not a query")
    };
    assert!(matches!(
        q.kind,
        QueryKind::AnnouncePeer {
            port: 0,
            implied_port: true,
            ..
        }
    ));
}

#[test]
fn compact_node_lists_must_be_whole_and_bounded() {
    let r = |nodes: &[u8]| {
        let mut b = b"d1:rd2:id20:abcdefghij01234567895:nodes".to_vec();
        b.extend_from_slice(format!("{}:", nodes.len()).as_bytes());
        b.extend_from_slice(nodes);
        b.extend_from_slice(b"e1:t2:aa1:y1:re");
        b
    };
    let err = Message::decode(&r(&[0u8; 27])).unwrap_err();
    assert!(matches!(
        err.kind,
        DecodeErrorKind::BadLength {
            key: "nodes",
            len: 27,
            ..
        }
    ));
    let err = Message::decode(&r(&vec![0u8; 26 * (MAX_NODES + 1)])).unwrap_err();
    assert!(matches!(
        err.kind,
        DecodeErrorKind::TooMany { key: "nodes", .. }
    ));
    assert!(Message::decode(&r(&vec![0u8; 26 * MAX_NODES])).is_ok());
}

#[test]
fn values_must_be_compact_peers_and_bounded() {
    let resp =
        |values: &str| format!("d1:rd2:id20:abcdefghij01234567896:valuesl{values}ee1:t2:aa1:y1:re");
    let err = Message::decode(resp("5:abcde").as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        DecodeErrorKind::BadLength {
            key: "values",
            len: 5,
            ..
        }
    ));
    let many = "6:abcdef".repeat(MAX_VALUES + 1);
    let err = Message::decode(resp(&many).as_bytes()).unwrap_err();
    assert!(matches!(
        err.kind,
        DecodeErrorKind::TooMany { key: "values", .. }
    ));
}

#[test]
fn malformed_datagrams_give_clear_errors() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "invalid KRPC message: invalid bencode at byte 0: input ends inside a value",
        ),
        (
            b"le",
            "invalid KRPC message: the message is not a dictionary",
        ),
        (b"d1:y1:qe", "invalid KRPC message: missing key \"t\""),
        (
            b"d1:t2:aa1:y1:xe",
            "invalid KRPC message: unknown message type \"x\"",
        ),
        (
            b"d1:t2:aa1:y1:qe",
            "invalid KRPC message: missing key \"q\"",
        ),
        (
            b"d1:q4:ping1:t2:aa1:y1:qe",
            "invalid KRPC message: missing key \"a\"",
        ),
        (
            b"d1:eli201ee1:t2:aa1:y1:ee",
            "invalid KRPC message: key \"e\" is not a list of a code and a message",
        ),
        (
            b"d1:ri1e1:t2:aa1:y1:re",
            "invalid KRPC message: r is not a dictionary",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(Message::decode(input).unwrap_err().to_string(), *want);
    }
    let big = vec![b'x'; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        Message::decode(&big).unwrap_err().kind,
        DecodeErrorKind::TooLong { .. }
    ));
}

#[test]
fn truncation_at_every_byte_is_an_error_not_a_panic() {
    let m = Message::response(
        b"aa",
        Response {
            id: id(3),
            nodes: vec![(id(4), "10.0.0.1:1".parse().unwrap())],
            token: Some(b"t".to_vec()),
            ..Response::default()
        },
    )
    .encode();
    for cut in 0..m.len() {
        assert!(Message::decode(&m[..cut]).is_err());
    }
}

#[test]
fn an_empty_token_in_an_answer_reads_as_no_token() {
    let r = b"d1:rd2:id20:abcdefghij01234567895:nodes0:5:token0:e1:t2:aa1:y1:re";
    let Body::Response(resp) = Message::decode(r).unwrap().body else {
        panic!("not a response")
    };
    assert_eq!(resp.token, None);
    assert!(resp.nodes.is_empty());
}

#[test]
fn librqbit_answer_with_empty_nodes_and_an_ip_decodes() {
    // Shape of librqbit-dht 9.1.0's find_node answer on ::1 (probes/librqbit-dht).
    let mut r = b"d2:ip18:".to_vec();
    r.extend_from_slice(&[0u8; 15]);
    r.extend_from_slice(&[1, 0x1a, 0xe1]);
    r.extend_from_slice(b"1:rd2:id20:-rQ9100-0123456789ab5:nodes0:6:nodes60:e1:t2:xy1:y1:re");
    let m = Message::decode(&r).unwrap();
    assert_eq!(m.ip, Some("[::1]:6881".parse().unwrap()));
    assert_eq!(m.transaction_id, b"xy");
}

mod generated {
    use std::net::{Ipv6Addr, SocketAddrV4, SocketAddrV6};

    use proptest::prelude::*;

    use super::*;

    fn node_id() -> impl Strategy<Value = NodeId> {
        any::<[u8; 20]>().prop_map(NodeId)
    }

    fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), min..=max)
    }

    fn v4() -> impl Strategy<Value = SocketAddrV4> {
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(ip.into(), port))
    }

    fn v6() -> impl Strategy<Value = SocketAddrV6> {
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
    }

    fn query_kind() -> impl Strategy<Value = QueryKind> {
        prop_oneof![
            Just(QueryKind::Ping),
            node_id().prop_map(|target| QueryKind::FindNode { target }),
            node_id().prop_map(|info_hash| QueryKind::GetPeers { info_hash }),
            (node_id(), 1..=u16::MAX, bytes(1, MAX_TOKEN_BYTES)).prop_map(
                |(info_hash, port, token)| {
                    QueryKind::AnnouncePeer {
                        info_hash,
                        port,
                        implied_port: false,
                        token,
                    }
                }
            ),
            (node_id(), any::<u16>(), bytes(1, MAX_TOKEN_BYTES)).prop_map(
                |(info_hash, port, token)| {
                    QueryKind::AnnouncePeer {
                        info_hash,
                        port,
                        implied_port: true,
                        token,
                    }
                }
            ),
            "[a-z_]{1,20}"
                .prop_filter("a known method", |m| {
                    !["ping", "find_node", "get_peers", "announce_peer"].contains(&m.as_str())
                })
                .prop_map(|m| QueryKind::Unknown {
                    method: m.into_bytes()
                }),
        ]
    }

    fn body() -> impl Strategy<Value = Body> {
        let query =
            (node_id(), query_kind(), any::<(bool, bool)>()).prop_map(|(id, kind, (n4, n6))| {
                Body::Query(Query {
                    id,
                    kind,
                    want: Want { n4, n6 },
                })
            });
        let values = proptest::collection::vec(
            prop_oneof![v4().prop_map(SocketAddr::V4), v6().prop_map(SocketAddr::V6)],
            0..20,
        );
        let response = (
            node_id(),
            proptest::collection::vec((node_id(), v4()), 0..=MAX_NODES),
            proptest::collection::vec((node_id(), v6()), 0..=8),
            values,
            proptest::option::of(bytes(1, MAX_TOKEN_BYTES)),
        )
            .prop_map(|(id, nodes, nodes6, values, token)| {
                Body::Response(Response {
                    id,
                    nodes,
                    nodes6,
                    values,
                    token,
                })
            });
        let error = (any::<i64>(), bytes(0, MAX_ERROR_MESSAGE_BYTES))
            .prop_map(|(code, message)| Body::Error(ErrorBody { code, message }));
        prop_oneof![query, response, error]
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            bytes(1, MAX_TRANSACTION_ID_BYTES),
            proptest::option::of(bytes(0, MAX_VERSION_BYTES)),
            proptest::option::of(prop_oneof![
                v4().prop_map(SocketAddr::V4),
                v6().prop_map(SocketAddr::V6)
            ]),
            any::<bool>(),
            body(),
        )
            .prop_map(|(transaction_id, version, ip, read_only, body)| Message {
                transaction_id,
                version,
                ip,
                read_only,
                body,
            })
    }

    proptest! {
        #[test]
        fn every_message_within_bounds_encodes_and_decodes_back(m in message()) {
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }
}
