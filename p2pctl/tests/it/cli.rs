//! End-to-end tests of the `p2pctl` binary for the commands that need no
//! daemon (`create`, `inspect`): what they print, what they write, and the
//! exit codes (0 ok, 1 error with one `p2pctl: ...` line, 2 usage).
//!
//! Runs the real binary; does not talk to any daemon or network.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha1::{Digest, Sha1};
use tempfile::TempDir;

const TRACKER: &str = "http://tracker.invalid/announce";

/// Keys `inspect --json` must print for a .torrent file.
const TORRENT_JSON_KEYS: [&str; 15] = [
    "info_hash",
    "name",
    "total_size",
    "piece_length",
    "piece_count",
    "private",
    "source",
    "files",
    "trackers",
    "tracker_tiers",
    "web_seeds",
    "comment",
    "created_by",
    "creation_date",
    "magnet",
];

// ---------- helpers ----------

/// `p2pctl` with no daemon-related environment: no socket path, an empty
/// home and runtime dir, so nothing could be found even if it were looked for.
fn p2pctl(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_p2pctl"));
    for var in ["P2P_SOCKET", "P2PD_SOCKET", "P2PCTL_SOCKET", "P2P_CONFIG"] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home).env("XDG_RUNTIME_DIR", home);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and parses stdout as one JSON object.
fn json_ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "expected success, got {:?}; stderr: {}",
        out.status,
        stderr(out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Asserts exit 1 with exactly one `p2pctl: ...` line on stderr, and returns it.
fn assert_fails_with_one_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {:?}; stderr: {err}",
        out.status
    );
    assert!(err.starts_with("p2pctl: "), "stderr: {err:?}");
    assert!(err.ends_with('\n'), "stderr: {err:?}");
    assert_eq!(err.lines().count(), 1, "stderr is not one line: {err:?}");
    assert!(out.stdout.is_empty(), "stdout should be empty on error");
    err
}

fn assert_usage_error(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected usage error (exit 2), got {:?}; stderr: {}",
        out.status,
        stderr(out)
    );
    assert!(!out.stderr.is_empty(), "a usage error must say why");
}

/// Deterministic bytes (xorshift64), so failures reproduce.
fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `files` (path relative to `root`, length) and returns `root`.
fn write_tree(root: &Path, files: &[(&str, usize)]) -> PathBuf {
    for (i, (rel, len)) in files.iter().enumerate() {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("a relative path has a parent"))
            .expect("create dirs");
        fs::write(&path, pseudo_random_bytes(*len, i as u64 + 7)).expect("write file");
    }
    root.to_path_buf()
}

/// `create --json --no-date` into `out`, plus any `extra` flags.
fn create_json(home: &Path, src: &Path, out: &Path, extra: &[&str]) -> Value {
    json_ok(&run(p2pctl(home)
        .args(["--json", "create", "--no-date", "-o"])
        .arg(out)
        .args(extra)
        .arg(src)))
}

fn inspect_json(home: &Path, torrent: impl AsRef<std::ffi::OsStr>) -> Value {
    json_ok(&run(p2pctl(home).args(["inspect", "--json"]).arg(torrent)))
}

/// The end of the bencoded value starting at `i`.
fn bencode_end(b: &[u8], i: usize) -> usize {
    match b[i] {
        b'i' => i + b[i..].iter().position(|&c| c == b'e').expect("int end") + 1,
        b'l' | b'd' => {
            let mut j = i + 1;
            while b[j] != b'e' {
                j = bencode_end(b, j);
            }
            j + 1
        }
        _ => {
            let colon = i + b[i..].iter().position(|&c| c == b':').expect("colon");
            let len: usize = std::str::from_utf8(&b[i..colon])
                .expect("ascii length")
                .parse()
                .expect("length");
            colon + 1 + len
        }
    }
}

/// The raw bytes of the value of `key` in the bencoded dict `d`.
fn dict_value<'a>(d: &'a [u8], key: &str) -> &'a [u8] {
    assert_eq!(d[0], b'd', "not a dict");
    let mut i = 1;
    while d[i] != b'e' {
        let key_end = bencode_end(d, i);
        let value_end = bencode_end(d, key_end);
        if d[i..key_end] == *format!("{}:{key}", key.len()).as_bytes() {
            return &d[key_end..value_end];
        }
        i = value_end;
    }
    panic!("no key {key:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha1(bytes: &[u8]) -> Vec<u8> {
    Sha1::digest(bytes).to_vec()
}

