#!/usr/bin/env bash
# Announce throughput of trackerd and opentracker, side by side, with wrk and
# bench/announce.lua: keep-alive connections, and one connection per request
# (WRK_CLOSE=1 style "Connection: close", what opentracker always does).
# trackerd runs twice: as is (one worker thread per core) and with
# TOKIO_WORKER_THREADS=1 (single-threaded, like opentracker). ROUNDS rounds,
# interleaved (each round runs every tracker and mode, the order of the
# trackers alternating), then medians and the ratio to opentracker; then
# bench/tracker_memory.sh (memory per peer).
#
# Usage: bench/tracker.sh            (from anywhere)
# Knobs: ROUNDS (default 5), DURATION (s per run, default 10), CONNECTIONS
#        (default 50), THREADS (wrk, default 2), HASHES (distinct info-hashes,
#        default 10000), MEMORY (0 skips the memory benchmark), TRACKERD
#        (binary; default builds the release binary), BENCH_DIR (default bench/out).
# Output: tables on stdout; bench/out/tracker_runs.tsv (every run),
# bench/out/tracker.tsv (medians and ratios), bench/out/tracker_memory.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
HASHES=${HASHES:-10000}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir tracker
need_tools wrk opentracker
release_trackerd


# The same info-hashes for both: opentracker's whitelist, trackerd in open mode.
od -An -tx1 -N $((20 * HASHES)) /dev/urandom | tr -d ' \n' | fold -w40 > "$WORK/hashes.txt"
echo >> "$WORK/hashes.txt"

start_opentracker

uncapped_announce_toml > "$WORK/trackerd.toml"
TD_PORT=$(free_port)
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$TD_PORT" --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
PIDS+=($!); TD_PID=$!
# The same, on one worker thread (tokio reads TOKIO_WORKER_THREADS), like
# single-threaded opentracker.
T1_PORT=$(free_port)
TOKIO_WORKER_THREADS=1 RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$T1_PORT" --data-dir "$WORK/trackerd-1" > "$WORK/trackerd-1.log" 2>&1 &
PIDS+=($!); T1_PID=$!

wait_port "$OT_PORT"; wait_port "$TD_PORT"; wait_port "$T1_PORT"

ticks_per_sec=$(getconf CLK_TCK)
RUNS="$BENCH_DIR/tracker_runs.tsv"
printf 'round\ttracker\tconnection\trequests_per_s\tp50_ms\tp99_ms\tnon200\tfailures\terrors\ttracker_cpu_us_per_announce\n' > "$RUNS"
run() { # round name pid port close
    local round=$1 name=$2 pid=$3 port=$4 close=$5 before after out
    before=$(cpu_ticks "$pid")
    out=$(WRK_CLOSE=$close wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$ROOT/bench/announce.lua" "http://127.0.0.1:$port" -- "$WORK/hashes.txt")
    after=$(cpu_ticks "$pid")
    local mode=keep-alive; [[ $close == 1 ]] && mode=close
    echo "$out" | awk -v round="$round" -v name="$name" -v mode="$mode" -v cpu="$(( after - before ))" -v hz="$ticks_per_sec" '
        /announce.lua: http200/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="non200") n2=a[i+1]; if (a[i]=="failure_reason") fr=a[i+1] } }
        /announce.lua: requests/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="requests") n=a[i+1]; if (a[i]=="rps") rps=a[i+1]; if (a[i]=="p50_ms") p50=a[i+1]; if (a[i]=="p99_ms") p99=a[i+1] } }
        /announce.lua: errors/ { sub(/.*errors /, ""); err=$0 }
        END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", round, name, mode, rps, p50, p99, n2, fr, err, (n > 0 ? cpu / hz * 1e6 / n : 0) }' \
        >> "$RUNS"
}

echo "load before: $(uptime)"
for round in $(seq "$ROUNDS"); do
    for close in 1 0; do
        if (( round % 2 )); then
            run "$round" opentracker "$OT_PID" "$OT_PORT" "$close"
            run "$round" trackerd "$TD_PID" "$TD_PORT" "$close"
            run "$round" trackerd-1thread "$T1_PID" "$T1_PORT" "$close"
        else
            run "$round" trackerd-1thread "$T1_PID" "$T1_PORT" "$close"
            run "$round" trackerd "$TD_PID" "$TD_PORT" "$close"
            run "$round" opentracker "$OT_PID" "$OT_PORT" "$close"
        fi
    done
done
echo "load after: $(uptime)"

column -t -s $'\t' "$RUNS"
echo
# Medians per tracker and connection mode, and trackerd / opentracker.
awk -F'\t' '
    function median(key,   n, i, j, t, v) {
        n = count[key]
        for (i = 1; i <= n; i++) v[i] = vals[key, i]
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function add(key, x) { count[key]++; vals[key, count[key]] = x }
    NR > 1 { for (c = 4; c <= 6; c++) add($2 SUBSEP $3 SUBSEP c, $c); add($2 SUBSEP $3 SUBSEP 10, $10) }
    END {
        printf "connection\ttracker\trequests_per_s\tp50_ms\tp99_ms\tcpu_us_per_announce\tratio_requests_per_s\n"
        split("close keep-alive", modes, " ")
        for (m = 1; m <= 2; m++) {
            mode = modes[m]
            ot = median("opentracker" SUBSEP mode SUBSEP 4)
            split("opentracker trackerd trackerd-1thread", names, " ")
            for (k = 1; k <= 3; k++) {
                name = names[k]; rps = median(name SUBSEP mode SUBSEP 4)
                printf "%s\t%s\t%.0f\t%.2f\t%.2f\t%.1f\t%s\n", mode, name, rps,
                    median(name SUBSEP mode SUBSEP 5), median(name SUBSEP mode SUBSEP 6),
                    median(name SUBSEP mode SUBSEP 10), (k > 1 && ot > 0 ? sprintf("%.2f", rps / ot) : "")
            }
        }
    }' "$RUNS" > "$BENCH_DIR/tracker.tsv"
column -t -s $'\t' "$BENCH_DIR/tracker.tsv"
echo "(medians of $ROUNDS interleaved rounds, ${DURATION}s each, wrk -t$THREADS -c$CONNECTIONS, $HASHES info-hashes;"
echo " ratio = requests/s of this tracker / opentracker's; every run in $RUNS)"

if [[ ${MEMORY:-1} != 0 ]]; then
    echo
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    TRACKERD="$TRACKERD" BENCH_DIR="$BENCH_DIR" "$ROOT/bench/tracker_memory.sh"
fi
