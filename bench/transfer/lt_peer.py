#!/usr/bin/python3
"""libtorrent (python3-libtorrent, Debian) seeder / leecher on 127.0.0.1 for bench/transfer.sh.

Adapted from /work/shared/bench/clients/lt_peer.py (the script behind the figures in
/work/shared/INTEROP.md): same loopback settings, but it reports on stdout as JSON lines
for bench/transfer/run.py, ignores the torrent's trackers, and the seeder checks its data
before it says it is ready (no seed_mode by default, so it does not hash pieces while the
leecher is being timed, like p2pd and `aria2c -V`).

Seed:  /usr/bin/python3 lt_peer.py seed  TORRENT SAVE_DIR --port P [--seed-mode]
       prints {"event": "ready", ...} once the data is checked and the torrent is seeding.
Leech: /usr/bin/python3 lt_peer.py leech TORRENT SAVE_DIR --port P --peer 127.0.0.1:PORT [...]
       prints {"event": "unchoked"} when a peer first unchokes it, {"event": "first_byte"} and then {"event": "done", ...} as soon as every piece
       is downloaded and hash-checked by libtorrent (torrent is seeding), then keeps running
       until SIGINT / SIGTERM (the caller samples its CPU time at "done").
       --no-pex: ut_pex off for this torrent (bench/seed8.sh: leechers must not learn of each
       other through the seeder's PEX and trade pieces among themselves).
Both modes print {"event": "exit", "uploaded": N, "downloaded": N} (payload bytes) on the way out.
Must run with Debian's /usr/bin/python3 (the only interpreter with the libtorrent module).

Settings: libtorrent defaults, except what loopback needs: listen on 127.0.0.1:PORT only,
DHT / LSD / UPnP / NAT-PMP off, allow_multiple_connections_per_ip on, uTP off (TCP only, as
p2pd and aria2 have no uTP; --utp turns it back on). Encryption policy, disk I/O, request
queues and choking are left at their defaults, on both sides alike.
"""
import argparse
import json
import signal
import sys
import time

import libtorrent as lt


def emit(obj):
    print(json.dumps(obj), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["seed", "leech"])
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--peer", action="append", default=[], help="127.0.0.1:PORT to connect to")
    ap.add_argument("--seed-mode", action="store_true",
                    help="seed: torrent_flags.seed_mode (no check at start; pieces hashed when first sent)")
    ap.add_argument("--utp", action="store_true", help="allow uTP (libtorrent's default; off here)")
    ap.add_argument("--utp-only", action="store_true", help="uTP only: TCP off both ways (bench/utp.sh)")
    ap.add_argument("--no-pex", action="store_true", help="torrent_flags.disable_pex (no ut_pex)")
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--use-trackers", action="store_true",
                    help="keep the torrent's trackers (bench/transmission.sh); default: peers given only")
    args = ap.parse_args()
    for p in args.peer:
        if not p.startswith("127.0.0.1:"):
            sys.exit("loopback peers only")

    ses = lt.session({
        "listen_interfaces": f"127.0.0.1:{args.port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        # TCP only, like p2pd and aria2 (neither has uTP); uTP over loopback is far slower.
        "enable_incoming_utp": args.utp or args.utp_only,
        "enable_outgoing_utp": args.utp or args.utp_only,
        "enable_incoming_tcp": not args.utp_only,
        "enable_outgoing_tcp": not args.utp_only,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    })
    ti = lt.torrent_info(args.torrent)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = args.save_dir
    # No tracker: peers are given directly (opentracker would hand libtorrent its own address).
    if not args.use_trackers:
        atp.trackers = []
        atp.flags |= lt.torrent_flags.override_trackers
    if args.mode == "seed" and args.seed_mode:
        atp.flags |= lt.torrent_flags.seed_mode
    if args.no_pex:
        atp.flags |= lt.torrent_flags.disable_pex
    h = ses.add_torrent(atp)
    for p in args.peer:
        h.connect_peer(("127.0.0.1", int(p.rsplit(":", 1)[1])))

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("flag", True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__("flag", True))

    deadline = time.monotonic() + args.max_seconds
    announced = False
    first = False
    unchoked = False
    while not stop["flag"] and time.monotonic() < deadline:
        ses.wait_for_alert(20)
        for a in ses.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.listen_failed_alert, lt.file_error_alert)):
                print(f"alert {type(a).__name__}: {a.message()}", file=sys.stderr, flush=True)
        if announced:
            continue
        st = h.status()
        if args.mode == "leech" and not unchoked:
            # The first peer that unchokes us (polled at every alert wait, <= 20 ms).
            if any(not (p.flags & lt.peer_info.remote_choked) for p in h.get_peer_info()):
                unchoked = True
                emit({"event": "unchoked"})
        if args.mode == "leech" and not first and st.total_payload_download > 0:
            first = True
            emit({"event": "first_byte"})
        if st.is_seeding:
            announced = True
            ev = {"event": "ready" if args.mode == "seed" else "done",
                  "state": str(st.state), "num_pieces": st.num_pieces,
                  "total_payload_download": st.total_payload_download,
                  "total_wanted": st.total_wanted}
            if args.mode == "leech":
                try:
                    ev["peers"] = [{"ip": f"{p.ip[0]}:{p.ip[1]}",
                                    "down": p.total_download,
                                    "rc4": bool(p.flags & lt.peer_info.rc4_encrypted),
                                    "plaintext_pe": bool(p.flags & lt.peer_info.plaintext_encrypted)}
                                   for p in h.get_peer_info()]
                except Exception as e:  # noqa: BLE001
                    ev["peers_error"] = str(e)
            emit(ev)
    if args.mode == "seed":
        # libtorrent adds its peers' byte counts to the torrent's once a second: wait for the
        # last of them (bench/seed8.sh compares the seeder's total with leechers x size).
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            ses.wait_for_alert(100)
            ses.pop_alerts()
    st = h.status()
    emit({"event": "exit", "uploaded": st.total_payload_upload, "downloaded": st.total_payload_download})
    ses.pause()
    del ses
    sys.exit(0 if announced else 2)


if __name__ == "__main__":
    main()
