//! Choosing files, with real processes: trackerd, a seeding p2pd and a
//! leeching p2pd driven by p2pctl. A four-file torrent whose pieces
//! straddle every file boundary, downloaded with files 2 and 4 skipped,
//! brings exactly files 1 and 3 and creates neither 2 nor 4; the choice
//! survives a restart of the daemon; `priority ID 4 normal` then brings
//! file 4 too, and file 2 is still not on disk until it is wanted as well.
//! A magnet link's `so=` (BEP 53) selects the same way, from a p2pd or a
//! libtorrent seeder, and a daemon that has only some files serves them,
//! shared pieces included.

#![allow(clippy::unwrap_used)] // tests may unwrap
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{LIBTORRENT_SEEDER, libtorrent};

use p2p_tests::e2e::{
    Proc, daemon, fail, ok_json, p2pctl, p2pctl_within, succeed, trackerd, wait_until,
};
use serde_json::Value;
use sha1::{Digest, Sha1};

/// Sizes chosen so that with 16 KiB pieces no file starts or ends on a
/// piece boundary.
const SIZES: [usize; 4] = [100_000, 70_001, 33_333, 120_007];

const PIECE: u64 = 16 * 1024;

/// Bytes of the pieces that hold bytes of the files `which` (from 0).
fn wanted_piece_bytes(which: &[usize]) -> u64 {
    let total: u64 = SIZES.iter().map(|&n| n as u64).sum();
    let mut pieces = std::collections::BTreeSet::new();
    let mut offset = 0u64;
    for (i, &len) in SIZES.iter().enumerate() {
        if which.contains(&i) {
            pieces.extend(offset / PIECE..=(offset + len as u64 - 1) / PIECE);
        }
        offset += len as u64;
    }
    pieces.iter().map(|p| (total - p * PIECE).min(PIECE)).sum()
}

