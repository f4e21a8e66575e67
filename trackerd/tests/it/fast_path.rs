//! The server's fast path (plain and passkey announces and scrapes answered
//! without hyper) must answer exactly like hyper and the router: same
//! status, headers and body, with keep-alive, with `Connection: close`, and
//! for pipelined requests.

use p2p_proto::tracker::Event;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::api::user;
use crate::common::http::{exchange, read_reply};
use crate::common::*;

/// A response with its `date` line removed (it may tick between two replies).
fn undated(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .filter(|line| !line.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// `target` on the fast path, then through hyper (`Content-Length: 0` is
/// left to hyper; the same request without it takes the fast path); both
/// replies, undated.
async fn fast_and_hyper(addr: std::net::SocketAddr, target: &str) -> (String, String) {
    let fast = Request::get(target).to_bytes(addr);
    let slow = Request::get(target)
        .header("Content-Length", "0")
        .to_bytes(addr);
    let fast = exchange(addr, &fast).await;
    assert!(String::from_utf8_lossy(&fast).contains("\r\ndate: "));
    (undated(&fast), undated(&exchange(addr, &slow).await))
}

#[tokio::test]
async fn fast_path_replies_match_hyper_byte_for_byte_apart_from_the_date() {
    let s = start(|_| {}).await;
    let targets = [
        "/scrape?info_hash=short".to_owned(),
        "/scrape".to_owned(),
        scrape_target(&[hash(1), hash(2)]),
        "/announce?info_hash=x".to_owned(),
    ];
    for target in targets {
        let (fast, slow) = fast_and_hyper(s.addr, &target).await;
        assert_eq!(fast, slow, "{target}");
    }
}

#[tokio::test]
async fn a_passkey_announce_on_the_fast_path_matches_hyper_byte_for_byte_apart_from_the_date() {
    let s = start(|_| {}).await;
    let (_, passkey) = user(s.addr, "alice").await;
    // Another peer in the swarm, so the reply carries a peer list.
    passkey_announce(s.addr, &passkey, &req(hash(5), 1, 1001, 0, Event::Started))
        .await
        .announce();
    let again = req(hash(5), 2, 1002, 10, Event::Started).to_query_string();
    let (fast, slow) = fast_and_hyper(s.addr, &format!("/announce/{passkey}?{again}")).await;
    assert_eq!(fast, slow);
    assert!(fast.contains("5:peers6:"), "{fast}");
    assert!(fast.contains("8:completei1e10:incompletei1e"), "{fast}");
    let stats = |s: &TestServer| {
        let st = &s.running.as_ref().unwrap().tracker.stats;
        (
            st.announces.load(std::sync::atomic::Ordering::Relaxed),
            st.failures.load(std::sync::atomic::Ordering::Relaxed),
        )
    };
    assert_eq!(stats(&s), (3, 0));

    // Refusals and bad queries are answered and counted alike on both paths.
    let unknown = "0".repeat(passkey.len());
    for target in [
        format!("/announce/{unknown}?{again}"),
        format!("/announce/{passkey}?info_hash=x"),
    ] {
        let (fast, slow) = fast_and_hyper(s.addr, &target).await;
        assert_eq!(fast, slow, "{target}");
        assert!(fast.contains("failure reason"), "{fast}");
    }
    assert_eq!(stats(&s), (3, 4));
}

#[tokio::test]
async fn an_odd_passkey_is_answered_by_hyper_as_before() {
    let s = start(|_| {}).await;
    let (_, passkey) = user(s.addr, "alice").await;
    let q = req(hash(6), 1, 1001, 0, Event::Started).to_query_string();
    // Percent-encoded, the passkey is hyper's to decode: still served.
    let encoded: String = passkey.bytes().map(|b| format!("%{b:02x}")).collect();
    get(s.addr, &format!("/announce/{encoded}?{q}"))
        .await
        .announce();
    for odd in [passkey.to_uppercase(), format!("{passkey}0"), "x".into()] {
        let r = get(s.addr, &format!("/announce/{odd}?{q}")).await;
        assert_eq!(r.failure(), "unknown passkey", "{odd}");
    }
    let r = get(s.addr, &format!("/announce/{passkey}/more?{q}")).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_then_the_rest_goes_to_hyper() {
    let s = start(|_| {}).await;
    let request = [
        Request::get(&scrape_target(&[hash(3)])).keep_alive(),
        Request::get("/scrape?info_hash=x").keep_alive(),
        Request::get("/health"),
    ]
    .iter()
    .flat_map(|r| r.to_bytes(s.addr))
    .collect::<Vec<u8>>();
    let replies = String::from_utf8_lossy(&exchange(s.addr, &request).await).into_owned();
    let statuses: Vec<_> = replies.match_indices("HTTP/1.1 200 OK").collect();
    assert_eq!(statuses.len(), 3, "{replies}");
    let scrape = replies.find("5:filesd20:").unwrap();
    let failure = replies.find("failure reason").unwrap();
    let health = replies.find(r#"{"status":"ok"}"#).unwrap();
    assert!(scrape < failure && failure < health, "{replies}");
}

#[tokio::test]
async fn a_keep_alive_client_is_served_many_announces_on_one_connection() {
    let s = start(|_| {}).await;
    let (_, passkey) = user(s.addr, "alice").await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    for n in 1..=6u32 {
        let query = req(hash(9), n, 2000 + n as u16, 5, Event::Started).to_query_string();
        // Plain and passkey announces in turn, on the same connection.
        let target = if n % 2 == 0 {
            format!("/announce/{passkey}?{query}")
        } else {
            format!("/announce?{query}")
        };
        let request = Request::get(&target).keep_alive().to_bytes(s.addr);
        c.write_all(&request).await.unwrap();
        let reply = read_reply(&mut c).await;
        assert_eq!(reply.header("connection"), None);
        let r = reply.announce();
        assert_eq!(r.incomplete, n, "announce {n}");
    }
    assert_eq!(s.running.as_ref().unwrap().tracker.totals().leechers, 6);
}
