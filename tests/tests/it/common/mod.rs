//! Helpers for the tests that start real processes: the engine harness,
//! aria2c, Transmission, python3-libtorrent and opentracker.
//!
//! Every process is wrapped in a guard that kills it by PID when dropped,
//! so a failing test leaves nothing behind; when the test is panicking the
//! guard prints the tail of the process's log. A missing tool fails the
//! test (it never skips). Waits are bounded deadline loops, never sleeps
//! that "let things settle".

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod transmission;
pub use transmission::Transmission;

use p2p_proto::metainfo::Metainfo;
use serde_json::Value;
use sha1::{Digest, Sha1};

/// Debian's python3-libtorrent is importable only from this interpreter.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";
/// An announce URL nothing listens on: refused at once.
pub const NO_TRACKER: &str = "http://127.0.0.1:1/announce";
/// How often the deadline loops look again.
const POLL: Duration = Duration::from_millis(50);
/// Lines of a process's log printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

// ---------- tools ----------

/// The tool's path on PATH; fails the test when it is missing.
pub fn require_tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: run scripts/test, which installs it"))
}

/// Fails the test when python3-libtorrent cannot be imported.
pub fn require_libtorrent() {
    let ok = Command::new(SYSTEM_PYTHON)
        .args(["-c", "import libtorrent"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3-libtorrent not found (not importable from {SYSTEM_PYTHON}): \
         run scripts/test, which installs it"
    );
}

// ---------- files ----------

/// Writes `len` deterministic pseudo-random bytes (xorshift64) to `path`.
pub fn write_random_file(path: &Path, len: u64, seed: u64) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut left = len;
    let mut chunk = vec![0u8; 1 << 20];
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
}

