"""A libtorrent DHT node that bootstraps from our responder alone, then asks
it for peers and announces to it. Exit 0 when libtorrent took our answers
(the announce is checked on our side).

argv: address ([::1] or 127.0.0.1), responder port, info-hash (hex), the peer our store holds for it, a
scratch folder. Prints the port libtorrent listens on, which it announces.
Stays up after announcing until stdin closes, so the announce can land.
"""
import sys
import time

import libtorrent as lt

host, port, info_hash, expected_peer, save_path = sys.argv[1:6]
ses = lt.session({
    "listen_interfaces": f"{host}:0",
    "enable_dht": True,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "dht_bootstrap_nodes": f"{host}:{port}",
    # Everything here lives on loopback, which libtorrent otherwise distrusts.
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_ignore_dark_internet": False,
    "alert_mask": lt.alert_category.dht | lt.alert_category.dht_operation,
})


def fail(why):
    print(f"FAIL {why}", flush=True)
    sys.exit(1)


def wait_for(kind, seconds, why):
    deadline = time.monotonic() + seconds
    while True:
        if time.monotonic() > deadline:
            fail(why)
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, kind):
                return a


# libtorrent never puts a bootstrap (router) node in its routing table, so
# our node stays out of it; its lookups still start from the router.
wait_for(lt.dht_bootstrap_alert, 30, "no DHT bootstrap")
print("bootstrapped", flush=True)

h = lt.sha1_hash(bytes.fromhex(info_hash))
ses.dht_get_peers(h)
reply = wait_for(lt.dht_get_peers_reply_alert, 30, "no get_peers answer")
found = [f"[{ip}]:{p}" if ":" in ip else f"{ip}:{p}" for ip, p in reply.peers()]
if expected_peer not in found:
    fail(f"get_peers gave {found}, not {expected_peer}")
print(f"peers {found}", flush=True)

# The Python binding cannot build dht_announce's flags; a torrent without
# metadata makes libtorrent announce its info-hash the way it always does.
params = lt.add_torrent_params()
params.info_hashes = lt.info_hash_t(h)
params.save_path = save_path
ses.add_torrent(params)
print(f"listen_port {ses.listen_port()}", flush=True)
sys.stdin.read()
