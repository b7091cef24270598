#!/usr/bin/env bash
# Sends one pre-encoded gRPC request to a running allot server with h2load
# (Debian's nghttp2-client), as an independent client beside
# `allotctl load`: if both reach the same throughput, the load generator is
# not the bottleneck.
#
#   benches/e2e/h2load.sh RPC [CONNECTIONS] [STREAMS_PER_CONNECTION] [SECONDS]
#
# RPC is health, allocate, promise or score (as `allotctl load --rpc`).
# Defaults: 2 connections x 2 streams (4 in flight, like
# `allotctl load --connections 2 --concurrency 4`), 10 s after a 1 s warmup.
# ALLOT_ENDPOINT (default http://127.0.0.1:50051) and ALLOTCTL (default
# target/release/allotctl) can be set. h2load counts HTTP 200 answers as
# success; gRPC errors also travel in HTTP 200, so the script checks one
# request with allotctl first (allocate without commit and promise do not
# change state, so every copy of the body gets the same answer).
set -euo pipefail
rpc=${1:?usage: h2load.sh RPC [CONNECTIONS] [STREAMS] [SECONDS]}
connections=${2:-2}
streams=${3:-2}
seconds=${4:-10}
endpoint=${ALLOT_ENDPOINT:-http://127.0.0.1:50051}
allotctl=${ALLOTCTL:-target/release/allotctl}
command -v h2load >/dev/null || {
  echo "h2load is missing: apt-get install -y nghttp2-client" >&2
  exit 2
}
body=$(mktemp --suffix=.grpc)
trap 'rm -f "$body"' EXIT
path=$("$allotctl" --endpoint "$endpoint" load --rpc "$rpc" --write-body "$body")
h2load -D "$seconds" --warm-up-time=1 -c "$connections" -m "$streams" \
  -H 'content-type: application/grpc' -H 'te: trailers' \
  -d "$body" "$endpoint$path"
