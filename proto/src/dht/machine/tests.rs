//! Whole nodes talking through a simulated network: datagrams are carried
//! from one node's transmits to another's `handle`, time is simulated.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddr};

use super::*;
use crate::dht::krpc::Response;

struct Net {
    nodes: HashMap<SocketAddr, Dht>,
    /// Addresses whose datagrams vanish.
    dead: HashSet<SocketAddr>,
    now_ms: u64,
    delivered: usize,
}

fn addr(i: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 6881))
}

fn addr6(i: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i + 1), 6881))
}

fn id_for(i: u16, salt: u8) -> NodeId {
    let mut h = Sha1::new();
    h.update(i.to_be_bytes());
    h.update([salt]);
    NodeId(h.finalize().into())
}

fn config(bootstrap: Vec<SocketAddr>, v6: bool) -> Config {
    Config {
        bootstrap,
        read_only: false,
        ipv4: !v6,
        ipv6: v6,
    }
}

impl Net {
    fn new(count: u16, v6: bool) -> Net {
        let at = |i| if v6 { addr6(i) } else { addr(i) };
        let mut nodes = HashMap::new();
        for i in 0..count {
            let bootstrap = if i == 0 { Vec::new() } else { vec![at(0)] };
            let mut seed = [0u8; 32];
            seed[..2].copy_from_slice(&i.to_be_bytes());
            nodes.insert(
                at(i),
                Dht::new(id_for(i, 0), seed, config(bootstrap, v6), 0),
            );
        }
        Net {
            nodes,
            dead: HashSet::new(),
            now_ms: 0,
            delivered: 0,
        }
    }

    /// Carries datagrams until none is left, ticking every 100 ms of
    /// simulated time, for `ms`.
    fn run(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while self.now_ms < end {
            for n in self.nodes.values_mut() {
                n.tick(self.now_ms);
            }
            for _ in 0..10_000 {
                let mut moved = Vec::new();
                for (from, n) in &mut self.nodes {
                    while let Some(t) = n.poll_transmit() {
                        moved.push((*from, t));
                    }
                }
                if moved.is_empty() {
                    break;
                }
                for (from, t) in moved {
                    if self.dead.contains(&t.to) || self.dead.contains(&from) {
                        continue;
                    }
                    if let Some(n) = self.nodes.get_mut(&t.to) {
                        n.handle(&t.bytes, from, self.now_ms);
                        self.delivered += 1;
                    }
                }
            }
            self.now_ms += 100;
        }
    }

    fn get_peers(&mut self, at: SocketAddr, hash: NodeId, announce: Option<u16>) -> SearchId {
        let now = self.now_ms;
        self.node(at).get_peers(hash, announce, now).unwrap()
    }

    fn node(&mut self, a: SocketAddr) -> &mut Dht {
        self.nodes.get_mut(&a).unwrap()
    }

    /// Runs until `search` on `at` is done; the peers it reported.
    fn search(&mut self, at: SocketAddr, search: SearchId) -> (Vec<SocketAddr>, usize) {
        let mut found = Vec::new();
        for _ in 0..400 {
            self.run(100);
            while let Some(e) = self.node(at).poll_event() {
                match e {
                    Event::Peers { search: s, peers } if s == search => found.extend(peers),
                    Event::Done {
                        search: s,
                        announced,
                        found: n,
                    } if s == search => {
                        assert_eq!(n, found.len());
                        return (found, announced);
                    }
                    other => panic!("unexpected event {other:?}"),
                }
            }
        }
        panic!("search never ended");
    }
}

#[test]
fn thirty_nodes_join_through_one_and_a_peer_announced_by_one_is_found_by_another() {
    let mut net = Net::new(30, false);
    net.run(5_000);
    for (a, n) in &net.nodes {
        assert!(
            n.health().nodes4 >= K,
            "{a} knows {} nodes",
            n.health().nodes4
        );
    }
    let hash = id_for(999, 1);
    let s = net.get_peers(addr(5), hash, Some(7000));
    let (found, announced) = net.search(addr(5), s);
    assert!(found.is_empty());
    assert_eq!(announced, K, "announced to the k closest that gave a token");
    net.run(1_000);
    let s = net.get_peers(addr(20), hash, None);
    let (found, announced) = net.search(addr(20), s);
    assert_eq!(found, vec![SocketAddr::from(([10, 0, 0, 5], 7000))]);
    assert_eq!(announced, 0);
}

#[test]
fn implied_port_announces_the_udp_source_port() {
    let mut net = Net::new(12, false);
    net.run(3_000);
    let hash = id_for(7, 2);
    let s = net.get_peers(addr(3), hash, Some(0));
    net.search(addr(3), s);
    let s = net.get_peers(addr(9), hash, None);
    let (found, _) = net.search(addr(9), s);
    assert_eq!(found, vec![addr(3)]);
}

#[test]
fn ipv6_nodes_join_and_find_each_others_peers_over_ipv6() {
    let mut net = Net::new(16, true);
    net.run(4_000);
    for n in net.nodes.values() {
        assert!(n.health().nodes6 >= K);
        assert_eq!(n.health().nodes4, 0);
    }
    let hash = id_for(3, 3);
    let s = net.get_peers(addr6(2), hash, Some(51413));
    net.search(addr6(2), s);
    let s = net.get_peers(addr6(11), hash, None);
    let (found, _) = net.search(addr6(11), s);
    assert_eq!(found, vec![SocketAddr::new(addr6(2).ip(), 51413)]);
}

