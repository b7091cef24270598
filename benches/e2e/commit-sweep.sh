#!/usr/bin/env bash
# The group-commit sweep of benches/RESULTS.md: for each decision-log commit
# interval, a fresh release server on loopback (default configuration
# otherwise: durability immediate) and allotctl load, closed loop,
# 2 connections x 4 in flight, 8 s each, on health, promise (3-line carts)
# and allocate (5 lines, the one call), then the commits the writer made and
# the time it spent in them (from /metrics).
#
#   benches/e2e/commit-sweep.sh [INTERVAL_MS ...]    (default: 5 10 20 50)
#
# Needs a release build (cargo build --release -p allot-server -p allot-client).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
port=${ALLOT_BENCH_PORT:-50091}
metrics_port=${ALLOT_BENCH_METRICS_PORT:-9899}
endpoint="http://127.0.0.1:$port"
allotctl="target/release/allotctl --endpoint $endpoint"
intervals=("$@")
[ ${#intervals[@]} -gt 0 ] || intervals=(5 10 20 50)
for interval in "${intervals[@]}"; do
  data=$(mktemp -d)
  ALLOT__DECISIONS__COMMIT_INTERVAL_MS=$interval target/release/allot serve \
    --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics_port" --no-explorer \
    --decisions-dir "$data" >"$data/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    $allotctl health >/dev/null 2>&1 && break
    sleep 0.2
  done
  for rpc in health promise allocate; do
    lines=3
    [ "$rpc" = allocate ] && lines=5
    echo "interval-${interval}ms $rpc $($allotctl load --rpc "$rpc" --lines $lines \
      --connections 2 --concurrency 4 --duration 8s --quiet --json | tail -1)"
  done
  echo "interval-${interval}ms writer $(curl -s "127.0.0.1:$metrics_port/metrics" |
    grep -E '^allot_decisions_(write_seconds|batch_size)_(sum|count)' | tr '\n' ' ')"
  kill "$server"
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
done
