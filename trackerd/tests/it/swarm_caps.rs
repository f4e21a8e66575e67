//! Open mode under attack (issue 12 item 14): one address creating more
//! swarms than its cap, and diluting a swarm with fake peers (peer_id
//! variations), while another address still creates swarms and joins.

use std::net::IpAddr;

use p2p_proto::tracker::{Event, ScrapeResponse};

use crate::common::attack::announce_from;
use crate::common::{get, hash, req, scrape_target, start};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn one_address_past_its_swarm_cap_is_refused_while_another_still_creates_swarms() {
    let s = start(|c| c.announce.max_torrents_per_address = 3).await;
    let (mallory, other) = (ip("127.0.0.1"), ip("127.0.0.2"));
    for n in 0..3 {
        announce_from(mallory, s.addr, &req(hash(n), 1, 1001, 5, Event::Started))
            .await
            .announce();
    }
    for n in 3..20 {
        let r = announce_from(mallory, s.addr, &req(hash(n), 1, 1001, 5, Event::Started)).await;
        assert_eq!(
            r.failure(),
            "too many torrents created from your address (limit 3)"
        );
    }
    announce_from(other, s.addr, &req(hash(3), 2, 1002, 5, Event::Started))
        .await
        .announce();
    // The swarm another address created is open to all.
    announce_from(mallory, s.addr, &req(hash(3), 1, 1001, 5, Event::Started))
        .await
        .announce();
}

#[tokio::test]
async fn fake_peers_from_one_address_stop_at_the_cap_and_another_address_still_joins() {
    let s = start(|c| c.announce.max_peers_per_address_per_torrent = 4).await;
    let (mallory, other) = (ip("127.0.0.1"), ip("127.0.0.2"));
    let mut refused = 0;
    for n in 0..50u32 {
        let r = announce_from(
            mallory,
            s.addr,
            &req(hash(1), n, 2000 + n as u16, 5, Event::Started),
        )
        .await;
        if n < 4 {
            r.announce();
        } else {
            assert_eq!(
                r.failure(),
                "too many peers from your address in this torrent (limit 4)"
            );
            refused += 1;
        }
    }
    assert_eq!(refused, 46);
    let got = announce_from(other, s.addr, &req(hash(1), 100, 3000, 5, Event::Started))
        .await
        .announce();
    assert_eq!(got.peers.len(), 4, "the fake peers held are the cap");
    let sc =
        ScrapeResponse::from_bytes(&get(s.addr, &scrape_target(&[hash(1)])).await.body).unwrap();
    assert_eq!(sc.files[0].1.incomplete, 5);
}
