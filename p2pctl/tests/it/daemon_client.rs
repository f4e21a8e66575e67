//! End-to-end tests of the `p2pctl` binary's daemon commands without p2pd:
//! no daemon at all, sockets that are stale, wrong or not ours, listeners that
//! answer garbage, hang up, speak another version or never answer, and a small
//! scripted daemon that speaks the protocol, to check requests and output.
//!
//! Each case must end in bounded time with exit 1 and one `p2pctl: ...` line
//! (or exit 2 for usage errors). The real daemon is tested elsewhere.

#![cfg(unix)]
// The fake daemons run outside `#[test]` functions; a panic there is a test failure too.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p2p_proto::ipc::MAX_REPLY_BYTES;
use serde_json::{Value, json};
use tempfile::TempDir;

const HASH: &str = "3f2a0000000000000000000000000000000000aa";

// ---------- helpers ----------

/// `p2pctl` with no socket in the environment and an empty runtime dir.
fn p2pctl(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_p2pctl"));
    cmd.env_remove("P2PD_SOCKET")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .stdin(Stdio::null());
    cmd
}

/// `p2pctl --socket SOCKET ARGS...`.
fn at(home: &Path, socket: &Path, args: &[&str]) -> Output {
    run(p2pctl(home).arg("--socket").arg(socket).args(args))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts exit 1 with exactly one `p2pctl: ...` line on stderr and nothing
/// on stdout, and returns that line.
fn one_line_failure(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("p2pctl: "), "stderr: {err:?}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    err
}

/// Like [`one_line_failure`] for `download`, whose stderr may hold progress
/// lines before the reason: the reason is the last line and the only one
/// starting with `p2pctl: `.
fn failure_after_progress(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let reasons: Vec<&str> = err.lines().filter(|l| l.starts_with("p2pctl: ")).collect();
    assert_eq!(reasons.len(), 1, "stderr: {err:?}");
    assert_eq!(err.lines().last(), Some(reasons[0]), "stderr: {err:?}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    format!("{}\n", reasons[0])
}

fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}; stderr: {}",
        out.status,
        stderr(out)
    );
    stdout(out)
}

/// Binds a socket in `dir` and runs `serve` on each connection in its own
/// thread. The threads end with the test process.
fn listener(dir: &Path, serve: impl Fn(UnixStream) + Send + Sync + 'static) -> PathBuf {
    let path = dir.join("p2pd.sock");
    let l = UnixListener::bind(&path).unwrap();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(conn) = conn else { return };
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || serve(conn));
        }
    });
    path
}

/// Reads the client's hello and answers `reply`.
fn answer_hello(conn: &UnixStream, reply: &str) -> BufReader<UnixStream> {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let hello: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        hello["hello"]["version"],
        p2p_proto::ipc::PROTOCOL_VERSION,
        "{line}"
    );
    (&*conn).write_all(reply.as_bytes()).unwrap();
    r
}

/// What the scripted daemon does after answering a request.
enum Then {
    Stay,
    HangUp,
}

type Requests = Arc<Mutex<Vec<Value>>>;

/// A daemon that speaks the protocol: hello, then for each request the lines
/// `script` returns (a reply, maybe events). Records every request.
fn scripted(dir: &Path, script: fn(&Value) -> (Vec<Value>, Then)) -> (PathBuf, Requests) {
    let seen: Requests = Arc::default();
    let log = Arc::clone(&seen);
    let path = listener(dir, move |conn| {
        let hello = format!(
            "{{\"hello\":{{\"version\":{},\"server\":\"p2pd test\"}}}}\n",
            p2p_proto::ipc::PROTOCOL_VERSION
        );
        let mut r = answer_hello(&conn, &hello);
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 0) {
            let req: Value = serde_json::from_str(&line).unwrap();
            log.lock().unwrap().push(req.clone());
            let (lines, then) = script(&req);
            for v in lines {
                let mut v = v;
                if v.get("event").is_none() {
                    v["id"] = req["id"].clone();
                }
                if (&conn).write_all(format!("{v}\n").as_bytes()).is_err() {
                    return;
                }
            }
            if let Then::HangUp = then {
                return;
            }
            line.clear();
        }
    });
    (path, seen)
}

fn summary(state: &str, progress: f64) -> Value {
    json!({
        "info_hash": HASH, "short_id": "3f2a0000", "name": "movie.mkv",
        "state": state, "error": null, "progress": progress, "size": 1048576,
        "downloaded": 0, "uploaded": 0, "download_rate": 1024, "upload_rate": 0,
        "peers": 3, "save_path": "/downloads"
    })
}

