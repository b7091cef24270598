#!/usr/bin/env bash
# What the decision explorer costs the engine: two release servers side by
# side on loopback, default configuration, one with the explorer (its index
# follows the decision feed and reads each decision's record back) and one
# with --no-explorer; allotctl load, closed loop, 8 in flight over 2 HTTP/2
# connections, 10 s per run, for allocate (5 lines with a buyer: the one
# call) and score, the two servers one after the other, in
# ALLOT_BENCH_ROUNDS rounds (default 2) with the order swapped each round.
# Needs a release build (cargo build --release -p allot-server -p allot-client).
# One JSON line per run, prefixed with the server, the RPC and the round.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=${ALLOT_BIN_DIR:-target/release}
rounds=${ALLOT_BENCH_ROUNDS:-2}
data=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
start() { # name, port, extra flags...
  local name=$1 port=$2
  shift 2
  "$bin/allot" serve --listen "127.0.0.1:$port" --no-metrics --decisions-dir "$data/$name" \
    "$@" >"$data/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    "$bin/allotctl" --endpoint "http://127.0.0.1:$port" health >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "explorer-cost: the $name server did not start" >&2
  exit 1
}
start explorer 50191 --explorer-listen 127.0.0.1:0
start none 50192 --no-explorer
run() { # name, port, round, rpc
  echo "$1 $4 round$3 $("$bin/allotctl" --endpoint "http://127.0.0.1:$2" load --rpc "$4" \
    --lines 5 --concurrency 8 --connections 2 --duration 10s --quiet --json | tail -1)"
}
for round in $(seq 1 "$rounds"); do
  for rpc in allocate score; do
    if [ $((round % 2)) = 1 ]; then
      run explorer 50191 "$round" "$rpc"
      run none 50192 "$round" "$rpc"
    else
      run none 50192 "$round" "$rpc"
      run explorer 50191 "$round" "$rpc"
    fi
  done
done
