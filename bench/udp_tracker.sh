#!/usr/bin/env bash
# UDP announce throughput (BEP 15): trackerd against opentracker, both on
# UDP, with tests/src/bin/udp_announce_load.rs (SOCKETS client sockets, each
# keeping WINDOW announces in flight; one thread, so the tracker keeps the
# other core); and trackerd's own HTTP announces with wrk (keep-alive) in the
# same rounds, for the UDP / HTTP ratio. ROUNDS interleaved rounds, medians.
#
# Usage: bench/udp_tracker.sh
# Knobs: ROUNDS (default 3), DURATION (s per run, default 10), SOCKETS
#        (default 32), WINDOW (default 8), HASHES (default 10000), UDP_WORKERS
#        (trackerd's announce.udp_workers; default its own), TRACKERD,
#        LOAD (udp-announce-load binary; both default to release builds),
#        BENCH_DIR (default bench/out).
# Output: a table on stdout; bench/out/udp_tracker_runs.tsv, bench/out/udp_tracker.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
SOCKETS=${SOCKETS:-32}
WINDOW=${WINDOW:-8}
HASHES=${HASHES:-10000}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir udp_tracker
need_tools wrk opentracker
release_trackerd
if [[ -z "${LOAD:-}" ]]; then
    cargo build --release --quiet -p p2p-tests --bin udp-announce-load
    LOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/udp-announce-load"
fi

od -An -tx1 -N $((20 * HASHES)) /dev/urandom | tr -d ' \n' | fold -w40 > "$WORK/hashes.txt"
echo >> "$WORK/hashes.txt"

start_opentracker

uncapped_announce_toml > "$WORK/trackerd.toml"
[[ -n "${UDP_WORKERS:-}" ]] && echo "udp_workers = $UDP_WORKERS" >> "$WORK/trackerd.toml"
TD_PORT=$(free_port)
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$TD_PORT" --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
PIDS+=($!); TD_PID=$!
wait_port "$OT_PORT"; wait_port "$TD_PORT"

ticks_per_sec=$(getconf CLK_TCK)
RUNS="$BENCH_DIR/udp_tracker_runs.tsv"
printf 'round\ttracker\tannounces_per_s\ttracker_cpu_us_per_announce\n' > "$RUNS"
udp_run() { # round name pid port
    local before after out rps n
    before=$(cpu_ticks "$3")
    out=$("$LOAD" --target "127.0.0.1:$4" --hashes "$WORK/hashes.txt" --seconds "$DURATION" \
        --sockets "$SOCKETS" --window "$WINDOW")
    after=$(cpu_ticks "$3")
    rps=$(sed -E 's/.*"announces_per_s":([0-9.]+).*/\1/' <<< "$out")
    n=$(sed -E 's/.*"answered":([0-9]+).*/\1/' <<< "$out")
    awk -v r="$1" -v name="$2" -v rps="$rps" -v n="$n" -v cpu="$((after - before))" -v hz="$ticks_per_sec" \
        'BEGIN { printf "%s\t%s\t%s\t%.1f\n", r, name, rps, (n > 0 ? cpu / hz * 1e6 / n : 0) }' >> "$RUNS"
}
http_run() { # round
    local before after out
    before=$(cpu_ticks "$TD_PID")
    out=$(wrk -t1 -c50 -d"${DURATION}s" -s "$ROOT/bench/announce.lua" "http://127.0.0.1:$TD_PORT" -- "$WORK/hashes.txt")
    after=$(cpu_ticks "$TD_PID")
    echo "$out" | awk -v r="$1" -v cpu="$((after - before))" -v hz="$ticks_per_sec" '
        /announce.lua: requests/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="requests") n=a[i+1]; if (a[i]=="rps") rps=a[i+1] } }
        END { printf "%s\ttrackerd-http\t%s\t%.1f\n", r, rps, (n > 0 ? cpu / hz * 1e6 / n : 0) }' >> "$RUNS"
}

echo "load before: $(uptime)"
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then
        udp_run "$round" opentracker-udp "$OT_PID" "$OT_PORT"
        udp_run "$round" trackerd-udp "$TD_PID" "$TD_PORT"
        http_run "$round"
    else
        http_run "$round"
        udp_run "$round" trackerd-udp "$TD_PID" "$TD_PORT"
        udp_run "$round" opentracker-udp "$OT_PID" "$OT_PORT"
    fi
done
echo "load after: $(uptime)"
column -t -s $'\t' "$RUNS"
echo
awk -F'\t' '
    function median(name,   n, i, j, t, v) {
        n = count[name]
        for (i = 1; i <= n; i++) v[i] = vals[name, i]
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NR > 1 { count[$2]++; vals[$2, count[$2]] = $3; count[$2 "cpu"]++; vals[$2 "cpu", count[$2 "cpu"]] = $4 }
    END {
        ot = median("opentracker-udp"); udp = median("trackerd-udp"); http = median("trackerd-http")
        printf "tracker\tannounces_per_s\tcpu_us_per_announce\tratio\n"
        printf "opentracker-udp\t%.0f\t%.1f\t\n", ot, median("opentracker-udpcpu")
        printf "trackerd-udp\t%.0f\t%.1f\t%.2f vs opentracker-udp\n", udp, median("trackerd-udpcpu"), (ot > 0 ? udp / ot : 0)
        printf "trackerd-http\t%.0f\t%.1f\t%.2f udp/http\n", http, median("trackerd-httpcpu"), (http > 0 ? udp / http : 0)
    }' "$RUNS" > "$BENCH_DIR/udp_tracker.tsv"
column -t -s $'\t' "$BENCH_DIR/udp_tracker.tsv"
echo "(medians of $ROUNDS interleaved rounds, ${DURATION}s each; UDP: $SOCKETS sockets x $WINDOW in flight, one load thread;"
echo " HTTP: wrk -t1 -c50 keep-alive; $HASHES info-hashes; every run in $RUNS)"
