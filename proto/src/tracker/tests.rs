use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;
use crate::infohash::InfoHash;

const HASH: [u8; 20] = *b"\x00\x01%&=+ \xff\x80abcdefghijk";
const PEER: [u8; 20] = *b"-AR1360-\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b";

fn request() -> AnnounceRequest {
    AnnounceRequest {
        info_hash: InfoHash(HASH),
        peer_id: PeerId(PEER),
        port: 6881,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event: Event::Started,
        compact: true,
        numwant: Some(50),
        no_peer_id: false,
        key: Some(b"k\x01y".to_vec()),
        tracker_id: None,
        ip: None,
    }
}

fn base_query() -> String {
    format!(
        "info_hash={}&peer_id={}&port=6881&uploaded=0&downloaded=0&left=10",
        percent_encode(&HASH),
        percent_encode(&PEER)
    )
}

fn parse_err(q: &str) -> String {
    AnnounceRequest::parse(q.as_bytes())
        .unwrap_err()
        .to_string()
}

#[test]
fn announce_request_round_trips_through_its_query_string() {
    let mut r = request();
    assert_eq!(
        AnnounceRequest::parse(r.to_query_string().as_bytes()).unwrap(),
        r
    );
    r.event = Event::None;
    r.compact = false;
    r.no_peer_id = true;
    r.numwant = None;
    r.tracker_id = Some(b"t1".to_vec());
    r.ip = Some("::1".parse().unwrap());
    assert_eq!(
        AnnounceRequest::parse(r.to_query_string().as_bytes()).unwrap(),
        r
    );
}

#[test]
fn a_minimal_announce_parses_with_defaults() {
    let r = AnnounceRequest::parse(base_query().as_bytes()).unwrap();
    assert_eq!(r.info_hash.0, HASH);
    assert_eq!(r.port, 6881);
    assert_eq!(r.event, Event::None);
    assert!(r.compact);
    assert_eq!(r.numwant, None);
    assert!(!r.no_peer_id);
}

#[test]
fn unknown_keys_and_empty_segments_are_ignored() {
    let q = format!(
        "{}&&supportcrypto=1&ipv6=%3A%3A1&corrupt=0&event=",
        base_query()
    );
    assert!(AnnounceRequest::parse(q.as_bytes()).is_ok());
}

#[test]
fn each_missing_required_key_is_named() {
    for key in [
        "info_hash",
        "peer_id",
        "port",
        "uploaded",
        "downloaded",
        "left",
    ] {
        let q: Vec<&str> = base_query()
            .leak()
            .split('&')
            .filter(|p| !p.starts_with(&format!("{key}=")))
            .collect();
        assert_eq!(parse_err(&q.join("&")), format!("missing {key}"));
    }
}

#[test]
fn a_duplicated_single_valued_key_is_refused() {
    assert_eq!(
        parse_err(&format!("{}&port=1", base_query())),
        "duplicate port"
    );
    let q = format!("{}&info_hash={}", base_query(), percent_encode(&HASH));
    assert_eq!(parse_err(&q), "duplicate info_hash");
}

#[test]
fn short_and_long_info_hashes_and_peer_ids_are_refused_with_their_length() {
    let q = base_query().replace(&percent_encode(&HASH), "abc");
    assert_eq!(parse_err(&q), "info_hash must be 20 bytes, got 3");
    let q = base_query().replace(&percent_encode(&HASH), &"a".repeat(21));
    assert_eq!(parse_err(&q), "info_hash must be 20 bytes, got 21");
    let q = base_query().replace(&percent_encode(&PEER), "x");
    assert_eq!(parse_err(&q), "peer_id must be 20 bytes, got 1");
}

#[test]
fn bad_ports_are_refused() {
    let q = base_query().replace("port=6881", "port=http");
    assert_eq!(
        parse_err(&q),
        "port is not a non-negative integer: \"http\""
    );
    for bad in ["0", "65536", "99999999999999999999999"] {
        let q = base_query().replace("port=6881", &format!("port={bad}"));
        assert!(AnnounceRequest::parse(q.as_bytes()).is_err(), "{bad}");
    }
    let q = base_query().replace("port=6881", "port=-1");
    assert!(parse_err(&q).starts_with("port is not"));
}

