#!/usr/bin/env bash
# Announces on trackerd with SQLite and with PostgreSQL (issue 16), in the
# same run: the announce path never touches the database, so the two should
# serve the same announces per second, and the database should see no more
# commits while wrk announces than while trackerd idles (its background
# flushes: counters, traffic, session expiry, about 3 a second).
#
# Runs itself inside scripts/with-postgres (a throwaway cluster) when no
# P2P_TEST_PG_URL is set. Each run: a fresh trackerd (the release binary),
# wrk on one announce URL for DURATION s; ROUNDS rounds, SQLite and
# PostgreSQL interleaved; then the idle/announce commit count on PostgreSQL.
#
# Usage: bench/stores.sh
# Knobs: ROUNDS (default 3), DURATION (s per run, default 8), CONNECTIONS
#        (default 8), TRACKERD (binary; default builds the release binary).
# Output: every run and the medians on stdout, with postgres / sqlite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ -z "${P2P_TEST_PG_URL:-}" ]]; then
    exec scripts/with-postgres "$0" "$@"
fi
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-8}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir stores
need_tools wrk
release_trackerd
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql"
Q='info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&peer_id=-TT0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100&compact=1'

# Starts a trackerd on store $1 (a URL, or empty for SQLite); sets PORT and PID.
start_trackerd() {
    local dir
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    PORT=$(free_port)
    local args=(--listen "127.0.0.1:$PORT" --data-dir "$dir")
    [[ -n "$1" ]] && args+=(--database "$1")
    RUST_LOG=warn "$TRACKERD" "${args[@]}" >"$dir/log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_port "$PORT"
}

# Announces per second of one wrk run against PORT.
announces() {
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$PORT/announce?$Q" |
        awk '/Requests\/sec/ {print $2}'
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

sqlite=() postgres=()
for round in $(seq "$ROUNDS"); do
    start_trackerd ""
    sqlite+=("$(announces)")
    kill "$PID"
    start_trackerd "$P2P_TEST_PG_URL"
    postgres+=("$(announces)")
    kill "$PID"
    echo "round $round: sqlite ${sqlite[-1]}/s, postgres ${postgres[-1]}/s"
done
s=$(printf '%s\n' "${sqlite[@]}" | median)
p=$(printf '%s\n' "${postgres[@]}" | median)
echo "median announces/s: sqlite $s, postgres $p, postgres / sqlite $(echo "scale=2; $p / $s" | bc)"

# Database commits while idle and while announcing, same length of time.
commits() { "$PSQL" "$P2P_TEST_PG_URL" -tAc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
# Backends report their counts every 500 ms at most: wait 1 s before each
# read, and let the start-up's own commits pass first.
start_trackerd "$P2P_TEST_PG_URL"
sleep 2
c0=$(commits)
sleep "$DURATION"
sleep 1
c1=$(commits)
n=$(announces)
sleep 1
c2=$(commits)
kill "$PID"
echo "postgres commits: $((c1 - c0)) in $((DURATION + 1)) s idle (psql's own included)," \
    "$((c2 - c1)) in $((DURATION + 1)) s with $DURATION s of $n announces/s"
