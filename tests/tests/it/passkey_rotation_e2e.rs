//! Passkey rotation through the real binaries (issue 12, item 9):
//! `p2pctl passkey rotate` asks p2pd, p2pd asks trackerd; the old passkey is
//! refused at once, and the daemon keeps seeding under the new one (another
//! daemon downloads the file from it afterwards), its catalog downloads too.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use p2p_tests::e2e::{daemon, get_json, http, ok_json, p2pctl, sign_up, trackerd, wait_until};
use serde_json::json;

const PASSWORD: &str = "correct horse";

#[test]
fn a_rotated_passkey_is_refused_and_the_daemon_keeps_seeding_with_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{base}/announce");
    let (_a, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_b, bob) = daemon(&tmp.path().join("bob"), &announce);

    // Alice's passkey as it is before the rotation, from a login of her own.
    let reg = p2pctl(
        &alice,
        &["register", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(reg.status.success());
    let body = json!({ "username": "alice", "password": PASSWORD });
    let (status, reply) = http(&base, "POST", "/api/v1/login", None, Some(body));
    assert_eq!(status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    let old = reply["passkey"].as_str().unwrap().to_owned();
    let token = reply["token"].as_str().unwrap();
    assert_eq!(
        http(&base, "POST", "/api/v1/logout", Some(token), None).0,
        200
    );
    let login = p2pctl(
        &alice,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(login.status.success());

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
    let seeders = || {
        get_json(&base, &format!("/api/v1/torrents/{ih}"))["seeders"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_until("the tracker to count the seeder", 30, || seeders() == 1);

    let rotated = ok_json(&alice, &["passkey", "rotate"]);
    assert_eq!(rotated["user"], "alice");
    assert_eq!(rotated["torrents"], 1);

    // The old passkey is refused at once.
    let escaped: String = (0..20)
        .map(|i| format!("%{}", &ih[2 * i..2 * i + 2]))
        .collect();
    let target = format!(
        "/announce/{old}?info_hash={escaped}&peer_id=-XX0001-abcdefghijkl&port=6881\
         &uploaded=0&downloaded=0&left=0&compact=1"
    );
    let (status, refusal) = http(&base, "GET", &target, None, None);
    assert_eq!(status, 200);
    let refusal = String::from_utf8_lossy(&refusal);
    assert!(refusal.contains("unknown passkey"), "{refusal}");

    // The daemon stopped under the old passkey and announces under the new
    // one: the tracker counts it again, and bob downloads the file from it.
    wait_until("alice to announce with the new passkey", 30, || {
        seeders() == 1
    });
    sign_up(&bob, "bob");
    let got = p2pctl(&bob, &["download", &ih], None);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    wait_until("bob to have the whole file", 60, || {
        ok_json(&bob, &["list"])
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["state"] == "seeding"))
    });

    // Bob's download came from the catalog: its personalised .torrent
    // carries his passkey. After he rotates it, the download restarts with
    // the new one (the tracker counts him again), not the refused old one.
    wait_until("the tracker to count bob as a seeder", 30, || {
        seeders() == 2
    });
    let rotated = ok_json(&bob, &["passkey", "rotate"]);
    assert_eq!(rotated["torrents"], 1);
    wait_until(
        "bob to announce his download with the new passkey",
        30,
        || seeders() == 2,
    );
}
