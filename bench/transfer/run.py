#!/usr/bin/python3
"""Loopback transfer benchmark driver; bench/transfer.sh prepares everything and runs this.

One file, seeders -> one leecher over 127.0.0.1, timed from the leecher's start to its verified
completion, for p2pd (engine-harness), libtorrent (lt_peer.py) and aria2c, RUNS interleaved runs.
See bench/README.md ("transfer.sh") for what is measured and how.

Usage (normally through bench/transfer.sh):
  /usr/bin/python3 run.py --torrent T --data FILE --work DIR --harness BIN --tracker-port P \
      --runs N --cases p2pd,lt,aria2,p2pd4,lt4 --out transfer.json

Parts of the process handling follow /work/shared/bench/clients/bench_download.py.
Only processes started here are signalled, by PID; every wait is bounded.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 180
STOP_TIMEOUT = 20

ARIA2_COMMON = ["--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--enable-peer-exchange=false", "--interface=127.0.0.1", "--summary-interval=0",
                "--console-log-level=warn", "--show-console-readout=false", "--auto-save-interval=0",
                "--bt-save-metadata=false", "--rpc-save-upload-metadata=false", "--no-conf=true",
                "--check-certificate=false"]

CASES = {
    # name: (client, number of seeders)
    "p2pd": ("p2pd", 1),
    "lt": ("lt", 1),
    "aria2": ("aria2", 1),
    "p2pd4": ("p2pd", 4),
    "lt4": ("lt", 4),
    # Message Stream Encryption, both ends set alike (bench/mse.sh compares them).
    "p2pdplain": ("p2pd", 1),
    "p2pdrc4": ("p2pd", 1),
    # uTP (bench/utp.sh): p2pd over TCP only, p2pd dialling uTP first, and
    # libtorrent with TCP off.
    "p2pdtcp": ("p2pd", 1),
    "p2pdutp": ("p2pd", 1),
    "ltutp": ("lt", 1),
}
# engine-harness flags per case (both seeders and leecher). `p2pd` keeps the
# default, `prefer`, which two p2pd settle as RC4.
P2PD_ARGS = {
    "p2pdplain": ["--encryption", "disable"],
    "p2pdrc4": ["--encryption", "require"],
    "p2pdtcp": ["--utp", "off"],
    "p2pdutp": ["--utp", "prefer"],
}
# lt_peer.py flags per case (both seeders and leecher).
LT_ARGS = {
    "ltutp": ["--utp-only"],
}
LABEL = {"p2pd": "p2pd", "lt": "libtorrent", "aria2": "aria2c"}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def cpu_s(pid):
    """utime + stime of a live process (all its threads), seconds; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, IndexError, ValueError):
        return None


def mem_kib(pid):
    """VmHWM / RssAnon / RssFile of a live process, KiB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def machine_busy_s():
    """Non-idle CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / HZ


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def warm(path):
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def scrape(port, info_hash):
    """(complete, incomplete) of one torrent on the tracker at 127.0.0.1:port; (-1, -1)
    when it does not answer."""
    q = "info_hash=" + urllib.parse.quote(bytes.fromhex(info_hash), safe="")
    try:
        raw = urllib.request.urlopen(f"http://127.0.0.1:{port}/scrape?{q}", timeout=2).read()
    except OSError:
        return (-1, -1)

    # tiny bencode scan: ...8:completei<N>e...10:incompletei<N>e
    def num(key):
        k = f"{len(key)}:{key}i".encode()
        i = raw.find(k)
        if i < 0:
            return 0
        return int(raw[i + len(k):raw.index(b"e", i + len(k))])
    return (num("complete"), num("incomplete"))


