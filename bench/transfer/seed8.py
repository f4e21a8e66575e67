#!/usr/bin/python3
"""One seeder, 8 libtorrent leechers at once, over 127.0.0.1; bench/seed8.sh prepares everything
and runs this. See bench/README.md ("seed8.sh").

The seeder is p2pd (engine-harness) or libtorrent (lt_peer.py); the leechers are always the same
8 python3-libtorrent processes, each given only the seeder's address, with ut_pex off so that they
never hear of each other. Timed from the start of the leechers to the last leecher's verified
completion; aggregate rate = leechers x file size / that time. Process handling, seeders and
helpers come from run.py (bench/transfer.sh).

Usage (normally through bench/seed8.sh):
  /usr/bin/python3 seed8.py --torrent T --data FILE --name N --info-hash H --sha1 S --work DIR \
      --harness BIN --runs 2 --cases p2pd,lt --leechers 8 --size-mib 1024 --out seed8.json
"""
import argparse
import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402

# case: (seeder client, extra seeder flags)
CASES = {
    "p2pd": ("p2pd", []),
    "lt": ("lt", []),
    # p2pd with as many upload slots as leechers (default 4 + 1 optimistic): what the choker costs.
    "p2pd8slots": ("p2pd", ["--upload-slots", "8"]),
}
SHORT_SLACK = 1 << 20
LABEL = {"p2pd": "p2pd", "lt": "libtorrent", "p2pd8slots": "p2pd --upload-slots 8"}


def last_json(lines, pred):
    for line in reversed(lines):
        j = R.jline(line)
        if j is not None and pred(j):
            return j
    return None


