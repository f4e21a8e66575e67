//! The server's fast path (announce and scrape answered without hyper) must
//! answer exactly like hyper and the router: same status, headers and body,
//! with keep-alive, with `Connection: close`, and for pipelined requests.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response with its `date` line removed (it may tick between two replies).
fn undated(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .filter(|line| !line.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Sends `request`, reads until the server closes.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf
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
        // `Content-Length: 0` is left to hyper; the same request without it
        // takes the fast path.
        let fast = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let slow = format!(
            "GET {target} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (fast, slow) = (
            exchange(s.addr, fast.as_bytes()).await,
            exchange(s.addr, slow.as_bytes()).await,
        );
        assert_eq!(undated(&fast), undated(&slow), "{target}");
        assert!(String::from_utf8_lossy(&fast).contains("\r\ndate: "));
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_then_the_rest_goes_to_hyper() {
    let s = start(|_| {}).await;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: t\r\n\r\nGET /scrape?info_hash=x HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        scrape_target(&[hash(3)])
    );
    let replies = String::from_utf8_lossy(&exchange(s.addr, request.as_bytes()).await).into_owned();
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
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    for n in 1..=5u32 {
        let target = format!(
            "/announce?{}",
            req(
                hash(9),
                n,
                2000 + n as u16,
                5,
                p2p_proto::tracker::Event::Started
            )
            .to_query_string()
        );
        c.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = 0;
        let reply = loop {
            got += c.read(&mut buf[got..]).await.unwrap();
            if let Some(head) = buf[..got].windows(4).position(|w| w == b"\r\n\r\n") {
                let reply = parse_reply(&buf[..got]);
                let len: usize = reply
                    .head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if got >= head + 4 + len {
                    break reply;
                }
            }
        };
        assert!(!reply.head.contains("connection: close"));
        let r = reply.announce();
        assert_eq!(r.incomplete, n, "announce {n}");
    }
    assert_eq!(s.running.as_ref().unwrap().tracker.totals().leechers, 5);
}
