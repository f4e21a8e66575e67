#!/usr/bin/env bash
# uTP (BEP 29) against TCP: p2pd -> p2pd over 127.0.0.1 on TCP only (`--utp off`) and
# dialling uTP first (`--utp prefer`), and libtorrent -> libtorrent with TCP off, interleaved
# in the same run through transfer.sh; then the ratios of the median rates. Goals: p2pd's
# uTP at 50 % of its TCP or better, and faster than libtorrent's uTP.
#
# Knobs: those of transfer.sh (SIZE_MIB defaults to 1024 there, RUNS to 3).
# Output: transfer.sh's table, the transport each p2pd leecher's peers used, then the
# ratios; the JSON is $BENCH_DIR/utp.json.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
export CASES=p2pdtcp,p2pdutp,ltutp
export BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}

"$SCRIPT_DIR/transfer.sh"
cp "$BENCH_DIR/transfer.json" "$BENCH_DIR/utp.json"
/usr/bin/python3 - "$BENCH_DIR/utp.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
res = doc["results"]
# A uTP figure is only one if the bytes went over uTP: what the leechers reported.
for case, want in (("p2pdtcp", ["tcp"]), ("p2pdutp", ["utp"])):
    seen = [r.get("transports") for r in doc["rows"] if r["case"] == case]
    print(f"{case}: first bytes over {seen}")
    if any(s != want for s in seen):
        sys.exit(f"{case} did not run over {want[0]} alone")
    bad = [r.get("p2pd_done_status", {}).get("hash_failures") for r in doc["rows"] if r["case"] == case]
    if any(bad):
        sys.exit(f"{case}: pieces failed their hash check: {bad}")
tcp, utp, lt = (res[c].get("median_MB_s") for c in ("p2pdtcp", "p2pdutp", "ltutp"))
if tcp and utp and lt:
    print(f"p2pd utp/tcp: {utp / tcp:.2f} ({utp} against {tcp} MB/s)")
    print(f"p2pd utp / libtorrent utp: {utp / lt:.2f} ({utp} against {lt} MB/s)")
else:
    sys.exit("a case failed; see the table above")
PY
