//! Standard BitTorrent clients (aria2c, python3-libtorrent, Transmission)
//! as child processes of the interop tests: a guard that kills them and
//! shows their output when a test fails, and checks that they are installed.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's python3-libtorrent is importable only from this interpreter.
pub const PYTHON: &str = "/usr/bin/python3";

/// A client process we started; killed and reaped on drop.
/// Its output goes to a log file, printed if the test fails.
pub struct Proc {
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("---- {} output ----\n{log}", self.name);
        }
    }
}

impl Proc {
    pub fn start(name: &'static str, log: PathBuf, cmd: &mut Command) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {name} ({e}): run scripts/test, which installs it")
            });
        Proc { name, child, log }
    }

    /// Waits for a clean exit, bounded.
    pub fn wait_success(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "{} exited with {st}", self.name);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish within {within:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn require_tool(program: &str, probe: &[&str], package: &str) {
    let ok = Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{program} is missing or broken: run scripts/test, which installs the Debian package {package}"
    );
}

pub fn require_aria2() {
    require_tool("aria2c", &["--version"], "aria2");
}

pub fn require_libtorrent() {
    require_tool(PYTHON, &["-c", "import libtorrent"], "python3-libtorrent");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
