#!/usr/bin/env bash
# Runs every benchmark of loadtest/BENCHMARKS.md on this machine (loopback only) and writes the
# JSON reports and SVG plots to loadtest/results/. Usage: loadtest/bench.sh [scenario...]
# Scenarios: breakouts idle relay sweep matchbox chat webrtc sfu sfu-churn (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huddle-target}"
cargo build --release -q -p huddle -p huddle-loadtest
BIN="$CARGO_TARGET_DIR/release"
OUT=loadtest/results
mkdir -p "$OUT"
export HUDDLE_JWT_SECRET="${HUDDLE_JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
LT="$BIN/huddle-loadtest"
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(breakouts idle relay sweep matchbox chat webrtc sfu sfu-churn)

start_hub() {
  # Signaling scenarios relay `signal`, which only a mesh hub does; `sfu` scenarios set sfu.
  HUDDLE_MEDIA_MODE="${MEDIA_MODE:-mesh}" HUDDLE_SIGNAL_RATE=1000000 HUDDLE_SIGNAL_BURST=1000000 HUDDLE_MAX_CONNECTIONS_PER_IP=100000 \
  HUDDLE_MAX_MEETING_MEMBERS=5000 HUDDLE_WAIT_FOR_HOST=false HUDDLE_MAX_PENDING_HELLOS_PER_IP=100000 HUDDLE_LOG=warn "$BIN/huddle" serve --listen 127.0.0.1:18080 &
  HUB=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && return; sleep 0.1; done
  echo "hub did not start" >&2; exit 1
}
stop_hub() { kill "$HUB" 2>/dev/null || true; wait "$HUB" 2>/dev/null || true; }
trap stop_hub EXIT
URL=ws://127.0.0.1:18080/v1/ws

for s in "${scenarios[@]}"; do
  case "$s" in
    sfu)
      # The hub on core 0, the synthetic participants (15 real WebRTC peers decrypting
      # ~20,000 packets/s between them) on whatever is free.
      MEDIA_MODE=sfu start_hub
      taskset -pc 0 "$HUB" >/dev/null
      "$LT" --url $URL --hub-pid $HUB --json $OUT/sfu-15.json --plot $OUT/sfu-15.svg \
        sfu --rooms 1 --size 15 --secs 20
      "$LT" --url $URL --hub-pid $HUB --json $OUT/sfu-15-steady.json \
        sfu --rooms 1 --size 15 --secs 20 --reroute-secs 0
      stop_hub ;;
    sfu-churn)
      MEDIA_MODE=sfu start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/sfu-churn.json \
        sfu-churn --cycles 6500 --warmup 5500 --concurrency 10
      stop_hub ;;
    breakouts)
      start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/breakouts.json --plot $OUT/breakouts.svg \
        breakouts --participants 1000 --room-size 4 --rounds 5
      stop_hub ;;
    idle)
      start_hub   # a fresh hub, so RSS before/after measures these connections only
      "$LT" --url $URL --hub-pid $HUB --json $OUT/idle.json --plot $OUT/idle.svg \
        idle --participants 10000 --meeting-size 10
      stop_hub ;;
    relay)
      start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/relay-10k.json --plot $OUT/relay-10k.svg \
        relay --pairs 100 --rate 10000 --duration-secs 10
      stop_hub ;;
    sweep)
      start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/relay-sweep.json --plot $OUT/relay-sweep.svg \
        relay --pairs 100 --duration-secs 5 --p99-limit-ms 50 \
        --sweep 10000,50000,100000,200000,300000,400000,500000,600000,800000
      stop_hub ;;
    matchbox)
      command -v matchbox_server >/dev/null || { echo "matchbox_server missing: cargo install matchbox_server" >&2; exit 1; }
      matchbox_server >/dev/null 2>&1 &
      MB=$!
      sleep 1
      "$LT" --protocol matchbox --url ws://127.0.0.1:3536 --hub-pid $MB --json $OUT/matchbox-relay-10k.json \
        relay --pairs 100 --rate 10000 --duration-secs 10
      "$LT" --protocol matchbox --url ws://127.0.0.1:3536 --hub-pid $MB --json $OUT/matchbox-sweep.json \
        --plot $OUT/matchbox-sweep.svg relay --pairs 100 --duration-secs 5 --p99-limit-ms 50 \
        --sweep 10000,50000,100000,200000,300000,400000,500000,600000,800000
      kill $MB; wait $MB 2>/dev/null || true
      matchbox_server >/dev/null 2>&1 &
      MB=$!
      sleep 1
      "$LT" --protocol matchbox --url ws://127.0.0.1:3536 --hub-pid $MB --json $OUT/matchbox-idle.json \
        idle --participants 10000 --meeting-size 10
      kill $MB; wait $MB 2>/dev/null || true ;;
    chat)
      start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/chat.json --plot $OUT/chat.svg \
        chat --meetings 1800 --size 10 --interval-secs 10 --duration-secs 30
      stop_hub ;;
    webrtc)
      start_hub
      "$LT" --url $URL --hub-pid $HUB --json $OUT/webrtc.json --plot $OUT/webrtc.svg webrtc --pairs 200
      stop_hub ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
