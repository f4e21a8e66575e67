//! The real p2pd against a hostile machine: a stderr that refuses every
//! write, a descriptor limit lower than a torrent's file count, a disk that
//! fills up. Each test downloads from a seeding p2pd over loopback and
//! checks the bytes.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::metainfo::Metainfo;
use serde_json::json;

use crate::daemon::{BIN, Client, Daemon, wait_for};

/// How p2pd is started: what runs it (`prlimit ...`), where stderr goes.
pub(crate) struct Launch<'a> {
    pub(crate) wrapper: &'a [&'a str],
    pub(crate) stderr: Stdio,
    pub(crate) log: &'a str,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            wrapper: &[],
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