// ---------- create + inspect ----------

#[test]
fn create_then_inspect_describes_the_folder_that_was_written() {
    let tmp = TempDir::new().unwrap();
    let files = [
        ("sub/deep/c.bin", 100_000),
        ("a.txt", 70_001),
        ("b.bin", 32_768),
        ("empty", 0),
    ];
    let src = write_tree(&tmp.path().join("folder"), &files);
    let torrent = tmp.path().join("folder.torrent");
    let created = create_json(
        tmp.path(),
        &src,
        &torrent,
        &["--piece-length", "32K", "-t", TRACKER],
    );
    let inspected = inspect_json(tmp.path(), &torrent);

    for key in TORRENT_JSON_KEYS {
        assert!(inspected.get(key).is_some(), "inspect lacks {key:?}");
        assert_eq!(
            created[key], inspected[key],
            "create and inspect differ on {key:?}"
        );
    }
    assert_eq!(created["torrent_file"], torrent.display().to_string());

    let hash = inspected["info_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 40);
    assert!(hash.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
    let bytes = fs::read(&torrent).unwrap();
    let info = dict_value(&bytes, "info");
    assert_eq!(
        hash,
        hex(&sha1(info)),
        "info_hash is not the SHA-1 of the info dict"
    );

    assert_eq!(inspected["name"], "folder");
    let total: u64 = files.iter().map(|f| f.1 as u64).sum();
    assert_eq!(inspected["total_size"], total);
    assert_eq!(inspected["piece_length"], 32_768);
    assert_eq!(inspected["piece_count"], total.div_ceil(32_768));
    assert_eq!(inspected["private"], false);
    assert_eq!(inspected["trackers"], serde_json::json!([TRACKER]));
    assert!(
        inspected["magnet"]
            .as_str()
            .unwrap()
            .starts_with(&format!("magnet:?xt=urn:btih:{hash}")),
        "magnet: {}",
        inspected["magnet"]
    );

    // Torrent order is the byte order of the full path.
    let mut expected: Vec<(String, u64)> = files
        .iter()
        .map(|(p, l)| (format!("folder/{p}"), *l as u64))
        .collect();
    expected.sort();
    let listed: Vec<(String, u64)> = inspected["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, expected);

    // Every piece hash matches the bytes on disk, concatenated in that order.
    let mut data = Vec::new();
    for (path, _) in &expected {
        data.extend(fs::read(tmp.path().join(path)).unwrap());
    }
    let pieces = dict_value(info, "pieces");
    let pieces = &pieces[pieces.iter().position(|&c| c == b':').unwrap() + 1..];
    let want: Vec<u8> = data.chunks(32_768).flat_map(sha1).collect();
    assert_eq!(
        pieces,
        want.as_slice(),
        "piece hashes do not match the data"
    );
}

#[test]
fn create_of_a_single_file_names_the_torrent_after_the_file() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("movie.mkv");
    let len = 300_001_u64;
    fs::write(&src, pseudo_random_bytes(len as usize, 1)).unwrap();
    let torrent = tmp.path().join("out.torrent");
    let v = create_json(tmp.path(), &src, &torrent, &["--piece-length", "65536"]);
    assert_eq!(v["name"], "movie.mkv");
    assert_eq!(v["total_size"], len);
    assert_eq!(v["piece_length"], 65_536);
    assert_eq!(v["piece_count"], len.div_ceil(65_536));
    assert_eq!(
        v["files"],
        serde_json::json!([{ "path": "movie.mkv", "length": len }])
    );
}

#[test]
fn create_writes_name_dot_torrent_in_the_current_folder_by_default() {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("song.ogg"), b"la la la").unwrap();
    let out = run(p2pctl(tmp.path())
        .current_dir(tmp.path())
        .args(["create", "song.ogg"]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(tmp.path().join("song.ogg.torrent").is_file());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("song.ogg.torrent"), "stdout: {text}");
}

#[test]
fn create_records_private_source_comment_web_seeds_and_date() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("f.bin");
    fs::write(&src, pseudo_random_bytes(5000, 2)).unwrap();
    let torrent = tmp.path().join("f.torrent");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let v = json_ok(&run(p2pctl(tmp.path())
        .args(["--json", "create", "-p", "--source", "SRC", "--comment"])
        .args(["hello world", "-w", "http://seed.invalid/f.bin", "-o"])
        .arg(&torrent)
        .arg(&src)));
    assert_eq!(v["private"], true);
    assert_eq!(v["source"], "SRC");
    assert_eq!(v["comment"], "hello world");
    assert_eq!(
        v["web_seeds"],
        serde_json::json!(["http://seed.invalid/f.bin"])
    );
    assert!(
        v["created_by"].is_string(),
        "created_by: {}",
        v["created_by"]
    );
    let date = v["creation_date"].as_u64().expect("a creation date");
    assert!(date >= before && date <= before + 600, "date {date}");

    let info = fs::read(&torrent).unwrap();
    let info = dict_value(&info, "info");
    assert_eq!(dict_value(info, "private"), b"i1e");
    assert_eq!(dict_value(info, "source"), b"3:SRC");
}

#[test]
fn create_with_no_date_gives_byte_identical_torrents() {
    let tmp = TempDir::new().unwrap();
    let src = write_tree(&tmp.path().join("same"), &[("x", 40_000), ("y/z", 90_000)]);
    let one = tmp.path().join("one.torrent");
    let two = tmp.path().join("two.torrent");
    let v = create_json(tmp.path(), &src, &one, &["-t", TRACKER]);
    create_json(tmp.path(), &src, &two, &["-t", TRACKER]);
    assert_eq!(fs::read(&one).unwrap(), fs::read(&two).unwrap());
    assert!(v["created_by"].is_null(), "created_by: {}", v["created_by"]);
    assert!(v["creation_date"].is_null(), "date: {}", v["creation_date"]);
}

#[test]
fn create_refuses_to_overwrite_without_force() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("data");
    fs::write(&src, b"some data").unwrap();
    let torrent = tmp.path().join("data.torrent");
    fs::write(&torrent, b"precious").unwrap();

    let out = run(p2pctl(tmp.path())
        .args(["create", "-o"])
        .arg(&torrent)
        .arg(&src));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("already exists"), "stderr: {err}");
    assert!(err.contains("--force"), "stderr should name the fix: {err}");
    assert_eq!(fs::read(&torrent).unwrap(), b"precious");
}

