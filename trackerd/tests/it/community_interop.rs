//! Private group swarms with standard clients (issue 5): the real trackerd
//! binary, alice (owner) and bob (member) of group `team`, carol outside
//! it. A standard client seeds from alice's personalised .torrent, another
//! downloads with bob's, and the file's SHA-1 matches; carol's passkey gets
//! a failure reason and no peers, over raw HTTP and from libtorrent. Missing
//! tools are a failure (run scripts/test, which installs them), never a skip.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::api::{get_auth, group_with, request, user};
use crate::common::clients::{PYTHON, Proc, free_port, require_aria2, require_libtorrent};
use crate::common::process::{Daemon, spawn, wait_until};
use crate::common::{Reply, Request, get, req};
use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::tracker::Event;
use sha1::{Digest, Sha1};

const FILE_BYTES: usize = 4 << 20;

/// A python3-libtorrent client: `seed`, `leech` (exit 0 once complete) or
/// `outsider` (exit 0 at the first tracker reply, printing the peers it
/// gave and the peer count; exit 1 at a tracker error). DHT, LSD, UPnP, NAT-PMP and uTP off; several connections per IP
/// allowed (everything is on 127.0.0.1: INTEROP.md).
const LT_SCRIPT: &str = r#"
import sys, time
import libtorrent as lt
mode, torrent, save, port, timeout = sys.argv[1:6]
cat = lt.alert.category_t
ses = lt.session({
    "listen_interfaces": f"127.0.0.1:{port}",
    "outgoing_interfaces": "127.0.0.1",
    "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": cat.error_notification | cat.tracker_notification | cat.status_notification,
})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
h = ses.add_torrent(p)
deadline = time.monotonic() + float(timeout)
last = None
while time.monotonic() < deadline:
    for a in ses.pop_alerts():
        print(f"alert {type(a).__name__}: {a.message()}", flush=True)
        if mode == "outsider" and isinstance(a, lt.tracker_reply_alert):
            st = h.status()
            print(f"REPLY given={a.num_peers} peers={st.num_peers} list_peers={st.list_peers}", flush=True)
            sys.exit(0)
        if mode == "outsider" and isinstance(a, lt.tracker_error_alert):
            print(f"REFUSED reason={a.failure_reason()}", flush=True)
            sys.exit(1)
    st = h.status()
    line = f"state={st.state} progress={st.progress:.3f} peers={st.num_peers} seeding={st.is_seeding}"
    if line != last:
        print(line, flush=True)
        last = line
    if mode == "leech" and st.is_seeding:
        h.force_reannounce()
        time.sleep(0.5)
        print("done", flush=True)
        sys.exit(0)
    time.sleep(0.1)
print("timeout", flush=True)
sys.exit(1)
"#;

/// trackerd with alice (owner) and bob (member) in `team`, carol outside,
/// and alice's private torrent (`source` = team) published in `team`.
struct Community {
    dir: tempfile::TempDir,
    tracker: Daemon,
    seed_dir: PathBuf,
    leech_dir: PathBuf,
    info_hash: InfoHash,
    sha1: Vec<u8>,
    alice: (String, String),
    bob: (String, String),
    carol: (String, String),
}

impl Community {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `user`'s personalised .torrent, written to a file.
    async fn personal_torrent(&self, who: &str, token: &str, passkey: &str) -> PathBuf {
        let r = get_auth(
            self.tracker.addr,
            &format!("/api/v1/torrents/{}/torrent", self.info_hash.to_hex()),
            token,
        )
        .await;
        assert_eq!(r.status, 200, "{who}'s .torrent: {}", r.text());
        let m = Metainfo::from_bytes(&r.body).unwrap();
        assert_eq!(
            m.info_hash, self.info_hash,
            "same info dict, same info-hash"
        );
        assert!(m.info.private);
        assert_eq!(
            m.trackers,
            vec![vec![format!(
                "http://{}/announce/{passkey}",
                self.tracker.addr
            )]],
            "{who}'s .torrent announces with {who}'s passkey"
        );
        let path = self.path(&format!("{who}.torrent"));
        std::fs::write(&path, &r.body).unwrap();
        path
    }
}

