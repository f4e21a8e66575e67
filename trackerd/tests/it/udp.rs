//! UDP announces and scrapes (BEP 15) against a real trackerd, from a real
//! UDP socket: the same swarms as HTTP, group torrents by the passkey in
//! BEP 41 URL data, connection ids checked, hostile datagrams refused or
//! ignored while the tracker goes on answering.

use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::udp::{UdpAnnounce, UdpRequest, UdpResponse};
use p2p_proto::tracker::{Event, ScrapeStats};
use tokio::net::UdpSocket;

use crate::common::api::*;
use crate::common::{peer, req, start};

/// A client socket talking to the tracker at `tracker` (same port number
/// as its HTTP listener).
struct Client {
    socket: UdpSocket,
    next_tid: u32,
}

impl Client {
    async fn new(tracker: SocketAddr) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(tracker).await.unwrap();
        Client {
            socket,
            next_tid: 1,
        }
    }

    fn tid(&mut self) -> u32 {
        self.next_tid += 1;
        self.next_tid
    }

    /// Sends `bytes` and reads the next answer (bounded wait).
    async fn ask(&self, bytes: &[u8]) -> UdpResponse {
        self.socket.send(bytes).await.unwrap();
        self.read().await
    }

    async fn read(&self) -> UdpResponse {
        let mut buf = [0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(10), self.socket.recv(&mut buf))
            .await
            .expect("no answer from the tracker within 10 s")
            .unwrap();
        UdpResponse::decode(&buf[..n], false).unwrap()
    }

    async fn connect(&mut self) -> u64 {
        let tid = self.tid();
        match self
            .ask(
                &UdpRequest::Connect {
                    transaction_id: tid,
                }
                .encode(),
            )
            .await
        {
            UdpResponse::Connect {
                transaction_id,
                connection_id,
            } if transaction_id == tid => connection_id,
            other => panic!("not a connect answer: {other:?}"),
        }
    }

    async fn announce(&mut self, connection_id: u64, announce: UdpAnnounce) -> UdpResponse {
        let transaction_id = self.tid();
        let answer = self
            .ask(
                &UdpRequest::Announce {
                    connection_id,
                    transaction_id,
                    announce,
                }
                .encode(),
            )
            .await;
        assert_eq!(answer.transaction_id(), transaction_id);
        answer
    }
}

fn announce(h: InfoHash, n: u32, port: u16, left: u64, url_data: &str) -> UdpAnnounce {
    UdpAnnounce {
        info_hash: h,
        peer_id: peer(n),
        downloaded: 0,
        left,
        uploaded: 0,
        event: Event::Started,
        key: n,
        num_want: None,
        port,
        url_data: url_data.as_bytes().to_vec(),
    }
}

fn peers(answer: &UdpResponse) -> Vec<SocketAddr> {
    match answer {
        UdpResponse::Announce { response, .. } => response.peers.iter().map(|p| p.addr).collect(),
        other => panic!("not an announce answer: {other:?}"),
    }
}

#[tokio::test]
async fn a_udp_announce_joins_the_same_swarm_as_http_and_a_scrape_counts_each_hash_asked() {
    let s = start(|_| {}).await;
    let h = InfoHash([0x11; 20]);
    // A seeder announces over HTTP, a leecher over UDP: each sees the other.
    let r = crate::common::announce(s.addr, &req(h, 1, 7001, 0, Event::Started)).await;
    assert_eq!(r.status, 200);
    let mut c = Client::new(s.addr).await;
    let id = c.connect().await;
    let answer = c.announce(id, announce(h, 2, 7002, 100, "/announce")).await;
    assert_eq!(
        peers(&answer),
        ["127.0.0.1:7001".parse::<SocketAddr>().unwrap()]
    );
    let UdpResponse::Announce { response, .. } = &answer else {
        unreachable!()
    };
    assert_eq!(
        (response.interval, response.complete, response.incomplete),
        (1800, 1, 1)
    );

    // The id serves again, for a scrape of two hashes, one twice.
    let unknown = InfoHash([0x22; 20]);
    let tid = c.tid();
    let scrape = UdpRequest::Scrape {
        connection_id: id,
        transaction_id: tid,
        info_hashes: vec![h, unknown, h],
    };
    let seen = ScrapeStats {
        complete: 1,
        downloaded: 0,
        incomplete: 1,
    };
    assert_eq!(
        c.ask(&scrape.encode()).await,
        UdpResponse::Scrape {
            transaction_id: tid,
            stats: vec![seen, ScrapeStats::default(), seen],
        }
    );
}

