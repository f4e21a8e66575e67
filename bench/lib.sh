# Shared helpers for the bench scripts (sourced, not run). Expects ROOT (the
# repository) to be set.

# Sets BENCH_DIR (default bench/out) and WORK, a fresh folder in it named
# after the bench; on exit, stops the processes whose PIDs the bench added
# to PIDS (only those) and removes WORK.
bench_workdir() {
    BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out}
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}

# Fails with a hint unless every named command is on PATH.
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/test, which installs it" >&2; exit 1; }
    done
}

# Sets TRACKERD to the release binary (built now) unless the caller gave one.
release_trackerd() {
    if [[ -z "${TRACKERD:-}" ]]; then
        (cd "$ROOT" && cargo build --release --quiet -p trackerd)
        TRACKERD="${CARGO_TARGET_DIR:-$ROOT/target}/release/trackerd"
    fi
}

# The [announce] section that turns off the per-address caps: a benchmark
# announces every peer of every swarm from 127.0.0.1, which the caps would
# (rightly) refuse as one address diluting swarms.
uncapped_announce_toml() {
    printf '[announce]\nmax_torrents_per_address = 0\nmax_peers_per_address_per_torrent = 0\nmax_peers_per_address = 0\n'
}

# Starts opentracker (Debian's whitelist build) on a free port of 127.0.0.1,
# TCP and UDP, with the info-hashes of $WORK/hashes.txt whitelisted; sets
# OT_PORT and OT_PID (added to PIDS). As root it chroots into -d (WORK) and
# drops to nobody, who must be able to read the whitelist (-w is relative
# to -d).
start_opentracker() {
    OT_PORT=$(free_port)
    cp "$WORK/hashes.txt" "$WORK/whitelist"
    chmod 755 "$WORK"; chmod 644 "$WORK/whitelist"
    opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$WORK" -w whitelist > "$WORK/opentracker.log" 2>&1 &
    PIDS+=($!); OT_PID=$!
}

# A free TCP port on 127.0.0.1.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for something to listen on 127.0.0.1:$1.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2; exit 1
}

# User + system CPU of process $1, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
