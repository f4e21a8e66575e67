//! The per-address caps: swarms created, peers in one swarm and peers over
//! all swarms, counted per address and given back on stop, move and expiry.

use std::net::IpAddr;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

fn id(n: u32) -> PeerId {
    let mut b = [b'q'; 20];
    b[..4].copy_from_slice(&n.to_be_bytes());
    PeerId(b)
}

fn from(ip: &str, h: u8, n: u32, event: Event) -> AnnounceInput {
    AnnounceInput {
        info_hash: InfoHash([h; 20]),
        peer_id: id(n),
        addr: SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 6881),
        left: 5,
        event,
        numwant: 50,
        open_swarm: true,
    }
}

fn swarms(torrents: usize, per_torrent: usize, peers: usize) -> Swarms {
    Swarms::new(
        4,
        Limits {
            max_torrents_per_address: torrents,
            max_peers_per_address_per_torrent: per_torrent,
            max_peers_per_address: peers,
            ..Limits::default()
        },
    )
}

#[test]
fn one_address_creates_swarms_up_to_its_cap_while_another_still_can() {
    let s = swarms(2, 0, 0);
    let (t0, mut rng) = (Instant::now(), StdRng::seed_from_u64(1));
    let mut go = |a: AnnounceInput| s.announce(&a, t0, &mut rng);
    go(from("10.0.0.1", 1, 1, Event::Started)).unwrap();
    go(from("10.0.0.1", 2, 1, Event::Started)).unwrap();
    assert_eq!(
        go(from("10.0.0.1", 3, 1, Event::Started)),
        Err(Full::AddressTorrents(2))
    );
    // Joining a swarm someone else created is not creating one.
    go(from("10.0.0.2", 3, 2, Event::Started)).unwrap();
    go(from("10.0.0.1", 3, 1, Event::Started)).unwrap();
    // A registered or published torrent's swarm does not count.
    let mut registered = from("10.0.0.1", 4, 1, Event::Started);
    registered.open_swarm = false;
    go(registered).unwrap();
    assert_eq!(s.totals().torrents, 4);
}

#[test]
fn fake_peers_from_one_address_stop_at_the_cap_per_swarm_and_in_total() {
    let s = swarms(0, 3, 5);
    let (t0, mut rng) = (Instant::now(), StdRng::seed_from_u64(1));
    let mut go = |a: AnnounceInput| s.announce(&a, t0, &mut rng);
    for n in 0..3 {
        go(from("10.0.0.1", 1, n, Event::Started)).unwrap();
    }
    assert_eq!(
        go(from("10.0.0.1", 1, 99, Event::Started)),
        Err(Full::AddressPeersInTorrent(3))
    );
    // An IPv6 client is one /64, whatever address in it it uses.
    go(from("2001:db8::1", 1, 50, Event::Started)).unwrap();
    go(from("2001:db8::2", 1, 51, Event::Started)).unwrap();
    go(from("2001:db8::3", 1, 52, Event::Started)).unwrap();
    assert_eq!(
        go(from("2001:db8::4", 1, 53, Event::Started)),
        Err(Full::AddressPeersInTorrent(3))
    );
    go(from("10.0.0.2", 1, 100, Event::Started)).unwrap();
    // Known peers still announce; the total cap spans swarms.
    go(from("10.0.0.1", 1, 0, Event::None)).unwrap();
    go(from("10.0.0.1", 2, 3, Event::Started)).unwrap();
    go(from("10.0.0.1", 2, 4, Event::Started)).unwrap();
    assert_eq!(
        go(from("10.0.0.1", 3, 5, Event::Started)),
        Err(Full::AddressPeers(5))
    );
    // A stop gives a place back.
    go(from("10.0.0.1", 2, 4, Event::Stopped)).unwrap();
    go(from("10.0.0.1", 3, 5, Event::Started)).unwrap();
    assert_eq!(s.scrape(&InfoHash([1; 20])).unwrap().incomplete, 7);
}

#[test]
fn a_peer_that_moves_is_counted_at_its_new_address_and_expiry_forgets_everything() {
    let s = swarms(1, 1, 10);
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(1);
    s.announce(&from("10.0.0.1", 1, 1, Event::Started), t0, &mut rng)
        .unwrap();
    s.announce(&from("10.0.0.2", 1, 2, Event::Started), t0, &mut rng)
        .unwrap();
    // Peer 1 moving onto 10.0.0.2 would be that address's second peer here.
    assert_eq!(
        s.announce(&from("10.0.0.2", 1, 1, Event::None), t0, &mut rng),
        Err(Full::AddressPeersInTorrent(1))
    );
    s.announce(&from("10.0.0.3", 1, 1, Event::None), t0, &mut rng)
        .unwrap();
    // 10.0.0.1 holds no peer now, but still the swarm it created.
    assert_eq!(
        s.by_address
            .peers(AddressKey::of("10.0.0.1".parse().unwrap())),
        0
    );
    assert_eq!(
        s.announce(&from("10.0.0.1", 2, 1, Event::Started), t0, &mut rng),
        Err(Full::AddressTorrents(1))
    );
    s.purge_expired(t0 + Duration::from_secs(10), Duration::from_secs(1));
    assert_eq!(s.by_address.len(), 0, "nothing is left counted");
    s.announce(
        &from("10.0.0.1", 2, 1, Event::Started),
        t0 + Duration::from_secs(10),
        &mut rng,
    )
    .unwrap();
}
