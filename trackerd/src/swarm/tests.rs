use std::collections::HashSet;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const H: InfoHash = InfoHash([7; 20]);

fn id(n: u32) -> PeerId {
    let mut b = [b'p'; 20];
    b[..4].copy_from_slice(&n.to_be_bytes());
    PeerId(b)
}

fn addr(n: u32) -> SocketAddr {
    SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 6881))
}

fn input(n: u32, left: u64, event: Event) -> AnnounceInput {
    AnnounceInput {
        info_hash: H,
        peer_id: id(n),
        addr: addr(n),
        left,
        event,
        numwant: 50,
        open_swarm: true,
    }
}

struct World {
    swarms: Swarms,
    t0: Instant,
    rng: StdRng,
}

impl World {
    fn new() -> Self {
        World {
            swarms: Swarms::new(4, Limits::default()),
            t0: Instant::now(),
            rng: StdRng::seed_from_u64(7),
        }
    }
    fn at(&mut self, secs: u64, a: AnnounceInput) -> AnnounceOutcome {
        self.swarms
            .announce(&a, self.t0 + Duration::from_secs(secs), &mut self.rng)
            .unwrap()
    }
    fn go(&mut self, a: AnnounceInput) -> AnnounceOutcome {
        self.at(0, a)
    }
}

#[test]
fn a_peer_never_receives_itself() {
    let mut w = World::new();
    let out = w.go(input(1, 10, Event::Started));
    assert!(out.peers.is_empty());
    assert_eq!((out.complete, out.incomplete), (0, 1));
    let out = w.go(input(1, 10, Event::None));
    assert!(out.peers.is_empty());
    assert_eq!(
        out.incomplete, 1,
        "re-announcing does not add a second entry"
    );
}

#[test]
fn a_peer_never_receives_its_own_address_under_another_peer_id() {
    let mut w = World::new();
    w.go(input(1, 10, Event::Started));
    let mut again = input(2, 10, Event::Started);
    again.addr = addr(1);
    let out = w.go(again);
    assert!(out.peers.is_empty());
    let out = w.go(input(3, 10, Event::Started));
    assert_eq!(out.peers.len(), 2);
}

#[test]
fn leechers_get_seeders_and_leechers_with_their_ids() {
    let mut w = World::new();
    w.go(input(1, 0, Event::Started));
    w.go(input(2, 5, Event::Started));
    let out = w.go(input(3, 5, Event::Started));
    let got: HashSet<_> = out.peers.iter().map(|p| (p.id, p.addr)).collect();
    assert_eq!(
        got,
        HashSet::from([(Some(id(1)), addr(1)), (Some(id(2)), addr(2))])
    );
    assert_eq!((out.complete, out.incomplete), (1, 2));
}

#[test]
fn seeders_are_not_sent_to_seeders() {
    let mut w = World::new();
    w.go(input(1, 0, Event::Started));
    w.go(input(2, 5, Event::Started));
    let out = w.go(input(3, 0, Event::Started));
    assert_eq!(out.peers.len(), 1);
    assert_eq!(out.peers[0].id, Some(id(2)));
}

#[test]
fn stopped_removes_the_peer_and_returns_no_peers() {
    let mut w = World::new();
    w.go(input(1, 0, Event::Started));
    w.go(input(2, 5, Event::Started));
    let out = w.go(input(2, 5, Event::Stopped));
    assert!(out.peers.is_empty());
    assert_eq!((out.complete, out.incomplete), (1, 0));
    let out = w.go(input(3, 5, Event::Started));
    assert_eq!(out.peers.len(), 1);
}

#[test]
fn stopped_for_an_unknown_swarm_creates_nothing() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Stopped));
    assert_eq!(w.swarms.totals(), Totals::default());
}

#[test]
fn completed_counts_a_download_once_and_turns_the_peer_into_a_seeder() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Started));
    let out = w.go(input(1, 0, Event::Completed));
    assert!(out.counted_completion);
    assert_eq!((out.complete, out.incomplete), (1, 0));
    let out = w.go(input(1, 0, Event::Completed));
    assert!(
        !out.counted_completion,
        "a repeated completed is not counted"
    );
    assert_eq!(w.swarms.scrape(&H).unwrap().downloaded, 1);
    w.go(input(2, 0, Event::Completed));
    assert_eq!(w.swarms.scrape(&H).unwrap().downloaded, 2);
}

#[test]
fn a_known_leecher_that_stops_with_nothing_left_counts_as_a_download() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Started));
    let out = w.go(input(1, 0, Event::Stopped));
    assert!(out.counted_completion);
    assert_eq!(w.swarms.scrape(&H).unwrap().downloaded, 1);
    // A seeder that starts and stops is not a download.
    w.go(input(2, 0, Event::Started));
    assert!(!w.go(input(2, 0, Event::Stopped)).counted_completion);
    assert!(
        !w.go(input(3, 0, Event::Stopped)).counted_completion,
        "unknown peer"
    );
    assert_eq!(w.swarms.scrape(&H).unwrap().downloaded, 1);
}