fn ok(v: Value) -> Vec<Value> {
    vec![json!({ "ok": v })]
}

fn progress_event(s: Value) -> Value {
    json!({"event": {"type": "progress", "torrents": [s]}})
}

/// Every command that needs the daemon, with the arguments it needs.
fn daemon_commands(existing: &Path) -> Vec<Vec<String>> {
    let existing = existing.to_str().unwrap();
    [
        vec!["status"],
        vec!["list"],
        vec!["download", HASH],
        vec!["download", "--detach", HASH],
        vec!["progress"],
        vec!["progress", "3f2a"],
        vec!["pause", "3f2a"],
        vec!["resume", "3f2a"],
        vec!["remove", "3f2a"],
        vec!["remove", "--delete-data", "3f2a"],
        vec!["peers", "3f2a"],
        vec!["share", existing],
        vec!["share", existing, "--group", "friends"],
        vec!["register", "alice", "--password-stdin"],
        vec!["login", "alice", "--password-stdin"],
        vec!["login", "alice", "--force", "--password-stdin"],
        vec!["logout"],
        vec!["whoami"],
        vec!["--json", "status"],
        vec!["list", "--json"],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect()
}

// ---------- no daemon ----------

#[test]
fn every_daemon_command_without_a_daemon_fails_with_one_line_naming_the_socket() {
    let tmp = TempDir::new().unwrap();
    let socket = tmp.path().join("nowhere").join("p2pd.sock");
    for args in daemon_commands(tmp.path()) {
        let out = run(p2pctl(tmp.path()).env("P2PD_SOCKET", &socket).args(&args));
        let err = one_line_failure(&out);
        let want = format!(
            "p2pctl: no p2pd daemon is running at {} (start it with `p2pd`): there is no socket there",
            socket.display()
        );
        assert_eq!(err.trim_end(), want, "{args:?}");
    }
}

#[test]
fn without_flag_or_environment_the_socket_is_under_xdg_runtime_dir() {
    let tmp = TempDir::new().unwrap();
    let err = one_line_failure(&run(p2pctl(tmp.path()).arg("status")));
    let want = tmp.path().join("p2pd").join("p2pd.sock");
    assert!(err.contains(&format!("at {} (", want.display())), "{err}");
}

#[test]
fn the_socket_flag_beats_p2pd_socket() {
    let tmp = TempDir::new().unwrap();
    let from_env = tmp.path().join("env.sock");
    let from_flag = tmp.path().join("flag.sock");
    let out = run(p2pctl(tmp.path())
        .env("P2PD_SOCKET", &from_env)
        .arg("--socket")
        .arg(&from_flag)
        .arg("status"));
    let err = one_line_failure(&out);
    assert!(err.contains(&from_flag.display().to_string()), "{err}");
    assert!(!err.contains("env.sock"), "{err}");
}

#[test]
fn a_stale_socket_is_reported_as_nothing_listening() {
    let tmp = TempDir::new().unwrap();
    let socket = tmp.path().join("p2pd.sock");
    drop(UnixListener::bind(&socket).unwrap());
    let err = one_line_failure(&at(tmp.path(), &socket, &["list"]));
    assert!(err.contains("no p2pd daemon is running at"), "{err}");
    assert!(err.contains("nothing listens on it"), "{err}");
}

#[test]
fn a_plain_file_at_the_socket_path_is_reported_as_not_a_socket() {
    let tmp = TempDir::new().unwrap();
    let socket = tmp.path().join("p2pd.sock");
    std::fs::write(&socket, b"").unwrap();
    let err = one_line_failure(&at(tmp.path(), &socket, &["list"]));
    assert!(err.contains("no p2pd daemon is running at"), "{err}");
    assert!(err.contains("not a socket"), "{err}");
}

#[test]
fn a_socket_of_another_user_is_reported_as_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("private");
    std::fs::create_dir(&dir).unwrap();
    let socket = listener(&dir, |_| {});
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root ignores permissions: nothing to test then.
    let is_root = std::fs::read_dir(&dir).is_ok();
    if !is_root {
        let err = one_line_failure(&at(tmp.path(), &socket, &["status"]));
        assert!(err.contains("permission denied"), "{err}");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

// ---------- listeners that are not a working p2pd ----------

#[test]
fn a_listener_that_answers_garbage_is_not_p2pd() {
    let tmp = TempDir::new().unwrap();
    let socket = listener(tmp.path(), |c| drop(answer_hello(&c, "HTTP/1.1 400 Bad\n")));
    let err = one_line_failure(&at(tmp.path(), &socket, &["status"]));
    assert!(err.contains("does not answer like p2pd"), "{err}");
    assert!(err.contains("HTTP/1.1 400"), "{err}");
}

#[test]
fn a_listener_that_hangs_up_at_once_is_reported_as_closed() {
    let tmp = TempDir::new().unwrap();
    let socket = listener(tmp.path(), drop);
    let err = one_line_failure(&at(tmp.path(), &socket, &["status"]));
    assert!(err.contains("closed the connection"), "{err}");
}

#[test]
fn a_daemon_of_another_protocol_version_is_named_with_both_versions() {
    let tmp = TempDir::new().unwrap();
    let socket = listener(tmp.path(), |c| {
        let mut r = answer_hello(&c, "{\"hello\":{\"version\":99,\"server\":\"p2pd 9.0\"}}\n");
        let _ = r.read_line(&mut String::new());
    });
    let err = one_line_failure(&at(tmp.path(), &socket, &["list"]));
    assert!(err.contains("p2pd 9.0"), "{err}");
    assert!(
        err.contains(&format!(
            "version 99 but this p2pctl speaks version {}",
            p2p_proto::ipc::PROTOCOL_VERSION
        )),
        "{err}"
    );
}

#[test]
fn a_daemon_that_refuses_the_hello_is_quoted() {
    let tmp = TempDir::new().unwrap();
    let refusal = "{\"id\":0,\"error\":{\"code\":\"version_mismatch\",\"message\":\"p2pd speaks version 3\"}}\n";
    let socket = listener(tmp.path(), move |c| drop(answer_hello(&c, refusal)));
    let err = one_line_failure(&at(tmp.path(), &socket, &["list"]));
    assert!(
        err.contains("refused this p2pctl: p2pd speaks version 3"),
        "{err}"
    );
}

#[test]
fn a_listener_that_never_answers_times_out() {
    let tmp = TempDir::new().unwrap();
    // Holds the connection open, reading until the client gives up.
    let socket = listener(tmp.path(), |mut c| {
        let _ = std::io::copy(&mut c, &mut std::io::sink());
    });
    let started = Instant::now();
    let out = at(tmp.path(), &socket, &["--timeout", "0.3", "status"]);
    let err = one_line_failure(&out);
    assert!(err.contains("did not answer within 0.3 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_list_of_many_torrents_longer_than_a_request_may_be_is_read_whole() {
    const TORRENTS: usize = 12_000;
    let tmp = TempDir::new().unwrap();
    let socket = listener(tmp.path(), |c| {
        let mut r = answer_hello(&c, "{\"hello\":{\"version\":2,\"server\":\"p2pd test\"}}\n");
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let req: Value = serde_json::from_str(&line).unwrap();
        let all = vec![summary("seeding", 1.0); TORRENTS];
        let mut reply = serde_json::to_vec(&json!({"id": req["id"], "ok": all})).unwrap();
        // Past the cap on request lines, as a list of 10,000 torrents is.
        assert!(reply.len() > p2p_proto::ipc::MAX_FRAME_BYTES);
        reply.push(b'\n');
        let _ = (&c).write_all(&reply);
    });
    let out = at(tmp.path(), &socket, &["--json", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout)
        .matches("movie.mkv")
        .count();
    assert_eq!(listed, TORRENTS);
}

#[test]
fn an_endless_line_is_refused_rather_than_buffered() {
    let tmp = TempDir::new().unwrap();
    let socket = listener(tmp.path(), |c| {
        let _r = answer_hello(&c, "");
        let chunk = vec![b'x'; 64 * 1024];
        // Past the cap on a reply line, never a newline; stops when the client hangs up.
        for _ in 0..=MAX_REPLY_BYTES / chunk.len() + 1 {
            if (&c).write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let err = one_line_failure(&at(tmp.path(), &socket, &["status"]));
    assert!(err.contains("frame longer than"), "{err}");
}

// ---------- a scripted daemon ----------

fn script(req: &Value) -> (Vec<Value>, Then) {
    let reply = match req["cmd"].as_str().unwrap_or_default() {
        "status" => ok(json!({
            "version": "0.1.0", "uptime_secs": 65, "logged_in_as": "alice",
            "tracker": {"state": "ok", "reason": ""}, "listen_port": 6881,
            "shared_dir": "/shared", "downloads_dir": "/downloads", "torrents": 1,
            "downloading": 1, "seeding": 0, "download_rate": 2048, "upload_rate": 0
        })),
        "list" => ok(json!([summary("downloading", 0.5)])),
        "pause" => {
            vec![json!({"error": {"code": "not_found", "message": "no torrent matches zz"}})]
        }
        "login" | "whoami" => ok(json!({"logged_in_as": "alice"})),
        "peers" => ok(json!([])),
        "share" => ok(json!({"placed_at": "/shared/f"})),
        "add" => ok(summary("downloading", 0.0)),
        "subscribe" => {
            let mut lines = ok(json!({"subscribed": true}));
            lines.push(json!({"event": {"type": "some_future_event", "x": 1}}));
            lines.push(progress_event(summary("downloading", 0.5)));
            lines.push(progress_event(summary("seeding", 1.0)));
            lines.push(
                json!({"event": {"type": "completed", "info_hash": HASH, "name": "movie.mkv"}}),
            );
            return (lines, Then::Stay);
        }
        _ => vec![json!({"error": {"code": "unknown_command", "message": "no"}})],
    };
    (reply, Then::Stay)
}

#[test]
fn status_prints_key_value_lines_and_json_prints_the_reply() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), script);
    let text = success(&at(tmp.path(), &socket, &["status"]));
    assert!(text.contains("logged in as:     alice\n"), "{text}");
    assert!(text.contains("uptime:           1m 05s\n"), "{text}");
    let out = at(tmp.path(), &socket, &["status", "--json"]);
    let v: Value = serde_json::from_str(&success(&out)).unwrap();
    assert_eq!(v["listen_port"], 6881);
    assert_eq!(stdout(&out).lines().count(), 1);
}

#[test]
fn list_prints_a_table_and_json_prints_the_array() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), script);
    let text = success(&at(tmp.path(), &socket, &["list"]));
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains("3f2a0000") && text.contains("50.0%"),
        "{text}"
    );
    let v: Value =
        serde_json::from_str(&success(&at(tmp.path(), &socket, &["--json", "list"]))).unwrap();
    assert_eq!(v[0]["info_hash"], HASH);
}

#[test]
fn a_refused_request_fails_with_the_daemons_message() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), script);
    let err = one_line_failure(&at(tmp.path(), &socket, &["pause", "zz"]));
    assert_eq!(err, "p2pctl: no torrent matches zz\n");
}

