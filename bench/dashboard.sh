#!/usr/bin/env bash
# The web dashboard's budgets (issue 14), measured:
# 1. the torrents page with CATALOG (10,000) public torrents: server time per
#    page (its Server-Timing header), median / p95 / max over PAGES requests
#    per case (sorts, deep pages, searches), anonymous viewer;
# 2. announce throughput (wrk, bench/announce.lua, keep-alive) with no
#    dashboard open and with DASHBOARDS (20) dashboards streaming the event
#    log (/log/stream, one event every 100 ms published meanwhile), ROUNDS
#    interleaved rounds, medians and the ratio with / without.
#
# Usage: bench/dashboard.sh           (from anywhere)
# Knobs: CATALOG (10000), PAGES (50), DASHBOARDS (20), ROUNDS (3),
#        DURATION (s per wrk run, 10), CONNECTIONS (50), THREADS (2),
#        TRACKERD (binary; default builds the release binary), BENCH_DIR.
# Output: tables on stdout; bench/out/dashboard_pages.tsv,
# bench/out/dashboard_announces.tsv (every run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CATALOG=${CATALOG:-10000}
PAGES=${PAGES:-50}
DASHBOARDS=${DASHBOARDS:-20}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir dashboard
need_tools wrk curl python3
release_trackerd

{
    uncapped_announce_toml
    # The seeding user publishes the whole catalog.
    printf '[quotas]\nmax_catalog_entries = 0\nmax_torrent_bytes_stored = 0\n'
} > "$WORK/trackerd.toml"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" > "$WORK/trackerd.log" 2>&1 &
TRACKERD_PID=$!
PIDS+=($!)
wait_port "$PORT"

echo "seeding $CATALOG catalog entries..."
t0=$SECONDS
python3 "$ROOT/bench/dashboard.py" seed "$URL" "$CATALOG"
echo "seeded in $((SECONDS - t0)) s"
echo "load before: $(uptime)"
python3 "$ROOT/bench/dashboard.py" pages "$URL" "$PAGES" > "$BENCH_DIR/dashboard_pages.tsv"
column -t -s $'\t' "$BENCH_DIR/dashboard_pages.tsv"
echo "(server time of GET /torrents from its Server-Timing header, $PAGES requests per case, $CATALOG torrents, 50 rows a page)"
echo

# Dashboards: up to 8 streams per user (the per-user stream cap).
open_dashboards() {
    local i token=""
    DASH_PIDS=()
    for ((i = 0; i < DASHBOARDS; i++)); do
        if (( i % 8 == 0 )); then token=$(python3 "$ROOT/bench/dashboard.py" login "$URL" "viewer$((i / 8))"); fi
        curl -sN -H "Cookie: p2p_session=$token" "$URL/log/stream" > "$WORK/stream-$i.txt" &
        DASH_PIDS+=($!); PIDS+=($!)
    done
    # Every stream answered (its hello arrived) before the load starts.
    for ((i = 0; i < DASHBOARDS; i++)); do
        for _ in $(seq 100); do grep -q '^event: hello' "$WORK/stream-$i.txt" && break; sleep 0.1; done
        grep -q '^event: hello' "$WORK/stream-$i.txt" || { echo "dashboard $i did not open: $(cat "$WORK/stream-$i.txt")" >&2; exit 1; }
    done
}
close_dashboards() {
    local pid
    for pid in "${DASH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}

od -An -tx1 -N $((20 * 10000)) /dev/urandom | tr -d ' \n' | fold -w40 > "$WORK/hashes.txt"
echo >> "$WORK/hashes.txt"
RUNS="$BENCH_DIR/dashboard_announces.tsv"
printf 'round\tdashboards\trequests_per_s\tp99_ms\tevents_seen\ttrackerd_cpu_ms_per_1000\n' > "$RUNS"
run() { # round dashboards
    local out seen=0 i ticks0 ticks1
    if (( $2 > 0 )); then open_dashboards; fi
    ticks0=$(cpu_ticks "$TRACKERD_PID")
    python3 "$ROOT/bench/dashboard.py" events "$URL" "$DURATION" > "$WORK/events.txt" &
    local events_pid=$!
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$ROOT/bench/announce.lua" "$URL" -- "$WORK/hashes.txt")
    ticks1=$(cpu_ticks "$TRACKERD_PID")
    wait "$events_pid"
    if (( $2 > 0 )); then
        for ((i = 0; i < DASHBOARDS; i++)); do seen=$((seen + $(grep -c '^event: event' "$WORK/stream-$i.txt" || true))); done
        close_dashboards
    fi
    # trackerd's CPU (user + system) per 1000 announces while wrk ran: what
    # the dashboards cost the tracker, less sensitive than the rate to what
    # else the machine runs.
    echo "$out" | awk -v round="$1" -v dash="$2" -v seen="$seen" -v ticks=$((ticks1 - ticks0)) \
        -v hz="$(getconf CLK_TCK)" -v secs="$DURATION" '
        /announce.lua: requests/ { split($0, a, /[ =]/); for (i in a) { if (a[i]=="rps") rps=a[i+1]; if (a[i]=="p99_ms") p99=a[i+1] } }
        END { printf "%s\t%s\t%s\t%s\t%s\t%.2f\n", round, dash, rps, p99, seen, ticks * 1000 / hz / (rps * secs / 1000) }' >> "$RUNS"
}
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then run "$round" 0; run "$round" "$DASHBOARDS"; else run "$round" "$DASHBOARDS"; run "$round" 0; fi
done
echo "load after: $(uptime)"
column -t -s $'\t' "$RUNS"
awk -F'\t' -v d="$DASHBOARDS" '
    function median(arr, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
        return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
    }
    NR > 1 && $2 == 0 { none[++n0] = $3; r0[$1] = $3; c0[n0] = $6 }
    NR > 1 && $2 > 0 { with[++n1] = $3; r1[$1] = $3; c1[n1] = $6 }
    END {
        a = median(none, n0); b = median(with, n1)
        printf "announces/s: %.0f with no dashboard, %.0f with %d dashboards streaming: ratio %.3f\n", a, b, d, b / a
        # Each round runs both cases back to back: its ratio cancels most of
        # the drift in the machine'"'"'s load between rounds.
        for (r in r0) if (r in r1) paired[++np] = r1[r] / r0[r]
        printf "median of the per-round ratios (with / without, %d rounds): %.3f\n", np, median(paired, np)
        a = median(c0, n0); b = median(c1, n1)
        printf "trackerd CPU per 1000 announces: %.2f ms with no dashboard, %.2f ms with dashboards (%.3fx)\n", a, b, b / a
    }' "$RUNS"
echo "(medians of $ROUNDS interleaved rounds, ${DURATION}s each, wrk -t$THREADS -c$CONNECTIONS keep-alive; events_seen: events the dashboards received)"
