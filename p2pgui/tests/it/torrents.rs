//! The Torrents, Add and Status tabs against a real swarm: a .torrent added
//! in the Add tab downloads from a seeding daemon with its bytes checked;
//! pause and resume change the daemon's state; the status tab shows the
//! daemon and what it says of its settings.

use std::path::Path;

use egui_kittest::kittest::Queryable;
use p2p_proto::ipc::TorrentState;
use p2p_tests::e2e::{daemon, ok_json, trackerd};
use sha1::{Digest, Sha1};

use crate::gui::{self, click, screenshot, type_into, until, until_shown, until_text};

fn state_of(socket: &Path, name: &str) -> String {
    let list = ok_json(socket, &["list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_torrent_added_in_the_add_tab_completes_and_pauses_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);

    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(tmp.path().join("seed/downloads/clip.bin"), &data).unwrap();
    let torrent = tmp.path().join("clip.torrent");
    let file = tmp.path().join("seed/downloads/clip.bin");
    ok_json(
        &seed_sock,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            &announce,
        ],
    );
    ok_json(
        &seed_sock,
        &["download", torrent.to_str().unwrap(), "--detach"],
    );

    let mut gui = gui::open(&leech_sock);
    gui::connected(&mut gui);
    until_text(&mut gui, "No torrents yet", 10);
    screenshot(&mut gui, "torrents-empty");

    click(&mut gui, "Add");
    type_into(
        &mut gui,
        "Torrent file or magnet link",
        torrent.to_str().unwrap(),
    );
    screenshot(&mut gui, "add");
    click(&mut gui, "Add torrent");
    until_text(&mut gui, "added clip.bin", 10);

    click(&mut gui, "Torrents");
    until(&mut gui, "clip.bin to be seeding in the window", 60, |g| {
        g.state()
            .torrents()
            .iter()
            .any(|t| t.name == "clip.bin" && t.state == TorrentState::Seeding && t.progress == 1.0)
    });
    until_shown(&mut gui, "seeding", 5);
    let got = std::fs::read(tmp.path().join("leech/downloads/clip.bin")).unwrap();
    assert_eq!(Sha1::digest(&got), Sha1::digest(&data));

    // The detail pane lists the file as complete.
    click(&mut gui, "clip.bin");
    until_text(&mut gui, "✔ clip.bin", 10);
    screenshot(&mut gui, "torrents");

    click(&mut gui, "Pause");
    until_shown(&mut gui, "paused", 10);
    assert_eq!(state_of(&leech_sock, "clip.bin"), "paused");
    click(&mut gui, "Resume");
    until_shown(&mut gui, "seeding", 30);
    assert_eq!(state_of(&leech_sock, "clip.bin"), "seeding");

    // Status: the daemon's own figures, and its settings or why there are none.
    click(&mut gui, "Status & settings");
    until_shown(&mut gui, "Downloads folder", 10);
    let downloads = tmp.path().join("leech/downloads");
    assert!(
        gui.query_by_label(downloads.to_str().unwrap()).is_some(),
        "the status tab shows the downloads folder"
    );
    until(&mut gui, "the settings or why there are none", 10, |g| {
        g.query_by_label("Save settings").is_some()
            || g.query_by_label_contains("cannot change settings while it runs")
                .is_some()
    });
    screenshot(&mut gui, "status");
}
