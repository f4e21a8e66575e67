#!/usr/bin/env bash
# Torrent-creation benchmark: p2pctl create vs mktorrent vs transmission-create
# on one SIZE_MIB file of pseudo-random data, page cache warm, 1 MiB pieces.
# See bench/README.md ("create_torrent.sh").
#
# Knobs (environment):
#   SIZE_MIB   size of the test file in MiB            (default 1024)
#   RUNS       timed runs per tool, interleaved          (default 5)
#   BENCH_DIR  work folder (test file, outputs, JSON)    (default bench/out)
#   P2PCTL     p2pctl binary (default target/release/p2pctl under the repo, or
#              under $CARGO_TARGET_DIR; built with `cargo build --release -p p2pctl`
#              if missing)
#   THREADS    if set, passed to p2pctl as --threads N   (default: every core)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/bench/out}
P2PCTL=${P2PCTL:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/p2pctl}
THREADS=${THREADS:-}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v mktorrent >/dev/null || need+=(mktorrent)
command -v transmission-create >/dev/null || need+=(transmission-cli)
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
        die "missing ${need[*]} and not root (no sudo)"; fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v python3 >/dev/null || die "python3 is needed for the statistics"

if [ ! -x "$P2PCTL" ]; then
    log "building p2pctl (release) ..."
    (cd "$REPO_ROOT" && cargo build --release -p p2pctl) >&2
    [ -x "$P2PCTL" ] || die "no binary at $P2PCTL after the build (CARGO_TARGET_DIR set? pass P2PCTL=)"
fi

# --- test data ---------------------------------------------------------------
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
DATA="$BENCH_DIR/data-${SIZE_MIB}MiB.bin"
want=$((SIZE_MIB * 1024 * 1024))
if [ ! -f "$DATA" ] || [ "$(stat -c %s "$DATA")" -ne "$want" ]; then
    log "writing $SIZE_MIB MiB of pseudo-random data to $DATA ..."
    head -c "$want" /dev/urandom > "$DATA.tmp"
    mv "$DATA.tmp" "$DATA"
fi
log "warming the page cache ..."
cat "$DATA" > /dev/null
cat "$DATA" > /dev/null

OUT="$BENCH_DIR/create_torrent"
rm -rf "$OUT"
mkdir -p "$OUT"
TIMES="$OUT/times.tsv"
: > "$TIMES"

p2p_threads=()
[ -n "$THREADS" ] && p2p_threads=(--threads "$THREADS")

# run TOOL RUN CMD...: times CMD with /usr/bin/time, appends "tool run secs kib user sys".
run() {
    local tool=$1 n=$2; shift 2
    local tf="$OUT/$tool-$n.time"
    if ! /usr/bin/time -o "$tf" -f '%e %M %U %S' "$@" > "$OUT/$tool-$n.log" 2>&1; then
        cat "$OUT/$tool-$n.log" >&2
        die "$tool run $n failed"
    fi
    printf '%s\t%s\t%s\n' "$tool" "$n" "$(tail -n1 "$tf" | tr ' ' '\t')" >> "$TIMES"
}

log "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $(seq 1 "$RUNS"); do
    log "run $n/$RUNS"
    run p2pctl "$n" "$P2PCTL" create "$DATA" -o "$OUT/p2pctl-$n.torrent" -f --no-date \
        --piece-length 1M "${p2p_threads[@]}"
    run mktorrent "$n" mktorrent -t 2 -l 20 -o "$OUT/mktorrent-$n.torrent" "$DATA"
    run transmission-create "$n" transmission-create -s 1024 -o "$OUT/transmission-create-$n.torrent" "$DATA"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "load after: $LOAD_AFTER"

# --- agreement ---------------------------------------------------------------
ih() { "$P2PCTL" --json inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])'; }
IH_P2P=$(ih "$OUT/p2pctl-1.torrent")
IH_MK=$(ih "$OUT/mktorrent-1.torrent")
IH_TR=$(ih "$OUT/transmission-create-1.torrent")
[ "$IH_P2P" = "$IH_MK" ] || die "info-hash differs: p2pctl $IH_P2P, mktorrent $IH_MK"
log "info-hash p2pctl = mktorrent = $IH_P2P (transmission-create: $IH_TR, differs by design: it writes private=0)"

