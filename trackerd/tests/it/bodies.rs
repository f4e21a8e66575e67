//! Request bodies under attack (issue 12 item 12): hundreds of half-sent
//! login bodies with a large `Content-Length` against the real binary, with
//! its resident memory measured before and after; the budget of bytes
//! buffered for requests in flight; chunked bodies over a route's limit.

use p2p_proto::tracker::Event;

use crate::common::attack::{half_sent, post_head, read_head, rss_kib, timed_announce};
use crate::common::process::spawn;
use crate::common::{Request, hash, req, send_raw, start};

/// Connections in each wave of the attack (the figure).
const ATTACKERS: usize = 150;
/// Growth of trackerd's resident memory the attack may cause (before the
/// fix it was about 1.5 GiB).
const MAX_GROWTH_KIB: u64 = 32 * 1024;

#[tokio::test]
async fn half_sent_login_bodies_are_refused_or_bounded_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trackerd.toml");
    std::fs::write(&config, "[http]\nbody_read_timeout_secs = 5\n").unwrap();
    let d = spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let pid = d.child.id();
    // Warm up the paths the attack takes, so their first allocations are
    // not counted as growth.
    Request::post("/api/v1/login", b"{}").send(d.addr).await;
    timed_announce(d.addr, &req(hash(1), 1, 1001, 5, Event::Started)).await;
    let before = rss_kib(pid);

    // Wave 1: 10 MiB declared, 1 KiB sent. Refused at once, unread.
    let mut refused = Vec::new();
    for _ in 0..ATTACKERS {
        refused.push(half_sent(d.addr, &post_head("/api/v1/login", 10 << 20, 1024)).await);
    }
    for s in &mut refused {
        let r = read_head(s).await.expect("a reply before the body is sent");
        assert_eq!(r.status, 413, "{}", r.text());
    }
    // Wave 2: within the limit, half sent and held open.
    let mut held = Vec::new();
    for _ in 0..ATTACKERS {
        held.push(half_sent(d.addr, &post_head("/api/v1/login", 8000, 4000)).await);
    }
    let (reply, latency) = timed_announce(d.addr, &req(hash(1), 2, 1002, 5, Event::Started)).await;
    assert_eq!(reply.announce().peers.len(), 1, "the announce is answered");
    let after = rss_kib(pid);
    eprintln!(
        "bodies attack: RSS {before} KiB before, {after} KiB with {} connections held \
         ({} refused with 413); announce answered in {latency:?}",
        held.len(),
        refused.len()
    );
    assert!(
        after.saturating_sub(before) < MAX_GROWTH_KIB,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // The slow bodies end with 408, not held for ever.
    for s in &mut held {
        let r = read_head(s).await.expect("a reply to a slow body");
        assert_eq!(r.status, 408, "{}", r.text());
    }
}

#[tokio::test]
async fn a_login_declaring_a_large_body_is_refused_before_any_of_it_is_sent() {
    let s = start(|_| {}).await;
    let mut c = half_sent(s.addr, &post_head("/api/v1/login", 10 << 20, 0)).await;
    let r = read_head(&mut c).await.expect("a reply to the head alone");
    assert_eq!(r.status, 413);
    // The upload routes take a .torrent-sized body: the same head is
    // refused there only for its token.
    let mut c = half_sent(s.addr, &post_head("/api/v1/public/torrents", 1 << 20, 0)).await;
    let r = read_head(&mut c).await.expect("a reply to the head alone");
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_chunked_body_over_the_route_limit_gets_413() {
    let s = start(|c| c.http.max_body_bytes = 1000).await;
    let mut raw = b"POST /api/v1/login HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend_from_slice(format!("{:x}\r\n", 2000).as_bytes());
    raw.extend_from_slice(&[b' '; 2000]);
    raw.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = send_raw(s.addr, &raw).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("limit of 1000"), "{}", r.text());
}

#[tokio::test]
async fn bodies_past_the_in_flight_budget_get_503_until_one_ends() {
    let s = start(|c| {
        c.http.max_body_bytes = 8000;
        c.http.max_torrent_bytes = 8000;
        c.http.max_buffered_body_bytes = 16_000;
    })
    .await;
    let first = half_sent(s.addr, &post_head("/api/v1/login", 8000, 10)).await;
    let _second = half_sent(s.addr, &post_head("/api/v1/login", 8000, 10)).await;
    // The two reservations are made when their heads are read: wait for
    // the budget to be spent (an empty JSON body is refused with 400).
    let login = Request::post("/api/v1/login", b"{}");
    let mut status = 0;
    for _ in 0..200 {
        status = login.send(s.addr).await.status;
        if status == 503 {
            break;
        }
    }
    assert_eq!(status, 503, "the budget was never spent");
    let r = login.send(s.addr).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    // One attacker leaves: its reservation is returned.
    drop(first);
    for _ in 0..200 {
        status = login.send(s.addr).await.status;
        if status != 503 {
            break;
        }
    }
    assert_eq!(status, 400, "a request fits again once a body ends");
}
