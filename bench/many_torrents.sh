#!/usr/bin/env bash
# Issue 19's budget for a daemon with many torrents, with the release p2pd:
# N small torrents (made here), their data already in place, all seeding in
# one p2pd with no peers. Measures:
#   1. the time to add them all and see them seeding (first start: each is
#      hashed once, no resume record yet), and p2pd's VmRSS / VmHWM then;
#   2. `list` latency: p2pctl's wall clock (process start to exit), and the
#      raw round trip on the control socket (median and p95 of LIST_CALLS);
#   3. idle CPU over IDLE_S seconds, all seeding, no peers (utime + stime);
#   4. SIGTERM, restart on the same home, time until all seed again, and the
#      sum of the log's `torrent ready ... rechecked=N` (0: resume records
#      trusted, nothing hashed), VmRSS / VmHWM after the restart.
# Budgets (issue 19): RSS <= 200 MiB, restart <= 5 s, list <= 100 ms, idle
# CPU < 2% of one core.
#
# Usage: bench/many_torrents.sh     (from anywhere)
# Knobs: N (10000), FILE_KIB (4), ADD (socket | watch; default socket),
#        IDLE_S (60), LIST_CALLS (20), TIMEOUT_S (per wait, 600),
#        DHT / LSD (off), BENCH_DIR (bench/out), KEEP=1,
#        P2PD / P2PCTL (binaries; default: cargo build --release, under
#        $CARGO_TARGET_DIR if set, else target/).
# Output: a table on stdout, $BENCH_DIR/many_torrents.json, logs in
# $BENCH_DIR/many_torrents/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-10000}
FILE_KIB=${FILE_KIB:-4}
ADD=${ADD:-socket}
IDLE_S=${IDLE_S:-60}
LIST_CALLS=${LIST_CALLS:-20}
TIMEOUT_S=${TIMEOUT_S:-600}
DHT=${DHT:-off}
LSD=${LSD:-off}
KEEP=${KEEP:-0}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
PY=/usr/bin/python3
HELPER="$ROOT/bench/many_torrents/helper.py"

log() { printf '[many_torrents.sh] %s\n' "$*" >&2; }
die() { printf 'many_torrents.sh: %s\n' "$*" >&2; exit 1; }
case $ADD in watch|socket) ;; *) die "ADD must be watch or socket, not $ADD" ;; esac
onoff() { case $1 in on) echo true ;; off) echo false ;; *) die "DHT/LSD must be on or off, not $1" ;; esac; }

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
if [[ -z "${P2PD:-}" || -z "${P2PCTL:-}" ]]; then
    log "building p2pd, p2pctl (release) ..."
    cargo build --release --quiet -p p2pd -p p2pctl >&2
fi
P2PD=${P2PD:-$BIN/p2pd}
P2PCTL=${P2PCTL:-$BIN/p2pctl}
for b in "$P2PD" "$P2PCTL"; do [[ -x $b ]] || die "no binary at $b"; done
command -v opentracker >/dev/null || die "opentracker is missing: run scripts/test, which installs it"
command -v jq >/dev/null || die "jq is missing"

OUT="$BENCH_DIR/many_torrents"
rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/work"
WORK="$OUT/work"
LOGS="$OUT/logs"
HOME_A="$WORK/home"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $KEEP != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
now() { date +%s.%N; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }  # pid VmRSS|VmHWM
mib() { echo "scale=1; $1 / 1024" | bc -l; }
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }  # a log without colours
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# The tracker: opentracker on 127.0.0.1, whitelisting exactly our torrents.
# A tracker that answers (with no other peer) is what a user has; an
# unreachable one would make every torrent retry its announce with backoff,
# which measures the retries, not an idle daemon.
OT_PORT=$(free_port)
ANNOUNCE="http://127.0.0.1:$OT_PORT/announce"
log "making $N torrents of $FILE_KIB KiB ..."
t0=$(now)
"$PY" "$HELPER" make "$N" "$FILE_KIB" "$HOME_A/downloads" "$WORK/torrents" "$ANNOUNCE" "$WORK/hashes.txt"
MAKE_S=$(echo "$(now) - $t0" | bc -l | xargs printf '%.2f')
start_opentracker_on() {
    cp "$WORK/hashes.txt" "$WORK/whitelist"
    chmod 755 "$WORK"; chmod 644 "$WORK/whitelist"
    opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$WORK" -w whitelist > "$LOGS/opentracker.log" 2>&1 &
    PIDS+=($!)
    wait_port "$OT_PORT"
}
start_opentracker_on

cat > "$WORK/p2pd.toml" <<TOML
listen_port = 0
tracker = ""
dht = $(onoff "$DHT")
lsd = $(onoff "$LSD")
watch = true
max_active_seeds = 0
TOML
SOCK="$HOME_A/p2pd.sock"
P2PD_PID=
start_p2pd() {  # $1: log name
    RUST_LOG=${RUST_LOG:-info} nice -n 5 "$P2PD" --config "$WORK/p2pd.toml" --home "$HOME_A" > "$LOGS/$1.log" 2>&1 &
    P2PD_PID=$!
    PIDS+=("$P2PD_PID")
}
stop_p2pd() {
    kill -TERM "$P2PD_PID"
    for _ in $(seq 300); do kill -0 "$P2PD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$P2PD_PID" 2>/dev/null && die "p2pd did not exit within 30 s of SIGTERM"
    wait "$P2PD_PID" 2>/dev/null || true
}