def run_case(b, case, run, nleech):
    client, extra = CASES[case]
    tag = f"r{run}-{case}"
    row = {"case": case, "client": client, "run": run, "leechers": nleech, "ok": False}
    b.p2pd_args = extra if client == "p2pd" else []
    b.lt_args = extra if client == "lt" else []
    dirs = [os.path.join(b.work, "dl", f"{tag}-{i}") for i in range(nleech)]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)  # fresh and empty for every run
    seeder = None
    leechers = []
    try:
        seeder, ready, port = b.start_seeder(client, 0, tag)
        end = time.monotonic() + R.READY_TIMEOUT
        while not ready():
            if not seeder.alive():
                raise RuntimeError(f"seeder exited: {seeder.tail()}")
            if time.monotonic() > end:
                raise RuntimeError(f"seeder not ready after {R.READY_TIMEOUT}s")
            time.sleep(0.05)
        sport = port()
        R.warm(b.data)
        row["load_at_start"] = R.loadavg()
        busy0 = R.machine_busy_s()
        seed_cpu0 = R.cpu_s(seeder.pid)

        t0 = time.monotonic()
        watches = []
        for i, d in enumerate(dirs):
            cmd = ["/usr/bin/python3", os.path.join(R.HERE, "lt_peer.py"), "leech", b.torrent, d,
                   "--port", str(R.free_port()), "--peer", f"127.0.0.1:{sport}", "--no-pex"]
            p = b.proc(f"leech{i}", cmd, tag)
            leechers.append(p)
            watches.append((p.watch(lambda l: (R.jline(l) or {}).get("event") == "first_byte"),
                            p.watch(lambda l: (R.jline(l) or {}).get("event") == "done")))
        end = t0 + b.a.timeout
        while time.monotonic() < end and not all(d["ev"].is_set() for _, d in watches):
            for p, (_, d) in zip(leechers, watches):
                if not d["ev"].is_set() and not p.alive():
                    raise RuntimeError(f"{p.name} exited: {p.tail()}")
            time.sleep(0.01)
        seed_cpu1 = R.cpu_s(seeder.pid)
        busy1 = R.machine_busy_s()
        missing = [p.name for p, (_, d) in zip(leechers, watches) if not d["ev"].is_set()]
        if missing:
            raise RuntimeError(f"not complete within {b.a.timeout}s: {', '.join(missing)}")

        each = [round(d["t"] - t0, 3) for _, d in watches]
        secs = max(each)
        row["seconds"] = secs
        row["leecher_seconds"] = each
        row["first_byte_s"] = [round(f["t"] - t0, 3) if f["t"] else None for f, _ in watches]
        row["MB_s"] = round(nleech * b.size / 1e6 / secs, 1)
        row["seeder_cpu_s"] = round(seed_cpu1 - seed_cpu0, 2)
        # CPU of each leecher process from its start to its "done" line (python start-up included)
        row["leechers_cpu_s"] = round(sum(d["cpu"] or 0 for _, d in watches), 2)
        row["other_cpu_s"] = round(max(0.0, (busy1 - busy0) - row["seeder_cpu_s"] - row["leechers_cpu_s"]), 2)
        done = [R.jline(d["line"]) or {} for _, d in watches]
        # payload each leecher received (libtorrent has dropped the seed-to-seed connection by
        # "done", so its peer list is empty then; the seeder's count below is the check)
        row["leecher_downloaded"] = [j.get("total_payload_download") for j in done]

        for p in leechers:
            p.stop(signal.SIGINT)
        seeder.stop(signal.SIGINT)
        with seeder.lock:
            lines = list(seeder.lines)
        if client == "p2pd":
            st = last_json(lines, lambda j: "uploaded" in j)
        else:
            st = last_json(lines, lambda j: j.get("event") == "exit")
        row["seeder_uploaded"] = (st or {}).get("uploaded")
        row["seeder_uploaded_vs_total"] = round(row["seeder_uploaded"] / (nleech * b.size), 4) \
            if row["seeder_uploaded"] else None
        row["sha1_ok"] = [os.path.getsize(os.path.join(d, b.name)) == b.size
                          and R.sha1_file(os.path.join(d, b.name)) == b.a.sha1 for d in dirs]
        # Leechers that traded among themselves would leave the seeder short of leechers x size.
        # libtorrent's payload counter can miss the last fraction of a second of a connection
        # that closes (seen: 228 KiB short of 8 GiB), so 1 MiB (4 pieces) of slack.
        row["seeder_short_bytes"] = nleech * b.size - (row["seeder_uploaded"] or 0)
        row["ok"] = all(row["sha1_ok"]) and row["seeder_short_bytes"] <= SHORT_SLACK
        if not row["ok"]:
            R.log(f"{case} run {run}: check failed: sha1 {row['sha1_ok']} "
                  f"seeder uploaded {row['seeder_uploaded']} of {nleech} x {b.size}")
    except Exception as e:  # noqa: BLE001
        row["error"] = str(e)
        R.log(f"{case} run {run} FAILED: {e}")
    finally:
        for p in leechers:
            p.stop(signal.SIGINT)
        if seeder:
            seeder.stop(signal.SIGINT)
        if not b.a.keep:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
    return row


def med(xs):
    return R.median(xs)


def summarize(rows, cases):
    res = {}
    for c in cases:
        good = [r for r in rows if r["case"] == c and r.get("ok")]
        res[c] = {"ok_runs": len(good), "runs": sum(1 for r in rows if r["case"] == c)}
        if not good:
            continue
        res[c].update({
            "median_MB_s": round(med([r["MB_s"] for r in good]), 1),
            "min_MB_s": min(r["MB_s"] for r in good), "max_MB_s": max(r["MB_s"] for r in good),
            "median_seconds": round(med([r["seconds"] for r in good]), 2),
            "median_first_done_s": round(med([min(r["leecher_seconds"]) for r in good]), 2),
            "median_leecher_s": round(med([med(r["leecher_seconds"]) for r in good]), 2),
            "median_seeder_cpu_s": round(med([r["seeder_cpu_s"] for r in good]), 2),
            "median_leechers_cpu_s": round(med([r["leechers_cpu_s"] for r in good]), 2),
            "median_other_cpu_s": round(med([r["other_cpu_s"] for r in good]), 2),
            "median_uploaded_vs_total": med([r["seeder_uploaded_vs_total"] for r in good]),
            "max_seeder_short_bytes": max(r["seeder_short_bytes"] for r in good),
        })
    ref = res.get("lt", {})
    for c, r in res.items():
        if r.get("ok_runs") and ref.get("ok_runs"):
            r["vs_libtorrent"] = round(r["median_MB_s"] / ref["median_MB_s"], 2)
    return res