#[test]
fn create_with_force_replaces_the_existing_file() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("data");
    fs::write(&src, b"some data").unwrap();
    let torrent = tmp.path().join("data.torrent");
    fs::write(&torrent, b"precious").unwrap();

    let v = create_json(tmp.path(), &src, &torrent, &["--force"]);
    assert_eq!(
        inspect_json(tmp.path(), &torrent)["info_hash"],
        v["info_hash"]
    );
}

#[test]
fn create_of_a_missing_path_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("no such thing");
    let out = run(p2pctl(tmp.path()).arg("create").arg(&missing));
    let err = assert_fails_with_one_line(&out);
    assert!(
        err.contains("no such thing"),
        "stderr should name the path: {err}"
    );
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn create_of_an_empty_folder_says_there_is_nothing_to_share() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("empty");
    fs::create_dir_all(src.join("sub/dir")).unwrap();
    let out = run(p2pctl(tmp.path()).arg("create").arg(&src));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("nothing to share"), "stderr: {err}");
}

#[test]
fn create_of_a_folder_of_only_hidden_files_says_there_is_nothing_to_share() {
    let tmp = TempDir::new().unwrap();
    let src = write_tree(&tmp.path().join("dots"), &[(".env", 10), (".git/x", 10)]);
    let out = run(p2pctl(tmp.path()).arg("create").arg(&src));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("nothing to share"), "stderr: {err}");
}

#[test]
fn create_skips_hidden_files_unless_include_hidden() {
    let tmp = TempDir::new().unwrap();
    let src = write_tree(
        &tmp.path().join("proj"),
        &[
            ("visible.txt", 1000),
            (".hidden", 2000),
            (".git/config", 3000),
            ("sub/.also-hidden", 4000),
            ("sub/shown", 5000),
        ],
    );
    let paths = |v: &Value| -> Vec<String> {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let default = create_json(tmp.path(), &src, &tmp.path().join("a.torrent"), &[]);
    assert_eq!(paths(&default), ["proj/sub/shown", "proj/visible.txt"]);
    assert_eq!(default["total_size"], 6000);

    let all = create_json(
        tmp.path(),
        &src,
        &tmp.path().join("b.torrent"),
        &["--include-hidden"],
    );
    assert_eq!(
        paths(&all),
        [
            "proj/.git/config",
            "proj/.hidden",
            "proj/sub/.also-hidden",
            "proj/sub/shown",
            "proj/visible.txt",
        ]
    );
    assert_eq!(all["total_size"], 15_000);
}

#[cfg(unix)]
#[test]
fn create_fails_on_a_dangling_symlink() {
    let tmp = TempDir::new().unwrap();
    let src = write_tree(&tmp.path().join("d"), &[("real", 10)]);
    std::os::unix::fs::symlink(tmp.path().join("gone"), src.join("link")).unwrap();
    let out = run(p2pctl(tmp.path()).arg("create").arg(&src));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("dangling symlink"), "stderr: {err}");
}

