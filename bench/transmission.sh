#!/usr/bin/env bash
# Transmission interop benchmark, trackerd between the clients: (a) a transmission-daemon
# seeder at its default settings -> a p2pd leecher and -> a libtorrent leecher; (b) a p2pd
# seeder and a libtorrent seeder -> a transmission-daemon leecher. Interleaved, medians, for
# each size in SIZES. See bench/README.md ("transmission.sh").
#
# Knobs (environment):
#   SIZES      sizes of the test file in MiB, space separated    (default "48 128")
#   RUNS       timed runs per case and size                       (default 3)
#   CASES      comma list out of a-p2pd,a-lt,b-p2pd,b-lt          (default: all four)
#   TIMEOUT_S  per-download limit in seconds                      (default 300)
#   BENCH_DIR, HARNESS as for transfer.sh; TRACKERD (default: the release build)
# Output: the tables on stdout, bench/out/transmission-<SIZE>MiB.json, logs in
# bench/out/transmission/logs/.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
ROOT=$REPO_ROOT
SIZES=${SIZES:-48 128}
RUNS=${RUNS:-3}
CASES=${CASES:-a-p2pd,a-lt,b-p2pd,b-lt}
TIMEOUT_S=${TIMEOUT_S:-300}
BENCH_DIR=${BENCH_DIR:-$REPO_ROOT/bench/out}

# shellcheck source=bench/lib.sh
. "$SCRIPT_DIR/lib.sh"
if ! command -v transmission-daemon >/dev/null; then
    echo "installing transmission-daemon and transmission-cli" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq transmission-daemon transmission-cli >/dev/null
fi
release_trackerd

status=0
for SIZE_MIB in $SIZES; do
    WORK_NAME=transmission
    # shellcheck source=bench/transfer/prepare.sh
    . "$SCRIPT_DIR/transfer/prepare.sh"
    /usr/bin/python3 "$SCRIPT_DIR/transmission/interop.py" \
        --torrent "$TORRENT" --data "$DATA" --name "$NAME" --info-hash "$INFO_HASH" --sha1 "$SHA1" \
        --work "$WORK" --harness "$HARNESS" --trackerd "$TRACKERD" --tracker-port "$TRACKER_PORT" \
        --runs "$RUNS" --cases "$CASES" --timeout "$TIMEOUT_S" --size-mib "$SIZE_MIB" \
        --out "$BENCH_DIR/transmission-${SIZE_MIB}MiB.json" || status=1
done
exit $status