#[tokio::test]
async fn a_group_torrent_over_udp_needs_a_members_passkey_in_the_url_data() {
    let s = start(|_| {}).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (_, carol_pk) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "f.bin", "team");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let mut c = Client::new(s.addr).await;
    let id = c.connect().await;
    let first = c
        .announce(
            id,
            announce(h, 1, 7001, 0, &format!("/announce/{alice_pk}")),
        )
        .await;
    assert_eq!(peers(&first), []);
    let second = c
        .announce(
            id,
            announce(h, 2, 7002, 10, &format!("/announce/{alice_pk}?x=1")),
        )
        .await;
    assert_eq!(
        peers(&second),
        ["127.0.0.1:7001".parse::<SocketAddr>().unwrap()]
    );
    // A non-member, and no passkey at all, never see the member's peers.
    for url_data in [format!("/announce/{carol_pk}"), "/announce".to_owned()] {
        let outsider = c.announce(id, announce(h, 3, 7003, 10, &url_data)).await;
        assert_eq!(peers(&outsider), [], "{url_data}");
    }
    // An unknown passkey is refused in words.
    let refused = c
        .announce(
            id,
            announce(h, 4, 7004, 10, &format!("/announce/{}", "0".repeat(32))),
        )
        .await;
    assert!(
        matches!(&refused, UdpResponse::Error { message, .. } if message.contains("passkey")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_wrong_connection_id_and_hostile_datagrams_are_refused_and_the_tracker_goes_on() {
    let s = start(|_| {}).await;
    let h = InfoHash([0x33; 20]);
    let mut c = Client::new(s.addr).await;
    let made_up = c.announce(12345, announce(h, 1, 7001, 0, "")).await;
    assert!(
        matches!(&made_up, UdpResponse::Error { message, .. } if message == "connection id expired"),
        "{made_up:?}"
    );
    let id = c.connect().await;
    // Under a valid id, a bad packet is refused with the reason.
    let mut bad_event = UdpRequest::Announce {
        connection_id: id,
        transaction_id: 77,
        announce: announce(h, 1, 7001, 0, ""),
    }
    .encode();
    bad_event[83] = 9;
    assert_eq!(
        c.ask(&bad_event).await,
        UdpResponse::Error {
            transaction_id: 77,
            message: "unknown announce event 9".into()
        }
    );
    let port_zero = c.announce(id, announce(h, 1, 0, 0, "")).await;
    assert!(
        matches!(port_zero, UdpResponse::Error { .. }),
        "{port_zero:?}"
    );
    let bad_path = c.announce(id, announce(h, 1, 7001, 0, "/scrape")).await;
    assert!(
        matches!(bad_path, UdpResponse::Error { .. }),
        "{bad_path:?}"
    );
    // Garbage without a valid id gets no answer at all: the next datagram
    // read is the answer to the connect sent after it.
    for junk in [&b"x"[..], &[0u8; 15], &[0xffu8; 16], &[7u8; 1400]] {
        c.socket.send(junk).await.unwrap();
    }
    let again = c.connect().await;
    let fine = c.announce(again, announce(h, 1, 7001, 0, "")).await;
    assert_eq!(peers(&fine), []);
}

#[tokio::test]
async fn a_flood_of_forged_datagrams_from_many_ports_gets_no_more_bytes_back_than_it_sent_and_no_memory()
 {
    let dir = tempfile::tempdir().unwrap();
    let tracker = crate::common::process::spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    let pid = tracker.child.id();
    let h = InfoHash([0x44; 20]);
    let mut warm = Client::new(tracker.addr).await;
    let id = warm.connect().await;
    warm.announce(id, announce(h, 1, 7001, 0, "")).await;
    let before = crate::common::attack::rss_kib(pid);

    // 64 source ports at once, each sending 200 datagrams: scrapes and
    // announces under forged ids, junk with and without a header.
    let mut floods = tokio::task::JoinSet::new();
    for port in 0..64u32 {
        let addr = tracker.addr;
        floods.spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            socket.connect(addr).await.unwrap();
            let mut sent = 0;
            for i in 0..200u32 {
                let forged = (u64::from(port) << 32) | u64::from(i);
                let datagram = match i % 4 {
                    0 => UdpRequest::Scrape {
                        connection_id: forged,
                        transaction_id: i,
                        info_hashes: vec![h],
                    }
                    .encode(),
                    1 => UdpRequest::Announce {
                        connection_id: forged,
                        transaction_id: i,
                        announce: announce(InfoHash([i as u8; 20]), i, 7000, 1, ""),
                    }
                    .encode(),
                    2 => vec![(i % 251) as u8; 16 + (i as usize % 1400)],
                    _ => vec![0u8; i as usize % 16],
                };
                sent += datagram.len();
                socket.send(&datagram).await.unwrap();
            }
            // What comes back until the tracker has been quiet for 300 ms.
            let mut back = 0;
            let mut buf = [0u8; 2048];
            while let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(300), socket.recv(&mut buf)).await
            {
                back += n;
            }
            (port, sent, back)
        });
    }
    let (mut sent_total, mut back_total) = (0, 0);
    while let Some(done) = floods.join_next().await {
        let (port, sent, back) = done.unwrap();
        assert!(
            back <= sent,
            "port {port}: {back} bytes back for {sent} sent"
        );
        sent_total += sent;
        back_total += back;
    }
    let after = crate::common::attack::rss_kib(pid);
    eprintln!(
        "sent {sent_total} bytes in 12,800 forged datagrams, got {back_total} back; RSS {before} -> {after} KiB"
    );
    assert!(back_total > 0, "forged ids are still told they are expired");
    assert!(
        after < before + 4096,
        "trackerd grew from {before} to {after} KiB under the flood"
    );
    // And it still serves.
    let mut c = Client::new(tracker.addr).await;
    let id = c.connect().await;
    let fine = c.announce(id, announce(h, 2, 7002, 5, "")).await;
    assert_eq!(
        peers(&fine),
        ["127.0.0.1:7001".parse::<SocketAddr>().unwrap()]
    );
}