#[test]
fn negative_or_non_numeric_counters_are_refused() {
    let q = base_query().replace("left=10", "left=-5");
    assert_eq!(parse_err(&q), "left is not a non-negative integer: \"-5\"");
    let q = base_query().replace("uploaded=0", "uploaded=1e3");
    assert!(parse_err(&q).starts_with("uploaded is not"));
}

#[test]
fn a_huge_numwant_saturates_instead_of_failing() {
    let q = format!("{}&numwant=99999999999", base_query());
    assert_eq!(
        AnnounceRequest::parse(q.as_bytes()).unwrap().numwant,
        Some(u32::MAX)
    );
    let q = format!("{}&numwant=99999999999999999999999999", base_query());
    assert_eq!(
        AnnounceRequest::parse(q.as_bytes()).unwrap().numwant,
        Some(u32::MAX)
    );
    let q = format!("{}&numwant=lots", base_query());
    assert!(parse_err(&q).starts_with("numwant is not"));
}

#[test]
fn events_parse_and_unknown_events_are_refused() {
    for (text, ev) in [
        ("started", Event::Started),
        ("completed", Event::Completed),
        ("stopped", Event::Stopped),
        ("paused", Event::None),
        ("", Event::None),
    ] {
        let q = format!("{}&event={text}", base_query());
        assert_eq!(AnnounceRequest::parse(q.as_bytes()).unwrap().event, ev);
    }
    let q = format!("{}&event=exploded", base_query());
    assert!(parse_err(&q).starts_with("unknown event \"exploded\""));
}

#[test]
fn oversized_queries_values_and_bad_escapes_are_refused() {
    let q = format!(
        "{}&pad={}",
        base_query(),
        "x".repeat(MAX_ANNOUNCE_QUERY_BYTES)
    );
    assert!(parse_err(&q).starts_with("query string of"));
    let q = format!("{}&key={}", base_query(), "x".repeat(300));
    assert_eq!(parse_err(&q), "key is too long (300 bytes)");
    let q = format!("{}&key=%G0", base_query());
    assert_eq!(parse_err(&q), "bad percent-encoding in key");
    let q = "a&".repeat(300);
    assert_eq!(parse_err(&q), "too many parameters in the query string");
}

#[test]
fn non_utf8_bytes_are_data_not_errors() {
    let mut q = base_query().into_bytes();
    q.extend_from_slice(b"&junk=\xff\xfe&key=\xc3");
    assert_eq!(
        AnnounceRequest::parse(&q).unwrap().key,
        Some(b"\xc3".to_vec())
    );
}

fn peers() -> Vec<Peer> {
    let a: SocketAddr = "10.0.0.1:6881".parse().unwrap();
    let b: SocketAddr = "[2001:db8::1]:51413".parse().unwrap();
    let c: SocketAddr = "127.0.0.1:1".parse().unwrap();
    vec![
        Peer {
            id: Some(PeerId([1; 20])),
            addr: a,
        },
        Peer {
            id: Some(PeerId([2; 20])),
            addr: b,
        },
        Peer {
            id: Some(PeerId([3; 20])),
            addr: c,
        },
    ]
}

fn response() -> AnnounceResponse {
    AnnounceResponse {
        interval: 1800,
        min_interval: Some(60),
        complete: 4,
        incomplete: 5,
        tracker_id: None,
        warning: None,
        peers: peers(),
    }
}

#[test]
fn compact_responses_put_ipv4_in_peers_and_ipv6_in_peers6() {
    let bytes = response().encode(true, false);
    let v = crate::bencode::decode(&bytes).unwrap();
    assert_eq!(
        v.get("peers").unwrap().as_bytes().unwrap().len(),
        2 * COMPACT_V4_BYTES
    );
    assert_eq!(
        v.get("peers").unwrap().as_bytes().unwrap()[..6],
        [10, 0, 0, 1, 0x1a, 0xe1]
    );
    assert_eq!(
        v.get("peers6").unwrap().as_bytes().unwrap().len(),
        COMPACT_V6_BYTES
    );
    assert_eq!(v.get("min interval").unwrap().as_int(), Some(60));

    let back = AnnounceResponse::from_bytes(&bytes).unwrap();
    let mut expected = response();
    expected.peers = vec![peers()[0], peers()[2], peers()[1]];
    for p in &mut expected.peers {
        p.id = None;
    }
    assert_eq!(back, expected);
}

