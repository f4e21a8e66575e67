//! Local Service Discovery (BEP 14, issue 18 item 3) on a LAN the test
//! builds out of network namespaces: two p2pd daemons, each in a namespace
//! of its own, joined by a bridge in a third, with no tracker anywhere.
//! bob is given a public and a private .torrent; alice, started after him,
//! seeds both. bob finds alice by LSD alone and downloads the public file;
//! `p2pctl peers` says the peer was found by `lsd`.
//!
//! In the bridge's namespace `lsd-probe` records every datagram sent to the
//! LSD groups: the public info-hash is in them (so the check can fail) and
//! the private one never is. The probe also forges an announce of both
//! info-hashes pointing at its own TCP port: bob dials it for the public
//! torrent and never for the private one.
//!
//! Needs root (`ip netns`); fails, never skips, without it.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{sha1_file, write_random_file};
use p2p_proto::infohash::InfoHash;
use p2p_proto::lsd::Announce;
use p2p_proto::metainfo::Metainfo;
use p2p_tests::e2e::{Proc, bin, ok_json, start, succeed, wait_until};

const ALICE_IP: &str = "10.77.0.1";
const BOB_IP: &str = "10.77.0.2";
const PROBE_IP: &str = "10.77.0.254";
const PUBLIC_BYTES: u64 = 8 << 20;

/// Network namespaces made for one test run, deleted by name when dropped
/// (with the bridge and veth pairs inside them). The host's own network is
/// never touched: every link is created inside the namespaces.
struct Lan {
    names: Vec<String>,
}

