#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use super::*;
use crate::dht::krpc::{ErrorBody, Want};

const ID4: NodeId = NodeId([0x11; 20]);
const ID6: NodeId = NodeId([0x66; 20]);
const QUERIER: NodeId = NodeId([0xaa; 20]);
const HASH: NodeId = NodeId([0x42; 20]);
const NOW: u64 = 1000;

struct Local {
    table4: RoutingTable,
    table6: RoutingTable,
    tokens: Tokens,
    peers: PeerStore,
}

impl Local {
    /// A node that knows three IPv4 and three IPv6 nodes.
    fn new() -> Local {
        let mut n = Local {
            table4: RoutingTable::new(ID4, 0),
            table6: RoutingTable::new(ID6, 0),
            tokens: Tokens::new([7; 16], 0),
            peers: PeerStore::new(),
        };
        for i in 1..=3u8 {
            n.table4
                .heard_from(NodeId([i; 20]), v4(i, 7000), Contact::Reply, NOW);
            n.table6
                .heard_from(NodeId([i; 20]), v6(i.into(), 7000), Contact::Reply, NOW);
        }
        n
    }

    fn handle(&mut self, datagram: &[u8], source: SocketAddr) -> Incoming {
        Responder {
            table4: &mut self.table4,
            table6: &mut self.table6,
            tokens: &self.tokens,
            peers: &mut self.peers,
        }
        .handle(datagram, source, NOW)
        .incoming
    }

    /// Sends `query` and decodes the answer, which must be there.
    fn ask(&mut self, query: &Message, source: SocketAddr) -> Message {
        match self.handle(&query.encode(), source) {
            Incoming::Answer(bytes) => Message::decode(&bytes).unwrap(),
            other => panic!("no answer: {other:?}"),
        }
    }
}

fn v4(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], port))
}

fn v6(last: u16, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, last), port))
}

fn query(tid: &[u8], kind: QueryKind, want: Want) -> Message {
    let mut m = Message::query(tid, QUERIER, kind);
    if let Body::Query(q) = &mut m.body {
        q.want = want;
    }
    m
}

