"""The resource attacks of issue 12 (items 12, 13, 14) against a running
trackerd, with what they cost it. Run by bench/attack_resources.sh.

Usage: attack_resources.py PORT PID
Knobs (environment): ATTACKERS (connections per body wave, default 150),
STREAMS (stream attempts from one token, default 4160), SWARMS (new
info-hashes tried from one address, default 2000), FAKE_PEERS (peer_ids
tried in one swarm from one address, default 200).

Prints one line per attack: trackerd's RSS before, during and after, the
attack connections trackerd holds during it (sockets in /proc/PID/fd, the
listener and the probe left out), what was refused, and the latency of a
normal announce (from another loopback address) during the attack.
"""

import json
import os
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"
PORT, PID = int(sys.argv[1]), int(sys.argv[2])
ATTACKERS = int(os.environ.get("ATTACKERS", 150))
STREAMS = int(os.environ.get("STREAMS", 4160))
SWARMS = int(os.environ.get("SWARMS", 2000))
FAKE_PEERS = int(os.environ.get("FAKE_PEERS", 200))
PROBE_FROM = "127.0.0.3"


def rss_mib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS")


def sockets():
    n = 0
    for fd in os.listdir(f"/proc/{PID}/fd"):
        try:
            if os.readlink(f"/proc/{PID}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def connect(src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect((HOST, PORT))
    return s


def read_head(s, timeout=20):
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            b = s.recv(65536)
            if not b:
                return None, buf
            buf += b
    except (socket.timeout, ConnectionError):
        return None, buf
    return int(buf[9:12]), buf


def read_all(s, timeout=20):
    s.settimeout(timeout)
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            return buf
        buf += b


def pct(b):
    return "".join("%%%02X" % c for c in b)


def announce_bytes(info_hash, n, port=6881):
    peer_id = b"-AT0001-" + b"%012d" % n
    q = (f"info_hash={pct(info_hash)}&peer_id={pct(peer_id)}&port={port}"
         "&uploaded=0&downloaded=0&left=100&compact=1")
    return f"GET /announce?{q} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()


def announce(info_hash, n, src="127.0.0.1"):
    """One announce; returns (answered with peers, failure reason or None)."""
    s = connect(src)
    s.sendall(announce_bytes(info_hash, n))
    body = read_all(s).partition(b"\r\n\r\n")[2]
    s.close()
    if b"failure reason" in body:
        return False, body.split(b":", 2)[-1][:-1].decode(errors="replace")
    return b"5:peers" in body, None


PROBE_HASH = b"probe-swarm-........"


def probe(k=20):
    """Latency of k normal announces (10 peers re-announcing) in ms."""
    times = []
    for i in range(k):
        t = time.perf_counter()
        ok, why = announce(PROBE_HASH, i % 10, PROBE_FROM)
        times.append((time.perf_counter() - t) * 1000)
        if not ok:
            raise SystemExit(f"the probe announce was refused: {why}")
    return statistics.median(times), max(times)


def post(path, body, token=None):
    s = connect()
    data = json.dumps(body).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{auth}"
              f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    raw = read_all(s)
    s.close()
    return int(raw[9:12]), raw.partition(b"\r\n\r\n")[2]


def report(name, before, during, after, held, refused, latency):
    print(f"{name:8} rss_mib {before:6.1f} -> {during:6.1f} (during) -> {after:6.1f} (after)"
          f"  held_by_trackerd {held:5d}  {refused}"
          f"  announce_ms p50 {latency[0]:.2f} max {latency[1]:.2f}", flush=True)


def wait_sockets(target, within=30):
    """Waits (bounded) until trackerd holds at most `target` sockets."""
    deadline = time.time() + within
    while sockets() > target and time.time() < deadline:
        time.sleep(0.1)


def bodies(base):
    before = rss_mib()
    refused, statuses = [], {}
    for _ in range(ATTACKERS):
        s = connect()
        s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 10485760\r\n\r\n" + b"x" * 1024)
        refused.append(s)
    for s in refused:
        st, _ = read_head(s)
        statuses[st] = statuses.get(st, 0) + 1
    held = []
    for _ in range(ATTACKERS):
        s = connect()
        s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 8000\r\n\r\n" + b"x" * 4000)
        held.append(s)
    latency = probe()
    during, holding = rss_mib(), sockets() - base
    late = {}
    for s in held:  # each ends with 408 after body_read_timeout_secs
        st, _ = read_head(s, timeout=30)
        late[st] = late.get(st, 0) + 1
    for s in refused + held:
        s.close()
    wait_sockets(base)
    report("bodies", before, during, rss_mib(), holding,
           f"10MiB_declared:{statuses} half_sent_8000:{late}", latency)


def streams(base):
    post("/api/v1/register", {"username": "mallory", "password": "correct horse battery"})
    st, body = post("/api/v1/login", {"username": "mallory", "password": "correct horse battery"})
    if st != 200:
        raise SystemExit(f"login failed: {st} {body!r}")
    token = json.loads(body)["token"]
    before = rss_mib()
    opened, statuses = [], {}
    for _ in range(STREAMS):
        s = connect()
        s.sendall(f"GET /api/v1/events/stream HTTP/1.1\r\nHost: t\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n".encode())
        st, _ = read_head(s)
        statuses[st] = statuses.get(st, 0) + 1
        if st == 200:
            opened.append(s)
        else:
            s.close()
    latency = probe()
    during, holding = rss_mib(), sockets() - base
    for s in opened:
        s.close()
    wait_sockets(base)
    report("streams", before, during, rss_mib(), holding,
           f"{STREAMS}_attempts:{statuses}", latency)


def swarms(base):
    before = rss_mib()
    # A victim's swarm, created by another address, for the fake peers.
    announce(b"diluted-swarm-......", 10**6, "127.0.0.2")
    created = refused = 0
    for n in range(SWARMS):
        ok, _ = announce(b"fake-swarm-%09d" % n, 0)
        created, refused = created + ok, refused + (not ok)
    joined = diluted = 0
    for n in range(FAKE_PEERS):
        ok, _ = announce(b"diluted-swarm-......", n)
        joined, diluted = joined + ok, diluted + (not ok)
    other_creates, _ = announce(b"another-address-....", 0, "127.0.0.2")
    other_joins, _ = announce(b"diluted-swarm-......", 1, "127.0.0.2")
    latency = probe()
    during = rss_mib()
    report("swarms", before, during, rss_mib(), sockets() - base,
           f"swarms_created:{created}/{SWARMS} fake_peers_held:{joined}/{FAKE_PEERS}"
           f" other_address_creates:{other_creates} joins:{other_joins}", latency)


def main():
    probe()  # warm up; the probe swarm exists from here on
    base = sockets()
    bodies(base)
    streams(base)
    swarms(base)


main()
