#!/usr/bin/env bash
# What TLS and bearer tokens cost end to end, in one run: three release
# servers on loopback with their default configuration, side by side,
#   plain  plaintext, no authentication (the default demo);
#   tls    TLS (an ECDSA P-256 certificate made here with openssl);
#   tls+token  TLS and [auth] tokens (the client sends its token on every call);
# then, for each number of requests in flight in ALLOT_BENCH_INFLIGHT
# (default "8 64") and each RPC (promise: 3-line carts; allocate: 5 lines,
# the one call), allotctl load, closed loop, 2 HTTP/2 connections, 10 s per
# run, the three servers one after the other, ALLOT_BENCH_ROUNDS times
# (default 2; the order rotates each round so drift hits all three alike).
# The client runs on the same two cores and pays its own TLS too.
# Needs a release build (cargo build --release -p allot-server -p allot-client)
# and openssl. Output: one JSON line per run prefixed with its name.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=${ALLOT_BIN_DIR:-target/release}
inflight_levels=${ALLOT_BENCH_INFLIGHT:-8 64}
rounds=${ALLOT_BENCH_ROUNDS:-2}
base=${ALLOT_BENCH_PORT:-50071}
data=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$data"' EXIT

# A throwaway authority and a server certificate for 127.0.0.1.
openssl ecparam -name prime256v1 -genkey -noout -out "$data/ca.key" 2>/dev/null
openssl req -x509 -new -key "$data/ca.key" -subj "/CN=allot bench authority" -days 2 \
  -out "$data/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$data/server.key.ec" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$data/server.key.ec" -out "$data/server.key"
openssl req -new -key "$data/server.key" -subj "/CN=127.0.0.1" -out "$data/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$data/ext"
openssl x509 -req -in "$data/server.csr" -CA "$data/ca.pem" -CAkey "$data/ca.key" \
  -CAcreateserial -days 2 -extfile "$data/ext" -out "$data/server.pem" 2>/dev/null

token=bench-token-$RANDOM$RANDOM
cat >"$data/auth.toml" <<TOML
[[auth.tokens]]
name = "bench"
sha256 = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
roles = ["decide", "read"]
TOML

start() { # name, port, extra serve args...
  local name=$1 port=$2
  shift 2
  mkdir -p "$data/$name"
  "$bin/allot" serve --listen "127.0.0.1:$port" --metrics-listen 127.0.0.1:0 --no-explorer \
    --decisions-dir "$data/$name/decisions" "$@" >"$data/$name/serve.log" 2>&1 &
  pids+=($!)
}
start plain "$base"
start tls $((base + 1)) --tls-cert "$data/server.pem" --tls-key "$data/server.key"
start tls+token $((base + 2)) --tls-cert "$data/server.pem" --tls-key "$data/server.key" \
  --config "$data/auth.toml"

client() { # name -> allotctl with the connection flags for that server
  case $1 in
    plain) echo "$bin/allotctl --endpoint http://127.0.0.1:$base" ;;
    tls) echo "$bin/allotctl --endpoint https://127.0.0.1:$((base + 1)) --tls-ca $data/ca.pem" ;;
    tls+token) echo "$bin/allotctl --endpoint https://127.0.0.1:$((base + 2)) --tls-ca $data/ca.pem --token $token" ;;
  esac
}
for name in plain tls tls+token; do
  ok=""
  for _ in $(seq 1 150); do
    if $(client "$name") health >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || { echo "$name never served:"; cat "$data/$name/serve.log"; exit 1; }
done

order=(plain tls tls+token)
for round in $(seq 1 "$rounds"); do
  for n in $inflight_levels; do
    for rpc in promise allocate; do
      case $rpc in promise) lines=3 ;; allocate) lines=5 ;; esac
      for name in "${order[@]}"; do
        echo "$rpc@$n $name round$round $($(client "$name") load --rpc "$rpc" --lines "$lines" \
          --concurrency "$n" --connections 2 --duration 10s --quiet --json | tail -1)"
      done
    done
  done
  order=("${order[@]:1}" "${order[0]}")
done