# 1. First start and adding.
start_p2pd first
"$PY" - "$SOCK" <<'PYEOF'
import sys, time
for _ in range(300):
    try:
        import socket; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close(); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("p2pd's control socket never appeared")
PYEOF
RSS_EMPTY=$(status_kib "$P2PD_PID" VmRSS)
log "adding $N torrents ($ADD) ..."
t0=$(now)
if [[ $ADD == watch ]]; then
    # One rename per file from a folder on the same file system: each
    # .torrent appears whole.
    mkdir -p "$HOME_A/watch"
    find "$WORK/torrents" -name '*.torrent' -exec mv -t "$HOME_A/watch/" {} +
    ADD_FAILED=0
else
    ADD_FAILED=$("$PY" "$HELPER" add "$SOCK" "$WORK/torrents" "$HOME_A/downloads")
fi
ADD_SENT_S=$(echo "$(now) - $t0" | bc -l | xargs printf '%.2f')
ADD_S=$("$PY" "$HELPER" seeding "$SOCK" "$N" "$t0" "$TIMEOUT_S" 1)
log "all $N seeding after $ADD_S s; settling 5 s"
sleep 5
RSS1=$(status_kib "$P2PD_PID" VmRSS); HWM1=$(status_kib "$P2PD_PID" VmHWM)
if [[ $ADD == watch ]]; then
    WATCH_ADDED=$(find "$HOME_A/watch" -name '*.added' | wc -l)
    WATCH_INVALID=$(find "$HOME_A/watch" -name '*.invalid' | wc -l)
else
    WATCH_ADDED=; WATCH_INVALID=
fi
# The log's `torrent ready ... rechecked=N` lines (one per torrent): asking
# `progress` of each torrent would cost the daemon O(N) per call.
ready_lines() { plain "$LOGS/$1.log" | grep -c 'torrent ready' || true; }
rechecked_sum() { plain "$LOGS/$1.log" | grep 'torrent ready' | sed -n 's/.*rechecked=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'; }
FIRST_RECHECKED=$(rechecked_sum first)

# 2. list latency.
log "timing list ($LIST_CALLS calls each way) ..."
LIST_JSON=$("$PY" "$HELPER" list-latency "$P2PCTL" "$SOCK" "$LIST_CALLS")

# 3. Idle CPU. The window starts 10 s after the last measurement so that the
# announces (one per torrent at start) are over.
log "idle CPU over $IDLE_S s ..."
sleep 10
TICK=$(getconf CLK_TCK)
c0=$(cpu_ticks "$P2PD_PID"); w0=$(now)
LOAD_IDLE0=$(cut -d' ' -f1 /proc/loadavg)
sleep "$IDLE_S"
c1=$(cpu_ticks "$P2PD_PID"); w1=$(now)
LOAD_IDLE1=$(cut -d' ' -f1 /proc/loadavg)
IDLE_PCT=$(echo "100 * ($c1 - $c0) / $TICK / ($w1 - $w0)" | bc -l | xargs printf '%.2f')
THREADS=$(awk '$1 == "Threads:" {print $2}' "/proc/$P2PD_PID/status")
RSS_IDLE=$(status_kib "$P2PD_PID" VmRSS)

# 4. Restart.
log "restarting ..."
t0=$(now)
stop_p2pd
STOP_S=$(echo "$(now) - $t0" | bc -l | xargs printf '%.2f')
t0=$(now)
start_p2pd restart
RESTART_S=$("$PY" "$HELPER" seeding "$SOCK" "$N" "$t0" "$TIMEOUT_S" 0.1)
RSS2=$(status_kib "$P2PD_PID" VmRSS); HWM2=$(status_kib "$P2PD_PID" VmHWM)
LOG_READY=$(ready_lines restart)
RECHECKED=$(rechecked_sum restart)
sleep 5
RSS3=$(status_kib "$P2PD_PID" VmRSS); HWM3=$(status_kib "$P2PD_PID" VmHWM)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

