//! Groups and the catalog through the real binaries: p2pctl asks p2pd, p2pd
//! asks trackerd with the user's session. A group owner accepts a member; a
//! file dropped into `shared/<group>/` is published in the group's catalog;
//! the member finds it and downloads it by name; a non-member is refused.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::time::Instant;

use crate::common::{sha1_file, write_random_file};
use p2p_tests::e2e::{
    daemon, fail, ok_json, p2pctl_within, sign_up, start_stdout, succeed, trackerd, wait_until,
};
use serde_json::Value;

fn names(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|e| e[key].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_member_finds_and_downloads_a_group_file_and_a_non_member_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{base}/announce");
    let (_a, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_b, bob) = daemon(&tmp.path().join("bob"), &announce);
    let (_c, carol) = daemon(&tmp.path().join("carol"), &announce);

    // Without a login the daemon says what to do.
    let err = fail(&alice, &["groups", "list"]);
    assert!(err.contains("log in first"), "{err}");

    sign_up(&alice, "alice");
    sign_up(&bob, "bob");
    sign_up(&carol, "carol");

    // alice creates team; bob asks to join; alice sees the request and accepts.
    succeed(&alice, &["groups", "create", "team"]);
    let groups = ok_json(&bob, &["groups", "list"]);
    assert_eq!(names(&groups, "groups", "name"), ["team"], "{groups}");
    succeed(&bob, &["groups", "join", "team"]);
    let requests = ok_json(&alice, &["groups", "requests", "team"]);
    assert_eq!(names(&requests, "requests", "username"), ["bob"]);
    assert!(succeed(&alice, &["groups", "requests", "team"]).contains("bob"));
    succeed(&alice, &["groups", "accept", "team", "bob"]);
    let members = ok_json(&bob, &["groups", "members", "team"]);
    assert_eq!(
        names(&members, "members", "username"),
        ["alice", "bob"],
        "{members}"
    );
    let table = succeed(&alice, &["groups", "members", "team"]);
    assert!(table.contains("alice") && table.contains("bob"), "{table}");

    // A file dropped into alice's shared/team/ reaches the group's catalog.
    let original = tmp.path().join("original.bin");
    write_random_file(&original, 1_500_000, 42);
    let team_dir = tmp.path().join("alice/shared/team");
    std::fs::create_dir_all(&team_dir).unwrap();
    std::fs::copy(&original, team_dir.join("report.bin")).unwrap();
    let started = Instant::now();
    wait_until("the file in bob's catalog of team", 60, || {
        names(&ok_json(&bob, &["files", "team"]), "torrents", "name") == ["report.bin"]
    });
    eprintln!("published within {:?}", started.elapsed());
    let files = ok_json(&bob, &["files", "team"]);
    let ih = files["torrents"][0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(files["torrents"][0]["group"], "team");
    assert!(succeed(&bob, &["files", "team"]).contains("report.bin"));
    let found = ok_json(&bob, &["search", "report"]);
    assert_eq!(names(&found, "torrents", "info_hash"), [ih.as_str()]);

    // bob downloads it by name; the bytes are alice's.
    let out = p2pctl_within(&bob, &["--json", "download", "report.bin"], 120);
    assert!(
        out.status.success(),
        "download: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["info_hash"], ih.as_str(), "{done}");
    assert_eq!(
        sha1_file(&tmp.path().join("bob/downloads/report.bin")),
        sha1_file(&original)
    );

    // carol is not a member: no catalog, no torrent.
    let err = fail(&carol, &["files", "team"]);
    assert!(err.contains("team") || err.contains("member"), "{err}");
    let err = fail(&carol, &["download", &ih, "--detach"]);
    assert!(err.contains(&ih), "{err}");
    assert!(ok_json(&carol, &["list"]).as_array().unwrap().is_empty());

    // The tracker's events tell the story.
    let events = ok_json(&alice, &["events"]);
    let kinds = names(&events, "events", "kind");
    for kind in [
        "group_created",
        "join_requested",
        "join_accepted",
        "publish",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {events}");
    }
    // --follow prints them one JSON line each, then keeps waiting.
    let (mut follow, first) =
        start_stdout(&alice, &["--json", "events", "--follow"], "\"publish\"");
    assert!(
        first.contains("report.bin") || first.contains(&ih),
        "{first}"
    );
    assert!(follow.0.try_wait().unwrap().is_none(), "--follow ended");
}
