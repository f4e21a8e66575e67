//! The DHT (BEP 5) between p2pd and libtorrent on 127.0.0.1, with no
//! tracker at all: a magnet link (info-hash and name only) resolves both
//! ways, p2pd's nodes file keeps the DHT across a restart, and a private
//! torrent's info-hash never leaves p2pd in a DHT datagram.
//!
//! The libtorrent side is two sessions in one process: a plain DHT node
//! (the "router") and the client, each told of the other and of p2pd's
//! node; p2pd bootstraps from the router. With only p2pd and one
//! libtorrent node, neither asks itself: the peer one announced would sit
//! on the other, the one never asked. libtorrent's guards against loopback
//! and same-IP nodes are switched off, and p2pd runs in server mode (a
//! read-only node is never put in libtorrent's routing table).

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::fs;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use p2p_tests::e2e::{Proc as Daemon, bin, ok_json, p2pctl_within, start};

/// libtorrent: a DHT router session and a client session. argv: MODE
/// (`seed` TORRENT or `fetch` MAGNET) TARGET SAVE_DIR P2PD_DHT_PORT.
/// Prints `router PORT` at once, `ready` once seeding (seed), `done` once
/// the download is complete (fetch).
const LT_DHT: &str = r#"
import sys, time
import libtorrent as lt
mode, target, save, p2pd = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def session():
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        # No public routers; loopback nodes, several on one IP, any ids.
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False, "dht_ignore_dark_internet": False,
        "dht_enforce_node_id": False,
        "alert_mask": lt.alert_category.error | lt.alert_category.status
            | lt.alert_category.dht | lt.alert_category.peer,
    })
router, client = session(), session()
print("router", router.listen_port(), flush=True)
if mode == "seed":
    h = client.add_torrent({"ti": lt.torrent_info(target), "save_path": save})
else:
    p = lt.parse_magnet_uri(target)
    p.save_path = save
    h = client.add_torrent(p)
last, said = 0, False
while True:
    if time.time() - last > 3:
        for s, other in ((router, client), (client, router)):
            s.add_dht_node(("127.0.0.1", other.listen_port()))
            s.add_dht_node(("127.0.0.1", p2pd))
        # libtorrent's own DHT announce (get_peers, then announce_peer)
        # comes every 15 minutes; the test cannot wait that long.
        h.force_dht_announce()
        st = h.status()
        print("status", st.state, "peers", st.num_peers, "pieces", st.num_pieces,
              "nodes", client.status().dht_nodes, router.status().dht_nodes,
              file=sys.stderr, flush=True)
        last = time.time()
    st = h.status()
    if mode == "seed" and st.is_seeding and not said:
        print("ready", flush=True)
        said = True
    if mode == "fetch" and st.is_seeding:
        print("done", flush=True)
        break
    for s in (router, client):
        for a in s.pop_alerts():
            print("alert:", a.message(), file=sys.stderr, flush=True)
    time.sleep(0.2)
"#;

/// Starts p2pd under `home` with `config` (TOML) and returns it with its
/// control socket.
fn p2pd(home: &Path, config: &str) -> (Daemon, PathBuf) {
    fs::create_dir_all(home).unwrap();
    let file = home.join("p2pd.toml");
    fs::write(&file, config).unwrap();
    let mut cmd = Command::new(bin("p2pd"));
    cmd.arg("--config").arg(&file).arg("--home").arg(home);
    let (p, socket) = start(&mut cmd, "control socket at ");
    (p, socket.into())
}

/// p2pd's config: peers and DHT on `port` (TCP and UDP), no tracker, the
/// DHT joined through `bootstrap`, answering other nodes from the start.
fn config(port: u16, bootstrap: &[u16]) -> String {
    let nodes: Vec<String> = bootstrap
        .iter()
        .map(|p| format!("\"127.0.0.1:{p}\""))
        .collect();
    format!(
        "listen_port = {port}\ntracker = \"\"\ndht_bootstrap = [{}]\ndht_server_mode = true\n",
        nodes.join(", ")
    )
}

/// Stops p2pd with SIGTERM (it writes its nodes file) and waits for it.
fn stop(mut daemon: Daemon) {
    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    assert!(daemon.0.wait().unwrap().success());
}

fn magnet_of(meta: &p2p_proto::metainfo::Metainfo) -> String {
    format!(
        "magnet:?xt=urn:btih:{}&dn={}",
        meta.info_hash, meta.info.name
    )
}