#[cfg(unix)]
#[test]
fn create_fails_on_a_symlink_loop() {
    let tmp = TempDir::new().unwrap();
    let src = write_tree(&tmp.path().join("d"), &[("sub/real", 10)]);
    std::os::unix::fs::symlink(&src, src.join("sub/back")).unwrap();
    let out = run(p2pctl(tmp.path()).arg("create").arg(&src));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("loops"), "stderr: {err}");
}

#[test]
fn create_puts_each_tracker_flag_in_its_own_tier() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("f");
    fs::write(&src, b"tiers").unwrap();
    let torrent = tmp.path().join("f.torrent");
    create_json(
        tmp.path(),
        &src,
        &torrent,
        &[
            "-t",
            "http://a.invalid/announce,http://b.invalid/announce",
            "-t",
            "udp://c.invalid:6969/announce",
        ],
    );
    let v = inspect_json(tmp.path(), &torrent);
    assert_eq!(
        v["tracker_tiers"],
        serde_json::json!([
            ["http://a.invalid/announce", "http://b.invalid/announce"],
            ["udp://c.invalid:6969/announce"]
        ])
    );
    assert_eq!(
        v["trackers"],
        serde_json::json!([
            "http://a.invalid/announce",
            "http://b.invalid/announce",
            "udp://c.invalid:6969/announce"
        ])
    );
    let bytes = fs::read(&torrent).unwrap();
    assert_eq!(
        dict_value(&bytes, "announce"),
        b"25:http://a.invalid/announce",
        "announce should be the first tracker of the first tier"
    );
}

#[test]
fn inspect_prints_a_human_summary_without_json() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("notes.txt");
    fs::write(&src, b"notes").unwrap();
    let torrent = tmp.path().join("n.torrent");
    let v = create_json(tmp.path(), &src, &torrent, &[]);
    let out = run(p2pctl(tmp.path()).arg("inspect").arg(&torrent));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(v["info_hash"].as_str().unwrap()), "{text}");
    assert!(text.contains("notes.txt"), "{text}");
}

// ---------- inspect: magnets and bad input ----------

#[test]
fn inspect_reads_the_magnet_that_create_printed() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("my file.iso");
    fs::write(&src, pseudo_random_bytes(70_000, 3)).unwrap();
    let created = create_json(
        tmp.path(),
        &src,
        &tmp.path().join("t.torrent"),
        &["-t", TRACKER],
    );
    let magnet = created["magnet"].as_str().unwrap();
    let v = inspect_json(tmp.path(), magnet);
    assert_eq!(v["info_hash"], created["info_hash"]);
    assert_eq!(v["name"], "my file.iso");
    assert_eq!(v["trackers"], serde_json::json!([TRACKER]));
}

#[test]
fn inspect_reads_a_hand_written_magnet_with_a_base32_hash() {
    let tmp = TempDir::new().unwrap();
    // base32 of 0x00 * 20 is 32 'A's.
    let magnet = "magnet:?xt=urn:btih:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&dn=hello%20world&xl=42";
    let v = inspect_json(tmp.path(), magnet);
    assert_eq!(v["info_hash"], "0".repeat(40));
    assert_eq!(v["name"], "hello world");
    assert_eq!(v["total_size"], 42);
    assert!(v["select_only"].is_null());
    let so = inspect_json(tmp.path(), format!("{magnet}&so=0,2,4-6"));
    assert_eq!(so["select_only"], "0,2,4-6");
}

#[test]
fn inspect_of_a_bad_magnet_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    for bad in [
        "magnet:?xt=urn:btih:1234",
        "magnet:?dn=no-hash",
        "magnet:?xt=urn:btih:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "magnet:?xt=urn:btih:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&so=6-4",
    ] {
        let out = run(p2pctl(tmp.path()).args(["inspect", bad]));
        assert_fails_with_one_line(&out);
    }
}

