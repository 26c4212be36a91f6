#!/usr/bin/env bash
# Cluster mode at scale on one machine (#16): one Redis, NODES hub nodes, and one load generator
# per node holding PER_NODE authenticated idle participants in meetings of 10 of its own (the
# per-process open-file limit here is 20,000, so neither a hub nor a generator can hold more than
# ~18,000 sockets). Every generator holds its people long enough for all of them to be connected
# at once; the script prints each node's joins and RSS per participant and the totals.
# Usage: loadtest/cluster-idle.sh [NODES] [PER_NODE]      (default 4 × 15000)
# Needs: cargo build --release -p huddle -p huddle-loadtest; redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-4} PER_NODE=${2:-15000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/huddle-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT=${TMPDIR:-/tmp}/cluster-idle
mkdir -p "$OUT"
export HUDDLE_JWT_SECRET="${HUDDLE_JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
REDIS_PORT=16390
pids=()
hubs=()
# The hubs first (SIGTERM: each drains, writing its meetings' records), Redis once they are gone.
cleanup() {
  for p in "${hubs[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${hubs[@]}"; do wait "$p" 2>/dev/null || true; done
  kill "${pids[0]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no --logfile "$OUT/redis.log" &
pids+=($!)
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$REDIS_PORT) 2>/dev/null && break; sleep 0.1; done
for i in $(seq 1 "$NODES"); do
  port=$((18080 + i))
  HUDDLE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT HUDDLE_NODE_ID=n$i HUDDLE_CLUSTER_SECRET=cluster-benchmark-secret \
  HUDDLE_MEDIA_MODE=mesh HUDDLE_MAX_CONNECTIONS=19000 HUDDLE_MAX_CONNECTIONS_PER_IP=100000 \
  HUDDLE_MAX_PENDING_HELLOS_PER_IP=100000 HUDDLE_WAIT_FOR_HOST=false HUDDLE_LOG=${HUDDLE_LOG:-warn} \
    "$BIN/huddle" serve --listen 127.0.0.1:$port &
  pids+=($!); hubs+=($!)
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$((18080 + i))/readyz >/dev/null && break; sleep 0.1; done
done
hold=$((PER_NODE / 600 + 20))
gens=()
for i in $(seq 1 "$NODES"); do
  "$BIN/huddle-loadtest" --url ws://127.0.0.1:$((18080 + i))/v1/ws --hub-pid "${hubs[$((i - 1))]}" \
    --json "$OUT/node$i.json" idle --participants "$PER_NODE" --meeting-size 10 \
    --meeting-prefix "n$i" --hold-secs "$hold" > "$OUT/node$i.txt" 2>&1 &
  gens+=($!)
done
# Everyone is connected once every generator has joined its people: sample the hubs then.
sleep $((hold / 2 + PER_NODE / 1500))
total_kib=0
for p in "${hubs[@]}"; do total_kib=$((total_kib + $(awk '/VmRSS/ {print $2}' /proc/$p/status))); done
held=$(ss -Htn state established "( sport >= :18081 and sport <= :$((18080 + NODES)) )" | wc -l)
for g in "${gens[@]}"; do wait "$g" || echo "a generator failed (see $OUT)"; done
for i in $(seq 1 "$NODES"); do echo "node $i:"; grep -E "joined|joins per|per connection|join \(|huddle-loadtest:" "$OUT/node$i.txt" || true; done
echo "sockets held by the hubs at the sample: $held"
echo "total hub RSS at the sample: $((total_kib / 1024)) MiB for $((NODES * PER_NODE)) participants = $(awk -v k=$total_kib -v n=$((NODES * PER_NODE)) 'BEGIN { printf "%.1f", k / n }') KiB each (including each hub's baseline)"
