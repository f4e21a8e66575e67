#!/usr/bin/python3
"""Transmission interop benchmark driver; bench/transmission.sh prepares everything and runs this.

Part a: a transmission-daemon seeder (default settings) -> a p2pd leecher (engine-harness) or a
libtorrent leecher (lt_peer.py), found through trackerd. Part b: a p2pd or libtorrent seeder ->
a transmission-daemon leecher, through trackerd. Every download gets a fresh trackerd and a fresh
transmission-daemon (Transmission keys peers by IP: after one 127.0.0.1 peer completes, it drops
later ones as "both seeds"). Cases interleaved, RUNS rounds, medians. See bench/README.md
("transmission.sh") for what is timed.

Only processes started here are signalled, by PID; every wait is bounded.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "transfer"))
from run import Proc, cpu_s, free_port, jline, loadavg, log, port_open, scrape, sha1_file, warm  # noqa: E402

LT_PEER = os.path.join(HERE, "..", "transfer", "lt_peer.py")
READY_TIMEOUT = 120
CASES = ["a-p2pd", "a-lt", "b-p2pd", "b-lt"]
LABEL = {
    "a-p2pd": "Transmission -> p2pd",
    "a-lt": "Transmission -> libtorrent",
    "b-p2pd": "p2pd -> Transmission",
    "b-lt": "libtorrent -> Transmission",
}


class Rpc:
    """Transmission's JSON-RPC (session id handshake on 409)."""

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/transmission/rpc"
        self.sid = ""

    def call(self, method, **arguments):
        body = json.dumps({"method": method, "arguments": arguments}).encode()
        for _ in range(3):
            req = urllib.request.Request(self.url, data=body, headers={"X-Transmission-Session-Id": self.sid})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    out = json.load(r)
                if out.get("result") != "success":
                    raise RuntimeError(f"transmission {method}: {out.get('result')}")
                return out["arguments"]
            except urllib.error.HTTPError as e:
                if e.code != 409:
                    raise
                self.sid = e.headers.get("X-Transmission-Session-Id", "")
        raise RuntimeError("transmission RPC: no session id")

    def torrent(self):
        got = self.call("torrent-get", fields=["percentDone", "haveValid", "sizeWhenDone", "status",
                                                "downloadedEver", "uploadedEver", "error", "errorString",
                                                "peersConnected"])["torrents"]
        return got[0] if got else None

    def unchoked_a_peer(self):
        """Whether Transmission unchokes some peer now (`peerIsChoked` is false: it lets the
        peer download; `clientIsChoked` would be the other way)."""
        got = self.call("torrent-get", fields=["peers"])["torrents"]
        return any(not p.get("peerIsChoked", True) for p in (got[0].get("peers") or [])) if got else False


