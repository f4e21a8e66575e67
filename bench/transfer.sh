#!/usr/bin/env bash
# Loopback transfer benchmark: one file, seeder(s) -> one leecher on 127.0.0.1, for
# p2pd -> p2pd, libtorrent -> libtorrent, aria2c -> aria2c, and 4 seeders -> 1 leecher for
# p2pd and libtorrent, RUNS interleaved runs, medians. See bench/README.md ("transfer.sh").
#
# Knobs (environment):
#   SIZE_MIB   size of the test file in MiB                         (default 1024; 256 = quick)
#   RUNS       timed runs per case, interleaved                     (default 3)
#   CASES      comma list out of p2pd,lt,aria2,p2pd4,lt4            (default: all five)
#   BENCH_DIR  work folder (test file, torrent, logs, JSON)         (default bench/out)
#   HARNESS    engine-harness binary (default target/release/engine-harness under the repo or
#              $CARGO_TARGET_DIR; built with `cargo build --release -p p2p-tests --bin
#              engine-harness` unless HARNESS is given)
#   TIMEOUT_S  per-download limit in seconds            (default 60 + SIZE_MIB/5, i.e. >= 5 MB/s)
#   KEEP=1     keep the downloaded folders (bench/out/transfer/dl/) instead of deleting them
# Output: a table on stdout, bench/out/transfer.json, logs in bench/out/transfer/logs/.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
CASES=${CASES:-p2pd,lt,aria2,p2pd4,lt4}
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/bench/out}
TIMEOUT_S=${TIMEOUT_S:-$((60 + SIZE_MIB / 5))}

WORK_NAME=transfer
# shellcheck source=bench/transfer/prepare.sh
. "$SCRIPT_DIR/transfer/prepare.sh"

exec /usr/bin/python3 "$SCRIPT_DIR/transfer/run.py" \
    --torrent "$TORRENT" --data "$DATA" --name "$NAME" --info-hash "$INFO_HASH" --sha1 "$SHA1" \
    --work "$WORK" --harness "$HARNESS" --tracker-port "$TRACKER_PORT" --runs "$RUNS" \
    --cases "$CASES" --timeout "$TIMEOUT_S" --size-mib "$SIZE_MIB" --out "$BENCH_DIR/transfer.json" \
    "${keep[@]}"