fn response(m: &Message) -> &Response {
    match &m.body {
        Body::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn error(m: &Message) -> &ErrorBody {
    match &m.body {
        Body::Error(e) => e,
        other => panic!("not an error: {other:?}"),
    }
}

const TIDS: [&[u8]; 2] = [b"ab", b"wxyz"];
const SOURCE4: fn() -> SocketAddr = || v4(200, 6881);
const SOURCE6: fn() -> SocketAddr = || v6(200, 6881);

#[test]
fn ping_echoes_the_transaction_id_answers_with_the_family_id_and_records_the_querier() {
    for (source, own) in [(SOURCE4(), ID4), (SOURCE6(), ID6)] {
        for tid in TIDS {
            let mut node = Local::new();
            let answer = node.ask(&query(tid, QueryKind::Ping, Want::default()), source);
            assert_eq!(answer.transaction_id, tid);
            assert_eq!(answer.ip, Some(source));
            assert_eq!(response(&answer).id, own);
            let table = if source.is_ipv6() {
                &node.table6
            } else {
                &node.table4
            };
            let entry = table.get(&QUERIER).unwrap();
            assert_eq!(entry.addr, source);
            assert_eq!(entry.last_query, Some(NOW));
            assert_eq!(entry.last_reply, None);
        }
    }
}

#[test]
fn a_read_only_querier_is_answered_but_stays_out_of_the_table() {
    let mut node = Local::new();
    let mut q = query(b"ro", QueryKind::Ping, Want::default());
    q.read_only = true;
    let answer = node.ask(&q, SOURCE4());
    assert_eq!(response(&answer).id, ID4);
    assert!(node.table4.get(&QUERIER).is_none());
}

#[test]
fn find_node_gives_nodes_by_want_or_else_the_family_of_the_query() {
    let n4 = Want {
        n4: true,
        n6: false,
    };
    let n6 = Want {
        n4: false,
        n6: true,
    };
    let both = Want { n4: true, n6: true };
    // (source, want, expect nodes, expect nodes6)
    let cases = [
        (SOURCE4(), Want::default(), true, false),
        (SOURCE6(), Want::default(), false, true),
        (SOURCE4(), n4, true, false),
        (SOURCE4(), n6, false, true),
        (SOURCE4(), both, true, true),
        (SOURCE6(), n4, true, false),
        (SOURCE6(), n6, false, true),
        (SOURCE6(), both, true, true),
    ];
    for (source, want, nodes, nodes6) in cases {
        for tid in TIDS {
            let mut node = Local::new();
            let target = NodeId([2; 20]);
            let answer = node.ask(&query(tid, QueryKind::FindNode { target }, want), source);
            assert_eq!(answer.transaction_id, tid);
            let r = response(&answer);
            assert_eq!(
                r.nodes.len(),
                if nodes { 3 } else { 0 },
                "{source} {want:?}"
            );
            assert_eq!(
                r.nodes6.len(),
                if nodes6 { 3 } else { 0 },
                "{source} {want:?}"
            );
            if nodes {
                assert_eq!(r.nodes[0].0, target, "closest first");
                assert_eq!(SocketAddr::V4(r.nodes[0].1), v4(2, 7000));
            }
            if nodes6 {
                assert_eq!(r.nodes6[0].0, target, "closest first");
                assert_eq!(SocketAddr::V6(r.nodes6[0].1), v6(2, 7000));
            }
            assert_eq!(r.token, None);
            assert!(r.values.is_empty());
        }
    }
}

#[test]
fn get_peers_gives_nodes_a_token_and_the_peers_of_the_querier_family() {
    for (source, want, nodes, nodes6) in [
        (SOURCE4(), Want::default(), 3, 0),
        (SOURCE6(), Want::default(), 0, 3),
        (SOURCE6(), Want { n4: true, n6: true }, 3, 3),
    ] {
        for tid in TIDS {
            let mut node = Local::new();
            node.peers.announce(HASH, v4(50, 5000), NOW);
            node.peers.announce(HASH, v6(50, 5000), NOW);
            let answer = node.ask(
                &query(tid, QueryKind::GetPeers { info_hash: HASH }, want),
                source,
            );
            assert_eq!(answer.transaction_id, tid);
            let r = response(&answer);
            assert_eq!((r.nodes.len(), r.nodes6.len()), (nodes, nodes6));
            let expected = if source.is_ipv6() {
                v6(50, 5000)
            } else {
                v4(50, 5000)
            };
            assert_eq!(r.values, vec![expected]);
            assert_eq!(
                r.token.as_deref(),
                Some(&node.tokens.token_for(source.ip())[..])
            );
        }
    }
}

#[test]
fn announce_peer_with_the_token_stores_the_peer_and_answers_the_id() {
    for (source, implied, stored_port) in [
        (SOURCE4(), false, 5555),
        (SOURCE4(), true, 6881),
        (SOURCE6(), false, 5555),
        (SOURCE6(), true, 6881),
    ] {
        for tid in TIDS {
            let mut node = Local::new();
            let got = node.ask(
                &query(
                    b"gp",
                    QueryKind::GetPeers { info_hash: HASH },
                    Want::default(),
                ),
                source,
            );
            let token = response(&got).token.clone().unwrap();
            let announce = QueryKind::AnnouncePeer {
                info_hash: HASH,
                port: if implied { 0 } else { 5555 },
                implied_port: implied,
                token,
            };
            let answer = node.ask(&query(tid, announce, Want::default()), source);
            assert_eq!(answer.transaction_id, tid);
            let own = if source.is_ipv6() { ID6 } else { ID4 };
            assert_eq!(
                response(&answer),
                &Response {
                    id: own,
                    ..Response::default()
                }
            );
            assert_eq!(
                node.peers.peers(&HASH, source.is_ipv6(), 10, NOW),
                vec![SocketAddr::new(source.ip(), stored_port)]
            );
        }
    }
}

#[test]
fn announce_peer_with_a_bad_token_is_error_203_and_stores_nothing() {
    for source in [SOURCE4(), SOURCE6()] {
        for tid in TIDS {
            let mut node = Local::new();
            // A token made for another address is as bad as a made-up one.
            let other = node.tokens.token_for(v4(9, 1).ip()).to_vec();
            for token in [other, b"forged".to_vec()] {
                let announce = QueryKind::AnnouncePeer {
                    info_hash: HASH,
                    port: 5555,
                    implied_port: false,
                    token,
                };
                let answer = node.ask(&query(tid, announce, Want::default()), source);
                assert_eq!(answer.transaction_id, tid);
                assert_eq!(error(&answer).code, ERROR_PROTOCOL);
                assert_eq!(error(&answer).message, b"bad token");
                assert!(node.peers.is_empty());
            }
        }
    }
}

#[test]
fn an_unknown_method_is_error_204_and_the_querier_still_enters_the_table() {
    for tid in TIDS {
        let mut node = Local::new();
        let kind = QueryKind::Unknown {
            method: b"sample_infohashes".to_vec(),
        };
        let answer = node.ask(&query(tid, kind, Want::default()), SOURCE4());
        assert_eq!(answer.transaction_id, tid);
        assert_eq!(error(&answer).code, ERROR_METHOD_UNKNOWN);
        assert_eq!(error(&answer).message, b"method unknown");
        assert!(node.table4.get(&QUERIER).is_some());
    }
}

#[test]
fn a_query_that_fails_to_decode_but_has_a_transaction_id_is_error_203() {
    for tid in TIDS {
        let mut node = Local::new();
        // find_node without a target.
        let mut bytes = b"d1:ad2:id20:".to_vec();
        bytes.extend_from_slice(&QUERIER.0);
        bytes.extend_from_slice(b"e1:q9:find_node1:t");
        bytes.extend_from_slice(format!("{}:", tid.len()).as_bytes());
        bytes.extend_from_slice(tid);
        bytes.extend_from_slice(b"1:y1:qe");
        let Incoming::Answer(answer) = node.handle(&bytes, SOURCE4()) else {
            panic!("no answer");
        };
        assert!(answer.len() <= bytes.len());
        let answer = Message::decode(&answer).unwrap();
        assert_eq!(answer.transaction_id, tid);
        assert_eq!(error(&answer).code, ERROR_PROTOCOL);
        assert!(
            node.table4.get(&QUERIER).is_none(),
            "an unread id is not recorded"
        );
    }
}

#[test]
fn an_error_answer_is_never_longer_than_the_query_that_caused_it() {
    let mut node = Local::new();
    // The shortest broken query: no `a` at all.
    let bytes = b"d1:t2:ab1:y1:qe";
    match node.handle(bytes, SOURCE4()) {
        Incoming::Answer(a) => assert!(a.len() <= bytes.len(), "{}", a.len()),
        Incoming::Dropped => {}
        Incoming::Reply(m) => panic!("a query read as a reply: {m:?}"),
    }
}

#[test]
fn responses_and_errors_go_back_to_the_caller_unanswered() {
    let mut node = Local::new();
    let r = Message::response(
        b"xy",
        Response {
            id: QUERIER,
            ..Response::default()
        },
    );
    assert_eq!(node.handle(&r.encode(), SOURCE4()), Incoming::Reply(r));
    let e = Message::error(b"xy", 201, "busy");
    assert_eq!(node.handle(&e.encode(), SOURCE6()), Incoming::Reply(e));
    assert!(
        node.table4.get(&QUERIER).is_none(),
        "the lookup side decides"
    );
}

#[test]
fn get_peers_values_are_cut_to_keep_the_answer_within_bounds() {
    for (source, both) in [(SOURCE4(), false), (SOURCE6(), true)] {
        let mut node = Local::new();
        for i in 0..400u16 {
            let peer = if source.is_ipv6() {
                SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, i),
                    1000,
                    0,
                    0,
                ))
            } else {
                SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8),
                    1000,
                ))
            };
            node.peers.announce(HASH, peer, NOW);
        }
        let want = Want { n4: both, n6: both };
        let q = query(b"ab", QueryKind::GetPeers { info_hash: HASH }, want);
        let Incoming::Answer(bytes) = node.handle(&q.encode(), source) else {
            panic!("no answer");
        };
        assert!(bytes.len() <= MAX_ANSWER_BYTES, "{}", bytes.len());
        let r = Message::decode(&bytes).unwrap();
        let values = response(&r).values.len();
        assert!(values > 10 && values < 400, "{values}");
        assert!(response(&r).token.is_some());
    }
}

