//! The web dashboard (issue 14) without a browser: CSRF refusals, cookie
//! attributes, the Content-Security-Policy, escaping of hostile names,
//! group privacy on every page, admin-only actions, and the live stream
//! resuming after the last event id. (The browser tests in tests/browser
//! drive the same pages in Chromium.)

use std::net::SocketAddr;

use p2p_proto::infohash::InfoHash;
use serde_json::json;
use trackerd::web::CONTENT_SECURITY_POLICY;

use crate::common::api::{
    SseReader, get_auth, post_json, private_torrent, register, request, user,
};
use crate::common::web::{Browser, form};
use crate::common::{Request, start};

/// A public single-file .torrent named `name`, written by hand so the name
/// can hold anything; (bytes, info-hash).
fn named_torrent(name: &str) -> (Vec<u8>, InfoHash) {
    let mut info = Vec::new();
    info.extend_from_slice(b"d6:lengthi1000e4:name");
    info.extend_from_slice(format!("{}:{name}", name.len()).as_bytes());
    info.extend_from_slice(b"12:piece lengthi16384e6:pieces20:");
    info.extend_from_slice(&[7u8; 20]);
    info.push(b'e');
    let mut bytes = b"d8:announce32:http://original.invalid/announce4:info".to_vec();
    bytes.extend_from_slice(&info);
    bytes.push(b'e');
    let h = p2p_proto::metainfo::Metainfo::from_bytes(&bytes)
        .unwrap()
        .info_hash;
    (bytes, h)
}

