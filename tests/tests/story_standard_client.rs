//! The story, shortened, with a standard client in it: alice shares a file
//! with her group from p2pd; bob has no p2pd, only aria2c and the
//! personalised .torrent the tracker gives him; carol, not a member, gets
//! no .torrent at all.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{aria2_common_flags, free_port, require_tool, sha1_file, write_random_file};
use p2p_tests::e2e::{daemon, ok_json, sign_up, succeed, trackerd, wait_until};
use serde_json::{Value, json};

/// One HTTP request to the tracker; (status, body).
fn http(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut payload = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..end]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + n]);
        b = &b[end + 4 + n..];
    }
}

/// Registers and logs in over the API; returns the session token.
fn api_user(base: &str, name: &str) -> String {
    let creds = json!({"username": name, "password": "correct horse"});
    assert_eq!(
        http(base, "POST", "/api/v1/register", None, Some(creds.clone())).0,
        201
    );
    let (status, body) = http(base, "POST", "/api/v1/login", None, Some(creds));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_aria2c_member_downloads_from_p2pd_with_its_personalised_torrent() {
    require_tool("aria2c");
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let (_alice_proc, alice) = daemon(&tmp.path().join("alice"), &format!("{base}/announce"));
    sign_up(&alice, "alice");
    succeed(&alice, &["groups", "create", "team"]);

    // bob and carol only have the HTTP API and aria2c.
    let bob = api_user(&base, "bob");
    let carol = api_user(&base, "carol");
    assert_eq!(
        http(&base, "POST", "/api/v1/groups/team/join", Some(&bob), None).0,
        202
    );
    succeed(&alice, &["groups", "accept", "team", "bob"]);

    let original = tmp.path().join("clip.bin");
    write_random_file(&original, 12 << 20, 7);
    let team = tmp.path().join("alice/shared/team");
    std::fs::create_dir_all(&team).unwrap();
    std::fs::copy(&original, team.join("clip.bin")).unwrap();
    wait_until("clip.bin in the team catalog", 60, || {
        ok_json(&alice, &["files", "team"])["torrents"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    });
    let ih = ok_json(&alice, &["files", "team"])["torrents"][0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();

    // carol is not a member: no .torrent for her.
    let (status, _) = http(
        &base,
        "GET",
        &format!("/api/v1/torrents/{ih}/torrent"),
        Some(&carol),
        None,
    );
    assert_eq!(status, 404);

    // bob's personalised .torrent, straight into aria2c.
    let (status, torrent) = http(
        &base,
        "GET",
        &format!("/api/v1/torrents/{ih}/torrent"),
        Some(&bob),
        None,
    );
    assert_eq!(status, 200);
    let file = tmp.path().join("bob.torrent");
    std::fs::write(&file, &torrent).unwrap();
    let dl = tmp.path().join("bob-dl");
    std::fs::create_dir_all(&dl).unwrap();
    let mut aria2 = Command::new("aria2c")
        .args(aria2_common_flags(free_port()))
        .arg(format!("--dir={}", dl.display()))
        .arg("--seed-time=0")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = aria2.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = aria2.kill();
            panic!("aria2c did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "aria2c failed: {status:?}");
    assert_eq!(sha1_file(&dl.join("clip.bin")), sha1_file(&original));
}
