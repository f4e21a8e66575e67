//! Two trackerd processes on one PostgreSQL act as one tracker (issue 16):
//! a p2pd seeder that announces only to A is found by an aria2c and by a
//! p2pd leecher that announce only to B, and both download the file.
//! PostgreSQL-only: run through scripts/with-postgres (scripts/test does);
//! on SQLite it returns at once and says so on stderr.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{aria2_common_flags, free_port, require_tool, sha1_file, write_random_file};
use p2p_tests::e2e::{Proc, bin, daemon, ok_json, p2pctl, start};

/// The admin URL of the throwaway PostgreSQL, when the tests run on one.
pub(crate) fn postgres() -> Option<String> {
    match std::env::var("P2P_TEST_STORE").as_deref() {
        Ok("postgres") => Some(
            std::env::var("P2P_TEST_PG_URL")
                .expect("P2P_TEST_STORE=postgres needs P2P_TEST_PG_URL (scripts/with-postgres)"),
        ),
        _ => {
            eprintln!("several trackerd instances need PostgreSQL: not run on SQLite");
            None
        }
    }
}

/// A fresh schema of the cluster and the URL that makes it trackerd's.
pub(crate) fn fresh_database(admin: &str) -> String {
    let name = format!(
        "e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let out = Command::new("psql")
        .args([admin, "-q", "-c", &format!("CREATE SCHEMA \"{name}\"")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options=-c%20search_path%3D{name}")
}

/// A trackerd on `database`, its data (passkey key, event log) in `dir`;
/// returns it and its base URL. It lets a peer announce again after 2 s
/// (p2pd waits at least 10): a download that found no peer because its
/// seeder announced to the other instance a moment before asks again soon.
pub(crate) fn instance(database: &str, dir: &Path) -> (Proc, String) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("trackerd.toml");
    std::fs::write(&config, "[announce]\nmin_interval_secs = 2\n").unwrap();
    start(
        Command::new(bin("trackerd")).args([
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
            "--database",
            database,
        ]),
        "listening on ",
    )
}

/// `p2pctl create FILE -o OUT -t ANNOUNCE` on the daemon at `socket`.
fn create(socket: &Path, file: &Path, out: &Path, announce: &str) -> String {
    let created = ok_json(
        socket,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-t",
            announce,
        ],
    );
    created["info_hash"].as_str().unwrap().to_owned()
}

#[test]
fn leechers_announcing_only_to_one_instance_download_from_a_seeder_on_the_other() {
    let Some(admin) = postgres() else { return };
    require_tool("aria2c");
    require_tool("psql");
    let tmp = tempfile::tempdir().unwrap();
    let database = fresh_database(&admin);
    let data = tmp.path().join("tracker");
    let (_a, a) = instance(&database, &data);
    let (_b, b) = instance(&database, &data);
    let (to_a, to_b) = (format!("{a}/announce"), format!("{b}/announce"));

    // The seeder's torrent names A only; the leechers' names B only: the
    // same info dictionary, so the same swarm.
    let (_seed, seed) = daemon(&tmp.path().join("seed"), &to_a);
    let original = tmp.path().join("seed/downloads/clip.bin");
    write_random_file(&original, 6 << 20, 16);
    let on_a = tmp.path().join("on-a.torrent");
    let on_b = tmp.path().join("on-b.torrent");
    let ih = create(&seed, &original, &on_a, &to_a);
    assert_eq!(create(&seed, &original, &on_b, &to_b), ih);
    let added = ok_json(&seed, &["download", on_a.to_str().unwrap(), "--detach"]);
    assert_eq!(added["info_hash"], ih.as_str());

    // A standard client that only knows B gets A's seeder from B.
    let dl = tmp.path().join("aria2");
    std::fs::create_dir_all(&dl).unwrap();
    let mut aria2 = Command::new("aria2c")
        .args(aria2_common_flags(free_port()))
        .arg(format!("--dir={}", dl.display()))
        .arg("--seed-time=0")
        .arg("--bt-tracker-interval=1")
        .arg(&on_b)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = aria2.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = aria2.kill();
            let _ = aria2.wait();
            panic!("aria2c did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "aria2c failed: {status:?}");
    assert_eq!(sha1_file(&dl.join("clip.bin")), sha1_file(&original));

    // And p2pd, announcing only to B.
    let (_leech, leech) = daemon(&tmp.path().join("leech"), &to_b);
    let out = p2pctl(&leech, &["download", on_b.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha1_file(&tmp.path().join("leech/downloads/clip.bin")),
        sha1_file(&original)
    );
}