async fn community() -> Community {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let leech_dir = dir.path().join("leech");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::create_dir_all(&leech_dir).unwrap();
    let tracker = spawn(&["--data-dir", dir.path().join("db").to_str().unwrap()]);
    let addr = tracker.addr;
    let alice = user(addr, "alice").await;
    let bob = user(addr, "bob").await;
    let carol = user(addr, "carol").await;
    group_with(addr, "team", &alice.0, &[&bob.0]).await;

    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let data: Vec<u8> = (0..FILE_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let file = seed_dir.join("payload.bin");
    std::fs::write(&file, &data).unwrap();
    let opts = p2p_proto::create::CreateOptions {
        piece_length: Some(64 << 10),
        private: true,
        source: Some("team".into()),
        extras: p2p_proto::metainfo::TorrentExtras {
            trackers: vec![vec!["http://original.invalid/announce".to_owned()]],
            ..Default::default()
        },
        ..Default::default()
    };
    let created =
        p2p_proto::create::create_torrent(&file, &opts, &p2p_proto::create::Control::default())
            .unwrap();
    let r = request(
        addr,
        "POST",
        "/api/v1/groups/team/torrents",
        Some(&alice.0),
        &created.bytes,
    )
    .await;
    assert_eq!(r.status, 201, "alice publishes into team: {}", r.text());
    assert_eq!(r.json()["source"], "team");
    assert_eq!(r.json()["private"], true);
    Community {
        dir,
        tracker,
        seed_dir,
        leech_dir,
        info_hash: created.metainfo.info_hash,
        sha1: Sha1::digest(&data).to_vec(),
        alice,
        bob,
        carol,
    }
}

/// (seeders, leechers, completed) of a swarm as a member (`token`) sees
/// them, zeros when unknown. Group torrents are hidden from anyone else.
fn swarm_counts(tracker: SocketAddr, h: &InfoHash, token: &str) -> (u64, u64, u64) {
    let r = Request::get(&format!("/api/v1/torrents/{}", h.to_hex()))
        .bearer(Some(token))
        .send_blocking(tracker)
        .unwrap();
    if r.status != 200 {
        return (0, 0, 0);
    }
    let v = r.json();
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    (n("seeders"), n("leechers"), n("completed"))
}

fn aria2(dir: &Path, torrent: &Path) -> Command {
    let mut c = Command::new("aria2c");
    c.arg(format!("--dir={}", dir.display()))
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--interface=127.0.0.1",
            "--disable-ipv6=true",
            "--file-allocation=none",
            "--summary-interval=0",
            "--console-log-level=warn",
            "--allow-overwrite=true",
        ])
        .arg(format!("--listen-port={}", free_port()))
        .arg(torrent);
    c
}

fn lt(mode: &str, torrent: &Path, dir: &Path, timeout_secs: u32) -> Command {
    let mut c = Command::new(PYTHON);
    c.arg("-c")
        .arg(LT_SCRIPT)
        .arg(mode)
        .arg(torrent)
        .arg(dir)
        .arg(free_port().to_string())
        .arg(timeout_secs.to_string());
    c
}

/// The seeder announces with alice's passkey; the leecher downloads with
/// bob's; the file matches and the tracker counts bob's completion.
async fn transfer(c: &Community, seeder: &str, leecher: &str) {
    let alice_torrent = c.personal_torrent("alice", &c.alice.0, &c.alice.1).await;
    let bob_torrent = c.personal_torrent("bob", &c.bob.0, &c.bob.1).await;
    let _seeder = match seeder {
        "aria2" => {
            let mut cmd = aria2(&c.seed_dir, &alice_torrent);
            cmd.args(["-V", "--seed-ratio=0.0"]);
            Proc::start("aria2c seeder (alice)", c.path("seed.log"), &mut cmd)
        }
        _ => Proc::start(
            "libtorrent seeder (alice)",
            c.path("seed.log"),
            &mut lt("seed", &alice_torrent, &c.seed_dir, 120),
        ),
    };
    wait_until(Duration::from_secs(60), "alice's seeder announce", || {
        swarm_counts(c.tracker.addr, &c.info_hash, &c.alice.0).0 >= 1
    });
    let mut leech = match leecher {
        "aria2" => {
            let mut cmd = aria2(&c.leech_dir, &bob_torrent);
            cmd.arg("--seed-time=0");
            Proc::start("aria2c leecher (bob)", c.path("leech.log"), &mut cmd)
        }
        _ => Proc::start(
            "libtorrent leecher (bob)",
            c.path("leech.log"),
            &mut lt("leech", &bob_torrent, &c.leech_dir, 90),
        ),
    };
    leech.wait_success(Duration::from_secs(90));
    eprintln!("---- {} ----\n{}", leech.name, leech.output());
    let got = std::fs::read(c.leech_dir.join("payload.bin")).unwrap();
    assert_eq!(got.len(), FILE_BYTES);
    assert_eq!(
        Sha1::digest(&got).to_vec(),
        c.sha1,
        "bob's file has alice's SHA-1"
    );
    wait_until(Duration::from_secs(20), "bob's completed announce", || {
        swarm_counts(c.tracker.addr, &c.info_hash, &c.alice.0).2 >= 1
    });
    // The completion is bob's, counted through his passkey.
    let page = get_auth(c.tracker.addr, "/api/v1/events?limit=1000", &c.bob.0)
        .await
        .json();
    let done = page["events"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "download_completed"
            && e["username"] == "bob"
            && e["info_hash"] == c.info_hash.to_hex()
    });
    assert!(done, "a download_completed event for bob: {page}");
}