class Proc:
    """A started process whose stdout lines are read by a thread (so a chatty child never blocks
    on a full pipe). `watch(pred)` returns an Event set by the first line matching pred; at that
    moment the thread records the monotonic time, the process's CPU seconds and memory."""

    def __init__(self, name, cmd, logpath, env=None):
        self.name = name
        self.cmd = cmd
        self.logf = open(logpath, "w")
        self.logf.write("$ " + " ".join(cmd) + "\n")
        self.logf.flush()
        self.t_start = time.monotonic()
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.logf, text=True,
                                  bufsize=1, env=env)
        self.pid = self.p.pid
        self.lines = []
        self.watches = []
        self.lock = threading.Lock()
        self.rusage = None
        self.exit_status = None
        self.t_exit = None
        self.signals_sent = 0
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self):
        for line in self.p.stdout:
            now = time.monotonic()
            line = line.rstrip("\n")
            with self.lock:
                self.lines.append(line)
                if len(self.lines) > 50:
                    del self.lines[:25]
                watches = list(self.watches)
            for w in watches:
                if not w["ev"].is_set():
                    try:
                        hit = w["pred"](line)
                    except Exception:  # noqa: BLE001
                        hit = False
                    if hit:
                        w["t"] = now
                        w["cpu"] = cpu_s(self.pid)
                        w["mem"] = mem_kib(self.pid)
                        w["line"] = line
                        w["ev"].set()

    def watch(self, pred):
        w = {"pred": pred, "ev": threading.Event(), "t": None, "cpu": None, "mem": None, "line": None}
        with self.lock:
            self.watches.append(w)
            # lines already read (the thread may have been faster than us)
            for line in self.lines:
                try:
                    if pred(line):
                        w.update(t=time.monotonic(), cpu=cpu_s(self.pid), mem=mem_kib(self.pid), line=line)
                        w["ev"].set()
                        break
                except Exception:  # noqa: BLE001
                    pass
        return w

    def alive(self):
        return self.exit_status is None and self._reap(block=False) is None

    def _reap(self, block):
        if self.exit_status is not None:
            return self.exit_status
        try:
            pid, status, ru = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.exit_status = -1
            return self.exit_status
        if pid == 0:
            return None
        self.t_exit = time.monotonic()
        self.exit_status = os.waitstatus_to_exitcode(status)
        self.rusage = ru
        self.p.returncode = self.exit_status
        return self.exit_status

    def wait_exit(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._reap(block=False) is not None:
                return True
            time.sleep(0.02)
        return False

    def stop(self, sig=signal.SIGINT):
        """Graceful stop (SIGINT), SIGKILL after STOP_TIMEOUT; returns exit rusage facts."""
        # The signal is repeated every second: engine-harness re-creates its ctrl_c() future on
        # every 100 ms status tick, so a SIGINT arriving while it prints a line can be missed.
        end = time.monotonic() + STOP_TIMEOUT
        sent = 0
        while self.alive() and time.monotonic() < end:
            try:
                os.kill(self.pid, sig)
                sent += 1
            except ProcessLookupError:
                break
            self.wait_exit(1.0)
        self.signals_sent += sent
        if self.alive():
            log(f"{self.name} (pid {self.pid}) did not stop on {sig.name}, SIGKILL")
            os.kill(self.pid, signal.SIGKILL)
            self._reap(block=True)
        self.th.join(2)
        self.logf.close()
        return self.exit_facts()

    def exit_facts(self):
        if self.rusage is None:
            return {"exit": self.exit_status, "signals_sent": self.signals_sent}
        return {"exit": self.exit_status, "signals_sent": self.signals_sent,
                "cpu_exit_s": round(self.rusage.ru_utime + self.rusage.ru_stime, 3),
                "user_exit_s": round(self.rusage.ru_utime, 3),
                "sys_exit_s": round(self.rusage.ru_stime, 3),
                "maxrss_mib": round(self.rusage.ru_maxrss / 1024, 1)}

    def tail(self):
        with self.lock:
            return self.lines[-3:]


def jline(line):
    return json.loads(line) if line.startswith("{") else None


class Bench:
    def __init__(self, a):
        self.a = a
        self.torrent = os.path.abspath(a.torrent)
        self.data = os.path.abspath(a.data)
        self.name = a.name
        self.size = os.path.getsize(self.data)
        self.work = os.path.abspath(a.work)
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.started = []  # every Proc, for cleanup
        self.ot = None
        self.p2pd_args = []

    # ---------- seed folders: hard links to the one data file (one inode, one page cache) ----
    def seed_dir(self, client, i):
        d = os.path.join(self.work, "seed", f"{client}-{i}")
        os.makedirs(d, exist_ok=True)
        f = os.path.join(d, self.name)
        if not (os.path.exists(f) and os.path.samefile(f, self.data)):
            if os.path.exists(f):
                os.remove(f)
            os.link(self.data, f)
        # p2pd's resume data and aria2's control file: start every seeder from the same state
        shutil.rmtree(os.path.join(d, ".progress"), ignore_errors=True)
        for extra in (f + ".aria2",):
            if os.path.exists(extra):
                os.remove(extra)
        return d

    def proc(self, name, cmd, tag):
        p = Proc(name, cmd, os.path.join(self.logs, f"{tag}-{name}.log"))
        self.started.append(p)
        return p

    # ---------- opentracker (aria2 only: it cannot be given a peer) ------------------------
    def ot_start(self):
        d = os.path.join(self.work, "ot")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "whitelist"), "w") as f:
            f.write(self.a.info_hash + "\n")
        os.chmod(d, 0o755)
        os.chmod(os.path.join(d, "whitelist"), 0o644)
        port = self.a.tracker_port
        cmd = ["opentracker", "-i", "127.0.0.1", "-p", str(port), "-P", str(port), "-d", d, "-w", "whitelist"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        self.ot = Proc("opentracker", cmd, os.path.join(self.logs, "opentracker.log"))
        self.started.append(self.ot)
        end = time.monotonic() + 10
        while time.monotonic() < end and not port_open(port):
            if not self.ot.alive():
                raise RuntimeError("opentracker exited; see " + os.path.join(self.logs, "opentracker.log"))
            time.sleep(0.05)
        if not port_open(port):
            raise RuntimeError(f"opentracker not listening on {port}")

    def ot_stop(self):
        if self.ot:
            self.ot.stop(signal.SIGTERM)
            self.ot = None

    def scrape(self):
        return scrape(self.a.tracker_port, self.a.info_hash)

    # ---------- seeders ------------------------------------------------------------------
    def start_seeder(self, client, i, tag):
        d = self.seed_dir(client, i)
        if client == "p2pd":
            p = self.proc(f"seed{i}", [self.a.harness, self.torrent, d, "--no-trackers",
                                       *self.p2pd_args], tag)
            lw = p.watch(lambda l: l.startswith("listening on "))
            rw = p.watch(lambda l: (jline(l) or {}).get("state") == "Seeding")
            return p, lambda: (lw["ev"].is_set() and rw["ev"].is_set()), \
                lambda: int(lw["line"].split()[-1])
        if client == "lt":
            port = free_port()
            p = self.proc(f"seed{i}", ["/usr/bin/python3", os.path.join(HERE, "lt_peer.py"), "seed",
                                       self.torrent, d, "--port", str(port), *self.lt_args], tag)
            rw = p.watch(lambda l: (jline(l) or {}).get("event") == "ready")
            return p, lambda: rw["ev"].is_set() and port_open(port), lambda: port
        if client == "aria2":
            port = free_port()
            p = self.proc(f"seed{i}", ["aria2c", f"--dir={d}", "--seed-ratio=0.0", "--bt-seed-unverified=true",
                                       "--check-integrity=false", f"--listen-port={port}",
                                       "--file-allocation=none", *ARIA2_COMMON, self.torrent], tag)
            return p, lambda: port_open(port) and self.scrape()[0] >= 1, lambda: port
        raise ValueError(client)

    # ---------- latency relay (bench/latency.sh) ------------------------------------------
    def start_relay(self, port, tag, i):
        cmd = [self.a.relay, "--to", f"127.0.0.1:{port}", "--delay-ms", str(self.a.relay_delay_ms)]
        if self.a.relay_rate_mbps:
            cmd += ["--rate-mbps", str(self.a.relay_rate_mbps)]
        p = self.proc(f"relay{i}", cmd, tag)
        w = p.watch(lambda l: l.strip().isdigit())
        if not w["ev"].wait(10):
            raise RuntimeError(f"relay did not print its port: {p.tail()}")
        return p, int(w["line"])

    # ---------- one timed run ----------------------------------------------------------------
    def run_case(self, case, run):
        client, nseed = CASES[case]
        tag = f"r{run}-{case}"
        leech_dir = os.path.join(self.work, "dl", tag)
        shutil.rmtree(leech_dir, ignore_errors=True)
        os.makedirs(leech_dir)  # a fresh, empty download folder for every run
        row = {"case": case, "client": client, "seeders": nseed, "run": run, "ok": False}
        self.p2pd_args = P2PD_ARGS.get(case, [])
        self.lt_args = LT_ARGS.get(case, [])
        seeders = []
        relays = []
        leecher = None
        try:
            if client == "aria2":
                self.ot_start()
            for i in range(nseed):
                seeders.append(self.start_seeder(client, i, tag))
            end = time.monotonic() + READY_TIMEOUT
            while not all(ready() for _, ready, _ in seeders):
                for p, _, _ in seeders:
                    if not p.alive():
                        raise RuntimeError(f"{case} seeder {p.name} exited: {p.tail()}")
                if time.monotonic() > end:
                    raise RuntimeError(f"{case} seeders not ready after {READY_TIMEOUT}s")
                time.sleep(0.05)
            ports = [port() for _, _, port in seeders]
            if self.a.relay:  # the leecher's only way to the seeders: through a relay each
                relays = [self.start_relay(port, tag, i) for i, port in enumerate(ports)]
                ports = [port for _, port in relays]
            if client == "aria2":  # the tracker must know the seeder and nobody else
                end = time.monotonic() + 20
                while self.scrape() != (1, 0) and time.monotonic() < end:
                    time.sleep(0.2)
            warm(self.data)  # page cache warm on the seeder side
            row["load_at_start"] = loadavg()
            busy0 = machine_busy_s()
            seed_cpu0 = [cpu_s(p.pid) for p, _, _ in seeders]

            t0 = time.monotonic()
            lport = free_port()
            if client == "p2pd":
                cmd = [self.a.harness, self.torrent, leech_dir, "--no-trackers", *self.p2pd_args]
                for port in ports:
                    cmd += ["--peer", f"127.0.0.1:{port}"]
                leecher = self.proc("leech", cmd, tag)
                first = leecher.watch(lambda l: ((jline(l) or {}).get("downloaded") or 0) > 0)
                done = leecher.watch(lambda l: (jline(l) or {}).get("state") == "Seeding")
            elif client == "lt":
                cmd = ["/usr/bin/python3", os.path.join(HERE, "lt_peer.py"), "leech", self.torrent, leech_dir,
                       "--port", str(lport), *self.lt_args]
                for port in ports:
                    cmd += ["--peer", f"127.0.0.1:{port}"]
                leecher = self.proc("leech", cmd, tag)
                first = leecher.watch(lambda l: (jline(l) or {}).get("event") == "first_byte")
                done = leecher.watch(lambda l: (jline(l) or {}).get("event") == "done")
            else:
                cmd = ["aria2c", f"--dir={leech_dir}", "--seed-time=0", f"--listen-port={lport}",
                       "--file-allocation=falloc", "--bt-stop-timeout=60", "--bt-tracker-connect-timeout=5",
                       *ARIA2_COMMON, self.torrent]
                leecher = self.proc("leech", cmd, tag)
                first = None
                done = None

            # wait for completion (bounded)
            end = t0 + self.a.timeout
            t_done = None
            seed_cpu1 = None
            while time.monotonic() < end:
                if done is not None:
                    if done["ev"].wait(0.005):
                        t_done = done["t"]
                        break
                    if not leecher.alive():
                        break
                else:
                    if leecher.wait_exit(0.005):
                        t_done = leecher.t_exit
                        break
            seed_cpu1 = [cpu_s(p.pid) for p, _, _ in seeders]
            busy1 = machine_busy_s()
            if t_done is None:
                raise RuntimeError(f"{case}: leecher did not complete within {self.a.timeout}s: {leecher.tail()}")
            secs = t_done - t0
            row["seconds"] = round(secs, 3)
            row["MB_s"] = round(self.size / 1e6 / secs, 1)
            row["first_byte_s"] = round(first["t"] - t0, 3) if first and first["t"] else None
            # rate after the first payload byte: without process start-up and connection set-up
            row["MB_s_after_first_byte"] = round(self.size / 1e6 / (secs - row["first_byte_s"]), 1) \
                if row["first_byte_s"] is not None and secs > row["first_byte_s"] else None
            row["seeder_cpu_s"] = round(sum(b - a for a, b in zip(seed_cpu0, seed_cpu1)), 3)
            if done is not None:
                row["leecher_cpu_s"] = done["cpu"]
                row["leecher_mem_at_done_kib"] = done["mem"]
                info = jline(done["line"]) or {}
                if client == "p2pd":
                    row["p2pd_done_status"] = {k: info.get(k) for k in
                                               ("pieces_have", "piece_count", "downloaded", "hash_failures",
                                                "pieces_rechecked")}
                    row["p2pd_done_status"]["peers"] = [{k: p.get(k) for k in ("addr", "downloaded", "transport")}
                                                        for p in info.get("peers", [])]
                    # What carried the first bytes (bench/utp.sh checks it was what the case says).
                    firsts = (jline(first["line"]) or {}).get("peers", []) if first and first["line"] else []
                    row["transports"] = sorted({p.get("transport") for p in firsts if p.get("transport")})
                else:
                    row["lt_done"] = info
            # stop everything, collect exit CPU / peak RSS
            lf = leecher.stop(signal.SIGINT)
            row["leecher_exit"] = lf
            if done is None:  # aria2 exits on its own at completion
                row["leecher_cpu_s"] = lf.get("cpu_exit_s")
                if lf.get("exit") != 0:
                    raise RuntimeError(f"aria2c leecher exit {lf.get('exit')}")
            row["leecher_peak_rss_mib"] = lf.get("maxrss_mib")
            row["seeders_exit"] = [p.stop(signal.SIGINT) for p, _, _ in seeders]
            ours = (row["leecher_cpu_s"] or 0) + row["seeder_cpu_s"]
            row["other_cpu_s"] = round(max(0.0, (busy1 - busy0) - ours), 2)
            # verify the download against the source file
            got = os.path.join(leech_dir, self.name)
            row["sha1_ok"] = os.path.exists(got) and os.path.getsize(got) == self.size \
                and sha1_file(got) == self.a.sha1
            row["ok"] = bool(row["sha1_ok"])
            if not row["ok"]:
                log(f"{case} run {run}: downloaded file does not match the source!")
        except Exception as e:  # noqa: BLE001
            row["error"] = str(e)
            log(f"{case} run {run} FAILED: {e}")
        finally:
            if leecher:
                leecher.stop(signal.SIGINT)
            for p, _, _ in seeders:
                p.stop(signal.SIGINT)
            for p, _ in relays:
                p.stop(signal.SIGINT)
            if client == "aria2":
                self.ot_stop()
            if not self.a.keep:
                shutil.rmtree(leech_dir, ignore_errors=True)
        return row

    def cleanup(self):
        for p in self.started:
            try:
                if p.alive():
                    p.stop(signal.SIGKILL)
            except Exception:  # noqa: BLE001
                pass


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(rows, cases, size, cap_mbps=None):
    res = {}
    for c in cases:
        good = [r for r in rows if r["case"] == c and r.get("ok")]
        if not good:
            res[c] = {"ok_runs": 0, "runs": sum(1 for r in rows if r["case"] == c)}
            continue
        mbs = [r["MB_s"] for r in good]
        res[c] = {
            "client": CASES[c][0], "seeders": CASES[c][1],
            "ok_runs": len(good), "runs": sum(1 for r in rows if r["case"] == c),
            "median_MB_s": round(median(mbs), 1), "min_MB_s": min(mbs), "max_MB_s": max(mbs),
            "median_seconds": round(median([r["seconds"] for r in good]), 3),
            "median_first_byte_s": median([r.get("first_byte_s") for r in good]),
            "median_MB_s_after_first_byte": median([r.get("MB_s_after_first_byte") for r in good]),
            "median_seeder_cpu_s": round(median([r["seeder_cpu_s"] for r in good]), 2),
            "median_leecher_cpu_s": round(median([r["leecher_cpu_s"] for r in good]), 2),
            "median_leecher_peak_rss_mib": median([r["leecher_peak_rss_mib"] for r in good]),
            "median_other_cpu_s": median([r.get("other_cpu_s") for r in good]),
        }
        if cap_mbps:
            res[c]["pct_of_cap"] = round(100 * res[c]["median_MB_s"] / cap_mbps, 1)
    for c, r in res.items():
        if not r.get("ok_runs"):
            continue
        ref = res.get("lt4" if CASES[c][1] > 1 and res.get("lt4", {}).get("ok_runs") else "lt", {})
        r["vs_libtorrent"] = round(r["median_MB_s"] / ref["median_MB_s"], 2) if ref.get("ok_runs") else None
        r["vs_libtorrent_case"] = ("lt4" if ref is res.get("lt4") else "lt") if ref.get("ok_runs") else None
    return res


def table(res, cases):
    out = []
    hdr = (f"{'seeders -> leecher':<28} {'ok':>4} {'MB/s':>7} {'min-max MB/s':>14} {'s':>7} "
           f"{'1st byte s':>10} {'MB/s after':>10} {'seed CPU s':>10} {'leech CPU s':>11} {'leech RSS MiB':>13} {'vs lt':>6}")
    out.append(hdr)
    out.append("-" * len(hdr))
    for c in cases:
        r = res[c]
        client, n = CASES[c]
        name = f"{n} x {LABEL[client]} -> {LABEL[client]}" if n > 1 else f"{LABEL[client]} -> {LABEL[client]}"
        if c in P2PD_ARGS:
            name += f" ({P2PD_ARGS[c][1]})"
        if not r.get("ok_runs"):
            out.append(f"{name:<28} {0:>2}/{r['runs']:<1}  (failed, see the logs)")
            continue
        vs = f"{r['vs_libtorrent']:.2f}" if r.get("vs_libtorrent") is not None else "-"
        fb = f"{r['median_first_byte_s']:.2f}" if r.get("median_first_byte_s") is not None else "-"
        after = (f"{r['median_MB_s_after_first_byte']:.1f}" if r.get("median_MB_s_after_first_byte")
                 is not None else "-")
        cap = f"  {r['pct_of_cap']}% of cap" if r.get("pct_of_cap") is not None else ""
        out.append(f"{name:<28} {r['ok_runs']:>2}/{r['runs']:<1} {r['median_MB_s']:>7.1f} "
                   f"{str(r['min_MB_s']) + '-' + str(r['max_MB_s']):>14} {r['median_seconds']:>7.2f} {fb:>10} {after:>10} "
                   f"{r['median_seeder_cpu_s']:>10.2f} {r['median_leecher_cpu_s']:>11.2f} "
                   f"{r['median_leecher_peak_rss_mib']:>13.1f} {vs:>6}{cap}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--data", required=True, help="the source file (the torrent's single file)")
    ap.add_argument("--name", required=True, help="the file name in the torrent")
    ap.add_argument("--info-hash", required=True)
    ap.add_argument("--sha1", required=True, help="SHA-1 of the whole source file")
    ap.add_argument("--work", required=True)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--tracker-port", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="p2pd,lt,aria2,p2pd4,lt4")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the downloaded folders")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size-mib", type=int, required=True)
    ap.add_argument("--relay", help="latency-relay binary: the leecher reaches each seeder through one")
    ap.add_argument("--relay-delay-ms", type=int, default=50, help="one-way delay of the relay")
    ap.add_argument("--relay-rate-mbps", type=float, help="relay cap per direction, 10^6 bytes/s")
    a = ap.parse_args()
    cases = [c for c in a.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            sys.exit(f"unknown case {c}; known: {', '.join(CASES)}")

    b = Bench(a)
    rows = []
    load_before = loadavg()
    t_begin = time.time()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for run in range(1, a.runs + 1):
            # interleaved, and rotate the order so no case always goes first
            k = (run - 1) % len(cases)
            for c in cases[k:] + cases[:k]:
                log(f"run {run}/{a.runs}: {c} (load {loadavg()})")
                r = b.run_case(c, run)
                rows.append(r)
                if r.get("ok"):
                    log(f"  {r['seconds']:.2f} s  {r['MB_s']} MB/s  seeder CPU {r['seeder_cpu_s']} s  "
                        f"leecher CPU {r['leecher_cpu_s']} s  leecher RSS {r['leecher_peak_rss_mib']} MiB  "
                        f"other CPU {r.get('other_cpu_s')} s")
    finally:
        b.cleanup()
    load_after = loadavg()
    res = summarize(rows, cases, b.size, a.relay_rate_mbps)
    cpus = os.cpu_count()
    print(table(res, cases))
    if a.relay:
        cap = f", capped at {a.relay_rate_mbps} MB/s per direction" if a.relay_rate_mbps else ""
        print(f"\nthrough latency-relay: {a.relay_delay_ms} ms each way ({2 * a.relay_delay_ms} ms round trip){cap}")
    print(f"\n{a.size_mib} MiB file, 256 KiB pieces, 127.0.0.1, {a.runs} interleaved run(s), medians; "
          f"MB/s = 10^6 bytes/s from leecher start to verified completion; fresh download folder every run; "
          f"seeder page cache warm; {cpus} CPUs; load average before {load_before}, after {load_after}")
    doc = {
        "benchmark": "transfer", "size_mib": a.size_mib, "size_bytes": b.size, "piece_length": 262144,
        "runs": a.runs, "cases": cases, "cpus": cpus, "info_hash": a.info_hash,
        "load_average_before": load_before, "load_average_after": load_after,
        "started_unix": int(t_begin), "page_cache": "warm (seeder file read before every run)",
        "download_folders": "fresh and empty for every run, deleted after the SHA-1 check",
        "relay": {"delay_ms": a.relay_delay_ms, "rate_mbps": a.relay_rate_mbps} if a.relay else None,
        "results": res, "rows": rows,
    }
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    log(f"wrote {a.out}")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
