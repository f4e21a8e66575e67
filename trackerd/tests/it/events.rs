//! The event log over the real HTTP API: events stored and paged, written
//! as timestamped lines to the text file, streamed live (server-sent
//! events) with group events for members only, and the `shutdown` event
//! every stream gets when the tracker stops.

use crate::common::api::*;
use crate::common::{passkey_announce, req, start};
use p2p_proto::tracker::Event;
use serde_json::json;

fn kinds(page: &serde_json::Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn events_are_stored_paged_and_written_to_the_text_file() {
    let s = start(|_| {}).await;
    let (alice, pk) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
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
    passkey_announce(s.addr, &pk, &req(h, 1, 7001, 10, Event::Started)).await;
    passkey_announce(s.addr, &pk, &req(h, 1, 7001, 0, Event::Completed)).await;
    // Download events are written in the background: wait until the stream shows them.
    while live.next_named("event").await["kind"] != "download_completed" {}
    let r = request(
        s.addr,
        "DELETE",
        &format!("/api/v1/groups/team/torrents/{}", h.to_hex()),
        Some(&alice),
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    post_json(s.addr, "/api/v1/logout", Some(&bob), json!({})).await;

    let expected = [
        "register",
        "login",
        "register",
        "login",
        "group_created",
        "join_requested",
        "join_accepted",
        "publish",
        "download_started",
        "download_completed",
        "withdraw",
        "logout",
    ];
    let all = kinds(
        &get_auth(s.addr, "/api/v1/events?limit=1000", &alice)
            .await
            .json(),
    );
    assert_eq!(all, expected);

    let first = get_auth(s.addr, "/api/v1/events?after=0&limit=3", &alice)
        .await
        .json();
    assert_eq!(kinds(&first), ["register", "login", "register"]);
    let next = first["next_after"].as_i64().unwrap();
    let second = get_auth(
        s.addr,
        &format!("/api/v1/events?after={next}&limit=2"),
        &alice,
    )
    .await
    .json();
    assert_eq!(kinds(&second), ["login", "group_created"]);
    let bad = get_auth(s.addr, "/api/v1/events?after=x", &alice).await;
    assert_eq!(bad.status, 400);

    let text = std::fs::read_to_string(community(&s).event_log_path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len());
    assert!(lines[0].ends_with("#1 register user=alice"), "{}", lines[0]);
    assert!(
        lines[0].as_bytes()[4] == b'-' && lines[0].contains('T'),
        "timestamped: {}",
        lines[0]
    );
    assert!(
        lines[7].contains("publish user=alice group=team info_hash="),
        "{}",
        lines[7]
    );
    assert!(!text.contains(PASSWORD), "no password in the log");
}

#[tokio::test]
async fn group_events_are_shown_to_members_only() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    group_with(s.addr, "team", &alice, &[]).await;
    let (bytes, _) = private_torrent(s.dir.path(), "f.bin", "team");
    request(
        s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    let seen = kinds(&get_auth(s.addr, "/api/v1/events", &bob).await.json());
    assert!(
        seen.contains(&"group_created".to_owned()),
        "groups are listed to all"
    );
    assert!(!seen.contains(&"publish".to_owned()), "{seen:?}");
    let owner_sees = kinds(&get_auth(s.addr, "/api/v1/events", &alice).await.json());
    assert!(owner_sees.contains(&"publish".to_owned()));
}

#[tokio::test]
async fn the_live_stream_receives_events_and_a_shutdown_event() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    let mut stream = SseReader::open(s.addr, "/api/v1/events/stream", &alice).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_named("hello").await["username"], "alice");
    register(s.addr, "bob").await;
    let e = stream.next_named("event").await;
    assert_eq!(
        (e["kind"].as_str(), e["username"].as_str()),
        (Some("register"), Some("bob"))
    );
    login(s.addr, "bob").await;
    assert_eq!(stream.next_named("event").await["kind"], "login");

    let mut session = SseReader::open(s.addr, "/api/v1/session/stream", &alice).await;
    session.next_named("hello").await;
    let stopping = tokio::spawn(s.stop());
    let e = stream.next_named("shutdown").await;
    assert_eq!(e["reason"], "trackerd is shutting down");
    session.next_named("shutdown").await;
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the shutdown event"
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_event_stream_ends_when_its_session_is_logged_out() {
    // A long TTL: the stream must end because of the logout, not an expiry.
    let s = start(|c| c.accounts.session_ttl_secs = 3600).await;
    let (alice, _) = user(s.addr, "alice").await;
    let mut stream = SseReader::open(s.addr, "/api/v1/events/stream", &alice).await;
    assert_eq!(stream.status, 200);
    stream.next_named("hello").await;
    post_json(s.addr, "/api/v1/logout", Some(&alice), json!({})).await;
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.next_named("session_ended"),
    )
    .await
    .expect("the stream says the session ended, at once");
    assert_eq!(ended["username"], "alice");
    assert!(
        stream.next().await.is_none(),
        "nothing more is delivered on that stream"
    );
    // Others' events no longer reach alice's old token.
    register(s.addr, "bob").await;
    let again = SseReader::open(s.addr, "/api/v1/events/stream", &alice).await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn the_session_stream_keeps_the_session_alive_and_reports_its_end() {
    let s = start(|c| c.accounts.session_ttl_secs = 3).await;
    let clock = manual_clock(&s);
    let (alice, _) = user(s.addr, "alice").await;
    let mut session = SseReader::open(s.addr, "/api/v1/session/stream", &alice).await;
    session.next_named("hello").await;
    clock.advance(2);
    // The stream renews every second (ttl / 3); wait for a renewal at T0 + 2.
    while session.next_named("renewed").await["at"].as_i64() != Some(T0 + 2) {}
    clock.advance(2);
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &alice).await.status,
        200,
        "renewed by the stream"
    );
    post_json(s.addr, "/api/v1/logout", Some(&alice), json!({})).await;
    let e = session.next_named("session_ended").await;
    assert_eq!(e["username"], "alice");
}

#[tokio::test]
async fn sigterm_sends_the_shutdown_event_to_the_binarys_session_streams_before_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = crate::common::process::spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    let (token, _) = user(d.addr, "alice").await;
    let mut session = SseReader::open(d.addr, "/api/v1/session/stream", &token).await;
    session.next_named("hello").await;
    d.signal("TERM");
    assert_eq!(
        session.next_named("shutdown").await["reason"],
        "trackerd is shutting down"
    );
    assert!(session.next().await.is_none());
    let status = d.wait_exit(std::time::Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.path().join("trackerd-events.log")).unwrap();
    assert!(log.contains(" login user=alice from 127.0.0.1"), "{log}");
}
