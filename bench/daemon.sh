#!/usr/bin/env bash
# p2pd's memory and latency as a user sees them (issue 6), with trackerd on
# 127.0.0.1 and the release binaries:
#   1. RSS of an idle p2pd (3 s after its control socket appears);
#   2. RSS, time and CPU to share N_FILES small files dropped into shared/,
#      then SIGTERM, restart, and time until all are seeding again (from the
#      watcher's cache: the log's `sharing` lines must say rehashed=false);
#   3. a DROP_MIB file renamed into shared/: time until p2pctl lists it,
#      until it is seeding, until trackerd lists it with a seeder;
#   4. a SIZE_MIB download from a second p2pd through trackerd: the
#      leecher's RSS every 100 ms (peak, median), time, MB/s, CPU of both.
# (1, 2 and 3 use one daemon, A; 4 runs after A is stopped.)
#
# Usage: bench/daemon.sh     (from anywhere)
# Knobs: N_FILES (1000), FILE_KIB (64), DROP_MIB (100), SIZE_MIB (1024),
#        TIMEOUT_S (per wait, default 600), BENCH_DIR (bench/out), KEEP=1,
#        P2PD / P2PCTL / TRACKERD (binaries; default: cargo build --release,
#        under $CARGO_TARGET_DIR if set, else target/).
# Output: a table on stdout, bench/out/daemon.json, logs in bench/out/daemon/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N_FILES=${N_FILES:-1000}
FILE_KIB=${FILE_KIB:-64}
DROP_MIB=${DROP_MIB:-100}
SIZE_MIB=${SIZE_MIB:-1024}
TIMEOUT_S=${TIMEOUT_S:-600}
KEEP=${KEEP:-0}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
PY=/usr/bin/python3
HELPER="$ROOT/bench/daemon/helper.py"

log() { printf '[daemon.sh] %s\n' "$*" >&2; }
die() { printf 'daemon.sh: %s\n' "$*" >&2; exit 1; }

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
if [[ -z "${P2PD:-}" || -z "${P2PCTL:-}" || -z "${TRACKERD:-}" ]]; then
    log "building p2pd, p2pctl, trackerd (release) ..."
    cargo build --release --quiet -p p2pd -p p2pctl -p trackerd >&2
fi
P2PD=${P2PD:-$BIN/p2pd}
P2PCTL=${P2PCTL:-$BIN/p2pctl}
TRACKERD=${TRACKERD:-$BIN/trackerd}
for b in "$P2PD" "$P2PCTL" "$TRACKERD"; do [[ -x $b ]] || die "no binary at $b"; done

OUT="$BENCH_DIR/daemon"
rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/work"
WORK="$OUT/work"
LOGS="$OUT/logs"
RESULTS="$OUT/results.txt"
: > "$RESULTS"
put() { printf '%s %s %s\n' "$1" "$2" "$3" >> "$RESULTS"; }  # section key value

