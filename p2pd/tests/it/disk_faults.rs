//! The real p2pd against a hostile machine: a stderr that refuses every
//! write, a descriptor limit lower than a torrent's file count, a disk that
//! fills up. Each test downloads from a seeding p2pd over loopback and
//! checks the bytes.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::metainfo::Metainfo;
use serde_json::json;

use crate::daemon::{BIN, Client, Daemon, wait_for};

/// How p2pd is started: what runs it (`prlimit ...`), where stderr goes.
pub(crate) struct Launch<'a> {
    pub(crate) wrapper: &'a [&'a str],
    pub(crate) args: &'a [&'a str],
    pub(crate) stderr: Stdio,
    pub(crate) log: &'a str,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            wrapper: &[],
            args: &[],
            stderr: Stdio::null(),
            log: "info",
        }
    }
}

/// Starts p2pd under `home` and waits for its control socket.
pub(crate) fn spawn(home: &Path, launch: Launch<'_>) -> Daemon {
    let (program, args) = match launch.wrapper {
        [] => (BIN, &[][..]),
        [first, rest @ ..] => (*first, rest),
    };
    let mut cmd = Command::new(program);
    if !launch.wrapper.is_empty() {
        cmd.args(args).arg(BIN);
    }
    let child = cmd
        .args(["--home", home.to_str().unwrap()])
        .args(["--listen-port", "0", "--tracker", ""])
        .args(launch.args)
        .env("RUST_LOG", launch.log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(launch.stderr)
        .spawn()
        .unwrap();
    let mut d = Daemon {
        child,
        home: home.to_path_buf(),
        socket: home.join("p2pd.sock"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while UnixStream::connect(&d.socket).is_err() {
        assert!(d.child.try_wait().unwrap().is_none(), "p2pd exited");
        assert!(Instant::now() < deadline, "p2pd did not open its socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    d
}

/// Deterministic bytes.
pub(crate) fn bytes(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Writes `files` under the seeder's `downloads/NAME`, adds the torrent
/// through its socket, waits until it seeds; returns the torrent and a
/// magnet link that names the seeder as a peer.
pub(crate) fn seed(d: &Daemon, name: &str, files: &[(String, Vec<u8>)]) -> (Metainfo, String) {
    let root = d.home.join("downloads").join(name);
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    let opts = CreateOptions {
        piece_length: Some(32 * 1024),
        ..CreateOptions::default()
    };
    let created = create_torrent(&root, &opts, &Control::default()).unwrap();
    let torrent = d.home.join(format!("{name}.torrent"));
    std::fs::write(&torrent, &created.bytes).unwrap();
    let mut c = Client::connect(&d.socket);
    let added = c.call("add", json!({ "source": torrent }));
    assert!(added["ok"].is_object(), "{added}");
    wait_for(&mut c, "seeding");
    let port = c.call("status", json!(null))["ok"]["listen_port"]
        .as_u64()
        .unwrap();
    let mut magnet = created.metainfo.magnet();
    magnet
        .peers
        .push(format!("127.0.0.1:{port}").parse().unwrap());
    (created.metainfo, magnet.to_string())
}

/// Every file of `files` under `dir/name` holds exactly its bytes.
pub(crate) fn assert_same(dir: &Path, name: &str, files: &[(String, Vec<u8>)]) {
    for (rel, data) in files {
        let got = std::fs::read(dir.join(name).join(rel)).unwrap();
        assert!(&got == data, "{rel} differs");
    }
}

fn dev_full() -> Stdio {
    Stdio::from(std::fs::File::create("/dev/full").unwrap())
}

#[test]
fn daemons_whose_stderr_is_full_still_download_every_byte() {
    let (seed_home, leech_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Debug logging writes a line per piece: every one of them fails.
    let loud = || Launch {
        stderr: dev_full(),
        log: "debug",
        ..Launch::default()
    };
    let seeder = spawn(seed_home.path(), loud());
    let leecher = spawn(leech_home.path(), loud());
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            (
                format!("part{i}.bin"),
                bytes(1_000_000 + i * 7_777, i as u32),
            )
        })
        .collect();
    let (_, magnet) = seed(&seeder, "pack", &files);
    let mut lc = Client::connect(&leecher.socket);
    let added = lc.call("add", json!({ "source": magnet }));
    assert!(added["ok"].is_object(), "{added}");
    wait_for(&mut lc, "seeding");
    assert_same(&leecher.home.join("downloads"), "pack", &files);
    let list = lc.call("list", json!(null));
    let total: u64 = files.iter().map(|(_, d)| d.len() as u64).sum();
    // Fetched once: no piece was lost to a failed log line and fetched again.
    assert!(
        list["ok"][0]["downloaded"].as_u64().unwrap() <= total + 64 * 1024,
        "{list}"
    );
    for d in [&seeder, &leecher] {
        let mut c = Client::connect(&d.socket);
        assert!(c.call("status", json!(null))["ok"].is_object());
    }
}

#[test]
fn a_torrent_with_more_files_than_the_descriptor_limit_downloads_and_the_socket_still_answers() {
    // 64 descriptors for the whole process; the torrent has 150 files.
    let limited = || Launch {
        wrapper: &["prlimit", "--nofile=64:64", "--"],
        ..Launch::default()
    };
    let (seed_home, leech_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let seeder = spawn(seed_home.path(), limited());
    let leecher = spawn(leech_home.path(), limited());
    let files: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| {
            (
                format!("d{}/f{i:03}.bin", i % 7),
                bytes(2_000 + i * 37, i as u32),
            )
        })
        .collect();
    let (_, magnet) = seed(&seeder, "many", &files);
    let mut lc = Client::connect(&leecher.socket);
    let added = lc.call("add", json!({ "source": magnet }));
    assert!(added["ok"].is_object(), "{added}");
    wait_for(&mut lc, "seeding");
    assert_same(&leecher.home.join("downloads"), "many", &files);
    for d in [&seeder, &leecher] {
        let mut c = Client::connect(&d.socket);
        assert_eq!(c.call("status", json!(null))["ok"]["torrents"], 1);
    }
    let open = std::fs::read_dir(format!("/proc/{}/fd", leecher.child.id()))
        .unwrap()
        .count();
    println!("leecher holds {open} descriptors of 64 after the download");
    assert!(open < 64, "{open} descriptors open");

    // Restarted under the same limit, both check their 150 files again and
    // seed; their sockets answer.
    drop(lc);
    crate::daemon::stop(leecher);
    crate::daemon::stop(seeder);
    for home in [seed_home.path(), leech_home.path()] {
        let d = spawn(home, limited());
        let mut c = Client::connect(&d.socket);
        wait_for(&mut c, "seeding");
        assert_eq!(c.call("status", json!(null))["ok"]["seeding"], 1);
        assert_same(&home.join("downloads"), "many", &files);
    }
}

/// Whether this machine lets us mount a tmpfs in a user and mount
/// namespace of our own (`unshare -rm`).
fn can_mount_a_tmpfs() -> bool {
    let dir = tempfile::tempdir().unwrap();
    Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$0\""])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The leecher's list entry for its one torrent.
fn only_torrent(c: &mut Client) -> serde_json::Value {
    let list = c.call("list", json!(null));
    assert_eq!(list["ok"].as_array().map(Vec::len), Some(1), "{list}");
    list["ok"][0].clone()
}

#[test]
fn a_full_disk_pauses_a_download_that_resumes_by_itself_and_one_too_big_is_refused() {
    if !can_mount_a_tmpfs() {
        // CI runs as root, where this works: a skip there would hide a loss.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs in a user namespace (unshare -rm)"
        );
        eprintln!("SKIPPED: this machine refuses `unshare -rm` + mount -t tmpfs");
        return;
    }
    let (seed_home, leech_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The seeder sends 400 kB/s: the test fills the disk well before the end.
    let config = seed_home.path().join("p2pd.toml");
    std::fs::write(&config, "upload_rate_limit = 400000\n").unwrap();
    let seeder = spawn(
        seed_home.path(),
        Launch {
            args: &["--config", config.to_str().unwrap()],
            ..Launch::default()
        },
    );
    let film = vec![("film.bin".to_owned(), bytes(4 << 20, 5))];
    let huge = vec![("huge.bin".to_owned(), bytes(8 << 20, 6))];
    let (_, film_magnet) = seed(&seeder, "film", &film);
    seed(&seeder, "huge", &huge);

    // The leecher's downloads/ is a 6 MiB tmpfs, in a mount namespace of
    // its own; the test reaches it through /proc/PID/root.
    std::fs::create_dir_all(leech_home.path().join("downloads")).unwrap();
    let leecher = spawn(
        leech_home.path(),
        Launch {
            wrapper: &[
                "unshare",
                "-rm",
                "sh",
                "-c",
                "mount -t tmpfs -o size=6m tmpfs \"$0/downloads\" && exec \"$@\"",
                leech_home.path().to_str().unwrap(),
            ],
            ..Launch::default()
        },
    );
    let disk = PathBuf::from(format!("/proc/{}/root", leecher.child.id()))
        .join(leech_home.path().strip_prefix("/").unwrap())
        .join("downloads");
    let mut lc = Client::connect(&leecher.socket);

    // 8 MiB cannot fit in 6: refused, with both sizes.
    let refused = lc.call("add", json!({ "source": seeder.home.join("huge.torrent") }));
    assert_eq!(refused["error"]["code"], "io", "{refused}");
    let why = refused["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("needs 8.0 MiB more") && why.contains("is free") && why.contains("huge"),
        "{why}"
    );
    assert_eq!(lc.call("list", json!(null))["ok"], json!([]));

    // 4 MiB fits; then 3 MiB of something else lands on the disk.
    let added = lc.call("add", json!({ "source": film_magnet }));
    assert!(added["ok"].is_object(), "{added}");
    std::fs::write(disk.join("filler"), vec![7u8; 3 << 20]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let full = loop {
        let t = only_torrent(&mut lc);
        if t["state"] == "disk_full" {
            break t;
        }
        assert!(
            t["state"] != "seeding",
            "finished before the disk filled: {t}"
        );
        assert!(
            Instant::now() < deadline,
            "never paused for the full disk: {t}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let reason = full["error"].as_str().unwrap();
    assert!(
        reason.contains("free") && reason.contains("space"),
        "{reason}"
    );
    println!("paused: {reason}");

    // Room again: it goes on by itself and completes, fetched about once.
    std::fs::remove_file(disk.join("filler")).unwrap();
    wait_for(&mut lc, "seeding");
    let done = only_torrent(&mut lc);
    assert_eq!(done["error"], serde_json::Value::Null);
    assert_eq!(
        std::fs::read(disk.join("film/film.bin")).unwrap(),
        film[0].1
    );
    let fetched = done["downloaded"].as_u64().unwrap();
    println!("fetched {fetched} bytes for a {} byte file", 4 << 20);
    assert!(fetched <= 2 * (4 << 20), "{fetched} bytes fetched");
}
