//! `p2pctl config get|set` and `p2pctl limit` against a real p2pd: every
//! key is changed and read back, bad values are refused with the daemon's
//! message and change nothing (neither the settings nor the state file),
//! changes survive a restart while the config file stays byte for byte,
//! per-torrent limits show in `list --json` across a restart, a new tracker
//! goes into the next torrent the watched folder makes, and a corrupt or
//! out-of-range settings file is ignored with a warning.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use p2p_proto::ipc::RuntimeSettings;
use p2p_tests::e2e::{Proc, bin, fail, ok_json, start, succeed, wait_until};
use serde_json::Value;

/// A config file with values of its own, so "unchanged" means something.
const CONFIG: &str = "download_rate_limit = 1000000\nmax_peers_total = 300\n";

/// p2pd under `home` with [`CONFIG`] as its config file; returns it and its
/// socket once it answers.
fn daemon(home: &Path) -> (Proc, PathBuf) {
    let (p, socket) = start_marked(home, "control socket at ");
    (p, socket.into())
}

/// Starts p2pd under `home` and returns it and the rest of the first log
/// line holding `marker`.
fn start_marked(home: &Path, marker: &str) -> (Proc, String) {
    std::fs::create_dir_all(home).unwrap();
    let file = home.join("p2pd.toml");
    if !file.exists() {
        std::fs::write(&file, CONFIG).unwrap();
    }
    let mut cmd = Command::new(bin("p2pd"));
    cmd.arg("--config")
        .arg(&file)
        .arg("--home")
        .arg(home)
        .args(["--listen-port", "0"]);
    start(&mut cmd, marker)
}

/// Stops a daemon with SIGTERM (its records written) and waits for it.
fn stop(mut daemon: Proc) {
    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

fn settings(socket: &Path) -> RuntimeSettings {
    serde_json::from_value(ok_json(socket, &["config", "get"])).unwrap()
}

/// Every key, a value as typed, and the value `config get` shows after.
const EVERY_KEY: [(&str, &str, &str); 14] = [
    ("download_rate_limit", "2M", "2097152"),
    ("upload_rate_limit", "500K", "512000"),
    ("alt_download_rate_limit", "100k", "102400"),
    ("alt_upload_rate_limit", "12345", "12345"),
    ("alt_speed", "on", "on"),
    ("alt_speed_schedule", "22:00-7:30", "22:00-07:30"),
    ("max_peers_per_torrent", "80", "80"),
    ("max_peers_total", "1000", "1000"),
    ("upload_slots", "6", "6"),
    (
        "tracker",
        "http://127.0.0.1:9/announce",
        "http://127.0.0.1:9/announce",
    ),
    ("max_active_downloads", "3", "3"),
    ("max_active_seeds", "0", "unlimited"),
    ("seed_ratio_limit", "2.5", "2.50"),
    ("seed_time_limit", "36h", "1d12h"),
];

#[test]
fn every_setting_set_with_p2pctl_reads_back_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (p, socket) = daemon(&home);
    let config_before = std::fs::read(home.join("p2pd.toml")).unwrap();

    // The config file's values, before any change.
    assert_eq!(
        succeed(&socket, &["config", "get", "download_rate_limit"]),
        "1000000\n"
    );
    assert_eq!(
        succeed(&socket, &["config", "get", "max_peers_total"]),
        "300\n"
    );
    assert_eq!(
        succeed(&socket, &["config", "get", "alt_speed_active"]),
        "off\n"
    );

    for (key, value, back) in EVERY_KEY {
        let said = succeed(&socket, &["config", "set", key, value]);
        assert!(said.starts_with(&format!("{key} = {back}\n")), "{said}");
        assert_eq!(
            succeed(&socket, &["config", "get", key]),
            format!("{back}\n")
        );
    }
    let table = succeed(&socket, &["config", "get"]);
    for (key, _, back) in EVERY_KEY {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [key, back]),
            "{key} {back} not in {table}"
        );
    }
    let s = settings(&socket);
    assert!(s.alt_speed && s.alt_speed_active);
    assert_eq!(s.alt_download_rate_limit, Some(102_400));

    stop(p);
    let (p, socket) = daemon(&home);
    assert_eq!(settings(&socket), s);
    for (key, _, back) in EVERY_KEY {
        assert_eq!(
            succeed(&socket, &["config", "get", key]),
            format!("{back}\n")
        );
    }
    assert_eq!(
        std::fs::read(home.join("p2pd.toml")).unwrap(),
        config_before
    );
    stop(p);
}

