//! Message Stream Encryption with real clients, both ways: a p2pd that
//! requires encryption (`encryption = "require"`) downloads from and
//! uploads to python3-libtorrent and transmission-daemon that require it
//! too (libtorrent: `pe_forced` both ways at `pe_rc4`; Transmission:
//! `"encryption": 2`). The file is checked by its SHA-1, and `p2pctl peers
//! --json` must show the peer as encrypted while it is connected. The far
//! side is rate-limited so that the connection is still there to be seen.

#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use p2p_tests::e2e::{Proc as DaemonProc, bin, http, ok_json, start, trackerd, wait_until};
use serde_json::Value;

const FILE_BYTES: u64 = 6 << 20;
/// Bytes per second the far side sends or takes: a few seconds of transfer.
const FAR_RATE: u64 = 1_500_000;
const DOWNLOAD_SECS: u64 = 120;

/// libtorrent settings that refuse anything but RC4 (enc_policy 0 is
/// pe_forced, enc_level 2 is pe_rc4).
const LT_FORCED_RC4: &str = r#""out_enc_policy": 0, "in_enc_policy": 0, "allowed_enc_level": 2,
    "prefer_rc4": True, "#;

/// A libtorrent script from `common` with RC4 forced and `limits` (Python
/// settings entries) added to its session settings.
fn forced_rc4(script: &str, limits: &str) -> String {
    let anchor = r#""enable_natpmp": False,"#;
    assert!(script.contains(anchor), "the script's settings changed");
    script.replace(anchor, &format!("{anchor} {LT_FORCED_RC4}{limits}"))
}

/// A p2pd requiring encryption, with `extra` config lines; returns its
/// control socket.
fn p2pd_requiring(home: &Path, extra: &str) -> (DaemonProc, PathBuf) {
    fs::create_dir_all(home).unwrap();
    let config = home.join("p2pd.toml");
    fs::write(&config, format!("encryption = \"require\"\n{extra}")).unwrap();
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            NO_TRACKER,
            "--config",
            config.to_str().unwrap(),
        ]),
        "control socket at ",
    );
    (p, PathBuf::from(socket))
}

struct Files {
    tmp: tempfile::TempDir,
    original: PathBuf,
    torrent: PathBuf,
    hex: String,
    info_hash: [u8; 20],
}

