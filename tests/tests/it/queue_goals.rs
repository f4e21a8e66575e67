//! The queue and seed goals of a real p2pd, driven with p2pctl: five
//! downloads with two slots run two at a time and the next starts when one
//! completes; `queue ID top|up` reorders and the order survives a restart;
//! a ratio goal stops a seeder once a leecher has everything; a seeding-time
//! goal stops a seed and it stays finished across a restart; a stalled
//! download gives its slot to the next; the watched folder's items are
//! neither queued nor stopped by seed goals unless configured; with
//! `seed_goal_action = "remove"` a finished download is forgotten.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use p2p_tests::e2e::{
    Proc, bin, daemon, ok_json, p2pctl_within, start, succeed, trackerd, wait_until,
};
use serde_json::Value;

/// An announce URL nothing answers: torrents run without peers.
const NO_TRACKER: &str = "http://127.0.0.1:9/announce";

/// Writes `len` bytes of data particular to `seed`.
fn write_data(path: &Path, len: usize, seed: u32) {
    let data: Vec<u8> = (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// Makes a .torrent of `file` announcing to `announce`; returns its path
/// and info-hash.
fn torrent_of(socket: &Path, file: &Path, announce: &str) -> (PathBuf, String) {
    let out = file.with_extension("torrent");
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
    (out, created["info_hash"].as_str().unwrap().to_owned())
}

fn add_detached(socket: &Path, torrent: &Path) {
    ok_json(socket, &["download", torrent.to_str().unwrap(), "--detach"]);
}

/// `list --json`, by info-hash: (state, error text, uploaded).
fn states(socket: &Path) -> Vec<(String, String, String, u64)> {
    let list = ok_json(socket, &["list"]);
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["info_hash"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
                t["error"].as_str().unwrap_or_default().to_owned(),
                t["uploaded"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn state_of(socket: &Path, ih: &str) -> (String, String) {
    states(socket)
        .into_iter()
        .find(|t| t.0 == ih)
        .map(|t| (t.1, t.2))
        .unwrap_or_else(|| panic!("{ih} is not listed"))
}

fn count(all: &[(String, String, String, u64)], state: &str) -> usize {
    all.iter().filter(|t| t.1 == state).count()
}

/// p2pd under `home` with `config` as its config file, announcing nowhere.
fn daemon_with(home: &Path, config: &str) -> (Proc, PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    let file = home.join("p2pd.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(bin("p2pd"));
    cmd.arg("--config")
        .arg(&file)
        .arg("--home")
        .arg(home)
        .args(["--listen-port", "0", "--tracker", NO_TRACKER]);
    let (p, socket) = start(&mut cmd, "control socket at ");
    (p, socket.into())
}

/// Stops a daemon with SIGTERM (its records written) and waits for it.
fn stop(mut daemon: Proc) {
    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    assert!(daemon.0.wait().unwrap().success());
}

#[test]
fn five_downloads_with_two_slots_run_two_at_a_time_and_the_next_starts_at_each_completion() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);
    // Slow enough that each state can be seen, fast enough for a test.
    succeed(&seed_sock, &["config", "set", "upload_rate_limit", "384K"]);
    succeed(&leech_sock, &["config", "set", "max_active_downloads", "2"]);

    let mut order = Vec::new();
    for n in 0..5u32 {
        let file = tmp.path().join(format!("seed/downloads/part{n}.bin"));
        write_data(&file, 1 << 20, n);
        let (torrent, ih) = torrent_of(&seed_sock, &file, &announce);
        add_detached(&seed_sock, &torrent);
        order.push((torrent, ih));
    }
    wait_until("the seeder seeds all five", 60, || {
        count(&states(&seed_sock), "seeding") == 5
    });

    for (torrent, _) in &order {
        add_detached(&leech_sock, torrent);
    }
    // The first two added hold the slots; the others wait in order.
    let first = states(&leech_sock);
    for (i, (_, ih)) in order.iter().enumerate() {
        let (state, why) = state_of(&leech_sock, ih);
        if i >= 2 {
            assert_eq!(state, "queued", "{first:?}");
            assert_eq!(why, format!("#{} in the queue", i - 1));
        } else {
            assert!(
                ["downloading", "checking"].contains(&state.as_str()),
                "{first:?}"
            );
        }
    }

    // Every distinct (seeding, running, queued) seen, in order.
    let mut steps: Vec<(usize, usize, usize)> = Vec::new();
    wait_until("all five complete", 180, || {
        let all = states(&leech_sock);
        let active = count(&all, "downloading") + count(&all, "checking");
        let (queued, seeding) = (count(&all, "queued"), count(&all, "seeding"));
        assert!(active <= 2, "more than two run: {all:?}");
        assert_eq!(active + queued + seeding, 5, "{all:?}");
        if steps.last() != Some(&(seeding, active, queued)) {
            steps.push((seeding, active, queued));
        }
        seeding == 5
    });
    // After a completion, a queued download took the free slot.
    assert!(
        steps.iter().any(|&(s, a, q)| s >= 1 && a == 2 && q < 3),
        "{steps:?}"
    );
    for n in 0..5u32 {
        let got = std::fs::read(tmp.path().join(format!("leech/downloads/part{n}.bin"))).unwrap();
        let want = std::fs::read(tmp.path().join(format!("seed/downloads/part{n}.bin"))).unwrap();
        assert!(got == want, "part{n} differs");
    }
}

#[test]
fn queue_top_and_up_reorder_the_downloads_and_the_order_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (p, socket) = daemon(&home, NO_TRACKER);
    succeed(&socket, &["config", "set", "max_active_downloads", "2"]);
    // Torrents of data nobody has: they download forever, without peers.
    let ids: Vec<String> = (0..5u32)
        .map(|n| {
            let file = tmp.path().join(format!("src/t{n}.bin"));
            write_data(&file, 64 << 10, 100 + n);
            let (torrent, ih) = torrent_of(&socket, &file, NO_TRACKER);
            add_detached(&socket, &torrent);
            ih
        })
        .collect();
    let expect = |socket: &Path, running: &[usize], queued: &[usize]| {
        for &i in running {
            let (state, _) = state_of(socket, &ids[i]);
            assert!(
                ["downloading", "checking"].contains(&state.as_str()),
                "t{i}: {state}"
            );
        }
        for (place, &i) in queued.iter().enumerate() {
            let got = state_of(socket, &ids[i]);
            let want = ("queued".to_owned(), format!("#{} in the queue", place + 1));
            assert_eq!(got, want, "t{i}");
        }
    };
    expect(&socket, &[0, 1], &[2, 3, 4]);

    let moved = succeed(&socket, &["queue", &ids[4][..8], "top"]);
    assert!(moved.starts_with("t4.bin ("), "{moved}");
    expect(&socket, &[4, 0], &[1, 2, 3]);

    stop(p);
    let (_p, socket) = daemon(&home, NO_TRACKER);
    wait_until("the restarted daemon runs two", 30, || {
        count(&states(&socket), "downloading") == 2
    });
    expect(&socket, &[4, 0], &[1, 2, 3]);
    succeed(&socket, &["queue", &ids[2][..8], "up"]);
    expect(&socket, &[4, 0], &[2, 1, 3]);
    succeed(&socket, &["queue", &ids[4][..8], "bottom"]);
    expect(&socket, &[0, 2], &[1, 3, 4]);

    // A queued download pauses and, resumed, waits in its place again.
    let paused = ok_json(&socket, &["pause", &ids[3][..8]]);
    assert_eq!(paused["state"], "paused");
    expect(&socket, &[0, 2], &[1, 4]);
    let resumed = ok_json(&socket, &["resume", &ids[3][..8]]);
    assert_eq!(resumed["state"], "queued");
    expect(&socket, &[0, 2], &[1, 3, 4]);
    // More slots at run time: the waiting ones start at once.
    succeed(
        &socket,
        &["config", "set", "max_active_downloads", "unlimited"],
    );
    wait_until("all five run", 30, || {
        count(&states(&socket), "queued") == 0
    });
    expect(&socket, &[0, 1, 2, 3, 4], &[]);
}

#[test]
fn a_ratio_goal_stops_the_seeder_once_a_leecher_has_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);
    let size = 3 << 20;
    let file = tmp.path().join("seed/downloads/film.bin");
    write_data(&file, size, 7);
    let (torrent, ih) = torrent_of(&seed_sock, &file, &announce);
    add_detached(&seed_sock, &torrent);
    let goal = succeed(&seed_sock, &["seed-goal", &ih[..8], "--ratio", "1.0"]);
    assert_eq!(
        goal,
        "film.bin (".to_owned() + &ih[..8] + "): ratio 1.00, time global\n"
    );

    let out = p2pctl_within(&leech_sock, &["download", torrent.to_str().unwrap()], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(tmp.path().join("leech/downloads/film.bin")).unwrap();
    assert!(
        got == std::fs::read(&file).unwrap(),
        "the leecher's copy differs"
    );

    wait_until("the seeder finishes at ratio 1", 60, || {
        state_of(&seed_sock, &ih).0 == "finished"
    });
    let all = states(&seed_sock);
    let (_, _, why, uploaded) = all.iter().find(|t| t.0 == ih).unwrap();
    assert_eq!(why, "ratio 1.00 reached");
    assert!(*uploaded >= size as u64, "uploaded {uploaded} of {size}");
    let table = succeed(&seed_sock, &["list"]);
    assert!(table.contains("finished: ratio 1.00 reached"), "{table}");
}

#[test]
fn a_seeding_time_goal_stops_a_seed_and_it_stays_finished_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let (p, socket) = daemon(&home, NO_TRACKER);
    succeed(&socket, &["config", "set", "seed_time_limit", "3s"]);
    let file = home.join("downloads/song.bin");
    write_data(&file, 256 << 10, 9);
    let (torrent, ih) = torrent_of(&socket, &file, NO_TRACKER);
    add_detached(&socket, &torrent);
    wait_until("the seed finishes after 3 s of seeding", 60, || {
        state_of(&socket, &ih).0 == "finished"
    });
    let finished = state_of(&socket, &ih);
    assert_eq!(finished.1, "seeding time 3s reached");

    stop(p);
    let (_p, socket) = daemon(&home, NO_TRACKER);
    assert_eq!(state_of(&socket, &ih), finished);
    // Resumed, it seeds again until the goal comes round once more.
    let resumed: Value = ok_json(&socket, &["resume", &ih[..8]]);
    assert_ne!(resumed["state"], "finished");
    wait_until("the resumed seed finishes again", 60, || {
        state_of(&socket, &ih).0 == "finished"
    });
}

#[test]
fn a_stalled_download_gives_its_slot_to_the_next_and_runs_on() {
    let tmp = tempfile::tempdir().unwrap();
    let config = "max_active_downloads = 1\nstalled_download_secs = 2\n";
    let (_p, socket) = daemon_with(&tmp.path().join("d"), config);
    // Nobody has these: each download stalls in turn.
    for n in 0..3u32 {
        let file = tmp.path().join(format!("src/s{n}.bin"));
        write_data(&file, 64 << 10, 200 + n);
        let (torrent, _) = torrent_of(&socket, &file, NO_TRACKER);
        add_detached(&socket, &torrent);
    }
    let first = states(&socket);
    assert_eq!((count(&first, "queued"), first.len()), (2, 3), "{first:?}");
    wait_until("every stalled download runs", 60, || {
        let all = states(&socket);
        count(&all, "downloading") == 3
    });
}

#[test]
fn watched_folder_items_are_neither_queued_nor_stopped_by_seed_goals_unless_configured() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let config = "max_active_seeds = 1\nseed_time_limit = \"2s\"\n";
    let (_p, socket) = daemon_with(&home, config);
    for n in 0..2u32 {
        write_data(&home.join(format!("shared/item{n}.bin")), 64 << 10, 300 + n);
    }
    wait_until("both items seed", 60, || {
        count(&states(&socket), "seeding") == 2
    });
    // A download seeds from its own data after them and meets the goal.
    let file = home.join("downloads/dl.bin");
    write_data(&file, 64 << 10, 400);
    let (torrent, ih) = torrent_of(&socket, &file, NO_TRACKER);
    add_detached(&socket, &torrent);
    wait_until("the download finishes", 60, || {
        state_of(&socket, &ih).0 == "finished"
    });
    // The items seeded longer than the goal and beyond the seed slot.
    let all = states(&socket);
    assert_eq!(count(&all, "seeding"), 2, "{all:?}");

    let home = tmp.path().join("e");
    let config = "seed_time_limit = \"2s\"\nseed_goals_apply_to_shared = true\n";
    let (_p, socket) = daemon_with(&home, config);
    write_data(&home.join("shared/item.bin"), 64 << 10, 500);
    wait_until("the item finishes", 60, || {
        let all = states(&socket);
        all.len() == 1 && all[0].1 == "finished"
    });
    assert_eq!(states(&socket)[0].2, "seeding time 2s reached");
}

#[test]
fn with_seed_goal_action_remove_a_finished_download_is_forgotten_and_its_files_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("d");
    let config = "seed_time_limit = \"1s\"\nseed_goal_action = \"remove\"\n";
    let (_p, socket) = daemon_with(&home, config);
    let file = home.join("downloads/gone.bin");
    write_data(&file, 64 << 10, 600);
    let (torrent, ih) = torrent_of(&socket, &file, NO_TRACKER);
    add_detached(&socket, &torrent);
    wait_until("the download is forgotten", 60, || {
        states(&socket).is_empty()
    });
    assert!(file.exists(), "its data stays");
    let copy = home.join(format!("state/torrents/{ih}.torrent"));
    assert!(!copy.exists(), "{} is left", copy.display());
}