def table(res, cases, n):
    hdr = (f"{'seeder -> ' + str(n) + ' x libtorrent':<30} {'ok':>4} {'MB/s':>7} {'min-max':>13} {'last s':>7} "
           f"{'first s':>7} {'median s':>8} {'seed CPU s':>10} {'leech CPU s':>11} {'sent/total':>10} {'vs lt':>6}")
    out = [hdr, "-" * len(hdr)]
    for c in cases:
        r = res[c]
        if not r.get("ok_runs"):
            out.append(f"{LABEL[c]:<30} {0:>2}/{r['runs']:<1}  (failed, see the logs)")
            continue
        vs = f"{r['vs_libtorrent']:.2f}" if r.get("vs_libtorrent") is not None else "-"
        out.append(f"{LABEL[c]:<30} {r['ok_runs']:>2}/{r['runs']:<1} {r['median_MB_s']:>7.1f} "
                   f"{str(r['min_MB_s']) + '-' + str(r['max_MB_s']):>13} {r['median_seconds']:>7.2f} "
                   f"{r['median_first_done_s']:>7.2f} {r['median_leecher_s']:>8.2f} "
                   f"{r['median_seeder_cpu_s']:>10.2f} {r['median_leechers_cpu_s']:>11.2f} "
                   f"{r['median_uploaded_vs_total']:>10.3f} {vs:>6}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    for k in ("--torrent", "--data", "--name", "--info-hash", "--sha1", "--work", "--harness", "--out"):
        ap.add_argument(k, required=True)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--cases", default="p2pd,lt")
    ap.add_argument("--leechers", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--size-mib", type=int, required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    cases = [c for c in a.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            sys.exit(f"unknown case {c}; known: {', '.join(CASES)}")
    a.relay = None
    b = R.Bench(a)
    rows = []
    load_before = R.loadavg()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for run in range(1, a.runs + 1):
            k = (run - 1) % len(cases)
            for c in cases[k:] + cases[:k]:
                R.log(f"run {run}/{a.runs}: {c} (load {R.loadavg()})")
                r = run_case(b, c, run, a.leechers)
                rows.append(r)
                if r.get("ok"):
                    R.log(f"  last {r['seconds']:.2f} s  {r['MB_s']} MB/s  leechers {r['leecher_seconds']}  "
                          f"seeder CPU {r['seeder_cpu_s']} s  leechers CPU {r['leechers_cpu_s']} s  "
                          f"other {r['other_cpu_s']} s  sent/total {r['seeder_uploaded_vs_total']}")
    finally:
        b.cleanup()
    load_after = R.loadavg()
    res = summarize(rows, cases)
    print(table(res, cases, a.leechers))
    print(f"\n{a.size_mib} MiB file, 256 KiB pieces, 127.0.0.1, {a.leechers} libtorrent leechers at once (TCP, "
          f"ut_pex off, given only the seeder), {a.runs} interleaved run(s), medians; MB/s = 10^6 bytes/s = "
          f"{a.leechers} x size / time to the last leecher's verified completion; first/median s = leecher "
          f"completion times; sent/total = seeder's uploaded payload / ({a.leechers} x size); {os.cpu_count()} CPUs; "
          f"load average before {load_before}, after {load_after}")
    doc = {"benchmark": "seed8", "size_mib": a.size_mib, "size_bytes": b.size, "leechers": a.leechers,
           "runs": a.runs, "cases": cases, "cpus": os.cpu_count(), "info_hash": a.info_hash,
           "load_average_before": load_before, "load_average_after": load_after,
           "results": res, "rows": rows}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    R.log(f"wrote {a.out}")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
