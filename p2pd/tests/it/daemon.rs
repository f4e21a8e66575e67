//! The real p2pd binary: its control socket (permissions, one daemon per
//! socket, stale sockets, hostile clients), signals, `--print-config`, and a
//! download driven through the socket from a seeding p2pd.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_p2pd");

/// A running p2pd, killed (by PID) when dropped.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) home: PathBuf,
    pub(crate) socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(home: &Path, extra: &[&str]) -> Daemon {
    let mut child = Command::new(BIN)
        .args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            "",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut socket = None;
    while socket.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("p2pd did not report its control socket");
        if let Some(i) = line.find("control socket at ") {
            socket = Some(PathBuf::from(strip_ansi(&line[i + 18..]).trim()));
        }
    }
    // Keep draining stderr so the daemon never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Daemon {
        child,
        home: home.to_path_buf(),
        socket: socket.unwrap(),
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A control connection that has said hello.
pub(crate) struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl Client {
    pub(crate) fn connect(socket: &Path) -> Client {
        let stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut c = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            next_id: 1,
        };
        let version = p2p_proto::ipc::PROTOCOL_VERSION;
        c.send_line(&json!({"hello": {"version": version, "client": "test"}}).to_string());
        assert_eq!(c.read_json()["hello"]["version"], version);
        c
    }

    fn send_line(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    fn read_json(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad reply {line:?}: {e}"))
    }

    pub(crate) fn call(&mut self, cmd: &str, args: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_line(&json!({"id": id, "cmd": cmd, "args": args}).to_string());
        let reply = self.read_json();
        assert_eq!(reply["id"], id);
        reply
    }
}

#[test]
fn the_control_socket_is_owner_only_and_a_second_daemon_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let d = start(home.path(), &[]);
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode {mode:o}");
    let second = Command::new(BIN)
        .args([
            "--home",
            home.path().to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            "",
        ])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another p2pd is already running"), "{err}");
    // The first one still answers.
    let mut c = Client::connect(&d.socket);
    assert!(c.call("status", json!(null))["ok"]["version"].is_string());
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("p2pd.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "the dead listener leaves its file behind");
    let d = start(home.path(), &[]);
    let mut c = Client::connect(&d.socket);
    assert_eq!(c.call("list", json!(null))["ok"], json!([]));
}

#[test]
fn hostile_clients_get_errors_and_others_are_still_served() {
    let home = tempfile::tempdir().unwrap();
    let d = start(home.path(), &[]);

    // A client that connects and never speaks.
    let _silent = UnixStream::connect(&d.socket).unwrap();
    // A client that sends half a frame and leaves.
    {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.write_all(b"{\"hello\":{\"vers").unwrap();
    }
    // Garbage instead of a hello.
    {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.write_all(b"\x00\xffnot json\n").unwrap();
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply).unwrap();
        assert!(reply.contains("\"error\""), "{reply}");
    }
    // Another protocol version.
    {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        s.write_all(b"{\"hello\":{\"version\":99}}\n").unwrap();
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply).unwrap();
        assert!(reply.contains("version_mismatch"), "{reply}");
    }
    // An oversized frame: an error reply, then the connection is closed.
    {
        let mut c = Client::connect(&d.socket);
        let big = vec![b'x'; (1 << 20) + 10];
        let _ = c.writer.write_all(&big);
        let reply = c.read_json();
        assert_eq!(reply["error"]["code"], "frame_too_long");
        let mut rest = Vec::new();
        let _ = c.reader.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }
    // Unknown commands and bad arguments get specific errors on a live connection.
    let mut c = Client::connect(&d.socket);
    assert_eq!(
        c.call("explode", json!(null))["error"]["code"],
        "unknown_command"
    );
    assert_eq!(
        c.call("pause", json!({"id": "ffff"}))["error"]["code"],
        "not_found"
    );
    assert_eq!(
        c.call("add", json!({"source": "relative.torrent"}))["error"]["code"],
        "not_supported"
    );
    c.send_line("{\"id\":77,\"cmd\":");
    let r = c.read_json();
    assert_eq!(r["error"]["code"], "bad_request");
    // And a well-behaved client is served all along.
    assert!(c.call("status", json!(null))["ok"]["uptime_secs"].is_u64());
}

