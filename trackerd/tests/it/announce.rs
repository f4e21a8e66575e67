//! Announce and scrape over real HTTP against a server on 127.0.0.1:0.

use std::collections::HashSet;
use std::net::SocketAddr;

use crate::common::*;
use p2p_proto::tracker::{Event, ScrapeResponse, percent_encode};

#[tokio::test]
async fn a_second_peer_gets_the_first_in_a_compact_list() {
    let s = start(|_| {}).await;
    let first = announce(s.addr, &req(hash(1), 1, 1001, 10, Event::Started))
        .await
        .announce();
    assert!(first.peers.is_empty(), "a peer never receives itself");
    assert_eq!(
        (first.complete, first.incomplete, first.interval),
        (0, 1, 1800)
    );
    assert_eq!(first.min_interval, Some(60));

    let r = announce(s.addr, &req(hash(1), 2, 1002, 10, Event::Started)).await;
    assert!(r.body.windows(7).any(|w| w == b"5:peers"));
    let second = r.announce();
    assert_eq!(second.peers.len(), 1);
    assert_eq!(
        second.peers[0].addr,
        "127.0.0.1:1001".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(second.peers[0].id, None, "compact lists carry no ids");
    assert_eq!(second.incomplete, 2);
}

#[tokio::test]
async fn a_dictionary_list_carries_peer_ids_unless_no_peer_id() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 10, Event::Started)).await;
    let mut r = req(hash(1), 2, 1002, 10, Event::Started);
    r.compact = false;
    let got = announce(s.addr, &r).await.announce();
    assert_eq!(got.peers[0].id, Some(peer(1)));
    r.no_peer_id = true;
    let got = announce(s.addr, &r).await.announce();
    assert_eq!(got.peers.len(), 1);
    assert_eq!(got.peers[0].id, None);
}

#[tokio::test]
async fn the_same_ip_and_port_under_another_peer_id_is_not_returned() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 10, Event::Started)).await;
    let got = announce(s.addr, &req(hash(1), 2, 1001, 10, Event::Started))
        .await
        .announce();
    assert!(got.peers.is_empty());
}

#[tokio::test]
async fn seeders_are_not_sent_to_seeders_but_leechers_get_them() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Started)).await;
    let seed2 = announce(s.addr, &req(hash(1), 2, 1002, 0, Event::Started))
        .await
        .announce();
    assert!(seed2.peers.is_empty());
    assert_eq!(seed2.complete, 2);
    let leech = announce(s.addr, &req(hash(1), 3, 1003, 5, Event::Started))
        .await
        .announce();
    assert_eq!(leech.peers.len(), 2);
}

#[tokio::test]
async fn stopped_removes_the_peer_and_completed_is_counted_in_scrape() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 10, Event::Started)).await;
    announce(s.addr, &req(hash(1), 2, 1002, 10, Event::Started)).await;
    let done = announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Completed))
        .await
        .announce();
    assert_eq!((done.complete, done.incomplete), (1, 1));
    let stopped = announce(s.addr, &req(hash(1), 2, 1002, 10, Event::Stopped))
        .await
        .announce();
    assert!(stopped.peers.is_empty());
    assert_eq!((stopped.complete, stopped.incomplete), (1, 0));

    let sc = get(s.addr, &scrape_target(&[hash(1), hash(2)])).await;
    let sc = ScrapeResponse::from_bytes(&sc.body).unwrap();
    assert_eq!(sc.files.len(), 2);
    let one = sc.files.iter().find(|(h, _)| *h == hash(1)).unwrap().1;
    assert_eq!((one.complete, one.downloaded, one.incomplete), (1, 1, 0));
    let two = sc.files.iter().find(|(h, _)| *h == hash(2)).unwrap().1;
    assert_eq!((two.complete, two.downloaded, two.incomplete), (0, 0, 0));
}

#[tokio::test]
async fn numwant_is_honoured_and_capped() {
    let s = start(|c| {
        c.announce.max_numwant = 20;
        // 30 peers from one address: past the default per-address cap.
        c.announce.max_peers_per_address_per_torrent = 0;
    })
    .await;
    for n in 0..30u32 {
        announce(
            s.addr,
            &req(hash(1), n, 2000 + n as u16, 10, Event::Started),
        )
        .await;
    }
    let mut r = req(hash(1), 99, 9999, 10, Event::Started);
    r.numwant = Some(5);
    assert_eq!(announce(s.addr, &r).await.announce().peers.len(), 5);
    r.numwant = Some(4_000_000_000);
    let got = announce(s.addr, &r).await.announce();
    assert_eq!(got.peers.len(), 20, "capped at max_numwant");
    let distinct: HashSet<_> = got.peers.iter().map(|p| p.addr).collect();
    assert_eq!(distinct.len(), 20);
    r.numwant = None;
    assert_eq!(announce(s.addr, &r).await.announce().peers.len(), 20);
    r.numwant = Some(0);
    assert!(announce(s.addr, &r).await.announce().peers.is_empty());
}