#[test]
fn share_and_download_send_absolute_paths() {
    let tmp = TempDir::new().unwrap();
    let (socket, seen) = scripted(tmp.path(), script);
    std::fs::write(tmp.path().join("x.torrent"), b"d4:infode").unwrap();
    std::fs::write(tmp.path().join("f"), b"data").unwrap();
    let run_here = |args: &[&str]| {
        run(p2pctl(tmp.path())
            .current_dir(tmp.path())
            .arg("--socket")
            .arg(&socket)
            .args(args))
    };
    success(&run_here(&["share", "f", "--group", "friends"]));
    success(&run_here(&[
        "download",
        "--detach",
        "x.torrent",
        "--to",
        "out",
    ]));
    let seen = seen.lock().unwrap();
    let share = seen.iter().find(|r| r["cmd"] == "share").unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    assert_eq!(share["args"]["path"], root.join("f").to_str().unwrap());
    assert_eq!(share["args"]["group"], "friends");
    let add = seen.iter().find(|r| r["cmd"] == "add").unwrap();
    assert_eq!(
        add["args"]["source"],
        root.join("x.torrent").to_str().unwrap()
    );
    let to = add["args"]["to"].as_str().unwrap();
    assert!(Path::new(to).is_absolute() && to.ends_with("out"), "{to}");
}

