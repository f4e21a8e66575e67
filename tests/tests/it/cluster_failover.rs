//! Failover between trackerd instances on one PostgreSQL (issue 16): two
//! daemons logged in through instance A, a transfer running between them,
//! and A killed with SIGKILL. The daemons carry on through B (listed in
//! their `tracker_instances`): the transfer completes, a new share is
//! published and downloaded through B, and nothing A acknowledged is lost:
//! the registration, the publish, the group change, and the event log,
//! which B serves without a gap.
//! PostgreSQL-only, like cluster_e2e (scripts/test runs it there).

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cluster_e2e::{fresh_database, instance, postgres};
use crate::common::{require_tool, sha1_file, write_random_file};
use p2p_tests::e2e::{Proc, bin, ok_json, p2pctl, sign_up, start, succeed, wait_until};

const MIB: u64 = 1 << 20;

/// A daemon whose tracker is `a`, with `b` as the other instance.
fn daemon_on(home: &Path, a: &str, b: &str) -> (Proc, PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    let config = home.join("p2pd.toml");
    std::fs::write(&config, format!("tracker_instances = [\"{b}\"]\n")).unwrap();
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--config",
            config.to_str().unwrap(),
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            a,
        ]),
        "control socket at ",
    );
    (p, socket.into())
}

/// The info-hash of `name` in `group`'s catalog as `socket`'s user sees it.
fn in_catalog(socket: &Path, group: &str, name: &str) -> Option<String> {
    let files = ok_json(socket, &["files", group]);
    files["torrents"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["info_hash"].as_str().map(str::to_owned))
}

fn state_of(socket: &Path, ih: &str) -> Option<String> {
    ok_json(socket, &["list"])
        .as_array()?
        .iter()
        .find(|t| t["info_hash"] == ih)
        .and_then(|t| t["state"].as_str().map(str::to_owned))
}

