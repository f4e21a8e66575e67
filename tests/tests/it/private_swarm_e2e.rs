//! A group torrent is served only to peers its tracker vouches for (issue
//! 12 item 2): a peer that knows the info-hash and alice's address, but is
//! not listed in the swarm, gets no handshake, no metadata and no piece;
//! bob, a member whose p2pd announced to the tracker, downloads the file.
//! The stranger is a raw peer speaking the handshake, BEP 10 and BEP 9 (as
//! a magnet link with `x.pe` would make any client do) from 127.0.0.3.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::common::{sha1_file, write_random_file};
use p2p_proto::infohash::InfoHash;
use p2p_tests::e2e::{daemon, ok_json, p2pctl_within, sign_up, succeed, trackerd, wait_until};
use p2p_tests::raw_peer::{Fetched, fetch};

const STRANGER: [u8; 4] = [127, 0, 0, 3];
const ASK_FOR: Duration = Duration::from_secs(15);

#[test]
fn a_stranger_with_the_info_hash_gets_nothing_and_a_member_gets_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{base}/announce");
    let (_a, alice) = daemon(&tmp.path().join("alice"), &announce);
    sign_up(&alice, "alice");
    succeed(&alice, &["groups", "create", "team"]);

    let original = tmp.path().join("original.bin");
    write_random_file(&original, 2_000_000, 12);
    let team_dir = tmp.path().join("alice/shared/team");
    std::fs::create_dir_all(&team_dir).unwrap();
    std::fs::copy(&original, team_dir.join("plans.bin")).unwrap();
    wait_until("plans.bin in the team catalog", 60, || {
        ok_json(&alice, &["files", "team"])["torrents"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    });
    let ih = ok_json(&alice, &["files", "team"])["torrents"][0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let info_hash = InfoHash::parse(&ih).unwrap();
    let port = ok_json(&alice, &["status"])["listen_port"]
        .as_u64()
        .unwrap() as u16;
    let alice_peer = SocketAddr::from(([127, 0, 0, 1], port));
    let nothing = Fetched {
        closed: true,
        ..Fetched::default()
    };

    // Nobody is in the swarm yet: not even loopback is vouched for.
    let got = fetch(IpAddr::from(STRANGER), alice_peer, info_hash, ASK_FOR);
    assert_eq!(got, nothing, "a stranger got something");
    let got = fetch(IpAddr::from([127, 0, 0, 1]), alice_peer, info_hash, ASK_FOR);
    assert_eq!(got, nothing, "an unlisted local peer got something");

    // bob joins the group and downloads with his p2pd.
    let (_b, bob) = daemon(&tmp.path().join("bob"), &announce);
    sign_up(&bob, "bob");
    succeed(&bob, &["groups", "join", "team"]);
    succeed(&alice, &["groups", "accept", "team", "bob"]);
    let out = p2pctl_within(&bob, &["--json", "download", "plans.bin"], 120);
    assert!(
        out.status.success(),
        "download: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha1_file(&tmp.path().join("bob/downloads/plans.bin")),
        sha1_file(&original)
    );

    // The stranger still gets nothing; bob's address (127.0.0.1, which the
    // tracker listed) is served: metadata and file data alike.
    let got = fetch(IpAddr::from(STRANGER), alice_peer, info_hash, ASK_FOR);
    assert_eq!(got, nothing, "a stranger got something");
    let listed = fetch(IpAddr::from([127, 0, 0, 1]), alice_peer, info_hash, ASK_FOR);
    assert!(
        listed.handshake && listed.metadata_bytes > 0 && listed.piece_bytes > 0,
        "{listed:?}"
    );
}
