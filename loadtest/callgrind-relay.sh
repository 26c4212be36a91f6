#!/usr/bin/env bash
# Counts the instructions a signaling server executes while relaying signals, with
# `valgrind --tool=callgrind`: a measure that does not depend on what else the machine is doing.
# Usage: loadtest/callgrind-relay.sh huddle|matchbox|reference RATE NAME
#   Runs the server under callgrind, drives `relay --pairs 50` at RATE signals/s for 2 + 20 s,
#   dumps the count and prints its total. Run two rates (e.g. 100 and 300) for each server: the
#   difference of the totals divided by (difference of rates × 22 s) is the cost of one signal
#   (see BENCHMARKS.md, "Instructions per relayed signal").
# Needs: the release build (`cargo build --release -p huddle -p huddle-loadtest`), valgrind, and
# for the comparison `cargo install matchbox_server --version 0.15.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: $0 huddle|matchbox|reference RATE NAME" >&2; exit 2; }
which=$1 rate=$2 name=$3
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huddle-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${TMPDIR:-/tmp}/callgrind-$name"
export HUDDLE_JWT_SECRET="${HUDDLE_JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

case "$which" in
  huddle)
    HUDDLE_MEDIA_MODE=mesh HUDDLE_SIGNAL_RATE=1000000 HUDDLE_SIGNAL_BURST=1000000 HUDDLE_MAX_CONNECTIONS_PER_IP=100000 HUDDLE_WAIT_FOR_HOST=false HUDDLE_MAX_PENDING_HELLOS_PER_IP=100000 \
      HUDDLE_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT.out" \
      "$BIN/huddle" serve --listen 127.0.0.1:18080 >"$OUT.log" 2>&1 &
    URL=ws://127.0.0.1:18080/v1/ws PORT=18080 ;;
  matchbox)
    # Per-message INFO logs would be counted against matchbox: keep both servers quiet.
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT.out" \
      matchbox_server >"$OUT.log" 2>&1 &
    URL=ws://127.0.0.1:3536 PORT=3536 ;;
  reference)
    # The floor: our own bare relay (loadtest/src/bin/reference_relay.rs), matchbox's protocol.
    valgrind --tool=callgrind --callgrind-out-file="$OUT.out" \
      "$BIN/reference-relay" 127.0.0.1:3537 >"$OUT.log" 2>&1 &
    URL=ws://127.0.0.1:3537 PORT=3537 ;;
  *) echo "huddle, matchbox or reference" >&2; exit 2 ;;
esac
SERVER=$!
# Under valgrind a server takes seconds to start listening.
for _ in $(seq 300); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done

proto=$which
[ "$which" = reference ] && proto=matchbox
"$BIN/huddle-loadtest" --protocol "$proto" --url "$URL" --json "$OUT.json" \
  relay --pairs 50 --rate "$rate" --warmup-secs 2 --duration-secs 20 | grep -E "sent rate|achieved|lost"

# Dump the counts now (matchbox does not exit cleanly on a signal), then stop the server.
callgrind_control -d "$SERVER" >/dev/null 2>&1 || true
sleep 1
kill -9 "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
dump=$(ls -t "$OUT".out* | head -1)
echo "$which at $rate/s: $(grep -E '^summary' "$dump" | cut -d' ' -f2) instructions ($dump)"
