#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use super::*;

const OWN: NodeId = NodeId([0; 20]);

/// An id sharing exactly `prefix` leading bits with [`OWN`], told apart by `tag`.
fn id_at(prefix: usize, tag: u8) -> NodeId {
    let mut b = [0u8; 20];
    b[prefix / 8] = 0x80 >> (prefix % 8);
    b[19] |= tag;
    if prefix / 8 == 19 {
        b[18] = 0;
    }
    NodeId(b)
}

fn addr(n: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 6881))
}

/// A table whose far bucket (prefix 0) holds K nodes heard from as
/// `contact`, split once so that bucket no longer holds our id.
fn far_bucket_full(contact: Contact) -> RoutingTable {
    let mut t = RoutingTable::new(OWN, 0);
    for i in 0..K as u16 {
        t.heard_from(id_at(0, i as u8), addr(i), contact, 0);
    }
    t.heard_from(id_at(3, 1), addr(50), Contact::Reply, 0);
    t
}

#[test]
fn the_first_k_nodes_go_in_and_the_bucket_splits_along_our_id() {
    let mut t = RoutingTable::new(OWN, 0);
    for i in 0..K as u16 {
        assert_eq!(
            t.heard_from(id_at(0, i as u8), addr(i), Contact::Reply, 0),
            Outcome::Added
        );
    }
    assert_eq!(t.bucket_count(), 1);
    // A ninth node close to us splits the only bucket: the far half keeps the eight.
    assert_eq!(
        t.heard_from(id_at(5, 1), addr(100), Contact::Reply, 0),
        Outcome::Added
    );
    assert_eq!(t.bucket_count(), 2);
    assert_eq!(t.len(), K + 1);
}

#[test]
fn a_full_far_bucket_caches_newcomers_and_asks_to_ping_questionable_nodes() {
    let mut t = far_bucket_full(Contact::Query);
    let out = t.heard_from(id_at(0, 0x40), addr(60), Contact::Reply, 10);
    let Outcome::Cached { ping } = out else {
        panic!("{out:?}")
    };
    // Nodes that only queried us never answered: questionable, all of them.
    assert_eq!(ping.len(), K);
    assert_eq!(t.len(), K + 1);
}

#[test]
fn a_node_that_misses_queries_turns_bad_and_its_replacement_takes_its_place() {
    let mut t = far_bucket_full(Contact::Reply);
    let newcomer = id_at(0, 0x40);
    assert!(matches!(
        t.heard_from(newcomer, addr(60), Contact::Reply, 1),
        Outcome::Cached { .. }
    ));
    let victim = id_at(0, 2);
    assert_eq!(t.failed(&victim, 2), None, "one miss is not yet bad");
    assert_eq!(t.get(&victim).unwrap().status(2), Status::Good);
    assert_eq!(t.failed(&victim, 3), Some(newcomer));
    assert!(t.get(&victim).is_none());
    assert_eq!(t.get(&newcomer).unwrap().addr, addr(60));
}

#[test]
fn a_bad_node_is_replaced_by_the_next_contact() {
    let mut t = far_bucket_full(Contact::Reply);
    t.failed(&id_at(0, 5), 1);
    t.failed(&id_at(0, 5), 1);
    let out = t.heard_from(id_at(0, 0x40), addr(60), Contact::Query, 2);
    assert_eq!(out, Outcome::Replaced { old: id_at(0, 5) });
}

#[test]
fn status_follows_bep5_good_questionable_bad() {
    let n = Node {
        id: id_at(0, 1),
        addr: addr(1),
        last_reply: Some(100),
        last_query: None,
        failures: 0,
    };
    assert_eq!(n.status(100 + GOOD_FOR_SECS - 1), Status::Good);
    assert_eq!(n.status(100 + GOOD_FOR_SECS), Status::Questionable);
    let queried_lately = Node {
        last_query: Some(2000),
        ..n.clone()
    };
    assert_eq!(queried_lately.status(2000), Status::Good);
    let never_replied = Node {
        last_reply: None,
        ..queried_lately
    };
    assert_eq!(never_replied.status(2000), Status::Questionable);
    let failing = Node {
        failures: MAX_FAILURES,
        ..n
    };
    assert_eq!(failing.status(100), Status::Bad);
}

#[test]
fn an_answer_clears_failures() {
    let mut t = RoutingTable::new(OWN, 0);
    t.heard_from(id_at(0, 1), addr(1), Contact::Reply, 0);
    t.failed(&id_at(0, 1), 1);
    assert_eq!(
        t.heard_from(id_at(0, 1), addr(1), Contact::Reply, 2),
        Outcome::Updated
    );
    assert_eq!(t.get(&id_at(0, 1)).unwrap().failures, 0);
}

