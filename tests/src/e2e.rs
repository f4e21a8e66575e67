//! Helpers for end-to-end tests that drive the real binaries (trackerd,
//! p2pd, p2pctl) as separate processes over loopback. Test support code:
//! it panics with a clear message instead of returning errors.

#![allow(clippy::unwrap_used)] // test support, like tests, may unwrap

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A workspace binary, built once per test process. `scripts/test` sets
/// `P2P_TESTS_PREBUILT` after `cargo test --workspace --no-run` has built
/// them: a `cargo build` of three packages resolves features apart from the
/// whole workspace's test build and would compile them again.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        if std::env::var_os("P2P_TESTS_PREBUILT").is_some() {
            return;
        }
        let status = Command::new(env!("CARGO"))
            .args([
                "build", "--quiet", "-p", "p2pd", "-p", "p2pctl", "-p", "trackerd",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .unwrap();
        assert!(status.success(), "building the binaries failed");
    });
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

/// A child process, killed by PID when dropped (also when a test fails).
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a program; returns it and the rest of its first stderr line holding `marker`.
/// With `P2P_TEST_LOGS` set, every line it logs is echoed to the test's
/// stderr, at that level when it names one (e.g. `P2P_TEST_LOGS=debug`).
pub fn start(cmd: &mut Command, marker: &str) -> (Proc, String) {
    let logs = std::env::var("P2P_TEST_LOGS").ok();
    let echo = logs.is_some();
    let level = logs.filter(|l| !l.is_empty() && l != "1");
    let mut child = cmd
        .env("RUST_LOG", level.as_deref().unwrap_or("info"))
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if echo {
                eprintln!("{line}");
            }
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {marker:?} line"));
        if let Some(i) = line.find(marker) {
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return (proc, line[i + marker.len()..].trim().to_owned());
        }
    }
}

/// Starts trackerd on a free loopback port with its data under `data_dir`;
/// returns the process and its base URL.
pub fn trackerd(data_dir: &Path) -> (Proc, String) {
    start(
        Command::new(bin("trackerd")).args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ]),
        "listening on ",
    )
}

pub fn p2pctl(socket: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub fn ok_json(socket: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = p2pctl(socket, &all, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn daemon(home: &Path, announce: &str) -> (Proc, PathBuf) {
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            announce,
        ]),
        "control socket at ",
    );
    (p, PathBuf::from(socket))
}

/// Runs p2pctl, killing it if it has not finished within `secs`.
pub fn p2pctl_within(socket: &Path, args: &[&str], secs: u64) -> Output {
    let child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("p2pctl {args:?} did not finish within {secs} s");
        }
    }
}

pub fn succeed(socket: &Path, args: &[&str]) -> String {
    let out = p2pctl(socket, args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fail(socket: &Path, args: &[&str]) -> String {
    let out = p2pctl(socket, args, None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn sign_up(socket: &Path, user: &str) {
    for cmd in ["register", "login"] {
        let out = p2pctl(
            socket,
            &[cmd, user, "--password-stdin"],
            Some("correct horse\n"),
        );
        assert!(
            out.status.success(),
            "{cmd} {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Starts p2pctl and returns it with its first stdout line holding `marker`.
pub fn start_stdout(socket: &Path, args: &[&str], marker: &str) -> (Proc, String) {
    let mut child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {marker:?} line from p2pctl {args:?}"));
        if line.contains(marker) {
            return (proc, line);
        }
    }
}

/// One HTTP request to the tracker, raw over a socket (the one raw HTTP
/// client of these tests); (status, body), a chunked body joined.
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut payload = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..end]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + n]);
        b = &b[end + 4 + n..];
    }
}

/// GET on the tracker's HTTP API, body as JSON (`null` when not JSON).
pub fn get_json(base: &str, path: &str) -> Value {
    let (_, body) = http(base, "GET", path, None, None);
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}