#[test]
fn download_follows_events_until_seeding_then_prints_one_line() {
    let tmp = TempDir::new().unwrap();
    let (socket, seen) = scripted(tmp.path(), script);
    let out = at(tmp.path(), &socket, &["download", HASH]);
    let text = success(&out);
    assert!(
        text.starts_with("downloaded movie.mkv (1.00 MiB) to /downloads in "),
        "{text}"
    );
    // Not a terminal: plain progress lines on stderr instead of a bar.
    assert!(
        stderr(&out).contains("downloading movie.mkv: 0.0%"),
        "{}",
        stderr(&out)
    );
    let seen = seen.lock().unwrap();
    let cmds: Vec<&str> = seen.iter().filter_map(|r| r["cmd"].as_str()).collect();
    assert_eq!(&cmds[..2], ["subscribe", "add"], "subscribe comes first");
}

#[test]
fn download_with_json_prints_the_final_summary() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), script);
    let out = at(tmp.path(), &socket, &["--json", "download", HASH]);
    let v: Value = serde_json::from_str(&success(&out)).unwrap();
    assert_eq!(v["state"], "seeding");
    assert_eq!(v["progress"], 1.0);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn download_fails_when_the_torrent_stops_on_an_error() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), |req| match req["cmd"].as_str() {
        Some("subscribe") => (
            vec![
                json!({"ok": {"subscribed": true}}),
                json!({"event": {"type": "error", "info_hash": HASH, "message": "disk full"}}),
            ],
            Then::Stay,
        ),
        _ => (ok(summary("downloading", 0.0)), Then::Stay),
    });
    let err = failure_after_progress(&at(tmp.path(), &socket, &["download", HASH]));
    assert_eq!(err, "p2pctl: movie.mkv: disk full\n");
}

