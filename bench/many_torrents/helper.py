"""Helpers for bench/many_torrents.sh: making many small torrents, talking to
p2pd's control socket directly (one connection, pipelined requests), and
timing `list`.

Every wait is bounded: a subcommand that runs out of time exits 1 with one
line on stderr saying what it was waiting for.
"""
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time


def die(msg):
    print("many_torrents.sh: " + msg, file=sys.stderr)
    sys.exit(1)


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in items) + b"e"
    raise TypeError(type(v))


def cmd_make(n, kib, data_dir, torrent_dir, announce, hashes_out):
    """Writes N files of KIB KiB of distinct pseudo-random bytes into DATA_DIR
    (t00000.bin, ...) and a single-file .torrent for each into TORRENT_DIR,
    16 KiB pieces, announcing to ANNOUNCE; the hex info-hashes go to HASHES_OUT."""
    n, size = int(n), int(kib) * 1024
    piece = 16384
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(torrent_dir, exist_ok=True)
    rng = random.Random(19)
    width = max(5, len(str(n - 1)))
    with open(hashes_out, "w") as hashes:
        for i in range(n):
            name = "t%0*d.bin" % (width, i)
            data = rng.randbytes(size)
            with open(os.path.join(data_dir, name), "wb") as f:
                f.write(data)
            pieces = b"".join(hashlib.sha1(data[o:o + piece]).digest() for o in range(0, size, piece))
            info = {"name": name, "length": size, "piece length": piece, "pieces": pieces}
            meta = bencode({"announce": announce, "info": info})
            with open(os.path.join(torrent_dir, name[:-4] + ".torrent"), "wb") as f:
                f.write(meta)
            hashes.write(hashlib.sha1(bencode(info)).hexdigest() + "\n")


class Ctl:
    """A control-socket client: JSON lines, a hello, then id-tagged requests."""

    def __init__(self, path, timeout=60):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.next_id = 1
        self.s.sendall(b'{"hello":{"version":2,"client":"bench many_torrents"}}\n')
        hello = json.loads(self.f.readline())
        if "hello" not in hello:
            die("no hello from %s: %s" % (path, hello))

    def send(self, cmd, args=None):
        frame = {"id": self.next_id, "cmd": cmd}
        if args is not None:
            frame["args"] = args
        self.next_id += 1
        self.s.sendall(json.dumps(frame).encode() + b"\n")

    def recv(self):
        line = self.f.readline()
        if not line:
            die("p2pd closed the control connection")
        return json.loads(line)

    def call(self, cmd, args=None):
        self.send(cmd, args)
        r = self.recv()
        if "ok" not in r:
            die("%s failed: %s" % (cmd, r))
        return r["ok"]

    def close(self):
        self.s.close()


def connect(sock, timeout):
    """A Ctl once the socket answers (bounded)."""
    end = time.time() + float(timeout)
    while True:
        try:
            return Ctl(sock)
        except (FileNotFoundError, ConnectionRefusedError):
            if time.time() > end:
                die("p2pd's control socket %s never answered" % sock)
            time.sleep(0.02)


def cmd_add(sock, torrent_dir, to):
    """Sends one `add` per .torrent of TORRENT_DIR over one connection,
    pipelined in windows of 64, data in TO; prints how many failed."""
    c = connect(sock, 30)
    paths = sorted(os.path.join(torrent_dir, p) for p in os.listdir(torrent_dir) if p.endswith(".torrent"))
    failed, inflight, window = [], 0, 64
    for p in paths:
        c.send("add", {"source": os.path.abspath(p), "to": os.path.abspath(to)})
        inflight += 1
        if inflight >= window:
            r = c.recv()
            inflight -= 1
            if "ok" not in r:
                failed.append(r)
    while inflight:
        r = c.recv()
        inflight -= 1
        if "ok" not in r:
            failed.append(r)
    if failed:
        print("  %d adds failed, first: %s" % (len(failed), failed[0]), file=sys.stderr)
    print(len(failed))


def cmd_seeding(sock, n, since, timeout, period):
    """Waits until N torrents are `seeding` (one `list` every PERIOD s over
    one connection, opened as soon as the socket answers); prints seconds
    since SINCE (an epoch time)."""
    n, since, timeout, period = int(n), float(since), float(timeout), float(period)
    c = connect(sock, timeout)
    last = time.time()
    while True:
        ts = c.call("list")
        seeding = sum(1 for t in ts if t.get("state") == "seeding")
        now = time.time()
        if seeding >= n:
            print("%.3f" % (now - since))
            return
        if now - since > timeout:
            states = {}
            for t in ts:
                states[t.get("state")] = states.get(t.get("state"), 0) + 1
            die("timed out after %.0f s waiting for %d seeding torrents: %s" % (timeout, n, states))
        if now - last >= 10:
            print("  ... %d listed, %d seeding (%.0f s)" % (len(ts), seeding, now - since), file=sys.stderr)
            last = now
        time.sleep(period)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def cmd_list_latency(p2pctl, sock, calls):
    """Times CALLS runs of `p2pctl --json list` (wall clock, process start to
    exit) and CALLS `list` round trips on one open connection, and CALLS
    connect+hello+list; prints JSON with median and p95 of each, in ms."""
    calls = int(calls)
    cli, rt, fresh = [], [], []
    for _ in range(calls):
        t = time.perf_counter()
        r = subprocess.run([p2pctl, "--socket", sock, "--json", "list"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        cli.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0:
            die("p2pctl list failed: %s" % r.stderr.decode(errors="replace"))
    c = connect(sock, 10)
    n = None
    for _ in range(calls):
        t = time.perf_counter()
        n = len(c.call("list"))
        rt.append((time.perf_counter() - t) * 1000)
    c.close()
    for _ in range(calls):
        t = time.perf_counter()
        c = Ctl(sock)
        c.call("list")
        c.close()
        fresh.append((time.perf_counter() - t) * 1000)
    out = {"torrents_listed": n}
    for k, xs in (("p2pctl", cli), ("ipc", rt), ("ipc_connect", fresh)):
        out[k + "_median_ms"] = round(statistics.median(xs), 1)
        out[k + "_p95_ms"] = round(pct(xs, 95), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    cmds = {"make": cmd_make, "add": cmd_add, "seeding": cmd_seeding, "list-latency": cmd_list_latency}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: helper.py %s ARGS..." % "|".join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])
