//! The story, shortened, with a standard client in it: alice shares a file
//! with her group from p2pd; bob has no p2pd, only aria2c and the
//! personalised .torrent the tracker gives him; carol, not a member, gets
//! no .torrent at all.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{aria2_common_flags, free_port, require_tool, sha1_file, write_random_file};
use p2p_tests::e2e::{daemon, http, ok_json, sign_up, succeed, trackerd, wait_until};
use serde_json::{Value, json};

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
