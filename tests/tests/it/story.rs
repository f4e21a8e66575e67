//! The whole story, end to end, the way people use it: four users on four
//! daemons and one tracker, all real processes on loopback, driven only
//! through p2pctl.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{sha1_file, write_random_file};
use p2p_tests::e2e::{
    Proc, bin, fail, ok_json, p2pctl, p2pctl_within, sign_up, start, succeed, trackerd, wait_until,
};
use serde_json::Value;

const MIB: u64 = 1 << 20;

/// A daemon with an upload limit, so that a downloader gets pieces from
/// more than one seeder.
fn daemon_limited(
    home: &Path,
    announce: &str,
    upload_limit: Option<u64>,
) -> (Proc, std::path::PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    let config = home.join("p2pd.toml");
    let limit = upload_limit.map_or(String::new(), |l| format!("upload_rate_limit = {l}\n"));
    std::fs::write(&config, limit).unwrap();
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--config",
            config.to_str().unwrap(),
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            announce,
        ]),
        "control socket at ",
    );
    (p, socket.into())
}

fn field(v: &Value, ih: &str, key: &str) -> u64 {
    v.as_array()
        .and_then(|l| l.iter().find(|t| t["info_hash"] == ih))
        .and_then(|t| t[key].as_u64())
        .unwrap_or(0)
}

fn catalog_hash(socket: &Path, name: &str) -> Option<String> {
    let files = ok_json(socket, &["files", "team"]);
    files["torrents"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["info_hash"].as_str().map(str::to_owned))
}

