//! The Windows p2pd and p2pctl, cross-built for `x86_64-pc-windows-gnu`
//! with MinGW and run under Wine: p2pd in the foreground on a named pipe,
//! p2pctl's status, list and share over that pipe, a second p2pd refused
//! the pipe's name, and p2pctl's answer when no daemon holds a pipe; then
//! the service installed, started, used over its pipe, stopped and removed
//! through Wine's service manager.
//!
//! Linux only (it runs Wine). It fails, never skips, when the target,
//! MinGW or Wine is missing: scripts/test installs them, and its Windows
//! stage builds the two programs first, so the build here is a no-op there.
//! Not exercised (Wine runs everything as one user and checks no access):
//! the pipe's DACL; packaging/windows/README.md lists the rest.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use p2p_tests::e2e::{Proc, start, wait_until};
use serde_json::Value;

const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
/// Bound on each Wine program (p2pctl, wineboot, a refused p2pd).
const WINE_PROGRAM_SECS: u64 = 120;

/// The Windows p2pd.exe and p2pctl.exe, built (once per test process)
/// beside the host's binaries under `target/x86_64-pc-windows-gnu/debug/`.
fn windows_bins() -> PathBuf {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--target", TARGET])
        .args(["-p", "p2pd", "-p", "p2pctl", "--bins"])
        .current_dir(workspace)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cross-building p2pd and p2pctl for {TARGET} failed (scripts/test adds the target with \
         rustup and installs gcc-mingw-w64-x86-64):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // target/debug/deps/it-<hash> -> target/
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    target.join(TARGET).join("debug")
}

/// A throwaway Wine prefix, its server stopped when dropped.
struct Wine {
    prefix: tempfile::TempDir,
}

impl Wine {
    /// Creates the prefix and puts the `ProcessPrng` stand-in in it
    /// (tests/wine/bcryptprimitives.c says why).
    fn new() -> Wine {
        let wine = Wine {
            prefix: tempfile::tempdir().unwrap(),
        };
        let out = wine.run_within(wine.command("wineboot").arg("--init"), WINE_PROGRAM_SECS);
        assert!(out.status.success(), "wineboot --init: {out:?}");
        // A server that stays until dropped: by default it ends, and takes
        // the service manager and its services with it, seconds after the
        // last ordinary program exits. (Started after wineboot, whose
        // launcher waits for the server to end when it makes a prefix.)
        let mut server = Command::new("wineserver");
        server.env("WINEPREFIX", wine.prefix.path());
        let waited = wine.run_within(server.arg("-w"), WINE_PROGRAM_SECS);
        assert!(waited.status.success(), "wineserver -w: {waited:?}");
        // status(), not output(): the server it starts keeps its stdio.
        let persistent = Command::new("wineserver")
            .arg("-p")
            .env("WINEPREFIX", wine.prefix.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(persistent.success(), "wineserver -p: {persistent}");
        let system32 = wine.prefix.path().join("drive_c/windows/system32");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/wine/bcryptprimitives.c");
        let out = Command::new(MINGW_GCC)
            .args(["-shared", "-O2", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(source)
            .arg("-ladvapi32")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {MINGW_GCC} (scripts/test installs gcc-mingw-w64-x86-64): {e}")
            });
        assert!(
            out.status.success(),
            "building the ProcessPrng stand-in: {out:?}"
        );
        wine
    }

    /// `wine PROGRAM` in this prefix, quiet, headless.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(program)
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs to the end, killed after `secs`. Output goes through files, not
    /// pipes: Wine's service manager, started by the first program that
    /// needs it, inherits them and would hold a pipe open for ever.
    fn run_within(&self, cmd: &mut Command, secs: u64) -> Output {
        let (stdout, stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        let mut child = cmd
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?} (scripts/test installs wine): {e}"));
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = match rx.recv_timeout(Duration::from_secs(secs)) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("{cmd:?} did not finish within {secs} s");
            }
        };
        let read = |mut f: std::fs::File| {
            use std::io::{Read, Seek};
            let mut bytes = Vec::new();
            f.rewind().unwrap();
            f.read_to_end(&mut bytes).unwrap();
            bytes
        };
        Output {
            status,
            stdout: read(stdout),
            stderr: read(stderr),
        }
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        // Only this prefix's server and the programs it still runs.
        let _ = Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", self.prefix.path())
            .status();
    }
}

/// A Unix path as Wine's programs see it (drive Z: is `/`).
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.to_str().unwrap().replace('/', "\\"))
}

