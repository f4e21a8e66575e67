//! `p2pctl move` and `p2pctl verify` on real p2pd processes: a seeder
//! moves its data to another folder and goes on seeding from there without
//! hashing it again (a leecher that starts after the move completes, and
//! the old folder is empty); a move to a folder the client may not use is
//! refused and moves nothing; a verify after bytes were changed behind the
//! daemon's back names exactly the pieces they fell in, and the torrent
//! fetches them again from a seeder; a file deleted while the download was
//! stopped is reported at its next start, not fetched again until verify.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use p2p_tests::e2e::{
    Proc, bin, daemon, fail, ok_json, p2pctl_within, start, trackerd, wait_until,
};
use serde_json::Value;

use crate::common::sha1_file;

/// An announce URL nothing answers: torrents run without peers.
const NO_TRACKER: &str = "http://127.0.0.1:9/announce";
/// Bytes per piece of the torrents made here.
const PIECE: u64 = 16 << 10;

/// Writes `len` bytes of data particular to `seed`.
fn write_data(path: &Path, len: usize, seed: u32) {
    let data: Vec<u8> = (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// Makes a .torrent of `file` with 16 KiB pieces in `out_dir`; returns its
/// path and info-hash.
fn torrent_of(socket: &Path, file: &Path, out_dir: &Path, announce: &str) -> (PathBuf, String) {
    let out = out_dir
        .join(file.file_name().unwrap())
        .with_extension("torrent");
    let created = ok_json(
        socket,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-t",
            announce,
            "--piece-length",
            "16K",
        ],
    );
    (out, created["info_hash"].as_str().unwrap().to_owned())
}

fn summary(socket: &Path, ih: &str) -> Value {
    ok_json(socket, &["list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["info_hash"] == ih)
        .cloned()
        .unwrap_or_else(|| panic!("{ih} is not listed"))
}

fn state(socket: &Path, ih: &str) -> String {
    summary(socket, ih)["state"].as_str().unwrap().to_owned()
}

fn progress(socket: &Path, ih: &str) -> Value {
    ok_json(socket, &["progress", &ih[..8]])
}

/// Adds `torrent` (its data already in the downloads folder) and waits
/// until it seeds.
fn seed(socket: &Path, torrent: &Path, ih: &str) {
    ok_json(socket, &["download", torrent.to_str().unwrap(), "--detach"]);
    wait_until("the seeder seeds", 60, || state(socket, ih) == "seeding");
}

fn download(socket: &Path, torrent: &Path) {
    let out = p2pctl_within(socket, &["download", torrent.to_str().unwrap()], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_seeder_moves_its_data_and_a_later_leecher_completes_from_the_new_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let size = 1 << 20;
    let file = tmp.path().join("seed/downloads/film.bin");
    write_data(&file, size, 7);
    let want = sha1_file(&file);
    let (torrent, ih) = torrent_of(&seed_sock, &file, tmp.path(), &announce);
    seed(&seed_sock, &torrent, &ih);

    let archive = tmp.path().join("archive/films");
    let moved = ok_json(&seed_sock, &["move", &ih[..8], archive.to_str().unwrap()]);
    assert_eq!(moved["save_path"], archive.to_str().unwrap(), "{moved}");
    assert!(!file.exists(), "the old copy is still there");
    assert_eq!(sha1_file(&archive.join("film.bin")), want);
    wait_until("the moved torrent seeds again", 60, || {
        state(&seed_sock, &ih) == "seeding"
    });
    // Started from its resume record: nothing was hashed again.
    let p = progress(&seed_sock, &ih);
    assert_eq!(p["pieces_rechecked"], 0, "{p}");
    assert_eq!(p["pieces_have"], p["pieces_total"], "{p}");

    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);
    download(&leech_sock, &torrent);
    assert_eq!(
        sha1_file(&tmp.path().join("leech/downloads/film.bin")),
        want
    );
    assert!(!file.exists());
    let s = summary(&seed_sock, &ih);
    assert!(s["uploaded"].as_u64().unwrap() >= size as u64, "{s}");
}

#[test]
fn a_move_to_a_folder_the_client_may_not_use_is_refused_and_moves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let allowed = root.join("allowed");
    let outside = root.join("outside");
    for d in [&allowed, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    let home = root.join("node");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("p2pd.toml");
    std::fs::write(
        &config,
        format!(
            "client_folders = [{:?}]\nonly_client_folders = true\n",
            allowed.display().to_string()
        ),
    )
    .unwrap();
    let (_d, socket): (Proc, String) = start(
        Command::new(bin("p2pd"))
            .arg("--config")
            .arg(&config)
            .arg("--home")
            .arg(&home)
            .args(["--listen-port", "0", "--tracker", NO_TRACKER]),
        "control socket at ",
    );
    let socket = PathBuf::from(socket);
    let file = home.join("downloads/notes.bin");
    write_data(&file, 100 << 10, 3);
    let (torrent, ih) = torrent_of(&socket, &file, &allowed, NO_TRACKER);
    seed(&socket, &torrent, &ih);

    let to = outside.join("dl");
    let err = fail(&socket, &["move", &ih[..8], to.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{} is outside the folders", to.display())),
        "{err}"
    );
    assert!(file.exists());
    assert!(!to.exists());
    assert_eq!(
        summary(&socket, &ih)["save_path"],
        home.join("downloads").to_str().unwrap()
    );
    assert_eq!(state(&socket, &ih), "seeding");

    // Inside the folders it may use, the same move is done.
    let to = allowed.join("kept");
    let moved = ok_json(&socket, &["move", &ih[..8], to.to_str().unwrap()]);
    assert_eq!(moved["save_path"], to.to_str().unwrap(), "{moved}");
    assert!(to.join("notes.bin").exists() && !file.exists());
}

/// Flips one byte at each of `offsets` in `file`, size and all else kept.
fn corrupt(file: &Path, offsets: &[u64]) {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap();
    for &at in offsets {
        let mut byte = [0u8];
        f.seek(SeekFrom::Start(at)).unwrap();
        std::io::Read::read_exact(&mut f, &mut byte).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&[!byte[0]]).unwrap();
    }
    f.sync_all().unwrap();
}

#[test]
fn verify_names_the_pieces_changed_behind_its_back_and_fetches_them_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);
    let file = tmp.path().join("seed/downloads/album.bin");
    write_data(&file, 1 << 20, 11);
    let want = sha1_file(&file);
    let (torrent, ih) = torrent_of(&seed_sock, &file, tmp.path(), &announce);
    seed(&seed_sock, &torrent, &ih);
    download(&leech_sock, &torrent);
    let copy = tmp.path().join("leech/downloads/album.bin");
    assert_eq!(sha1_file(&copy), want);

    // Nothing changed: every piece is checked and none is bad.
    let clean = ok_json(&leech_sock, &["verify", &ih[..8]]);
    assert_eq!(clean["checked"], 64, "{clean}");
    assert_eq!(clean["bad"], serde_json::json!([]), "{clean}");

    // Two bytes in piece 3 and one in piece 17, behind the daemon's back.
    corrupt(&copy, &[3 * PIECE + 5, 4 * PIECE - 1, 17 * PIECE + 100]);
    assert_ne!(sha1_file(&copy), want);
    let out = p2pctl_within(&leech_sock, &["verify", &ih[..8]], 60);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        format!(
            "album.bin ({}): 64 pieces checked, 2 bad (pieces 3, 17), downloading them again\n",
            &ih[..8]
        )
    );
    wait_until("the bad pieces are fetched again", 60, || {
        state(&leech_sock, &ih) == "seeding"
    });
    assert_eq!(sha1_file(&copy), want);
    // The next start trusts the record the check wrote.
    let p = progress(&leech_sock, &ih);
    assert_eq!(p["pieces_have"], 64, "{p}");
}

