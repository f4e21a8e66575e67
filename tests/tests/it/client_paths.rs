//! `share`, `download --to` and .torrent paths act with p2pd's rights: a
//! socket client may only name what it could use itself, or what lies
//! under `client_folders`. Real p2pd and p2pctl: with `only_client_folders`
//! every path outside the folders is refused (a link inside leading out
//! too); as root, a p2pctl running as another user (a member of the system
//! service's socket group) is refused a file it cannot read, and may not
//! change the tracker (the passkey goes where it points).

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common;
use p2p_tests::e2e::{Proc, bin, fail, p2pctl_within, start, succeed};

/// An account that exists on Linux systems and is never the tester.
const NOBODY: u32 = 65534;

/// p2pd with `config` as its configuration file, under `home`.
fn daemon_with(home: &Path, config: &str, args: &[&str]) -> (Proc, std::path::PathBuf) {
    std::fs::create_dir_all(home).unwrap();
    let file = home.join("p2pd.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(bin("p2pd"));
    cmd.arg("--config")
        .arg(&file)
        .arg("--home")
        .arg(home)
        .args(["--listen-port", "0", "--tracker", ""])
        .args(args);
    let (p, socket) = start(&mut cmd, "control socket at ");
    (p, socket.into())
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn p2pctl_create(file: &Path, out: &Path) {
    let made = Command::new(bin("p2pctl"))
        .arg("create")
        .arg(file)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
}

#[test]
fn with_only_client_folders_paths_outside_them_are_refused_and_inside_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let allowed = root.join("allowed");
    let outside = root.join("outside");
    for d in [&allowed, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(outside.join("secret.txt"), b"not for sharing").unwrap();
    std::fs::write(allowed.join("notes.txt"), b"for sharing").unwrap();
    let config = format!(
        "client_folders = [{:?}]\nonly_client_folders = true\n",
        allowed.display().to_string()
    );
    let home = root.join("node");
    let (_d, socket) = daemon_with(&home, &config, &[]);

    let secret = outside.join("secret.txt");
    let err = fail(&socket, &["share", secret.to_str().unwrap()]);
    assert_eq!(
        err.trim_end(),
        format!(
            "p2pctl: {} is outside the folders p2pd's clients may use (client_folders: {})",
            secret.display(),
            allowed.display()
        )
    );
    assert!(!home.join("shared/secret.txt").exists());

    // A link inside the allowed folder that leads out is judged where it leads.
    let folder = allowed.join("album");
    std::fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(&secret, folder.join("cover.txt")).unwrap();
    let err = fail(&socket, &["share", folder.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{} is outside the folders", secret.display())),
        "{err}"
    );
    assert!(!home.join("shared/album").exists());

    let out = succeed(
        &socket,
        &["share", allowed.join("notes.txt").to_str().unwrap()],
    );
    assert!(out.contains("notes.txt"), "{out}");
    assert_eq!(
        std::fs::read(home.join("shared/notes.txt")).unwrap(),
        b"for sharing"
    );

    // A download may not be placed, nor its .torrent read, outside them.
    let torrent = allowed.join("notes.torrent");
    p2pctl_create(&allowed.join("notes.txt"), &torrent);
    let to = outside.join("dl");
    let out = p2pctl_within(
        &socket,
        &[
            "download",
            torrent.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ],
        30,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{} is outside the folders", to.display())),
        "{err}"
    );
    let outside_torrent = outside.join("x.torrent");
    std::fs::copy(&torrent, &outside_torrent).unwrap();
    let out = p2pctl_within(
        &socket,
        &["download", outside_torrent.to_str().unwrap()],
        30,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} is outside the folders",
            outside_torrent.display()
        )),
        "{err}"
    );
    assert!(!to.exists());
}

