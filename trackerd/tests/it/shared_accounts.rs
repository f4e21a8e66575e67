//! Accounts across two trackerd instances on one PostgreSQL (issue 16,
//! item 3): a logout or a takeover through one instance ends the user's
//! streams on the other at once (the event log both share says so), and
//! the failed-login and registration limits count attempts made through
//! either. PostgreSQL-only (they return at once on SQLite and say so on
//! stderr; scripts/test runs them on a throwaway PostgreSQL).

use serde_json::json;

use crate::common::api::*;
use crate::common::{second_instance, start};

#[tokio::test]
async fn a_logout_through_one_instance_ends_the_session_stream_on_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let (alice, _) = user(a.addr, "alice").await;
    let mut on_b = SseReader::open(b.addr, "/api/v1/session/stream", &alice).await;
    assert_eq!(on_b.status, 200);
    on_b.next_named("hello").await;
    let r = post_json(a.addr, "/api/v1/logout", Some(&alice), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(on_b.next_named("session_ended").await["username"], "alice");
    assert_eq!(get_auth(b.addr, "/api/v1/whoami", &alice).await.status, 401);
}

#[tokio::test]
async fn a_takeover_through_one_instance_ends_the_session_stream_on_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let (first, _) = user(b.addr, "alice").await;
    let mut on_b = SseReader::open(b.addr, "/api/v1/session/stream", &first).await;
    on_b.next_named("hello").await;
    let r = post_json(
        a.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD, "takeover": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(on_b.next_named("session_ended").await["username"], "alice");
    assert_eq!(get_auth(b.addr, "/api/v1/whoami", &first).await.status, 401);
    assert_eq!(
        get_auth(b.addr, "/api/v1/whoami", &second).await.status,
        200
    );
}