PIDS=()
SAMPLER=
cleanup() {
    local pid
    [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null || true
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
since() { echo "$(now) - $1" | bc -l | xargs printf '%.3f'; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }  # pid VmRSS|VmHWM
TICK=$(getconf CLK_TCK)
cpu_s() { sed 's/.*) //' "/proc/$1/stat" | awk -v t="$TICK" '{printf "%.2f", ($12 + $13) / t}'; }
sub() { echo "$1 - $2" | bc -l | xargs printf '%.2f'; }
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }  # a log without colours

# "sharing NAME torrent=.. info_hash=.. rehashed=.." (not "stopped sharing").
sharing() { plain "$1" | grep -v 'stopped sharing' | grep ' sharing ' | grep -c "rehashed=$2" || true; }
# wait_sharing FILE N: bounded wait (10 s) for N `sharing` lines (the line comes
# just after the torrent is added, so it can trail the list by a moment).
wait_sharing() {
    for _ in $(seq 100); do
        (( $(sharing "$1" true) + $(sharing "$1" false) >= $2 )) && return 0
        sleep 0.1
    done
    log "fewer than $2 'sharing' lines in $1"
}

# wait_line FILE PATTERN: bounded wait for a line in a log (the process must live).
wait_line() {
    local file=$1 pattern=$2 pid=$3
    for _ in $(seq $((TIMEOUT_S * 10))); do
        # (not grep -q: it can exit before sed is done, and pipefail counts sed's SIGPIPE)
        if plain "$file" | grep -- "$pattern" > /dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$file" >&2; die "process $pid exited before logging '$pattern'"; }
        sleep 0.1
    done
    die "no '$pattern' in $file after ${TIMEOUT_S} s"
}

# start_p2pd NAME LOGFILE: starts p2pd --home $WORK/NAME; sets P2PD_PID.
start_p2pd() {
    local name=$1 logfile=$2
    NO_COLOR=1 env -u JOURNAL_STREAM "$P2PD" --home "$WORK/$name" --listen-port 0 --tracker "$ANNOUNCE" \
        > "$logfile" 2>&1 &
    P2PD_PID=$!
    PIDS+=("$P2PD_PID")
    wait_line "$logfile" "control socket at" "$P2PD_PID"
}

# stop_pid PID: SIGTERM, bounded wait for the exit; sets STOP_S to the seconds it took.
# (Not in $(...): only this shell can wait for its children.)
stop_pid() {
    local pid=$1 t0 p keep=()
    t0=$(now)
    kill -TERM "$pid"
    for _ in $(seq $((TIMEOUT_S * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; log "p2pd $pid ignored SIGTERM for ${TIMEOUT_S} s: killed"; }
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    [[ $rc == 0 ]] || log "process $pid exited with status $rc"
    STOP_S=$(since "$t0")
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

put - load_before "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
put - machine "\"$(nproc) cpus, $(uname -r)\""
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- trackerd ----------------------------------------------------------------
TD_PORT=$(free_port)
# Every torrent announces from 127.0.0.1: the per-address caps would stop
# step 3 at the 1,001st swarm.
uncapped_announce_toml > "$WORK/trackerd.toml"
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$TD_PORT" --data-dir "$WORK/trackerd" > "$LOGS/trackerd.log" 2>&1 &
TD_PID=$!
PIDS+=("$TD_PID")
TRACKER="http://127.0.0.1:$TD_PORT"
ANNOUNCE="$TRACKER/announce"
for _ in $(seq 100); do curl -sf "$TRACKER/health" > /dev/null && break; sleep 0.1; done
curl -sf "$TRACKER/health" > /dev/null || die "trackerd did not answer on $TRACKER"

# --- 1. idle -----------------------------------------------------------------
log "1. idle p2pd ..."
start_p2pd a "$LOGS/p2pd-a.log"
A_PID=$P2PD_PID
A_SOCK="$WORK/a/p2pd.sock"
sleep 3
put idle rss_kib "$(status_kib "$A_PID" VmRSS)"
put idle hwm_kib "$(status_kib "$A_PID" VmHWM)"

# --- 2. N_FILES small files --------------------------------------------------
log "2. $N_FILES files of $FILE_KIB KiB ..."
"$PY" "$HELPER" make-files "$WORK/stage" "$N_FILES" "$FILE_KIB" 1
cpu0=$(cpu_s "$A_PID")
t0=$(now)
mv "$WORK/stage/"* "$WORK/a/shared/"
secs=$("$PY" "$HELPER" seeding "$P2PCTL" "$A_SOCK" "$N_FILES" "$t0" "$TIMEOUT_S")
put seeded files "$N_FILES"
put seeded file_kib "$FILE_KIB"
put seeded seconds "$secs"
put seeded cpu_s "$(sub "$(cpu_s "$A_PID")" "$cpu0")"
put seeded rss_kib "$(status_kib "$A_PID" VmRSS)"
put seeded hwm_kib "$(status_kib "$A_PID" VmHWM)"
put seeded tracker_s "$("$PY" "$HELPER" tracker-count "$TRACKER" "$N_FILES" "$t0" "$TIMEOUT_S")"
log "   all seeding after $secs s"

log "   restart ..."
stop_pid "$A_PID"
put restart stop_seconds "$STOP_S"
put restart tracker_seeders_after_stop "$(curl -sf "$TRACKER/api/v1/stats" | jq .seeders)"
t0=$(now)
start_p2pd a "$LOGS/p2pd-a-restart.log"
A_PID=$P2PD_PID
secs=$("$PY" "$HELPER" seeding "$P2PCTL" "$A_SOCK" "$N_FILES" "$t0" "$TIMEOUT_S")
put restart seconds "$secs"
put restart cpu_s "$(cpu_s "$A_PID")"
put restart rss_kib "$(status_kib "$A_PID" VmRSS)"
put restart hwm_kib "$(status_kib "$A_PID" VmHWM)"
put restart tracker_s "$("$PY" "$HELPER" tracker-count "$TRACKER" "$N_FILES" "$t0" "$TIMEOUT_S")"
wait_sharing "$LOGS/p2pd-a.log" "$N_FILES"
wait_sharing "$LOGS/p2pd-a-restart.log" "$N_FILES"
put seeded rehashed_true "$(sharing "$LOGS/p2pd-a.log" true)"
put restart rehashed_false "$(sharing "$LOGS/p2pd-a-restart.log" false)"
put restart rehashed_true "$(sharing "$LOGS/p2pd-a-restart.log" true)"
log "   all seeding again after $secs s"

# --- 3. a DROP_MIB file renamed into shared/ ---------------------------------
log "3. $DROP_MIB MiB renamed into shared/ ..."
mkdir -p "$WORK/drop"
DROP="$WORK/drop/drop-${DROP_MIB}MiB.bin"
head -c $((DROP_MIB * 1024 * 1024)) /dev/urandom > "$DROP"
want_ih=$("$P2PCTL" create --no-date -t "$ANNOUNCE" --json -o "$WORK/drop/drop.torrent" "$DROP" | jq -r .info_hash)
cp "$DROP" "$WORK/a/shared/.drop.x.tmp"
sleep 2  # let the watcher see the temp file come and settle
t0=$(now)
mv "$WORK/a/shared/.drop.x.tmp" "$WORK/a/shared/$(basename "$DROP")"
times=$("$PY" "$HELPER" announced "$P2PCTL" "$A_SOCK" "$TRACKER" "$want_ih" "$t0" "$TIMEOUT_S")
got_ih=$("$P2PCTL" --socket "$A_SOCK" --json list | jq -r --arg n "$(basename "$DROP")" '(if type == "array" then . else .torrents end)[] | select(.name == $n) | .info_hash')
put drop size_mib "$DROP_MIB"
put drop listed_s "$(jq .listed_s <<< "$times")"
put drop seeding_s "$(jq .seeding_s <<< "$times")"
put drop tracker_s "$(jq .tracker_s <<< "$times")"
put drop info_hash "\"$want_ih\""
put drop info_hash_matches "$([[ $got_ih == "$want_ih" ]] && echo true || echo false)"
log "   $times"
stop_pid "$A_PID"
put drop stop_seconds "$STOP_S"

# --- 4. SIZE_MIB download through trackerd -----------------------------------
log "4. $SIZE_MIB MiB download ..."
DATA="$BENCH_DIR/data-${SIZE_MIB}MiB.bin"
if [[ ! -f $DATA || $(stat -c %s "$DATA") -ne $((SIZE_MIB * 1024 * 1024)) ]]; then
    log "   writing $SIZE_MIB MiB of pseudo-random data to $DATA ..."
    head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$DATA.tmp"
    mv "$DATA.tmp" "$DATA"
fi
start_p2pd seed "$LOGS/p2pd-seed.log"
S_PID=$P2PD_PID
S_SOCK="$WORK/seed/p2pd.sock"
NAME=$(basename "$DATA")
t0=$(now)
ln "$DATA" "$WORK/seed/shared/$NAME" 2>/dev/null || cp "$DATA" "$WORK/seed/shared/$NAME"
put download seeder_share_s "$("$PY" "$HELPER" seeding "$P2PCTL" "$S_SOCK" 1 "$t0" "$TIMEOUT_S")"
IH=$("$PY" "$HELPER" info-hash "$P2PCTL" "$S_SOCK" "$NAME" "$TIMEOUT_S")
"$PY" "$HELPER" tracker-wait "$TRACKER" "$IH" "$TIMEOUT_S"
TORRENT=$(ls "$WORK/seed/torrents/"*.torrent | head -1)
cat "$DATA" > /dev/null  # the seeder reads from the page cache
start_p2pd leech "$LOGS/p2pd-leech.log"
L_PID=$P2PD_PID
L_SOCK="$WORK/leech/p2pd.sock"
sleep 1
"$PY" "$HELPER" sample "$L_PID" 0.1 "$OUT/leecher-rss.txt" &
SAMPLER=$!
sc0=$(cpu_s "$S_PID"); lc0=$(cpu_s "$L_PID")
t0=$(now)
timeout "$TIMEOUT_S" "$P2PCTL" --socket "$L_SOCK" --json download "$TORRENT" > "$OUT/download.json" 2> "$LOGS/p2pctl-download.log" \
    || die "p2pctl download failed or timed out (see $LOGS/p2pctl-download.log)"
secs=$(since "$t0")
sc1=$(cpu_s "$S_PID"); lc1=$(cpu_s "$L_PID")
kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
put download size_mib "$SIZE_MIB"
put download seconds "$secs"
put download mb_per_s "$(echo "$SIZE_MIB * 1048576 / 1000000 / $secs" | bc -l | xargs printf '%.1f')"
put download leecher_cpu_s "$(sub "$lc1" "$lc0")"
put download seeder_cpu_s "$(sub "$sc1" "$sc0")"
put download leecher_hwm_kib "$(status_kib "$L_PID" VmHWM)"
put download leecher_rss_end_kib "$(status_kib "$L_PID" VmRSS)"
put download rss_samples_file "\"$OUT/leecher-rss.txt\""
put download rss_interval_s 0.1
got="$WORK/leech/downloads/$NAME"
put download identical "$(cmp -s "$DATA" "$got" && echo true || echo false)"
stop_pid "$L_PID"
stop_pid "$S_PID"

put - load_after "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
"$PY" "$HELPER" report "$RESULTS" "$BENCH_DIR/daemon.json"
echo "(results in $BENCH_DIR/daemon.json, logs in $LOGS)"
