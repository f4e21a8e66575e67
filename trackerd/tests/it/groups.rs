//! Groups over the real HTTP API: create, list, join requests, accept and
//! reject by the owner only, leave (ownership passes on; the last member
//! deletes the group), members, removal, and every refusal.

use crate::common::api::*;
use crate::common::start;
use serde_json::json;

#[tokio::test]
async fn a_group_is_created_listed_joined_and_accepted_by_its_owner() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&alice),
        json!({ "name": "Team" }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["name"], "team");
    assert_eq!(r.json()["owner"], "alice");
    let dup = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&bob),
        json!({ "name": "team" }),
    )
    .await;
    assert_eq!(dup.status, 409);
    let bad = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&bob),
        json!({ "name": "no spaces" }),
    )
    .await;
    assert_eq!(bad.status, 400);

    let list = get_auth(s.addr, "/api/v1/groups", &bob).await.json();
    assert_eq!(list["groups"][0]["name"], "team");
    assert_eq!(list["groups"][0]["member"], false);

    assert_eq!(
        post_json(s.addr, "/api/v1/groups/team/join", Some(&bob), json!({}))
            .await
            .status,
        202
    );
    let twice = post_json(s.addr, "/api/v1/groups/team/join", Some(&bob), json!({})).await;
    assert_eq!(twice.status, 409, "joining twice");
    assert!(error(&twice).1.contains("already asked"));
    let own = post_json(s.addr, "/api/v1/groups/team/join", Some(&alice), json!({})).await;
    assert_eq!(own.status, 409, "already a member");
    assert!(error(&own).1.contains("already a member"));

    let not_owner = get_auth(s.addr, "/api/v1/groups/team/requests", &bob).await;
    assert_eq!(not_owner.status, 403);
    let reqs = get_auth(s.addr, "/api/v1/groups/team/requests", &alice)
        .await
        .json();
    assert_eq!(reqs["requests"][0]["username"], "bob");

    let r = post_json(
        s.addr,
        "/api/v1/groups/team/requests/bob/accept",
        Some(&bob),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 403, "a non-owner cannot accept");
    assert_eq!(error(&r).0, "forbidden");
    let r = post_json(
        s.addr,
        "/api/v1/groups/team/requests/bob/accept",
        Some(&alice),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let again = post_json(
        s.addr,
        "/api/v1/groups/team/requests/bob/accept",
        Some(&alice),
        json!({}),
    )
    .await;
    assert_eq!(again.status, 404, "no pending request any more");
    let members = get_auth(s.addr, "/api/v1/groups/team/members", &bob)
        .await
        .json();
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(members["members"][0]["owner"], true);
    assert_eq!(
        get_auth(s.addr, "/api/v1/groups/nope/members", &bob)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_rejected_request_leaves_the_user_outside() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[]).await;
    post_json(s.addr, "/api/v1/groups/team/join", Some(&bob), json!({})).await;
    let r = post_json(
        s.addr,
        "/api/v1/groups/team/requests/bob/reject",
        Some(&alice),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        get_auth(s.addr, "/api/v1/groups/team/members", &bob)
            .await
            .status,
        403
    );
    assert_eq!(
        post_json(s.addr, "/api/v1/groups/team/join", Some(&bob), json!({}))
            .await
            .status,
        202,
        "may ask again"
    );
}

#[tokio::test]
async fn when_the_owner_leaves_the_longest_standing_member_owns_and_the_last_one_deletes() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (carol, _) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[&bob, &carol]).await;
    let r = post_json(s.addr, "/api/v1/groups/team/leave", Some(&alice), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["new_owner"], "bob");
    let g = get_auth(s.addr, "/api/v1/groups", &carol).await.json();
    assert_eq!(g["groups"][0]["owner"], "bob");
    assert_eq!(g["groups"][0]["members"], 2);
    let not_member = post_json(s.addr, "/api/v1/groups/team/leave", Some(&alice), json!({})).await;
    assert_eq!(not_member.status, 404);

    post_json(s.addr, "/api/v1/groups/team/leave", Some(&carol), json!({})).await;
    let r = post_json(s.addr, "/api/v1/groups/team/leave", Some(&bob), json!({})).await;
    assert_eq!(r.json()["deleted"], true);
    let g = get_auth(s.addr, "/api/v1/groups", &carol).await.json();
    assert_eq!(g["groups"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn only_the_owner_removes_members() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (carol, _) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[&bob, &carol]).await;
    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/carol",
        Some(&bob),
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/alice",
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 400, "the owner leaves instead");
    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/carol",
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        get_auth(s.addr, "/api/v1/groups/team/members", &carol)
            .await
            .status,
        403
    );
    let r = request(
        s.addr,
        "DELETE",
        "/api/v1/groups/team/members/carol",
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
}
