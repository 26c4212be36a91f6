#!/usr/bin/env bash
# One run of the three-way comparison of instructions per relayed signal: Huddle, the bare
# reference relay, and (when `matchbox_server` is installed) matchbox_server, each at 100/s and
# 300/s through loadtest/callgrind-relay.sh. One signal's cost is the difference of the two
# totals divided by the 4,400 extra signals (200/s × 22 s); prints the table and the ratios to
# the reference.
# Needs: `cargo build --release -p huddle -p huddle-loadtest`, valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
servers=(huddle reference)
command -v matchbox_server >/dev/null && servers+=(matchbox)
declare -A per
for s in "${servers[@]}"; do
  lo=$(loadtest/callgrind-relay.sh "$s" 100 "cmp-$s-100" | sed -nE 's/.*at 100\/s: ([0-9]+) instructions.*/\1/p')
  hi=$(loadtest/callgrind-relay.sh "$s" 300 "cmp-$s-300" | sed -nE 's/.*at 300\/s: ([0-9]+) instructions.*/\1/p')
  per[$s]=$(( (hi - lo) / 4400 ))
  echo "$s: $lo at 100/s, $hi at 300/s: ${per[$s]} instructions per relayed signal"
done
ref=${per[reference]}
echo
echo "| server | instructions per relayed signal | × the reference |"
echo "|---|---|---|"
for s in "${servers[@]}"; do
  echo "| $s | ${per[$s]} | $(awk -v a="${per[$s]}" -v b="$ref" 'BEGIN { printf "%.2f", a / b }') |"
done
