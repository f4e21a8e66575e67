#!/usr/bin/env python3
"""Registers users bench0..bench(N-1) on a trackerd, a few at a time.

usage: register.py HOST:PORT N PASSWORD [PARALLEL]

Exits non-zero unless every registration got 201. Prints the count and the
time taken (registration hashes the password with Argon2id, like a login).
"""
import http.client
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def register(addr, i, password):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    body = json.dumps({"username": f"bench{i}", "password": password})
    c.request("POST", "/api/v1/register", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    c.close()
    if r.status != 201:
        raise SystemExit(f"registering bench{i}: HTTP {r.status} {text}")


def main():
    addr, n, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    parallel = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    start = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda i: register(addr, i, password), range(n)))
    took = time.monotonic() - start
    print(f"registered {n} users in {took:.2f} s ({n / took:.1f}/s)")


if __name__ == "__main__":
    main()