# --- statistics, table, JSON -------------------------------------------------
python3 - "$TIMES" "$BENCH_DIR/create_torrent.json" "$OUT" "$SIZE_MIB" "$RUNS" \
    "$IH_P2P" "$IH_TR" "$LOAD_AFTER" "$(nproc)" "${THREADS:-all}" <<'PY'
import json, statistics, sys, os

times, out_json, out_dir, size_mib, runs, ih, ih_tr, load, ncpu, threads = sys.argv[1:]
size_bytes = int(size_mib) * 1024 * 1024

def bdecode(b, i=0):
    c = b[i:i+1]
    if c == b'i':
        j = b.index(b'e', i); return int(b[i+1:j]), j + 1
    if c == b'l':
        i += 1; r = []
        while b[i:i+1] != b'e':
            v, i = bdecode(b, i); r.append(v)
        return r, i + 1
    if c == b'd':
        i += 1; r = {}
        while b[i:i+1] != b'e':
            k, i = bdecode(b, i); v, i = bdecode(b, i); r[k] = v
        return r, i + 1
    j = b.index(b':', i); n = int(b[i:j]); return b[j+1:j+1+n], j + 1 + n

tools = ["p2pctl", "mktorrent", "transmission-create"]
# The piece hashes of all three must be byte-identical.
pieces = {}
for t in tools:
    with open(os.path.join(out_dir, f"{t}-1.torrent"), "rb") as f:
        info = bdecode(f.read())[0][b"info"]
    pieces[t] = (info[b"piece length"], info[b"pieces"])
if len(set(pieces.values())) != 1:
    sys.exit("error: piece length / piece hashes differ between tools")

rows = {t: [] for t in tools}
for line in open(times):
    t, n, secs, kib, user, sys_s = line.split("\t")
    rows[t].append((float(secs), int(kib), float(user) + float(sys_s)))

res = {}
for t in tools:
    s = [x[0] for x in rows[t]]; m = [x[1] for x in rows[t]]
    med = statistics.median(s)
    res[t] = {
        "runs": len(s), "seconds": s,
        "median_s": med, "min_s": min(s), "max_s": max(s),
        "gb_per_s": size_bytes / med / 1e9 if med > 0 else None,
        "median_peak_rss_mib": statistics.median(m) / 1024,
        "median_cpu_s": statistics.median(x[2] for x in rows[t]),
    }
mk = res["mktorrent"]["median_s"]
for t in tools:
    res[t]["mktorrent_over_tool"] = mk / res[t]["median_s"] if res[t]["median_s"] > 0 else None

hdr = f"{'tool':<20} {'median s':>9} {'min s':>7} {'max s':>7} {'GB/s':>6} {'RSS MiB':>8} {'mk/tool':>8} {'CPU s':>6}"
print(hdr); print("-" * len(hdr))
for t in tools:
    r = res[t]
    print(f"{t:<20} {r['median_s']:>9.2f} {r['min_s']:>7.2f} {r['max_s']:>7.2f} "
          f"{r['gb_per_s']:>6.2f} {r['median_peak_rss_mib']:>8.1f} {r['mktorrent_over_tool']:>8.2f} {r['median_cpu_s']:>6.2f}")
print(f"\n{size_mib} MiB file, 1 MiB pieces, page cache warm, {runs} interleaved runs, "
      f"{ncpu} CPUs, p2pctl threads: {threads}, load average after: {load}")
print(f"info-hash p2pctl = mktorrent = {ih}; transmission-create {ih_tr} "
      f"(private=0 in its info dict); piece hashes identical in all three")

doc = {
    "benchmark": "create_torrent", "size_mib": int(size_mib), "piece_length": 1048576,
    "runs": int(runs), "cpus": int(ncpu), "p2pctl_threads": threads,
    "load_average_after": load, "page_cache": "warm",
    "info_hash": ih, "info_hash_transmission": ih_tr, "pieces_agree": True,
    "tools": res,
}
with open(out_json, "w") as f:
    json.dump(doc, f, indent=2); f.write("\n")
PY
log "wrote $BENCH_DIR/create_torrent.json"
