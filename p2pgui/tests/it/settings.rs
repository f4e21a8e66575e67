//! The settings form against p2pd's run-time settings: a download limit
//! changed in the Status & settings tab is what `p2pctl config get` reports,
//! and it survives a restart of p2pd; the alternative speed switch turns
//! the daemon's alternative speed on.

use egui_kittest::kittest::Queryable;
use p2p_tests::e2e::{daemon, succeed, trackerd};

use crate::gui::{self, click, replace_text, screenshot, until, until_shown, until_text};

#[test]
fn a_download_limit_and_the_alternative_speed_set_in_the_settings_tab_are_what_p2pctl_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let announce = format!("{url}/announce");
    let home = tmp.path().join("home");
    let (p2pd, socket) = daemon(&home, &announce);

    let mut gui = gui::open(&socket);
    gui::connected(&mut gui);
    click(&mut gui, "Status & settings");
    until_shown(&mut gui, "Download limit", 10);
    replace_text(&mut gui, "Download limit", "500K");
    click(&mut gui, "Save settings");
    until_text(&mut gui, "settings saved", 10);
    let got = succeed(&socket, &["config", "get", "download_rate_limit"]);
    assert!(got.contains("512000"), "p2pctl config get says {got:?}");

    // The alternative speed is a switch that applies as soon as it is flipped.
    // "settings saved" is still shown from the form above, so the outcome
    // is what the daemon reports, not the message.
    click(&mut gui, "Use the alternative limits now");
    until(
        &mut gui,
        "p2pctl config get alt_speed to say on",
        10,
        |_| succeed(&socket, &["config", "get", "alt_speed"]).trim() == "on",
    );
    screenshot(&mut gui, "settings");

    // A new p2pd on the same home keeps it, and the open window shows it.
    drop(p2pd);
    let (_p2pd, socket) = daemon(&home, &announce);
    let got = succeed(&socket, &["config", "get", "download_rate_limit"]);
    assert!(
        got.contains("512000"),
        "after a restart p2pctl config get says {got:?}"
    );
    until(
        &mut gui,
        "the restarted daemon's limit in the form",
        30,
        |g| {
            g.query_by_label("Download limit")
                .is_some_and(|n| n.value().as_deref() == Some("512000"))
        },
    );
}
