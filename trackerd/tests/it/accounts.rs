//! Accounts over the real HTTP API: registration rules, the per-address
//! registration limit, login and its refusals, one live session per user
//! with takeover, session expiry and the failed-login rate limit (limits and
//! expiry with an injected clock), password change, online users.

use std::net::SocketAddr;

use crate::common::api::*;
use crate::common::{Reply, Request, start};
use serde_json::json;

/// `POST /api/v1/register` for `name`, with extra headers, whatever the answer.
async fn try_register_with(addr: SocketAddr, name: &str, headers: &[(&str, &str)]) -> Reply {
    let body = json!({ "username": name, "password": PASSWORD }).to_string();
    let mut req = Request::post("/api/v1/register", body.as_bytes());
    for (n, v) in headers {
        req = req.header(n, v);
    }
    req.send(addr).await
}

async fn try_register(addr: SocketAddr, name: &str) -> Reply {
    try_register_with(addr, name, &[]).await
}

/// A registration from `ip`, as forwarded by a trusted proxy on 127.0.0.1.
async fn try_register_from(addr: SocketAddr, name: &str, ip: &str) -> Reply {
    try_register_with(addr, name, &[("X-Forwarded-For", ip)]).await
}

fn login_body(name: &str) -> serde_json::Value {
    json!({ "username": name, "password": PASSWORD })
}

#[tokio::test]
async fn a_user_registers_logs_in_sees_whoami_and_logs_out() {
    let s = start(|_| {}).await;
    register(s.addr, "Alice").await;
    let r = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "ALICE", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["username"], "alice", "names are stored lowercase");
    let token = j["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    let passkey = j["passkey"].as_str().unwrap();
    assert_eq!(passkey.len(), 32);
    assert!(passkey.bytes().all(|b| b.is_ascii_hexdigit()));

    let me = get_auth(s.addr, "/api/v1/whoami", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["passkey"], passkey);
    assert_eq!(
        me.json()["announce_url"],
        format!("http://{}/announce/{passkey}", s.addr)
    );

    assert_eq!(
        post_json(s.addr, "/api/v1/logout", Some(token), json!({}))
            .await
            .status,
        200
    );
    let after = get_auth(s.addr, "/api/v1/whoami", token).await;
    assert_eq!(after.status, 401);
    assert_eq!(error(&after).0, "unauthenticated");
}

#[tokio::test]
async fn registration_refuses_taken_names_in_any_case_and_bad_credentials() {
    let s = start(|_| {}).await;
    register(s.addr, "bob").await;
    let taken = post_json(
        s.addr,
        "/api/v1/register",
        None,
        json!({ "username": "BOB", "password": PASSWORD }),
    )
    .await;
    assert_eq!(taken.status, 409);
    assert_eq!(
        error(&taken),
        ("conflict".into(), "username \"bob\" is taken".into())
    );
    for (name, pw) in [
        ("ab", PASSWORD),
        ("has space", PASSWORD),
        ("carol", "short"),
    ] {
        let r = post_json(
            s.addr,
            "/api/v1/register",
            None,
            json!({ "username": name, "password": pw }),
        )
        .await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(error(&r).0, "invalid");
    }
    let r = request(s.addr, "POST", "/api/v1/register", None, b"not json").await;
    assert_eq!(r.status, 400);
    assert!(error(&r).1.contains("invalid JSON body"));
}

#[tokio::test]
async fn the_21st_registration_from_one_address_within_the_hour_is_429_and_creates_nothing() {
    let s = start(|_| {}).await;
    let clock = manual_clock(&s);
    for i in 1..=20 {
        register(s.addr, &format!("user{i}")).await;
    }
    let r = try_register(s.addr, "user21").await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        error(&r),
        (
            "rate_limited".into(),
            "too many registrations from 127.0.0.1 (20 within 3600 s); try again in 3600 s".into()
        )
    );
    // Nothing was stored: user21 cannot log in and has no stats.
    let no_login = post_json(s.addr, "/api/v1/login", None, login_body("user21")).await;
    assert_eq!(no_login.status, 401, "{}", no_login.text());
    let (token, _) = login(s.addr, "user1").await;
    let stats = get_auth(s.addr, "/api/v1/users/user21/stats", &token).await;
    assert_eq!(stats.status, 404, "{}", stats.text());

    clock.advance(1800);
    let r = try_register(s.addr, "user21").await;
    assert_eq!(r.status, 429);
    assert_eq!(
        error(&r).1,
        "too many registrations from 127.0.0.1 (20 within 3600 s); try again in 1800 s"
    );
    clock.advance(1800);
    let r = try_register(s.addr, "user21").await;
    assert_eq!(r.status, 201, "the window has passed: {}", r.text());
    login(s.addr, "user21").await;
}

