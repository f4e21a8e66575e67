#!/usr/bin/env bash
# Logins per second against the release trackerd: every login checks an
# Argon2id hash (default parameters: 19 MiB, 2 passes, 1 lane) on tokio's
# blocking pool, so this measures how many password checks the machine's
# cores do, plus session bookkeeping in SQLite.
#
# Registers USERS users (bench0..), then runs wrk with bench/login/login.lua
# (POST /api/v1/login, JSON, "takeover": true so a user already logged in
# is not refused with 409) for each concurrency in CONNECTIONS_LIST, in
# turn. Every login succeeds, so the failed-login rate limiter (5 failures
# per minute per user and per address) never triggers; a 429 or 409 in the
# counts means something is wrong.
#
# Usage: bench/login.sh            (from anywhere)
# Knobs: USERS (default 100), DURATION (s per run, default 10),
#        CONNECTIONS_LIST (default "1 2 4 8"), TRACKERD (binary; default builds
#        the release binary under CARGO_TARGET_DIR or target/), BENCH_DIR
#        (default bench/out).
# Output: a table on stdout and bench/out/login.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
USERS=${USERS:-100}
DURATION=${DURATION:-10}
CONNECTIONS_LIST=${CONNECTIONS_LIST:-"1 2 4 8"}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}
PASSWORD="bench password 0123456789"
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/login.XXXXXX")
TD_PID=
cleanup() {
    if [[ -n $TD_PID ]]; then kill "$TD_PID" 2>/dev/null || true; wait "$TD_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_tools wrk
PY=$(command -v python3 || echo /usr/bin/python3)
release_trackerd

peak_rss_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

PORT=$(free_port)
# All USERS register and log in from 127.0.0.1: the per-address registration
# limit is off here, and the address may have as many password checks
# running as wrk has connections.
printf '[accounts]\nmax_registrations_per_address = 0\nmax_password_checks_per_address = 64\n' > "$WORK/trackerd.toml"
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$PORT" \
    --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
TD_PID=$!
wait_port "$PORT"

LOAD_BEFORE=$(uptime)
echo "load before: $LOAD_BEFORE"
REGISTER=$("$PY" "$ROOT/bench/login/register.py" "127.0.0.1:$PORT" "$USERS" "$PASSWORD" 4)
echo "$REGISTER"

hz=$(getconf CLK_TCK)
RUNS="$WORK/runs.tsv"
printf 'connections\tlogins_per_s\tp50_ms\tp99_ms\tmax_ms\tcpu_ms_per_login\tcpu_cores_busy\thttp200\tnon200\terrors\tpeak_rss_mib\n' > "$RUNS"
for c in $CONNECTIONS_LIST; do
    t=$(( c < 2 ? c : 2 ))
    before=$(cpu_ticks "$TD_PID")
    out=$(wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 30s --latency \
        -s "$ROOT/bench/login/login.lua" "http://127.0.0.1:$PORT" -- "$USERS" "$PASSWORD")
    after=$(cpu_ticks "$TD_PID")
    echo "$out" | awk -v c="$c" -v cpu="$(( after - before ))" -v hz="$hz" -v rss="$(peak_rss_mib "$TD_PID")" '
        /login.lua: http200/ { split($0, a, /[ =]/); for (i in a) {
            if (a[i]=="http200") ok=a[i+1]; if (a[i]=="http409") c409=a[i+1]; if (a[i]=="http429") c429=a[i+1];
            if (a[i]=="other") oth=a[i+1]; if (a[i]=="no_token") nt=a[i+1]; if (a[i]=="errors") err=a[i+1] } }
        /login.lua: requests/ { split($0, a, /[ =]/); for (i in a) {
            if (a[i]=="requests") n=a[i+1]; if (a[i]=="duration_s") d=a[i+1]; if (a[i]=="rps") rps=a[i+1];
            if (a[i]=="p50_ms") p50=a[i+1]; if (a[i]=="p99_ms") p99=a[i+1]; if (a[i]=="max_ms") mx=a[i+1] } }
        END { printf "%s\t%s\t%s\t%s\t%s\t%.1f\t%.2f\t%s\t%d\t%s\t%s\n", c, rps, p50, p99, mx,
            (n > 0 ? cpu / hz * 1000 / n : 0), (d > 0 ? cpu / hz / d : 0), ok, c409 + c429 + oth + nt, err, rss }' \
        >> "$RUNS"
done
LOAD_AFTER=$(uptime)
echo "load after: $LOAD_AFTER"
echo
column -t -s $'\t' "$RUNS"
echo "(wrk -d${DURATION}s per row, $USERS users in turn, takeover logins; cpu = trackerd user+system"
echo " CPU per login; cpu_cores_busy = trackerd CPU seconds per wall second; peak RSS is trackerd's VmHWM so far)"

"$PY" - "$RUNS" "$BENCH_DIR/login.json" "$USERS" "$DURATION" "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" "$REGISTER" <<'EOF'
import json, sys
runs, out, users, duration, before, after, cores, register = sys.argv[1:9]
rows = [l.rstrip("\n").split("\t") for l in open(runs)]
head, body = rows[0], rows[1:]
def num(v):
    try:
        return int(v)
    except ValueError:
        return float(v)
result = {
    "benchmark": "trackerd POST /api/v1/login (Argon2id default parameters, takeover)",
    "users": int(users),
    "duration_s_per_run": int(duration),
    "cores": int(cores),
    "load_before": before.strip(),
    "load_after": after.strip(),
    "registration": register.strip(),
    "runs": [dict(zip(head, map(num, r))) for r in body],
}
json.dump(result, open(out, "w"), indent=2)
print(f"wrote {out}")
EOF
