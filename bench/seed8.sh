#!/usr/bin/env bash
# One seeder serving one file to 8 libtorrent leechers at once over 127.0.0.1: p2pd
# (engine-harness) against libtorrent as the seeder, same 8 leechers, RUNS interleaved runs,
# medians. Aggregate upload rate = 8 x size / time until the last leecher completes.
# Issue 19's budget: p2pd at least 2x libtorrent. See bench/README.md ("seed8.sh").
#
# Knobs (environment):
#   SIZE_MIB   size of the test file in MiB                      (default 1024; 256 = quick)
#   RUNS       timed runs per case, interleaved                  (default 2)
#   CASES      comma list out of p2pd,lt,p2pd8slots              (default p2pd,lt)
#   LEECHERS   leechers at once                                  (default 8)
#   BENCH_DIR  work folder (test file, torrent, logs, JSON)      (default bench/out)
#   HARNESS    engine-harness binary (default: built in release, as for transfer.sh)
#   TIMEOUT_S  limit for the last leecher, seconds   (default 120 + LEECHERS*SIZE_MIB/10, >= 10 MB/s)
#   KEEP=1     keep the downloaded folders (bench/out/seed8/dl/)
# Output: a table on stdout, bench/out/seed8.json, logs in bench/out/seed8/logs/.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-2}
CASES=${CASES:-p2pd,lt}
LEECHERS=${LEECHERS:-8}
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/bench/out}
TIMEOUT_S=${TIMEOUT_S:-$((120 + LEECHERS * SIZE_MIB / 10))}

WORK_NAME=seed8
# shellcheck source=bench/transfer/prepare.sh
. "$SCRIPT_DIR/transfer/prepare.sh"

free_mib=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_mib" -gt $((LEECHERS * SIZE_MIB + 1024)) ] ||
    die "$LEECHERS x $SIZE_MIB MiB of downloads need more room than the $free_mib MiB free under $WORK"

exec /usr/bin/python3 "$SCRIPT_DIR/transfer/seed8.py" \
    --torrent "$TORRENT" --data "$DATA" --name "$NAME" --info-hash "$INFO_HASH" --sha1 "$SHA1" \
    --work "$WORK" --harness "$HARNESS" --runs "$RUNS" --cases "$CASES" --leechers "$LEECHERS" \
    --timeout "$TIMEOUT_S" --size-mib "$SIZE_MIB" --out "$BENCH_DIR/seed8.json" "${keep[@]}"