#[tokio::test]
async fn failed_registrations_do_not_use_up_the_allowance() {
    let s = start(|c| c.accounts.max_registrations_per_address = 2).await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    for _ in 0..5 {
        let r = try_register(s.addr, "ALICE").await;
        assert_eq!(r.status, 409, "{}", r.text());
        let r = try_register(s.addr, "no spaces allowed").await;
        assert_eq!(r.status, 400, "{}", r.text());
        let r = post_json(
            s.addr,
            "/api/v1/register",
            None,
            json!({ "username": "bob", "password": "short" }),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
    }
    register(s.addr, "bob").await;
    let r = try_register(s.addr, "carol").await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        error(&r).1,
        "too many registrations from 127.0.0.1 (2 within 3600 s); try again in 3600 s"
    );
}

#[tokio::test]
async fn concurrent_registrations_cannot_pass_the_limit_and_lost_races_give_their_place_back() {
    let s = start(|c| {
        c.accounts.max_registrations_per_address = 5;
        // Room for every registration at once (the default queues two).
        c.accounts.max_password_checks_per_address = 8;
    })
    .await;
    manual_clock(&s);
    // Five at once for one new name: one wins, four get 409 and give their place back.
    let same = register_at_once(s.addr, vec!["popular".to_owned(); 5]).await;
    let mut statuses = statuses_of(&same);
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409]);
    // Four places are left; eight at once for distinct names get exactly four.
    let many = register_at_once(s.addr, (0..8).map(|i| format!("racer{i}")).collect()).await;
    let created = many.iter().filter(|r| r.status == 201).count();
    let limited = many.iter().filter(|r| r.status == 429).count();
    assert_eq!((created, limited), (4, 4), "{:?}", statuses_of(&many));
}