#[test]
fn a_leecher_that_becomes_a_seeder_moves_between_counts() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Started));
    let out = w.go(input(1, 0, Event::None));
    assert_eq!((out.complete, out.incomplete), (1, 0));
    assert!(out.counted_completion, "leecher to seeder is a download");
    let out = w.go(input(1, 3, Event::None));
    assert_eq!((out.complete, out.incomplete), (0, 1));
}

#[test]
fn peers_that_stop_announcing_expire() {
    let mut w = World::new();
    let timeout = Duration::from_secs(100);
    w.at(0, input(1, 0, Event::Started));
    w.at(60, input(2, 5, Event::Started));
    assert_eq!(
        w.swarms
            .purge_expired(w.t0 + Duration::from_secs(100), timeout),
        0
    );
    assert_eq!(
        w.swarms
            .purge_expired(w.t0 + Duration::from_secs(101), timeout),
        1
    );
    assert_eq!(w.swarms.scrape(&H).unwrap().complete, 0);
    w.at(150, input(2, 5, Event::None));
    assert_eq!(
        w.swarms
            .purge_expired(w.t0 + Duration::from_secs(200), timeout),
        0
    );
    assert_eq!(
        w.swarms
            .purge_expired(w.t0 + Duration::from_secs(251), timeout),
        1
    );
    assert_eq!(
        w.swarms.totals().torrents,
        0,
        "an empty swarm with no history goes too"
    );
}

#[test]
fn an_expired_swarm_with_completions_keeps_its_counter() {
    let mut w = World::new();
    w.at(0, input(1, 0, Event::Completed));
    w.swarms
        .purge_expired(w.t0 + Duration::from_secs(500), Duration::from_secs(1));
    let s = w.swarms.scrape(&H).unwrap();
    assert_eq!((s.complete, s.incomplete, s.downloaded), (0, 0, 1));
}

#[test]
fn large_swarms_give_a_random_subset_of_numwant() {
    let mut w = World::new();
    for n in 1..=300 {
        w.go(input(n, 5, Event::Started));
    }
    let mut me = input(1000, 5, Event::Started);
    me.numwant = 50;
    let a = w.go(me);
    let b = w.go(me);
    assert_eq!(a.peers.len(), 50);
    assert_eq!(b.peers.len(), 50);
    let ids: HashSet<_> = a.peers.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 50, "no duplicates");
    assert!(!ids.contains(&Some(id(1000))));
    assert_ne!(a.peers, b.peers, "two picks differ");
}

#[test]
fn a_seeder_in_a_seeder_heavy_swarm_still_gets_every_leecher() {
    let mut w = World::new();
    for n in 1..=200 {
        w.go(input(n, 0, Event::Started));
    }
    for n in 201..=205 {
        w.go(input(n, 5, Event::Started));
    }
    let mut me = input(1000, 0, Event::Started);
    me.numwant = 10;
    let out = w.go(me);
    assert_eq!(out.peers.len(), 5);
    assert!(
        out.peers
            .iter()
            .all(|p| p.addr.ip().to_string().starts_with("10.0.0."))
    );
}

#[test]
fn numwant_zero_returns_counts_but_no_peers() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Started));
    let mut me = input(2, 5, Event::Started);
    me.numwant = 0;
    let out = w.go(me);
    assert!(out.peers.is_empty());
    assert_eq!(out.incomplete, 2);
}

#[test]
fn ipv6_and_ipv4_peers_share_a_swarm() {
    let mut w = World::new();
    let mut v6 = input(1, 5, Event::Started);
    v6.addr = "[2001:db8::1]:6881".parse().unwrap();
    w.go(v6);
    let out = w.go(input(2, 5, Event::Started));
    assert_eq!(out.peers[0].addr, v6.addr);
}

fn v6(n: u32) -> SocketAddr {
    // A /64 each: the per-address caps count an IPv6 /64 as one address.
    SocketAddr::from((
        [0x2001, 0xdb8, (n >> 16) as u16, n as u16, 0, 0, 0, 1],
        6881,
    ))
}

/// A sink of one family, as a UDP answer is.
struct OneFamily {
    v6: bool,
    got: Vec<Peer>,
}

impl PeerSink for OneFamily {
    fn wants(&self, v6: bool) -> bool {
        v6 == self.v6
    }
    fn push(&mut self, compact: &[u8], id: &PeerId) {
        self.got.push(Peer {
            id: Some(*id),
            addr: peers::socket_addr(compact),
        });
    }
}

#[test]
fn a_sink_of_one_family_gets_numwant_peers_of_that_family_never_the_caller() {
    let mut w = World::new();
    for n in 1..=200 {
        let mut a = input(n, 5, Event::Started);
        if n.is_multiple_of(2) {
            a.addr = v6(n);
        }
        w.go(a);
    }
    for (me, family_v6) in [(2, true), (3, false)] {
        for _ in 0..20 {
            let mut sink = OneFamily {
                v6: family_v6,
                got: Vec::new(),
            };
            let mut a = input(me, 5, Event::None);
            if family_v6 {
                a.addr = v6(me);
            }
            a.numwant = 30;
            w.swarms
                .announce_into(&a, w.t0, &mut w.rng, &mut sink)
                .unwrap();
            assert_eq!(sink.got.len(), 30);
            assert!(sink.got.iter().all(|p| p.addr.is_ipv6() == family_v6));
            assert!(sink.got.iter().all(|p| p.id != Some(id(me))));
            let ids: HashSet<_> = sink.got.iter().map(|p| p.id).collect();
            assert_eq!(ids.len(), 30, "no duplicates");
        }
    }
}

