#!/usr/bin/env bash
# The end-to-end benchmark of benches/RESULTS.md, in one run with the same
# client settings for every RPC: a release server on loopback with its
# default configuration (decision log on, durability immediate), then, for
# each number of requests in flight in ALLOT_BENCH_INFLIGHT (default "8 64"),
# always over 2 HTTP/2 connections:
#   1. allotctl load, closed loop, 10 s each: health (the empty-RPC
#      baseline), promise (3-line carts), score, allocate (5 lines, the one
#      call: fraud + ETA lateness) and allocate --plain (no buyer, no promise);
#   2. the same requests from h2load (benches/e2e/h2load.sh), an
#      independent HTTP/2 client whose own cost is far lower;
# and finally
#   3. overload: allocate open loop at 3x the rate measured at the first
#      level, for 5 s, then closed loop again with no warmup (recovery).
# Needs a release build (cargo build --release -p allot-server -p allot-client)
# and h2load (apt-get install -y nghttp2-client). ALLOT_BIN_DIR (default
# target/release) picks the build, so two builds can be compared on one box.
# Results go to stdout, one JSON line per run prefixed with its name and the
# number in flight.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
port=${ALLOT_BENCH_PORT:-50091}
endpoint="http://127.0.0.1:$port"
bin=${ALLOT_BIN_DIR:-target/release}
inflight_levels=${ALLOT_BENCH_INFLIGHT:-8 64}
allotctl="$bin/allotctl --endpoint $endpoint"
data=$(mktemp -d)
"$bin/allot" serve --listen "127.0.0.1:$port" --metrics-listen 127.0.0.1:0 --no-explorer \
  --decisions-dir "$data" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  $allotctl health >/dev/null 2>&1 && break
  sleep 0.2
done
run() { # name, allotctl load args...
  local name=$1
  shift
  echo "$name $($allotctl load "$@" --connections 2 --quiet --json | tail -1)"
}
for n in $inflight_levels; do
  run "health@$n" --rpc health --concurrency "$n" --duration 10s
  run "promise@$n" --rpc promise --lines 3 --concurrency "$n" --duration 10s
  run "score@$n" --rpc score --concurrency "$n" --duration 10s
  run "allocate@$n" --rpc allocate --lines 5 --concurrency "$n" --duration 10s
  run "allocate-plain@$n" --rpc allocate --plain --lines 5 --concurrency "$n" --duration 10s
  for rpc in health promise score allocate; do
    echo "h2load-$rpc@$n $(ALLOTCTL=$bin/allotctl ALLOT_ENDPOINT=$endpoint \
      benches/e2e/h2load.sh "$rpc" 2 $((n / 2)) 10 |
      grep -E '^(finished in|requests:|status codes:|time for request:)' | tr '\n' ' ')"
  done
done
first=${inflight_levels%% *}
rate=$($allotctl load --rpc allocate --lines 5 --concurrency "$first" --connections 2 --duration 5s --quiet --json |
  tail -1 | python3 -c 'import json,sys; print(round(3 * json.load(sys.stdin)["rps"]))')
run "overload-at-$rate" --rpc allocate --lines 5 --rate "$rate" --duration 5s --warmup 0s
run recovery --rpc allocate --lines 5 --concurrency "$first" --duration 3s --warmup 0s