#[test]
fn sigterm_stops_the_daemon_cleanly_and_removes_its_socket() {
    let home = tempfile::tempdir().unwrap();
    let mut d = start(home.path(), &[]);
    let pid = d.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = d.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "p2pd did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(!d.socket.exists());
}

#[test]
fn print_config_prints_a_file_that_loads_back() {
    let out = Command::new(BIN).arg("--print-config").output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p2pd.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let cfg = p2pd::config::Config::from_file(&file).unwrap();
    assert_eq!(cfg.listen_port, Some(6881));
    std::fs::write(&file, "listen_prot = 1\n").unwrap();
    let bad = Command::new(BIN)
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("listen_prot"));
}

#[test]
fn a_download_added_through_the_socket_completes_from_a_seeding_daemon() {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    let seed_home = tempfile::tempdir().unwrap();
    let leech_home = tempfile::tempdir().unwrap();
    let seed = start(seed_home.path(), &[]);
    let leech = start(leech_home.path(), &[]);

    // The seeder gets its data in downloads/ and the torrent added by path.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let dl = seed.home.join("downloads");
    std::fs::write(dl.join("film.bin"), &data).unwrap();
    let created = create_torrent(
        &dl.join("film.bin"),
        &CreateOptions::default(),
        &Control::default(),
    )
    .unwrap();
    let torrent = seed.home.join("film.torrent");
    std::fs::write(&torrent, &created.bytes).unwrap();
    let mut sc = Client::connect(&seed.socket);
    let added = sc.call("add", json!({"source": torrent}));
    assert!(added["ok"].is_object(), "{added}");
    wait_for(&mut sc, "seeding");

    // The leecher has no tracker: it learns the seeder through a magnet's x.pe.
    let port = sc.call("status", json!(null))["ok"]["listen_port"]
        .as_u64()
        .unwrap();
    let mut magnet = created.metainfo.magnet();
    magnet
        .peers
        .push(format!("127.0.0.1:{port}").parse().unwrap());
    let mut lc = Client::connect(&leech.socket);
    let added = lc.call("add", json!({"source": magnet.to_string()}));
    assert!(added["ok"].is_object(), "{added}");
    wait_for(&mut lc, "seeding");
    let got = std::fs::read(leech.home.join("downloads/film.bin")).unwrap();
    assert!(got == data, "downloaded bytes differ");
    let progress = lc.call(
        "progress",
        json!({"id": &created.metainfo.info_hash.to_hex()[..8]}),
    );
    assert_eq!(
        progress["ok"]["pieces_have"],
        progress["ok"]["pieces_total"]
    );
    assert_eq!(progress["ok"]["files"][0]["complete"], true);
}

