//! Running the real trackerd binary: spawn, wait for its listening line,
//! kill on drop (only the process we started, by its handle).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Request;

/// A trackerd process; killed (SIGKILL) and reaped on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn trackerd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trackerd"));
    c.env_remove("RUST_LOG");
    for k in [
        "TRACKERD_CONFIG",
        "TRACKERD_LISTEN",
        "TRACKERD_DATABASE",
        "TRACKERD_DATA_DIR",
        "TRACKERD_MODE",
    ] {
        c.env_remove(k);
    }
    c
}

/// Spawns trackerd with `args` and waits (at most 30 s) for `listening on http://ADDR`.
pub fn spawn(args: &[&str]) -> Daemon {
    spawn_with_env(&[], args)
}

/// [`spawn`] with environment variables set.
/// On PostgreSQL ([`super::store`]), trackerd gets the database of its
/// data folder (`--data-dir` or `TRACKERD_DATA_DIR`) unless the test names
/// a database itself.
pub fn spawn_with_env(env: &[(&str, &str)], args: &[&str]) -> Daemon {
    let mut cmd = trackerd();
    let names_database =
        args.contains(&"--database") || env.iter().any(|(k, _)| *k == "TRACKERD_DATABASE");
    if !names_database {
        let data_dir = args
            .iter()
            .position(|a| *a == "--data-dir")
            .and_then(|i| args.get(i + 1).copied())
            .or_else(|| {
                env.iter()
                    .find(|(k, _)| *k == "TRACKERD_DATA_DIR")
                    .map(|(_, v)| *v)
            });
        let key = data_dir.map_or_else(
            // No folder named (a config file names it): a database of its own.
            || tempfile::tempdir().unwrap().path().to_owned(),
            std::path::PathBuf::from,
        );
        if let Some(url) = super::store::database_url(&key) {
            cmd.env("TRACKERD_DATABASE", url);
        }
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trackerd starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // The guard owns the child from here on: a failed wait below kills it.
    let mut daemon = Daemon {
        child,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        stderr: rx,
    };
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[trackerd] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = daemon
            .stderr
            .recv_timeout(left)
            .expect("trackerd printed its listening line in time");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            daemon.addr = rest.split_whitespace().next().unwrap().parse().unwrap();
            return daemon;
        }
    }
}

impl Daemon {
    /// Sends a signal by PID with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "trackerd did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A blocking request with `Connection: close`; returns (status, body).
pub fn http(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let r = Request::new(method, target)
        .body(body)
        .send_blocking(addr)
        .unwrap();
    (r.status, r.body)
}

/// Polls `check` every 50 ms until it is true or `within` passes.
pub fn wait_until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