class Bench:
    def __init__(self, a):
        self.a = a
        self.torrent = os.path.abspath(a.torrent)
        self.data = os.path.abspath(a.data)
        self.size = os.path.getsize(self.data)
        self.work = os.path.abspath(a.work)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.started = []

    def proc(self, name, cmd, tag, env=None):
        p = Proc(name, cmd, os.path.join(self.logs, f"{tag}-{name}.log"), env=env)
        self.started.append(p)
        return p

    def fresh_dir(self, *parts):
        d = os.path.join(self.work, *parts)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def seed_dir(self, tag):
        d = self.fresh_dir("seed", tag)
        os.link(self.data, os.path.join(d, self.a.name))
        return d

    def trackerd(self, tag):
        d = self.fresh_dir("tracker", tag)
        port = self.a.tracker_port
        env = dict(os.environ, RUST_LOG="warn")
        p = self.proc("trackerd", [self.a.trackerd, "--listen", f"127.0.0.1:{port}", "--data-dir", d], tag, env)
        self.wait(f"trackerd on port {port}", lambda: port_open(port), p)
        return p

    def scrape(self):
        """(complete, incomplete) of our torrent on trackerd."""
        return scrape(self.a.tracker_port, self.a.info_hash)

    def wait(self, what, pred, *procs, timeout=READY_TIMEOUT, step=0.05):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = pred()
            if v:
                return v
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited while waiting for {what}: {p.tail()}")
            time.sleep(step)
        raise RuntimeError(f"timed out waiting for {what}")

    def transmission(self, tag, download_dir):
        """A transmission-daemon at its default settings, except what loopback tests need (see
        tests/tests/it/interop_engine.rs): no DHT / LPD / PEX / uTP / port forwarding, no ratio or
        idle limits, RPC open on 127.0.0.1. Speed limits, peer limits and choking: defaults."""
        conf = self.fresh_dir("transmission", tag)
        peer_port, rpc_port = free_port(), free_port()
        settings = {
            "peer-port": peer_port, "peer-port-random-on-start": False, "bind-address-ipv4": "127.0.0.1",
            "rpc-port": rpc_port, "rpc-bind-address": "127.0.0.1", "rpc-authentication-required": False,
            "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False,
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
            "port-forwarding-enabled": False, "ratio-limit-enabled": False,
            "idle-seeding-limit-enabled": False, "incomplete-dir-enabled": False,
            "download-dir": download_dir, "message-level": 2,
        }
        with open(os.path.join(conf, "settings.json"), "w") as f:
            json.dump(settings, f)
        p = self.proc("transmission", ["transmission-daemon", "-f", "-g", conf], tag)
        self.wait("transmission RPC", lambda: port_open(rpc_port), p)
        rpc = Rpc(rpc_port)
        rpc.call("torrent-add", filename=self.torrent, **{"download-dir": download_dir})
        return p, rpc, peer_port

    # ---------- part a: Transmission seeds, p2pd or libtorrent leeches ---------------------
    def run_a(self, client, tag, row):
        self.trackerd(tag)
        seed = self.seed_dir(tag)
        tr, rpc, _ = self.transmission(tag, seed)
        # status 6 = seeding, after Transmission verified the data
        self.wait("Transmission to seed", lambda: (rpc.torrent() or {}).get("status") == 6, tr)
        self.wait("trackerd to list the Transmission seeder", lambda: self.scrape()[0] >= 1, tr)
        warm(self.data)
        leech_dir = self.fresh_dir("dl", tag)
        row["load_at_start"] = loadavg()
        t0 = time.monotonic()
        if client == "p2pd":
            leecher = self.proc("leech", [self.a.harness, self.torrent, leech_dir], tag)
            first = leecher.watch(lambda l: ((jline(l) or {}).get("downloaded") or 0) > 0)
            unchoke = None
            done = leecher.watch(lambda l: (jline(l) or {}).get("state") == "Seeding")
        else:
            leecher = self.proc("leech", ["/usr/bin/python3", LT_PEER, "leech", self.torrent, leech_dir,
                                          "--port", str(free_port()), "--use-trackers"], tag)
            first = leecher.watch(lambda l: (jline(l) or {}).get("event") == "first_byte")
            unchoke = leecher.watch(lambda l: (jline(l) or {}).get("event") == "unchoked")
            done = leecher.watch(lambda l: (jline(l) or {}).get("event") == "done")
        # The first unchoke as the seeder sees it (its RPC, polled every 50 ms): the same
        # measure for both leechers.
        t_unchoke = self.wait("Transmission to unchoke the leecher",
                              lambda: rpc.unchoked_a_peer() and time.monotonic(), leecher, tr,
                              timeout=self.a.timeout)
        self.wait("the download", lambda: done["ev"].is_set(), leecher, tr, timeout=self.a.timeout, step=0.01)
        row["seconds_from_start"] = round(done["t"] - t0, 3)
        row["first_byte_s"] = round(first["t"] - t0, 3)
        row["unchoke_s"] = round(t_unchoke - t0, 3)
        row["lt_saw_unchoke_s"] = round(unchoke["t"] - t0, 3) if unchoke and unchoke["t"] else None
        row["seconds_from_first_byte"] = round(done["t"] - first["t"], 3)
        row["seconds_from_unchoke"] = round(done["t"] - t_unchoke, 3)
        row["leecher_cpu_s"] = done["cpu"]
        leecher.stop(signal.SIGINT)
        return os.path.join(leech_dir, self.a.name)

    # ---------- part b: p2pd or libtorrent seeds, Transmission leeches ---------------------
    def run_b(self, client, tag, row):
        self.trackerd(tag)
        leech_dir = self.fresh_dir("dl", tag)
        tr, rpc, _ = self.transmission(tag, leech_dir)
        # Transmission never dials a loopback peer: it must be on the tracker before the
        # seeder's first announce, so the seeder learns of it and dials.
        self.wait("trackerd to list the Transmission leecher", lambda: self.scrape()[1] >= 1, tr)
        seed = self.seed_dir(tag)
        if client == "p2pd":
            seeder = self.proc("seed", [self.a.harness, self.torrent, seed], tag)
            ready = seeder.watch(lambda l: (jline(l) or {}).get("state") == "Seeding")
        else:
            seeder = self.proc("seed", ["/usr/bin/python3", LT_PEER, "seed", self.torrent, seed,
                                        "--port", str(free_port()), "--use-trackers"], tag)
            ready = seeder.watch(lambda l: (jline(l) or {}).get("event") == "ready")
        self.wait("the seeder to be ready", lambda: ready["ev"].is_set(), seeder, tr)
        warm(self.data)
        t0 = ready["t"]
        seed_cpu0 = cpu_s(seeder.pid)
        row["load_at_start"] = loadavg()
        t_first = None
        end = time.monotonic() + self.a.timeout
        while True:
            t = rpc.torrent() or {}
            now = time.monotonic()
            if t_first is None and (t.get("downloadedEver") or 0) > 0:
                t_first = now
            if t.get("percentDone") == 1 and t.get("haveValid") == t.get("sizeWhenDone"):
                break
            if now > end:
                raise RuntimeError(f"Transmission did not complete within {self.a.timeout}s: {t}")
            for p in (seeder, tr):
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited: {p.tail()}")
            time.sleep(0.05)
        row["seconds_from_start"] = round(now - t0, 3)
        row["first_byte_s"] = round(t_first - t0, 3)
        row["seconds_from_first_byte"] = round(now - t_first, 3)
        row["seeder_cpu_s"] = round(cpu_s(seeder.pid) - seed_cpu0, 3)
        seeder.stop(signal.SIGINT)
        return os.path.join(leech_dir, self.a.name)

    def run_case(self, case, run):
        part, client = case.split("-")
        tag = f"r{run}-{case}"
        row = {"case": case, "run": run, "ok": False}
        n_started = len(self.started)
        try:
            got = (self.run_a if part == "a" else self.run_b)(client, tag, row)
            for p in self.started[n_started:]:
                p.stop(signal.SIGTERM)
            row["sha1_ok"] = os.path.exists(got) and os.path.getsize(got) == self.size \
                and sha1_file(got) == self.a.sha1
            row["ok"] = bool(row["sha1_ok"])
            mb = self.size / 1e6
            row["MB_s_from_start"] = round(mb / row["seconds_from_start"], 2)
            row["MB_s_from_first_byte"] = round(mb / row["seconds_from_first_byte"], 2)
            if row.get("seconds_from_unchoke"):
                row["MB_s_from_unchoke"] = round(mb / row["seconds_from_unchoke"], 2)
        except Exception as e:  # noqa: BLE001
            row["error"] = str(e)
            log(f"{case} run {run} FAILED: {e}")
        finally:
            for p in self.started[n_started:]:
                p.stop(signal.SIGTERM)
            shutil.rmtree(os.path.join(self.work, "dl", tag), ignore_errors=True)
            shutil.rmtree(os.path.join(self.work, "seed", tag), ignore_errors=True)
        return row

    def cleanup(self):
        for p in self.started:
            if p.alive():
                p.stop(signal.SIGKILL)


