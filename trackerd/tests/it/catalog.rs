//! The group catalog and private swarms over the real HTTP API: publish
//! (members only; a concurrent double publish gives one 201 and one 409),
//! list, search, withdraw, personalised .torrent and magnet with the
//! passkey URL, public torrents, and announces served only to members.

use crate::common::api::*;
use crate::common::{Reply, announce, get, make_torrent, passkey_announce, req, start};
use p2p_proto::metainfo::Metainfo;
use p2p_proto::tracker::Event;

async fn publish(s: &crate::common::TestServer, group: &str, token: &str, bytes: &[u8]) -> Reply {
    request(
        s.addr,
        "POST",
        &format!("/api/v1/groups/{group}/torrents"),
        Some(token),
        bytes,
    )
    .await
}

#[tokio::test]
async fn members_publish_list_and_search_and_outsiders_are_refused() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "Holiday Photos.zip", "team");

    let r = publish(&s, "team", &bob, &bytes).await;
    assert_eq!(r.status, 403, "bob is not a member");
    assert_eq!(error(&r).0, "forbidden");
    assert_eq!(
        publish(&s, "team", &alice, b"not a torrent").await.status,
        400
    );
    let r = publish(&s, "team", &alice, &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["info_hash"], h.to_hex());
    assert_eq!(j["group"], "team");
    assert_eq!(j["private"], true);
    assert_eq!(j["source"], "team");
    assert_eq!(j["publisher"], "alice");

    let list = get_auth(s.addr, "/api/v1/groups/team/torrents", &alice)
        .await
        .json();
    assert_eq!(list["torrents"][0]["name"], "Holiday Photos.zip");
    assert_eq!(
        get_auth(s.addr, "/api/v1/groups/team/torrents", &bob)
            .await
            .status,
        403
    );

    let found = get_auth(s.addr, "/api/v1/search?q=holiday+photos", &alice)
        .await
        .json();
    assert_eq!(found["torrents"].as_array().unwrap().len(), 1);
    let hidden = get_auth(s.addr, "/api/v1/search?q=holiday", &bob)
        .await
        .json();
    assert_eq!(
        hidden["torrents"].as_array().unwrap().len(),
        0,
        "other groups' files are not searchable"
    );
    let r = get_auth(
        s.addr,
        &format!("/api/v1/torrents/{}/torrent", h.to_hex()),
        &bob,
    )
    .await;
    assert_eq!(r.status, 404, "outsiders get no metainfo");

    let stats = get_auth(s.addr, "/api/v1/users/alice/stats", &alice)
        .await
        .json();
    assert_eq!(stats["torrents_shared"], 1);
}

#[tokio::test]
async fn a_personalised_torrent_keeps_the_info_hash_and_carries_the_passkey_url() {
    let s = start(|_| {}).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (bob, bob_pk) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "a.bin", "team");
    assert_eq!(publish(&s, "team", &alice, &bytes).await.status, 201);

    let r = get_auth(
        s.addr,
        &format!("/api/v1/torrents/{}/torrent", h.to_hex()),
        &bob,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("content-type: application/x-bittorrent")
    );
    let m = Metainfo::from_bytes(&r.body).unwrap();
    assert_eq!(m.info_hash, h, "same info dict, same info-hash");
    assert_eq!(
        m.trackers,
        vec![vec![format!("http://{}/announce/{bob_pk}", s.addr)]]
    );
    assert!(m.info.private);
    assert_ne!(bob_pk, alice_pk);

    let r = get_auth(
        s.addr,
        &format!("/api/v1/torrents/{}/magnet", h.to_hex()),
        &bob,
    )
    .await;
    let link = r.json()["magnet"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("magnet:?xt=urn:btih:{}", h.to_hex())),
        "{link}"
    );
    assert!(link.contains(&bob_pk), "{link}");
}

#[tokio::test]
async fn the_public_url_setting_names_the_announce_host() {
    let s = start(|c| c.public_url = "https://tracker.example/".into()).await;
    let (alice, pk) = user(s.addr, "alice").await;
    let (bytes, h) = make_torrent(s.dir.path(), "pub.bin", 1000, "http://x/announce");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/public/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = get_auth(
        s.addr,
        &format!("/api/v1/torrents/{}/torrent", h.to_hex()),
        &alice,
    )
    .await;
    let m = Metainfo::from_bytes(&r.body).unwrap();
    assert_eq!(
        m.trackers[0][0],
        format!("https://tracker.example/announce/{pk}")
    );
}

