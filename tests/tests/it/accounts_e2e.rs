//! Sessions through the real binaries: p2pctl asks p2pd, p2pd asks trackerd.
//! Login shares (announcing with the passkey), logout stops sharing, a second
//! login elsewhere is refused, a download asked for while logged out waits
//! for the next login, and a tracker shutdown logs the daemon out.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use p2p_tests::e2e::{daemon, get_json, ok_json, p2pctl, trackerd, wait_until};
use serde_json::Value;

#[test]
fn login_shares_with_the_passkey_logout_stops_and_a_tracker_shutdown_logs_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut tracker, base) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{base}/announce");
    let (_a, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_b, other) = daemon(&tmp.path().join("other"), &announce);

    let reg = p2pctl(
        &alice,
        &["register", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        reg.status.success(),
        "{}",
        String::from_utf8_lossy(&reg.stderr)
    );
    let login = p2pctl(
        &alice,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert_eq!(ok_json(&alice, &["status"])["logged_in_as"], "alice");

    // A second login as alice while she is online is refused.
    let twice = p2pctl(
        &other,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert_eq!(twice.status.code(), Some(1));
    let err = String::from_utf8_lossy(&twice.stderr);
    assert!(err.contains("already logged in"), "{err}");

    // A shared file is announced with alice's passkey: the tracker sees a seeder.
    std::fs::write(tmp.path().join("alice/shared/song.ogg"), vec![7u8; 300_000]).unwrap();
    wait_until("the file to be seeded", 30, || {
        ok_json(&alice, &["list"])
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["state"] == "seeding")
    });
    let ih = ok_json(&alice, &["list"])[0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let seeders = |base: &str| {
        get_json(base, &format!("/api/v1/torrents/{ih}"))["seeders"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_until("the tracker to count the seeder", 30, || {
        seeders(&base) == 1
    });

    // Logout stops sharing: a stopped announce, nothing in the list.
    assert!(p2pctl(&alice, &["logout"], None).status.success());
    assert_eq!(ok_json(&alice, &["list"]), Value::Array(vec![]));
    wait_until("the stopped announce", 30, || seeders(&base) == 0);
    assert!(ok_json(&alice, &["status"])["logged_in_as"].is_null());

    // A download asked for while logged out waits for the login, and says so.
    let album = tmp.path().join("album.bin");
    std::fs::write(&album, vec![3u8; 100_000]).unwrap();
    let torrent = tmp.path().join("album.torrent");
    let made = p2pctl(
        &alice,
        &[
            "create",
            album.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            &announce,
        ],
        None,
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let waiting = p2pctl(&alice, &["download", torrent.to_str().unwrap()], None);
    assert!(
        waiting.status.success(),
        "{}",
        String::from_utf8_lossy(&waiting.stderr)
    );
    let said = String::from_utf8_lossy(&waiting.stdout);
    assert!(
        said.contains("added album.bin") && said.contains("starts at the next login"),
        "{said}"
    );
    let list = ok_json(&alice, &["list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "album.bin");
    assert_eq!(list[0]["state"], "waiting");

    // Login resumes sharing, and starts the waiting download.
    assert!(
        p2pctl(
            &alice,
            &["login", "alice", "--password-stdin"],
            Some("correct horse\n")
        )
        .status
        .success()
    );
    wait_until("sharing to resume", 30, || seeders(&base) == 1);
    wait_until("the waiting download to start", 30, || {
        ok_json(&alice, &["list"]).as_array().is_some_and(|l| {
            l.iter()
                .any(|t| t["name"] == "album.bin" && t["state"] == "downloading")
        })
    });

    // trackerd stops: the daemon says it was logged out, and why, within two seconds.
    let pid = tracker.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped_at = Instant::now();
    wait_until("the daemon to notice the shutdown", 10, || {
        let s = ok_json(&alice, &["status"]);
        s["logged_in_as"].is_null()
            && s["logged_out_because"]
                .as_str()
                .is_some_and(|w| w.contains("shut down"))
    });
    assert!(
        stopped_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        stopped_at.elapsed()
    );
    let _ = tracker.0.wait();
}
