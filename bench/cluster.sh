#!/usr/bin/env bash
# Announce throughput of two trackerd instances on one PostgreSQL behind
# HAProxy against one trackerd on SQLite, in the same run (issue 16; the
# issue's goal: the pair serves at least 1.5x one SQLite instance). wrk
# (bench/announce.lua: random peers over HASHES torrents, keep-alive) runs
# DURATION s against each setup, ROUNDS rounds interleaved; the medians and
# cluster / sqlite are printed. Both setups get the same [announce] caps
# off (bench/lib.sh). On one machine the two instances, HAProxy, PostgreSQL
# and wrk share its cores: the ratio says what the cluster costs there,
# not what two machines would give.
#
#
# INSTANCE_CPUS caps each trackerd process (the SQLite one and each of the
# pair) at that many CPUs with a cgroup v1 CPU quota, standing in for
# machines of equal size: the pair then has twice the CPU of the single
# instance, as two machines would, while wrk, HAProxy and PostgreSQL run
# uncapped beside them (needs root and /sys/fs/cgroup/cpu). Each trackerd
# starts inside its cgroup, so it sizes its runtime to its quota as it
# would on a machine that size (tokio takes std's available_parallelism,
# which reads the quota: one worker thread below one CPU).
#
# A quota is not a slower machine: a capped trackerd runs at full speed
# until its quota for the period (PERIOD_US, 100 ms) is spent, then waits
# out the rest of the period (90 ms at 0.1 CPU). Two settings keep that
# from deciding the comparison (bench/README.md, cluster.sh, has the
# figures):
# - HAProxy balances with leastconn (BALANCE). With roundrobin, wrk's
#   closed loop piles its connections onto whichever instance is waiting
#   out its period (every other request goes there and stays there), so
#   the other one answers a request at a time and spends its quota on
#   wake-ups; leastconn sends the next request to the instance that is
#   answering. It is also what a deployment whose instances can stall
#   (CPU limits of containers are this same quota) should use.
# - 128 connections (CONNECTIONS): behind HAProxy a request takes two
#   more hops, and 16 requests in flight per instance of a pair (32
#   connections) do not keep it busy through them during its full-speed
#   slice; 64 each do. The single instance serves the same at 32, 64 and
#   128 connections.
#
# Runs itself inside scripts/with-postgres when no P2P_TEST_PG_URL is set.
# Usage: bench/cluster.sh
# Knobs: ROUNDS (3), DURATION (s, 8), CONNECTIONS (128), THREADS (2),
#        HASHES (1000), INSTANCE_CPUS (none: uncapped; e.g. 0.3),
#        PERIOD_US (the quota's period, 100000; at least 1000 / INSTANCE_CPUS),
#        BALANCE (HAProxy's balance algorithm, leastconn),
#        SEPARATE (set: also two instances sharing nothing, each on its own
#        SQLite, behind the same HAProxy: the ceiling of the pair),
#        SEPARATE_PG (set: also two on PostgreSQL in separate schemas, which
#        write their changes but apply none of the other's),
#        DIRECT (set: also two separate SQLite instances and two on one
#        PostgreSQL without HAProxy, each driven by its own wrk of half the
#        connections: two machines with a load generator each),
#        ONE_PROXIED (set: also the single instance behind HAProxy),
#        PROBE (set: print, per setup, the CPU each process used, each
#        cgroup's throttled periods, PostgreSQL's CPU, the connections the
#        machine accepted and how busy its CPUs were),
#        SHARE_INTERVAL_MS (store.swarm_share_interval_ms; default trackerd's),
#        TRACKERD (binary; default builds the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [[ -z "${P2P_TEST_PG_URL:-}" ]]; then
    exec scripts/with-postgres "$0" "$@"