#[test]
fn compact_responses_without_ipv6_peers_have_no_peers6() {
    let mut r = response();
    r.peers.retain(|p| p.addr.is_ipv4());
    let bytes = r.encode(true, false);
    assert!(
        crate::bencode::decode(&bytes)
            .unwrap()
            .get("peers6")
            .is_none()
    );
}

#[test]
fn dictionary_responses_round_trip_with_and_without_peer_ids() {
    let r = response();
    assert_eq!(
        AnnounceResponse::from_bytes(&r.encode(false, false)).unwrap(),
        r
    );
    let back = AnnounceResponse::from_bytes(&r.encode(false, true)).unwrap();
    assert!(back.peers.iter().all(|p| p.id.is_none()));
    assert_eq!(back.peers.len(), 3);
}

#[test]
fn failure_responses_decode_to_their_reason() {
    let bytes = failure_response("missing info_hash");
    assert_eq!(bytes, b"d14:failure reason17:missing info_hashe");
    assert_eq!(
        AnnounceResponse::from_bytes(&bytes).unwrap_err(),
        ResponseError::Failure("missing info_hash".into())
    );
}

#[test]
fn malformed_compact_lists_are_refused() {
    let bytes = b"d8:intervali5e5:peers5:abcdee";
    assert!(matches!(
        AnnounceResponse::from_bytes(bytes),
        Err(ResponseError::Shape(_))
    ));
}

#[test]
fn scrape_requests_take_many_hashes_and_drop_duplicates() {
    let a = InfoHash([1; 20]);
    let b = InfoHash(HASH);
    let req = ScrapeRequest {
        info_hashes: vec![a, b],
    };
    let q = format!(
        "{}&info_hash={}",
        req.to_query_string(),
        percent_encode(&a.0)
    );
    assert_eq!(ScrapeRequest::parse(q.as_bytes()).unwrap(), req);
    assert!(ScrapeRequest::parse(b"").unwrap().info_hashes.is_empty());
}

#[test]
fn scrape_requests_refuse_bad_hashes_and_too_many() {
    assert_eq!(
        ScrapeRequest::parse(b"info_hash=short")
            .unwrap_err()
            .to_string(),
        "info_hash must be 20 bytes, got 5"
    );
    let many = ScrapeRequest {
        info_hashes: (0..=MAX_SCRAPE_HASHES as u32)
            .map(|i| {
                let mut h = [b'a'; 20];
                h[..4].copy_from_slice(&i.to_be_bytes());
                InfoHash(h)
            })
            .collect(),
    };
    assert!(ScrapeRequest::parse(many.to_query_string().as_bytes()).is_err());
}

#[test]
fn scrape_responses_round_trip() {
    let r = ScrapeResponse {
        files: vec![
            (
                InfoHash([1; 20]),
                ScrapeStats {
                    complete: 1,
                    downloaded: 2,
                    incomplete: 3,
                },
            ),
            (InfoHash([9; 20]), ScrapeStats::default()),
        ],
    };
    assert_eq!(ScrapeResponse::from_bytes(&r.encode()).unwrap(), r);
}

proptest! {
    #[test]
    fn any_announce_round_trips(
        hash in any::<[u8; 20]>(), id in any::<[u8; 20]>(), port in 1u16..,
        up in any::<u64>(), left in any::<u64>(), numwant in proptest::option::of(any::<u32>()),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    ) {
        let r = AnnounceRequest {
            info_hash: InfoHash(hash), peer_id: PeerId(id), port, uploaded: up,
            downloaded: up / 2, left, event: Event::Completed, compact: port % 2 == 0,
            numwant, no_peer_id: false, key, tracker_id: None, ip: None,
        };
        prop_assert_eq!(AnnounceRequest::parse(r.to_query_string().as_bytes()).unwrap(), r);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(q in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = AnnounceRequest::parse(&q);
        let _ = ScrapeRequest::parse(&q);
        let _ = AnnounceResponse::from_bytes(&q);
    }
}