#[test]
fn download_fails_when_the_daemon_goes_away() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), |req| match req["cmd"].as_str() {
        Some("subscribe") => (
            vec![
                json!({"ok": {"subscribed": true}}),
                progress_event(summary("downloading", 0.25)),
            ],
            Then::HangUp,
        ),
        _ => (ok(summary("downloading", 0.0)), Then::Stay),
    });
    let err = failure_after_progress(&at(tmp.path(), &socket, &["download", HASH]));
    assert!(err.contains("movie.mkv is not complete (25.0%)"), "{err}");
    assert!(err.contains("p2pd went away"), "{err}");
}

#[test]
fn downloading_what_the_daemon_already_has_follows_it() {
    let tmp = TempDir::new().unwrap();
    let (socket, _) = scripted(tmp.path(), |req| match req["cmd"].as_str() {
        Some("add") => (
            vec![
                json!({"error": {"code": "already_exists", "message": "movie.mkv is already added"}}),
            ],
            Then::Stay,
        ),
        Some("list") => (ok(json!([summary("seeding", 1.0)])), Then::Stay),
        _ => (ok(json!({"subscribed": true})), Then::Stay),
    });
    let text = success(&at(tmp.path(), &socket, &["download", HASH]));
    assert!(text.starts_with("downloaded movie.mkv"), "{text}");
    // A name cannot be matched locally: the daemon's refusal stands.
    let err = one_line_failure(&at(tmp.path(), &socket, &["download", "--detach", "movie"]));
    assert_eq!(err, "p2pctl: movie.mkv is already added\n");
}

#[test]
fn login_sends_the_password_from_stdin_and_never_prints_it() {
    let tmp = TempDir::new().unwrap();
    let (socket, seen) = scripted(tmp.path(), script);
    let mut child = p2pctl(tmp.path())
        .arg("--socket")
        .arg(&socket)
        .args(["login", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\nignored\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(success(&out), "logged in as alice\n");
    assert!(!stderr(&out).contains("horse"));
    let seen = seen.lock().unwrap();
    let login = seen.iter().find(|r| r["cmd"] == "login").unwrap();
    assert_eq!(login["args"]["password"], "correct horse");
    assert_eq!(login["args"]["force"], false);
}

#[test]
fn an_empty_password_is_refused_before_it_is_sent() {
    let tmp = TempDir::new().unwrap();
    let (socket, seen) = scripted(tmp.path(), script);
    let err = one_line_failure(&at(
        tmp.path(),
        &socket,
        &["register", "bob", "--password-stdin"],
    ));
    assert!(err.contains("password is empty"), "{err}");
    assert!(!seen.lock().unwrap().iter().any(|r| r["cmd"] == "register"));
}

// ---------- usage ----------

#[test]
fn missing_arguments_are_usage_errors() {
    let tmp = TempDir::new().unwrap();
    for args in [
        &["download"][..],
        &["remove"],
        &["pause"],
        &["resume"],
        &["peers"],
        &["share"],
        &["login"],
        &["register"],
        &["status", "extra"],
        &["--timeout", "0", "status"],
    ] {
        let out = run(p2pctl(tmp.path()).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}