#[test]
fn sources_that_cannot_be_answered_get_nothing() {
    let mut node = Local::new();
    let ping = query(b"ab", QueryKind::Ping, Want::default()).encode();
    for source in [
        v4(1, 0),
        SocketAddr::from(([0, 0, 0, 0], 6881)),
        SocketAddr::from(([255, 255, 255, 255], 6881)),
        SocketAddr::from(([224, 0, 0, 1], 6881)),
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 6881)),
    ] {
        assert_eq!(node.handle(&ping, source), Incoming::Dropped, "{source}");
    }
}

#[test]
fn a_v4_mapped_source_is_an_ipv4_querier() {
    let mut node = Local::new();
    let mapped = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 200).to_ipv6_mapped(), 6881));
    let answer = node.ask(&query(b"ab", QueryKind::Ping, Want::default()), mapped);
    assert_eq!(response(&answer).id, ID4);
    assert_eq!(node.table4.get(&QUERIER).unwrap().addr, SOURCE4());
}

#[test]
fn hostile_bytes_get_nothing_or_a_bounded_error_never_a_panic() {
    let mut node = Local::new();
    let mut seeds: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"d".to_vec(),
        b"de".to_vec(),
        b"le".to_vec(),
        b"i1e".to_vec(),
        b"d1:t2:ab1:y1:qe".to_vec(),
        b"d1:t2:ab1:y1:q1:q4:ping1:ai0ee".to_vec(),
        b"d1:t99999999999:ab1:y1:qe".to_vec(),
        vec![b'l'; 10_000],
        vec![0xff; MAX_ANSWER_BYTES * 2],
    ];
    seeds.push(
        query(
            b"ab",
            QueryKind::GetPeers { info_hash: HASH },
            Want::default(),
        )
        .encode(),
    );
    // Every truncation and a deterministic stream of byte flips of a real query.
    let real = query(b"ab", QueryKind::FindNode { target: HASH }, Want::default()).encode();
    for cut in 0..real.len() {
        seeds.push(real[..cut].to_vec());
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut m = real.clone();
        let at = (x as usize) % m.len();
        m[at] = (x >> 32) as u8;
        seeds.push(m);
    }
    let (mut answers, mut errors, mut dropped) = (0, 0, 0);
    for bytes in seeds {
        for source in [SOURCE4(), SOURCE6()] {
            match node.handle(&bytes, source) {
                Incoming::Answer(a) => {
                    assert!(a.len() <= MAX_ANSWER_BYTES);
                    let m = Message::decode(&a).unwrap();
                    if let Body::Error(_) = m.body {
                        assert!(a.len() <= bytes.len());
                        errors += 1;
                    } else {
                        answers += 1;
                    }
                }
                Incoming::Reply(_) => {}
                Incoming::Dropped => dropped += 1,
            }
        }
    }
    // The flips reach all three ways out, so the bounds above were exercised.
    assert!(
        answers > 0 && errors > 0 && dropped > 0,
        "{answers} {errors} {dropped}"
    );
}

#[test]
fn a_querier_meeting_a_full_bucket_asks_for_pings_of_its_questionable_nodes() {
    let mut table4 = RoutingTable::new(ID4, 0);
    // Eight nodes far from us (first bit 1, ours is 0) heard long ago fill the far bucket.
    let far: Vec<(NodeId, SocketAddr)> = (0..8u8)
        .map(|i| (NodeId([0x80 | i; 20]), v4(100 + i, 7000)))
        .collect();
    for (id, addr) in &far {
        table4.heard_from(*id, *addr, Contact::Reply, 0);
    }
    let mut table6 = RoutingTable::new(ID6, 0);
    let tokens = Tokens::new([7; 16], 0);
    let mut peers = PeerStore::new();
    let ping = query(b"ab", QueryKind::Ping, Want::default()).encode();
    let handled = Responder {
        table4: &mut table4,
        table6: &mut table6,
        tokens: &tokens,
        peers: &mut peers,
    }
    .handle(&ping, SOURCE4(), NOW);
    assert!(matches!(handled.incoming, Incoming::Answer(_)));
    let mut asked = handled.ping;
    asked.sort();
    assert_eq!(asked, far);
    assert!(
        table4.get(&QUERIER).is_none(),
        "waiting among the replacements"
    );
}
