#!/usr/bin/env bash
# Announce throughput of trackerd and opentracker, side by side, with wrk and
# bench/announce.lua: keep-alive connections, then one connection per request
# (WRK_CLOSE=1 style "Connection: close", what opentracker always does).
#
# Usage: bench/tracker.sh            (from anywhere)
# Knobs: DURATION (s, default 10), CONNECTIONS (default 50), THREADS (wrk, default 2),
#        HASHES (distinct info-hashes, default 10000), TRACKERD (binary; default
#        builds target/release/trackerd), BENCH_DIR (default bench/out).
# Output: a table on stdout and bench/out/tracker.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
HASHES=${HASHES:-10000}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/tracker.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk opentracker; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/test, which installs it" >&2; exit 1; }
done
if [[ -z "${TRACKERD:-}" ]]; then
    cargo build --release --quiet -p trackerd
    TRACKERD="${CARGO_TARGET_DIR:-$ROOT/target}/release/trackerd"
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2; exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The same info-hashes for both: opentracker's whitelist, trackerd in open mode.
od -An -tx1 -N $((20 * HASHES)) /dev/urandom | tr -d ' \n' | fold -w40 > "$WORK/hashes.txt"
echo >> "$WORK/hashes.txt"

# opentracker (Debian's whitelist build): -w is relative to -d, where it chroots as root.
OT_PORT=$(free_port)
cp "$WORK/hashes.txt" "$WORK/whitelist"
# As root it chroots into -d and drops to nobody, who must be able to read it.
chmod 755 "$WORK"; chmod 644 "$WORK/whitelist"
opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$WORK" -w whitelist > "$WORK/opentracker.log" 2>&1 &
PIDS+=($!); OT_PID=$!

TD_PORT=$(free_port)
RUST_LOG=warn "$TRACKERD" --listen "127.0.0.1:$TD_PORT" --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
PIDS+=($!); TD_PID=$!

wait_port "$OT_PORT"; wait_port "$TD_PORT"

ticks_per_sec=$(getconf CLK_TCK)
printf 'tracker\tconnection\trequests_per_s\tp50_ms\tp99_ms\tnon200\tfailures\terrors\ttracker_cpu_s\n' > "$BENCH_DIR/tracker.tsv"
run() { # name pid port close
    local name=$1 pid=$2 port=$3 close=$4 before after out
    before=$(cpu_ticks "$pid")
    out=$(WRK_CLOSE=$close wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$ROOT/bench/announce.lua" "http://127.0.0.1:$port" -- "$WORK/hashes.txt")
    after=$(cpu_ticks "$pid")
    local mode=keep-alive; [[ $close == 1 ]] && mode=close
    echo "$out" | awk -v name="$name" -v mode="$mode" -v cpu="$(( after - before ))" -v hz="$ticks_per_sec" '
        /announce.lua: http200/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="non200") n2=a[i+1]; if (a[i]=="failure_reason") fr=a[i+1] } }
        /announce.lua: requests/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="rps") rps=a[i+1]; if (a[i]=="p50_ms") p50=a[i+1]; if (a[i]=="p99_ms") p99=a[i+1] } }
        /announce.lua: errors/ { sub(/.*errors /, ""); err=$0 }
        END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", name, mode, rps, p50, p99, n2, fr, err, cpu/hz }' \
        >> "$BENCH_DIR/tracker.tsv"
}

for close in 0 1; do
    run opentracker "$OT_PID" "$OT_PORT" "$close"
    run trackerd "$TD_PID" "$TD_PORT" "$close"
done

column -t -s $'\t' "$BENCH_DIR/tracker.tsv"
echo "(${DURATION}s each, wrk -t$THREADS -c$CONNECTIONS, $HASHES info-hashes; results in $BENCH_DIR/tracker.tsv)"