def median(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 2) if xs else None


def main():
    ap = argparse.ArgumentParser()
    for k in ("torrent", "data", "name", "info-hash", "sha1", "work", "harness", "trackerd", "out"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--tracker-port", type=int, required=True)
    ap.add_argument("--size-mib", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    cases = [c for c in a.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            sys.exit(f"unknown case {c}; known: {', '.join(CASES)}")
    b = Bench(a)
    rows = []
    load_before = loadavg()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for run in range(1, a.runs + 1):
            k = (run - 1) % len(cases)
            for c in cases[k:] + cases[:k]:
                log(f"{a.size_mib} MiB run {run}/{a.runs}: {c} (load {loadavg()})")
                r = b.run_case(c, run)
                rows.append(r)
                if r.get("ok"):
                    log(f"  {r['seconds_from_start']} s from start, {r['MB_s_from_first_byte']} MB/s from the "
                        f"first byte, {r.get('MB_s_from_unchoke', '-')} MB/s from the first unchoke")
    finally:
        b.cleanup()
    res = {}
    for c in cases:
        good = [r for r in rows if r["case"] == c and r.get("ok")]
        res[c] = {"ok_runs": len(good), "runs": sum(1 for r in rows if r["case"] == c)}
        for k in ("seconds_from_start", "first_byte_s", "unchoke_s", "lt_saw_unchoke_s", "MB_s_from_start",
                  "MB_s_from_first_byte", "MB_s_from_unchoke"):
            res[c][k] = median([r.get(k) for r in good])
    hdr = (f"{'seeder -> leecher':<28} {'ok':>4} {'s from start':>12} {'1st unchoke s':>13} {'1st byte s':>10} "
           f"{'MB/s start':>10} {'MB/s byte':>9} {'MB/s unchoke':>12}")
    print(hdr)
    print("-" * len(hdr))

    def f(v):
        return "-" if v is None else str(v)
    for c in cases:
        r = res[c]
        print(f"{LABEL[c]:<28} {r['ok_runs']:>2}/{r['runs']:<1} {f(r['seconds_from_start']):>12} "
              f"{f(r['unchoke_s']):>13} {f(r['first_byte_s']):>10} {f(r['MB_s_from_start']):>10} "
              f"{f(r['MB_s_from_first_byte']):>9} {f(r['MB_s_from_unchoke']):>12}")
    for mine, ref, k in (("a-p2pd", "a-lt", "MB_s_from_unchoke"), ("b-p2pd", "b-lt", "MB_s_from_first_byte")):
        if res.get(mine, {}).get(k) and res.get(ref, {}).get(k):
            print(f"{LABEL[mine]} / {LABEL[ref]} ({k}): {res[mine][k] / res[ref][k]:.2f}")
    print(f"\n{a.size_mib} MiB, 256 KiB pieces, 127.0.0.1, trackerd between them, {a.runs} interleaved run(s), "
          f"medians; MB/s = 10^6 bytes/s; load average before {load_before}, after {loadavg()}")
    with open(a.out, "w") as fh:
        json.dump({"benchmark": "transmission", "size_mib": a.size_mib, "runs": a.runs, "results": res,
                   "rows": rows, "load_average_before": load_before}, fh, indent=2)
        fh.write("\n")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
