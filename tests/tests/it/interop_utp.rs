//! uTP (BEP 29) with a real client, both ways: python3-libtorrent with TCP
//! switched off (`enable_outgoing_tcp` and `enable_incoming_tcp` false, uTP
//! at its defaults) downloads from a p2pd at its defaults, and seeds to
//! one. The file is checked by its SHA-1, and `p2pctl peers --json` must
//! show the peer over uTP while it is connected. The far side is
//! rate-limited so that the connection is still there to be seen.

#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use p2p_tests::e2e::{Proc as DaemonProc, bin, ok_json, start, wait_until};

const FILE_BYTES: u64 = 6 << 20;
/// Bytes per second the far side sends or takes: a few seconds of transfer.
const FAR_RATE: u64 = 1_500_000;
const DOWNLOAD_SECS: u64 = 120;

/// A libtorrent script from `common` that speaks uTP only, with `limits`
/// (Python settings entries) added to its session settings and applied to
/// loopback peers too: libtorrent puts local peers in a class of their own
/// that no limit holds, and a transfer of our uTP at loopback speed is over
/// before `p2pctl peers` can show who carried it.
fn utp_only(script: &str, limits: &str) -> String {
    let tcp_only = r#""enable_outgoing_utp": False, "enable_incoming_utp": False,"#;
    let add = "h = s.add_torrent(";
    assert!(
        script.contains(tcp_only) && script.contains(add),
        "the script's settings changed"
    );
    script
        .replace(
            tcp_only,
            &format!(r#""enable_outgoing_tcp": False, "enable_incoming_tcp": False, {limits}"#),
        )
        .replace(
            add,
            &format!(
                "f = lt.ip_filter()\n\
                 f.add_rule(\"0.0.0.0\", \"255.255.255.255\", 1 << s.global_peer_class_id)\n\
                 s.set_peer_class_filter(f)\n{add}"
            ),
        )
}

/// A p2pd at its defaults (but for the tracker); returns its control socket.
fn p2pd(home: &Path) -> (DaemonProc, PathBuf) {
    fs::create_dir_all(home).unwrap();
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            NO_TRACKER,
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
}

fn files(name: &str) -> Files {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["seed", "leech", "logs"] {
        fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let original = tmp.path().join("seed").join(name);
    write_random_file(&original, FILE_BYTES, 0x07b);
    let torrent = tmp.path().join(format!("{name}.torrent"));
    let meta = mktorrent(&original, &torrent, 18, NO_TRACKER);
    Files {
        hex: meta.info_hash.to_hex(),
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

#[test]
fn libtorrent_over_utp_only_downloads_from_p2pd() {
    require_libtorrent();
    let f = files("to libtorrent over utp.bin");
    let (_p2pd, socket) = p2pd(&f.path("p2pd"));
    ok_json(
        &socket,
        &[
            "download",
            f.torrent.to_str().unwrap(),
            "--to",
            f.path("seed").to_str().unwrap(),
            "--detach",
        ],
    );
    wait_until("p2pd to seed", 60, || state(&socket, &f.hex) == "seeding");
    let port = ok_json(&socket, &["status"])["listen_port"]
        .as_u64()
        .unwrap();
    let script = utp_only(
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
    assert_eq!(peer["transport"], "utp", "{peer}");
    assert_eq!(peer["outgoing"], false, "{peer}");
    out.wait_line("done", Duration::from_secs(DOWNLOAD_SECS), &mut lt);
    assert_same_file(&f.original, &f.downloaded());
}

#[test]
fn p2pd_downloads_from_libtorrent_over_utp_only() {
    require_libtorrent();
    let f = files("from libtorrent over utp.bin");
    let script = utp_only(
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
    let (_p2pd, socket) = p2pd(&f.path("p2pd"));
    // A magnet link naming the seeder: the metadata comes over uTP too.
    // p2pd dials TCP first, which libtorrent closes at once: then uTP.
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
    assert_eq!(peer["transport"], "utp", "{peer}");
    assert_eq!(peer["outgoing"], true, "{peer}");
    wait_until("p2pd to finish", DOWNLOAD_SECS, || {
        state(&socket, &f.hex) == "seeding"
    });
    assert_same_file(&f.original, &f.downloaded());
}
