//! With nothing on the socket the window says so and offers to start p2pd;
//! accepting starts one (as `p2pd --daemon`) and the window connects to it.

use std::path::PathBuf;
use std::time::Duration;

use egui_kittest::kittest::Queryable;
use p2p_client::Target;
use p2p_tests::e2e::bin;
use p2pgui::Options;
use p2pgui::launch::Launcher;

use crate::gui::{self, click, screenshot, until_shown};

/// Kills the daemon started by the window (it forked away from the test).
struct PidFile(PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

#[test]
fn with_no_daemon_the_window_offers_to_start_one_and_accepting_starts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let socket = tmp.path().join("p2pd.sock");
    let _daemon = PidFile(home.join("state/p2pd.pid"));
    let options = Options {
        target: Target::resolve(Some(&socket), None, Duration::from_secs(10)),
        launcher: Launcher {
            program: bin("p2pd"),
            args: [
                "--daemon",
                "--home",
                home.to_str().unwrap(),
                "--socket",
                socket.to_str().unwrap(),
                "--listen-port",
                "0",
            ]
            .map(Into::into)
            .to_vec(),
        },
        notify: false,
    };
    let mut gui = gui::open_with(options);
    until_shown(&mut gui, "No p2pd daemon is running", 10);
    assert!(gui.query_by_label("Start p2pd").is_some());
    screenshot(&mut gui, "no-daemon");

    click(&mut gui, "Start p2pd");
    gui::connected(&mut gui);
    assert!(gui.query_by_label("No p2pd daemon is running").is_none());
    assert!(socket.exists(), "the daemon listens where the window looks");
    assert!(home.join("state/p2pd.pid").exists(), "it runs as a daemon");
}
