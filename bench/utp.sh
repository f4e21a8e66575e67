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
/usr/bin/python3 - "$BENCH_DIR/utp.json" "$BENCH_DIR/transfer/logs" <<'PY'
import glob, json, os, re, sys
res = json.load(open(sys.argv[1]))["results"]
# A uTP figure is only one if the bytes went over uTP: read what the leechers reported.
for case in ("p2pdtcp", "p2pdutp"):
    seen = set()
    for log in glob.glob(os.path.join(sys.argv[2], f"*{case}*leech*")):
        seen |= set(re.findall(r'"transport":"(\w+)"', open(log, errors="replace").read()))
    print(f"{case} leecher's peers went over: {', '.join(sorted(seen)) or 'nothing seen'}")
tcp, utp, lt = (res[c].get("median_MB_s") for c in ("p2pdtcp", "p2pdutp", "ltutp"))
if tcp and utp and lt:
    print(f"p2pd utp/tcp: {utp / tcp:.2f} ({utp} against {tcp} MB/s)")
    print(f"p2pd utp / libtorrent utp: {utp / lt:.2f} ({utp} against {lt} MB/s)")
else:
    sys.exit("a case failed; see the table above")
PY
