//! Hostile and broken input: every bad announce gets a clear failure reason
//! (HTTP 200) or a 4xx; oversized heads, slow clients and connection floods
//! are bounded; nothing makes the server fail.

use std::time::{Duration, Instant};

use crate::common::http::read_reply;
use crate::common::*;
use p2p_proto::tracker::{Event, percent_encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn good_query() -> String {
    req(hash(1), 1, 1001, 5, Event::None).to_query_string()
}

async fn reason(addr: std::net::SocketAddr, query: &str) -> String {
    get(addr, &format!("/announce?{query}")).await.failure()
}

#[tokio::test]
async fn each_bad_announce_gets_a_failure_reason_naming_the_problem() {
    let s = start(|_| {}).await;
    let good = good_query();
    let h = percent_encode(&hash(1).0);
    let cases: Vec<(String, &str)> = vec![
        (good.replace(&h, "abc"), "info_hash must be 20 bytes, got 3"),
        (
            good.replace(&h, &format!("{h}%00")),
            "info_hash must be 20 bytes, got 21",
        ),
        (
            good.replace("port=1001", "port=abc"),
            "port is not a non-negative integer: \"abc\"",
        ),
        (
            good.replace("port=1001", "port=70000"),
            "port 70000 is out of range (1-65535)",
        ),
        (
            good.replace("port=1001", "port=0"),
            "port 0 is out of range (1-65535)",
        ),
        (
            good.replace("left=5", "left=-1"),
            "left is not a non-negative integer: \"-1\"",
        ),
        (good.replace("&port=1001", ""), "missing port"),
        (
            good.replace(&format!("info_hash={h}&"), ""),
            "missing info_hash",
        ),
        (String::new(), "missing info_hash"),
        (
            format!("{good}&peer_id=xxxxxxxxxxxxxxxxxxxx"),
            "duplicate peer_id",
        ),
        (
            format!("{good}&event=bogus"),
            "unknown event \"bogus\" (expected started, completed, stopped or empty)",
        ),
        (
            format!("{good}&numwant=many"),
            "numwant is not a non-negative integer: \"many\"",
        ),
        (format!("{good}&key=%zz"), "bad percent-encoding in key"),
        (
            format!("{good}&pad={}", "x".repeat(5000)),
            "query string of 5",
        ),
    ];
    for (query, want) in cases {
        let got = reason(s.addr, &query).await;
        assert!(
            got.starts_with(want),
            "query {query:.80}: got {got:?}, want {want:?}"
        );
    }
    let st = get(s.addr, "/api/v1/stats").await.json();
    assert_eq!(st["torrents"], 0, "no bad announce created a swarm");
}

#[tokio::test]
async fn a_huge_numwant_is_capped_not_refused() {
    let s = start(|_| {}).await;
    let r = get(
        s.addr,
        &format!("/announce?{}&numwant=999999999999999999999", good_query()),
    )
    .await;
    r.announce();
}

#[tokio::test]
async fn non_utf8_bytes_in_values_are_data_and_raw_bytes_in_the_request_line_are_a_400() {
    let s = start(|_| {}).await;
    let r = get(
        s.addr,
        &format!("/announce?{}&key=%ff%fe&junk=%c3", good_query()),
    )
    .await;
    r.announce();
    let mut bad = b"GET /announce?info_hash=".to_vec();
    bad.extend_from_slice(&[0xff, 0xfe, 0x80]);
    bad.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = send_raw(s.addr, &bad).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn oversized_request_lines_and_headers_get_a_4xx() {
    let s = start(|c| c.http.max_header_bytes = 8192).await;
    let long = format!("/announce?{}&pad={}", good_query(), "y".repeat(20_000));
    let r = get(s.addr, &long).await;
    assert!((400..500).contains(&r.status), "{}", r.head);
    let r = Request::get("/health")
        .header("X-Big", &"z".repeat(20_000))
        .send(s.addr)
        .await;
    assert!((400..500).contains(&r.status), "{}", r.head);
    let many = (0..100).fold(Request::get("/health"), |r, i| {
        r.header(&format!("X-H{i}"), "v")
    });
    let r = many.send(s.addr).await;
    assert!((400..500).contains(&r.status), "{}", r.head);
    assert_eq!(get(s.addr, "/health").await.status, 200, "still serving");
}

#[tokio::test]
async fn garbage_instead_of_http_is_answered_400_or_dropped() {
    let s = start(|_| {}).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"\x00\x01\x02\x03 hello\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut buf))
        .await
        .unwrap()
        .ok();
    assert!(
        buf.is_empty() || buf.starts_with(b"HTTP/1.1 400"),
        "{buf:?}"
    );
    assert_eq!(get(s.addr, "/health").await.status, 200);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_disconnected() {
    let s = start(|c| c.http.header_read_timeout_secs = 1).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"GET /announce?info_hash=").await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_times_out_with_408() {
    let s = start(|c| c.http.request_timeout_secs = 1).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"POST /api/v1/torrents HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nd8:")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let s = start(|c| c.http.max_connections = 2).await;
    let mut a = TcpStream::connect(s.addr).await.unwrap();
    let mut b = TcpStream::connect(s.addr).await.unwrap();
    // Make sure both are being served (keep-alive, still open).
    let health = Request::get("/health").keep_alive().to_bytes(s.addr);
    for c in [&mut a, &mut b] {
        c.write_all(&health).await.unwrap();
        assert_eq!(read_reply(c).await.status, 200);
    }
    let third = tokio::spawn(async move { get(s.addr, "/health").await.status });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !third.is_finished(),
        "a third connection is not served while two are open"
    );
    drop(a);
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    drop(b);
    drop(s);
}

#[tokio::test]
async fn random_query_strings_never_break_the_server() {
    let s = start(|_| {}).await;
    let mut state = 0x1234_5678_u64;
    let alphabet = b"=&%0123456789abcdefABCDEF_-+.";
    for _ in 0..200 {
        let len = (state % 120) as usize;
        let mut q = String::new();
        for _ in 0..len {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            q.push(alphabet[(state >> 33) as usize % alphabet.len()] as char);
        }
        let key = ["info_hash=", "peer_id=", "port=", "numwant=", ""][(state % 5) as usize];
        let r = get(s.addr, &format!("/announce?{key}{q}")).await;
        assert_eq!(r.status, 200);
        p2p_proto::bencode::decode(&r.body).unwrap();
        let r = get(s.addr, &format!("/scrape?{key}{q}")).await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn a_flood_of_new_torrents_or_peers_stops_at_the_configured_caps() {
    let s = start(|c| {
        c.announce.max_torrents = 2;
        c.announce.max_peers = 3;
    })
    .await;
    for n in 0..3u8 {
        let r = announce(s.addr, &req(hash(n), 1, 1001, 5, Event::Started)).await;
        if n < 2 {
            r.announce();
        } else {
            assert_eq!(r.failure(), "tracker is full: too many torrents (limit 2)");
        }
    }
    announce(s.addr, &req(hash(0), 2, 1002, 5, Event::Started))
        .await
        .announce();
    let r = announce(s.addr, &req(hash(0), 3, 1003, 5, Event::Started)).await;
    assert_eq!(r.failure(), "tracker is full: too many peers (limit 3)");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let s = start(|c| c.http.header_read_timeout_secs = 1).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(&Request::get("/health").keep_alive().to_bytes(s.addr))
        .await
        .unwrap();
    assert_eq!(read_reply(&mut c).await.status, 200);
    let mut buf = Vec::new();
    let started = Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut buf)).await;
    assert!(rest.is_ok(), "the idle connection was closed");
    assert!(started.elapsed() >= Duration::from_millis(900));
}
