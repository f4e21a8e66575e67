//! A torrent published into a group stays that group's (issue 12 item 1),
//! tried the way a removed member would: keep the group torrent's .torrent,
//! then publish the same bytes into a group of one's own, into the public
//! catalog, and into a group re-created under the old name; announce with
//! one's passkey and without; ask the API about the info-hash. Every try
//! is refused, and no one outside the group gets a member's address.

use crate::common::api::*;
use crate::common::{Reply, TestServer, announce, get, passkey_announce, req, start};
use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::Event;
use serde_json::json;

async fn publish_into(s: &TestServer, place: &str, token: &str, bytes: &[u8]) -> Reply {
    request(s.addr, "POST", place, Some(token), bytes).await
}

/// An info-hash the tracker has never seen, next to `h`.
fn unknown_beside(h: &InfoHash) -> InfoHash {
    let mut u = *h;
    u.0[19] ^= 0x55;
    u
}

/// What announcing `h` by passkey and anonymously shows: the counts, the
/// peers' ports and the torrent's API view without its info-hash.
async fn seen_by_outsider(s: &TestServer, h: InfoHash, passkey: &str) -> (Vec<u16>, String) {
    let by_passkey = passkey_announce(s.addr, passkey, &req(h, 9, 7009, 100, Event::Started)).await;
    let anonymous = announce(s.addr, &req(h, 8, 7008, 100, Event::Started)).await;
    let mut ports: Vec<u16> = [by_passkey.announce(), anonymous.announce()]
        .iter()
        .flat_map(|r| r.peers.iter().map(|p| p.addr.port()))
        .collect();
    ports.sort_unstable();
    let api = get(s.addr, &format!("/api/v1/torrents/{}", h.to_hex())).await;
    let view = format!("{} {}", api.status, api.text().replace(&h.to_hex(), "IH"));
    (ports, view)
}

/// The outsider's view: by passkey or anonymously, what an unknown
/// torrent shows (open mode: a swarm of outsiders only, never a member's
/// address), and no .torrent or magnet through the API.
async fn outsider_sees_nothing(s: &TestServer, h: InfoHash, token: &str, passkey: &str) {
    let (ports, view) = seen_by_outsider(s, h, passkey).await;
    assert!(
        ports.iter().all(|p| [7008, 7009].contains(p)),
        "only outsiders are listed: {ports:?}"
    );
    let unknown = seen_by_outsider(s, unknown_beside(&h), passkey).await;
    assert_eq!(
        (ports, view),
        unknown,
        "the group torrent reads as an unknown one"
    );
    let ih = h.to_hex();
    for path in [
        format!("/api/v1/torrents/{ih}/torrent"),
        format!("/api/v1/torrents/{ih}/magnet"),
    ] {
        assert_eq!(get_auth(s.addr, &path, token).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn a_removed_member_cannot_reopen_a_group_swarm_by_publishing_its_torrent_again() {
    let s = start(|_| {}).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (bob, bob_pk) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "secret.bin", "team");
    let r = publish_into(&s, "/api/v1/groups/team/torrents", &alice, &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let seeded = passkey_announce(s.addr, &alice_pk, &req(h, 1, 7001, 0, Event::Started)).await;
    assert_eq!(seeded.announce().complete, 1);

    // Bob keeps the .torrent while a member, then is removed.
    let saved = get_auth(
        s.addr,
        &format!("/api/v1/torrents/{}/torrent", h.to_hex()),
        &bob,
    )
    .await;
    assert_eq!(saved.status, 200);
    let saved = saved.body;
    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/bob",
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 200);

    // Into a group of his own, and into the public catalog: both refused.
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&bob),
        json!({ "name": "mine" }),
    )
    .await;
    assert_eq!(r.status, 201);
    for (place, bytes) in [
        ("/api/v1/groups/mine/torrents", &saved),
        ("/api/v1/public/torrents", &saved),
        ("/api/v1/groups/mine/torrents", &bytes),
        ("/api/v1/public/torrents", &bytes),
    ] {
        let r = publish_into(&s, place, &bob, bytes).await;
        assert_eq!(r.status, 403, "{place}: {}", r.text());
        let (code, message) = error(&r);
        assert_eq!(code, "owned_elsewhere", "{place}");
        assert!(message.contains("belongs to a group"), "{message}");
        assert!(
            !message.contains("team"),
            "the owner is not named: {message}"
        );
    }
    outsider_sees_nothing(&s, h, &bob, &bob_pk).await;

    // Withdrawn, the info-hash is still the group's: never an open swarm.
    let r = request(
        s.addr,
        "DELETE",
        &format!("/api/v1/groups/team/torrents/{}", h.to_hex()),
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = publish_into(&s, "/api/v1/public/torrents", &bob, &saved).await;
    assert_eq!(error(&r).0, "owned_elsewhere");
    outsider_sees_nothing(&s, h, &bob, &bob_pk).await;
    let member = passkey_announce(s.addr, &alice_pk, &req(h, 1, 7001, 0, Event::None)).await;
    assert_eq!(
        member.announce().complete,
        1,
        "the group's members keep their swarm"
    );

    // The group deleted and its name taken by bob: still not his.
    let r = post_json(s.addr, "/api/v1/groups/team/leave", Some(&alice), json!({})).await;
    assert_eq!(r.json()["deleted"], true, "{}", r.text());
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&bob),
        json!({ "name": "team" }),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = publish_into(&s, "/api/v1/groups/team/torrents", &bob, &saved).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(error(&r).0, "owned_elsewhere");
    outsider_sees_nothing(&s, h, &bob, &bob_pk).await;
    let unknown = unknown_beside(&h);
    let scrape = get(s.addr, &crate::common::scrape_target(&[h, unknown])).await;
    let scrape = p2p_proto::tracker::ScrapeResponse::from_bytes(&scrape.body).unwrap();
    assert_eq!(scrape.files.len(), 2);
    assert_eq!(
        scrape.files[0].1, scrape.files[1].1,
        "the scrape reads as an unknown torrent's (its outsiders only)"
    );
}