fn sha1_of(path: &Path) -> Vec<u8> {
    Sha1::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The `files-of` rows of a torrent.
fn files_of(socket: &Path, id: &str) -> Vec<Value> {
    ok_json(socket, &["files-of", id])["files"]
        .as_array()
        .unwrap()
        .clone()
}

fn priorities(files: &[Value]) -> Vec<String> {
    files
        .iter()
        .map(|f| f["priority"].as_str().unwrap().to_owned())
        .collect()
}

/// A command line p2pctl refuses before asking the daemon (exit status 2,
/// as for every usage error): its message.
fn refused(socket: &Path, args: &[&str]) -> String {
    let out = p2pctl(socket, args, None);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stops a daemon with SIGTERM (a clean stop, its last resume record
/// written) and waits for it to exit.
fn stop(mut p: Proc) {
    let pid = p.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_until("p2pd to stop", 30, || p.0.try_wait().unwrap().is_some());
}

/// trackerd and a p2pd seeding the four files.
struct Swarm {
    tmp: tempfile::TempDir,
    _tracker: Proc,
    seed: Option<Proc>,
    announce: String,
    /// The seeder's copy of the files.
    src: PathBuf,
    torrent: PathBuf,
    info_hash: String,
}

/// Writes the four files into `src` and a torrent of them (16 KiB pieces)
/// to `torrent`; returns its info-hash.
fn make_four(src: &Path, torrent: &Path, announce: &str) -> String {
    std::fs::create_dir_all(src).unwrap();
    for (n, len) in SIZES.iter().enumerate() {
        let data: Vec<u8> = (0..*len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761 + n as u32) >> 13) as u8)
            .collect();
        std::fs::write(src.join(format!("f{}.bin", n + 1)), data).unwrap();
    }
    // `create` needs no daemon: the socket is never opened.
    let created = ok_json(
        Path::new("/nonexistent/p2pd.sock"),
        &[
            "create",
            src.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            announce,
            "--piece-length",
            "16K",
        ],
    );
    created["info_hash"].as_str().unwrap().to_owned()
}

fn seeded_swarm() -> Swarm {
    let tmp = tempfile::tempdir().unwrap();
    let (tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let src = tmp.path().join("seed/downloads/four");
    let torrent = tmp.path().join("four.torrent");
    let info_hash = make_four(&src, &torrent, &announce);
    ok_json(
        &seed_sock,
        &["download", torrent.to_str().unwrap(), "--detach"],
    );
    Swarm {
        tmp,
        _tracker: tracker,
        seed: Some(seed),
        announce,
        src,
        torrent,
        info_hash,
    }
}

#[test]
fn skipped_files_are_not_fetched_nor_created_and_can_be_wanted_later() {
    let swarm = seeded_swarm();
    let (src, announce) = (&swarm.src, &swarm.announce);
    let leech_home = swarm.tmp.path().join("leech");
    let (leech, leech_sock) = daemon(&leech_home, announce);
    let info_hash = &swarm.info_hash;
    let id = info_hash[..8].to_owned();
    let part_file = leech_home.join(format!("downloads/.progress/{info_hash}.parts"));

    // Bad lists are refused before anything is added: by p2pctl when they
    // are not lists, by the daemon when they do not fit the torrent.
    let t = swarm.torrent.to_str().unwrap();
    let e = refused(&leech_sock, &["download", t, "--files", "3-1"]);
    assert!(e.contains("range 3-1 runs backwards"), "{e}");
    let e = refused(&leech_sock, &["download", t, "--files", "1,x"]);
    assert!(e.contains("\"x\" is not a file index"), "{e}");
    let e = fail(&leech_sock, &["download", t, "--files", "1,5", "--detach"]);
    assert!(
        e.contains("file 5 does not exist: the torrent has 4 files (1 to 4)"),
        "{e}"
    );
    assert_eq!(ok_json(&leech_sock, &["list"]), Value::Array(vec![]));

    // Files 1 and 3 only: p2pctl follows it until it is done for the user.
    let out = p2pctl_within(&leech_sock, &["download", t, "--files", "1,3"], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = leech_home.join("downloads/four");
    let check_done = |got: &PathBuf| {
        for n in [1, 3] {
            let name = format!("f{n}.bin");
            assert_eq!(
                sha1_of(&got.join(&name)),
                sha1_of(&src.join(&name)),
                "{name}"
            );
        }
    };
    check_done(&got);
    for n in [2, 4] {
        assert!(
            !got.join(format!("f{n}.bin")).exists(),
            "file {n} was created"
        );
    }
    // Their bytes in pieces shared with files 1 and 3 wait in the part file.
    assert!(part_file.exists());
    let files = files_of(&leech_sock, &id);
    assert_eq!(priorities(&files), ["normal", "skip", "normal", "skip"]);
    for (f, len) in files.iter().zip(SIZES) {
        assert_eq!(f["length"], len);
    }
    assert_eq!(files[0]["have"], SIZES[0]);
    assert_eq!(files[2]["have"], SIZES[2]);
    // What the shared pieces brought of the skipped files waits in the
    // part file: not counted as their data.
    assert_eq!(files[1]["have"], 0);
    assert_eq!(files[3]["have"], 0);
    let list = ok_json(&leech_sock, &["list"]);
    assert_eq!(list[0]["state"], "seeding", "done for the user: {list}");
    // Only the pieces of files 1 and 3 came over the wire (one seeder: no
    // block is asked twice but for a rare timeout, hence the slack).
    let wanted = wanted_piece_bytes(&[0, 2]);
    let downloaded = list[0]["downloaded"].as_u64().unwrap();
    assert!(
        (wanted..wanted + 2 * PIECE).contains(&downloaded),
        "{downloaded} bytes downloaded for {wanted} bytes of wanted pieces"
    );
    assert!(
        list[0]["progress"].as_f64().unwrap() < 1.0,
        "the bitfield stays honest"
    );
    // The table people read.
    let table = succeed(&leech_sock, &["files-of", &id]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert_eq!(rows[0][0], "1");
    assert!(
        rows[0].contains(&"100.0%") && rows[0].contains(&"normal"),
        "{table}"
    );
    assert!(
        rows[1].contains(&"skip") && rows[1].contains(&"four/f2.bin"),
        "{table}"
    );

    // A choice changed at run time, then a restart: both choices stay,
    // and nothing new is created.
    ok_json(&leech_sock, &["priority", &id, "3", "high"]);
    stop(leech);
    let (_leech, leech_sock) = daemon(&leech_home, announce);
    wait_until("the download to run again", 60, || {
        let list = ok_json(&leech_sock, &["list"]);
        list[0]["state"] == "seeding"
    });
    let files = files_of(&leech_sock, &id);
    assert_eq!(priorities(&files), ["normal", "skip", "high", "skip"]);
    assert_eq!(files[2]["have"], SIZES[2]);
    assert_eq!(files[3]["have"], 0);
    for n in [2, 4] {
        assert!(
            !got.join(format!("f{n}.bin")).exists(),
            "file {n} was created"
        );
    }

    // File 4 wanted now: fetched, the part it shared with file 3 included.
    let e = fail(&leech_sock, &["priority", &id, "9", "normal"]);
    assert!(e.contains("file 9 does not exist"), "{e}");
    let e = refused(&leech_sock, &["priority", &id, "4", "urgent"]);
    assert!(e.contains("\"urgent\" is not a priority"), "{e}");
    let changed = ok_json(&leech_sock, &["priority", &id, "4", "normal"]);
    assert_eq!(
        priorities(changed["files"].as_array().unwrap()),
        ["normal", "skip", "high", "normal"]
    );
    wait_until("file 4 to be verified", 120, || {
        files_of(&leech_sock, &id)[3]["have"] == SIZES[3]
    });
    wait_until("the download to be done again", 30, || {
        ok_json(&leech_sock, &["list"])[0]["state"] == "seeding"
    });
    assert_eq!(sha1_of(&got.join("f4.bin")), sha1_of(&src.join("f4.bin")));
    check_done(&got);
    assert!(!got.join("f2.bin").exists(), "file 2 is still skipped");
    assert!(part_file.exists(), "it still holds file 2's shared bytes");
    // Wanted too: it comes out of the part file, which goes.
    ok_json(&leech_sock, &["priority", &id, "1-4", "high"]);
    wait_until("file 2 to be verified", 120, || {
        files_of(&leech_sock, &id)[1]["have"] == SIZES[1]
    });
    assert_eq!(sha1_of(&got.join("f2.bin")), sha1_of(&src.join("f2.bin")));
    assert!(!part_file.exists());
    wait_until("the torrent to be whole", 30, || {
        ok_json(&leech_sock, &["list"])[0]["progress"] == 1.0
    });
}

#[test]
fn a_magnet_link_with_so_fetches_only_the_files_it_lists_and_serves_them() {
    let mut swarm = seeded_swarm();
    let home = swarm.tmp.path().join("leech");
    let (_leech, sock) = daemon(&home, &swarm.announce);
    // BEP 53 counts from 0: files 1 and 3 of `files-of`.
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&tr={}&so=0,2",
        swarm.info_hash, swarm.announce
    );
    let out = p2pctl_within(&sock, &["download", &magnet], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = home.join("downloads/four");
    for n in [1, 3] {
        let name = format!("f{n}.bin");
        assert_eq!(sha1_of(&got.join(&name)), sha1_of(&swarm.src.join(&name)));
    }
    for n in [2, 4] {
        assert!(
            !got.join(format!("f{n}.bin")).exists(),
            "file {n} was created"
        );
    }
    let id = &swarm.info_hash[..8];
    assert_eq!(
        priorities(&files_of(&sock, id)),
        ["normal", "skip", "normal", "skip"]
    );
    // With the seeder gone, a third daemon gets files 1 and 3 from this
    // one alone: the pieces they share with the skipped files are read
    // back whole, partly from the part file.
    drop(swarm.seed.take());
    let (_third, third) = daemon(&swarm.tmp.path().join("third"), &swarm.announce);
    let t = swarm.torrent.to_str().unwrap();
    let out = p2pctl_within(&third, &["download", t, "--files", "1,3"], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = swarm.tmp.path().join("third/downloads/four");
    for n in [1, 3] {
        let name = format!("f{n}.bin");
        assert_eq!(sha1_of(&got.join(&name)), sha1_of(&swarm.src.join(&name)));
    }
    // A hostile list is refused with the reason, before any lookup.
    let bad = format!("magnet:?xt=urn:btih:{}&so=4-2", "ab".repeat(20));
    let e = fail(&sock, &["download", &bad, "--detach"]);
    assert!(
        e.contains("bad 'so' (select only) in magnet link: range 4-2 runs backwards"),
        "{e}"
    );
}

#[test]
fn files_chosen_by_so_come_from_a_libtorrent_seeder() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let src = tmp.path().join("lt/four");
    let torrent = tmp.path().join("four.torrent");
    let info_hash = make_four(&src, &torrent, &announce);
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (mut seeder, out) = libtorrent(
        "libtorrent-seeder",
        LIBTORRENT_SEEDER,
        &[
            torrent.to_str().unwrap().to_owned(),
            tmp.path().join("lt").to_str().unwrap().to_owned(),
        ],
        &logs,
    );
    let port: u16 = out
        .wait_line("ready", Duration::from_secs(30), &mut seeder)
        .parse()
        .unwrap();
    let home = tmp.path().join("leech");
    let (_leech, sock) = daemon(&home, &announce);
    // Files 2 and 4 this time (BEP 53 counts from 0), metadata and data
    // both from libtorrent.
    let magnet = format!("magnet:?xt=urn:btih:{info_hash}&x.pe=127.0.0.1:{port}&so=1,3");
    let done = p2pctl_within(&sock, &["download", &magnet], 120);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let got = home.join("downloads/four");
    for n in [2, 4] {
        let name = format!("f{n}.bin");
        assert_eq!(
            sha1_of(&got.join(&name)),
            sha1_of(&src.join(&name)),
            "{name}"
        );
    }
    for n in [1, 3] {
        assert!(
            !got.join(format!("f{n}.bin")).exists(),
            "file {n} was created"
        );
    }
}

/// `sequential` of the download's row in `p2pctl list --json`.
fn sequential_of(socket: &Path, info_hash: &str) -> bool {
    let list = ok_json(socket, &["list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["info_hash"] == info_hash)
        .cloned()
        .unwrap();
    row["sequential"].as_bool().unwrap()
}

#[test]
fn sequential_mode_is_asked_at_download_switched_by_p2pctl_and_kept_across_a_restart() {
    let swarm = seeded_swarm();
    let leech_home = swarm.tmp.path().join("leech");
    let (leech, sock) = daemon(&leech_home, &swarm.announce);
    let ih = &swarm.info_hash;
    let t = swarm.torrent.to_str().unwrap();
    let out = p2pctl_within(&sock, &["download", t, "--sequential"], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in 1..=4 {
        let name = format!("f{n}.bin");
        let got = leech_home.join("downloads/four").join(&name);
        assert_eq!(sha1_of(&got), sha1_of(&swarm.src.join(&name)), "{name}");
    }
    assert!(sequential_of(&sock, ih));
    let text = succeed(&sock, &["sequential", &ih[..8], "off"]);
    assert!(text.ends_with(": rarest first\n"), "{text}");
    assert!(!sequential_of(&sock, ih));
    let text = succeed(&sock, &["sequential", &ih[..8], "on"]);
    assert!(text.ends_with(": sequential\n"), "{text}");
    let e = refused(&sock, &["sequential", &ih[..8], "maybe"]);
    assert!(e.contains("maybe"), "{e}");
    stop(leech);
    let (_leech, sock) = daemon(&leech_home, &swarm.announce);
    wait_until("the download to be listed again", 30, || {
        ok_json(&sock, &["list"])
            .as_array()
            .is_some_and(|l| !l.is_empty())
    });
    assert!(sequential_of(&sock, ih), "the mode was not kept");
}
