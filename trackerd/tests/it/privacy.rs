//! What users see of each other (issue 12 items 3 and 4), tried as a plain
//! user and as an admin: a deleted group's events stay hidden from whoever
//! makes a group of the same name; online users' addresses and login event
//! details are for the user themself and admins; others' traffic stats
//! leave out private groups.

use std::collections::BTreeSet;

use crate::common::api::*;
use crate::common::{passkey_announce, req, start};
use p2p_proto::tracker::Event;
use serde_json::{Value, json};

/// Every event `token` may read, as (id, kind, group).
async fn events_seen(addr: std::net::SocketAddr, token: &str) -> Vec<(i64, String, Value)> {
    let page = get_auth(addr, "/api/v1/events?limit=1000", token).await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_owned(),
                e["group"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_group_made_again_under_a_deleted_groups_name_sees_none_of_its_events() {
    let s = start(|_| {}).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (carol, _) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "f.bin", "team");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201);
    let mut live = SseReader::open(s.addr, "/api/v1/events/stream", &alice).await;
    passkey_announce(s.addr, &alice_pk, &req(h, 1, 7001, 10, Event::Started)).await;
    while live.next_named("event").await["kind"] != "download_started" {}
    let members_saw: BTreeSet<_> = events_seen(s.addr, &alice)
        .await
        .into_iter()
        .filter(|(_, _, g)| g == "team")
        .map(|(id, kind, _)| (id, kind))
        .collect();
    let kinds: BTreeSet<&str> = members_saw.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "group_created",
            "join_requested",
            "join_accepted",
            "publish",
            "download_started"
        ])
    );
    let outsider_saw = events_seen(s.addr, &carol).await;

    // The group is deleted (its last member leaves), then carol makes a
    // group of the same name.
    for t in [&bob, &alice] {
        let r = post_json(s.addr, "/api/v1/groups/team/leave", Some(t), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let last_old = events_seen(s.addr, &alice).await.last().unwrap().0;
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&carol),
        json!({ "name": "team" }),
    )
    .await;
    assert_eq!(r.status, 201);

    let now_seen = events_seen(s.addr, &carol).await;
    let old: Vec<_> = now_seen
        .iter()
        .filter(|(id, _, _)| *id <= last_old)
        .cloned()
        .collect();
    let before: Vec<_> = outsider_saw.into_iter().collect();
    assert_eq!(
        old.iter().filter(|(_, _, g)| g == "team").count(),
        1,
        "of the old group carol sees only its creation, as any outsider: {old:?}"
    );
    for (id, kind) in &members_saw {
        if kind != "group_created" {
            assert!(
                !now_seen.iter().any(|(i, _, _)| i == id),
                "old {kind} #{id} is hidden from the new group's owner"
            );
        }
    }
    assert!(
        old.iter()
            .all(|e| before.contains(e) || e.1 == "group_left"),
        "nothing of the old group's members-only events: {old:?}"
    );
    assert!(
        now_seen
            .iter()
            .any(|(id, kind, g)| *id > last_old && kind == "group_created" && g == "team"),
        "the new group's own events are hers"
    );
}

/// The `address` of `name` in `/api/v1/users/online` as `token` sees it.
async fn address_of(addr: std::net::SocketAddr, token: &str, name: &str) -> Value {
    let r = get_auth(addr, "/api/v1/users/online", token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let users = r.json()["users"].as_array().unwrap().clone();
    let u = users
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} is online: {users:?}"));
    u.get("address").cloned().unwrap_or(Value::Null)
}

/// The detail of `name`'s login event as `token` sees it.
async fn login_detail(addr: std::net::SocketAddr, token: &str, name: &str) -> String {
    let page = get_auth(addr, "/api/v1/events?limit=1000", token)
        .await
        .json();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "login" && e["username"] == name)
        .unwrap_or_else(|| panic!("{name}'s login is listed: {page}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn addresses_and_private_group_traffic_are_for_the_user_themself_and_admins() {
    let s = start(|c| c.accounts.admins = vec!["olivia".into()]).await;
    let (alice, alice_pk) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (olivia, _) = user(s.addr, "olivia").await;
    group_with(s.addr, "team", &alice, &[]).await;
    let (secret, h_secret) = private_torrent(s.dir.path(), "secret.bin", "team");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &secret,
    )
    .await;
    assert_eq!(r.status, 201);
    let (public, h_public) =
        crate::common::make_torrent(s.dir.path(), "public.bin", 1000, "http://x/a");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/public/torrents",
        Some(&alice),
        &public,
    )
    .await;
    assert_eq!(r.status, 201);
    let mut in_group = req(h_secret, 1, 7001, 0, Event::Started);
    in_group.uploaded = 5_000;
    let mut in_public = req(h_public, 1, 7001, 0, Event::Started);
    in_public.uploaded = 70;
    for r in [&in_group, &in_public] {
        passkey_announce(s.addr, &alice_pk, r).await.announce();
    }

    // As a plain user: bob sees his own address, not alice's.
    assert_eq!(address_of(s.addr, &bob, "alice").await, Value::Null);
    assert_eq!(address_of(s.addr, &bob, "bob").await, "127.0.0.1");
    assert_eq!(address_of(s.addr, &alice, "alice").await, "127.0.0.1");
    assert_eq!(login_detail(s.addr, &bob, "alice").await, "from <hidden>");
    assert_eq!(
        login_detail(s.addr, &alice, "alice").await,
        "from 127.0.0.1"
    );
    let seen_by_bob = get_auth(s.addr, "/api/v1/users/alice/stats", &bob)
        .await
        .json();
    assert_eq!(
        seen_by_bob["uploaded"], 70,
        "public traffic only: {seen_by_bob}"
    );
    assert_eq!(seen_by_bob["torrents_shared"], 1, "the public entry only");

    // As the user themself and as an admin: everything.
    for (who, token) in [("alice", &alice), ("olivia", &olivia)] {
        let full = get_auth(s.addr, "/api/v1/users/alice/stats", token)
            .await
            .json();
        assert_eq!(full["uploaded"], 5_070, "{who}: {full}");
        assert_eq!(full["torrents_shared"], 2, "{who}: {full}");
    }
    assert_eq!(address_of(s.addr, &olivia, "alice").await, "127.0.0.1");
    assert_eq!(
        login_detail(s.addr, &olivia, "alice").await,
        "from 127.0.0.1"
    );
}
