//! The product as people use it: trackerd, two p2pd daemons and p2pctl, all
//! real binaries over loopback. `p2pctl download x.torrent` from a seeding
//! p2pd completes with the right bytes, and every command's `--json` parses.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output};

use p2p_tests::e2e::{bin, daemon, trackerd};
use serde_json::Value;
use sha1::{Digest, Sha1};

fn p2pctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

fn json_of(socket: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = p2pctl(socket, &all);
    assert!(
        out.status.success(),
        "p2pctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "p2pctl {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn p2pctl_download_of_a_torrent_completes_from_a_seeding_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);

    // The seeder's data sits in its downloads folder; the torrent points there.
    let data: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let file = tmp.path().join("seed/downloads/clip.bin");
    std::fs::write(&file, &data).unwrap();
    let torrent = tmp.path().join("clip.torrent");
    let created = json_of(
        &seed_sock,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            &announce,
        ],
    );
    let info_hash = created["info_hash"].as_str().unwrap().to_owned();
    let added = json_of(
        &seed_sock,
        &["download", torrent.to_str().unwrap(), "--detach"],
    );
    assert_eq!(added["info_hash"], info_hash.as_str());

    // The leecher finds the seeder through the tracker; p2pctl waits for the end.
    let out = p2pctl(&leech_sock, &["download", torrent.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(tmp.path().join("leech/downloads/clip.bin")).unwrap();
    assert_eq!(Sha1::digest(&got), Sha1::digest(&data));

    // Every command's --json parses and says what it should.
    let list = json_of(&leech_sock, &["list"]);
    let t = &list.as_array().unwrap()[0];
    for key in [
        "info_hash",
        "name",
        "state",
        "progress",
        "downloaded",
        "uploaded",
        "download_rate",
        "upload_rate",
        "peers",
    ] {
        assert!(t.get(key).is_some(), "list lacks {key}: {t}");
    }
    assert_eq!(t["state"], "seeding");
    assert_eq!(t["progress"], 1.0);
    let short = &info_hash[..8];
    let progress = json_of(&leech_sock, &["progress", short]);
    assert_eq!(progress["pieces_have"], progress["pieces_total"]);
    assert_eq!(progress["bytes_have"], data.len());
    let status = json_of(&leech_sock, &["status"]);
    assert!(status["logged_in_as"].is_null());
    assert!(status["tracker"]["state"].is_string());
    assert!(json_of(&leech_sock, &["peers", short]).is_array());
    assert_eq!(json_of(&leech_sock, &["pause", short])["state"], "paused");
    assert_eq!(
        json_of(&leech_sock, &["resume", short])["info_hash"],
        info_hash.as_str()
    );
    json_of(&leech_sock, &["remove", short]);
    assert_eq!(json_of(&leech_sock, &["list"]), Value::Array(vec![]));
    assert!(
        tmp.path().join("leech/downloads/clip.bin").exists(),
        "remove keeps the data"
    );
}