#[tokio::test]
async fn a_concurrent_double_publish_gives_one_201_and_one_409() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, _) = private_torrent(s.dir.path(), "race.bin", "team");
    let (a, b) = tokio::join!(
        publish(&s, "team", &alice, &bytes),
        publish(&s, "team", &bob, &bytes)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text(), b.text());
    let loser = if a.status == 409 { &a } else { &b };
    assert!(
        error(loser)
            .1
            .contains("already published in group \"team\"")
    );
    let list = get_auth(s.addr, "/api/v1/groups/team/torrents", &alice)
        .await
        .json();
    assert_eq!(
        list["torrents"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
}

#[tokio::test]
async fn the_publisher_or_the_owner_withdraws_and_others_may_not() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (carol, _) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[&bob, &carol]).await;
    let (one, h1) = private_torrent(s.dir.path(), "one.bin", "team");
    std::fs::create_dir(s.dir.path().join("b")).unwrap();
    let (two, h2) = private_torrent(&s.dir.path().join("b"), "two.bin", "team");
    publish(&s, "team", &bob, &one).await;
    publish(&s, "team", &bob, &two).await;
    let path =
        |h: p2p_proto::infohash::InfoHash| format!("/api/v1/groups/team/torrents/{}", h.to_hex());
    assert_eq!(
        request(s.addr, "DELETE", &path(h1), Some(&carol), b"")
            .await
            .status,
        403
    );
    assert_eq!(
        request(s.addr, "DELETE", &path(h1), Some(&bob), b"")
            .await
            .status,
        200,
        "the publisher"
    );
    assert_eq!(
        request(s.addr, "DELETE", &path(h2), Some(&alice), b"")
            .await
            .status,
        200,
        "the owner"
    );
    assert_eq!(
        request(s.addr, "DELETE", &path(h2), Some(&alice), b"")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn public_torrents_can_be_turned_off() {
    let s = start(|c| c.accounts.allow_public_torrents = false).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bytes, _) = make_torrent(s.dir.path(), "pub.bin", 1000, "http://x/announce");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/public/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(error(&r).1.contains("public torrents are disabled"));
}

#[tokio::test]
async fn a_group_swarm_serves_members_only_and_a_removed_member_stops_getting_peers() {
    let s = start(|_| {}).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (bob, bob_pk) = user(s.addr, "bob").await;
    let (_mallory, mallory_pk) = user(s.addr, "mallory").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "secret.bin", "team");
    publish(&s, "team", &alice, &bytes).await;

    let seeded = passkey_announce(s.addr, &alice_pk, &req(h, 1, 7001, 0, Event::Started))
        .await
        .announce();
    assert_eq!(seeded.complete, 1);
    let got = passkey_announce(s.addr, &bob_pk, &req(h, 2, 7002, 100, Event::Started))
        .await
        .announce();
    assert_eq!(got.peers.len(), 1, "a member gets the seeder");

    // A non-member, with a passkey or none, is answered exactly as for a
    // torrent the tracker does not know (open mode: a swarm of outsiders),
    // never with the members: the same announces for an unknown info-hash
    // give the same answers and the same scrape.
    let u = crate::common::hash(77);
    let view = |r: p2p_proto::tracker::AnnounceResponse| (r.complete, r.incomplete, r.peers);
    for hash in [h, u] {
        let with_passkey = passkey_announce(
            s.addr,
            &mallory_pk,
            &req(hash, 3, 7003, 100, Event::Started),
        )
        .await;
        assert_eq!(view(with_passkey.announce()), (0, 1, vec![]), "{hash:?}");
        let plain = announce(s.addr, &req(hash, 4, 7004, 100, Event::Started)).await;
        let (complete, incomplete, peers) = view(plain.announce());
        assert_eq!((complete, incomplete), (0, 2), "{hash:?}");
        let ports: Vec<u16> = peers.iter().map(|p| p.addr.port()).collect();
        assert_eq!(ports, [7003], "only the other outsider, never a member");
    }
    let unknown = passkey_announce(
        s.addr,
        &"0".repeat(32),
        &req(h, 3, 7003, 100, Event::Started),
    )
    .await;
    assert_eq!(unknown.failure(), "unknown passkey");

    let sc = get(s.addr, &crate::common::scrape_target(&[h, u])).await;
    let sc = p2p_proto::tracker::ScrapeResponse::from_bytes(&sc.body).unwrap();
    assert_eq!(sc.files.len(), 2);
    assert_eq!(
        sc.files[0].1, sc.files[1].1,
        "a scrape shows a group swarm as it shows an unknown torrent"
    );
    assert_eq!(
        sc.files[0].1.incomplete, 2,
        "the outsiders, not the members"
    );
    // The members' swarm did not take the outsiders in.
    let member = passkey_announce(s.addr, &bob_pk, &req(h, 2, 7002, 100, Event::None))
        .await
        .announce();
    assert_eq!((member.complete, member.incomplete), (1, 1));

    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/bob",
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    // Removed, bob is an outsider: he is shown the outsiders, not alice.
    let after = passkey_announce(s.addr, &bob_pk, &req(h, 2, 7002, 100, Event::None))
        .await
        .announce();
    let ports: Vec<u16> = after.peers.iter().map(|p| p.addr.port()).collect();
    assert!(
        !ports.contains(&7001),
        "the seeder is not listed: {ports:?}"
    );
    assert_eq!(after.complete, 0, "{after:?}");
}

#[tokio::test]
async fn announces_with_a_passkey_count_towards_the_users_stats() {
    let s = start(|_| {}).await;
    let (alice, pk) = user(s.addr, "alice").await;
    let h = crate::common::hash(9);
    let mut r = req(h, 1, 7001, 500, Event::Started);
    passkey_announce(s.addr, &pk, &r).await.announce();
    r.event = Event::None;
    r.uploaded = 1000;
    r.downloaded = 300;
    passkey_announce(s.addr, &pk, &r).await.announce();
    let stats = get_auth(s.addr, "/api/v1/users/alice/stats", &alice)
        .await
        .json();
    assert_eq!(
        (stats["uploaded"].as_u64(), stats["downloaded"].as_u64()),
        (Some(1000), Some(300))
    );
}
