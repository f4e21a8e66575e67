# Shared by bench/transfer.sh and bench/latency.sh (sourced, not run): installs the
# missing tools, builds engine-harness (and latency-relay with NEED_RELAY=1) unless
# HARNESS / RELAY are given, writes bench/out/data-<SIZE_MIB>MiB.bin and makes its
# torrent. Expects SCRIPT_DIR, REPO_ROOT, SIZE_MIB, BENCH_DIR, and WORK_NAME (the
# folder under BENCH_DIR); sets WORK, DATA, TORRENT, TRACKER_PORT, INFO_HASH, NAME,
# SHA1, HARNESS, RELAY.

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools -------------------------------------------------------------------
need=()
[ -x /usr/bin/time ] || need+=(time)
command -v mktorrent >/dev/null || need+=(mktorrent)
command -v aria2c >/dev/null || need+=(aria2)
command -v opentracker >/dev/null || need+=(opentracker)
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || need+=(python3-libtorrent)
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
        die "missing ${need[*]} and not root (no sudo)"; fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${HARNESS:-}" ]; then
    HARNESS=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/engine-harness
    log "building engine-harness (release) ..."
    (cd "$REPO_ROOT" && cargo build --release -q -p p2p-tests --bin engine-harness) >&2
fi
[ -x "$HARNESS" ] || die "no engine-harness at $HARNESS (CARGO_TARGET_DIR set? pass HARNESS=)"
RELAY=${RELAY:-}
if [ "${NEED_RELAY:-0}" = 1 ] && [ -z "$RELAY" ]; then
    RELAY=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/latency-relay
    log "building latency-relay (release) ..."
    (cd "$REPO_ROOT" && cargo build --release -q -p p2p-tests --bin latency-relay) >&2
fi
[ "${NEED_RELAY:-0}" != 1 ] || [ -x "$RELAY" ] || die "no latency-relay at $RELAY (pass RELAY=)"

# --- test data and torrent ---------------------------------------------------
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
WORK="$BENCH_DIR/$WORK_NAME"
mkdir -p "$WORK"
DATA="$BENCH_DIR/data-${SIZE_MIB}MiB.bin"   # same file as create_torrent.sh uses
want=$((SIZE_MIB * 1024 * 1024))
if [ ! -f "$DATA" ] || [ "$(stat -c %s "$DATA")" -ne "$want" ]; then
    log "writing $SIZE_MIB MiB of pseudo-random data to $DATA ..."
    head -c "$want" /dev/urandom > "$DATA.tmp"
    mv "$DATA.tmp" "$DATA"
fi
# Leftovers of an earlier run (seed folders hold hard links to the data file).
rm -rf "$WORK/seed" "$WORK/dl" "$WORK/logs" "$WORK/ot"

# The announce URL only matters to aria2 (the others are given their peers); its port is
# chosen now and opentracker is started on it for every aria2 run.
TRACKER_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TORRENT="$WORK/data-${SIZE_MIB}MiB.torrent"
rm -f "$TORRENT"
log "making the torrent (mktorrent -l 18: 256 KiB pieces, announce 127.0.0.1:$TRACKER_PORT) ..."
mktorrent -l 18 -a "http://127.0.0.1:$TRACKER_PORT/announce" -o "$TORRENT" "$DATA" >/dev/null
read -r INFO_HASH NAME < <(/usr/bin/python3 -c '
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1]); print(str(ti.info_hash()), ti.name())' "$TORRENT")
log "info-hash $INFO_HASH, name $NAME"
log "SHA-1 of the source file ..."
SHA1=$(/usr/bin/python3 -c '
import hashlib, sys
h = hashlib.sha1()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
print(h.hexdigest())' "$DATA")

log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
keep=()
if [ "${KEEP:-0}" = 1 ]; then keep=(--keep); fi
