#!/usr/bin/env bash
# Message Stream Encryption cost: p2pd -> p2pd over 127.0.0.1 in plaintext
# (`encryption = disable` on both) and RC4 (`require` on both), interleaved
# in the same run through transfer.sh, then the RC4/plaintext ratio of the
# median rates. Goal: RC4 at 80 % of plaintext or better.
#
# Knobs: those of transfer.sh, with SIZE_MIB defaulting to 256 and RUNS to 3.
# Output: transfer.sh's table, then one line `rc4/plaintext: R`; the JSON is
# $BENCH_DIR/mse.json.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
export SIZE_MIB=${SIZE_MIB:-256}
export RUNS=${RUNS:-3}
export CASES=p2pdplain,p2pdrc4
export BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}

"$SCRIPT_DIR/transfer.sh"
cp "$BENCH_DIR/transfer.json" "$BENCH_DIR/mse.json"
/usr/bin/python3 - "$BENCH_DIR/mse.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
plain, rc4 = (res[c].get("median_MB_s") for c in ("p2pdplain", "p2pdrc4"))
if plain and rc4:
    print(f"rc4/plaintext: {rc4 / plain:.2f} ({rc4} against {plain} MB/s)")
else:
    sys.exit("a case failed; see the table above")
PY
