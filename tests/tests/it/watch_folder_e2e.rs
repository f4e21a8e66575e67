//! The .torrent watch folder with real processes: trackerd, a seeding p2pd
//! and a p2pd whose `watch/` gets files dropped into it. A .torrent written
//! slowly starts once, when whole; the same torrent in a second file does
//! not start again; a magnet file starts; garbage, an oversize file and a
//! FIFO become `.invalid`, with the reason in `p2pctl status`.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::sha1_file;
use p2p_tests::e2e::{Proc, bin, daemon, ok_json, start, succeed, trackerd, wait_until};
use serde_json::Value;

/// A seeding daemon with a 3 MB file, the .torrent of it, and its info-hash.
struct Seeded {
    _seeder: Proc,
    data: PathBuf,
    torrent: PathBuf,
    info_hash: String,
}

fn seed(tmp: &Path, announce: &str) -> Seeded {
    let (seeder, socket) = daemon(&tmp.join("seed"), announce);
    let data = tmp.join("seed/downloads/clip.bin");
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&data, bytes).unwrap();
    let torrent = tmp.join("clip.torrent");
    let created = ok_json(
        &socket,
        &[
            "create",
            data.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            announce,
        ],
    );
    let info_hash = created["info_hash"].as_str().unwrap().to_owned();
    ok_json(
        &socket,
        &["download", torrent.to_str().unwrap(), "--detach"],
    );
    Seeded {
        _seeder: seeder,
        data,
        torrent,
        info_hash,
    }
}

/// p2pd under `home`, returned once its watch folder is watched (so a
/// writer that starts now is seen from its first write); and its socket.
fn watching_daemon(home: &Path, announce: &str) -> (Proc, PathBuf) {
    let (p, _) = start(
        Command::new(bin("p2pd")).arg("--home").arg(home).args([
            "--listen-port",
            "0",
            "--tracker",
            announce,
        ]),
        "watch folder at ",
    );
    (p, home.join("p2pd.sock"))
}

fn torrent_in(list: &Value, ih: &str) -> Option<Value> {
    list.as_array()?
        .iter()
        .find(|t| t["info_hash"] == ih)
        .cloned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn watch_counts(socket: &Path) -> (u64, u64, u64) {
    let w = &ok_json(socket, &["status"])["watch_folder"];
    (
        w["started"].as_u64().unwrap(),
        w["already_there"].as_u64().unwrap(),
        w["invalid"].as_u64().unwrap(),
    )
}

fn wait_complete(socket: &Path, ih: &str) {
    wait_until("the download to complete", 120, || {
        torrent_in(&ok_json(socket, &["list"]), ih).is_some_and(|t| t["progress"] == 1.0)
    });
}

#[test]
fn a_torrent_written_slowly_into_watch_starts_once_and_only_once_and_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let seeded = seed(tmp.path(), &announce);
    let (_leech, socket) = watching_daemon(&tmp.path().join("leech"), &announce);
    let watch = tmp.path().join("leech/watch");
    assert!(watch.is_dir(), "the daemon creates watch/ at start");

    // One writer, three chunks, each pause longer than the 2 s the folder
    // waits for a file to settle.
    let bytes = std::fs::read(&seeded.torrent).unwrap();
    let mut file = std::fs::File::create(watch.join("clip.torrent")).unwrap();
    for chunk in bytes.chunks(bytes.len() / 3 + 1) {
        file.write_all(chunk).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        // Half written: never read, so neither started nor invalid.
        assert_eq!(names(&watch), ["clip.torrent"]);
        assert_eq!(ok_json(&socket, &["list"]), Value::Array(Vec::new()));
    }
    drop(file);

    wait_until("clip.torrent.added", 60, || {
        watch.join("clip.torrent.added").exists()
    });
    wait_complete(&socket, &seeded.info_hash);
    assert_eq!(
        sha1_file(&tmp.path().join("leech/downloads/clip.bin")),
        sha1_file(&seeded.data)
    );
    assert_eq!(
        std::fs::read(watch.join("clip.torrent.added")).unwrap(),
        bytes
    );
    assert_eq!(watch_counts(&socket), (1, 0, 0));

    // The same torrent in a second file: marked added, not started again.
    std::fs::write(watch.join("again.torrent"), &bytes).unwrap();
    wait_until("again.torrent.added", 60, || {
        watch.join("again.torrent.added").exists()
    });
    assert_eq!(watch_counts(&socket), (1, 1, 0));
    assert_eq!(
        ok_json(&socket, &["list"]).as_array().unwrap().len(),
        1,
        "one torrent"
    );
    assert_eq!(names(&watch), ["again.torrent.added", "clip.torrent.added"]);
}

#[test]
fn a_magnet_file_starts_and_garbage_becomes_invalid_with_the_reason_in_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let seeded = seed(tmp.path(), &announce);
    let (_leech, socket) = watching_daemon(&tmp.path().join("leech"), &announce);
    let watch = tmp.path().join("leech/watch");

    let magnet = format!(
        "magnet:?xt=urn:btih:{}&dn=clip.bin&tr={}\n",
        seeded.info_hash,
        p2p_proto::percent::percent_encode(announce.as_bytes())
    );
    std::fs::write(watch.join("clip.magnet"), magnet).unwrap();
    std::fs::write(watch.join("junk.torrent"), b"definitely not bencode").unwrap();
    std::fs::File::create(watch.join("huge.torrent"))
        .unwrap()
        .set_len(9 << 20)
        .unwrap();
    let fifo = Command::new("mkfifo")
        .arg(watch.join("pipe.torrent"))
        .status()
        .unwrap();
    assert!(fifo.success());
    std::fs::write(watch.join("readme.txt"), b"not for the watch folder").unwrap();

    wait_until("clip.magnet.added", 120, || {
        watch.join("clip.magnet.added").exists()
    });
    wait_complete(&socket, &seeded.info_hash);
    assert_eq!(
        sha1_file(&tmp.path().join("leech/downloads/clip.bin")),
        sha1_file(&seeded.data)
    );
    wait_until("three invalid files", 60, || watch_counts(&socket).2 == 3);
    assert_eq!(
        names(&watch),
        [
            "clip.magnet.added",
            "huge.torrent.invalid",
            "junk.torrent.invalid",
            "pipe.torrent.invalid",
            "readme.txt"
        ]
    );
    assert_eq!(watch_counts(&socket), (1, 0, 3));
    let status = succeed(&socket, &["status"]);
    for want in [
        "(1 started, 0 already there, 3 invalid)",
        "invalid file:     junk.torrent: not a usable .torrent: ",
        "invalid file:     huge.torrent: 9437184 bytes, more than the 8388608 a file of the watch folder may have",
        "invalid file:     pipe.torrent: not a regular file",
    ] {
        assert!(status.contains(want), "missing {want:?} in\n{status}");
    }
}