/// p2pctl.exe with `args` against `pipe`: its exit code, stdout, stderr.
fn p2pctl(wine: &Wine, bins: &Path, pipe: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = wine.run_within(
        wine.command(bins.join("p2pctl.exe"))
            .args(["--socket", pipe])
            .args(args),
        WINE_PROGRAM_SECS,
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(wine: &Wine, bins: &Path, pipe: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = p2pctl(wine, bins, pipe, &all);
    assert_eq!(code, Some(0), "p2pctl {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("p2pctl {args:?}: {e}: {stdout}"))
}

#[test]
fn the_windows_daemon_answers_status_list_and_share_over_its_named_pipe() {
    let started = Instant::now();
    let bins = windows_bins();
    let wine = Wine::new();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let pipe = format!(r"\\.\pipe\p2pd-test-{}", std::process::id());
    let config = tmp.path().join("p2pd.toml");
    std::fs::write(
        &config,
        format!(
            "home = '{}'\nsocket = '{pipe}'\nlisten_port = 0\ntracker = \"\"\n",
            windows_path(&home)
        ),
    )
    .unwrap();
    let mut cmd = wine.command(bins.join("p2pd.exe"));
    cmd.args(["--config", &windows_path(&config)]);
    let (_daemon, bound): (Proc, String) = start(&mut cmd, "control socket at ");
    assert_eq!(bound, pipe);

    let status = json(&wine, &bins, &pipe, &["status"]);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["logged_in_as"], Value::Null);
    assert_eq!(status["tracker"]["state"], "none");
    assert_eq!(status["torrents"], 0);
    assert_eq!(
        status["shared_dir"].as_str().unwrap(),
        windows_path(&home.join("shared"))
    );
    assert_ne!(status["listen_port"], 0);
    assert_eq!(json(&wine, &bins, &pipe, &["list"]), Value::Array(vec![]));

    let item = tmp.path().join("notes.bin");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&item, &bytes).unwrap();
    let shared = json(&wine, &bins, &pipe, &["share", &windows_path(&item)]);
    assert_eq!(
        shared["placed_at"].as_str().unwrap(),
        windows_path(&home.join("shared/notes.bin"))
    );
    assert_eq!(std::fs::read(home.join("shared/notes.bin")).unwrap(), bytes);
    let mut listed = Value::Null;
    wait_until("the shared item listed as seeding", 60, || {
        listed = json(&wine, &bins, &pipe, &["list"]);
        listed[0]["state"] == "seeding"
    });
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "notes.bin");
    assert_eq!(listed[0]["size"], 100_000);
    assert_eq!(listed[0]["progress"], 1.0);

    // The pipe is the first instance: a second daemon cannot share its name.
    let second = wine.run_within(
        wine.command(bins.join("p2pd.exe")).args([
            "--config",
            &windows_path(&config),
            "--home",
            &windows_path(&tmp.path().join("home2")),
        ]),
        WINE_PROGRAM_SECS,
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("another p2pd is already running on {pipe}")),
        "{stderr}"
    );

    let (code, _, stderr) = p2pctl(&wine, &bins, r"\\.\pipe\p2pd-nobody-here", &["status"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(r"no p2pd daemon is running at \\.\pipe\p2pd-nobody-here"),
        "{stderr}"
    );
    eprintln!(
        "Windows round trip under Wine: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `sc query p2pd` in Wine: the service's state line (e.g. `4  RUNNING`)
/// and its Win32 exit code line, or the exit code of `sc` when it fails.
fn service_state(wine: &Wine) -> Result<(String, String), Option<i32>> {
    let out = wine.run_within(
        wine.command("sc").args(["query", "p2pd"]),
        WINE_PROGRAM_SECS,
    );
    if !out.status.success() {
        return Err(out.status.code());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim_start_matches([' ', ':']).trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    Ok((field("STATE"), field("WIN32_EXIT_CODE")))
}

fn p2pd_service(wine: &Wine, bins: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = wine.run_within(
        wine.command(bins.join("p2pd.exe")).args(args),
        WINE_PROGRAM_SECS,
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_windows_service_installs_starts_answers_on_its_pipe_stops_and_uninstalls() {
    let started = Instant::now();
    let bins = windows_bins();
    let wine = Wine::new();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("service-home");
    let config = tmp.path().join("p2pd.toml");
    std::fs::write(
        &config,
        format!(
            "home = '{}'\nlisten_port = 0\ntracker = \"\"\n",
            windows_path(&home)
        ),
    )
    .unwrap();
    let config = windows_path(&config);

    let (code, stdout, stderr) =
        p2pd_service(&wine, &bins, &["--config", &config, "service", "install"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("p2pd service installed"), "{stdout}");
    assert_eq!(service_state(&wine).unwrap().0, "1  STOPPED");

    let (code, _, stderr) = p2pd_service(&wine, &bins, &["service", "start"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The service's own pipe, with no --socket in its configuration.
    let pipe = r"\\.\pipe\p2pd";
    let mut status = Value::Null;
    wait_until("the service answering on its pipe", 60, || {
        let (code, stdout, _) = p2pctl(&wine, &bins, pipe, &["--json", "status"]);
        code == Some(0) && {
            status = serde_json::from_str(&stdout).unwrap();
            true
        }
    });
    assert_eq!(service_state(&wine).unwrap().0, "4  RUNNING");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        status["shared_dir"].as_str().unwrap(),
        windows_path(&home.join("shared"))
    );

    let (code, _, stderr) = p2pd_service(&wine, &bins, &["service", "stop"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut state = (String::new(), String::new());
    wait_until("the service stopped", 60, || {
        state = service_state(&wine).unwrap();
        state.0 == "1  STOPPED"
    });
    assert!(state.1.starts_with("0 "), "exit code {state:?}");
    // Stop reached the daemon's shutdown token: it stopped in order and
    // said so in its log file (a service has no console).
    let log = std::fs::read_to_string(home.join("state/p2pd.log")).unwrap();
    assert!(log.contains(r"control socket at \\.\pipe\p2pd"), "{log}");
    assert!(log.contains("p2pd::daemon: stopped"), "{log}");

    let (code, stdout, stderr) = p2pd_service(&wine, &bins, &["service", "uninstall"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("p2pd service removed"), "{stdout}");
    assert!(service_state(&wine).is_err(), "sc still finds the service");
    let (code, _, stderr) = p2pd_service(&wine, &bins, &["service", "start"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot open the p2pd service (is it installed?)"),
        "{stderr}"
    );
    eprintln!(
        "Windows service under Wine: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
