//! Hostile input on every community endpoint: malformed JSON, wrong types,
//! missing fields, bodies over the limit, SQL-looking strings, unicode,
//! 10 KB names, control characters, publish bodies that are not torrents,
//! path segments with `..` or percent-encoded junk, junk tokens and queries.
//! Each gets a 4xx with `{"error": {"code", "message"}}`, and nothing is
//! stored: the list endpoints and the event log read the same afterwards.

use crate::common::api::{PASSWORD, group_with, private_torrent, request, user};
use crate::common::{Reply, TestServer, start};
use serde_json::{Value, json};

/// Largest body in these tests (`http.max_torrent_bytes` and
/// `http.max_body_bytes`), so 10 KB hostile JSON reaches the parser.
const LIMIT: usize = 64 * 1024;
const SQL: &str = "'; DROP TABLE users; --";

/// alice owns `team` (bob is a member, one torrent published); carol is outside.
struct World {
    s: TestServer,
    alice: String,
    bob: String,
    carol: String,
    info_hash: String,
}

async fn world() -> World {
    let s = start(|c| {
        c.http.max_torrent_bytes = LIMIT;
        c.http.max_body_bytes = LIMIT;
        // Hostile logins are failures; keep the limiter out of the way.
        c.accounts.max_login_failures = 100_000;
    })
    .await;
    let (alice, _) = user(s.addr, "alice").await;
    let (bob, _) = user(s.addr, "bob").await;
    let (carol, _) = user(s.addr, "carol").await;
    group_with(s.addr, "team", &alice, &[&bob]).await;
    let (bytes, h) = private_torrent(s.dir.path(), "a.bin", "team");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    World {
        s,
        alice,
        bob,
        carol,
        info_hash: h.to_hex(),
    }
}

/// Everything a hostile request could have changed, as the API lists it.
async fn snapshot(w: &World) -> Value {
    let addr = w.s.addr;
    let get = |path: &'static str, token: String| async move {
        let r = request(addr, "GET", path, Some(&token), b"").await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    };
    let mut groups = get("/api/v1/groups", w.alice.clone()).await;
    groups["groups"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|g| g["name"].to_string());
    let online: Vec<Value> = get("/api/v1/users/online", w.alice.clone()).await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    json!({
        "groups": groups,
        "members": get("/api/v1/groups/team/members", w.alice.clone()).await,
        "requests": get("/api/v1/groups/team/requests", w.alice.clone()).await,
        "team_torrents": get("/api/v1/groups/team/torrents", w.alice.clone()).await,
        "public_torrents": get("/api/v1/public/torrents", w.alice.clone()).await,
        "search_all": get("/api/v1/search?q=", w.alice.clone()).await,
        "events": get("/api/v1/events?limit=1000", w.alice.clone()).await,
        "online": online,
        "alice": get("/api/v1/users/alice/stats", w.alice.clone()).await,
        "carol": get("/api/v1/users/carol/stats", w.alice.clone()).await,
    })
}

/// One hostile request and the refusal it must get.
struct Case {
    what: String,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn case(
    what: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    token: Option<&str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what: what.into(),
        method,
        path: path.into(),
        token: token.map(str::to_owned),
        body: body.into(),
        status,
        code,
    }
}

/// Checks a refusal; returns a description of what is wrong, if anything.
fn judge(c: &Case, r: &Reply) -> Option<String> {
    let label = format!("{} {} [{}]", c.method, shorten(&c.path), c.what);
    let Ok(j) = serde_json::from_slice::<Value>(&r.body) else {
        return Some(format!(
            "{label}: {} with a body that is not JSON: {:?}",
            r.status,
            shorten(&r.text())
        ));
    };
    let code = j["error"]["code"].as_str();
    let message = j["error"]["message"].as_str();
    let (Some(code), Some(message)) = (code, message) else {
        return Some(format!(
            "{label}: {} without {{\"error\": {{\"code\", \"message\"}}}}: {}",
            r.status,
            shorten(&r.text())
        ));
    };
    if r.status != c.status || (c.code != "*" && code != c.code) {
        return Some(format!(
            "{label}: expected {} {}, got {} {code}: {message}",
            c.status, c.code, r.status
        ));
    }
    if message.is_empty() || message.len() > 512 {
        return Some(format!(
            "{label}: message of {} bytes: {}",
            message.len(),
            shorten(message)
        ));
    }
    if message.chars().any(|ch| ch.is_control()) {
        return Some(format!(
            "{label}: control characters in the message: {message:?}"
        ));
    }
    None
}

