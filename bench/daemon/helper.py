"""Helpers for bench/daemon.sh: polling p2pd (through p2pctl) and trackerd,
sampling RSS, making test files, and the final report.

Every wait is bounded: a subcommand that runs out of time exits 1 with one
line on stderr saying what it was waiting for.
"""
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def die(msg):
    print("daemon.sh: " + msg, file=sys.stderr)
    sys.exit(1)


def torrents(p2pctl, sock):
    """`p2pctl --json list` as a list of summaries ([] while the daemon is not answering)."""
    r = subprocess.run([p2pctl, "--socket", sock, "--json", "list"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None
    v = json.loads(r.stdout)
    if isinstance(v, dict):
        v = v.get("torrents", [])
    return v


def tracker_seeders(base, ih):
    """Seeders trackerd reports for `ih`, or None when it does not know it (404)."""
    try:
        with urllib.request.urlopen("%s/api/v1/torrents/%s" % (base, ih), timeout=10) as r:
            return int(json.load(r).get("seeders", 0))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def cmd_seeding(p2pctl, sock, n, since, timeout):
    """Waits until at least N torrents are `seeding`; prints seconds since SINCE."""
    n, since, timeout = int(n), float(since), float(timeout)
    last_report = time.time()
    while True:
        ts = torrents(p2pctl, sock) or []
        seeding = sum(1 for t in ts if t.get("state") == "seeding")
        now = time.time()
        if seeding >= n:
            print("%.3f" % (now - since))
            return
        if now - since > timeout:
            states = {}
            for t in ts:
                states[t.get("state")] = states.get(t.get("state"), 0) + 1
            die("timed out after %.0f s waiting for %d seeding torrents in %s: %s" % (timeout, n, sock, states))
        if now - last_report >= 10:
            print("  ... %d of %d torrents listed, %d seeding (%.0f s)" % (len(ts), n, seeding, now - since),
                  file=sys.stderr)
            last_report = now
        time.sleep(0.2 if n > 10 else 0.05)


def cmd_announced(p2pctl, sock, base, ih, since, timeout):
    """Polls `p2pctl list` and trackerd until IH is listed by both (tracker: at least
    one seeder); prints {"listed_s", "seeding_s", "tracker_s"} (seconds since SINCE)."""
    since, timeout, ih = float(since), float(timeout), ih.lower()
    out = {"listed_s": None, "seeding_s": None, "tracker_s": None}
    while True:
        now = time.time()
        if out["seeding_s"] is None:
            for t in torrents(p2pctl, sock) or []:
                if t.get("info_hash", "").lower() == ih:
                    if out["listed_s"] is None:
                        out["listed_s"] = round(now - since, 3)
                    if t.get("state") == "seeding":
                        out["seeding_s"] = round(now - since, 3)
        now = time.time()
        if out["tracker_s"] is None:
            s = tracker_seeders(base, ih)
            if s is not None and s >= 1:
                out["tracker_s"] = round(now - since, 3)
        if out["seeding_s"] is not None and out["tracker_s"] is not None:
            print(json.dumps(out))
            return
        if now - since > timeout:
            die("timed out after %.0f s waiting for %s to be listed and announced: %s" % (timeout, ih, out))
        time.sleep(0.02)


def cmd_info_hash(p2pctl, sock, name, timeout):
    """Prints the info-hash of the torrent named NAME once p2pd lists it."""
    start = time.time()
    while time.time() - start < float(timeout):
        for t in torrents(p2pctl, sock) or []:
            if t.get("name") == name:
                print(t["info_hash"])
                return
        time.sleep(0.1)
    die("p2pd at %s never listed %s" % (sock, name))


def cmd_tracker_wait(base, ih, timeout):
    """Waits until trackerd lists IH with at least one seeder."""
    start = time.time()
    while time.time() - start < float(timeout):
        s = tracker_seeders(base, ih)
        if s is not None and s >= 1:
            return
        time.sleep(0.1)
    die("trackerd never listed a seeder for %s" % ih)


def cmd_tracker_count(base, n, since, timeout):
    """Waits until trackerd's /api/v1/stats counts at least N seeders; prints seconds since SINCE."""
    n, since, timeout = int(n), float(since), float(timeout)
    while True:
        with urllib.request.urlopen(base + "/api/v1/stats", timeout=10) as r:
            seeders = int(json.load(r)["seeders"])
        now = time.time()
        if seeders >= n:
            print("%.3f" % (now - since))
            return
        if now - since > timeout:
            die("timed out after %.0f s waiting for %d seeders on trackerd (%d)" % (timeout, n, seeders))
        time.sleep(0.1)


def cmd_sample(pid, interval, out):
    """Appends VmRSS (KiB) of PID to OUT every INTERVAL seconds until SIGTERM or PID exits."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    interval = float(interval)
    with open(out, "w") as f:
        nxt = time.monotonic()
        while not stop:
            try:
                with open("/proc/%s/status" % pid) as s:
                    for line in s:
                        if line.startswith("VmRSS:"):
                            f.write(line.split()[1] + "\n")
                            f.flush()
                            break
            except (FileNotFoundError, ProcessLookupError):
                return
            nxt += interval
            time.sleep(max(0.0, nxt - time.monotonic()))


def cmd_make_files(folder, n, kib, seed):
    """Writes N files of KIB KiB of distinct pseudo-random bytes: FOLDER/f0000.bin ..."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(int(seed))
    for i in range(int(n)):
        with open(os.path.join(folder, "f%04d.bin" % i), "wb") as f:
            f.write(rng.randbytes(int(kib) * 1024))


def cmd_report(results_path, json_out):
    # RESULTS: lines "section key value"; values are JSON where they parse as JSON.
    r = {}
    for line in open(results_path):
        sect, key, value = line.rstrip("\n").split(" ", 2)
        try:
            value = json.loads(value)
        except ValueError:
            pass
        if sect == "-":
            r[key] = value
        else:
            r.setdefault(sect, {})[key] = value
    samples = [int(x) for x in open(r["download"].pop("rss_samples_file")).read().split()]
    d = r["download"]
    d["rss_samples"] = len(samples)
    d["rss_peak_kib"] = max(samples) if samples else None
    d["rss_median_kib"] = int(statistics.median(samples)) if samples else None
    with open(json_out, "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")

    def mib(k):
        return "-" if k is None else "%.1f MiB" % (k / 1024)

    def sec(s):
        return "-" if s is None else "%.2f s" % s

    i, s, rs, dl, dr = r["idle"], r["seeded"], r["restart"], r["download"], r["drop"]
    rows = [
        ("p2pd idle", "RSS / HWM", "%s / %s" % (mib(i["rss_kib"]), mib(i["hwm_kib"]))),
        ("%d x %d KiB dropped in" % (s["files"], s["file_kib"]), "all seeding after", sec(s["seconds"])),
        ("", "RSS / HWM", "%s / %s" % (mib(s["rss_kib"]), mib(s["hwm_kib"]))),
        ("", "p2pd CPU", sec(s["cpu_s"])),
        ("", "sharing lines rehashed=true", str(s["rehashed_true"])),
        ("", "trackerd counts all seeders after", sec(s["tracker_s"])),
        ("restart", "SIGTERM to exit", sec(rs["stop_seconds"])),
        ("", "seeders left on trackerd", str(rs["tracker_seeders_after_stop"])),
        ("", "start to all seeding", sec(rs["seconds"])),
        ("", "trackerd counts all seeders after", sec(rs["tracker_s"])),
        ("", "sharing lines rehashed=false / true", "%d / %d" % (rs["rehashed_false"], rs["rehashed_true"])),
        ("", "RSS / HWM", "%s / %s" % (mib(rs["rss_kib"]), mib(rs["hwm_kib"]))),
        ("", "p2pd CPU", sec(rs["cpu_s"])),
        ("%d MiB dropped in (renamed)" % dr["size_mib"], "listed by p2pctl", sec(dr["listed_s"])),
        ("", "seeding (hashed, added)", sec(dr["seeding_s"])),
        ("", "seeder on trackerd", sec(dr["tracker_s"])),
        ("", "SIGTERM to exit (%d torrents)" % (s["files"] + 1), sec(dr["stop_seconds"])),
        ("", "info-hash = p2pctl create", str(dr["info_hash_matches"]).lower()),
        ("%d MiB download" % dl["size_mib"], "seeder share (hash) time", sec(dl["seeder_share_s"])),
        ("", "time / MB/s", "%s / %.1f MB/s" % (sec(dl["seconds"]), dl["mb_per_s"])),
        ("", "leecher RSS peak / median (%d samples)" % dl["rss_samples"],
         "%s / %s" % (mib(dl["rss_peak_kib"]), mib(dl["rss_median_kib"]))),
        ("", "leecher VmHWM at end", mib(dl["leecher_hwm_kib"])),
        ("", "CPU leecher / seeder", "%s / %s" % (sec(dl["leecher_cpu_s"]), sec(dl["seeder_cpu_s"]))),
        ("", "data identical", str(dl["identical"]).lower()),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    for a, b, c in rows:
        print("%-*s  %-*s  %s" % (w0, a, w1, b, c))
    print("load average: before %s, after %s" % (r["load_before"], r["load_after"]))


if __name__ == "__main__":
    cmds = {
        "seeding": cmd_seeding, "announced": cmd_announced, "info-hash": cmd_info_hash,
        "tracker-wait": cmd_tracker_wait, "tracker-count": cmd_tracker_count, "sample": cmd_sample, "make-files": cmd_make_files,
        "report": cmd_report,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: helper.py {%s} ARGS..." % "|".join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])