fi
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-128}
THREADS=${THREADS:-2}
HASHES=${HASHES:-1000}
INSTANCE_CPUS=${INSTANCE_CPUS:-}
SEPARATE=${SEPARATE:-}
SEPARATE_PG=${SEPARATE_PG:-}
SHARE_INTERVAL_MS=${SHARE_INTERVAL_MS:-}
PROBE=${PROBE:-}
DIRECT=${DIRECT:-}
BALANCE=${BALANCE:-leastconn}
ONE_PROXIED=${ONE_PROXIED:-}
PERIOD_US=${PERIOD_US:-100000}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir cluster
need_tools wrk haproxy
release_trackerd
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql"

od -An -tx1 -N $((20 * HASHES)) /dev/urandom | tr -d ' \n' | fold -w40 >"$WORK/hashes.txt"
echo >>"$WORK/hashes.txt"
{
    uncapped_announce_toml
    echo 'trusted_proxies = ["127.0.0.1"]'
    [[ -z "$SHARE_INTERVAL_MS" ]] || printf '[store]\nswarm_share_interval_ms = %s\n' "$SHARE_INTERVAL_MS"
} >"$WORK/trackerd.toml"

# Starts a trackerd on database $1 (empty: SQLite in its folder), in a CPU
# cgroup of its own when INSTANCE_CPUS is set; sets PORT. (Not in a $(...)
# subshell: the PID must reach STARTED and PIDS here.)
start_trackerd() {
    local dir group=""
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    PORT=$(free_port)
    local args=(--config "$WORK/trackerd.toml" --listen "127.0.0.1:$PORT" --data-dir "$dir")
    [[ -n "$1" ]] && args+=(--database "$1")
    if [[ -n "$INSTANCE_CPUS" ]]; then
        group=/sys/fs/cgroup/cpu/p2p-bench-$$-$PORT
        mkdir "$group"
        GROUPS_MADE+=("$group")
        echo "$PERIOD_US" >"$group/cpu.cfs_period_us"
        awk -v c="$INSTANCE_CPUS" -v p="$PERIOD_US" 'BEGIN { printf "%d\n", c * p }' >"$group/cpu.cfs_quota_us"
    fi
    # Joins the group, then execs trackerd (same PID) inside it.
    RUST_LOG=warn bash -c '[[ -z "$1" ]] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' \
        _ "$group" "$TRACKERD" "${args[@]}" >"$dir/log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    STARTED+=("$pid")
    wait_port "$PORT"
}

stop_started() {
    local pid group
    for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    STARTED=()
    for group in "${GROUPS_MADE[@]}"; do rmdir "$group" 2>/dev/null || true; done
    GROUPS_MADE=()
}
trap 'stop_started; bench_cleanup' EXIT

