#!/usr/bin/env python3
"""Peer visibility across trackerd instances (issue 16): announce a new peer
to instance A, then announce to instance B (another peer, every POLL_MS)
until B hands A's peer out; the time from A's answer to B's first answer
that holds it is one sample. Prints every percentile asked for.

Usage: cluster_latency.py A_PORT B_PORT ROUNDS POLL_MS
"""
import http.client
import os
import sys
import time
import urllib.parse


def announce(conn, info_hash, peer_id, port):
    q = urllib.parse.urlencode({
        "info_hash": info_hash, "peer_id": peer_id, "port": port,
        "uploaded": 0, "downloaded": 0, "left": 100, "compact": 1,
    })
    conn.request("GET", "/announce?" + q)
    body = conn.getresponse().read()
    i = body.find(b"5:peers")
    if i < 0:
        raise SystemExit(f"no peers in {body!r}")
    j = body.index(b":", i + 7)
    n = int(body[i + 7:j])
    peers = body[j + 1:j + 1 + n]
    return {int.from_bytes(peers[k + 4:k + 6], "big") for k in range(0, len(peers), 6)}


def main():
    a_port, b_port, rounds, poll_ms = (int(x) for x in sys.argv[1:5])
    a = http.client.HTTPConnection("127.0.0.1", a_port)
    b = http.client.HTTPConnection("127.0.0.1", b_port)
    samples = []
    for r in range(rounds):
        info_hash = os.urandom(20)
        port = 10000 + r % 50000
        announce(a, info_hash, b"-BA0001-" + os.urandom(12), port)
        t0 = time.monotonic()
        deadline = t0 + 10
        while True:
            if port in announce(b, info_hash, b"-BB0001-" + b"x" * 12, 9):
                samples.append((time.monotonic() - t0) * 1000)
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"round {r}: A's peer never reached B")
            time.sleep(poll_ms / 1000)
    samples.sort()
    pct = lambda p: samples[min(len(samples) - 1, int(p / 100 * len(samples)))]
    print(f"{len(samples)} rounds, poll every {poll_ms} ms: "
          f"p50 {pct(50):.0f} ms, p95 {pct(95):.0f} ms, max {samples[-1]:.0f} ms")


main()
