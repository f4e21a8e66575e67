#!/usr/bin/env bash
# Passkey announces (GET /announce/PASSKEY?..., what every logged-in p2pd
# sends) against plain announces (GET /announce?...) on the release trackerd,
# in the same run, with wrk and bench/announce.lua: keep-alive connections and
# one connection per request (WRK_CLOSE=1). Both take the server's fast path;
# this checks that the passkey costs little (target: passkey/plain >= 0.9).
#
# Two trackerd processes from the same binary: one takes only plain
# announces, the other only passkey announces, so each sees the same history
# (wrk's announces use a fresh peer id each, so swarms grow all run long and
# a run on a tracker that earlier runs filled is slower). On each, one user
# is registered and logged in through the JSON API (the per-address
# registration limit off, as in bench/login.sh); the passkey tracker's
# announces carry that user's passkey. ROUNDS rounds, interleaved (each
# round runs both trackers in both connection modes, which goes first
# alternating), then medians and passkey / plain.
#
# Usage: bench/passkey.sh            (from anywhere)
# Knobs: ROUNDS (default 5), DURATION (s per run, default 10), CONNECTIONS
#        (default 50), THREADS (wrk, default 2), HASHES (distinct info-hashes,
#        default 10000), TRACKERD (binary; default builds the release binary
#        under CARGO_TARGET_DIR or target/), BENCH_DIR (default bench/out).
# Output: tables on stdout; bench/out/passkey_runs.tsv (every run),
# bench/out/passkey.tsv (medians and ratios).
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
bench_workdir passkey
need_tools wrk
release_trackerd

od -An -tx1 -N $((20 * HASHES)) /dev/urandom | tr -d ' \n' | fold -w40 > "$WORK/hashes.txt"
echo >> "$WORK/hashes.txt"

# Starts a trackerd on a free port; sets PORT and PID.
start_trackerd() { # name
    PORT=$(free_port)
    RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$PORT" \
        --data-dir "$WORK/$1" > "$WORK/$1.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_port "$PORT"
}

# Registers and logs in one user on the trackerd at port $1; prints its passkey.
user_passkey() {
    /usr/bin/python3 - "127.0.0.1:$1" <<'EOF'
import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
def post(path, body):
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    if r.status not in (200, 201):
        raise SystemExit(f"POST {path}: HTTP {r.status} {text}")
    return json.loads(text)
user = {"username": "benchpasskey", "password": "bench password 0123456789"}
post("/api/v1/register", user)
print(post("/api/v1/login", user)["passkey"])
EOF
}

{ printf '[accounts]\nmax_registrations_per_address = 0\n'; uncapped_announce_toml; } > "$WORK/trackerd.toml"
start_trackerd plain; PLAIN_PORT=$PORT; PLAIN_PID=$PID
start_trackerd passkey; PK_PORT=$PORT; PK_PID=$PID
user_passkey "$PLAIN_PORT" > /dev/null
PASSKEY=$(user_passkey "$PK_PORT")
[[ $PASSKEY =~ ^[0-9a-f]{32}$ ]] || { echo "unexpected passkey: $PASSKEY" >&2; exit 1; }

ticks_per_sec=$(getconf CLK_TCK)
RUNS="$BENCH_DIR/passkey_runs.tsv"
printf 'round\tpath\tconnection\trequests_per_s\tp50_ms\tp99_ms\tnon200\tfailures\terrors\ttracker_cpu_us_per_announce\n' > "$RUNS"
run() { # round name pid port path close
    local round=$1 name=$2 pid=$3 port=$4 path=$5 close=$6 before after out
    before=$(cpu_ticks "$pid")
    out=$(WRK_CLOSE=$close wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$ROOT/bench/announce.lua" "http://127.0.0.1:$port" -- "$WORK/hashes.txt" "$path")
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
            run "$round" plain "$PLAIN_PID" "$PLAIN_PORT" /announce "$close"
            run "$round" passkey "$PK_PID" "$PK_PORT" "/announce/$PASSKEY" "$close"
        else
            run "$round" passkey "$PK_PID" "$PK_PORT" "/announce/$PASSKEY" "$close"
            run "$round" plain "$PLAIN_PID" "$PLAIN_PORT" /announce "$close"
        fi
    done
done
echo "load after: $(uptime)"

column -t -s $'\t' "$RUNS"
echo
awk -F'\t' '
    function median(key,   n, i, j, t, v) {
        n = count[key]
        for (i = 1; i <= n; i++) v[i] = vals[key, i]
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function add(key, x) { count[key]++; vals[key, count[key]] = x }
    NR > 1 { for (c = 4; c <= 6; c++) add($2 SUBSEP $3 SUBSEP c, $c); add($2 SUBSEP $3 SUBSEP 10, $10); bad += $7 + $8 }
    END {
        printf "connection\tpath\trequests_per_s\tp50_ms\tp99_ms\tcpu_us_per_announce\tratio_passkey_plain\n"
        split("close keep-alive", modes, " ")
        for (m = 1; m <= 2; m++) {
            mode = modes[m]
            plain = median("plain" SUBSEP mode SUBSEP 4)
            pk = median("passkey" SUBSEP mode SUBSEP 4)
            split("plain passkey", names, " ")
            for (k = 1; k <= 2; k++) {
                name = names[k]
                printf "%s\t%s\t%.0f\t%.2f\t%.2f\t%.1f\t%s\n", mode, name, median(name SUBSEP mode SUBSEP 4),
                    median(name SUBSEP mode SUBSEP 5), median(name SUBSEP mode SUBSEP 6),
                    median(name SUBSEP mode SUBSEP 10), (k == 2 && plain > 0 ? sprintf("%.2f", pk / plain) : "")
            }
        }
        if (bad > 0) printf "WARNING: %d non-200 or failure replies (see the runs)\n", bad > "/dev/stderr"
    }' "$RUNS" > "$BENCH_DIR/passkey.tsv"
column -t -s $'\t' "$BENCH_DIR/passkey.tsv"
echo "(medians of $ROUNDS interleaved rounds, ${DURATION}s each, wrk -t$THREADS -c$CONNECTIONS, $HASHES info-hashes;"
echo " ratio = passkey requests/s / plain requests/s; every run in $RUNS)"