#[tokio::test]
async fn a_burst_from_several_sockets_is_answered_datagram_by_datagram_to_each_sender() {
    // Sent before any answer is read, so the tracker takes them in batches
    // of several senders: each answer must go to its own sender, under its
    // own transaction id.
    let s = start(|_| {}).await;
    let h = InfoHash([0x55; 20]);
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(Client::new(s.addr).await);
    }
    for (k, c) in clients.iter().enumerate() {
        for i in 0..16u32 {
            let transaction_id = (k as u32) << 16 | i;
            let connect = UdpRequest::Connect { transaction_id }.encode();
            c.socket.send(&connect).await.unwrap();
        }
    }
    for (k, c) in clients.iter_mut().enumerate() {
        let mut seen = Vec::new();
        let mut id = 0;
        for _ in 0..16 {
            match c.read().await {
                UdpResponse::Connect {
                    transaction_id,
                    connection_id,
                } => {
                    seen.push(transaction_id);
                    id = connection_id;
                }
                other => panic!("not a connect answer: {other:?}"),
            }
        }
        seen.sort_unstable();
        let asked: Vec<u32> = (0..16).map(|i| (k as u32) << 16 | i).collect();
        assert_eq!(seen, asked, "socket {k}");
        // The id is this socket's: an announce under it is served.
        let port = 7100 + k as u16;
        let served = c.announce(id, announce(h, k as u32, port, 1, "")).await;
        assert!(matches!(served, UdpResponse::Announce { .. }), "{served:?}");
    }
}