#[test]
fn a_watched_folder_item_is_neither_moved_nor_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (_p, socket) = daemon(&home, NO_TRACKER);
    let item = home.join("shared/item.bin");
    write_data(&item, 64 << 10, 5);
    let mut ih = String::new();
    wait_until("the item seeds", 60, || {
        let list = ok_json(&socket, &["list"]);
        let seeding = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["state"] == "seeding");
        if let Some(t) = seeding {
            ih = t["info_hash"].as_str().unwrap().to_owned();
        }
        seeding.is_some()
    });
    let to = tmp.path().join("elsewhere");
    let err = fail(&socket, &["move", &ih[..8], to.to_str().unwrap()]);
    assert_eq!(
        err.trim_end(),
        format!(
            "p2pctl: {} is a watched-folder item: it lives in shared/ and moves with its file",
            &ih[..8]
        )
    );
    let err = fail(&socket, &["verify", &ih[..8]]);
    assert!(err.contains("is a watched-folder item"), "{err}");
    assert!(item.exists() && !to.exists());
    assert_eq!(state(&socket, &ih), "seeding");
}

#[test]
fn a_file_deleted_behind_its_back_is_reported_not_fetched_again_until_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);
    let file = tmp.path().join("seed/downloads/lost.bin");
    write_data(&file, 1 << 20, 23);
    let want = sha1_file(&file);
    let (torrent, ih) = torrent_of(&seed_sock, &file, tmp.path(), &announce);
    seed(&seed_sock, &torrent, &ih);
    download(&leech_sock, &torrent);
    let copy = tmp.path().join("leech/downloads/lost.bin");
    assert_eq!(sha1_file(&copy), want);

    // Deleted while the torrent is stopped: the next start says so and
    // neither creates the file again nor fetches a byte.
    ok_json(&leech_sock, &["pause", &ih[..8]]);
    std::fs::remove_file(&copy).unwrap();
    ok_json(&leech_sock, &["resume", &ih[..8]]);
    wait_until("the torrent to report the loss", 30, || {
        state(&leech_sock, &ih) == "error"
    });
    let t = summary(&leech_sock, &ih);
    let why = t["error"].as_str().unwrap();
    assert!(
        why.contains("1 of its files is missing (lost.bin)") && why.contains("verify"),
        "{t}"
    );
    assert!(!copy.exists(), "the file was created again");
    assert_eq!(t["downloaded"], 0, "{t}");

    // Asked to, it downloads the file again.
    let out = p2pctl_within(&leech_sock, &["verify", &ih[..8]], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("the file is fetched again", 60, || {
        state(&leech_sock, &ih) == "seeding"
    });
    assert_eq!(sha1_file(&copy), want);
}
