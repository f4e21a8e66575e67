#!/usr/bin/env bash
# p2pgui's budgets (issue 15), measured with the release build; prints
# figures, asserts nothing:
# 1. start to list shown: p2pgui started (under Xvfb) on a running p2pd with
#    one torrent, from exec to the end of the first frame that lays out the
#    list (P2PGUI_REPORT_LIST_SHOWN), STARTS runs (budget < 1 s);
# 2. idle CPU: the window open on that p2pd (nothing transferring), user +
#    system time over IDLE_SECS, in % of one core (budget < 1 %);
# 3. resident memory with 1,000 torrents: the window on a fake daemon
#    (p2pgui/examples/fake_daemon.rs: the real control protocol over a real
#    Unix socket, p2p_proto::ipc types, a made-up list of TORRENTS), VmRSS and
#    VmHWM after SETTLE seconds (budget < 150 MiB);
# 4. frame time with 1,000 torrents: p2pgui/examples/frame_time.rs on the
#    same fake daemon (budget < 16 ms on the CPU renderer).
#
# Usage: bench/p2pgui.sh            (from anywhere)
# Knobs: STARTS (5), IDLE_SECS (60), TORRENTS (1000), SETTLE (5), BENCH_DIR.
# Needs Xvfb and Mesa's lavapipe (scripts/test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STARTS=${STARTS:-5}
IDLE_SECS=${IDLE_SECS:-60}
TORRENTS=${TORRENTS:-1000}
SETTLE=${SETTLE:-5}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_workdir p2pgui
need_tools Xvfb

cargo build --release --quiet -p p2pgui -p p2pd -p p2pctl \
    --bin p2pgui --bin p2pd --bin p2pctl --example fake_daemon --example frame_time
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
TICKS_PER_SEC=$(getconf CLK_TCK)

# A display of our own; p2pgui keeps its window state under this folder.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" 2>"$WORK/xvfb.log" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$WORK/display" ]] && break; sleep 0.1; done
[[ -s "$WORK/display" ]] || { echo "Xvfb did not start: $(cat "$WORK/xvfb.log")" >&2; exit 1; }
export DISPLAY=":$(cat "$WORK/display")"
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config"

wait_for_file() { # path, what
    for _ in $(seq 200); do [[ -e "$1" ]] && return 0; sleep 0.05; done
    echo "timed out waiting for $2" >&2; exit 1
}

# Starts p2pgui on socket $1 with its log in $2; sets GUI (its PID) and
# START_MS (ms from exec to the list shown). Not in $(...): the window would
# hold the substitution's pipe open.
start_gui() {
    local socket=$1 log=$2 t0
    t0=$(date +%s%3N)
    P2PGUI_REPORT_LIST_SHOWN=1 "$BIN/p2pgui" --socket "$socket" >/dev/null 2>"$log" &
    GUI=$!
    PIDS+=("$GUI")
    for _ in $(seq 600); do grep -q "list shown at" "$log" && break; sleep 0.05; done
    grep -q "list shown at" "$log" || { echo "p2pgui never showed the list: $(tail -5 "$log")" >&2; exit 1; }
    START_MS=$(($(grep -o 'list shown at [0-9]*' "$log" | grep -o '[0-9]*$') - t0))
}

stop_gui() { kill "$GUI" 2>/dev/null || true; wait "$GUI" 2>/dev/null || true; }

# A real p2pd with one torrent (a file in its watched folder).
mkdir -p "$WORK/d/shared"
head -c 4000000 /dev/urandom >"$WORK/d/shared/holiday.bin"
SOCK="$WORK/p2pd.sock"
"$BIN/p2pd" --home "$WORK/d" --socket "$SOCK" --listen-port 0 2>"$WORK/p2pd.log" &
PIDS+=($!)
wait_for_file "$SOCK" "p2pd's socket"
for _ in $(seq 200); do
    "$BIN/p2pctl" --socket "$SOCK" list 2>/dev/null | grep -q holiday.bin && break
    sleep 0.1
done

echo "== p2pgui budgets (release build, Xvfb, Mesa's CPU drivers; $(nproc) cores)"
starts=()
for i in $(seq "$STARTS"); do
    start_gui "$SOCK" "$WORK/gui-start-$i.log"
    starts+=("$START_MS")
    stop_gui
done
echo "start to list shown (real p2pd, ms, $STARTS runs): ${starts[*]}   (budget < 1000)"

start_gui "$SOCK" "$WORK/gui-idle.log"
sleep 3
t0=$(cpu_ticks "$GUI")
sleep "$IDLE_SECS"
t1=$(cpu_ticks "$GUI")
stop_gui
awk -v t=$((t1 - t0)) -v hz="$TICKS_PER_SEC" -v s="$IDLE_SECS" \
    'BEGIN { printf "idle CPU over %d s with the window open: %.2f %% of one core   (budget < 1 %%)\n", s, 100 * t / hz / s }'

FAKE="$WORK/fake.sock"
"$BIN/examples/fake_daemon" "$FAKE" "$TORRENTS" 2>"$WORK/fake.log" &
PIDS+=($!)
wait_for_file "$FAKE" "the fake daemon's socket"
start_gui "$FAKE" "$WORK/gui-rss.log"
echo "start to list shown ($TORRENTS torrents, fake daemon): $START_MS ms"
sleep "$SETTLE"
awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MiB  ", $1, $2 / 1024 } END { print "  ('"$TORRENTS"' torrents; budget < 150 MiB)" }' "/proc/$GUI/status"
stop_gui

"$BIN/examples/frame_time" "$FAKE"