#[test]
fn switching_the_alternative_speed_changes_what_is_in_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let (_p, socket) = daemon(&tmp.path().join("d"));
    succeed(
        &socket,
        &["config", "set", "alt_download_rate_limit", "64K"],
    );
    let on = succeed(&socket, &["config", "set", "alt_speed", "on"]);
    assert_eq!(on, "alt_speed = on\nalt_speed_active = on\n");
    assert!(settings(&socket).alt_speed_active);
    let off = succeed(&socket, &["config", "set", "alt_speed", "off"]);
    assert_eq!(off, "alt_speed = off\nalt_speed_active = off\n");
    let s = settings(&socket);
    assert!(!s.alt_speed_active);
    assert_eq!(s.download_rate_limit, Some(1_000_000));
    assert_eq!(s.alt_download_rate_limit, Some(64 << 10));
}

#[test]
fn bad_values_are_refused_with_the_daemons_message_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (_p, socket) = daemon(&home);
    // One accepted change, so there is a state file to keep unchanged.
    succeed(&socket, &["config", "set", "upload_slots", "5"]);
    let file = home.join("state/settings.json");
    let (before, file_before) = (settings(&socket), std::fs::read(&file).unwrap());

    const RATE: &str =
        "a rate in bytes per second (e.g. 500K, 2M, 1G; binary units) or `unlimited`";
    let cases = [
        ("download_rate_limit", "fast", RATE),
        ("upload_rate_limit", "0", RATE),
        ("alt_download_rate_limit", "1.5M", RATE),
        ("alt_upload_rate_limit", "2048G", RATE),
        ("alt_speed", "maybe", "`on` or `off`"),
        (
            "alt_speed_schedule",
            "25:00-01:00",
            "a daily window `HH:MM-HH:MM` in local time (e.g. 22:00-07:00) or `off`",
        ),
        (
            "max_peers_per_torrent",
            "0",
            "a whole number from 1 to 2000",
        ),
        ("max_peers_total", "20001", "a whole number from 1 to 20000"),
        ("upload_slots", "-3", "a whole number from 1 to 500"),
        (
            "tracker",
            "ftp://x/announce",
            "an http:// or https:// announce URL of at most 2048 bytes",
        ),
    ];
    for (key, value, expected) in cases {
        let err = fail(&socket, &["config", "set", key, value]);
        assert_eq!(err, format!("p2pctl: {key}: {value:?} is not {expected}\n"));
    }
    let unknown = "p2pctl: unknown setting \"speed\" (one of: download_rate_limit, upload_rate_limit, alt_download_rate_limit, alt_upload_rate_limit, alt_speed, alt_speed_schedule, max_peers_per_torrent, max_peers_total, upload_slots, tracker, max_active_downloads, max_active_seeds, seed_ratio_limit, seed_time_limit)\n";
    assert_eq!(fail(&socket, &["config", "set", "speed", "1"]), unknown);
    assert_eq!(fail(&socket, &["config", "get", "speed"]), unknown);

    assert_eq!(settings(&socket), before);
    assert_eq!(std::fs::read(&file).unwrap(), file_before);
}

/// A download of a file the daemon does not have, with a tracker that
/// never answers: it stays in the list, downloading nothing.
fn add_download(tmp: &Path, socket: &Path) -> String {
    let file = tmp.join("clip.bin");
    std::fs::write(&file, vec![7u8; 100_000]).unwrap();
    let torrent = tmp.join("clip.torrent");
    let created = ok_json(
        socket,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            "http://127.0.0.1:9/announce",
        ],
    );
    ok_json(socket, &["download", torrent.to_str().unwrap(), "--detach"]);
    created["info_hash"].as_str().unwrap().to_owned()
}

fn limits_in_list(socket: &Path) -> (Value, Value) {
    let list = ok_json(socket, &["list"]);
    let t = &list.as_array().unwrap()[0];
    (
        t["download_rate_limit"].clone(),
        t["upload_rate_limit"].clone(),
    )
}