#[test]
fn a_large_swarm_never_hands_a_peer_itself_and_a_whole_pick_holds_everyone_else() {
    let mut w = World::new();
    for n in 1..=100 {
        let mut a = input(n, 5, Event::Started);
        if n.is_multiple_of(3) {
            a.addr = v6(n);
        }
        w.go(a);
    }
    for me in [1, 3, 50, 99, 100] {
        let mut a = input(me, 5, Event::None);
        a.numwant = 99;
        if me.is_multiple_of(3) {
            a.addr = v6(me);
        }
        let out = w.go(a);
        let ids: HashSet<_> = out.peers.iter().map(|p| p.id.unwrap()).collect();
        let others: HashSet<_> = (1..=100).filter(|&n| n != me).map(id).collect();
        assert_eq!(ids, others);
    }
}

#[test]
fn a_peer_that_moves_to_ipv6_stays_one_peer_and_is_handed_out_at_its_new_address() {
    let mut w = World::new();
    for n in 1..=40 {
        w.go(input(n, if n == 7 { 0 } else { 5 }, Event::Started));
    }
    let mut moved = input(7, 0, Event::None);
    moved.addr = v6(7);
    let out = w.go(moved);
    assert_eq!((out.complete, out.incomplete), (1, 39));
    let mut me = input(1, 5, Event::None);
    me.numwant = 100;
    let out = w.go(me);
    assert_eq!(out.peers.len(), 39);
    let seven: Vec<_> = out.peers.iter().filter(|p| p.id == Some(id(7))).collect();
    assert_eq!(seven.len(), 1);
    assert_eq!(seven[0].addr, v6(7));
    // And back, now a leecher.
    let out = w.go(input(7, 5, Event::None));
    assert_eq!((out.complete, out.incomplete), (0, 40));
}

#[test]
fn swarms_for_different_torrents_are_separate_and_totals_add_up() {
    let mut w = World::new();
    w.go(input(1, 5, Event::Started));
    let mut other = input(2, 0, Event::Started);
    other.info_hash = InfoHash([8; 20]);
    assert!(w.go(other).peers.is_empty());
    assert_eq!(
        w.swarms.totals(),
        Totals {
            torrents: 2,
            seeders: 1,
            leechers: 1
        }
    );
    assert_eq!(w.swarms.scrape_all(10).len(), 2);
    assert_eq!(w.swarms.scrape_all(1).len(), 1);
}

#[test]
fn a_loaded_completed_counter_shows_in_scrape() {
    let w = World::new();
    w.swarms.set_downloaded(H, 41);
    assert_eq!(w.swarms.scrape(&H).unwrap().downloaded, 41);
}

#[test]
fn new_swarms_and_new_peers_past_the_limits_are_refused_but_known_peers_still_announce() {
    let mut w = World::new();
    w.swarms = Swarms::new(
        4,
        Limits {
            max_torrents: 2,
            max_peers: 3,
            ..Limits::default()
        },
    );
    let t0 = w.t0;
    let mut go = |a: AnnounceInput| w.swarms.announce(&a, t0, &mut w.rng);
    let other = |n: u32, h: u8| AnnounceInput {
        info_hash: InfoHash([h; 20]),
        ..input(n, 5, Event::Started)
    };
    go(input(1, 5, Event::Started)).unwrap();
    go(input(2, 5, Event::Started)).unwrap();
    go(other(3, 8)).unwrap();
    assert_eq!(go(other(4, 9)), Err(Full::Torrents(2)));
    assert_eq!(go(input(4, 5, Event::Started)), Err(Full::Peers(3)));
    assert!(
        go(input(1, 0, Event::None)).is_ok(),
        "a known peer is never refused"
    );
    go(input(2, 5, Event::Stopped)).unwrap();
    assert!(
        go(input(4, 5, Event::Started)).is_ok(),
        "room again after a stop"
    );
    // Expiry frees both kinds of room (the first swarm stays for its
    // completed counter: peer 1 became a seeder).
    w.swarms
        .purge_expired(t0 + Duration::from_secs(10), Duration::from_secs(1));
    let mut go = |a: AnnounceInput| w.swarms.announce(&a, t0, &mut w.rng);
    go(other(5, 9)).unwrap();
    go(input(6, 5, Event::Started)).unwrap();
    go(input(7, 5, Event::Started)).unwrap();
    assert_eq!(go(other(8, 10)), Err(Full::Torrents(2)));
    assert_eq!(go(input(9, 5, Event::Started)), Err(Full::Peers(3)));
}