#[tokio::test]
async fn a_libtorrent_member_downloads_from_an_aria2_owner_with_personalised_torrents() {
    require_aria2();
    require_libtorrent();
    let c = community().await;
    transfer(&c, "aria2", "libtorrent").await;
}

#[tokio::test]
async fn an_aria2_member_downloads_from_a_libtorrent_owner_with_personalised_torrents() {
    require_aria2();
    require_libtorrent();
    let c = community().await;
    transfer(&c, "libtorrent", "aria2").await;
}

async fn passkey_announce(
    addr: SocketAddr,
    passkey: &str,
    r: &p2p_proto::tracker::AnnounceRequest,
) -> Reply {
    get(
        addr,
        &format!("/announce/{passkey}?{}", r.to_query_string()),
    )
    .await
}

#[tokio::test]
async fn a_non_member_gets_no_member_peers_as_for_an_unknown_torrent() {
    require_libtorrent();
    let c = community().await;
    let addr = c.tracker.addr;
    let h = c.info_hash;
    // Alice seeds (by hand, with her passkey): the swarm has a peer to hide.
    let seeded = passkey_announce(addr, &c.alice.1, &req(h, 1, 40001, 0, Event::Started)).await;
    assert_eq!(seeded.announce().peers.len(), 0);
    let bob = passkey_announce(addr, &c.bob.1, &req(h, 2, 40002, 100, Event::Started)).await;
    assert_eq!(bob.announce().peers.len(), 1, "bob, a member, sees alice");

    // Carol, with her own valid passkey, raw HTTP, and anyone without a
    // passkey: answered as for a torrent the tracker does not know (open
    // mode: an open swarm of outsiders), never with alice or bob.
    let r = passkey_announce(addr, &c.carol.1, &req(h, 3, 40003, 100, Event::Started)).await;
    assert_eq!(r.announce().peers, vec![], "no member for carol");
    let r = crate::common::announce(addr, &req(h, 4, 40004, 100, Event::Started)).await;
    let ports: Vec<u16> = r.announce().peers.iter().map(|p| p.addr.port()).collect();
    assert_eq!(ports, [40003], "only the other outsider");
    let r = passkey_announce(
        addr,
        &"0".repeat(32),
        &req(h, 5, 40005, 100, Event::Started),
    )
    .await;
    assert_eq!(r.failure(), "unknown passkey");
    let (seeders, leechers, _) = swarm_counts(addr, &h, &c.alice.0);
    assert_eq!(
        (seeders, leechers),
        (1, 1),
        "the outsiders were not added to the members' swarm"
    );
    // Carol sees the outsiders' swarm only, as for an unknown torrent.
    assert_eq!(swarm_counts(addr, &h, &c.carol.0), (0, 2, 0));
    assert_eq!(swarm_counts(addr, &h, "not-a-token"), (0, 2, 0));
    for (id, port) in [(3, 40003), (4, 40004)] {
        crate::common::announce(addr, &req(h, id, port, 100, Event::Stopped))
            .await
            .announce();
    }

    // A standard client given a .torrent with carol's passkey: bob's file
    // with the passkey swapped (same length, so the bencode stays valid).
    let bob_torrent = std::fs::read(c.personal_torrent("bob", &c.bob.0, &c.bob.1).await).unwrap();
    let at = bob_torrent
        .windows(32)
        .position(|w| w == c.bob.1.as_bytes())
        .unwrap();
    let mut carol_torrent = bob_torrent.clone();
    carol_torrent[at..at + 32].copy_from_slice(c.carol.1.as_bytes());
    let path = c.path("carol.torrent");
    std::fs::write(&path, &carol_torrent).unwrap();
    let carol_dir = c.path("carol");
    std::fs::create_dir_all(&carol_dir).unwrap();
    let mut p = Proc::start(
        "libtorrent (carol)",
        c.path("carol.log"),
        &mut lt("outsider", &path, &carol_dir, 30),
    );
    p.wait_success(Duration::from_secs(40));
    let out = p.output();
    let line = out
        .lines()
        .find(|l| l.starts_with("REPLY"))
        .unwrap_or_else(|| panic!("libtorrent saw no tracker reply:\n{out}"));
    eprintln!("{line}");
    assert!(line.contains("given=0 peers=0 list_peers=0"), "{line}");
    let (seeders, leechers, _) = swarm_counts(addr, &h, &c.alice.0);
    assert_eq!((seeders, leechers), (1, 1), "carol's client was not added");
}