fn shorten(s: &str) -> String {
    if s.len() <= 120 {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(100).collect();
        format!("{cut}...({} bytes)", s.len())
    }
}

/// Runs every case, then checks that nothing changed.
async fn run(w: &World, cases: Vec<Case>) {
    let before = snapshot(w).await;
    let mut wrong = Vec::new();
    for c in &cases {
        let r = request(w.s.addr, c.method, &c.path, c.token.as_deref(), &c.body).await;
        if let Some(problem) = judge(c, &r) {
            wrong.push(problem);
        }
    }
    let after = snapshot(w).await;
    assert!(
        wrong.is_empty(),
        "{} of {} hostile requests were not refused as expected:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert_eq!(before, after, "hostile requests changed what is stored");
}

/// Usernames that break the rules: SQL, unicode, 10 KB, control characters.
fn bad_names() -> Vec<(&'static str, String)> {
    vec![
        ("SQL", SQL.to_owned()),
        ("SQL quote", "mallory' OR '1'='1".to_owned()),
        ("unicode", "ålice".to_owned()),
        ("CJK", "用户名".to_owned()),
        ("fullwidth", "ＡＬＩＣＥ".to_owned()),
        ("zero-width space", "alice\u{200b}".to_owned()),
        ("right-to-left override", "\u{202e}ecila".to_owned()),
        ("emoji", "💣💣💣".to_owned()),
        ("10 KB", "m".repeat(10 * 1024)),
        ("NUL", "mal\u{0}lory".to_owned()),
        ("newline", "mal\nlory".to_owned()),
        ("escape", "\u{1b}[2Jmallory".to_owned()),
        ("dot dot", "../../etc/passwd".to_owned()),
        ("percent", "%2e%2e%2f".to_owned()),
        ("empty", String::new()),
        ("spaces", "   ".to_owned()),
    ]
}

/// Bodies that are not the JSON object an endpoint wants.
fn malformed_json() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("truncated JSON", b"{\"username\": \"mallory\",".to_vec()),
        ("empty body", Vec::new()),
        ("null", b"null".to_vec()),
        ("array", b"[]".to_vec()),
        ("string", b"\"mallory\"".to_vec()),
        ("number", b"12345".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("not JSON", b"username=mallory&password=x".to_vec()),
        (
            "invalid UTF-8",
            b"{\"username\": \"\xff\xfe\", \"password\": \"\xc3\x28aaaaaaa\"}".to_vec(),
        ),
        ("NUL bytes", b"\0\0\0\0".to_vec()),
        ("nested 10000 deep", "[".repeat(10_000).into_bytes()),
        (
            "trailing garbage",
            br#"{"name": "x", "username": "mallory", "password": "correct horse"} trailing"#
                .to_vec(),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_bodies_are_refused_by_every_json_endpoint() {
    let w = world().await;
    let a = w.alice.as_str();
    let endpoints: [(&str, Option<&str>); 4] = [
        ("/api/v1/register", None),
        ("/api/v1/login", None),
        ("/api/v1/password", Some(a)),
        ("/api/v1/groups", Some(a)),
    ];
    let mut cases = Vec::new();
    for (path, token) in endpoints {
        for (what, body) in malformed_json() {
            cases.push(case(what, "POST", path, token, body, 400, "invalid"));
        }
    }
    let creds = |u: Value, p: Value| json!({ "username": u, "password": p }).to_string();
    for path in ["/api/v1/register", "/api/v1/login"] {
        for (what, body) in [
            ("username a number", creds(json!(5), json!(PASSWORD))),
            ("username null", creds(Value::Null, json!(PASSWORD))),
            (
                "username a list",
                creds(json!(["mallory"]), json!(PASSWORD)),
            ),
            (
                "password a number",
                creds(json!("mallory"), json!(12_345_678)),
            ),
            (
                "password an object",
                creds(json!("mallory"), json!({ "p": PASSWORD })),
            ),
            (
                "password missing",
                json!({ "username": "mallory" }).to_string(),
            ),
            (
                "username missing",
                json!({ "password": PASSWORD }).to_string(),
            ),
            (
                "takeover a string",
                json!({ "username": "mallory", "password": PASSWORD, "takeover": "yes" })
                    .to_string(),
            ),
            (
                "username twice",
                format!(
                    r#"{{"username": "mallory", "username": "eve", "password": "{PASSWORD}"}}"#
                ),
            ),
        ] {
            cases.push(case(what, "POST", path, None, body, 400, "invalid"));
        }
    }
    for (what, body) in [
        (
            "old a number",
            json!({ "old": 5, "new": PASSWORD }).to_string(),
        ),
        ("new missing", json!({ "old": PASSWORD }).to_string()),
        ("old missing", json!({ "new": PASSWORD }).to_string()),
        (
            "new too short",
            json!({ "old": PASSWORD, "new": "short" }).to_string(),
        ),
        (
            "new 10 KB",
            json!({ "old": PASSWORD, "new": "p".repeat(10 * 1024) }).to_string(),
        ),
    ] {
        cases.push(case(
            what,
            "POST",
            "/api/v1/password",
            Some(a),
            body,
            400,
            "invalid",
        ));
    }
    for (what, body) in [
        ("name a number", json!({ "name": 5 }).to_string()),
        ("name null", json!({ "name": null }).to_string()),
        ("name missing", json!({ "title": "x" }).to_string()),
    ] {
        cases.push(case(
            what,
            "POST",
            "/api/v1/groups",
            Some(a),
            body,
            400,
            "invalid",
        ));
    }
    run(&w, cases).await;
}

#[tokio::test]
async fn hostile_names_are_refused_and_nothing_is_stored() {
    let w = world().await;
    let a = w.alice.as_str();
    let mut cases = Vec::new();
    for (what, name) in bad_names() {
        let body = json!({ "username": name, "password": PASSWORD }).to_string();
        cases.push(case(
            what,
            "POST",
            "/api/v1/register",
            None,
            body.clone(),
            400,
            "invalid",
        ));
        cases.push(case(
            what,
            "POST",
            "/api/v1/login",
            None,
            body,
            401,
            "bad_credentials",
        ));
        let body = json!({ "name": name }).to_string();
        cases.push(case(
            what,
            "POST",
            "/api/v1/groups",
            Some(a),
            body,
            400,
            "invalid",
        ));
    }
    for (what, pw) in [
        ("SQL password", SQL.to_owned() + " OR 1=1"),
        ("10 KB password", "p".repeat(10 * 1024)),
        ("empty password", String::new()),
        ("unicode password", "пароль".to_owned()),
    ] {
        let body = json!({ "username": "alice", "password": pw }).to_string();
        cases.push(case(
            what,
            "POST",
            "/api/v1/login",
            None,
            body,
            401,
            "bad_credentials",
        ));
        let body = json!({ "old": pw, "new": PASSWORD }).to_string();
        cases.push(case(
            what,
            "POST",
            "/api/v1/password",
            Some(a),
            body,
            401,
            "bad_credentials",
        ));
    }
    // Passwords too long or too short to register with; taken names in another case.
    let body = json!({ "username": "mallory", "password": "p".repeat(10 * 1024) }).to_string();
    cases.push(case(
        "10 KB password",
        "POST",
        "/api/v1/register",
        None,
        body,
        400,
        "invalid",
    ));
    let body = json!({ "username": "mallory", "password": "short" }).to_string();
    cases.push(case(
        "short password",
        "POST",
        "/api/v1/register",
        None,
        body,
        400,
        "invalid",
    ));
    let body = json!({ "username": "ALICE", "password": PASSWORD }).to_string();
    cases.push(case(
        "taken name, other case",
        "POST",
        "/api/v1/register",
        None,
        body,
        409,
        "conflict",
    ));
    let body = json!({ "name": "TEAM" }).to_string();
    cases.push(case(
        "taken group, other case",
        "POST",
        "/api/v1/groups",
        Some(a),
        body,
        409,
        "conflict",
    ));
    run(&w, cases).await;
    // None of those names exists now.
    for name in ["mallory", "eve"] {
        let r = request(
            w.s.addr,
            "GET",
            &format!("/api/v1/users/{name}/stats"),
            Some(a),
            b"",
        )
        .await;
        assert_eq!(r.status, 404, "{name}: {}", r.text());
    }
}

/// Path segments with `..`, percent-encoded junk, SQL, unicode, 10 KB.
fn bad_segments() -> Vec<(&'static str, String)> {
    vec![
        ("dot dot", "..".to_owned()),
        ("encoded dot dot", "%2e%2e".to_owned()),
        ("encoded slash", "..%2F..%2Fetc".to_owned()),
        ("encoded NUL", "team%00".to_owned()),
        ("encoded newline", "team%0d%0aX-Evil:%201".to_owned()),
        (
            "encoded SQL",
            "%27%3B%20DROP%20TABLE%20groups%3B%20--".to_owned(),
        ),
        ("encoded unicode", "%C3%A5lice".to_owned()),
        ("lone percent", "%".to_owned()),
        ("bad percent", "%zz".to_owned()),
        ("10 KB", "g".repeat(10 * 1024)),
    ]
}

#[tokio::test]
async fn junk_path_segments_are_refused_on_every_endpoint_with_a_path_parameter() {
    let w = world().await;
    let (a, b, c) = (w.alice.as_str(), w.bob.as_str(), w.carol.as_str());
    let ih = w.info_hash.as_str();
    let mut cases = Vec::new();
    for (what, seg) in bad_segments() {
        // A group name: invalid (400); SQL-like and unicode names too.
        for (method, path, token) in [
            ("POST", format!("/api/v1/groups/{seg}/join"), c),
            ("GET", format!("/api/v1/groups/{seg}/requests"), a),
            (
                "POST",
                format!("/api/v1/groups/{seg}/requests/bob/accept"),
                a,
            ),
            (
                "POST",
                format!("/api/v1/groups/{seg}/requests/bob/reject"),
                a,
            ),
            ("POST", format!("/api/v1/groups/{seg}/leave"), b),
            ("GET", format!("/api/v1/groups/{seg}/members"), a),
            ("DELETE", format!("/api/v1/groups/{seg}/members/bob"), a),
            ("GET", format!("/api/v1/groups/{seg}/torrents"), a),
            ("DELETE", format!("/api/v1/groups/{seg}/torrents/{ih}"), a),
        ] {
            cases.push(case(what, method, path, Some(token), "{}", 400, "invalid"));
        }
        let publish = format!("/api/v1/groups/{seg}/torrents");
        cases.push(case(
            what,
            "POST",
            publish,
            Some(a),
            b"d4:infodee".to_vec(),
            400,
            "invalid",
        ));
        // A username: nobody has it (404).
        for (method, path) in [
            ("POST", format!("/api/v1/groups/team/requests/{seg}/accept")),
            ("POST", format!("/api/v1/groups/team/requests/{seg}/reject")),
            ("DELETE", format!("/api/v1/groups/team/members/{seg}")),
            ("GET", format!("/api/v1/users/{seg}/stats")),
        ] {
            cases.push(case(what, method, path, Some(a), "{}", 404, "not_found"));
        }
        // An info-hash: not one (400).
        for (method, path) in [
            ("GET", format!("/api/v1/torrents/{seg}/torrent")),
            ("GET", format!("/api/v1/torrents/{seg}/magnet")),
            ("DELETE", format!("/api/v1/groups/team/torrents/{seg}")),
            ("DELETE", format!("/api/v1/public/torrents/{seg}")),
        ] {
            cases.push(case(what, method, path, Some(a), "", 400, "invalid"));
        }
    }
    // Percent-encoded bytes that are not UTF-8, in every kind of segment.
    for (method, path, status, code) in [
        ("POST", "/api/v1/groups/%ff%fe/join", 400, "invalid"),
        ("GET", "/api/v1/groups/%ff/members", 400, "invalid"),
        (
            "POST",
            "/api/v1/groups/team/requests/%c3%28/accept",
            400,
            "invalid",
        ),
        ("GET", "/api/v1/users/%ff/stats", 400, "invalid"),
        ("GET", "/api/v1/torrents/%ff/torrent", 400, "invalid"),
    ] {
        cases.push(case(
            "invalid UTF-8",
            method,
            path,
            Some(a),
            "{}",
            status,
            code,
        ));
    }
    // Well-formed but absent, or not the caller's.
    let nobody = "ab".repeat(20);
    for (what, method, path, token, status, code) in [
        (
            "unknown group",
            "POST",
            "/api/v1/groups/nosuch/join".to_owned(),
            c,
            404,
            "not_found",
        ),
        (
            "unknown torrent",
            "GET",
            format!("/api/v1/torrents/{nobody}/torrent"),
            a,
            404,
            "not_found",
        ),
        (
            "not a member's torrent",
            "GET",
            format!("/api/v1/torrents/{ih}/magnet"),
            c,
            404,
            "not_found",
        ),
        (
            "non-owner accepts",
            "POST",
            "/api/v1/groups/team/requests/carol/accept".to_owned(),
            b,
            403,
            "forbidden",
        ),
        (
            "non-member lists",
            "GET",
            "/api/v1/groups/team/torrents".to_owned(),
            c,
            403,
            "forbidden",
        ),
        (
            "non-member withdraws",
            "DELETE",
            format!("/api/v1/groups/team/torrents/{ih}"),
            c,
            403,
            "forbidden",
        ),
        (
            "member is not owner",
            "DELETE",
            "/api/v1/groups/team/members/alice".to_owned(),
            b,
            403,
            "forbidden",
        ),
    ] {
        cases.push(case(what, method, path, Some(token), "{}", status, code));
    }
    run(&w, cases).await;
}

#[tokio::test]
async fn junk_queries_tokens_and_search_strings_are_refused_or_harmless() {
    let w = world().await;
    let a = w.alice.as_str();
    let mut cases = Vec::new();
    for (what, q) in [
        ("after a word", "after=abc"),
        ("after a fraction", "after=1.5"),
        ("after overflowing", "after=99999999999999999999999"),
        ("after SQL", "after=1%3B%20DROP%20TABLE%20events"),
        ("limit a word", "limit=all"),
        ("limit overflowing", "limit=99999999999999999999999"),
        ("after empty", "after="),
    ] {
        cases.push(case(
            what,
            "GET",
            format!("/api/v1/events?{q}"),
            Some(a),
            "",
            400,
            "invalid",
        ));
    }
    let long = "q".repeat(10 * 1024);
    cases.push(case(
        "10 KB query",
        "GET",
        format!("/api/v1/search?q={long}"),
        Some(a),
        "",
        400,
        "invalid",
    ));
    // Missing, unknown and junk tokens, on every authenticated endpoint.
    let junk_tokens: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("unknown token", Some("0".repeat(64))),
        ("SQL token", Some("x' OR '1'='1".to_owned())),
        ("10 KB token", Some("t".repeat(10 * 1024))),
        ("unicode token", Some("токен".to_owned())),
        (
            "passkey as token",
            Some("0123456789abcdef0123456789abcdef".to_owned()),
        ),
    ];
    let endpoints = [
        ("POST", "/api/v1/logout".to_owned()),
        ("GET", "/api/v1/whoami".to_owned()),
        ("POST", "/api/v1/password".to_owned()),
        ("GET", "/api/v1/users/online".to_owned()),
        ("GET", "/api/v1/users/alice/stats".to_owned()),
        ("GET", "/api/v1/groups".to_owned()),
        ("POST", "/api/v1/groups".to_owned()),
        ("POST", "/api/v1/groups/team/join".to_owned()),
        ("GET", "/api/v1/groups/team/requests".to_owned()),
        ("POST", "/api/v1/groups/team/requests/bob/accept".to_owned()),
        ("POST", "/api/v1/groups/team/requests/bob/reject".to_owned()),
        ("POST", "/api/v1/groups/team/leave".to_owned()),
        ("GET", "/api/v1/groups/team/members".to_owned()),
        ("DELETE", "/api/v1/groups/team/members/bob".to_owned()),
        ("GET", "/api/v1/groups/team/torrents".to_owned()),
        ("POST", "/api/v1/groups/team/torrents".to_owned()),
        (
            "DELETE",
            format!("/api/v1/groups/team/torrents/{}", w.info_hash),
        ),
        ("GET", "/api/v1/public/torrents".to_owned()),
        ("POST", "/api/v1/public/torrents".to_owned()),
        ("GET", "/api/v1/search?q=a".to_owned()),
        ("GET", format!("/api/v1/torrents/{}/torrent", w.info_hash)),
        ("GET", format!("/api/v1/torrents/{}/magnet", w.info_hash)),
        ("GET", "/api/v1/events".to_owned()),
    ];
    for (what, token) in &junk_tokens {
        for (method, path) in &endpoints {
            cases.push(case(
                *what,
                method,
                path.clone(),
                token.as_deref(),
                "{}",
                401,
                "unauthenticated",
            ));
        }
    }
    run(&w, cases).await;

    // Search text is data: SQL and LIKE wildcards find nothing, break nothing.
    for q in [
        "%27%3B%20DROP%20TABLE%20catalog%3B%20--",
        "%25",
        "_",
        "%22%29%20OR%201%3D1%20--",
        "%ff",
    ] {
        let r = request(
            w.s.addr,
            "GET",
            &format!("/api/v1/search?q={q}"),
            Some(a),
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let found = r.json()["torrents"].as_array().unwrap().len();
        let expect = usize::from(q == "%ff"); // not UTF-8: read as an empty query
        assert_eq!(found, expect, "search {q:?} matched {found}");
    }
}

#[tokio::test]
async fn publish_bodies_that_are_not_torrents_are_refused() {
    let w = world().await;
    let a = w.alice.as_str();
    let (good, _) = private_torrent(w.s.dir.path(), "b.bin", "team");
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("text", b"not a torrent".to_vec()),
        ("empty", Vec::new()),
        ("JSON", br#"{"info": {"name": "x"}}"#.to_vec()),
        ("bencoded integer", b"i42e".to_vec()),
        ("dict without info", b"d8:announce3:urle".to_vec()),
        (
            "info without pieces",
            b"d4:infod6:lengthi1e4:name1:a12:piece lengthi16384eee".to_vec(),
        ),
        ("truncated torrent", good[..good.len() - 1].to_vec()),
        ("half a torrent", good[..good.len() / 2].to_vec()),
        ("huge string length", b"d4:info99999999999:xe".to_vec()),
        (
            "negative length",
            b"d4:infod6:lengthi-1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"
                .to_vec(),
        ),
        ("nested 50000 deep", "l".repeat(50_000).into_bytes()),
        ("NUL bytes", vec![0; 1000]),
        ("SQL", SQL.as_bytes().to_vec()),
    ];
    let mut cases = Vec::new();
    for (what, body) in bodies {
        for path in ["/api/v1/groups/team/torrents", "/api/v1/public/torrents"] {
            cases.push(case(
                what,
                "POST",
                path,
                Some(a),
                body.clone(),
                400,
                "invalid",
            ));
        }
    }
    cases.push(case(
        "non-member",
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&w.carol),
        good.clone(),
        403,
        "forbidden",
    ));
    run(&w, cases).await;

    // A name that is a path is accepted (the info dict is kept byte for
    // byte) and shown without its slashes.
    let mut evil =
        b"d4:infod6:lengthi1e4:name16:../../etc/passwd12:piece lengthi16384e6:pieces20:".to_vec();
    evil.extend_from_slice(&[7u8; 20]);
    evil.extend_from_slice(b"7:privatei1e6:source4:teamee");
    let r = request(
        w.s.addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(a),
        &evil,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let name = r.json()["name"].as_str().unwrap().to_owned();
    assert!(!name.contains('/'), "{name}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_with_the_error_body() {
    let w = world().await;
    let a = w.alice.as_str();
    let big_json = json!({ "username": "mallory", "password": "p".repeat(LIMIT) }).to_string();
    let big_group = json!({ "name": "g".repeat(LIMIT) }).to_string();
    let big_pw = json!({ "old": PASSWORD, "new": "p".repeat(LIMIT) }).to_string();
    let cases = vec![
        case(
            "over the limit",
            "POST",
            "/api/v1/register",
            None,
            big_json.clone(),
            413,
            "*",
        ),
        case(
            "over the limit",
            "POST",
            "/api/v1/login",
            None,
            big_json,
            413,
            "*",
        ),
        case(
            "over the limit",
            "POST",
            "/api/v1/password",
            Some(a),
            big_pw,
            413,
            "*",
        ),
        case(
            "over the limit",
            "POST",
            "/api/v1/groups",
            Some(a),
            big_group,
            413,
            "*",
        ),
        case(
            "over the limit",
            "POST",
            "/api/v1/groups/team/torrents",
            Some(a),
            vec![b'x'; LIMIT + 1],
            413,
            "*",
        ),
        case(
            "over the limit",
            "POST",
            "/api/v1/public/torrents",
            Some(a),
            vec![b'x'; 4 * LIMIT],
            413,
            "*",
        ),
    ];
    run(&w, cases).await;
}

#[tokio::test]
async fn unknown_api_paths_answer_404_with_the_same_error_body() {
    let w = world().await;
    let a = w.alice.as_str();
    let mut cases: Vec<Case> = [
        "/api/v1/groups/team/../../register",
        "/api/v1/groups/a/b/join",
        "/api/v1/%2e%2e/users",
        "/api/v1/groups/team/torrents/x/y",
    ]
    .into_iter()
    .map(|p| case("no such endpoint", "GET", p, Some(a), "", 404, "not_found"))
    .collect();
    // A known path with the wrong method.
    for (method, path) in [
        ("GET", "/api/v1/register"),
        ("PUT", "/api/v1/login"),
        ("DELETE", "/api/v1/groups"),
        ("GET", "/api/v1/groups/team/join"),
    ] {
        cases.push(case("wrong method", method, path, Some(a), "", 405, "*"));
    }
    run(&w, cases).await;
}