#[tokio::test]
async fn a_public_torrent_cannot_be_taken_into_a_group_nor_published_twice() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[]).await;
    group_with(s.addr, "other", &bob, &[]).await;
    // Made for "other" (private, source other) but published publicly
    // first by someone outside it: refused, it belongs in "other".
    let (made_for_other, _) = private_torrent(s.dir.path(), "o.bin", "other");
    let r = publish_into(&s, "/api/v1/public/torrents", &alice, &made_for_other).await;
    assert_eq!((r.status, error(&r).0.as_str()), (403, "owned_elsewhere"));

    let (public, h) = crate::common::make_torrent(s.dir.path(), "p.bin", 1000, "http://x/a");
    let r = publish_into(&s, "/api/v1/public/torrents", &alice, &public).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = publish_into(&s, "/api/v1/groups/other/torrents", &bob, &public).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let (code, message) = error(&r);
    assert_eq!(code, "owned_elsewhere");
    assert!(
        message.contains("belongs to the public catalog"),
        "{message}"
    );
    assert_eq!(
        publish_into(&s, "/api/v1/public/torrents", &bob, &public)
            .await
            .status,
        409,
        "already public"
    );
    let anyone = announce(s.addr, &req(h, 1, 7001, 0, Event::Started)).await;
    assert_eq!(anyone.announce().complete, 1, "a public torrent is open");
}

#[tokio::test]
async fn a_group_torrent_without_the_private_flag_or_the_group_source_is_refused_by_name() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    group_with(s.addr, "team", &alice, &[]).await;
    let (plain, _) = crate::common::make_torrent(s.dir.path(), "p.bin", 1000, "http://x/a");
    let r = publish_into(&s, "/api/v1/groups/team/torrents", &alice, &plain).await;
    assert_eq!(r.status, 400);
    let (code, message) = error(&r);
    assert_eq!(code, "not_a_group_torrent");
    assert!(
        message.contains("lacks the private flag") && message.contains("and source \"team\""),
        "{message}"
    );
    let (elsewhere, _) = private_torrent(s.dir.path(), "e.bin", "elsewhere");
    let r = publish_into(&s, "/api/v1/groups/team/torrents", &alice, &elsewhere).await;
    let (code, message) = error(&r);
    assert_eq!(code, "not_a_group_torrent");
    assert!(
        message.contains("lacks source \"team\" (it has source \"elsewhere\")"),
        "{message}"
    );
    // As p2pd makes them (source = the group folder's name, any case).
    let (upper, _) = private_torrent(s.dir.path(), "u.bin", "Team");
    let r = publish_into(&s, "/api/v1/groups/team/torrents", &alice, &upper).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// A database from before one owner per info-hash, where the attack had