#[tokio::test]
async fn ipv6_peers_come_in_peers6_and_ipv4_peers_in_peers() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(dir, "[::]:0", |_| {}).await;
    let v6: SocketAddr = format!("[::1]:{}", s.addr.port()).parse().unwrap();
    let v4: SocketAddr = format!("127.0.0.1:{}", s.addr.port()).parse().unwrap();
    announce(v6, &req(hash(1), 1, 1001, 10, Event::Started)).await;
    announce(v4, &req(hash(1), 2, 1002, 10, Event::Started)).await;
    let r = announce(v6, &req(hash(1), 3, 1003, 10, Event::Started)).await;
    let v = p2p_proto::bencode::decode(&r.body).unwrap();
    assert_eq!(v.get("peers6").unwrap().as_bytes().unwrap().len(), 18);
    assert_eq!(v.get("peers").unwrap().as_bytes().unwrap().len(), 6);
    let got: HashSet<SocketAddr> = r.announce().peers.iter().map(|p| p.addr).collect();
    let want: HashSet<SocketAddr> = [
        "[::1]:1001".parse().unwrap(),
        "127.0.0.1:1002".parse().unwrap(),
    ]
    .into();
    assert_eq!(
        got, want,
        "an IPv4 client seen on a dual-stack socket stays IPv4"
    );

    let mut r = req(hash(1), 4, 1004, 10, Event::Started);
    r.compact = false;
    let got = announce(v4, &r).await.announce();
    assert_eq!(got.peers.len(), 3);
    assert!(
        got.peers
            .iter()
            .any(|p| p.addr == "[::1]:1001".parse().unwrap())
    );
}

#[tokio::test]
async fn the_ip_parameter_is_never_believed_and_x_forwarded_for_only_from_trusted_proxies() {
    let s = start(|_| {}).await;
    let mut r = req(hash(1), 1, 1001, 10, Event::Started);
    r.ip = Some("10.9.9.9".parse().unwrap());
    announce(s.addr, &r).await;
    let target = format!(
        "/announce?{}",
        req(hash(1), 2, 1002, 10, Event::Started).to_query_string()
    );
    Request::get(&target)
        .header("X-Forwarded-For", "10.8.8.8")
        .send(s.addr)
        .await;
    let got = announce(s.addr, &req(hash(1), 3, 1003, 10, Event::Started))
        .await
        .announce();
    let ips: HashSet<String> = got.peers.iter().map(|p| p.addr.ip().to_string()).collect();
    assert_eq!(ips, HashSet::from(["127.0.0.1".to_owned()]));

    let s = start(|c| c.announce.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    announce(s.addr, &r).await;
    Request::get(&target)
        .header("X-Forwarded-For", "10.7.7.7, 10.8.8.8")
        .send(s.addr)
        .await;
    let got = announce(s.addr, &req(hash(1), 3, 1003, 10, Event::Started))
        .await
        .announce();
    let addrs: HashSet<String> = got.peers.iter().map(|p| p.addr.to_string()).collect();
    // Behind the proxy the end client's `ip=` is its own choice: ignored
    // too (the proxy named no client, so its own address counts).
    assert_eq!(
        addrs,
        HashSet::from(["127.0.0.1:1001".to_owned(), "10.8.8.8:1002".to_owned()])
    );
}

#[tokio::test]
async fn scrape_takes_many_hashes_and_full_scrape_is_off_by_default() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Started)).await;
    announce(s.addr, &req(hash(2), 1, 1001, 5, Event::Started)).await;
    let r = get(s.addr, &scrape_target(&[hash(1), hash(2), hash(1)])).await;
    let sc = ScrapeResponse::from_bytes(&r.body).unwrap();
    assert_eq!(sc.files.len(), 2);
    assert_eq!(
        get(s.addr, "/scrape").await.failure(),
        "full scrape is disabled; pass one or more info_hash"
    );
    assert_eq!(
        get(s.addr, "/scrape?info_hash=abc").await.failure(),
        "info_hash must be 20 bytes, got 3"
    );

    let s = start(|c| c.announce.full_scrape = true).await;
    announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Started)).await;
    announce(s.addr, &req(hash(2), 1, 1001, 5, Event::Started)).await;
    let sc = ScrapeResponse::from_bytes(&get(s.addr, "/scrape").await.body).unwrap();
    assert_eq!(sc.files.len(), 2);
}

#[tokio::test]
async fn binary_info_hashes_survive_percent_decoding() {
    let s = start(|_| {}).await;
    let h = p2p_proto::infohash::InfoHash(*b"\x00+%&= \xff\xfe\x80?#abcdefghi");
    announce(s.addr, &req(h, 1, 1001, 0, Event::Started)).await;
    let t = format!("/scrape?info_hash={}", percent_encode(&h.0));
    let sc = ScrapeResponse::from_bytes(&get(s.addr, &t).await.body).unwrap();
    assert_eq!(sc.files[0].0, h);
    assert_eq!(sc.files[0].1.complete, 1);
}

#[tokio::test]
async fn announce_responses_are_text_plain_with_status_200() {
    let s = start(|_| {}).await;
    let r = announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Started)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{}",
        r.head
    );
}
