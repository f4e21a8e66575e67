#!/usr/bin/env bash
# Memory held by trackerd and opentracker for PEERS peers in SWARMS swarms:
# RSS before and after announcing each peer once (event=started, distinct
# peer_id and port, compact=1, left>0), and bytes per peer.
#
# Usage: bench/tracker_memory.sh     (from anywhere)
# Knobs: SWARMS (default 10000), PEERS_PER_SWARM (default 10), CLIENTS (parallel
#        client processes, default 4), TRACKERD (binary; default builds the
#        release binary), BENCH_DIR (default bench/out).
# Output: a table on stdout and bench/out/tracker_memory.tsv.
# trackerd gets one keep-alive connection per client; opentracker closes after
# every reply, so it gets one connection per announce.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SWARMS=${SWARMS:-10000}
PEERS_PER_SWARM=${PEERS_PER_SWARM:-10}
CLIENTS=${CLIENTS:-4}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir tracker_memory
need_tools opentracker
PY=/usr/bin/python3
release_trackerd

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Deterministic info-hashes: SHA-1 of "swarm N".
"$PY" - "$SWARMS" > "$WORK/hashes.txt" <<'PYEOF'
import hashlib, sys
for n in range(int(sys.argv[1])):
    print(hashlib.sha1(b"swarm %d" % n).hexdigest())
PYEOF

# The client: announce peer k of every swarm, k = 0..PEERS_PER_SWARM-1.
# Client c of C sends announces i = c, c+C, c+2C, ...; announce i is peer
# i // SWARMS of swarm i % SWARMS, with peer_id "-MB0001-" + 12 digits of i
# and port 20000 + k. Every reply must be a bencoded dict with "peers".
cat > "$WORK/client.py" <<'PYEOF'
import socket, sys
port, hashfile, per_swarm, c, clients, keepalive = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
hashes = ["".join("%" + h[j:j + 2] for j in range(0, 40, 2)) for h in open(hashfile).read().split()]
total = len(hashes) * per_swarm

def request(i):
    k = i // len(hashes)
    q = "info_hash=%s&peer_id=-MB0001-%012d&port=%d&uploaded=0&downloaded=0&left=1000&event=started&compact=1" % (hashes[i % len(hashes)], i, 20000 + k)
    conn = "keep-alive" if keepalive else "close"
    return ("GET /announce?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: %s\r\n\r\n" % (q, conn)).encode()

def read_reply(s, buf):
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b: raise SystemExit("connection closed before a reply head")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length": length = int(value)
    if length is None:
        while True:  # no length: the body ends at EOF
            b = s.recv(65536)
            if not b: break
            rest += b
        length = len(rest)
    while len(rest) < length:
        b = s.recv(65536)
        if not b: raise SystemExit("connection closed inside a reply body")
        rest += b
    body, rest = rest[:length], rest[length:]
    if b"failure reason" in body or b"5:peers" not in body:
        raise SystemExit("unexpected reply: %r" % body[:200])
    return rest

s, buf = None, b""
for i in range(c, total, clients):
    if s is None:
        s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(request(i))
    buf = read_reply(s, buf)
    if not keepalive:
        s.close(); s, buf = None, b""
PYEOF

printf 'tracker\tpeers\tswarms\trss_before_kib\trss_after_kib\tbytes_per_peer\tseconds\n' > "$BENCH_DIR/tracker_memory.tsv"
measure() { # name pid port keepalive
    local name=$1 pid=$2 port=$3 keepalive=$4 before after start end
    before=$(rss_kib "$pid")
    start=$(date +%s.%N)
    local clients=()
    for c in $(seq 0 $((CLIENTS - 1))); do
        "$PY" "$WORK/client.py" "$port" "$WORK/hashes.txt" "$PEERS_PER_SWARM" "$c" "$CLIENTS" "$keepalive" &
        clients+=($!)
    done
    for p in "${clients[@]}"; do wait "$p"; done
    end=$(date +%s.%N)
    after=$(rss_kib "$pid")
    local peers=$((SWARMS * PEERS_PER_SWARM))
    awk -v n="$name" -v p="$peers" -v s="$SWARMS" -v b="$before" -v a="$after" -v t0="$start" -v t1="$end" \
        'BEGIN { printf "%s\t%d\t%d\t%d\t%d\t%.0f\t%.1f\n", n, p, s, b, a, (a - b) * 1024 / p, t1 - t0 }' \
        >> "$BENCH_DIR/tracker_memory.tsv"
}

start_opentracker
TD_PORT=$(free_port)
uncapped_announce_toml > "$WORK/trackerd.toml"
RUST_LOG=warn "$TRACKERD" --config "$WORK/trackerd.toml" --listen "127.0.0.1:$TD_PORT" --data-dir "$WORK/trackerd" > "$WORK/trackerd.log" 2>&1 &
PIDS+=($!); TD_PID=$!
wait_port "$OT_PORT"; wait_port "$TD_PORT"

measure opentracker "$OT_PID" "$OT_PORT" 0
measure trackerd "$TD_PID" "$TD_PORT" 1
# trackerd says how many it holds: every announce must have made a new peer.
"$PY" - "$TD_PORT" "$SWARMS" "$((SWARMS * PEERS_PER_SWARM))" <<'PYEOF'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/v1/stats" % sys.argv[1]))
if (s["torrents"], s["leechers"] + s["seeders"]) != (int(sys.argv[2]), int(sys.argv[3])):
    raise SystemExit("trackerd holds %d torrents and %d peers" % (s["torrents"], s["leechers"] + s["seeders"]))
PYEOF

column -t -s $'\t' "$BENCH_DIR/tracker_memory.tsv"
echo "(RSS from /proc/PID/status; $CLIENTS client processes; results in $BENCH_DIR/tracker_memory.tsv)"
