//! An https:// tracker end to end: trackerd behind a TLS terminator whose
//! certificate comes from a private CA, daemons that trust that CA through
//! `tracker_ca_file`. Logins, the catalog and announces all go over TLS,
//! and a daemon that does not trust the CA is refused with a clear error.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{sha1_file, write_random_file};
use p2p_tests::e2e::{Proc, bin, ok_json, p2pctl, p2pctl_within, sign_up, start, wait_until};
use p2p_tests::tls_proxy::TlsProxy;
use serde_json::Value;

/// trackerd on a free port whose personalised .torrents name the proxy's
/// https:// address; the proxy forwards to it.
fn tracker_behind_tls(dir: &Path) -> (Proc, TlsProxy) {
    let proxy = TlsProxy::start();
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("trackerd.toml");
    std::fs::write(&config, format!("public_url = \"{}\"\n", proxy.base_url())).unwrap();
    let (tracker, base) = start(
        Command::new(bin("trackerd"))
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir),
        "listening on ",
    );
    let addr = base.trim_start_matches("http://").parse().unwrap();
    proxy.forward_to(addr);
    (tracker, proxy)
}

/// p2pd with `announce` as its tracker, trusting `ca_file` when given.
fn daemon_with_ca(home: &Path, announce: &str, ca_file: Option<&Path>) -> (Proc, PathBuf) {
    let mut cmd = Command::new(bin("p2pd"));
    cmd.arg("--home")
        .arg(home)
        .args(["--listen-port", "0", "--tracker", announce])
        .env_remove("P2PD_TRACKER_CA_FILE");
    if let Some(ca) = ca_file {
        cmd.env("P2PD_TRACKER_CA_FILE", ca);
    }
    let (p, socket) = start(&mut cmd, "control socket at ");
    (p, PathBuf::from(socket))
}

fn names(v: &Value) -> Vec<String> {
    v["torrents"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_file_shared_through_an_https_tracker_with_a_private_ca_downloads_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, proxy) = tracker_behind_tls(&tmp.path().join("tracker"));
    let ca = tmp.path().join("tracker-ca.pem");
    std::fs::write(&ca, &proxy.ca_pem).unwrap();
    let announce = format!("{}/announce", proxy.base_url());
    let (_a, alice) = daemon_with_ca(&tmp.path().join("alice"), &announce, Some(&ca));
    let (_b, bob) = daemon_with_ca(&tmp.path().join("bob"), &announce, Some(&ca));

    // Register and log in over https.
    sign_up(&alice, "alice");
    sign_up(&bob, "bob");
    let status = ok_json(&alice, &["status"]);
    assert_eq!(status["logged_in_as"], "alice", "{status}");
    wait_until("alice's tracker check over https", 60, || {
        ok_json(&alice, &["status"])["tracker"]["state"] == "ok"
    });

    // A file dropped into alice's shared/ reaches the public catalog.
    let original = tmp.path().join("original.bin");
    write_random_file(&original, 1_200_000, 7);
    std::fs::copy(&original, tmp.path().join("alice/shared/holiday.bin")).unwrap();
    wait_until("holiday.bin in the public catalog", 60, || {
        names(&ok_json(&bob, &["files"])) == ["holiday.bin"]
    });

    // bob downloads it by name: its .torrent announces to the https URL.
    let out = p2pctl_within(&bob, &["--json", "download", "holiday.bin"], 120);
    assert!(
        out.status.success(),
        "download: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha1_file(&tmp.path().join("bob/downloads/holiday.bin")),
        sha1_file(&original)
    );

    // Every announce went through the TLS terminator, with the passkey,
    // both alice's (seeding) and bob's (completed).
    wait_until("bob's completed announce through TLS", 60, || {
        proxy
            .request_lines()
            .iter()
            .any(|l| l.starts_with("GET /announce/") && l.contains("event=completed"))
    });
    let announces: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("GET /announce"))
        .collect();
    assert!(
        announces
            .iter()
            .filter(|l| l.contains("event=started"))
            .count()
            >= 2,
        "{announces:#?}"
    );
    assert!(
        announces.iter().all(|l| l.starts_with("GET /announce/")),
        "an announce without the passkey: {announces:#?}"
    );
}

#[test]
fn an_https_tracker_signed_by_an_unknown_ca_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, proxy) = tracker_behind_tls(&tmp.path().join("tracker"));
    let announce = format!("{}/announce", proxy.base_url());
    let (_c, carol) = daemon_with_ca(&tmp.path().join("carol"), &announce, None);

    let out = p2pctl(
        &carol,
        &["register", "carol", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tracker unreachable") && err.contains("certificate"),
        "{err}"
    );
    assert!(err.contains("UnknownIssuer"), "{err}");

    wait_until("the tracker check to fail on the certificate", 60, || {
        let tracker = &ok_json(&carol, &["status"])["tracker"];
        tracker["state"] == "unreachable"
            && tracker["reason"]
                .as_str()
                .is_some_and(|r| r.contains("certificate"))
    });
    // Nothing got through the TLS handshake.
    assert!(
        proxy.request_lines().is_empty(),
        "{:?}",
        proxy.request_lines()
    );
}
