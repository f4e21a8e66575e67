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

#[tokio::test]
async fn failed_logins_through_either_instance_count_towards_one_limit() {
    let limit = |c: &mut trackerd::config::Config| c.accounts.max_login_failures = 3;
    let a = start(limit).await;
    let Some(b) = crate::common::second_instance_with(&a, limit).await else {
        return;
    };
    register(a.addr, "alice").await;
    let wrong = json!({ "username": "alice", "password": "not the password" });
    for addr in [a.addr, b.addr, a.addr] {
        let r = post_json(addr, "/api/v1/login", None, wrong.clone()).await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    // Each instance saw fewer than 3; together they saw 3.
    for addr in [b.addr, a.addr] {
        let r = post_json(addr, "/api/v1/login", None, wrong.clone()).await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(
            error(&r)
                .1
                .starts_with("too many failed logins for 127.0.0.1 (3 within 60 s)"),
            "{}",
            r.text()
        );
    }
}

#[tokio::test]
async fn registrations_through_either_instance_count_towards_one_limit() {
    let limit = |c: &mut trackerd::config::Config| c.accounts.max_registrations_per_address = 2;
    let a = start(limit).await;
    let Some(b) = crate::common::second_instance_with(&a, limit).await else {
        return;
    };
    register(a.addr, "alice").await;
    register(b.addr, "bob").await;
    for (addr, name) in [(a.addr, "carol"), (b.addr, "dave")] {
        let r = post_json(
            addr,
            "/api/v1/register",
            None,
            json!({ "username": name, "password": PASSWORD }),
        )
        .await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(
            error(&r)
                .1
                .starts_with("too many registrations from 127.0.0.1 (2 within 3600 s)"),
            "{}",
            r.text()
        );
    }
}
