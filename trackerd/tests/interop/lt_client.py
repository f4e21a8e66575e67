#!/usr/bin/python3
"""A minimal libtorrent client for trackerd's interop tests.

usage: lt_client.py seed|leech TORRENT SAVE_DIR PORT TIMEOUT_SECS

Listens on 127.0.0.1:PORT with DHT, LSD, UPnP and NAT-PMP off. A seeder
runs until killed; a leecher exits 0 once it has every piece (after telling
the tracker), or 1 on timeout. Progress goes to stdout.
"""
import sys
import time

import libtorrent as lt


def main():
    mode, torrent, save, port, timeout = sys.argv[1:6]
    settings = {
        "listen_interfaces": f"127.0.0.1:{port}",
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_trackers": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.status_notification,
    }
    ses = lt.session(settings)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save
    handle = ses.add_torrent(params)
    deadline = time.monotonic() + float(timeout)
    last = None
    while time.monotonic() < deadline:
        for a in ses.pop_alerts():
            print(f"alert: {a.message()}", flush=True)
        st = handle.status()
        line = f"state={st.state} progress={st.progress:.3f} peers={st.num_peers} seeding={st.is_seeding}"
        if line != last:
            print(line, flush=True)
            last = line
        if mode == "leech" and st.is_seeding:
            # Let the "completed" announce go out before leaving.
            handle.force_reannounce()
            time.sleep(0.5)
            print("done", flush=True)
            return 0
        time.sleep(0.2)
    print("timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
