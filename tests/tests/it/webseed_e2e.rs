//! Web seeds (BEP 19) end to end: a torrent made by Debian's mktorrent with
//! a `url-list` (`-w`), its file served over HTTP with ranges, downloaded
//! by a real p2pd through `p2pctl download` with no peer at all; `p2pctl
//! peers` then lists the web seed and what it sent.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::process::Command;

use p2p_proto::metainfo::Metainfo;
use p2p_tests::e2e::{daemon, p2pctl_within, succeed, trackerd};
use p2p_tests::range_server::{Behaviour, RangeServer};
use serde_json::Value;

use crate::common::*;

#[test]
fn p2pctl_downloads_a_torrent_from_its_web_seed_with_no_peer_at_all() {
    const LEN: u64 = (3 << 20) + 5;
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    // A space in the name: the URL must carry it percent-encoded.
    let src = www.join("web file.bin");
    write_random_file(&src, LEN, 0x3eb);
    // The server's tasks run on this runtime while the test drives processes.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let web = rt
        .block_on(RangeServer::start(&www, Behaviour::default()))
        .unwrap();
    let base = web.url("");
    let torrent = tmp.path().join("web.torrent");
    let made = Command::new(require_tool("mktorrent"))
        .args(["-l", "16", "-a", NO_TRACKER, "-w", &base, "-o"])
        .arg(&torrent)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let meta = Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    assert_eq!(meta.web_seeds, [base.as_str()]);

    let (_tracker, url) = trackerd(&tmp.path().join("tracker"));
    let (_leech, sock) = daemon(&tmp.path().join("leech"), &format!("{url}/announce"));
    let out = p2pctl_within(&sock, &["download", torrent.to_str().unwrap()], 120);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_file(&src, &tmp.path().join("leech/downloads/web file.bin"));
    assert_eq!(web.served(), LEN, "every byte came once from the web seed");

    let short = &meta.info_hash.to_hex()[..8];
    let peers: Value = serde_json::from_str(&succeed(&sock, &["--json", "peers", short])).unwrap();
    let seeds: Vec<&Value> = peers
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] == "webseed")
        .collect();
    let [seed] = seeds[..] else {
        panic!("one web seed expected: {peers}")
    };
    assert_eq!(seed["addr"], base.as_str());
    assert_eq!(seed["downloaded"], LEN);
    let table = succeed(&sock, &["peers", short]);
    assert!(
        table.contains("webseed") && table.contains(&base),
        "{table}"
    );
}