/// p2pctl as uid nobody in group root: a member of the socket's group.
fn as_nobody(socket: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env("HOME", home)
        .uid(NOBODY)
        .gid(0)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_client_of_another_user_may_share_only_what_it_could_read_itself() {
    if !running_as_root() {
        eprintln!("not root: cannot run p2pctl as another user; the rules' unit tests cover this");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    chmod(&root, 0o755);
    let private = root.join("private");
    let public = root.join("public");
    for (d, mode) in [(&private, 0o700), (&public, 0o755)] {
        std::fs::create_dir(d).unwrap();
        chmod(d, mode);
    }
    std::fs::write(public.join("secret.txt"), b"root only").unwrap();
    chmod(&public.join("secret.txt"), 0o600);
    std::fs::write(private.join("readable.txt"), b"in a closed folder").unwrap();
    chmod(&private.join("readable.txt"), 0o644);
    std::fs::write(public.join("open.txt"), b"anyone may read").unwrap();
    chmod(&public.join("open.txt"), 0o644);
    let home = root.join("node");
    std::fs::create_dir(&home).unwrap();
    chmod(&home, 0o755);
    // As the system service: the socket's group (here root's) may use it.
    let (_d, socket) = daemon_with(&home, "", &["--socket-group-access"]);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);

    let secret = public.join("secret.txt");
    let out = as_nobody(&socket, &root, &["share", secret.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!(
            "p2pctl: {0} is not yours to use: uid {NOBODY} lacks read (r) permission on {0} (owner uid 0, group 0, mode 0600)",
            secret.display()
        )),
        "{err}"
    );
    // p2pctl itself cannot resolve a path in a folder it may not enter; a
    // client speaking the protocol directly sends it as it is.
    let hidden = private.join("readable.txt");
    let reply = raw_as_nobody(
        &socket,
        &format!(
            "{{\"id\":1,\"cmd\":\"share\",\"args\":{{\"path\":{:?}}}}}",
            hidden.display().to_string()
        ),
    );
    assert!(reply.contains("\"code\":\"forbidden\""), "{reply}");
    assert!(
        reply.contains(&format!(
            "lacks search (x) permission on {} (owner uid 0",
            private.display()
        )),
        "{reply}"
    );
    assert!(!home.join("shared/secret.txt").exists());
    assert!(!home.join("shared/readable.txt").exists());

    let out = as_nobody(
        &socket,
        &root,
        &["share", public.join("open.txt").to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(home.join("shared/open.txt")).unwrap(),
        b"anyone may read"
    );
    // The daemon's own user keeps full rights.
    succeed(
        &socket,
        &["share", public.join("secret.txt").to_str().unwrap()],
    );
}

#[test]
fn a_client_of_another_user_may_change_limits_but_not_the_tracker() {
    if !running_as_root() {
        eprintln!("not root: cannot run p2pctl as another user; the rules' unit tests cover this");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    chmod(&root, 0o755);
    let home = root.join("node");
    std::fs::create_dir(&home).unwrap();
    chmod(&home, 0o755);
    let (_d, socket) = daemon_with(&home, "", &["--socket-group-access"]);

    let out = as_nobody(
        &socket,
        &root,
        &["config", "set", "tracker", "http://evil.example/announce"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "p2pctl: only p2pd's own user or root may change the tracker (announces to it carry the logged-in user's passkey)\n"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(succeed(&socket, &["config", "get", "tracker"]), "\n");
    let out = as_nobody(&socket, &root, &["config", "set", "upload_slots", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(succeed(&socket, &["config", "get", "upload_slots"]), "3\n");
    // The daemon's own user may.
    succeed(
        &socket,
        &["config", "set", "tracker", "http://127.0.0.1:9/announce"],
    );
}

/// One request over the socket as uid nobody in group root, with socat:
/// the hello, the request, then the daemon's lines until it hangs up.
fn raw_as_nobody(socket: &Path, request: &str) -> String {
    use std::io::Write;
    let socat = common::require_tool("socat");
    let mut child = Command::new(socat)
        .args(["-t", "10", "-"])
        .arg(format!("UNIX-CONNECT:{}", socket.display()))
        .uid(NOBODY)
        .gid(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        "{{\"hello\":{{\"version\":{}}}}}",
        p2p_proto::ipc::PROTOCOL_VERSION
    )
    .unwrap();
    writeln!(stdin, "{request}").unwrap();
    // End of input: the daemon answers, then closes, and socat exits.
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether this test process runs as root (it can then act as another
/// user). CI runs as root: a skip there would hide a loss.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    assert!(
        root || std::env::var_os("CI").is_none(),
        "CI runs the tests as root, to act as another user"
    );
    root
}

/// The attack on a download folder a client named: after the check, the
/// client swaps its folder (its own to rename) for a link to a folder only
/// root may use. p2pd, restarted in between so the pin must come from its
/// records, refuses to read or write through the swap, and deleting the
/// data deletes nothing in the victim folder.
#[test]
fn a_download_folder_swapped_for_a_link_after_the_check_is_refused() {
    if !running_as_root() {
        eprintln!("not root: cannot run p2pctl as another user; nofollow's unit tests cover this");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    chmod(&root, 0o755);
    // The client's own folder, and in it the download folder it names.
    let theirs = root.join("theirs");
    let to = theirs.join("dl");
    for d in [&theirs, &to] {
        std::fs::create_dir(d).unwrap();
        std::os::unix::fs::chown(d, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    // Root's folder, with a file the torrent names.
    let victim = root.join("victim");
    std::fs::create_dir(&victim).unwrap();
    chmod(&victim, 0o700);
    std::fs::write(victim.join("notes.txt"), b"root's own notes").unwrap();
    // The torrent: a file of that name (other bytes), readable by anyone.
    let made = root.join("made");
    std::fs::create_dir(&made).unwrap();
    chmod(&made, 0o755);
    std::fs::write(made.join("notes.txt"), b"the torrent's bytes").unwrap();
    let torrent = made.join("notes.torrent");
    p2pctl_create(&made.join("notes.txt"), &torrent);
    chmod(&torrent, 0o644);
    let home = root.join("node");
    std::fs::create_dir(&home).unwrap();
    chmod(&home, 0o755);

    let (daemon, socket) = daemon_with(&home, "", &["--socket-group-access"]);
    let nobody = |args: &[&str]| {
        let out = as_nobody(&socket, &root, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), err)
    };
    let (code, err) = nobody(&[
        "download",
        torrent.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
        "--detach",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(nobody(&["pause", "notes.txt"]).0, Some(0));

    // The swap, as the client: its folder away, a link to root's in its place.
    let swapped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "mv {0}/dl {0}/old && ln -s {1} {0}/dl",
            theirs.display(),
            victim.display()
        ))
        .uid(NOBODY)
        .gid(NOBODY)
        .status()
        .unwrap();
    assert!(swapped.success());
    assert!(
        to.join("notes.txt").exists(),
        "the link leads to root's file"
    );

    // A restart: what pins the folder is read back from the daemon's records.
    stop(daemon);
    let (_daemon, socket) = daemon_with(&home, "", &["--socket-group-access"]);
    let nobody = |args: &[&str]| {
        let out = as_nobody(&socket, &root, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), err, text)
    };
    let (code, err, _) = nobody(&["resume", "notes.txt"]);
    assert_eq!(code, Some(0), "{err}");
    let mut listed = String::new();
    p2p_tests::e2e::wait_until("the torrent fails on the swapped folder", 30, || {
        listed = nobody(&["list", "--json"]).2;
        listed.contains("no longer the folder it was added with")
    });
    assert!(listed.contains("\"state\":\"error\""), "{listed}");

    let (code, err, _) = nobody(&["remove", "notes.txt", "--delete-data"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "cannot delete the data: refusing {}: it is no longer the folder it was added with",
            to.display()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read(victim.join("notes.txt")).unwrap(),
        b"root's own notes"
    );
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1);
}

/// Stops a daemon with SIGTERM (its records written) and waits for it.
fn stop(mut daemon: Proc) {
    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
