#!/usr/bin/env bash
# What the shared ledger costs and what more replicas buy, in one run:
# committed Allocate (allotctl load --rpc allocate-commit: 5 lines, a fresh
# idempotency key per call, one call in 20 replays an earlier key), closed
# loop, ALLOT_BENCH_INFLIGHT (default 32) in flight, 2 HTTP/2 connections
# to each server, ALLOT_BENCH_SECONDS (default 20) after 1 s of warmup,
# against
#   embedded  one `allot serve` with its own durable state (the default:
#             a commit's hold, key and decision fsynced in the decision log
#             before its answer, group commit);
#   pg-1      one replica on the PostgreSQL ledger, with the NATS bus;
#   pg-3      three replicas on one PostgreSQL ledger and one bus, allotctl
#             spreading its calls over the three;
# then, on the same servers, ALLOT_BENCH_LATENCY_INFLIGHT (default 1) in
# flight for ALLOT_BENCH_LATENCY_SECONDS (default 10): a commit's latency
# without queueing. ALLOT_BENCH_ROUNDS (default 2) rounds, each
# configuration on a fresh database, JetStream store and data directories.
#
# PostgreSQL (a cluster made here by initdb, fsync and synchronous_commit
# on, as user postgres when run as root) and `nats-server -js` run on free
# ports of 127.0.0.1 and are stopped on exit. Besides allotctl's numbers,
# each run reports, over the run (warmup included, per ledger commit):
#   - the ledger's commit time, mean and p50/p99 of
#     `allot_ledger_commit_seconds` (from /metrics, summed over replicas;
#     the quantiles interpolated in its coarse buckets, 0.5, 1, 2, 5, 10,
#     25 ms ...), and for embedded the write of the decision log, which
#     makes a commit's hold and key durable (a redb transaction, fsynced,
#     shared by concurrent calls), `allot_decisions_write_seconds`;
#   - statements per commit (pg_stat_statements calls), PostgreSQL
#     transactions per commit (pg_stat_database xact_commit), TCP writes
#     each way between the replicas and PostgreSQL per commit (`ss -ti`
#     data_segs_out / data_segs_in of their connections: a round trip the
#     replica waits for is one write out, pipelined statements share it,
#     a statement's close goes apart when nothing follows it; PostgreSQL
#     writes once per Sync), WAL flushes per commit, their mean time and
#     WAL bytes (pg_stat_wal, track_wal_io_timing);
#   - where the ledger's backends spent the run (pg_stat_activity sampled
#     every 100 ms, each sample a short transaction of its own: running,
#     waiting for the replica inside a transaction, for a row lock, for
#     the WAL, or idle in the pool);
#   - CPU seconds of allot, PostgreSQL, nats-server and allotctl, and per
#     commit.
# After the last round, with pg-3 up: replica-lag-bench (a one-row stock
# change written on replica 0 until replicas 1 and 2 show it;
# ALLOT_BENCH_LAG_SAMPLES, default 300) idle, then under the same commit
# load, then once with nats-server stopped (the ledger poll,
# state.ledger_poll_ms = 1000, is then the only way).
#
# Needs a release build (cargo build --release -p allot-server -p
# allot-client -p allot-benches), PostgreSQL 15+ server binaries with
# pg_stat_statements (Debian: postgresql), nats-server, python3, ss.
# Output: one JSON line per run prefixed with its name, the lag runs'
# JSON lines, then a table for each number in flight (the mean of the
# rounds, the rounds in brackets) and the ratios against embedded.
# ALLOT_BENCH_KEEP=1 keeps the work directory (logs, scrapes, statements).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=${ALLOT_BIN_DIR:-target/release}
inflight=${ALLOT_BENCH_INFLIGHT:-32}
seconds=${ALLOT_BENCH_SECONDS:-20}
latency_inflight=${ALLOT_BENCH_LATENCY_INFLIGHT:-1}
latency_seconds=${ALLOT_BENCH_LATENCY_SECONDS:-10}
rounds=${ALLOT_BENCH_ROUNDS:-2}
lag_samples=${ALLOT_BENCH_LAG_SAMPLES:-300}
pg_bin=${ALLOT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
work=$(mktemp -d /tmp/allot-scale-out.XXXXXX)
chmod 755 "$work"
results="$work/results.jsonl"
: >"$results"

servers=()   # allot serve pids
endpoints=() # their gRPC endpoints
metrics=()   # their metrics URLs
nats_pid=""
pg_port=""
postmaster=""

stop_servers() {
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
  servers=() endpoints=() metrics=()
}
stop_nats() {
  if [ -n "$nats_pid" ]; then
    kill "$nats_pid" 2>/dev/null || true
    wait "$nats_pid" 2>/dev/null || true
    nats_pid=""
  fi
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_all() {
  stop_servers
  stop_nats
  if [ -n "$postmaster" ]; then
    as_pg "$pg_bin/pg_ctl" stop -D "$work/pg/data" -m fast -w >/dev/null 2>&1 || true
  fi
  if [ -n "${ALLOT_BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap stop_all EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
sql() { # database, SQL -> rows, columns separated by |
  "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -c "$2"
}

# PostgreSQL: one cluster for the run, a fresh database per configuration.
start_postgres() {
  mkdir -p "$work/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$work/pg"
  as_pg "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
    >"$work/pg/initdb.log" 2>&1 || { cat "$work/pg/initdb.log" >&2; exit 1; }
  pg_port=$(free_port)
  cat >>"$work/pg/data/postgresql.conf" <<CONF
# allot scale-out bench
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_preload_libraries = 'pg_stat_statements'
track_wal_io_timing = on
logging_collector = off
CONF
  as_pg "$pg_bin/pg_ctl" start -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t 60 >/dev/null \
    || { cat "$work/pg/postgres.log" >&2; exit 1; }
  postmaster=$(head -1 "$work/pg/data/postmaster.pid")
}
fresh_database() {
  sql postgres "DROP DATABASE IF EXISTS allot WITH (FORCE)" >/dev/null 2>&1
  sql postgres "CREATE DATABASE allot" >/dev/null
  sql allot "CREATE EXTENSION pg_stat_statements" >/dev/null
}

start_nats() { # a fresh JetStream store each time
  local port dir
  port=$(free_port)
  dir=$(mktemp -d "$work/nats.XXXX")
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir" -n allot-bench >"$dir/nats.log" 2>&1 &
  nats_pid=$!
  nats_url="nats://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nats-server did not start" >&2
  cat "$dir/nats.log" >&2
  exit 1
}

serve() { # name, extra serve args... (starts; see wait_serving)
  local name=$1 port mport
  shift
  port=$(free_port)
  mport=$(free_port)
  mkdir -p "$work/$name"
  "$bin/allot" serve --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" --no-explorer \
    --decisions-dir "$work/$name/decisions" "$@" >"$work/$name/serve.log" 2>&1 &
  servers+=($!)
  endpoints+=("http://127.0.0.1:$port")
  metrics+=("http://127.0.0.1:$mport/metrics")
}
wait_serving() { # index
  local i=$1
  for _ in $(seq 1 600); do
    "$bin/allotctl" --endpoint "${endpoints[$i]}" health >/dev/null 2>&1 && return 0
    kill -0 "${servers[$i]}" 2>/dev/null || break
    sleep 0.2
  done
  echo "server ${endpoints[$i]} did not become healthy:" >&2
  tail -30 "$work"/*/serve.log >&2
  exit 1
}
start_config() { # config name, round (each server gets a fresh directory)
  case $1 in
    embedded)
      serve "embedded-$2"
      wait_serving 0
      ;;
    pg-*)
      local n=${1#pg-} i
      fresh_database
      start_nats
      serve "$1-$2-r0" --ledger "postgres://postgres@127.0.0.1:$pg_port/allot" --bus "$nats_url"
      wait_serving 0 # the first seeds the ledger, the others catch up
      for i in $(seq 1 $((n - 1))); do
        serve "$1-$2-r$i" --ledger "postgres://postgres@127.0.0.1:$pg_port/allot" --bus "$nats_url"
      done
      for i in $(seq 1 $((n - 1))); do wait_serving "$i"; done
      ;;
  esac
}
stop_config() { # config name
  stop_servers
  stop_nats
  if [ "$1" != embedded ]; then
    # Nothing of this configuration left for PostgreSQL to write back
    # while the next one runs.
    sql postgres "DROP DATABASE allot WITH (FORCE)" >/dev/null
    sql postgres "CHECKPOINT" >/dev/null
  fi
  sync
}

cpu_ticks() { # pids... -> utime+stime clock ticks, summed
  local t=0 p f
  for p in "$@"; do
    if f=$(cat "/proc/$p/stat" 2>/dev/null); then
      f=${f##*) }
      # fields after the command: 3=state ... 14=utime 15=stime (1-based in stat)
      t=$((t + $(echo "$f" | awk '{print $12 + $13}')))
    fi
  done
  echo "$t"
}
pg_pids() { echo "$postmaster" $(ps -o pid= --ppid "$postmaster" 2>/dev/null); }
box_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
scrape() { # file prefix
  local i
  for i in "${!metrics[@]}"; do curl -fsS "${metrics[$i]}" >"$1.$i" 2>/dev/null || : >"$1.$i"; done
}
pg_segments() { # sum of data_segs_out and data_segs_in of connections to PostgreSQL
  ss -tinH state established "( dport = :$pg_port )" 2>/dev/null |
    grep -o 'data_segs_\(out\|in\):[0-9]*' |
    awk -F: '{s[$1]+=$2} END {print s["data_segs_out"]+0, s["data_segs_in"]+0}'
}

# Samples pg_stat_activity of the ledger's backends every 100 ms for
# `count` samples, then prints state|wait type|wait event|samples. One
# psql connection, each sample its own short transaction (a long one would hold
# back the pruning of the rows the ledger updates over and over).
wait_sampler() { # count
  {
    echo "CREATE TEMP TABLE s (state text, wtype text, wevent text);"
    for _ in $(seq 1 "$1"); do
      echo "INSERT INTO s SELECT coalesce(state, '-'), coalesce(wait_event_type, '-'), coalesce(wait_event, '-')
        FROM pg_stat_activity WHERE datname = 'allot' AND pid <> pg_backend_pid() AND backend_type = 'client backend';"
      sleep 0.1
    done
    echo "SELECT state, wtype, wevent, count(*) FROM s GROUP BY 1, 2, 3 ORDER BY 4 DESC;"
  } | "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d allot
}

run_load() { # config, round, in flight, seconds -> one JSON line in $results
  local config=$1 round=$2 n=$3 secs=$4 pg=""
  local out="$work/run-$config-$n-$round"
  mkdir -p "$out"
  local list
  list=$(IFS=,; echo "${endpoints[*]}")
  [ "$config" != embedded ] && pg=1
  if [ -n "$pg" ]; then
    sql allot "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset(); SELECT pg_stat_reset_shared('wal')" >/dev/null
    sql allot "SELECT count(*) FROM allot_decisions" >"$out/decisions.before"
    pg_segments >"$out/segs.before"
  fi
  scrape "$out/metrics.before"
  local allot_before pg_before nats_before box_before
  allot_before=$(cpu_ticks "${servers[@]}")
  box_before=$(box_ticks)
  if [ -n "$pg" ]; then
    pg_before=$(cpu_ticks $(pg_pids))
    nats_before=$(cpu_ticks "$nats_pid")
    (sleep 1.2; wait_sampler $(((secs - 2) * 10)) >"$out/waits" 2>&1) &
    sampler=$!
  fi
  /usr/bin/time -f '%U %S' -o "$out/allotctl.time" \
    "$bin/allotctl" --endpoint "$list" load --rpc allocate-commit --lines 5 \
    --concurrency "$n" --connections 2 --duration "${secs}s" --quiet --json \
    >"$out/load.json" 2>"$out/load.err" || { cat "$out/load.err" >&2; exit 1; }
  local allot_after box_after pg_after=0 nats_after=0
  allot_after=$(cpu_ticks "${servers[@]}")
  box_after=$(box_ticks)
  scrape "$out/metrics.after"
  if [ -n "$pg" ]; then
    pg_after=$(cpu_ticks $(pg_pids))
    nats_after=$(cpu_ticks "$nats_pid")
    pg_segments >"$out/segs.after"
    wait "$sampler" || true
    sql allot "SELECT calls, total_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
               FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'allot')
               ORDER BY calls DESC" >"$out/statements"
    sql allot "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = 'allot'" >"$out/xacts"
    sql allot "SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_write_time, wal_sync_time FROM pg_stat_wal" >"$out/wal"
    sql allot "SELECT count(*) FROM allot_decisions" >"$out/decisions.after"
  fi
  echo "$allot_before $allot_after ${pg_before:-0} $pg_after ${nats_before:-0} $nats_after $box_before $box_after" >"$out/cpu"
  python3 - "$config" "$round" "${#servers[@]}" "$out" "$n" >>"$results" <<'PY'
import json, re, sys, os
config, rnd, replicas, out, inflight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
def read(name, default=""):
    try:
        return open(os.path.join(out, name)).read()
    except OSError:
        return default
load = json.loads(read("load.json").strip().splitlines()[-1])
r = {"config": config, "round": rnd, "replicas": replicas, "inflight": inflight}
# Fresh commits only (the replays of an earlier key, one call in 20, are
# answered from the key and counted apart).
commit = load.get("by_rpc", {}).get("allocate-commit", load)
retry = load.get("by_rpc", {}).get("allocate-commit-retry", {})
r["ok_rps"] = round(commit["ok"] / load["duration_s"], 1)
r["all_ok_rps"] = round(load["ok"] / load["duration_s"], 1)
r["errors"] = load["errors"]
r["commit_p50_ms"] = commit["ok_latency"]["p50_us"] / 1000
r["commit_p99_ms"] = commit["ok_latency"]["p99_us"] / 1000
if retry:
    r["replay_p50_ms"] = retry["ok_latency"]["p50_us"] / 1000
r["measured_s"] = load["duration_s"]

def samples(prefix):
    texts = []
    for i in range(replicas):
        texts.append(read(f"{prefix}.{i}"))
    return texts
def series(texts, name):
    """name{labels} -> value, summed over replicas"""
    acc = {}
    pat = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+([0-9.eE+-]+|NaN|\+Inf)$")
    for t in texts:
        for line in t.splitlines():
            m = pat.match(line)
            if m:
                key = m.group(1) or ""
                acc[key] = acc.get(key, 0.0) + float(m.group(2))
    return acc
before, after = samples("metrics.before"), samples("metrics.after")
def delta(name):
    a, b = series(after, name), series(before, name)
    return {k: v - b.get(k, 0.0) for k, v in a.items()}
def histogram(name):
    buckets = delta(name + "_bucket")
    les = []
    for k, v in buckets.items():
        m = re.search(r'le="([^"]+)"', k)
        if m:
            les.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), v))
    les.sort()
    count = sum(delta(name + "_count").values())
    total = sum(delta(name + "_sum").values())
    def q(p):
        if count <= 0:
            return None
        rank, prev_le, prev_c = p * count, 0.0, 0.0
        for le, c in les:
            if c >= rank:
                if le == float("inf"):
                    return prev_le * 1000
                frac = (rank - prev_c) / (c - prev_c) if c > prev_c else 1.0
                return round((prev_le + (le - prev_le) * frac) * 1000, 3)
            prev_le, prev_c = le, c
        return None
    return {"count": int(count), "mean_ms": round(total / count * 1000, 3) if count else None,
            "p50_ms": q(0.5), "p99_ms": q(0.99)}
r["ledger_commit"] = histogram("allot_ledger_commit_seconds")
# The decision log's writes (a redb transaction, fsynced; group commit):
# where an embedded commit's hold and key become durable, and in shared
# mode the replica's local copy of the decision.
r["decision_log_write"] = histogram("allot_decisions_write_seconds")
r["races_lost"] = int(sum(delta("allot_ledger_races_lost_total").values()))
disp = {}
for k, v in delta("allot_allocations_total").items():
    m = re.search(r'disposition="([^"]+)"', k)
    if m and v:
        disp[m.group(1)] = int(v)
r["dispositions"] = disp
commits_server = sum(disp.values())

ticks = [int(x) for x in read("cpu").split()]
hz = os.sysconf("SC_CLK_TCK")
ctl = [float(x) for x in read("allotctl.time").split()[-2:]] if read("allotctl.time") else [0, 0]
busy = (ticks[8] - ticks[6]) / hz
idle = (ticks[9] - ticks[7]) / hz
r["cpu_s"] = {"allot": round((ticks[1] - ticks[0]) / hz, 2),
              "postgres": round((ticks[3] - ticks[2]) / hz, 2),
              "nats": round((ticks[5] - ticks[4]) / hz, 2),
              "allotctl": round(sum(ctl), 2),
              "box_busy_share": round(busy / (busy + idle), 3) if busy + idle else None}

if config != "embedded":
    stmts = []
    for line in read("statements").splitlines():
        parts = line.split("|", 3)
        if len(parts) == 4:
            stmts.append((int(parts[0]), float(parts[1]), int(parts[2]), parts[3]))
    def calls(prefix):
        return sum(c for c, _, _, q in stmts if q.lstrip().startswith(prefix))
    commits = int(read("decisions.after", "0").strip() or 0) - int(read("decisions.before", "0").strip() or 0)
    r["ledger_commits"] = commits
    if commits:
        # The statements of a committing Allocate: the key looked up before
        # the solve, then one transaction.
        path = ["SELECT fingerprint, response FROM allot_keys", "START TRANSACTION",
                "INSERT INTO allot_keys", "INSERT INTO allot_reservations",
                "INSERT INTO allot_decisions", "UPDATE allot_stock SET held",
                "INSERT INTO allot_capacity", "INSERT INTO allot_outbox", "COMMIT"]
        per = {p: round(calls(p) / commits, 3) for p in path}
        r["calls_per_commit"] = per
        r["exec_ms_per_call"] = {p: round(sum(t for c, t, _, q in stmts if q.lstrip().startswith(p)) / max(1, calls(p)), 3) for p in path}
        r["statements_per_commit_all"] = round(sum(c for c, *_ in stmts) / commits, 2)
        # allot's statements only (not this script's sampler and resets).
        ours = [t for _, t, _, q in stmts if "pg_stat" not in q and not q.startswith(("INSERT INTO s ", "CREATE TEMP", "SELECT state, wtype"))]
        r["exec_ms_per_commit"] = round(sum(ours) / commits, 3)
        r["commit_path_exec_ms_per_commit"] = round(sum(t for c, t, _, q in stmts if q.lstrip().startswith(tuple(path))) / commits, 3)
        # A commit's own statements: its BEGIN and COMMIT count one each
        # (the relay's are in calls_per_commit).
        r["commit_statements"] = round(2 + sum(v for k, v in per.items() if k not in ("START TRANSACTION", "COMMIT")), 2)
        x = read("xacts").strip().split("|")
        r["xacts_per_commit"] = round(int(x[0]) / commits, 3)
        r["rollbacks"] = int(x[1])
        w = read("wal").strip().split("|")
        r["wal"] = {"records_per_commit": round(int(w[0]) / commits, 1),
                    "bytes_per_commit": round(int(w[1]) / commits),
                    "syncs_per_commit": round(int(w[3]) / commits, 3),
                    "sync_mean_ms": round(float(w[5]) / int(w[3]), 3) if int(w[3]) else None}
        sb = [int(x) for x in read("segs.before").split()] or [0, 0]
        sa = [int(x) for x in read("segs.after").split()] or [0, 0]
        r["tcp_writes_to_pg_per_commit"] = round((sa[0] - sb[0]) / commits, 2)
        r["tcp_reads_from_pg_per_commit"] = round((sa[1] - sb[1]) / commits, 2)
        r["cpu_us_per_commit"] = {k: round(r["cpu_s"][k] * 1e6 / commits)
                                  for k in ("allot", "postgres", "nats", "allotctl")}
    waits = {}
    for line in read("waits").splitlines():
        parts = line.split("|")
        if len(parts) == 4:
            state, wtype, wevent, n = parts
            if state == "idle":
                key = "idle in the pool"
            elif state.startswith("idle in transaction"):
                key = "in a transaction, waiting for the replica"
            elif wtype == "Lock":
                key = "waiting for a row lock (" + wevent + ")"
            elif wtype in ("IO", "LWLock") and wevent.startswith("WAL"):
                key = "waiting for the WAL (" + wtype + ":" + wevent + ")"
            elif wtype == "-":
                key = "running"
            else:
                key = wtype + ":" + wevent
            waits[key] = waits.get(key, 0) + int(n)
    total = sum(waits.values())
    busy_total = sum(v for k, v in waits.items() if k != "idle in the pool")
    # Shares of the backends' samples; "busy" leaves out the idle pool.
    r["backend_samples"] = {k: round(v / total, 3) for k, v in sorted(waits.items(), key=lambda kv: -kv[1])} if total else {}
    r["backend_samples_busy"] = {k: round(v / busy_total, 3) for k, v in sorted(waits.items(), key=lambda kv: -kv[1]) if k != "idle in the pool"} if busy_total else {}
else:
    js = r["decision_log_write"]
    if commits_server and js["count"]:
        r["decision_log_writes_per_commit"] = round(js["count"] / commits_server, 3)
    r["cpu_us_per_commit"] = {k: round(r["cpu_s"][k] * 1e6 / commits_server)
                              for k in ("allot", "allotctl")} if commits_server else {}
print(json.dumps(r))
PY
  echo "$config@$n round$round $(tail -1 "$results")"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores" | tee "$work/loadavg"
start_postgres
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, $(nats-server --version)"

for round in $(seq 1 "$rounds"); do
  for config in embedded pg-1 pg-3; do
    start_config "$config" "$round"
    run_load "$config" "$round" "$inflight" "$seconds"
    run_load "$config" "$round" "$latency_inflight" "$latency_seconds"
    if [ "$config" = pg-3 ] && [ "$round" = "$rounds" ]; then
      list=$(IFS=,; echo "${endpoints[*]}")
      lag="$bin/replica-lag-bench --endpoints $list"
      echo "lag idle $($lag --samples "$lag_samples" --max-seconds 60 2>"$work/lag-idle.err" | tail -1)"
      "$bin/allotctl" --endpoint "$list" load --rpc allocate-commit --lines 5 \
        --concurrency "$inflight" --connections 2 --duration 45s --quiet --json >"$work/lag-load.json" 2>&1 &
      bg=$!
      sleep 2
      echo "lag under-load $($lag --samples "$lag_samples" --max-seconds 40 2>"$work/lag-load.err" | tail -1)"
      wait "$bg" || true
      echo "lag the-load-meanwhile $(tail -1 "$work/lag-load.json")"
      stop_nats
      sleep 3 # the replicas notice (bus health) and the relay gives up
      # Random pauses: the ledger poll ticks every second, a fixed pause
      # would sample one phase of it.
      echo "lag bus-stopped $($lag --samples 30 --max-seconds 90 --timeout-ms 5000 --pause-ms 0 \
        --pause-jitter-ms 1000 2>"$work/lag-nobus.err" | tail -1)"
    fi
    stop_config "$config"
  done
done

python3 - "$results" "$inflight" "$latency_inflight" <<'PY'
import json, sys, statistics
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
loaded, single = int(sys.argv[2]), int(sys.argv[3])
configs = ["embedded", "pg-1", "pg-3"]
def col(config, n, f):
    vals = [f(r) for r in runs if r["config"] == config and r["inflight"] == n]
    return [v for v in vals if v is not None]
def fmt(vals, d=1):
    if not vals:
        return "-"
    s = f"{statistics.mean(vals):,.{d}f}"
    if len(vals) > 1:
        s += " (" + "; ".join(f"{v:,.{d}f}" for v in vals) + ")"
    return s
get = lambda *keys: (lambda r: _dig(r, keys))
def _dig(r, keys):
    for k in keys:
        if not isinstance(r, dict):
            return None
        r = r.get(k)
    return r
rows = [
    ("committed Allocate (fresh keys), OK req/s", get("ok_rps"), 0),
    ("allocate-commit p50, ms", get("commit_p50_ms"), 2),
    ("allocate-commit p99, ms", get("commit_p99_ms"), 2),
    ("errors (all codes)", lambda r: sum(r["errors"].values()), 0),
    ("ledger commit p50, ms", get("ledger_commit", "p50_ms"), 2),
    ("ledger commit p99, ms", get("ledger_commit", "p99_ms"), 2),
    ("ledger commit mean, ms", get("ledger_commit", "mean_ms"), 2),
    ("decision log write p50, ms", get("decision_log_write", "p50_ms"), 2),
    ("decision log writes per commit (embedded)", get("decision_log_writes_per_commit"), 2),
    ("statements per commit", get("commit_statements"), 1),
    ("TCP writes to PostgreSQL per commit", get("tcp_writes_to_pg_per_commit"), 1),
    ("TCP writes from PostgreSQL per commit", get("tcp_reads_from_pg_per_commit"), 1),
    ("statement execution in PostgreSQL per commit, the commit's own, ms", get("commit_path_exec_ms_per_commit"), 2),
    ("statement execution in PostgreSQL per commit, all of allot's, ms", get("exec_ms_per_commit"), 2),
    ("WAL fsyncs per commit", get("wal", "syncs_per_commit"), 2),
    ("WAL fsync mean, ms", get("wal", "sync_mean_ms"), 2),
    ("WAL bytes per commit", get("wal", "bytes_per_commit"), 0),
    ("races lost", get("races_lost"), 0),
    ("CPU us per commit, allot", get("cpu_us_per_commit", "allot"), 0),
    ("CPU us per commit, PostgreSQL", get("cpu_us_per_commit", "postgres"), 0),
    ("CPU us per commit, nats-server", get("cpu_us_per_commit", "nats"), 0),
    ("CPU us per commit, allotctl", get("cpu_us_per_commit", "allotctl"), 0),
    ("box busy (all processes), share of 2 cores", get("cpu_s", "box_busy_share"), 2),
]
for n in (loaded, single):
    print(f"\n{n} in flight")
    print("| measure | " + " | ".join(configs) + " |")
    print("| --- | " + " | ".join("---" for _ in configs) + " |")
    for name, f, d in rows:
        cells = [fmt(col(c, n, f), d) for c in configs]
        if any(c != "-" for c in cells):
            print(f"| {name} | " + " | ".join(cells) + " |")
    emb = col("embedded", n, get("ok_rps"))
    e50 = col("embedded", n, get("commit_p50_ms"))
    for c in ("pg-1", "pg-3"):
        v = col(c, n, get("ok_rps"))
        if emb and v:
            print(f"{c} / embedded committed throughput: {statistics.mean(v) / statistics.mean(emb):.2f}")
        v = col(c, n, get("commit_p50_ms"))
        if e50 and v:
            print(f"{c} p50 - embedded p50: {statistics.mean(v) - statistics.mean(e50):+.2f} ms")
PY
