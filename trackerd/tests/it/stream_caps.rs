//! Long-lived event streams under attack (issue 12 item 13): one token
//! opening streams past its cap, many users filling the tracker's stream
//! budget, one address past its cap while another still gets in, and a
//! normal announce answered (and timed) while the streams are held.

use std::net::IpAddr;
use std::time::Duration;

use p2p_proto::tracker::Event;

use crate::common::api::{SseReader, error, user};
use crate::common::attack::{open_from, timed_announce};
use crate::common::{Request, hash, req, start};

const EVENTS: &str = "/api/v1/events/stream";
const SESSION: &str = "/api/v1/session/stream";

#[tokio::test]
async fn streams_past_the_user_and_tracker_caps_get_429_and_announces_are_still_answered() {
    let s = start(|c| {
        c.http.max_connections = 64;
        c.http.max_streams = 20;
        c.http.max_streams_per_user = 4;
        c.http.max_streams_per_address = 1000;
    })
    .await;
    let mut held = Vec::new();
    let (mallory, _) = user(s.addr, "mallory").await;
    for i in 0..4 {
        let path = if i % 2 == 0 { EVENTS } else { SESSION };
        let r = SseReader::open(s.addr, path, &mallory).await;
        assert_eq!(r.status, 200);
        held.push(r);
    }
    // The attack: thousands of streams from one token. Past the
    // cap every one is refused at once and holds nothing.
    for _ in 0..200 {
        let r = Request::get(EVENTS)
            .bearer(Some(&mallory))
            .send(s.addr)
            .await;
        assert_eq!(r.status, 429);
        let (code, message) = error(&r);
        assert_eq!(code, "rate_limited");
        assert_eq!(
            message,
            "too many event streams open for this user (limit 4); close one first"
        );
    }
    // Other users fill the tracker's budget for streams (20)...
    for n in 0..4 {
        let (token, _) = user(s.addr, &format!("user{n}")).await;
        for _ in 0..4 {
            let r = SseReader::open(s.addr, EVENTS, &token).await;
            assert_eq!(r.status, 200);
            held.push(r);
        }
    }
    let (late, _) = user(s.addr, "late").await;
    let r = Request::get(EVENTS).bearer(Some(&late)).send(s.addr).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        error(&r).1,
        "too many event streams open on this tracker (limit 20); try again later"
    );
    // ...and the connections left answer announces.
    let mut latencies = Vec::new();
    for n in 0..20u32 {
        let (reply, took) =
            timed_announce(s.addr, &req(hash(n as u8), n, 2000, 5, Event::Started)).await;
        reply.announce();
        latencies.push(took);
    }
    latencies.sort();
    eprintln!(
        "streams attack: {} streams held, 200 refused; announce latency median {:?}, max {:?}",
        held.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    // A stream that ends gives its place back (the server sees the close
    // at its next write: an event or a keep-alive).
    drop(held.pop());
    let stream = Request::get(EVENTS).bearer(Some(&late)).keep_alive();
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    let started = std::time::Instant::now();
    let mut status = 0;
    let mut _reopened = None;
    for _ in 0..150 {
        // The stream that gets a place stays open: only its head is read.
        let (c, head) = open_from(here, s.addr, &stream).await;
        status = head.status;
        if status == 200 {
            _reopened = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "a closed stream's place came back after {:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "the closed stream's place was given back");
}

#[tokio::test]
async fn one_address_past_its_stream_cap_gets_429_while_another_address_gets_in() {
    let s = start(|c| {
        c.http.max_streams_per_user = 100;
        c.http.max_streams_per_address = 3;
    })
    .await;
    let (token, _) = user(s.addr, "alice").await;
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    let there: IpAddr = "127.0.0.2".parse().unwrap();
    let stream = Request::get(EVENTS).bearer(Some(&token)).keep_alive();
    let mut held = Vec::new();
    for _ in 0..3 {
        let (c, head) = open_from(here, s.addr, &stream).await;
        assert_eq!(head.status, 200);
        held.push(c);
    }
    let (_, head) = open_from(here, s.addr, &stream).await;
    assert_eq!(head.status, 429);
    let (_, head) = open_from(there, s.addr, &stream).await;
    assert_eq!(head.status, 200, "another address still opens streams");
}