fn files(name: &str, announce: Option<&str>) -> Files {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["seed", "leech", "logs"] {
        fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let original = tmp.path().join("seed").join(name);
    write_random_file(&original, FILE_BYTES, 0x3e5);
    let torrent = tmp.path().join(format!("{name}.torrent"));
    let meta = mktorrent(&original, &torrent, 18, announce.unwrap_or(NO_TRACKER));
    Files {
        hex: meta.info_hash.to_hex(),
        info_hash: meta.info_hash.0,
        tmp,
        original,
        torrent,
    }
}

impl Files {
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn downloaded(&self) -> PathBuf {
        self.path("leech").join(self.original.file_name().unwrap())
    }
}

/// Waits until trackerd's scrape of `f` has (complete, incomplete)
/// satisfying `pred`: p2pd must hear of Transmission in its first announce,
/// as Transmission never dials it.
fn wait_listed(base: &str, f: &Files, what: &str, pred: impl Fn(u64, u64) -> bool) {
    let q: String = f.info_hash.iter().map(|b| format!("%{b:02X}")).collect();
    wait_until(what, 30, || {
        let (status, body) = http(base, "GET", &format!("/scrape?info_hash={q}"), None, None);
        assert_eq!(status, 200);
        let num = |key: &str| -> Option<u64> {
            let k = format!("{}:{key}i", key.len());
            let at = body.windows(k.len()).position(|w| w == k.as_bytes())? + k.len();
            let end = at + body[at..].iter().position(|&b| b == b'e')?;
            std::str::from_utf8(&body[at..end]).ok()?.parse().ok()
        };
        pred(num("complete").unwrap_or(0), num("incomplete").unwrap_or(0))
    });
}

/// Has p2pd seed `f` from `seed/` (it checks the data first).
fn p2pd_seeds(socket: &Path, f: &Files) {
    ok_json(
        socket,
        &[
            "download",
            f.torrent.to_str().unwrap(),
            "--to",
            f.path("seed").to_str().unwrap(),
            "--detach",
        ],
    );
    wait_until("p2pd to seed", 60, || state(socket, &f.hex) == "seeding");
}

#[test]
fn libtorrent_requiring_rc4_downloads_from_a_p2pd_that_requires_encryption() {
    require_libtorrent();
    let f = files("to libtorrent.bin", None);
    let (_p2pd, socket) = p2pd_requiring(&f.path("p2pd"), "");
    p2pd_seeds(&socket, &f);
    let port = ok_json(&socket, &["status"])["listen_port"]
        .as_u64()
        .unwrap();
    let script = forced_rc4(
        LIBTORRENT_LEECHER,
        &format!(r#""download_rate_limit": {FAR_RATE}, "#),
    );
    let (mut lt, out) = libtorrent(
        "libtorrent-leecher",
        &script,
        &[
            f.torrent.to_str().unwrap().to_owned(),
            f.path("leech").to_str().unwrap().to_owned(),
            port.to_string(),
        ],
        &f.path("logs"),
    );
    let peer = first_peer(&socket, &f.hex);
    assert_eq!(peer["encrypted"], true, "{peer}");
    out.wait_line("done", Duration::from_secs(DOWNLOAD_SECS), &mut lt);
    assert_same_file(&f.original, &f.downloaded());
}

#[test]
fn a_p2pd_that_requires_encryption_downloads_from_libtorrent_requiring_rc4() {
    require_libtorrent();
    let f = files("from libtorrent.bin", None);
    let script = forced_rc4(
        LIBTORRENT_SEEDER,
        &format!(r#""upload_rate_limit": {FAR_RATE}, "#),
    );
    let (mut lt, out) = libtorrent(
        "libtorrent-seeder",
        &script,
        &[
            f.torrent.to_str().unwrap().to_owned(),
            f.path("seed").to_str().unwrap().to_owned(),
        ],
        &f.path("logs"),
    );
    let port = out.wait_line("ready ", Duration::from_secs(30), &mut lt);
    let (_p2pd, socket) = p2pd_requiring(&f.path("p2pd"), "");
    // A magnet link naming the seeder: the metadata comes over MSE too.
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:{}",
        f.hex,
        port.trim()
    );
    ok_json(
        &socket,
        &[
            "download",
            &magnet,
            "--to",
            f.path("leech").to_str().unwrap(),
            "--detach",
        ],
    );
    let peer = first_peer(&socket, &f.hex);
    assert_eq!(peer["encrypted"], true, "{peer}");
    wait_until("p2pd to finish", DOWNLOAD_SECS, || {
        state(&socket, &f.hex) == "seeding"
    });
    assert_same_file(&f.original, &f.downloaded());
}

/// Transmission requiring encryption, rate-limited by `limit` keys.
fn transmission(f: &Files, name: &str, dir: &str, limit: &[(&str, Value)]) -> Transmission {
    let mut extra = vec![("encryption", Value::from(2))];
    extra.extend(limit.iter().cloned());
    Transmission::start_with(name, &f.path(name), &f.path(dir), &f.path("logs"), &extra)
}

#[test]
fn transmission_requiring_encryption_downloads_from_a_p2pd_that_requires_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let f = files("to transmission.bin", Some(&format!("{base}/announce")));
    let mut tr = transmission(
        &f,
        "transmission-leecher",
        "leech",
        &[
            ("speed-limit-down", Value::from(FAR_RATE / 1000)),
            ("speed-limit-down-enabled", Value::from(true)),
        ],
    );
    tr.add(&f.torrent, &f.path("leech"));
    // Transmission never dials loopback: p2pd dials it, from trackerd's list.
    wait_listed(&base, &f, "trackerd to list Transmission", |_, i| i >= 1);
    let (_p2pd, socket) = p2pd_requiring(&f.path("p2pd"), "");
    p2pd_seeds(&socket, &f);
    let peer = first_peer(&socket, &f.hex);
    assert_eq!(peer["encrypted"], true, "{peer}");
    tr.wait_complete(
        "Transmission to download from p2pd",
        Duration::from_secs(DOWNLOAD_SECS),
    );
    assert_same_file(&f.original, &f.downloaded());
}

#[test]
fn a_p2pd_that_requires_encryption_downloads_from_transmission_requiring_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = trackerd(&tmp.path().join("tracker"));
    let f = files("from transmission.bin", Some(&format!("{base}/announce")));
    let mut tr = transmission(
        &f,
        "transmission-seeder",
        "seed",
        &[
            ("speed-limit-up", Value::from(FAR_RATE / 1000)),
            ("speed-limit-up-enabled", Value::from(true)),
        ],
    );
    tr.add(&f.torrent, &f.path("seed"));
    tr.wait_complete("Transmission to seed", Duration::from_secs(30));
    wait_listed(&base, &f, "trackerd to list Transmission", |c, _| c >= 1);
    let (_p2pd, socket) = p2pd_requiring(&f.path("p2pd"), "");
    ok_json(
        &socket,
        &[
            "download",
            f.torrent.to_str().unwrap(),
            "--to",
            f.path("leech").to_str().unwrap(),
            "--detach",
        ],
    );
    let peer = first_peer(&socket, &f.hex);
    assert_eq!(peer["encrypted"], true, "{peer}");
    wait_until("p2pd to finish", DOWNLOAD_SECS, || {
        state(&socket, &f.hex) == "seeding"
    });
    assert_same_file(&f.original, &f.downloaded());
}