#[test]
fn own_id_port_zero_and_mismatched_addresses_are_ignored() {
    let mut t = RoutingTable::new(OWN, 0);
    assert_eq!(
        t.heard_from(OWN, addr(1), Contact::Reply, 0),
        Outcome::Ignored(Ignored::OwnId)
    );
    let zero = SocketAddr::from(([10, 0, 0, 1], 0));
    assert_eq!(
        t.heard_from(id_at(0, 1), zero, Contact::Reply, 0),
        Outcome::Ignored(Ignored::PortZero)
    );
    t.heard_from(id_at(0, 1), addr(1), Contact::Reply, 0);
    assert_eq!(
        t.heard_from(id_at(0, 1), addr(2), Contact::Reply, 0),
        Outcome::Ignored(Ignored::IdAtOtherAddress)
    );
    assert_eq!(
        t.heard_from(id_at(1, 1), addr(1), Contact::Reply, 0),
        Outcome::Ignored(Ignored::AddressHasOtherId)
    );
    assert_eq!(t.len(), 1);
}

#[test]
fn closest_sorts_by_xor_distance_and_skips_bad_nodes() {
    let mut t = RoutingTable::new(OWN, 0);
    for (i, prefix) in [0usize, 1, 2, 3, 4, 5].into_iter().enumerate() {
        t.heard_from(id_at(prefix, 0), addr(i as u16), Contact::Reply, 0);
    }
    let got: Vec<NodeId> = t.closest(&OWN, 3, 0).iter().map(|n| n.id).collect();
    assert_eq!(got, vec![id_at(5, 0), id_at(4, 0), id_at(3, 0)]);
    t.failed(&id_at(5, 0), 0);
    t.failed(&id_at(5, 0), 0);
    let got: Vec<NodeId> = t.closest(&OWN, 2, 0).iter().map(|n| n.id).collect();
    assert_eq!(got, vec![id_at(4, 0), id_at(3, 0)]);
}

#[test]
fn memory_stays_bounded_under_a_flood_of_contacts() {
    let mut t = RoutingTable::new(OWN, 0);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for n in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut id = [0u8; 20];
        for (i, b) in id.iter_mut().enumerate() {
            *b = (x >> ((i % 8) * 8)) as u8 ^ (i as u8);
        }
        // Some ids very close to ours, to drive splitting deep.
        if n % 4 == 0 {
            id[..(n as usize % 20)].fill(0);
        }
        let a = SocketAddr::from((n.to_be_bytes(), 1 + (n % 60_000) as u16));
        t.heard_from(NodeId(id), a, Contact::Query, u64::from(n));
    }
    assert!(t.bucket_count() <= MAX_BUCKETS);
    for b in &t.buckets {
        assert!(b.nodes.len() <= K && b.replacements.len() <= K);
    }
    for n in t.nodes() {
        let idx = t.bucket_index(&n.id);
        assert!(
            t.buckets[idx].nodes.iter().any(|m| m.id == n.id),
            "node in the wrong bucket"
        );
    }
}

#[test]
fn refresh_targets_fall_inside_their_bucket() {
    let mut t = RoutingTable::new(OWN, 0);
    for i in 0..K as u16 {
        t.heard_from(id_at(0, i as u8), addr(i), Contact::Reply, 0);
    }
    for i in 0..K as u16 {
        t.heard_from(id_at(4, i as u8), addr(100 + i), Contact::Reply, 0);
        t.heard_from(id_at(9, i as u8), addr(200 + i), Contact::Reply, 0);
    }
    // 0: the far eight; 4: the prefix-4 eight; 5 (last): the prefix-9 eight.
    // Buckets 1 to 3 stay empty: their targets must still land in them.
    assert_eq!(t.bucket_count(), 6);
    for idx in 0..t.bucket_count() {
        for r in [[0u8; 20], [0xff; 20], [0x5a; 20]] {
            let target = t.refresh_target(idx, r);
            assert_eq!(t.bucket_index(&target), idx, "bucket {idx} random {r:?}");
        }
    }
    assert_eq!(t.stale_buckets(REFRESH_AFTER_SECS - 1), Vec::<usize>::new());
    assert_eq!(t.stale_buckets(REFRESH_AFTER_SECS).len(), t.bucket_count());
    t.refreshed(0, REFRESH_AFTER_SECS);
    assert!(!t.stale_buckets(REFRESH_AFTER_SECS).contains(&0));
}
