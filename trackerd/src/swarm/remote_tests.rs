use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const H: InfoHash = InfoHash([9; 20]);
const TIMEOUT: Duration = Duration::from_secs(100);

fn id(n: u8) -> PeerId {
    PeerId([n; 20])
}

fn remote(n: u8, seeder: bool, expires_in_secs: u64) -> RemotePeer {
    RemotePeer {
        swarm: H,
        peer_id: id(n),
        addr: SocketAddr::from(([10, 0, 0, n], 6881)),
        seeder,
        stopped: false,
        completed: false,
        expires_in: Duration::from_secs(expires_in_secs),
    }
}

fn local(n: u8, left: u64, event: Event) -> AnnounceInput {
    AnnounceInput {
        info_hash: H,
        peer_id: id(n),
        addr: SocketAddr::from(([10, 0, 1, n], 6881)),
        left,
        event,
        numwant: 50,
        open_swarm: true,
    }
}

#[test]
fn a_remote_peer_is_handed_to_a_local_announce_and_counted_by_scrape() {
    let s = Swarms::new(4, Limits::default());
    let now = Instant::now();
    assert!(s.apply_remote(&remote(1, true, 100), now, TIMEOUT));
    let out = s
        .announce(
            &local(2, 5, Event::Started),
            now,
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap();
    assert_eq!(out.peers.len(), 1);
    assert_eq!(out.peers[0].addr, remote(1, true, 0).addr);
    let stats = s.scrape(&H).unwrap();
    assert_eq!((stats.complete, stats.incomplete), (1, 1));
}

#[test]
fn a_remote_stopped_removes_the_peer_and_a_remote_completion_is_counted() {
    let s = Swarms::new(4, Limits::default());
    let now = Instant::now();
    s.apply_remote(&remote(1, false, 100), now, TIMEOUT);
    let mut done = remote(1, true, 100);
    done.completed = true;
    s.apply_remote(&done, now, TIMEOUT);
    let stats = s.scrape(&H).unwrap();
    assert_eq!(
        (stats.complete, stats.incomplete, stats.downloaded),
        (1, 0, 1)
    );
    let mut gone = remote(1, true, 100);
    gone.stopped = true;
    s.apply_remote(&gone, now, TIMEOUT);
    let stats = s.scrape(&H).unwrap();
    assert_eq!((stats.complete, stats.incomplete), (0, 0));
    assert_eq!(s.totals().seeders + s.totals().leechers, 0);
}

#[test]
fn a_remote_peer_expires_with_its_row_not_with_the_local_timeout() {
    let s = Swarms::new(4, Limits::default());
    let now = Instant::now();
    // Its row expires in 10 s, far sooner than a local peer would.
    s.apply_remote(&remote(1, false, 10), now, TIMEOUT);
    assert_eq!(s.purge_expired(now + Duration::from_secs(9), TIMEOUT), 0);
    assert_eq!(s.purge_expired(now + Duration::from_secs(12), TIMEOUT), 1);
    // A later row keeps it alive.
    s.apply_remote(&remote(2, false, 10), now, TIMEOUT);
    s.apply_remote(&remote(2, false, 30), now + Duration::from_secs(5), TIMEOUT);
    assert_eq!(s.purge_expired(now + Duration::from_secs(20), TIMEOUT), 0);
    assert_eq!(s.purge_expired(now + Duration::from_secs(37), TIMEOUT), 1);
}

#[test]
fn remote_peers_are_counted_against_their_address_and_released_on_purge() {
    let limits = Limits {
        max_peers_per_address: 1,
        ..Limits::default()
    };
    let s = Swarms::new(4, limits);
    let now = Instant::now();
    let mut other = remote(1, false, 10);
    other.addr = local(2, 5, Event::Started).addr;
    s.apply_remote(&other, now, TIMEOUT);
    // The address holds its one peer already, on another instance.
    let refused = s.announce(
        &local(2, 5, Event::Started),
        now,
        &mut StdRng::seed_from_u64(1),
    );
    assert_eq!(refused, Err(Full::AddressPeers(1)));
    s.purge_expired(now + Duration::from_secs(12), TIMEOUT);
    assert!(
        s.announce(
            &local(2, 5, Event::Started),
            now + Duration::from_secs(12),
            &mut StdRng::seed_from_u64(1)
        )
        .is_ok()
    );
}

#[test]
fn remote_peers_past_max_peers_are_dropped() {
    let limits = Limits {
        max_peers: 1,
        ..Limits::default()
    };
    let s = Swarms::new(4, limits);
    let now = Instant::now();
    assert!(s.apply_remote(&remote(1, false, 10), now, TIMEOUT));
    assert!(!s.apply_remote(&remote(2, false, 10), now, TIMEOUT));
    assert_eq!(s.totals().leechers, 1);
}

#[test]
fn a_batch_over_many_swarms_keeps_each_peers_changes_in_order() {
    let s = Swarms::new(8, Limits::default());
    let now = Instant::now();
    let at = |n: u8, h: u8| RemotePeer {
        swarm: InfoHash([h; 20]),
        ..remote(n, false, 100)
    };
    let mut batch = Vec::new();
    for h in 0..20u8 {
        // Peer 1 joins then leaves; peer 2 joins as a leecher, then seeds
        // and completes; peer 3 leaves first (unknown: nothing) then joins.
        batch.push(at(1, h));
        batch.push(at(3, h));
        batch.push(RemotePeer {
            stopped: true,
            ..at(3, h)
        });
        batch.push(at(2, h));
        batch.push(RemotePeer {
            seeder: true,
            completed: true,
            ..at(2, h)
        });
        batch.push(RemotePeer {
            stopped: true,
            ..at(1, h)
        });
        batch.push(at(3, h));
    }
    // Interleave the swarms as announces on another instance would.
    batch.sort_by_key(|p| (p.peer_id.0[0] as usize * 7 + p.swarm.0[0] as usize) % 11);
    let mut expected = std::collections::HashMap::new();
    for p in &batch {
        expected.insert((p.swarm, p.peer_id), *p);
    }
    assert_eq!(s.apply_remote_batch(&mut batch, now, TIMEOUT), 0);
    for h in 0..20u8 {
        let stats = s.scrape(&InfoHash([h; 20])).unwrap();
        let last = |n: u8| expected[&(InfoHash([h; 20]), id(n))];
        let live: Vec<_> = [1, 2, 3]
            .into_iter()
            .filter(|&n| !last(n).stopped)
            .collect();
        let seeders = live.iter().filter(|&&n| last(n).seeder).count() as u32;
        assert_eq!(stats.complete, seeders, "swarm {h}");
        assert_eq!(stats.incomplete, live.len() as u32 - seeders, "swarm {h}");
        assert_eq!(stats.downloaded, 1, "swarm {h}");
    }
}
