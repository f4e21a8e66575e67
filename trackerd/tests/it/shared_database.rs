//! Two trackerd instances on one PostgreSQL database (issue 16, the start
//! of item 3): one event log, in one id order, whose live streams on
//! either instance carry both instances' events. PostgreSQL-only: SQLite
//! is one instance's database (these tests return at once on SQLite and
//! say so on stderr).

use serde_json::json;

use crate::common::api::*;
use crate::common::{second_instance, start};

#[tokio::test]
async fn an_event_on_one_instance_reaches_the_other_instances_stream_in_id_order() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let (alice, _) = user(a.addr, "alice").await;
    // Alice's session, made on A, is good on B: the sessions are shared.
    let mut on_b = SseReader::open(b.addr, "/api/v1/events/stream", &alice).await;
    assert_eq!(on_b.status, 200);

    register(a.addr, "bob").await;
    // B may still be catching up on alice's own events (her register and
    // login, made on A just before the stream opened); bob's must come,
    // after them.
    let mut bob = on_b.next_named("event").await;
    for _ in 0..2 {
        if bob["username"] != "alice" {
            break;
        }
        bob = on_b.next_named("event").await;
    }
    assert_eq!(
        (bob["kind"].as_str(), bob["username"].as_str()),
        (Some("register"), Some("bob")),
        "{bob}"
    );
    register(b.addr, "carol").await;
    let carol = on_b.next_named("event").await;
    assert_eq!(carol["username"], "carol", "{carol}");
    assert!(
        carol["id"].as_i64() > bob["id"].as_i64(),
        "{bob} then {carol}"
    );

    // And B's own events reach A's streams.
    // A may still be catching up on carol (written on B) when this stream
    // opens, so carol may come first; dave must come, after her.
    let mut on_a = SseReader::open(a.addr, "/api/v1/events/stream", &alice).await;
    register(b.addr, "dave").await;
    let mut first = on_a.next_named("event").await;
    if first["username"] == "carol" {
        first = on_a.next_named("event").await;
    }
    assert_eq!(first["username"], "dave", "{first}");

    // One log, whichever instance is asked.
    let page = |addr| {
        let alice = alice.clone();
        async move {
            let all = get_auth(addr, "/api/v1/events?limit=1000", &alice)
                .await
                .json();
            all["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["id"].as_i64().unwrap(),
                        e["kind"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(a.addr).await, page(b.addr).await);
}

#[tokio::test]
async fn a_name_or_a_session_held_on_one_instance_is_taken_on_the_other() {
    let a = start(|_| {}).await;
    let Some(b) = second_instance(&a).await else {
        return;
    };
    let (alice, _) = user(a.addr, "alice").await;
    let r = post_json(
        b.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        error(&r)
            .1
            .starts_with("alice is already logged in from 127.0.0.1"),
        "{}",
        r.text()
    );
    assert_eq!(get_auth(b.addr, "/api/v1/whoami", &alice).await.status, 200);
    let r = post_json(
        b.addr,
        "/api/v1/register",
        None,
        json!({ "username": "ALICE", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(error(&r).0, "conflict");
}
