//! Two trackerd instances on one PostgreSQL database share their swarms
//! (issue 16, item 2): a peer announcing to one is handed out by the
//! other, a `stopped` on one removes it from both, scrapes agree, and a
//! group torrent published through one is private on the other at once.
//! PostgreSQL-only (they return at once on SQLite and say so on stderr;
//! scripts/test runs them on a throwaway PostgreSQL).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{Event, ScrapeResponse, ScrapeStats};

use crate::common::api::*;
use crate::common::*;

/// How long a change may take to reach the other instance before the test
/// fails (the bench measures how long it does take: bench/cluster_latency.sh).
const WITHIN: Duration = Duration::from_secs(10);

/// Polls `check` until it gives `Some`, for at most [`WITHIN`].
async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + WITHIN;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The peers (addresses) an announce of peer `n` to `addr` is given.
async fn peers_for(addr: SocketAddr, h: InfoHash, n: u32, left: u64) -> Vec<SocketAddr> {
    let r = announce(addr, &req(h, n, 7000 + n as u16, left, Event::None)).await;
    r.announce().peers.iter().map(|p| p.addr).collect()
}

async fn scrape_of(addr: SocketAddr, h: InfoHash) -> ScrapeStats {
    let r = get(addr, &scrape_target(&[h])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sc = ScrapeResponse::from_bytes(&r.body).unwrap();
    sc.files.iter().find(|(f, _)| *f == h).map(|f| f.1).unwrap()
}

#[tokio::test]
async fn a_peer_announcing_to_one_instance_is_handed_out_by_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let h = hash(1);
    announce(a.addr, &req(h, 1, 7001, 10, Event::Started)).await;
    let got = until("A's peer on B", || async {
        let peers = peers_for(b.addr, h, 2, 10).await;
        peers.contains(&at(7001)).then_some(peers)
    })
    .await;
    assert_eq!(got, vec![at(7001)], "B hands out A's peer, never B's own");
    // And the other way round: A hands out the peer that announced to B.
    let on_a = until("B's peer on A", || async {
        let peers = peers_for(a.addr, h, 1, 10).await;
        peers.contains(&at(7002)).then_some(peers)
    })
    .await;
    assert_eq!(on_a, vec![at(7002)]);
}

#[tokio::test]
async fn a_stopped_on_one_instance_removes_the_peer_from_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let h = hash(2);
    announce(a.addr, &req(h, 1, 7001, 10, Event::Started)).await;
    until("A's peer on B", || async {
        peers_for(b.addr, h, 2, 10)
            .await
            .contains(&at(7001))
            .then_some(())
    })
    .await;
    let r = announce(a.addr, &req(h, 1, 7001, 10, Event::Stopped)).await;
    assert!(r.announce().peers.is_empty());
    until("the stopped peer gone from B", || async {
        peers_for(b.addr, h, 2, 10).await.is_empty().then_some(())
    })
    .await;
    // A `stopped` sent to B for a peer that announced to A removes it on A.
    announce(a.addr, &req(h, 3, 7003, 10, Event::Started)).await;
    until("the third peer on B", || async {
        let s = scrape_of(b.addr, h).await;
        (s.incomplete == 2).then_some(())
    })
    .await;
    announce(b.addr, &req(h, 3, 7003, 10, Event::Stopped)).await;
    until("the peer stopped on B gone from A", || async {
        let s = scrape_of(a.addr, h).await;
        (s.incomplete == 1).then_some(())
    })
    .await;
    assert!(!peers_for(a.addr, h, 4, 10).await.contains(&at(7003)));
}

#[tokio::test]
async fn an_instance_started_later_finds_the_peers_left_and_not_the_stopped_ones() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let h = hash(4);
    announce(a.addr, &req(h, 1, 7001, 10, Event::Started)).await;
    announce(a.addr, &req(h, 2, 7002, 10, Event::Started)).await;
    until("A's peers on B", || async {
        let s = scrape_of(b.addr, h).await;
        (s.incomplete == 2).then_some(())
    })
    .await;
    // The stop goes out in a later batch than the start it undoes.
    announce(a.addr, &req(h, 1, 7001, 10, Event::Stopped)).await;
    until("the stopped peer gone from B", || async {
        let s = scrape_of(b.addr, h).await;
        (s.incomplete == 1).then_some(())
    })
    .await;
    // C reads every batch kept, in order, when it starts.
    let c = second_instance(&a).await.expect("a database to share");
    let got = until("A's remaining peer on C", || async {
        let peers = peers_for(c.addr, h, 3, 10).await;
        peers.contains(&at(7002)).then_some(peers)
    })
    .await;
    assert_eq!(got, vec![at(7002)], "C never hands out the stopped peer");
}