#[test]
fn inspect_of_a_missing_file_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("nope.torrent");
    let out = run(p2pctl(tmp.path()).arg("inspect").arg(&missing));
    let err = assert_fails_with_one_line(&out);
    assert!(err.contains("nope.torrent"), "stderr: {err}");
}

#[test]
fn inspect_of_a_folder_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let out = run(p2pctl(tmp.path()).arg("inspect").arg(tmp.path()));
    assert_fails_with_one_line(&out);
}

#[test]
fn inspect_of_an_invalid_torrent_fails_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("f");
    fs::write(&src, pseudo_random_bytes(50_000, 4)).unwrap();
    let good = tmp.path().join("good.torrent");
    create_json(tmp.path(), &src, &good, &[]);
    let good = fs::read(&good).unwrap();

    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("text", b"this is not bencode\n"),
        ("list", b"li1ei2ee"),
        ("no-info", b"d8:announce3:urle"),
        ("truncated", &good[..good.len() / 2]),
    ];
    for (name, bytes) in cases {
        let path = tmp.path().join(format!("{name}.torrent"));
        fs::write(&path, bytes).unwrap();
        let out = run(p2pctl(tmp.path()).arg("inspect").arg(&path));
        let err = assert_fails_with_one_line(&out);
        assert!(
            err.contains(name),
            "{name}: stderr should name the file: {err}"
        );
    }
}

// ---------- usage errors ----------

#[test]
fn no_arguments_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    assert_usage_error(&run(&mut p2pctl(tmp.path())));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    assert_usage_error(&run(p2pctl(tmp.path()).args([
        "create",
        "--frobnicate",
        "x",
    ])));
    assert_usage_error(&run(p2pctl(tmp.path()).args([
        "--frobnicate",
        "inspect",
        "x",
    ])));
    assert_usage_error(&run(p2pctl(tmp.path()).args(["no-such-command"])));
}

#[test]
fn a_missing_argument_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    assert_usage_error(&run(p2pctl(tmp.path()).args(["create"])));
    assert_usage_error(&run(p2pctl(tmp.path()).args(["inspect"])));
}

#[test]
fn a_bad_piece_length_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("f");
    fs::write(&src, b"data").unwrap();
    let mut wrong = Vec::new();
    for bad in ["1G", "abc", "-5", "3000", "8K", "512M", "0"] {
        let out = run(p2pctl(tmp.path())
            .args(["create", "--piece-length", bad, "-o"])
            .arg(tmp.path().join("f.torrent"))
            .arg(&src));
        if out.status.code() != Some(2) {
            wrong.push(format!("{bad}: {:?}, {}", out.status, stderr(&out).trim()));
        }
        assert!(
            !tmp.path().join("f.torrent").exists(),
            "{bad}: wrote a torrent"
        );
    }
    assert!(
        wrong.is_empty(),
        "these --piece-length values should be usage errors (exit 2):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn zero_threads_is_a_usage_error() {
    let tmp = TempDir::new().unwrap();
    assert_usage_error(&run(p2pctl(tmp.path()).args([
        "create",
        "--threads",
        "0",
        "x",
    ])));
}

#[test]
fn help_and_version_succeed() {
    let tmp = TempDir::new().unwrap();
    for args in [&["--help"][..], &["--version"], &["create", "--help"]] {
        let out = run(p2pctl(tmp.path()).args(args));
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    }
}

// ---------- no daemon ----------

#[test]
fn create_and_inspect_need_no_daemon_or_environment() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("f");
    fs::write(&src, b"standalone").unwrap();
    let torrent = tmp.path().join("f.torrent");
    let bin = env!("CARGO_BIN_EXE_p2pctl");
    let out = run(Command::new(bin)
        .env_clear()
        .args(["--json", "create", "-o"])
        .arg(&torrent)
        .arg(&src));
    let created = json_ok(&out);
    let out = run(Command::new(bin)
        .env_clear()
        .args(["inspect", "--json"])
        .arg(&torrent));
    assert_eq!(json_ok(&out)["info_hash"], created["info_hash"]);
    let magnet = created["magnet"].as_str().unwrap();
    let out = run(Command::new(bin).env_clear().args(["inspect", magnet]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
}
