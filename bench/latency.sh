#!/usr/bin/env bash
# Transfer benchmark over a simulated distance: one seeder -> one leecher, the leecher's
# only peer being a latency-relay in front of the seeder (50 ms each way = 100 ms round
# trip), p2pd -> p2pd and libtorrent -> libtorrent interleaved, medians; then the same
# with the relay capped at CAP_MBPS per direction. See bench/README.md ("latency.sh").
#
# Knobs (environment):
#   SIZE_MIB   size of the test file in MiB                 (default 256)
#   RUNS       timed runs per case and relay setting         (default 3)
#   DELAY_MS   one-way delay of the relay                    (default 50)
#   CAP_MBPS   rate cap of the second part, 10^6 bytes/s     (default 20; 0 = skip it)
#   CASES      comma list out of p2pd,lt                     (default p2pd,lt)
#   BENCH_DIR, HARNESS, KEEP as for transfer.sh; RELAY = latency-relay binary (default:
#   built with `cargo build --release -p p2p-tests --bin latency-relay`)
#   TIMEOUT_S  per-download limit in seconds                 (default 60 + SIZE_MIB)
# Output: the tables on stdout, bench/out/latency.json and bench/out/latency-capped.json,
# logs in bench/out/latency/{plain,capped}/logs/ (one log per relay too).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-3}
DELAY_MS=${DELAY_MS:-50}
CAP_MBPS=${CAP_MBPS:-20}
CASES=${CASES:-p2pd,lt}
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/bench/out}
TIMEOUT_S=${TIMEOUT_S:-$((60 + SIZE_MIB))}

WORK_NAME=latency
NEED_RELAY=1
# shellcheck source=bench/transfer/prepare.sh
. "$SCRIPT_DIR/transfer/prepare.sh"

run() {
    /usr/bin/python3 "$SCRIPT_DIR/transfer/run.py" \
        --torrent "$TORRENT" --data "$DATA" --name "$NAME" --info-hash "$INFO_HASH" --sha1 "$SHA1" \
        --harness "$HARNESS" --tracker-port "$TRACKER_PORT" --runs "$RUNS" \
        --cases "$CASES" --timeout "$TIMEOUT_S" --size-mib "$SIZE_MIB" \
        --relay "$RELAY" --relay-delay-ms "$DELAY_MS" "${keep[@]}" "$@"
}
status=0
log "--- through the relay, ${DELAY_MS} ms each way, no cap ---"
run --work "$WORK/plain" --out "$BENCH_DIR/latency.json" || status=1
if [ "$CAP_MBPS" != 0 ]; then
    log "--- through the relay, ${DELAY_MS} ms each way, ${CAP_MBPS} MB/s cap ---"
    run --work "$WORK/capped" --relay-rate-mbps "$CAP_MBPS" --out "$BENCH_DIR/latency-capped.json" || status=1
fi
exit $status
