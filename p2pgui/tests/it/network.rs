//! The Share and Network tabs against trackerd and two daemons: a file
//! shared the way a drop shares it is seeded and reaches another user's
//! catalog; logging in, creating and joining groups, and accepting a
//! request all go through the window.

use std::path::Path;

use egui_kittest::kittest::Queryable;
use p2p_proto::ipc::TorrentState;
use p2p_proto::metainfo::Metainfo;
use p2p_tests::e2e::{daemon, ok_json, sign_up, succeed, trackerd, wait_until};

use crate::gui::{self, click, screenshot, type_into, type_secret, until, until_shown, until_text};

fn names(v: &serde_json::Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap().to_owned())
        .collect()
}

fn drop_file(gui: &mut gui::Gui, path: &Path) {
    gui.input_mut()
        .dropped_files
        .push(eframe::egui::DroppedFile {
            path: Some(path.to_path_buf()),
            ..Default::default()
        });
    gui.step();
}

#[test]
fn a_file_dropped_on_the_share_tab_is_seeded_and_reaches_another_users_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_alice_d, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_bob_d, bob) = daemon(&tmp.path().join("bob"), &announce);
    sign_up(&alice, "alice");
    sign_up(&bob, "bob");

    let file = tmp.path().join("report.bin");
    std::fs::write(&file, vec![7u8; 200_000]).unwrap();

    let mut gui = gui::open(&alice);
    gui::connected(&mut gui);
    click(&mut gui, "Share");
    until_shown(&mut gui, "Share into", 10);
    drop_file(&mut gui, &file);
    until_text(&mut gui, "sharing ", 10);
    click(&mut gui, "Torrents");
    until(&mut gui, "report.bin to be seeding", 60, |g| {
        g.state()
            .torrents()
            .iter()
            .any(|t| t.name == "report.bin" && t.state == TorrentState::Seeding)
    });
    until_shown(&mut gui, "seeding", 5);
    click(&mut gui, "Share");
    screenshot(&mut gui, "share");

    // Bob's window finds it in the public catalog, with a download button.
    let mut bobs = gui::open(&bob);
    gui::connected(&mut bobs);
    click(&mut bobs, "Network");
    until_shown(&mut bobs, "Public catalog", 10);
    let mut tries = 0;
    until(&mut bobs, "report.bin in bob's catalog", 60, |g| {
        tries += 1;
        if tries % 25 == 1 {
            g.get_by_label("Public catalog").click();
        }
        g.query_by_label("Download report.bin").is_some()
    });
    assert_eq!(
        names(&ok_json(&bob, &["files"]), "torrents", "name"),
        ["report.bin"]
    );

    // The same tab creates a .torrent with the options chosen.
    let out = tmp.path().join("made.torrent");
    type_into(&mut gui, "Create from", file.to_str().unwrap());
    type_into(&mut gui, "Save .torrent as", out.to_str().unwrap());
    type_into(&mut gui, "Trackers, one per line", &announce);
    click(&mut gui, "Private (no DHT or peer exchange)");
    click(&mut gui, "Create .torrent");
    until_text(&mut gui, "wrote ", 30);
    let meta = Metainfo::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(meta.info.name, "report.bin");
    assert!(meta.info.private);
    assert_eq!(meta.trackers, [[announce.clone()]]);
    screenshot(&mut gui, "share");
}

#[test]
fn logging_in_joining_a_group_and_accepting_a_request_work_from_the_network_tab() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_alice_d, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_bob_d, bob) = daemon(&tmp.path().join("bob"), &announce);
    sign_up(&bob, "bob");
    succeed(&bob, &["groups", "create", "music"]);

    let mut gui = gui::open(&alice);
    gui::connected(&mut gui);
    click(&mut gui, "Network");
    until_shown(&mut gui, "User name", 10);
    type_into(&mut gui, "User name", "alice");
    type_secret(&mut gui, "Password", "correct horse");
    click(&mut gui, "Register");
    until_shown(&mut gui, "Logged in as alice", 20);
    assert_eq!(ok_json(&alice, &["whoami"])["logged_in_as"], "alice");

    // Alice creates a group; bob asks to join; alice accepts from the window.
    type_into(&mut gui, "Group", "team");
    click(&mut gui, "Create group");
    until_text(&mut gui, "team (owner", 10);
    succeed(&bob, &["groups", "join", "team"]);
    click(&mut gui, "Join requests");
    until_shown(&mut gui, "Accept bob", 10);
    click(&mut gui, "Accept bob");
    until_text(&mut gui, "Members: alice (owner), bob", 10);
    assert_eq!(
        names(
            &ok_json(&alice, &["groups", "members", "team"]),
            "members",
            "username"
        ),
        ["alice", "bob"]
    );

    // Alice asks to join bob's group; bob sees her request.
    click(&mut gui, "Refresh groups");
    until_text(&mut gui, "music (not a member", 10);
    gui.get_by_label_contains("music (not a member").click();
    gui.step();
    assert_eq!(gui.get_by_label("Group").value().as_deref(), Some("music"));
    click(&mut gui, "Join");
    until_text(&mut gui, "asked to join music", 10);
    wait_until("alice's request in bob's list", 10, || {
        names(
            &ok_json(&bob, &["groups", "requests", "music"]),
            "requests",
            "username",
        ) == ["alice"]
    });
    click(&mut gui, "Fetch tracker events");
    until_text(&mut gui, "tracker #", 10);
    screenshot(&mut gui, "network");
}