pub(crate) fn wait_for(c: &mut Client, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = c.call("list", json!(null));
        if list["ok"]
            .as_array()
            .is_some_and(|l| !l.is_empty() && l.iter().all(|t| t["state"] == state))
        {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {state}: {list}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_file_dropped_into_the_watched_folder_is_seeded_and_stops_when_deleted() {
    let home = tempfile::tempdir().unwrap();
    let d = start(home.path(), &[]);
    let mut c = Client::connect(&d.socket);
    std::fs::write(
        home.path().join("shared/notes.txt"),
        b"shared by dropping it here",
    )
    .unwrap();
    wait_for(&mut c, "seeding");
    let list = c.call("list", json!(null));
    assert_eq!(list["ok"][0]["name"], "notes.txt");
    assert!(home.path().join("torrents/notes.txt.torrent").exists());
    // The watcher hashed it; the engine does not hash it again.
    let id = list["ok"][0]["short_id"].as_str().unwrap().to_owned();
    let progress = c.call("progress", json!({ "id": id }));
    assert_eq!(progress["ok"]["pieces_rechecked"], 0, "{progress}");
    std::fs::remove_file(home.path().join("shared/notes.txt")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.call("list", json!(null))["ok"] != json!([]) {
        assert!(Instant::now() < deadline, "still listed after deletion");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of a daemon's stderr collected by [`start_logged`].
fn start_logged(home: &Path) -> (Daemon, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            "",
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(strip_ansi(&line));
        }
    });
    let socket = home.join("p2pd.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "p2pd did not open its socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let d = Daemon {
        child,
        home: home.to_path_buf(),
        socket,
    };
    (d, rx)
}

pub(crate) fn stop(mut d: Daemon) {
    let pid = d.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(d.child.wait().unwrap().success());
}

fn wait_seeding(c: &mut Client, n: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list = c.call("list", json!(null));
        let seeding = list["ok"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|t| t["state"] == "seeding").count());
        if seeding == n {
            return list;
        }
        assert!(Instant::now() < deadline, "{seeding} of {n} seeding");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_file_written_slowly_is_shared_once_complete_with_the_hash_of_its_final_content() {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    let home = tempfile::tempdir().unwrap();
    let (d, _log) = start_logged(home.path());
    let mut c = Client::connect(&d.socket);
    let path = home.path().join("shared/slow.bin");
    let chunk: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    {
        let mut f = std::fs::File::create(&path).unwrap();
        for _ in 0..15 {
            f.write_all(&chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            // While it is being written nothing is shared.
            assert_eq!(c.call("list", json!(null))["ok"], json!([]));
        }
    }
    let list = wait_seeding(&mut c, 1);
    let scratch = tempfile::tempdir().unwrap();
    std::fs::copy(&path, scratch.path().join("slow.bin")).unwrap();
    let opts = CreateOptions::default();
    let expected =
        create_torrent(&scratch.path().join("slow.bin"), &opts, &Control::default()).unwrap();
    assert_eq!(
        list["ok"][0]["info_hash"],
        expected.metainfo.info_hash.to_hex()
    );
    assert_eq!(list["ok"][0]["size"], 15 * 200_000);

    // Modified: the old info-hash goes, the new one comes.
    std::fs::write(&path, b"new content").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = c.call("list", json!(null));
        if list["ok"]
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["size"] == 11 && l[0]["state"] == "seeding")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "modified file not re-shared: {list}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Renamed: shared under its new name.
    std::fs::rename(&path, home.path().join("shared/renamed.bin")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = c.call("list", json!(null));
        if list["ok"]
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["name"] == "renamed.bin")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "renamed file not re-shared: {list}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_restart_with_a_thousand_shared_files_rehashes_none_of_them() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("shared")).unwrap();
    for i in 0..1000 {
        std::fs::write(
            home.path().join(format!("shared/f{i:04}.txt")),
            format!("file number {i}"),
        )
        .unwrap();
    }
    let (d, log) = start_logged(home.path());
    let mut c = Client::connect(&d.socket);
    let before = wait_seeding(&mut c, 1000);
    drop(c);
    stop(d);
    let first: Vec<String> = log.try_iter().collect();
    let hashed = first
        .iter()
        .filter(|l| l.contains("sharing") && l.contains("rehashed=true"))
        .count();
    assert_eq!(hashed, 1000);

    let (d, log) = start_logged(home.path());
    let mut c = Client::connect(&d.socket);
    let after = wait_seeding(&mut c, 1000);
    let hashes = |v: &Value| {
        let mut h: Vec<String> = v["ok"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["info_hash"].to_string())
            .collect();
        h.sort();
        h
    };
    assert_eq!(hashes(&before), hashes(&after));
    let second: Vec<String> = log.try_iter().collect();
    let shared: Vec<&String> = second.iter().filter(|l| l.contains("sharing")).collect();
    assert_eq!(shared.len(), 1000, "every file is shared again");
    assert!(
        shared.iter().all(|l| l.contains("rehashed=false")),
        "a file was hashed again"
    );
}