async fn publish_public(addr: SocketAddr, token: &str, bytes: &[u8]) {
    let r = request(addr, "POST", "/api/v1/public/torrents", Some(token), bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

const PAGES: [&str; 7] = [
    "/",
    "/torrents",
    "/publish",
    "/groups",
    "/online",
    "/log",
    "/account",
];

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused_with_403_and_changes_nothing() {
    let s = start(|_| {}).await;
    register(s.addr, "alice").await;
    let (token, _) = user(s.addr, "bob").await;
    let mut b = Browser::logged_in(s.addr, "alice").await;
    b.get(s.addr, "/groups").await;
    let none = b
        .post_raw(s.addr, "/groups", &form(&[("name", "forged")]))
        .await;
    assert_eq!(none.status, 403, "{}", none.text());
    let wrong = b
        .post_raw(
            s.addr,
            "/groups",
            &form(&[("csrf", "0000"), ("name", "forged")]),
        )
        .await;
    assert_eq!(wrong.status, 403);
    // Another browser's token does not fit this session either.
    let mut other = Browser::default();
    other.get(s.addr, "/account").await;
    let foreign = b
        .post_raw(
            s.addr,
            "/groups",
            &form(&[("csrf", &other.csrf), ("name", "forged")]),
        )
        .await;
    assert_eq!(foreign.status, 403);
    let groups = get_auth(s.addr, "/api/v1/groups", &token).await.json();
    assert_eq!(groups["groups"].as_array().unwrap().len(), 0, "{groups}");
    // A login form without the token is refused before the password is checked.
    let anon = Browser::default()
        .post_raw(
            s.addr,
            "/login",
            &form(&[("username", "alice"), ("password", "x")]),
        )
        .await;
    assert_eq!(anon.status, 403);
    // With the token the same form works.
    let ok = b.post(s.addr, "/groups", &[("name", "real")]).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_and_secure_only_behind_https() {
    let s = start(|_| {}).await;
    register(s.addr, "alice").await;
    let mut b = Browser::default();
    b.get(s.addr, "/account").await;
    let r = b
        .post(
            s.addr,
            "/login",
            &[
                ("username", "alice"),
                ("password", crate::common::api::PASSWORD),
            ],
        )
        .await;
    let cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("p2p_session="), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let tls = start(|c| c.public_url = "https://tracker.example".into()).await;
    let r = Request::get("/account").send(tls.addr).await;
    let anon = r.header("set-cookie").unwrap();
    assert!(anon.contains("; HttpOnly; SameSite=Lax; Secure"), "{anon}");
}

#[tokio::test]
async fn every_page_carries_the_csp_and_holds_no_inline_script_or_style() {
    let s = start(|_| {}).await;
    register(s.addr, "alice").await;
    let mut b = Browser::logged_in(s.addr, "alice").await;
    for page in PAGES {
        let r = b.get(s.addr, page).await;
        assert_eq!(r.status, 200, "{page}: {}", r.text());
        assert_eq!(
            r.header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"), "{page}");
        let html = r.text();
        assert_eq!(html.matches("<script").count(), 1, "{page}: one script tag");
        assert!(html.contains("<script src=\"/assets/app.js?v="), "{page}");
        assert!(!html.contains(" style="), "{page}: inline style");
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "{page}"
        );
    }
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

#[tokio::test]
async fn hostile_torrent_and_group_names_are_shown_as_text() {
    let s = start(|_| {}).await;
    let (token, _) = user(s.addr, "alice").await;
    let (bytes, h) = named_torrent("<script>alert(1)</script>");
    publish_public(s.addr, &token, &bytes).await;
    let mut b = Browser::logged_in(s.addr, "alice").await;
    // The .torrent reader already turns '<', '>' and '/' of names into '_'
    // (they are path components); what reaches a page is text either way.
    for page in ["/torrents", &format!("/t/{h}"), "/log"] {
        let html = b.get(s.addr, page).await.text();
        assert!(!html.contains("<script>alert"), "{page}: {html}");
        assert!(html.contains("_script_alert(1)__script_"), "{page}: {html}");
    }
    // What the viewer types comes back escaped.
    let q = p2p_proto::percent::percent_encode(b"<script>alert(1)</script>");
    let html = b.get(s.addr, &format!("/torrents?q={q}")).await.text();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{html}"
    );
    // Group names are a-z, 0-9, _ and -: the hostile one is refused, and
    // the refusal that quotes it shows it as text.
    b.get(s.addr, "/groups").await;
    let hostile = "\"><img src=x onerror=alert(1)>";
    let r = b.post(s.addr, "/groups", &[("name", hostile)]).await;
    assert_eq!(r.status, 400);
    let html = r.text();
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    let r = b.post(s.addr, "/groups/join", &[("name", hostile)]).await;
    assert_eq!(r.status, 400);
    assert!(!r.text().contains("<img"));
}

#[tokio::test]
async fn a_non_member_gets_404_for_a_group_share_page_and_never_sees_the_group() {
    let s = start(|c| c.accounts.admins = vec!["olivia".into()]).await;
    let (alice, _) = user(s.addr, "alice").await;
    register(s.addr, "bob").await;
    register(s.addr, "olivia").await;
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&alice),
        json!({"name": "secret-team"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let (bytes, h) = private_torrent(s.dir.path(), "plans-for-q3.bin", "secret-team");
    let r = request(
        s.addr,
        "POST",
        "/api/v1/groups/secret-team/torrents",
        Some(&alice),
        &bytes,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let mut bob = Browser::logged_in(s.addr, "bob").await;
    let mut anon = Browser::default();
    for b in [&mut bob, &mut anon] {
        let r = b.get(s.addr, &format!("/t/{h}")).await;
        assert_eq!(r.status, 404);
        assert!(!r.text().contains("secret-team") && !r.text().contains("plans-for-q3"));
        let r = b.get(s.addr, &format!("/t/{h}/torrent")).await;
        assert!(r.status == 404 || r.status == 401, "{}", r.status);
    }
    for page in PAGES
        .iter()
        .copied()
        .chain(["/torrents?sort=seeders", "/torrents?q=plans"])
    {
        let html = bob.get(s.addr, page).await.text();
        assert!(
            !html.contains("secret-team"),
            "{page} names the group: {html}"
        );
        assert!(
            !html.contains("plans-for-q3"),
            "{page} names the torrent: {html}"
        );
    }
    let html = bob.get(s.addr, "/").await.text();
    assert!(html.contains(r#"<dd id="fig-torrents">0</dd>"#), "{html}");

    let mut member = Browser::logged_in(s.addr, "alice").await;
    let r = member.get(s.addr, &format!("/t/{h}")).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("secret-team") && r.text().contains("plans-for-q3"));
    assert!(
        member
            .get(s.addr, "/log")
            .await
            .text()
            .contains("secret-team")
    );
    let mut admin = Browser::logged_in(s.addr, "olivia").await;
    assert_eq!(admin.get(s.addr, &format!("/t/{h}")).await.status, 200);
    assert!(
        admin
            .get(s.addr, "/torrents")
            .await
            .text()
            .contains("plans-for-q3")
    );
}

#[tokio::test]
async fn admin_actions_are_refused_to_others_and_done_for_admins() {
    let s = start(|c| c.accounts.admins = vec!["olivia".into()]).await;
    let (alice, _) = user(s.addr, "alice").await;
    register(s.addr, "bob").await;
    register(s.addr, "olivia").await;
    let (bytes, h) = named_torrent("ordinary.iso");
    publish_public(s.addr, &alice, &bytes).await;

    let mut bob = Browser::logged_in(s.addr, "bob").await;
    bob.get(s.addr, &format!("/t/{h}")).await;
    assert!(
        !bob.get(s.addr, &format!("/t/{h}"))
            .await
            .text()
            .contains("Remove from the catalog")
    );
    assert_eq!(
        bob.post(s.addr, &format!("/t/{h}/remove"), &[])
            .await
            .status,
        403
    );
    assert_eq!(bob.post(s.addr, "/online/alice/end", &[]).await.status, 403);
    assert_eq!(get_auth(s.addr, "/api/v1/whoami", &alice).await.status, 200);
    assert_eq!(bob.get(s.addr, &format!("/t/{h}")).await.status, 200);

    let mut admin = Browser::logged_in(s.addr, "olivia").await;
    assert!(
        admin
            .get(s.addr, &format!("/t/{h}"))
            .await
            .text()
            .contains("Remove from the catalog")
    );
    assert_eq!(
        admin
            .post(s.addr, &format!("/t/{h}/remove"), &[])
            .await
            .status,
        303
    );
    assert_eq!(bob.get(s.addr, &format!("/t/{h}")).await.status, 404);
    admin.get(s.addr, "/online").await;
    assert_eq!(
        admin.post(s.addr, "/online/alice/end", &[]).await.status,
        303
    );
    assert_eq!(get_auth(s.addr, "/api/v1/whoami", &alice).await.status, 401);
}

#[tokio::test]
async fn the_live_stream_resumes_after_the_last_event_id_without_a_gap_or_a_repeat() {
    let s = start(|_| {}).await;
    register(s.addr, "alice").await;
    let mut b = Browser::logged_in(s.addr, "alice").await;
    b.get(s.addr, "/groups").await;
    let stream = |b: &Browser, last: Option<i64>| {
        let mut r = b.request("GET", "/log/stream");
        if let Some(id) = last {
            r = r.header("Last-Event-ID", &id.to_string());
        }
        r
    };
    let mut first = SseReader::open_request(s.addr, stream(&b, None)).await;
    assert_eq!(first.status, 200);
    first.next_named("hello").await;
    assert_eq!(
        b.post(s.addr, "/groups", &[("name", "one")]).await.status,
        303
    );
    let seen = first.next_named("event").await;
    assert_eq!(seen["group"], "one");
    let last = seen["id"].as_i64().unwrap();
    drop(first);
    // While no stream is open, three events happen.
    for g in ["two", "three", "four"] {
        assert_eq!(b.post(s.addr, "/groups", &[("name", g)]).await.status, 303);
    }
    let mut again = SseReader::open_request(s.addr, stream(&b, Some(last))).await;
    again.next_named("hello").await;
    let mut ids = Vec::new();
    let mut groups = Vec::new();
    for _ in 0..3 {
        let e = again.next_named("event").await;
        ids.push(e["id"].as_i64().unwrap());
        groups.push(e["group"].as_str().unwrap().to_owned());
    }
    assert_eq!(groups, ["two", "three", "four"]);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last,
        "{ids:?}"
    );
    // Then live ones, none twice.
    assert_eq!(
        b.post(s.addr, "/groups", &[("name", "five")]).await.status,
        303
    );
    let e = again.next_named("event").await;
    assert_eq!(e["group"], "five");
    assert!(e["id"].as_i64().unwrap() > ids[2]);
}

#[tokio::test]
async fn the_torrents_table_pages_sorts_and_searches_on_the_server() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    for i in 0..55 {
        let (bytes, _) = named_torrent(&format!("file-{i:02}.bin"));
        publish_public(s.addr, &alice, &bytes).await;
    }
    let mut b = Browser::default();
    let first = b.get(s.addr, "/torrents?sort=name&dir=asc").await.text();
    assert!(
        first.contains("55 torrents") && first.contains("page 1 of 2"),
        "{first}"
    );
    assert!(first.contains("file-00.bin") && first.contains("file-49.bin"));
    assert!(!first.contains("file-50.bin"));
    let second = b
        .get(s.addr, "/torrents?sort=name&dir=asc&page=2")
        .await
        .text();
    assert!(second.contains("file-54.bin") && !second.contains("file-49.bin"));
    let desc = b.get(s.addr, "/torrents?sort=name&dir=desc").await.text();
    assert!(desc.find("file-54.bin").unwrap() < desc.find("file-53.bin").unwrap());
    let found = b.get(s.addr, "/torrents?q=FILE-3").await.text();
    assert!(found.contains("10 torrents"), "{found}");
    let by_seeders = b.get(s.addr, "/torrents?sort=seeders&page=2").await.text();
    assert!(by_seeders.contains("page 2 of 2"), "{by_seeders}");
    let fragment = b.get(s.addr, "/torrents?fragment=1").await.text();
    assert!(
        fragment.starts_with("<section id=\"torrents\""),
        "{fragment}"
    );
}

#[tokio::test]
async fn the_publish_form_takes_a_torrent_sized_body_and_no_more() {
    let s = start(|c| c.http.max_torrent_bytes = 100_000).await;
    let limit = 100_000 + trackerd::http::body_limit::MULTIPART_FRAMING_BYTES;
    let head = |declared: usize| {
        format!(
            "POST /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {declared}\r\n\r\n"
        )
    };
    // Past the limit: 413 before a byte of the body is read.
    let r = crate::common::send_raw(s.addr, head(limit + 1).as_bytes()).await;
    assert_eq!(r.status, 413, "{}", r.text());
    // At the limit the body is read (and refused as no form: 400, not 413).
    let mut raw = head(limit).into_bytes();
    raw.extend(std::iter::repeat_n(b'-', limit));
    let r = crate::common::send_raw(s.addr, &raw).await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test]
async fn a_browser_logs_in_beside_the_daemon_and_logging_out_ends_only_its_own_session() {
    let s = start(|_| {}).await;
    let (daemon, _) = user(s.addr, "alice").await;
    let mut b = Browser::logged_in(s.addr, "alice").await;
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &daemon).await.status,
        200
    );
    let online = get_auth(s.addr, "/api/v1/users/online", &daemon)
        .await
        .json();
    assert_eq!(online["users"].as_array().unwrap().len(), 1, "{online}");
    // The login event says it came from a browser.
    let events = get_auth(s.addr, "/api/v1/events", &daemon).await.json();
    let logins: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login")
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logins, ["from 127.0.0.1", "from 127.0.0.1 (web)"]);
    b.get(s.addr, "/account").await;
    assert_eq!(b.post(s.addr, "/logout", &[]).await.status, 303);
    assert_eq!(b.get(s.addr, "/groups").await.status, 401);
    assert_eq!(
        get_auth(s.addr, "/api/v1/whoami", &daemon).await.status,
        200
    );

    // A password change (here through the API) ends every session, the
    // browser's included.
    let mut b = Browser::logged_in(s.addr, "alice").await;
    let r = post_json(
        s.addr,
        "/api/v1/password",
        Some(&daemon),
        json!({"old": crate::common::api::PASSWORD, "new": "another horse battery"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(b.get(s.addr, "/groups").await.status, 401);
}
