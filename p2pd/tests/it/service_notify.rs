//! The service manager's notify protocol, spoken by the real p2pd without
//! systemd: the test binds the datagram socket systemd would (NOTIFY_SOCKET)
//! and asks for a watchdog (WATCHDOG_USEC). p2pd says READY=1 with a status,
//! pings while its main loop turns and stops pinging when that loop hangs
//! (a debug-only test hook, SIGUSR2 with P2PD_TEST_HOOKS=1); SIGHUP
//! re-reads the configuration, applies its run-time keys under those set
//! with `config set`, and reports what it applied and what it could not.

#![allow(clippy::unwrap_used)] // a test may unwrap
#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::{BIN, Client};

/// What the watchdog asks for: a ping at least every 200 ms (p2pd pings
/// every 100 ms).
const WATCHDOG_USEC: &str = "200000";
/// How long a message may take to come, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// p2pd started under a fake service manager; killed when dropped.
struct Managed {
    child: Child,
    notify: UnixDatagram,
}

impl Drop for Managed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Managed {
    fn start(dir: &Path, extra: &[&str]) -> Managed {
        let path = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&path).unwrap();
        let child = Command::new(BIN)
            .arg("--home")
            .arg(dir.join("home"))
            .args(["--listen-port", "0", "--tracker", ""])
            .args(extra)
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", WATCHDOG_USEC)
            .env("P2PD_TEST_HOOKS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Managed { child, notify }
    }

