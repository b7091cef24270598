#!/usr/bin/env bash
# The cost of durable state, measured in one run: the same release server
# with `state.store = "memory"` (nothing on disk: the baseline) and with the
# default durable state (`sync = "always"`: every commit, confirmation and
# stock write fsynced before its answer, group commit), each on a fresh data
# directory, loaded the same way with allotctl over 2 HTTP/2 connections:
#   allocate-commit (5 lines, every call reserves with a fresh idempotency
#   key; one in 20 replays an earlier key), promise (3-line carts), score,
# ALLOT_BENCH_SECONDS (default 10) each, at ALLOT_BENCH_INFLIGHT (default 8)
# requests in flight, ALLOT_BENCH_ROUNDS (default 2) alternating rounds so
# drift on a shared machine hits both stores alike.
# Needs a release build (cargo build --release -p allot-server -p allot-client).
# One JSON line per run on stdout, prefixed with the store and the RPC.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
port=${ALLOT_BENCH_PORT:-50093}
endpoint="http://127.0.0.1:$port"
bin=${ALLOT_BIN_DIR:-target/release}
inflight=${ALLOT_BENCH_INFLIGHT:-8}
seconds=${ALLOT_BENCH_SECONDS:-10}
rounds=${ALLOT_BENCH_ROUNDS:-2}
allotctl="$bin/allotctl --endpoint $endpoint"
server=""
data=""
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
  if [ -n "$data" ]; then rm -rf "$data"; data=""; fi
}
trap stop EXIT
serve() { # store
  data=$(mktemp -d)
  ALLOT__STATE__STORE=$1 "$bin/allot" serve --listen "127.0.0.1:$port" --no-metrics --no-explorer \
    --decisions-dir "$data" >"$data/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do
    $allotctl health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "the server did not become healthy" >&2
  cat "$data/serve.log" >&2
  exit 1
}
run() { # store, name, allotctl load args...
  local store=$1 name=$2
  shift 2
  echo "$store $name@$inflight $($allotctl load "$@" --concurrency "$inflight" --connections 2 \
    --duration "${seconds}s" --quiet --json | tail -1)"
}
for round in $(seq 1 "$rounds"); do
  for store in memory durable; do
    serve "$store"
    run "$store" allocate-commit --rpc allocate-commit --lines 5
    run "$store" promise --rpc promise --lines 3
    run "$store" score --rpc score
    stop
  done
done
