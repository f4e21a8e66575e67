//! Peer exchange (BEP 11) between p2pd and libtorrent, both ways, with no
//! tracker: a p2pd leecher that knows only one libtorrent peer learns the
//! p2pd seeder from it and gets connected to it; then a libtorrent peer
//! that knows only that p2pd leecher takes its PEX message and gets
//! connected to more peers. The seeder uploads at 100 kB/s so that
//! everyone stays a leecher (seeds do not connect to each other) for the
//! length of the test.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::time::Duration;

use crate::common::*;

/// A libtorrent peer that dials one peer only and prints its listen
/// port, every half second the ports of the peers it is connected to, and
/// `pex-from-p2pd N` for each ut_pex message it took from p2pd (from its
/// own peer log). (No download limit on it: libtorrent then reads the
/// socket that slowly, and a PEX message waits behind the blocks.)
const LT_PEX_PEER: &str = r#"
import re, sys, time
import libtorrent as lt
torrent, save, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = lt.session({
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
    "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "alert_queue_size": 100000,
    "alert_mask": lt.alert_category.error | lt.alert_category.peer
        | lt.alert_category.connect | lt.alert_category.peer_log,
})
h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
print("port", s.listen_port(), flush=True)
last = 0
while True:
    if time.time() - last > 2:
        h.connect_peer(("127.0.0.1", first))
        last = time.time()
    ports = sorted(p.ip[1] for p in h.get_peer_info())
    print("peers", " ".join(str(p) for p in ports), flush=True)
    for a in s.pop_alerts():
        m = a.message()
        # libtorrent's own log of a ut_pex message it took from p2pd.
        got = re.search(r"client: P2 .*<== PEX \[ dropped: \d+ added: (\d+)", m)
        if got:
            print("pex-from-p2pd", got.group(1), flush=True)
        if "PEX" in m or "connect" in m:
            print("alert:", m, file=sys.stderr, flush=True)
    time.sleep(0.5)
"#;

#[test]
fn p2pd_and_libtorrent_find_each_other_through_peer_exchange_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["seed", "a", "b", "leech", "logs"] {
        fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let original = tmp.path().join("seed/pex.bin");
    write_random_file(&original, 8 << 20, 0x9e);
    let torrent = tmp.path().join("pex.torrent");
    mktorrent(&original, &torrent, 18, NO_TRACKER);
    let logs = tmp.path().join("logs");
    // A libtorrent peer saving under `name` that dials `first` only.
    let lt_peer = |name: &str, first: u16| {
        let save = tmp.path().join(name);
        libtorrent(
            name,
            LT_PEX_PEER,
            &[
                torrent.to_str().unwrap().to_owned(),
                save.to_str().unwrap().to_owned(),
                first.to_string(),
            ],
            &logs,
        )
    };

    let mut seeder = Harness::start(
        "p2pd-seeder",
        &torrent,
        &tmp.path().join("seed"),
        &[
            "--no-trackers".into(),
            "--upload-limit".into(),
            "100000".into(),
        ],
        &logs,
    );
    seeder.wait_seeding(Duration::from_secs(30));
    let (mut a, a_out) = lt_peer("a", seeder.port);
    let a_port: u16 = a_out
        .wait_line("port ", Duration::from_secs(20), &mut a)
        .trim()
        .parse()
        .unwrap();
    // libtorrent as the source: a p2pd leecher that knows only a learns
    // the seeder from a's PEX and dials it.
    let mut leecher = Harness::start(
        "p2pd-leecher",
        &torrent,
        &tmp.path().join("leech"),
        &[
            "--no-trackers".into(),
            "--peer".into(),
            format!("127.0.0.1:{a_port}"),
        ],
        &logs,
    );
    // The leecher and the seeder both hear of each other from a: either
    // may dial first, so the seeder is found by its peer id, not its port.
    leecher.wait_until(
        "the p2pd leecher to be connected to the seeder it heard of from libtorrent",
        Duration::from_secs(60),
        |v| {
            v["peers"].as_array().is_some_and(|ps| {
                ps.iter().any(|p| {
                    p["peer_id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("-P2"))
                })
            })
        },
    );

    // libtorrent as the receiver: b, which knows only the p2pd leecher,
    // takes its PEX message (libtorrent logs each one it takes, with the
    // number of peers added) and ends up with more than that one peer.
    let (mut b, b_out) = lt_peer("b", leecher.port);
    let added: u32 = b_out
        .wait_line("pex-from-p2pd ", Duration::from_secs(60), &mut b)
        .trim()
        .parse()
        .unwrap();
    assert!(added >= 1, "p2pd's PEX named no peer");
    // And b is connected to more than the one peer it was given.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "libtorrent never met the peers p2pd told it of"
        );
        let line = b_out.wait_line("peers", left, &mut b);
        if line.split_whitespace().count() >= 2 {
            break;
        }
    }
}