# Machine-wide busy and total jiffies, from /proc/stat.
machine_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# Snapshot of what PROBE reports: each started process's CPU ticks, each
# group's throttling counters, the machine's jiffies.
probe_snapshot() {
    local pid group
    for pid in "${STARTED[@]}"; do echo "pid $pid $(cat "/proc/$pid/comm") $(cpu_ticks "$pid")"; done
    for group in "${GROUPS_MADE[@]}"; do
        echo "group ${group##*-} $(awk '{printf "%s ", $2}' "$group/cpu.stat")"
    done
    # PostgreSQL: the postmaster with-postgres started (our parent's other
    # child) and its backends, live and exited.
    local pm="" t
    for pid in $(cat "/proc/$PPID/task/"*/children 2>/dev/null); do
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]] && pm=$pid && break
    done
    if [[ -n "$pm" ]]; then
        t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
        for pid in $(cat "/proc/$pm/task/"*/children 2>/dev/null); do
            t=$((t + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
        done
        echo "postgres pg $t"
    fi
    echo "tcp opens $(awk '/^Tcp:/ && $7 ~ /^[0-9]+$/ {print $7}' /proc/net/snmp)"
    echo "machine $(machine_jiffies)"
}

# Prints (stderr) what each process used between two snapshots $1 and $2.
probe_report() {
    awk -v d="$DURATION" -v n="$(nproc --all)" '
        { k = $1 == "machine" ? $1 : $1 " " $2 }
        FNR == NR { a[k] = $0; next }
        { split(a[k], o, " ") }
        $1 == "pid" { printf "  %s %d: %.2f CPU", $3, $2, ($4 - o[4]) / 100 / d }
        $1 == "group" { printf "  [periods %d throttled %d, %.1f s]", $3 - o[3], $4 - o[4], ($5 - o[5]) / 1e9 }
        $1 == "postgres" { printf "  postgres: %.2f CPU", ($3 - o[3]) / 100 / d }
        $1 == "tcp" { printf "  TCP connections accepted (machine): %d", $3 - o[3] }
        $1 == "machine" { printf "  machine busy %.2f of %d CPUs\n", n * ($2 - o[2]) / ($3 - o[3]), n }
    ' "$1" "$2" >&2
}

rate() { # URL
    local id=$BASHPID
    [[ -z "$PROBE" ]] || probe_snapshot >"$WORK/probe.$id.before"
    # bash's time keyword: wrk's user and system CPU seconds.
    local TIMEFORMAT='%U %S'
    { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/announce.lua" "$1" -- \
        "$WORK/hashes.txt" >"$WORK/wrk.$id.out"; } 2>"$WORK/wrk.$id.time"
    if [[ -n "$PROBE" ]]; then
        probe_snapshot >"$WORK/probe.$id.after"
        awk -v d="$DURATION" -v n="$(nproc --all)" '{printf "  wrk: %.2f CPU", ($1 + $2) / d}' "$WORK/wrk.$id.time" >&2
        probe_report "$WORK/probe.$id.before" "$WORK/probe.$id.after"
    fi
    awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.$id.out"
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# Starts HAProxy in front of the ports given; sets FRONT.
start_haproxy() {
    FRONT=$(free_port)
    cat >"$WORK/haproxy.cfg" <<CFG
global
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option forwardfor
    option http-keep-alive
frontend tracker
    bind 127.0.0.1:$FRONT
    default_backend trackerd
backend trackerd
    balance $BALANCE
CFG
    local port
    for port in "$@"; do echo "    server s$port 127.0.0.1:$port" >>"$WORK/haproxy.cfg"; done
    haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
    PIDS+=("$!")
    STARTED+=("$!")
    wait_port "$FRONT"
}

# Two instances on databases $1 and $2 (empty: each its own SQLite) behind
# HAProxy, measured; sets PAIR_RATE. (Not in a $(...) subshell either.)
pair_rate() {
    start_trackerd "$1"
    local first=$PORT
    start_trackerd "$2"
    start_haproxy "$first" "$PORT"
    PAIR_RATE=$(rate "http://127.0.0.1:$FRONT")
    stop_started
}

# Two instances on databases $1 and $2 (empty: each its own SQLite), each
# with its own wrk of half the connections, no proxy: what two machines
# serve with a load generator each. Sets DIRECT_RATE.
direct_rate() {
    start_trackerd "$1"
    local first=$PORT
    start_trackerd "$2"
    local c=$CONNECTIONS
    CONNECTIONS=$((c / 2))
    rate "http://127.0.0.1:$first" >"$WORK/direct.a" &
    local a=$!
    rate "http://127.0.0.1:$PORT" >"$WORK/direct.b"
    wait "$a"
    CONNECTIONS=$c
    DIRECT_RATE=$(cat "$WORK/direct.a" "$WORK/direct.b" | awk '{s += $1} END {print s}')
    stop_started
}

sqlite=() cluster=() separate=() separate_pg=() proxied=() direct=() direct_pg=()
STARTED=() GROUPS_MADE=()
for round in $(seq "$ROUNDS"); do
    start_trackerd ""
    sqlite+=("$(rate "http://127.0.0.1:$PORT")")
    stop_started
    if [[ -n "$ONE_PROXIED" ]]; then
        start_trackerd ""
        start_haproxy "$PORT"
        proxied+=("$(rate "http://127.0.0.1:$FRONT")")
        stop_started
    fi

    # A fresh schema per round, so each round starts with empty swarms.
    schema="bench_$round"
    "$PSQL" "$P2P_TEST_PG_URL" -qc "CREATE SCHEMA $schema"
    db="$P2P_TEST_PG_URL?options=-c%20search_path%3D$schema"
    pair_rate "$db" "$db"
    cluster+=("$PAIR_RATE")
    line="round $round: sqlite ${sqlite[-1]}/s,${ONE_PROXIED:+ one sqlite behind haproxy ${proxied[-1]}/s,} two on postgres behind haproxy ${cluster[-1]}/s"

    if [[ -n "$SEPARATE" ]]; then
        # The ceiling: two instances sharing nothing (each its own SQLite).
        pair_rate "" ""
        separate+=("$PAIR_RATE")
        line+=", two separate on sqlite behind haproxy ${separate[-1]}/s"
    fi
    if [[ -n "$DIRECT" ]]; then
        direct_rate "" ""
        direct+=("$DIRECT_RATE")
        "$PSQL" "$P2P_TEST_PG_URL" -qc "CREATE SCHEMA ${schema}_direct"
        direct_rate "${db}_direct" "${db}_direct"
        direct_pg+=("$DIRECT_RATE")
        line+=", two separate on sqlite, a wrk each, no proxy ${direct[-1]}/s, two on postgres, a wrk each, no proxy ${direct_pg[-1]}/s"
    fi
    if [[ -n "$SEPARATE_PG" ]]; then
        # Each of the pair on its own schema: it writes its batches as
        # the pair does, but reads and applies no other instance's.
        for half in a b; do
            "$PSQL" "$P2P_TEST_PG_URL" -qc "CREATE SCHEMA ${schema}_$half"
        done
        pair_rate "${db}_a" "${db}_b"
        separate_pg+=("$PAIR_RATE")
        line+=", two on postgres in separate schemas behind haproxy ${separate_pg[-1]}/s"
    fi
    echo "$line, pair / one $(echo "scale=2; ${cluster[-1]} / ${sqlite[-1]}" | bc)"
done
s=$(printf '%s\n' "${sqlite[@]}" | median)
c=$(printf '%s\n' "${cluster[@]}" | median)
echo "median announces/s: one sqlite $s, two postgres behind haproxy $c, cluster / sqlite $(echo "scale=2; $c / $s" | bc)${INSTANCE_CPUS:+ (each trackerd capped at $INSTANCE_CPUS CPUs)}"
if [[ -n "$SEPARATE" ]]; then
    p=$(printf '%s\n' "${separate[@]}" | median)
    echo "two separate on sqlite behind haproxy $p: separate / sqlite $(echo "scale=2; $p / $s" | bc), cluster / separate $(echo "scale=2; $c / $p" | bc)"
fi
if [[ -n "$SEPARATE_PG" ]]; then
    q=$(printf '%s\n' "${separate_pg[@]}" | median)
    echo "two on postgres in separate schemas behind haproxy $q: / sqlite $(echo "scale=2; $q / $s" | bc), cluster / these $(echo "scale=2; $c / $q" | bc)"
fi
if [[ -n "$DIRECT" ]]; then
    d=$(printf '%s\n' "${direct[@]}" | median)
    e=$(printf '%s\n' "${direct_pg[@]}" | median)
    echo "no proxy, a wrk each: two separate on sqlite $d (/ sqlite $(echo "scale=2; $d / $s" | bc)), two on postgres $e (/ sqlite $(echo "scale=2; $e / $s" | bc))"
fi
if [[ -n "$ONE_PROXIED" ]]; then
    o=$(printf '%s\n' "${proxied[@]}" | median)
    echo "one sqlite behind haproxy $o: / sqlite direct $(echo "scale=2; $o / $s" | bc), cluster / it $(echo "scale=2; $c / $o" | bc)"
fi