/// Sends a registration for every name at once (a task each); the replies in order.
async fn register_at_once(addr: SocketAddr, names: Vec<String>) -> Vec<Reply> {
    let tasks: Vec<_> = names
        .into_iter()
        .map(|n| tokio::spawn(async move { try_register(addr, &n).await }))
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn statuses_of(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn a_registration_limit_of_zero_means_no_limit() {
    let s = start(|c| c.accounts.max_registrations_per_address = 0).await;
    manual_clock(&s);
    for i in 0..12 {
        register(s.addr, &format!("many{i}")).await;
    }
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64_and_a_trusted_proxy_passes_the_client_address() {
    let s = start(|c| {
        c.accounts.max_registrations_per_address = 2;
        c.announce.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    manual_clock(&s);
    for (name, ip) in [("six1", "2001:db8:1:2::1"), ("six2", "2001:db8:1:2::2")] {
        let r = try_register_from(s.addr, name, ip).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = try_register_from(s.addr, "six3", "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    assert_eq!(r.status, 429, "same /64: {}", r.text());
    assert_eq!(
        error(&r).1,
        "too many registrations from 2001:db8:1:2::/64 (2 within 3600 s); try again in 3600 s"
    );
    // Another /64, an IPv4 client and the proxy itself each have their own allowance.
    for (name, ip) in [("six4", "2001:db8:1:3::1"), ("four1", "203.0.113.9")] {
        let r = try_register_from(s.addr, name, ip).await;
        assert_eq!(r.status, 201, "{ip}: {}", r.text());
    }
    let r = try_register(s.addr, "proxy1").await;
    assert_eq!(r.status, 201, "{}", r.text());

    // A client that is not a trusted proxy cannot claim other addresses.
    let s = start(|c| c.accounts.max_registrations_per_address = 1).await;
    manual_clock(&s);
    let r = try_register_from(s.addr, "claim1", "10.0.0.1").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = try_register_from(s.addr, "claim2", "10.0.0.2").await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(error(&r).1.contains("from 127.0.0.1 "), "{}", r.text());
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401() {
    let s = start(|_| {}).await;
    register(s.addr, "alice").await;
    for name in ["alice", "nobody"] {
        let r = post_json(
            s.addr,
            "/api/v1/login",
            None,
            json!({ "username": name, "password": "wrong password" }),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            error(&r),
            (
                "bad_credentials".into(),
                "wrong username or password".into()
            )
        );
    }
    let r = request(s.addr, "GET", "/api/v1/whoami", Some("not-a-token"), b"").await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_second_login_is_refused_while_the_first_is_live_unless_it_takes_over() {
    let s = start(|_| {}).await;
    let (first, _) = user(s.addr, "alice").await;
    let r = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 409);
    let (code, message) = error(&r);
    assert_eq!(code, "conflict");
    assert!(
        message.starts_with("alice is already logged in from 127.0.0.1 since "),
        "{message}"
    );

    let r = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD, "takeover": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &first).await.status,
        401,
        "the old session ended"
    );
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &second).await.status,
        200
    );
}

#[tokio::test]
async fn a_session_expires_when_not_renewed_and_requests_renew_it() {
    let s = start(|c| c.accounts.session_ttl_secs = 120).await;
    let clock = manual_clock(&s);
    let (token, _) = user(s.addr, "alice").await;
    clock.advance(100);
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &token).await.status,
        200,
        "renews"
    );
    clock.advance(100);
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &token).await.status,
        200,
        "still live: renewed 100 s ago"
    );
    let online = get_auth(s.addr, "/api/v1/users/online", &token)
        .await
        .json();
    assert_eq!(online["users"][0]["username"], "alice");
    clock.advance(121);
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &token).await.status,
        401,
        "expired"
    );
    // An expired session does not block a new login.
    let (again, _) = login(s.addr, "alice").await;
    assert_eq!(get_auth(s.addr, "/api/v1/whoami", &again).await.status, 200);
}