#[test]
fn per_torrent_limits_show_in_the_list_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (p, socket) = daemon(&home);
    let ih = add_download(tmp.path(), &socket);
    assert_eq!(limits_in_list(&socket), (Value::Null, Value::Null));

    let said = succeed(&socket, &["limit", &ih[..8], "--download", "512K"]);
    assert_eq!(
        said,
        format!(
            "clip.bin ({}): download 512.00 KiB/s, upload unlimited (under the global limits)\n",
            &ih[..8]
        )
    );
    // A limit not given keeps its value.
    succeed(&socket, &["limit", "clip.bin", "--upload", "1M"]);
    assert_eq!(
        limits_in_list(&socket),
        (Value::from(524_288), Value::from(1_048_576))
    );

    stop(p);
    let (p, socket) = daemon(&home);
    assert_eq!(
        limits_in_list(&socket),
        (Value::from(524_288), Value::from(1_048_576))
    );
    let shown = succeed(&socket, &["limit", &ih]);
    assert!(
        shown.contains("download 512.00 KiB/s, upload 1.00 MiB/s"),
        "{shown}"
    );
    succeed(&socket, &["limit", &ih, "--download", "unlimited"]);
    assert_eq!(
        limits_in_list(&socket),
        (Value::Null, Value::from(1_048_576))
    );

    assert_eq!(
        fail(&socket, &["limit", &ih, "--download", "fast"]),
        "p2pctl: --download: \"fast\" is not a rate in bytes per second (e.g. 500K, 2M, 1G; binary units) or `unlimited`\n"
    );
    assert_eq!(
        fail(
            &socket,
            &["limit", "nothing", "--download", "1M", "--upload", "1M"]
        ),
        "p2pctl: no torrent matches \"nothing\"\n"
    );
    stop(p);
}

#[test]
fn a_corrupt_or_out_of_range_settings_file_is_ignored_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let state = home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("settings.json"), "{\"settings\": {\"upload_sl").unwrap();
    let (p, warning) = start_marked(&home, "ignoring the run-time settings in ");
    assert!(
        warning.contains("settings.json: not a settings file (")
            && warning.ends_with("; using the config file's values"),
        "{warning}"
    );
    let socket = home.join("p2pd.sock");
    wait_until("p2pd answers", 30, || {
        Command::new(bin("p2pctl"))
            .arg("--socket")
            .arg(&socket)
            .arg("status")
            .output()
            .unwrap()
            .status
            .success()
    });
    assert_eq!(
        succeed(&socket, &["config", "get", "download_rate_limit"]),
        "1000000\n"
    );
    stop(p);

    std::fs::write(
        state.join("settings.json"),
        r#"{"settings": {"upload_slots": "0", "max_peers_total": "42"}}"#,
    )
    .unwrap();
    let (p, warning) = start_marked(&home, "ignoring a run-time setting in ");
    assert!(
        warning.ends_with(
            "settings.json: upload_slots: \"0\" is not a whole number from 1 to 500; using the config file's value"
        ),
        "{warning}"
    );
    wait_until("p2pd answers", 30, || {
        Command::new(bin("p2pctl"))
            .arg("--socket")
            .arg(&socket)
            .arg("status")
            .output()
            .unwrap()
            .status
            .success()
    });
    let s = settings(&socket);
    assert_eq!((s.upload_slots, s.max_peers_total), (4, 42));
    stop(p);
}

#[test]
fn a_new_tracker_goes_into_what_the_watched_folder_shares_next() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (_p, socket) = daemon(&home);
    let url = "http://127.0.0.1:9/new/announce";
    succeed(&socket, &["config", "set", "tracker", url]);
    std::fs::write(home.join("shared/later.bin"), vec![5u8; 50_000]).unwrap();
    let torrent = home.join("torrents/later.bin.torrent");
    wait_until("the watched folder's torrent", 30, || torrent.exists());
    let shown = ok_json(&socket, &["inspect", torrent.to_str().unwrap()]);
    assert_eq!(shown["trackers"], serde_json::json!([url]), "{shown}");
}
