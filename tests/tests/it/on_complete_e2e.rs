//! What happens when a download completes, with real processes: the
//! `on_complete` program gets the torrent's name, data path and info-hash in
//! its environment, byte for byte, and a name full of shell metacharacters
//! runs nothing; and the all-time totals of a seeder survive its restart.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::sha1_file;
use p2p_tests::e2e::{Proc, bin, ok_json, p2pctl_within, start, trackerd, wait_until};
use serde_json::Value;

/// A torrent name that a shell would take for commands.
const HOSTILE_NAME: &str = "a; touch PWNED $(touch PWNED2) `touch PWNED4` x";

/// p2pd under `home` with `config` as its configuration file, working in
/// `cwd`; returns it and its socket.
fn daemon_with(home: &Path, announce: &str, config: &str, cwd: &Path) -> (Proc, PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::create_dir_all(cwd).unwrap();
    let file = home.join("p2pd.toml");
    std::fs::write(&file, config).unwrap();
    let (p, socket) = start(
        Command::new(bin("p2pd"))
            .current_dir(cwd)
            .arg("--config")
            .arg(&file)
            .arg("--home")
            .arg(home)
            .args(["--listen-port", "0", "--tracker", announce]),
        "control socket at ",
    );
    (p, socket.into())
}

/// Stops a daemon with SIGTERM (its records written) and waits for it.
fn stop(mut daemon: Proc) {
    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    assert!(daemon.0.wait().unwrap().success());
}

/// Seeds `size` bytes named `name` from the daemon at `socket` (its home
/// `home`); returns the data's path, the .torrent and the info-hash.
fn seed(
    socket: &Path,
    home: &Path,
    name: &str,
    size: u32,
    announce: &str,
) -> (PathBuf, PathBuf, String) {
    let data = home.join("downloads").join(name);
    let bytes: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    std::fs::write(&data, bytes).unwrap();
    let torrent = home.join("seeded.torrent");
    let created = ok_json(
        socket,
        &[
            "create",
            data.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            announce,
        ],
    );
    let ih = created["info_hash"].as_str().unwrap().to_owned();
    ok_json(socket, &["download", torrent.to_str().unwrap(), "--detach"]);
    (data, torrent, ih)
}

fn all_time(socket: &Path, ih: &str) -> Option<Value> {
    ok_json(socket, &["list"])
        .as_array()?
        .iter()
        .find(|t| t["info_hash"] == ih)
        .map(|t| t["all_time"].clone())
}

/// Every path under `dir` whose file name starts with `prefix`.
fn found_under(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.map(Result::unwrap) {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(p.clone());
        }
        if e.file_type().unwrap().is_dir() {
            out.extend(found_under(&p, prefix));
        }
    }
    out
}

#[test]
fn the_completion_program_gets_the_torrent_in_its_environment_and_a_hostile_name_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let cwd = tmp.path().join("cwd");
    let (_seed, seed_sock) = daemon_with(&tmp.path().join("seed"), &announce, "", &cwd);
    let (data, torrent, ih) = seed(
        &seed_sock,
        &tmp.path().join("seed"),
        HOSTILE_NAME,
        2_000_000,
        &announce,
    );

    // The program writes what it was given, each value quoted, then a mark.
    let out = tmp.path().join("hook");
    std::fs::create_dir_all(&out).unwrap();
    let script = tmp.path().join("on-complete.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nset -e\nd='{}'\n\
             printf '%s' \"$P2P_TORRENT_NAME\" > \"$d/name\"\n\
             printf '%s' \"$P2P_TORRENT_PATH\" > \"$d/path\"\n\
             printf '%s' \"$P2P_INFO_HASH\" > \"$d/info-hash\"\n\
             printf '%s' \"$1\" > \"$d/arg\"\n\
             echo 'hook ran' >&2\n\
             touch \"$d/done\"\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "on_complete = [{:?}, \"$(touch PWNED3)\"]\non_complete_timeout = 60\n",
        script.to_str().unwrap()
    );
    let leech_home = tmp.path().join("leech");
    let (_leech, leech_sock) = daemon_with(&leech_home, &announce, &config, &cwd);

    let got = p2pctl_within(&leech_sock, &["download", torrent.to_str().unwrap()], 180);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let downloaded = leech_home.join("downloads").join(HOSTILE_NAME);
    assert_eq!(sha1_file(&downloaded), sha1_file(&data));

    wait_until("the completion program", 60, || out.join("done").exists());
    let read = |f: &str| std::fs::read(out.join(f)).unwrap();
    assert_eq!(read("name"), HOSTILE_NAME.as_bytes());
    assert_eq!(read("path"), downloaded.as_os_str().as_encoded_bytes());
    assert_eq!(read("info-hash"), ih.as_bytes());
    assert_eq!(read("arg"), b"$(touch PWNED3)");
    // Nothing the name or the argument spelled ran, anywhere.
    assert_eq!(found_under(tmp.path(), "PWNED"), Vec::<PathBuf>::new());
    let here = std::env::current_dir().unwrap();
    assert_eq!(found_under(&here, "PWNED"), Vec::<PathBuf>::new());
}

#[test]
fn all_time_totals_of_a_seeder_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let cwd = tmp.path().join("cwd");
    let seed_home = tmp.path().join("seed");
    let (seeder, seed_sock) = daemon_with(&seed_home, &announce, "", &cwd);
    let size = 4_000_000;
    let (_, torrent, ih) = seed(&seed_sock, &seed_home, "film.bin", size, &announce);
    let (_leech, leech_sock) = daemon_with(&tmp.path().join("leech"), &announce, "", &cwd);
    let got = p2pctl_within(&leech_sock, &["download", torrent.to_str().unwrap()], 180);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );

    let size = u64::from(size);
    let field = |v: &Value, k: &str| v[k].as_u64().unwrap();
    wait_until("the seeder's all-time upload", 30, || {
        all_time(&seed_sock, &ih).is_some_and(|a| field(&a, "uploaded") >= size)
    });
    // Sampled once a second: the last bytes reach the totals within one.
    wait_until("the leecher's all-time download", 30, || {
        all_time(&leech_sock, &ih).is_some_and(|a| field(&a, "downloaded") >= size)
    });
    let before = all_time(&seed_sock, &ih).unwrap();
    stop(seeder);

    let (_seeder, seed_sock) = daemon_with(&seed_home, &announce, "", &cwd);
    wait_until("the torrent back in the seeder's list", 30, || {
        all_time(&seed_sock, &ih).is_some()
    });
    let after = all_time(&seed_sock, &ih).unwrap();
    assert!(
        field(&after, "uploaded") >= field(&before, "uploaded"),
        "before {before}, after {after}"
    );
    assert!(field(&after, "seeding_secs") >= field(&before, "seeding_secs"));
    assert!(after["ratio"].as_f64().unwrap() >= 1.0, "{after}");
    // `list` shows the ratio.
    let text = p2p_tests::e2e::succeed(&seed_sock, &["list"]);
    assert!(text.lines().next().unwrap().ends_with("RATIO"), "{text}");
}