    /// The next datagram, within [`PATIENCE`].
    fn next(&self) -> String {
        self.notify.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut buf = [0u8; 4096];
        let n = self
            .notify
            .recv(&mut buf)
            .expect("p2pd sent nothing to the notify socket");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Skips watchdog pings up to the next other message.
    fn next_not_ping(&self) -> String {
        loop {
            let m = self.next();
            if m != "WATCHDOG=1\n" {
                return m;
            }
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

#[test]
fn p2pd_says_ready_with_a_status_line_then_pings_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let d = Managed::start(dir.path(), &[]);
    let ready = d.next();
    let socket = dir.path().join("home/p2pd.sock");
    assert!(
        ready.starts_with("READY=1\nSTATUS=peers on port "),
        "{ready}"
    );
    assert!(
        ready.ends_with(&format!(", control socket {}\n", socket.display())),
        "{ready}"
    );
    for _ in 0..3 {
        assert_eq!(d.next(), "WATCHDOG=1\n");
    }
}

#[test]
fn a_stalled_main_loop_sends_no_more_watchdog_pings() {
    let dir = tempfile::tempdir().unwrap();
    let d = Managed::start(dir.path(), &[]);
    assert!(d.next().starts_with("READY=1\n"));
    assert_eq!(d.next(), "WATCHDOG=1\n");
    d.signal("USR2");
    assert_eq!(d.next_not_ping(), "STATUS=main loop stalled (test hook)\n");
    // The loop sent that status and then hung: nothing may follow it. Ten
    // watchdog periods of silence (2 s) is what systemd would see as a
    // hang five times over.
    d.notify
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    match d.notify.recv(&mut buf) {
        Ok(n) => panic!(
            "p2pd sent {:?} {:?} after its main loop stalled",
            String::from_utf8_lossy(&buf[..n]),
            started.elapsed()
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
}

/// The run-time settings p2pd has in effect, read over its control socket.
fn settings_in_effect(dir: &Path) -> serde_json::Value {
    let mut c = Client::connect(&dir.join("home/p2pd.sock"));
    let reply = c.call("config_get", serde_json::Value::Null);
    reply["ok"].clone()
}

#[test]
fn sighup_applies_the_run_time_keys_and_names_the_keys_that_wait_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("p2pd.toml");
    // listen_port is also a flag here: the flag still wins after a reload.
    std::fs::write(&config, "upload_rate_limit = 1000\nlisten_port = 7000\n").unwrap();
    let d = Managed::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert!(d.next_not_ping().starts_with("READY=1\n"));

    std::fs::write(
        &config,
        "upload_rate_limit = 2000\ndownload_rate_limit = 3000\nlisten_port = 7001\n\
         max_peers_total = 7\nmax_open_files = 77\n",
    )
    .unwrap();
    d.signal("HUP");
    let reloading = d.next_not_ping();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(
        d.next_not_ping(),
        "READY=1\nSTATUS=reloaded: applied max_peers_total, download_rate_limit, \
         upload_rate_limit; waiting for a restart: max_open_files\n"
    );
    let now = settings_in_effect(dir.path());
    assert_eq!(now["upload_rate_limit"], 2000, "{now}");
    assert_eq!(now["download_rate_limit"], 3000, "{now}");
    assert_eq!(now["max_peers_total"], 7, "{now}");

    // A file that no longer parses changes nothing, and the daemon runs on.
    std::fs::write(&config, "upload_rate_limit = \"fast\"\n").unwrap();
    d.signal("HUP");
    assert!(d.next_not_ping().starts_with("RELOADING=1\n"));
    let failed = d.next_not_ping();
    assert!(
        failed.starts_with("READY=1\nSTATUS=reload failed, nothing changed: ")
            && failed.contains("p2pd.toml")
            && failed.contains("upload_rate_limit"),
        "{failed}"
    );
    assert_eq!(d.next(), "WATCHDOG=1\n");
    assert_eq!(settings_in_effect(dir.path())["upload_rate_limit"], 2000);
    // The same file again: the run-time keys are already applied, the
    // waiting key still waits.
    std::fs::write(
        &config,
        "upload_rate_limit = 2000\ndownload_rate_limit = 3000\nmax_peers_total = 7\n\
         max_open_files = 77\n",
    )
    .unwrap();
    d.signal("HUP");
    assert!(d.next_not_ping().starts_with("RELOADING=1\n"));
    assert_eq!(
        d.next_not_ping(),
        "READY=1\nSTATUS=reloaded: nothing to apply; waiting for a restart: max_open_files\n"
    );
}

#[test]
fn a_key_changed_with_config_set_keeps_its_value_over_a_reloaded_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("p2pd.toml");
    std::fs::write(
        &config,
        "upload_rate_limit = 1000\ndownload_rate_limit = 1000\n",
    )
    .unwrap();
    let d = Managed::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert!(d.next_not_ping().starts_with("READY=1\n"));
    let mut c = Client::connect(&dir.path().join("home/p2pd.sock"));
    let set = c.call(
        "config_set",
        serde_json::json!({"key": "upload_rate_limit", "value": "5000"}),
    );
    assert_eq!(set["ok"]["upload_rate_limit"], 5000, "{set}");

    std::fs::write(
        &config,
        "upload_rate_limit = 2000\ndownload_rate_limit = 3000\n",
    )
    .unwrap();
    d.signal("HUP");
    assert!(d.next_not_ping().starts_with("RELOADING=1\n"));
    assert_eq!(
        d.next_not_ping(),
        "READY=1\nSTATUS=reloaded: applied download_rate_limit; \
         kept as set by p2pctl config set: upload_rate_limit\n"
    );
    let now = settings_in_effect(dir.path());
    assert_eq!(now["upload_rate_limit"], 5000, "{now}");
    assert_eq!(now["download_rate_limit"], 3000, "{now}");

    // Every reload names the held key while the file says otherwise; once
    // the file agrees with it, nothing is held against the file.
    d.signal("HUP");
    assert!(d.next_not_ping().starts_with("RELOADING=1\n"));
    assert_eq!(
        d.next_not_ping(),
        "READY=1\nSTATUS=reloaded: nothing to apply; \
         kept as set by p2pctl config set: upload_rate_limit\n"
    );
    std::fs::write(
        &config,
        "upload_rate_limit = 5000\ndownload_rate_limit = 3000\n",
    )
    .unwrap();
    d.signal("HUP");
    assert!(d.next_not_ping().starts_with("RELOADING=1\n"));
    assert_eq!(
        d.next_not_ping(),
        "READY=1\nSTATUS=reloaded: applied upload_rate_limit\n"
    );
    assert_eq!(settings_in_effect(dir.path())["upload_rate_limit"], 5000);
}