#[test]
fn the_team_shares_downloads_survives_a_crash_and_hears_the_tracker_go() {
    let tmp = tempfile::tempdir().unwrap();
    let home = |u: &str| tmp.path().join(u);
    let (mut tracker, base) = trackerd(&home("tracker"));
    let announce = format!("{base}/announce");
    // alice uploads at 25 MB/s, so dave also needs bob.
    let (_a, alice) = daemon_limited(&home("alice"), &announce, Some(25_000_000));
    let (mut bob_proc, bob) = daemon_limited(&home("bob"), &announce, None);
    let (_c, carol) = daemon_limited(&home("carol"), &announce, None);
    let (_d, dave) = daemon_limited(&home("dave"), &announce, None);

    // Everyone registers; alice creates team; bob and dave ask, alice accepts; carol does not ask.
    for (s, u) in [
        (&alice, "alice"),
        (&bob, "bob"),
        (&carol, "carol"),
        (&dave, "dave"),
    ] {
        sign_up(s, u);
    }
    succeed(&alice, &["groups", "create", "team"]);
    succeed(&bob, &["groups", "join", "team"]);
    succeed(&dave, &["groups", "join", "team"]);
    succeed(&alice, &["groups", "accept", "team", "bob"]);
    succeed(&alice, &["groups", "accept", "team", "dave"]);

    // alice drops a 64 MiB file into shared/team/: bob sees it within seconds.
    let film = tmp.path().join("film.bin");
    write_random_file(&film, 64 * MIB, 1);
    let team = home("alice").join("shared/team");
    std::fs::create_dir_all(&team).unwrap();
    std::fs::copy(&film, team.join("film.bin")).unwrap();
    let dropped = Instant::now();
    wait_until("film.bin in bob's catalog", 60, || {
        catalog_hash(&bob, "film.bin").is_some()
    });
    eprintln!(
        "film.bin listed for bob {:?} after the drop",
        dropped.elapsed()
    );
    let ih = catalog_hash(&bob, "film.bin").unwrap();

    // carol is refused, even with the info-hash.
    let err = fail(&carol, &["files", "team"]);
    assert!(!err.trim().is_empty());
    fail(&carol, &["download", &ih]);

    // bob downloads it; then dave, from both alice and bob.
    let out = p2pctl_within(&bob, &["download", "film.bin"], 180);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha1_file(&home("bob").join("downloads/film.bin")),
        sha1_file(&film)
    );
    let bob_up_before = field(&ok_json(&bob, &["list"]), &ih, "uploaded");
    let out = p2pctl_within(&dave, &["download", &ih], 180);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha1_file(&home("dave").join("downloads/film.bin")),
        sha1_file(&film)
    );
    let bob_up = field(&ok_json(&bob, &["list"]), &ih, "uploaded") - bob_up_before;
    assert!(bob_up > 0, "dave got nothing from bob");

    // bob is killed (kill -9) halfway through a larger download; after a
    // restart `progress` shows what he had, and the download finishes.
    let big = tmp.path().join("big.bin");
    write_random_file(&big, 128 * MIB, 2);
    std::fs::copy(&big, team.join("big.bin")).unwrap();
    wait_until("big.bin in bob's catalog", 90, || {
        catalog_hash(&bob, "big.bin").is_some()
    });
    let big_ih = catalog_hash(&bob, "big.bin").unwrap();
    succeed(&bob, &["download", &big_ih, "--detach"]);
    wait_until("bob to have a third of big.bin", 120, || {
        let p = ok_json(&bob, &["progress", &big_ih[..8]]);
        p["pieces_have"].as_u64().unwrap_or(0) * 3 >= p["pieces_total"].as_u64().unwrap_or(1)
    });
    let had = ok_json(&bob, &["progress", &big_ih[..8]])["pieces_have"]
        .as_u64()
        .unwrap();
    let _ = bob_proc.0.kill(); // SIGKILL
    let _ = bob_proc.0.wait();
    let (bob_proc2, bob2) = daemon_limited(&home("bob"), &announce, None);
    bob_proc = bob_proc2;
    assert_eq!(bob2, bob);
    wait_until("bob's daemon to check its files", 60, || {
        ok_json(&bob, &["progress", &big_ih[..8]])["state"] != "checking"
    });
    let progress = ok_json(&bob, &["progress", &big_ih[..8]]);
    assert!(
        progress["pieces_have"].as_u64().unwrap() + 8 >= had,
        "after the crash bob has {progress} of the {had} pieces he had"
    );
    // The crashed daemon's session is still live on the tracker: take it over.
    let again = p2pctl(
        &bob,
        &["login", "bob", "--force", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    wait_until("bob to finish big.bin", 180, || {
        ok_json(&bob, &["list"]).as_array().is_some_and(|l| {
            l.iter()
                .any(|t| t["info_hash"] == big_ih.as_str() && t["state"] == "seeding")
        })
    });
    assert_eq!(
        sha1_file(&home("bob").join("downloads/big.bin")),
        sha1_file(&big)
    );

    // A second login as bob while he is online is refused.
    let twice = p2pctl(
        &carol,
        &["login", "bob", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already logged in"));

    // alice logs out: her torrents stop; she logs in again and seeds again.
    succeed(&alice, &["logout"]);
    assert_eq!(ok_json(&alice, &["list"]), Value::Array(vec![]));
    let back = p2pctl(
        &alice,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(back.status.success());
    wait_until("alice to seed again", 60, || {
        ok_json(&alice, &["list"])
            .as_array()
            .is_some_and(|l| l.len() == 2 && l.iter().all(|t| t["state"] == "seeding"))
    });

    // The event log holds the story, in order.
    let events = ok_json(&alice, &["events"]);
    let kinds: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap_or(""),
                e["username"].as_str().unwrap_or("")
            )
        })
        .collect();
    let story = [
        "register alice",
        "login alice",
        "register bob",
        "login bob",
        "register carol",
        "login carol",
        "register dave",
        "login dave",
        "group_created alice",
        "join_requested bob",
        "join_requested dave",
        "join_accepted alice",
        "join_accepted alice",
        "publish alice",
        "download_started bob",
        "download_completed bob",
        "download_started dave",
        "download_completed dave",
        "publish alice",
        "download_started bob",
        "login bob",
        "download_completed bob",
        "logout alice",
        "login alice",
    ];
    // Every event carries a timestamp, and they never go back in time.
    let times: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].to_string())
        .collect();
    assert!(
        times.iter().all(|t| t.len() > 2),
        "an event without a time: {times:?}"
    );
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events out of order: {times:?}"
    );
    let mut at = 0;
    for step in story {
        let found = kinds[at..].iter().position(|k| k == step);
        assert!(
            found.is_some(),
            "{step:?} missing or out of order in {kinds:?}"
        );
        at += found.unwrap() + 1;
    }

    // trackerd stops: every daemon says, within two seconds, that it was logged out.
    let pid = tracker.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped = Instant::now();
    for s in [&alice, &bob, &carol, &dave] {
        wait_until("a daemon to hear of the shutdown", 10, || {
            let st = ok_json(s, &["status"]);
            st["logged_in_as"].is_null()
                && st["logged_out_because"]
                    .as_str()
                    .is_some_and(|w| w.contains("shut down"))
        });
    }
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "took {:?}",
        stopped.elapsed()
    );
    let _ = tracker.0.wait();
    drop(bob_proc);
}