#[tokio::test]
async fn scrapes_on_both_instances_count_every_instances_peers_and_completions() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let h = hash(3);
    announce(a.addr, &req(h, 1, 7001, 0, Event::Started)).await;
    announce(a.addr, &req(h, 2, 7002, 10, Event::Started)).await;
    announce(b.addr, &req(h, 3, 7003, 10, Event::Started)).await;
    // Peer 3 completes on B: a download counted once, by both.
    announce(b.addr, &req(h, 3, 7003, 0, Event::Completed)).await;
    let want = ScrapeStats {
        complete: 2,
        downloaded: 1,
        incomplete: 1,
    };
    for (name, addr) in [("A", a.addr), ("B", b.addr)] {
        let got = until(name, || async {
            let s = scrape_of(addr, h).await;
            (s == want).then_some(s)
        })
        .await;
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn a_group_torrent_published_on_one_instance_is_private_on_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let (alice, alice_pk) = user(a.addr, "alice").await;
    let (_, bob_pk) = user(a.addr, "bob").await;
    group_with(a.addr, "team", &alice, &[]).await;
    let (bytes, h) = private_torrent(a.dir.path(), "f.bin", "team");
    let r = request(
        a.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // B learns of it from the database, not from a restart.
    let b_access = &b.running.as_ref().unwrap().tracker.community.access;
    until("the group torrent in B's index", || async {
        b_access.is_group_only(&h).then_some(())
    })
    .await;

    // Alice seeds through A; through B, she is a member, bob is not.
    passkey_announce(a.addr, &alice_pk, &req(h, 1, 7001, 0, Event::Started)).await;
    let member = until("alice's seeder for alice on B", || async {
        let r = passkey_announce(b.addr, &alice_pk, &req(h, 2, 7002, 10, Event::Started)).await;
        let peers: Vec<_> = r.announce().peers.iter().map(|p| p.addr).collect();
        peers.contains(&at(7001)).then_some(peers)
    })
    .await;
    assert_eq!(member, vec![at(7001)]);
    // Bob gets on B what he gets on A: the outsiders' swarm of an unknown
    // torrent (open mode), none of the members' peers, counts of zero.
    for (name, addr, n) in [("A", a.addr, 3), ("B", b.addr, 6)] {
        let r = passkey_announce(
            addr,
            &bob_pk,
            &req(h, n, 7000 + n as u16, 10, Event::Started),
        )
        .await;
        let got = r.announce();
        assert!(
            !got.peers
                .iter()
                .any(|p| p.addr == at(7001) || p.addr == at(7002)),
            "{name} gave bob a member: {:?}",
            got.peers
        );
        assert_eq!(got.complete, 0, "{name}");
        // Anonymous scrapes see the outsiders' swarm only.
        assert_eq!(scrape_of(addr, h).await.complete, 0, "{name}");
        let r = announce(addr, &req(h, 4, 7004, 10, Event::Started)).await;
        assert!(
            !r.announce().peers.iter().any(|p| p.addr == at(7001)),
            "{name}"
        );
    }
    // Outsiders of the two instances share their swarm as an unknown
    // torrent's peers would be shared: bob's peer on A reaches B's outsiders.
    until("bob's outsider peer on B", || async {
        let r = announce(b.addr, &req(h, 5, 7005, 10, Event::None)).await;
        r.announce()
            .peers
            .iter()
            .any(|p| p.addr == at(7003))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_torrent_registered_on_one_instance_is_admitted_by_the_other_in_catalog_mode() {
    let a = start(|c| c.mode = trackerd::config::Mode::Catalog).await;
    let Some(b) =
        crate::common::second_instance_with(&a, |c| c.mode = trackerd::config::Mode::Catalog).await
    else {
        return;
    };
    let (bytes, h) = make_torrent(a.dir.path(), "c.bin", 20_000, "http://x/announce");
    let refused = announce(b.addr, &req(h, 1, 7001, 10, Event::Started)).await;
    assert!(
        refused.failure().contains("not registered"),
        "{}",
        refused.text()
    );
    let r = post(a.addr, "/api/v1/torrents", &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b_tracker = b.running.as_ref().unwrap().tracker.clone();
    until("the registration on B", || async {
        b_tracker.is_registered(&h).then_some(())
    })
    .await;
    let r = announce(b.addr, &req(h, 1, 7001, 10, Event::Started)).await;
    assert_eq!(r.announce().incomplete, 1);
}
