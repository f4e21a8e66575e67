#!/usr/bin/env python3
"""Helper of bench/dashboard.sh: seeds a trackerd's catalog, times the
dashboard's torrents pages, and makes events while dashboards stream.

  dashboard.py seed URL N           registers a user, publishes N public torrents
  dashboard.py pages URL ROUNDS     times the torrents page (Server-Timing)
  dashboard.py login URL USER       registers USER and prints a session token
  dashboard.py events URL SECONDS   one event every 100 ms for SECONDS
"""
import hashlib
import http.client
import json
import statistics
import sys
import time
import urllib.parse

PASSWORD = "correct horse battery"


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def call(c, method, path, body=None, token=None, kind="application/json"):
    headers = {"Content-Type": kind}
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read(), r


def user(c, name):
    body = json.dumps({"username": name, "password": PASSWORD})
    status, text, _ = call(c, "POST", "/api/v1/register", body)
    if status not in (201, 409):
        sys.exit(f"register {name}: {status} {text!r}")
    body = json.dumps({"username": name, "password": PASSWORD, "takeover": True})
    status, text, _ = call(c, "POST", "/api/v1/login", body)
    if status != 200:
        sys.exit(f"login {name}: {status} {text!r}")
    return json.loads(text)["token"]


def bstr(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b


def torrent(i):
    name = f"dataset-{i:05d}-{hashlib.sha1(str(i).encode()).hexdigest()[:8]}.tar"
    info = (b"d6:lengthi" + str(100_000 + (i * 7919) % 150_000).encode() + b"e4:name" + bstr(name)
            + b"12:piece lengthi262144e6:pieces20:" + hashlib.sha1(b"p%d" % i).digest() + b"e")
    return b"d8:announce" + bstr("http://bench.invalid/announce") + b"4:info" + info + b"e"


def seed(url, n):
    c = conn(url)
    token = user(c, "seeder")
    for i in range(n):
        status, text, _ = call(c, "POST", "/api/v1/public/torrents", torrent(i), token,
                               "application/x-bittorrent")
        if status not in (201, 200):
            sys.exit(f"publish {i}: {status} {text!r}")


def pages(url, rounds):
    c = conn(url)
    cases = [
        ("newest first, page 1", "/torrents"),
        ("newest first, page 100", "/torrents?page=100"),
        ("newest first, last page", "/torrents?page=200"),
        ("by name, page 50", "/torrents?sort=name&dir=asc&page=50"),
        ("by size, largest first", "/torrents?sort=size"),
        ("by publisher", "/torrents?sort=publisher"),
        ("by seeders (in memory)", "/torrents?sort=seeders"),
        ("search 'dataset-0999'", "/torrents?q=dataset-0999"),
        ("search, no match", "/torrents?q=nothing-like-this"),
    ]
    print("case\tmedian_ms\tp95_ms\tmax_ms\tclient_median_ms")
    for label, path in cases:
        server, client = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            status, _, r = call(c, "GET", path)
            client.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                sys.exit(f"{path}: {status}")
            timing = r.getheader("server-timing", "")
            server.append(float(timing.split("dur=")[1]))
        server.sort()
        p95 = server[min(len(server) - 1, int(len(server) * 0.95))]
        print(f"{label}\t{statistics.median(server):.2f}\t{p95:.2f}\t{server[-1]:.2f}"
              f"\t{statistics.median(client):.2f}")


def events(url, seconds):
    c = conn(url)
    token = user(c, "eventmaker")
    end = time.time() + seconds
    # Torrents no earlier run published.
    base = 1_000_000 + int(time.time() * 1000) % 1_000_000_000
    i = 0
    while time.time() < end:
        status, text, _ = call(c, "POST", "/api/v1/public/torrents", torrent(base + i), token,
                               "application/x-bittorrent")
        if status != 201:
            sys.exit(f"event publish: {status} {text!r}")
        i += 1
        time.sleep(0.1)
    print(i)


if __name__ == "__main__":
    cmd, url = sys.argv[1], sys.argv[2]
    if cmd == "seed":
        seed(url, int(sys.argv[3]))
    elif cmd == "pages":
        pages(url, int(sys.argv[3]))
    elif cmd == "login":
        print(user(conn(url), sys.argv[3]))
    elif cmd == "events":
        events(url, float(sys.argv[3]))
    else:
        sys.exit(__doc__)