/// already happened: a group's torrent re-published publicly and into
/// another group after it, and a public torrent taken into a group later.
/// The upgrade keeps the first publication of each (the group's, then the
/// public one), so the group's swarm is closed again and the public
/// torrent stays public.
#[tokio::test]
async fn an_upgraded_database_keeps_the_first_publication_of_each_torrent() {
    // SQLite-only: the fixture is a SQLite file from before migration 0004;
    // on PostgreSQL one entry per info-hash is a constraint from the start.
    if crate::common::store::sqlite_only("an_upgraded_database_keeps_the_first_publication") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (group_bytes, group_ih) = private_torrent(dir.path(), "g.bin", "team");
    let (public_bytes, public_ih) =
        crate::common::make_torrent(dir.path(), "p.bin", 1000, "http://x/a");
    let blob = |b: &[u8]| -> String { b.iter().map(|x| format!("{x:02x}")).collect() };
    let entry = |id: u32, ih: &InfoHash, group: u32, bytes: &[u8]| {
        format!(
            "INSERT INTO catalog (id, info_hash, group_id, name, total_length, piece_length, \
             file_count, private, source, publisher_id, added_at, metainfo) VALUES \
             ({id}, '{}', {group}, 'n', 1, 16384, 1, 1, 'team', 7, {id}, X'{}');",
            ih.to_hex(),
            blob(bytes)
        )
    };
    let rows = [
        format!(
            "INSERT INTO users (id, username, password_hash, legacy_passkey, created_at) VALUES \
             (7, 'alice', 'x', '{}', 1), (8, 'mallory', 'x', '{}', 1);
             INSERT INTO groups (id, name, owner_id, created_at) VALUES (3, 'team', 7, 1), (4, 'mine', 8, 1);
             INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES (3, 7, 1, 1), (4, 8, 1, 1);",
            "a".repeat(32),
            "b".repeat(32)
        ),
        entry(1, &group_ih, 3, &group_bytes),
        entry(2, &group_ih, 0, &group_bytes),
        entry(3, &group_ih, 4, &group_bytes),
        entry(4, &public_ih, 0, &public_bytes),
        entry(5, &public_ih, 4, &public_bytes),
    ]
    .concat();
    crate::common::old_db::database_before(dir.path(), 4, &rows).await;

    let s = crate::common::start_in(dir, "127.0.0.1:0", |_| {}).await;
    // A newcomer, in no group, gets the public torrent and not the group's.
    let (carol, _) = user(s.addr, "carol").await;
    let magnet = |ih: InfoHash| format!("/api/v1/torrents/{}/magnet", ih.to_hex());
    assert_eq!(
        get_auth(s.addr, &magnet(group_ih), &carol).await.status,
        404
    );
    assert_eq!(
        get_auth(s.addr, &magnet(public_ih), &carol).await.status,
        200
    );

    let dir = s.stop().await;
    let url = format!("sqlite://{}/trackerd.sqlite", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let catalog: Vec<(String, i64)> =
        sqlx::query_as("SELECT info_hash, group_id FROM catalog ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        catalog,
        [(group_ih.to_hex(), 3), (public_ih.to_hex(), 0)],
        "the first publication of each"
    );
    let owners: Vec<(String, i64)> =
        sqlx::query_as("SELECT info_hash, group_id FROM torrent_owners")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(owners, [(group_ih.to_hex(), 3)]);
    pool.close().await;
}