/// The whole event log, oldest first, as (id, "kind username").
fn event_log(socket: &Path) -> Vec<(i64, String)> {
    let page = ok_json(socket, &["events"]);
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap_or(""),
                    e["username"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

#[test]
fn killing_one_instance_moves_the_daemons_to_the_other_and_loses_nothing_acknowledged() {
    let Some(admin) = postgres() else { return };
    require_tool("psql");
    let tmp = tempfile::tempdir().unwrap();
    let home = |u: &str| tmp.path().join(u);
    let database = fresh_database(&admin);
    let data = home("tracker");
    let (mut a_proc, a) = instance(&database, &data);
    let (_b_proc, b) = instance(&database, &data);
    let (to_a, to_b) = (format!("{a}/announce"), format!("{b}/announce"));

    // Everything acknowledged through A: accounts, logins, a group and a
    // member accepted into it, a published file.
    let (_alice_proc, alice) = daemon_on(&home("alice"), &to_a, &to_b);
    let (_bob_proc, bob) = daemon_on(&home("bob"), &to_a, &to_b);
    let (_carol_proc, carol) = daemon_on(&home("carol"), &to_a, &to_b);
    sign_up(&alice, "alice");
    sign_up(&bob, "bob");
    succeed(&alice, &["groups", "create", "crew"]);
    succeed(&bob, &["groups", "join", "crew"]);
    succeed(&alice, &["groups", "accept", "crew", "bob"]);
    let crew = home("alice").join("shared/crew");
    std::fs::create_dir_all(&crew).unwrap();
    let film = tmp.path().join("film.bin");
    write_random_file(&film, 48 * MIB, 7);
    std::fs::copy(&film, crew.join("film.bin")).unwrap();
    wait_until("film.bin in bob's catalog", 60, || {
        in_catalog(&bob, "crew", "film.bin").is_some()
    });
    let film_ih = in_catalog(&bob, "crew", "film.bin").unwrap();

    // bob downloads at 2 MiB/s, so the transfer is running when A dies.
    succeed(&bob, &["config", "set", "download_rate_limit", "2M"]);
    succeed(&bob, &["download", &film_ih, "--detach"]);
    wait_until("bob to have a tenth of film.bin", 60, || {
        let p = ok_json(&bob, &["progress", &film_ih[..8]]);
        p["pieces_have"].as_u64().unwrap_or(0) * 10 >= p["pieces_total"].as_u64().unwrap_or(1)
    });
    // carol's registration is the last thing A acknowledges.
    let out = p2pctl(
        &carol,
        &["register", "carol", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = event_log(&alice);
    assert!(
        before.iter().any(|(_, e)| e == "register carol"),
        "{before:?}"
    );
    let progress = ok_json(&bob, &["progress", &film_ih[..8]]);
    assert_ne!(
        progress["pieces_have"], progress["pieces_total"],
        "the transfer ended before A was killed: {progress}"
    );

    a_proc.0.kill().unwrap(); // SIGKILL: A says nothing to anyone
    a_proc.0.wait().unwrap();

    // The running transfer completes.
    succeed(&bob, &["config", "set", "download_rate_limit", "unlimited"]);
    wait_until("bob to finish film.bin", 120, || {
        state_of(&bob, &film_ih).as_deref() == Some("seeding")
    });
    assert_eq!(
        sha1_file(&home("bob").join("downloads/film.bin")),
        sha1_file(&film)
    );

    // Both daemons are still logged in, and their health checks name B.
    for (socket, user) in [(&alice, "alice"), (&bob, "bob")] {
        wait_until("the health check to name B", 60, || {
            let s = ok_json(socket, &["status"]);
            s["tracker"]["state"] == "ok"
                && s["tracker"]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(&b)
        });
        assert_eq!(ok_json(socket, &["status"])["logged_in_as"], user);
    }

    // A new share goes through B: published, listed and downloaded.
    let clip = tmp.path().join("clip.bin");
    write_random_file(&clip, 3 * MIB, 8);
    std::fs::copy(&clip, crew.join("clip.bin")).unwrap();
    wait_until("clip.bin in bob's catalog through B", 60, || {
        in_catalog(&bob, "crew", "clip.bin").is_some()
    });
    let clip_ih = in_catalog(&bob, "crew", "clip.bin").unwrap();
    succeed(&bob, &["download", &clip_ih, "--detach"]);
    wait_until("bob to finish clip.bin", 120, || {
        state_of(&bob, &clip_ih).as_deref() == Some("seeding")
    });
    assert_eq!(
        sha1_file(&home("bob").join("downloads/clip.bin")),
        sha1_file(&clip)
    );

    // What A acknowledged is there: carol logs in (through B), bob is
    // still in crew, and film.bin is still in the catalog.
    let out = p2pctl(
        &carol,
        &["login", "carol", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let members = ok_json(&bob, &["groups", "members", "crew"]);
    assert!(
        members.to_string().contains("\"bob\""),
        "crew's members after the failover: {members}"
    );
    let refused = p2pctl(&carol, &["files", "crew"], None);
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "p2pctl: you are not a member of \"crew\""
    );
    assert_eq!(
        in_catalog(&alice, "crew", "film.bin").as_deref(),
        Some(film_ih.as_str())
    );

    // The event log from B: what A wrote, then what B wrote, ids in order
    // with none missing.
    let after = event_log(&alice);
    assert_eq!(&after[..before.len()], &before[..], "the log A served");
    let ids: Vec<i64> = after.iter().map(|(id, _)| *id).collect();
    let contiguous: Vec<i64> = (ids[0]..ids[0] + ids.len() as i64).collect();
    assert_eq!(ids, contiguous, "a gap in the event log: {after:?}");
    let later: Vec<&str> = after[before.len()..]
        .iter()
        .map(|(_, e)| e.as_str())
        .collect();
    assert!(later.contains(&"publish alice"), "{later:?}");
    assert!(later.contains(&"login carol"), "{later:?}");
}