fn dht_nodes(socket: &Path) -> u64 {
    ok_json(socket, &["status"])["dht"]["nodes"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn p2pd_downloads_a_magnet_link_that_libtorrent_seeds_found_through_the_dht_alone() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["lt", "p2pd-dl", "logs"] {
        fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    let logs = tmp.path().join("logs");
    let original = tmp.path().join("lt/dht-a.bin");
    write_random_file(&original, 3 << 20, 0xd1);
    let torrent = tmp.path().join("dht-a.torrent");
    let meta = mktorrent(&original, &torrent, 16, NO_TRACKER);
    let port = free_tcp_udp_port();
    let (mut lt, lt_out) = libtorrent(
        "lt-seed",
        LT_DHT,
        &[
            "seed".into(),
            torrent.to_str().unwrap().into(),
            tmp.path().join("lt").to_str().unwrap().into(),
            port.to_string(),
        ],
        &logs,
    );
    let router: u16 = lt_out
        .wait_line("router ", Duration::from_secs(20), &mut lt)
        .parse()
        .unwrap();
    lt_out.wait_line("ready", Duration::from_secs(30), &mut lt);

    let home = tmp.path().join("p2pd");
    let (daemon, socket) = p2pd(&home, &config(port, &[router]));
    let dl = tmp.path().join("p2pd-dl");
    let out = p2pctl_within(
        &socket,
        &[
            "download",
            &magnet_of(&meta),
            "--to",
            dl.to_str().unwrap(),
            "--detach",
        ],
        150,
    );
    assert!(
        out.status.success(),
        "the magnet link did not resolve: {}\nlibtorrent log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        log_tail(&lt.log)
    );
    let got = dl.join("dht-a.bin");
    wait_for(
        "p2pd to finish the download",
        Duration::from_secs(120),
        || {
            lt.assert_running();
            let seeding = ok_json(&socket, &["list"])
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["state"] == "seeding");
            seeding.then_some(())
        },
    );
    assert_same_file(&original, &got);
    assert!(dht_nodes(&socket) >= 1, "status shows no DHT node");

    // The routing table outlives the daemon: written at shutdown, and it
    // alone gets the next start into the DHT (no bootstrap node given).
    stop(daemon);
    let saved = fs::read_to_string(home.join("state/dht-nodes.txt")).unwrap();
    assert!(
        saved.lines().any(|l| l.starts_with("127.0.0.1:")),
        "nodes file: {saved:?}"
    );
    let (_daemon, socket) = p2pd(&home, &config(port, &[]));
    wait_for(
        "the restarted p2pd to join the DHT from its nodes file",
        Duration::from_secs(60),
        || (dht_nodes(&socket) >= 1).then_some(()),
    );
}

#[test]
fn libtorrent_downloads_a_magnet_link_that_p2pd_seeds_found_through_the_dht_alone() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["seed", "lt", "logs"] {
        fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    let logs = tmp.path().join("logs");
    let original = tmp.path().join("seed/dht-b.bin");
    write_random_file(&original, 3 << 20, 0xd2);
    let torrent = tmp.path().join("dht-b.torrent");
    let meta = mktorrent(&original, &torrent, 16, NO_TRACKER);
    let port = free_tcp_udp_port();
    let (mut lt, lt_out) = libtorrent(
        "lt-fetch",
        LT_DHT,
        &[
            "fetch".into(),
            magnet_of(&meta),
            tmp.path().join("lt").to_str().unwrap().into(),
            port.to_string(),
        ],
        &logs,
    );
    let router: u16 = lt_out
        .wait_line("router ", Duration::from_secs(20), &mut lt)
        .parse()
        .unwrap();
    let (_daemon, socket) = p2pd(&tmp.path().join("p2pd"), &config(port, &[router]));
    let out = p2pctl_within(
        &socket,
        &[
            "download",
            torrent.to_str().unwrap(),
            "--to",
            tmp.path().join("seed").to_str().unwrap(),
            "--detach",
        ],
        60,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lt_out.wait_line("done", Duration::from_secs(150), &mut lt);
    assert_same_file(&original, &tmp.path().join("lt/dht-b.bin"));
}

/// Every datagram sent to a UDP socket, kept by a thread until the test ends.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::downgrade(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            // Ends when the test drops the recorder.
            while let Some(seen) = sink.upgrade() {
                if let Ok((n, _)) = socket.recv_from(&mut buf) {
                    seen.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        Recorder { port, seen }
    }

    fn count_holding(&self, bytes: &[u8; 20]) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|d| d.windows(20).any(|w| w == bytes))
            .count()
    }

    fn total(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

#[test]
fn a_private_torrents_info_hash_never_reaches_the_dht_and_a_public_ones_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).unwrap();
    let public = data.join("public.bin");
    let private = data.join("private.bin");
    write_random_file(&public, 200_000, 0xd3);
    write_random_file(&private, 200_000, 0xd4);
    let public_meta = mktorrent(&public, &tmp.path().join("public.torrent"), 15, NO_TRACKER);
    let out = tmp.path().join("private.torrent");
    let o = Command::new(require_tool("mktorrent"))
        .args(["-p", "-l", "15", "-a", NO_TRACKER, "-o"])
        .arg(&out)
        .arg(&private)
        .output()
        .unwrap();
    assert!(o.status.success());
    let private_meta = p2p_proto::metainfo::Metainfo::from_bytes(&fs::read(&out).unwrap()).unwrap();
    assert!(private_meta.info.private);

    // The only node p2pd knows records everything and answers nothing, so
    // every lookup p2pd makes comes to it again and again.
    let recorder = Recorder::start();
    let (_daemon, socket) = p2pd(
        &tmp.path().join("p2pd"),
        &config(free_tcp_udp_port(), &[recorder.port]),
    );
    // The private one first: its lookup, if there were one, would start
    // before the public one's.
    for t in ["private.torrent", "public.torrent"] {
        let path = tmp.path().join(t);
        let out = p2pctl_within(
            &socket,
            &[
                "download",
                path.to_str().unwrap(),
                "--to",
                data.to_str().unwrap(),
                "--detach",
            ],
            60,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Once the public torrent's lookup has come, p2pd goes on talking to
    // the node (a node with an empty table bootstraps again every 30 s):
    // one more datagram bounds the time the private torrent, added first,
    // had to leak.
    let start = Instant::now();
    let seen_public = wait_for(
        "p2pd to ask the DHT about the public torrent",
        Duration::from_secs(60),
        || (recorder.count_holding(&public_meta.info_hash.0) >= 1).then(|| recorder.total()),
    );
    wait_for(
        "more DHT datagrams from p2pd",
        Duration::from_secs(60),
        || (recorder.total() > seen_public).then_some(()),
    );
    let both_running = ok_json(&socket, &["list"]).as_array().unwrap().len();
    assert_eq!(both_running, 2);
    assert_eq!(
        recorder.count_holding(&private_meta.info_hash.0),
        0,
        "the private info-hash was in a DHT datagram ({} datagrams in {:?})",
        recorder.total(),
        start.elapsed()
    );
}
