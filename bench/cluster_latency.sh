#!/usr/bin/env bash
# Peer visibility latency across two trackerd instances on one PostgreSQL
# (issue 16): how long after instance A answers a new peer's announce does
# instance B hand that peer out? Each round announces a new peer of a new
# torrent to A, then polls B (announces of another peer every POLL_MS) until
# B's answer holds it (bench/cluster_latency.py); p50, p95 and max printed.
# The share interval (`store.swarm_share_interval_ms`, default 100) is the
# main term: a peer waits on average half of it for its batch.
#
# Runs itself inside scripts/with-postgres (a throwaway cluster) when no
# P2P_TEST_PG_URL is set.
# Usage: bench/cluster_latency.sh
# Knobs: ROUNDS (default 200), POLL_MS (default 5), SHARE_MS (the share
#        interval, default: trackerd's), TRACKERD (binary; default builds
#        the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ -z "${P2P_TEST_PG_URL:-}" ]]; then
    exec scripts/with-postgres "$0" "$@"
fi
ROUNDS=${ROUNDS:-200}
POLL_MS=${POLL_MS:-5}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir cluster_latency
release_trackerd

config="$WORK/trackerd.toml"
uncapped_announce_toml >"$config"
if [[ -n "${SHARE_MS:-}" ]]; then
    printf '[store]\nswarm_share_interval_ms = %s\n' "$SHARE_MS" >>"$config"
fi
ports=()
for name in a b; do
    port=$(free_port)
    mkdir -p "$WORK/$name"
    RUST_LOG=warn "$TRACKERD" --config "$config" --listen "127.0.0.1:$port" \
        --data-dir "$WORK/$name" --database "$P2P_TEST_PG_URL" >"$WORK/$name/log" 2>&1 &
    PIDS+=("$!")
    wait_port "$port"
    ports+=("$port")
done
/usr/bin/python3 "$ROOT/bench/cluster_latency.py" "${ports[0]}" "${ports[1]}" "$ROUNDS" "$POLL_MS"