#[tokio::test]
async fn expired_sessions_are_ended_with_a_session_expired_event() {
    let s = start(|_| {}).await;
    let clock = manual_clock(&s);
    let (alice, _) = user(s.addr, "alice").await;
    user(s.addr, "bob").await;
    // Alice's event stream ends with her session...
    let mut live = SseReader::open(s.addr, "/api/v1/events/stream", &alice).await;
    live.next_named("hello").await;
    clock.advance(121);
    assert_eq!(live.next_named("session_ended").await["username"], "alice");
    // ...and the log holds both expiries.
    let mut expired = Vec::new();
    for _ in 0..100 {
        let page = community(&s).events.page(0, 100).await.unwrap();
        expired = page
            .iter()
            .filter(|e| e.record.kind == "session_expired")
            .filter_map(|e| e.record.username.clone())
            .collect();
        if expired.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    expired.sort();
    assert_eq!(expired, ["alice", "bob"]);
    let online = community(&s).online_names().await.unwrap();
    assert!(online.is_empty());
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_user_until_the_window_passes() {
    let s = start(|_| {}).await;
    let clock = manual_clock(&s);
    register(s.addr, "alice").await;
    let wrong = json!({ "username": "alice", "password": "wrong password" });
    for _ in 0..5 {
        assert_eq!(
            post_json(s.addr, "/api/v1/login", None, wrong.clone())
                .await
                .status,
            401
        );
    }
    let right = json!({ "username": "alice", "password": PASSWORD });
    let r = post_json(s.addr, "/api/v1/login", None, right.clone()).await;
    assert_eq!(r.status, 429, "even the right password waits");
    let (code, message) = error(&r);
    assert_eq!(code, "rate_limited");
    assert!(
        message.contains("too many failed logins") && message.contains("try again in 60 s"),
        "{message}"
    );
    clock.advance(30);
    assert_eq!(
        post_json(s.addr, "/api/v1/login", None, right.clone())
            .await
            .status,
        429
    );
    clock.advance(31);
    assert_eq!(
        post_json(s.addr, "/api/v1/login", None, right).await.status,
        200
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address_across_usernames() {
    let s = start(|c| c.accounts.max_login_failures = 3).await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    for name in ["x1x", "x2x", "x3x"] {
        let r = post_json(
            s.addr,
            "/api/v1/login",
            None,
            json!({ "username": name, "password": "whatever1" }),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 429);
    assert!(error(&r).1.contains("127.0.0.1"), "{}", r.text());
}

#[tokio::test]
async fn a_password_change_needs_the_old_password() {
    let s = start(|_| {}).await;
    let (token, _) = user(s.addr, "alice").await;
    let r = post_json(
        s.addr,
        "/api/v1/password",
        Some(&token),
        json!({ "old": "not it at all", "new": "new password 1" }),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = post_json(
        s.addr,
        "/api/v1/password",
        Some(&token),
        json!({ "old": PASSWORD, "new": "short" }),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post_json(
        s.addr,
        "/api/v1/password",
        Some(&token),
        json!({ "old": PASSWORD, "new": "new password 1" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The change replaced the session: log out with the new token.
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let out = post_json(s.addr, "/api/v1/logout", Some(&token), json!({})).await;
    assert_eq!(out.status, 200);
    let old = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": PASSWORD }),
    )
    .await;
    assert_eq!(old.status, 401);
    let new = post_json(
        s.addr,
        "/api/v1/login",
        None,
        json!({ "username": "alice", "password": "new password 1" }),
    )
    .await;
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn the_api_requires_a_token_and_answers_errors_as_json() {
    let s = start(|_| {}).await;
    for path in [
        "/api/v1/whoami",
        "/api/v1/groups",
        "/api/v1/users/online",
        "/api/v1/events",
    ] {
        let r = request(s.addr, "GET", path, None, b"").await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(error(&r).0, "unauthenticated");
    }
    let (token, _) = user(s.addr, "alice").await;
    let r = get_auth(s.addr, "/api/v1/users/nobody/stats", &token).await;
    assert_eq!(r.status, 404);
    let stats = get_auth(s.addr, "/api/v1/users/alice/stats", &token)
        .await
        .json();
    assert_eq!(stats["online"], true);
    assert_eq!(stats["uploaded"], 0);
}

#[tokio::test]
async fn behind_a_trusted_proxy_logins_name_and_count_the_forwarded_client() {
    let s = start(|c| {
        c.announce.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.accounts.max_login_failures = 2;
    })
    .await;
    manual_clock(&s);
    register(s.addr, "alice").await;
    let login_from = |ip: &'static str, password: &'static str| async move {
        let body = json!({ "username": "alice", "password": password }).to_string();
        Request::post("/api/v1/login", body.as_bytes())
            .header("X-Forwarded-For", ip)
            .send(s.addr)
            .await
    };
    let r = login_from("198.51.100.7", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = login_from("203.0.113.5", PASSWORD).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        error(&r)
            .1
            .starts_with("alice is already logged in from 198.51.100.7 since "),
        "{}",
        r.text()
    );
    // Failures count against the client, not the proxy: another client
    // behind the same proxy is not locked out by them.
    register(s.addr, "bob").await;
    for _ in 0..2 {
        let r = login_from("203.0.113.5", "wrong password").await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    let r = login_from("203.0.113.5", "wrong password").await;
    assert_eq!(r.status, 429, "{}", r.text());
    let bob = post_json(s.addr, "/api/v1/login", None, login_body("bob")).await;
    assert_eq!(
        bob.status,
        200,
        "the proxy's own address is not blocked: {}",
        bob.text()
    );
}

#[tokio::test]
async fn reserved_and_option_like_usernames_are_refused_and_nothing_is_stored() {
    let s = start(|_| {}).await;
    for name in ["admin", "Root", "-rf", "--help"] {
        let r = post_json(
            s.addr,
            "/api/v1/register",
            None,
            json!({ "username": name, "password": "correct horse" }),
        )
        .await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        let (code, message) = error(&r);
        assert_eq!(code, "invalid");
        assert!(message.contains("is reserved"), "{message}");
        // Nothing was created: logging in as that name fails like any stranger.
        let r = post_json(
            s.addr,
            "/api/v1/login",
            None,
            json!({ "username": name, "password": "correct horse" }),
        )
        .await;
        assert_eq!(r.status, 401, "{name}");
    }
}