#[test]
fn dead_nodes_time_out_turn_bad_and_lookups_still_end() {
    let mut net = Net::new(20, false);
    net.run(4_000);
    for i in 10..20 {
        net.dead.insert(addr(i));
    }
    let hash = id_for(10, 4);
    for _ in 0..3 {
        let s = net.get_peers(addr(1), hash, Some(1));
        net.search(addr(1), s);
    }
    let now = net.now_ms / 1000;
    let n = net.node(addr(1));
    let bad_alive = n
        .table4
        .nodes()
        .filter(|x| x.status(now) == Status::Bad)
        .any(|x| {
            (x.addr
                .ip()
                .to_string()
                .rsplit('.')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap())
                < 10
        });
    assert!(!bad_alive, "a node that answers never turns bad");
    assert!(n.pending.is_empty(), "every query answered or timed out");
}

#[test]
fn a_search_with_no_node_anywhere_ends_at_once() {
    let mut d = Dht::new(id_for(0, 0), [0; 32], config(Vec::new(), false), 0);
    let s = d.get_peers(id_for(1, 0), Some(1), 0).unwrap();
    assert_eq!(
        d.poll_event(),
        Some(Event::Done {
            search: s,
            found: 0,
            announced: 0
        })
    );
    assert!(d.poll_transmit().is_none());
}

/// A node that asked `to` something: the query and its transaction id.
fn first_query(d: &mut Dht) -> (SocketAddr, Vec<u8>) {
    let t = d.poll_transmit().expect("a query");
    let m = Message::decode(&t.bytes).unwrap();
    assert!(matches!(m.body, Body::Query(_)));
    assert_eq!(
        m.transaction_id.len(),
        2,
        "2-byte transaction ids, like libtorrent"
    );
    (t.to, m.transaction_id)
}

fn pong(tid: &[u8], id: NodeId) -> Vec<u8> {
    Message::response(
        tid,
        Response {
            id,
            ..Response::default()
        },
    )
    .encode()
}

#[test]
fn an_answer_counts_only_from_the_address_asked() {
    let mut d = Dht::new(id_for(0, 0), [1; 32], config(Vec::new(), false), 0);
    d.add_node(addr(1), 0);
    let (to, tid) = first_query(&mut d);
    assert_eq!(to, addr(1));
    d.handle(&pong(&tid, id_for(1, 0)), addr(2), 10);
    assert_eq!(d.health().nodes4, 0, "a forger's answer is ignored");
    assert_eq!(
        d.pending.len(),
        1,
        "the query still waits for the real node"
    );
    d.handle(&pong(&tid, id_for(1, 0)), addr(1), 20);
    assert_eq!(d.health().nodes4, 1);
    assert!(d.pending.is_empty());
}

#[test]
fn one_source_gets_at_most_the_burst_of_answers_then_the_rate() {
    let mut d = Dht::new(id_for(0, 0), [2; 32], config(Vec::new(), false), 0);
    let ping = Message::query(b"aa", id_for(5, 0), QueryKind::Ping).encode();
    for _ in 0..1000 {
        d.handle(&ping, addr(5), 1_000);
    }
    let mut answers = 0;
    while d.poll_transmit().is_some() {
        answers += 1;
    }
    assert_eq!(answers, ANSWER_BURST as usize);
    for _ in 0..1000 {
        d.handle(&ping, addr(5), 2_000);
    }
    let mut more = 0;
    while d.poll_transmit().is_some() {
        more += 1;
    }
    assert_eq!(more, ANSWERS_PER_SEC as usize, "a second refills the rate");
    d.handle(&ping, addr(6), 2_000);
    assert!(d.poll_transmit().is_some(), "another source is not limited");
}

#[test]
fn a_read_only_node_says_so_in_its_queries_and_still_answers() {
    let mut c = config(Vec::new(), false);
    c.read_only = true;
    let mut d = Dht::new(id_for(0, 0), [3; 32], c, 0);
    d.add_node(addr(1), 0);
    let t = d.poll_transmit().unwrap();
    assert!(Message::decode(&t.bytes).unwrap().read_only);
    assert!(!d.health().reached);
    let ping = Message::query(b"zz", id_for(5, 0), QueryKind::Ping).encode();
    d.handle(&ping, addr(5), 10);
    let answer = d.poll_transmit().unwrap();
    assert_eq!(answer.to, addr(5));
    assert!(d.health().reached);
}

#[test]
fn pending_queries_stay_bounded_under_many_port_nodes() {
    let mut d = Dht::new(id_for(0, 0), [4; 32], config(Vec::new(), false), 0);
    for i in 0..5000u16 {
        d.add_node(SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 1)), 0);
    }
    assert_eq!(d.pending.len(), MAX_PENDING);
    d.tick(QUERY_TIMEOUT_MS);
    assert!(d.pending.is_empty());
}

#[test]
fn the_nodes_worth_saving_are_those_that_answered() {
    let mut net = Net::new(10, false);
    net.run(3_000);
    let now = net.now_ms;
    let saved = net.node(addr(4)).known_nodes(now);
    assert!(saved.len() >= K);
    assert!(saved.iter().all(|a| net.nodes.contains_key(a)));
}