/// SHA-1 of a whole file, in hex.
pub fn sha1_file(path: &Path) -> String {
    let mut f = fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {path:?}: {e}"));
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Asserts that `got` has the same SHA-1 as `want`.
pub fn assert_same_file(want: &Path, got: &Path) {
    assert!(got.is_file(), "{got:?} was not downloaded");
    assert_eq!(
        sha1_file(got),
        sha1_file(want),
        "SHA-1 of the downloaded {got:?} differs from the original {want:?}"
    );
}

/// `mktorrent -l LOG2 -a ANNOUNCE -o OUT SRC`; returns the parsed torrent.
pub fn mktorrent(src: &Path, out: &Path, piece_log2: u32, announce: &str) -> Metainfo {
    let _ = fs::remove_file(out);
    let o = Command::new(require_tool("mktorrent"))
        .args(["-l", &piece_log2.to_string(), "-a", announce, "-o"])
        .arg(out)
        .arg(src)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mktorrent failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Metainfo::from_bytes(&fs::read(out).unwrap()).unwrap()
}

// ---------- ports and waiting ----------

/// A TCP port that was free a moment ago (bind port 0, close).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port free for both TCP and UDP (opentracker binds both).
pub fn free_tcp_udp_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` until it gives a value; fails the test after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(what: &str, port: u16, timeout: Duration, proc: &mut Proc) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for(what, timeout, || {
        proc.assert_running();
        TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            .ok()
            .map(|_| ())
    });
}

// ---------- processes ----------

/// A child process killed (SIGKILL, by its PID) when dropped. Its stdout
/// and stderr go to `log` unless the caller takes stdout.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stderr (and stdout unless `pipe_stdout`) in `log_dir/NAME.log`.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path, pipe_stdout: bool) -> Proc {
        let log = log_dir.join(format!("{name}.log"));
        let file = fs::File::create(&log).unwrap();
        cmd.stdin(Stdio::null())
            .stderr(file.try_clone().unwrap())
            .stdout(if pipe_stdout {
                Stdio::piped()
            } else {
                Stdio::from(file)
            });
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails the test if the process already ended.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "{} exited early with {status}; log:\n{}",
                self.name,
                log_tail(&self.log)
            );
        }
    }

    /// The exit status if it ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// SIGKILL by PID, then reap.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Sends SIGINT (graceful stop) by PID.
    pub fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- last lines of {} ({}) ----\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log)
            );
        }
    }
}

/// The last lines of a log file.
pub fn log_tail(path: &Path) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

// ---------- the engine harness ----------

/// One `engine-harness` process and the JSON status lines it printed.
#[derive(Debug)]
pub struct Harness {
    pub proc: Proc,
    pub port: u16,
    lines: Arc<Mutex<Vec<Value>>>,
    reader: Option<JoinHandle<()>>,
}

impl Harness {
    /// Starts `engine-harness TORRENT DIR ARGS...` and waits for its port.
    /// Logs go to `log_dir/NAME.log` (`RUST_LOG` from the environment, else
    /// `p2pd=debug`: one line per connection, with why each peer ended).
    pub fn start(name: &str, torrent: &Path, dir: &Path, args: &[String], log_dir: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
        cmd.arg(torrent).arg(dir).args(args);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "p2pd=debug");
        }
        if std::env::var_os("NO_COLOR").is_none() {
            cmd.env("NO_COLOR", "1");
        }
        let mut proc = Proc::spawn(name, cmd, log_dir, true);
        let stdout = proc.child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("listening on ") {
                    let _ = port_tx.send(port.trim().parse::<u16>().ok());
                } else if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(p)) => p,
            _ => {
                proc.kill();
                panic!(
                    "{name} printed no `listening on PORT`; log:\n{}",
                    log_tail(&proc.log)
                );
            }
        };
        Harness {
            proc,
            port,
            lines,
            reader: Some(reader),
        }
    }

    /// `127.0.0.1:PORT`, the address other peers dial.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The last status line, if any.
    pub fn latest(&self) -> Option<Value> {
        self.lines.lock().unwrap().last().cloned()
    }

    /// Every status line so far.
    pub fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits for a status line satisfying `pred`; fails if the process ends.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let name = self.proc.name.clone();
        let lines = self.lines.clone();
        let proc = &mut self.proc;
        wait_for(&format!("{name}: {what}"), timeout, || {
            proc.assert_running();
            lines.lock().unwrap().last().filter(|v| pred(v)).cloned()
        })
    }

    /// Waits until every piece is verified.
    pub fn wait_seeding(&mut self, timeout: Duration) -> Value {
        self.wait_until("state Seeding", timeout, |v| v["state"] == "Seeding")
    }

    /// Kills the process (SIGKILL) and returns every line it printed.
    pub fn kill(mut self) -> Vec<Value> {
        self.proc.kill();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.lines()
    }

    /// Stops the process with SIGINT (a clean stop: last resume record
    /// written), waits for it to exit successfully, returns every line.
    pub fn stop(mut self) -> Vec<Value> {
        self.proc.interrupt();
        let name = self.proc.name.clone();
        let status = wait_for(
            &format!("{name} to exit after SIGINT"),
            Duration::from_secs(30),
            || self.proc.try_wait(),
        );
        assert!(
            status.success(),
            "{name} exited with {status}; log:\n{}",
            log_tail(&self.proc.log)
        );
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.lines()
    }

    /// The largest `downloaded` each peer address showed in any line: the
    /// bytes we got from it (a peer leaves the list when it disconnects).
    pub fn downloaded_by_peer(&self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        for line in self.lines.lock().unwrap().iter() {
            for p in line["peers"].as_array().into_iter().flatten() {
                let addr = p["addr"].as_str().unwrap_or_default().to_owned();
                let d = p["downloaded"].as_u64().unwrap_or(0);
                let e = out.entry(addr).or_insert(0);
                *e = d.max(*e);
            }
        }
        out
    }
}

/// `pieces_have` of a status line.
pub fn pieces_have(v: &Value) -> u64 {
    v["pieces_have"].as_u64().unwrap_or(0)
}

// ---------- other clients ----------

/// aria2c seeding `torrent` from `dir` on `port`, checking the data first.
/// `extra` adds flags (e.g. `--max-upload-limit=1M`).
pub fn aria2_seeder(torrent: &Path, dir: &Path, extra: &[&str], log_dir: &Path) -> (Proc, u16) {
    let port = free_port();
    let mut cmd = Command::new(require_tool("aria2c"));
    cmd.args(aria2_common_flags(port))
        .args(["-V", "--seed-ratio=0"])
        .args(extra)
        .arg(format!("--dir={}", dir.display()))
        .arg(torrent);
    let mut proc = Proc::spawn("aria2c-seeder", cmd, log_dir, false);
    wait_for_port("aria2c to listen", port, Duration::from_secs(30), &mut proc);
    (proc, port)
}

/// Flags that keep aria2c on loopback and away from DHT, LSD and PEX.
pub fn aria2_common_flags(port: u16) -> Vec<String> {
    [
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--interface=127.0.0.1",
        "--disable-ipv6=true",
        "--summary-interval=0",
        "--console-log-level=notice",
        "--file-allocation=none",
        "--auto-save-interval=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--listen-port={port}")])
    .collect()
}

/// opentracker on a free port with `info_hashes` whitelisted; returns the
/// guard and the announce URL.
pub fn opentracker(info_hashes: &[String], dir: &Path, log_dir: &Path) -> (Proc, String) {
    let bin = require_tool("opentracker");
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("whitelist"), info_hashes.join("\n") + "\n").unwrap();
    let port = free_tcp_udp_port();
    let mut cmd = Command::new(bin);
    cmd.args([
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-P",
        &port.to_string(),
    ])
    .arg("-d")
    .arg(dir)
    .args(["-w", "whitelist"]);
    let mut proc = Proc::spawn("opentracker", cmd, log_dir, false);
    wait_for_port(
        "opentracker to listen",
        port,
        Duration::from_secs(10),
        &mut proc,
    );
    (proc, format!("http://127.0.0.1:{port}/announce"))
}

/// python3-libtorrent running `script` with `args`; stdout is piped and
/// read line by line by [`LineReader`].
pub fn libtorrent(name: &str, script: &str, args: &[String], log_dir: &Path) -> (Proc, LineReader) {
    require_libtorrent();
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.args(["-u", "-c", script]).args(args);
    let mut proc = Proc::spawn(name, cmd, log_dir, true);
    let reader = LineReader::new(proc.child.stdout.take().unwrap());
    (proc, reader)
}

/// Lines from a child's stdout, gathered by a thread.
#[derive(Debug)]
pub struct LineReader {
    rx: mpsc::Receiver<String>,
}

impl LineReader {
    pub fn new(out: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LineReader { rx }
    }

    /// Waits for a line starting with `prefix`; returns the rest of it.
    pub fn wait_line(&self, prefix: &str, timeout: Duration, proc: &mut Proc) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    proc.assert_running();
                    assert!(
                        Instant::now() < deadline,
                        "timed out after {timeout:?} waiting for {} to print {prefix:?}",
                        proc.name
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = proc.child.wait();
                    panic!(
                        "{} ended without printing {prefix:?}; log:\n{}",
                        proc.name,
                        log_tail(&proc.log)
                    );
                }
            }
        }
    }
}

/// Python: seed a torrent with libtorrent on 127.0.0.1 (any port); prints
/// `ready PORT` once seeding. argv: TORRENT SAVE_DIR [UPLOAD_LIMIT].
pub const LIBTORRENT_SEEDER: &str = r#"
import sys, time
import libtorrent as lt
torrent, save = sys.argv[1], sys.argv[2]
s = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
    "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    # TCP: interop_utp.rs turns these round for uTP.
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "alert_mask": lt.alert_category.error | lt.alert_category.status,
})
h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
ready = False
while True:
    st = h.status()
    if not ready and st.is_seeding:
        print("ready", s.listen_port(), flush=True)
        ready = True
    for a in s.pop_alerts():
        print("alert:", a.message(), file=sys.stderr, flush=True)
    time.sleep(0.1)
"#;

/// Python: download a torrent with libtorrent from one peer it dials;
/// prints progress, then `done` when every piece is verified.
/// argv: TORRENT SAVE_DIR PEER_PORT.
pub const LIBTORRENT_LEECHER: &str = r#"
import sys, time
import libtorrent as lt
torrent, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
    "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    # TCP: interop_utp.rs turns these round for uTP.
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "alert_mask": lt.alert_category.error | lt.alert_category.status
        | lt.alert_category.peer | lt.alert_category.connect,
})
h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
last = 0
last_print = 0
while True:
    st = h.status()
    if st.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data) \
            and time.time() - last > 2 and not st.is_seeding:
        h.connect_peer(("127.0.0.1", port))
        last = time.time()
    if time.time() - last_print > 1:
        print("progress", st.num_pieces, st.num_peers, st.state, file=sys.stderr, flush=True)
        last_print = time.time()
    for a in s.pop_alerts():
        print("alert:", a.message(), file=sys.stderr, flush=True)
    if st.is_seeding:
        print("done", flush=True)
        break
    time.sleep(0.1)
"#;

/// The state of torrent `hex` in `p2pctl list --json` ("" when unlisted).
pub fn state(socket: &Path, hex: &str) -> String {
    p2p_tests::e2e::ok_json(socket, &["list"])
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["info_hash"] == hex)
        .map(|t| t["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Waits for a connected peer of torrent `hex` in `p2pctl peers --json`;
/// returns it.
pub fn first_peer(socket: &Path, hex: &str) -> Value {
    let mut found = Value::Null;
    p2p_tests::e2e::wait_until("a peer in p2pctl peers", 60, || {
        let peers = p2p_tests::e2e::ok_json(socket, &["peers", hex]);
        match peers.as_array().and_then(|ps| ps.first()) {
            Some(p) => {
                found = p.clone();
                true
            }
            None => false,
        }
    });
    found
}