jq -n \
  --argjson n "$N" --argjson file_kib "$FILE_KIB" --arg add "$ADD" --arg dht "$DHT" --arg lsd "$LSD" \
  --argjson make_s "$MAKE_S" --argjson add_sent_s "$ADD_SENT_S" --argjson add_s "$ADD_S" \
  --argjson add_failed "$ADD_FAILED" --arg watch_added "$WATCH_ADDED" --arg watch_invalid "$WATCH_INVALID" \
  --argjson first_rechecked "$FIRST_RECHECKED" \
  --argjson rss_empty_kib "$RSS_EMPTY" --argjson rss_kib "$RSS1" --argjson hwm_kib "$HWM1" \
  --argjson list "$LIST_JSON" \
  --argjson idle_s "$IDLE_S" --argjson idle_cpu_pct "$IDLE_PCT" --argjson threads "$THREADS" \
  --argjson rss_idle_kib "$RSS_IDLE" \
  --argjson stop_s "$STOP_S" --argjson restart_s "$RESTART_S" --argjson rechecked "$RECHECKED" \
  --argjson log_ready "$LOG_READY" \
  --argjson rss_restart_kib "$RSS2" --argjson hwm_restart_kib "$HWM2" \
  --argjson rss_restart_settled_kib "$RSS3" --argjson hwm_restart_settled_kib "$HWM3" \
  --arg load_before "$LOAD_BEFORE" --arg load_idle "$LOAD_IDLE0 $LOAD_IDLE1" --arg load_after "$LOAD_AFTER" \
  '{n: $n, file_kib: $file_kib, add: $add, dht: $dht, lsd: $lsd, make_s: $make_s,
    first: {add_sent_s: $add_sent_s, all_seeding_s: $add_s, add_failed: $add_failed,
            watch_added: $watch_added, watch_invalid: $watch_invalid, pieces_rechecked: $first_rechecked,
            rss_empty_kib: $rss_empty_kib, rss_kib: $rss_kib, hwm_kib: $hwm_kib},
    list: $list,
    idle: {seconds: $idle_s, cpu_pct_of_one_core: $idle_cpu_pct, threads: $threads, rss_kib: $rss_idle_kib},
    restart: {stop_s: $stop_s, all_seeding_s: $restart_s, pieces_rechecked: $rechecked,
              log_torrent_ready: $log_ready,
              rss_kib: $rss_restart_kib, hwm_kib: $hwm_restart_kib,
              rss_settled_kib: $rss_restart_settled_kib, hwm_settled_kib: $hwm_restart_settled_kib},
    load: {before: $load_before, idle_window: $load_idle, after: $load_after}}' > "$BENCH_DIR/many_torrents.json"

ok() { if [[ $(echo "$1" | bc -l) == 1 ]]; then echo ok; else echo MISSED; fi; }
LIST_P95=$(jq .p2pctl_p95_ms <<<"$LIST_JSON")
RSS_MAX=$(( RSS1 > RSS3 ? RSS1 : RSS3 ))
{
    printf '%s torrents of %s KiB, added through %s, DHT %s, LSD %s (load before: %s)\n\n' "$N" "$FILE_KIB" "$ADD" "$DHT" "$LSD" "$LOAD_BEFORE"
    printf '%-44s %14s %10s %s\n' measure value budget verdict
    printf '%-44s %14s %10s\n' "first start: add to all seeding (s)" "$ADD_S" "-"
    printf '%-44s %14s %10s\n' "  empty daemon RSS (MiB)" "$(mib "$RSS_EMPTY")" "-"
    printf '%-44s %14s %10s %s\n' "RSS all seeding (MiB)" "$(mib "$RSS1")" "200" "$(ok "$RSS_MAX <= 204800")"
    printf '%-44s %14s %10s\n' "  VmHWM (MiB)" "$(mib "$HWM1")" "-"
    printf '%-44s %14s %10s %s\n' "p2pctl --json list, median / p95 (ms)" "$(jq -r '"\(.p2pctl_median_ms) / \(.p2pctl_p95_ms)"' <<<"$LIST_JSON")" "100" "$(ok "$LIST_P95 <= 100")"
    printf '%-44s %14s %10s\n' "  socket round trip, median / p95 (ms)" "$(jq -r '"\(.ipc_median_ms) / \(.ipc_p95_ms)"' <<<"$LIST_JSON")" "-"
    printf '%-44s %14s %10s\n' "  connect+hello+list, median / p95 (ms)" "$(jq -r '"\(.ipc_connect_median_ms) / \(.ipc_connect_p95_ms)"' <<<"$LIST_JSON")" "-"
    printf '%-44s %14s %10s %s\n' "idle CPU over $IDLE_S s (% of one core)" "$IDLE_PCT" "<2" "$(ok "$IDLE_PCT < 2")"
    printf '%-44s %14s %10s\n' "  threads" "$THREADS" "-"
    printf '%-44s %14s %10s\n' "SIGTERM to exit (s)" "$STOP_S" "-"
    printf '%-44s %14s %10s %s\n' "restart to all seeding (s)" "$RESTART_S" "5" "$(ok "$RESTART_S <= 5")"
    printf '%-44s %14s %10s %s\n' "  rechecked pieces (log), sum" "$RECHECKED" "0" "$(ok "$RECHECKED == 0")"
    printf '%-44s %14s %10s\n' "  RSS / VmHWM 5 s after restart (MiB)" "$(mib "$RSS3") / $(mib "$HWM3")" "-"
    printf '\nload average: before %s, idle window %s -> %s, after %s\n' "$LOAD_BEFORE" "$LOAD_IDLE0" "$LOAD_IDLE1" "$LOAD_AFTER"
} | tee "$OUT/table.txt"
