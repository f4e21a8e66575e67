#!/usr/bin/env bash
# The resource attacks of issue 12 against trackerd with its default limits:
# half-sent login bodies with a large Content-Length (item 12), thousands of
# event streams from one token (item 13), and one address creating swarms
# and fake peers in open mode (item 14). For each: trackerd's RSS before,
# during and after, the attack connections it holds, what it refused, and
# the latency of a normal announce made during the attack.
#
# Usage: bench/attack_resources.sh     (from anywhere)
# Knobs: ATTACKERS (default 150), STREAMS (default 4160), SWARMS (default
#        2000), FAKE_PEERS (default 200), TRACKERD (binary; default builds
#        the release binary), BENCH_DIR (default bench/out).
# Output: one line per attack on stdout, also in bench/out/attack_resources.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir attack_resources
release_trackerd

# 4160 stream attempts need as many descriptors on the client side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PORT=$(free_port)
RUST_LOG=warn "$TRACKERD" --listen "127.0.0.1:$PORT" --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
TD_PID=$!
PIDS+=("$TD_PID")
wait_port "$PORT"

echo "trackerd $TRACKERD (pid $TD_PID), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cpus"
/usr/bin/python3 "$ROOT/bench/attack_resources.py" "$PORT" "$TD_PID" | tee "$BENCH_DIR/attack_resources.txt"