impl Lan {
    /// `bridge` holds br0 (the probe's address); `hosts` each get one veth
    /// `eth0` into br0 with the address given, loopback up and a multicast
    /// route.
    fn build(tag: &str, hosts: &[(&str, &str)]) -> Lan {
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "this test builds a LAN of network namespaces (ip netns) and needs root; \
             CI runs it as root"
        );
        let mut lan = Lan { names: Vec::new() };
        let bridge = lan.add(&format!("{tag}-br"));
        ip(&["-n", &bridge, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            // Flood multicast to every port: no IGMP querier here.
            "mcast_snooping",
            "0",
        ]);
        for (i, (name, addr)) in hosts.iter().enumerate() {
            let ns = lan.add(&format!("{tag}-{name}"));
            let port = format!("p{i}");
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&[
                "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0"]);
            ip(&["-n", &bridge, "link", "set", &port, "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
        }
        ip(&[
            "-n",
            &bridge,
            "addr",
            "add",
            &format!("{PROBE_IP}/24"),
            "dev",
            "br0",
        ]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        ip(&["-n", &bridge, "route", "add", "224.0.0.0/4", "dev", "br0"]);
        lan
    }

    fn add(&mut self, name: &str) -> String {
        ip(&["netns", "add", name]);
        self.names.push(name.to_owned());
        name.to_owned()
    }

    /// `ip netns exec NS PROGRAM`: the program runs on this LAN.
    fn exec(&self, ns: &str, program: &Path) -> Command {
        assert!(self.names.iter().any(|n| n == ns), "{ns} is not ours");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(program);
        cmd
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (iproute2): {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `lsd-probe` in the bridge's namespace, and every line it printed.
struct Probe {
    _proc: Proc,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Probe {
    fn start(lan: &Lan, ns: &str) -> Probe {
        let mut child = lan
            .exec(ns, Path::new(env!("CARGO_BIN_EXE_lsd-probe")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut probe = Probe {
            _proc: Proc(child),
            stdin,
            lines,
            port: 0,
        };
        let ready = probe.wait_line("lsd-probe ready", |l| l.starts_with("ready "));
        probe.port = ready["ready ".len()..].parse().unwrap();
        probe
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn wait_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| pred(l)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the probe printed:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn forge(&mut self, hashes: &[InfoHash]) {
        let hex: Vec<String> = hashes.iter().map(InfoHash::to_hex).collect();
        writeln!(self.stdin, "forge {}", hex.join(" ")).unwrap();
        self.wait_line("the forged announce", |l| l.starts_with("forged "));
    }

    /// Every datagram it saw: (source address, bytes).
    fn datagrams(&self) -> Vec<(String, Vec<u8>)> {
        self.lines()
            .iter()
            .filter_map(|l| {
                let mut parts = l.strip_prefix("datagram ")?.split(' ');
                let from = parts.next()?.to_owned();
                Some((from, hex_decode(parts.next()?)))
            })
            .collect()
    }
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A p2pd on the LAN, with no tracker; returns it, its socket and peer port.
fn daemon(lan: &Lan, ns: &str, home: &Path) -> (Proc, PathBuf, u16) {
    let (proc, socket) = start(
        lan.exec(ns, &bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            "",
        ]),
        "control socket at ",
    );
    let socket = PathBuf::from(socket);
    let port = ok_json(&socket, &["status"])["listen_port"]
        .as_u64()
        .unwrap() as u16;
    (proc, socket, port)
}

/// `p2pctl create` without a tracker; returns the .torrent and its info-hash.
fn create(data: &Path, private: bool) -> (PathBuf, InfoHash) {
    let out = data.with_extension("torrent");
    let mut cmd = Command::new(bin("p2pctl"));
    cmd.arg("create").arg(data).arg("-o").arg(&out);
    if private {
        cmd.arg("--private");
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "p2pctl create {}", data.display());
    let meta = Metainfo::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(meta.info.private, private);
    (out, meta.info_hash)
}

fn torrent<'a>(list: &'a serde_json::Value, ih: &InfoHash) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["info_hash"] == ih.to_hex().as_str())
        .unwrap_or_else(|| panic!("{ih} is not in {list}"))
}

#[test]
fn two_daemons_without_a_tracker_find_each_other_on_the_lan_and_a_private_torrent_stays_off_it() {
    let tmp = tempfile::tempdir().unwrap();
    let lan = Lan::build(
        &format!("p2plsd{}", std::process::id()),
        &[("alice", ALICE_IP), ("bob", BOB_IP)],
    );
    let [bridge, alice_ns, bob_ns] = [0, 1, 2].map(|i| lan.names[i].clone());
    let mut probe = Probe::start(&lan, &bridge);

    let public = tmp.path().join("data/public.bin");
    let private = tmp.path().join("data/private.bin");
    std::fs::create_dir_all(public.parent().unwrap()).unwrap();
    write_random_file(&public, PUBLIC_BYTES, 0x15d);
    write_random_file(&private, 1 << 20, 0x15e);
    let (public_torrent, public_ih) = create(&public, false);
    let (private_torrent, private_ih) = create(&private, true);

    // bob wants both before anyone on the LAN has them.
    let (_bob, bob, bob_port) = daemon(&lan, &bob_ns, &tmp.path().join("bob"));
    for t in [&public_torrent, &private_torrent] {
        succeed(&bob, &["download", t.to_str().unwrap(), "--detach"]);
    }

    // An announce of both pointing at the probe: bob dials it for the
    // public torrent (so he did read that announce) and never for the private one.
    probe.forge(&[private_ih, public_ih]);
    let public_hex = public_ih.to_hex();
    probe.wait_line("bob dialing the probe for the public torrent", |l| {
        l.starts_with(&format!("handshake {BOB_IP}:")) && l.ends_with(&public_hex)
    });

    // bob's own announce is out (a second after he added them) before
    // alice starts: so she does not hear of him, and he finds her.
    probe.wait_line("bob's announce", |l| {
        l.starts_with(&format!("datagram {BOB_IP}:"))
    });

    // alice seeds both, slowly enough for bob's peer list to be read mid-download.
    let (_alice, alice, alice_port) = daemon(&lan, &alice_ns, &tmp.path().join("alice"));
    succeed(&alice, &["config", "set", "upload_rate_limit", "1M"]);
    let alice_data = tmp.path().join("data");
    for t in [&public_torrent, &private_torrent] {
        succeed(
            &alice,
            &[
                "download",
                t.to_str().unwrap(),
                "--to",
                alice_data.to_str().unwrap(),
                "--detach",
            ],
        );
    }

    let mut found_by = None;
    let mut seen = std::collections::BTreeSet::new();
    wait_until("bob to complete public.bin", 180, || {
        let peers = ok_json(&bob, &["peers", &public_hex]);
        for p in peers.as_array().unwrap() {
            seen.insert(format!("{} {}", p["addr"], p["source"]));
        }
        if let Some(p) = peers.as_array().unwrap().iter().find(|p| {
            p["addr"]
                .as_str()
                .is_some_and(|a| a == format!("{ALICE_IP}:{alice_port}"))
        }) {
            found_by = Some(p["source"].clone());
        }
        torrent(&ok_json(&bob, &["list"]), &public_ih)["state"] == "seeding"
    });
    assert_eq!(
        sha1_file(&tmp.path().join("bob/downloads/public.bin")),
        sha1_file(&public)
    );
    assert_eq!(
        found_by,
        Some(serde_json::json!("lsd")),
        "bob's peer list never showed alice ({ALICE_IP}:{alice_port}) as found by LSD; it showed {seen:?}"
    );

    // The private torrent: nothing from anyone.
    let list = ok_json(&bob, &["list"]);
    let private_view = torrent(&list, &private_ih);
    assert_eq!(private_view["downloaded"], 0, "{private_view}");
    let private_hex = private_ih.to_hex();
    let lines = probe.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("handshake ") && l.ends_with(&private_hex)),
        "bob dialed the probe for the private torrent:\n{}",
        lines.join("\n")
    );

    // What went over the LAN: both daemons announced the public torrent
    // with their peer port; the private info-hash is in no datagram.
    let datagrams = probe.datagrams();
    for (ip, port, who) in [(ALICE_IP, alice_port, "alice"), (BOB_IP, bob_port, "bob")] {
        assert!(
            datagrams.iter().any(|(from, bytes)| {
                from.starts_with(&format!("{ip}:"))
                    && Announce::parse(bytes)
                        .is_ok_and(|a| a.port == port && a.info_hashes.contains(&public_ih))
            }),
            "no announce of the public torrent from {who} among {} datagrams",
            datagrams.len()
        );
    }
    for (from, bytes) in &datagrams {
        let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
        assert!(
            !text.contains(&private_hex)
                && !bytes.windows(20).any(|w| w == private_ih.0.as_slice()),
            "the private info-hash went over the LAN from {from}: {text:?}"
        );
        // Every datagram on the groups is a well-formed announce of ours.
        Announce::parse(bytes).unwrap_or_else(|e| panic!("{from}: {e}: {text:?}"));
    }
}
