#!/usr/bin/env bash
# Replica figures of SPEC §7 (docs/BENCHMARKS.md, "Replicas"): for each run,
# a fresh `reservoir kafka-mock`, a writer and a query replica on it, then
# `reservoir bench --scenario replica` against them (the replica's query rate
# over the HTTP ceiling of the same run; its lag p99 under the charge load on
# the writer), the load average before the run, and the run's figures.
#
# usage: tools/bench/replica.sh BINARY [RUNS] [extra bench flags...]
#   e.g. tools/bench/replica.sh build/default/tools/reservoir 3 --duration 5s --warmup 2s
# Ports: REPLICA_BENCH_PORT (writer, default 18190) and the next one (replica).
# SERVE_FLAGS: more serve flags for both nodes (e.g. "--http-loops 1").
# REPLICA_BENCH_WRITER_QUERY=1: also the same query stream on the writer with
# --compare after each run, to tell the replica's cost from the machine's.
set -euo pipefail

bin=${1:?usage: replica.sh BINARY [RUNS] [bench flags...]}
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
wport=${REPLICA_BENCH_PORT:-18190}
rport=$((wport + 1))
key=bench
dir=$(mktemp -d /tmp/replica-bench.XXXXXX)
# shellcheck source=tools/bench/nodes.sh
source "$(dirname "$0")/nodes.sh"
trap 'stop_all; rm -rf "$dir"' EXIT

for run in $(seq "$runs"); do
  rm -rf "${dir:?}"/*
  start_mock "$dir"
  common=(--log kafka --kafka-brokers "$brokers" --admin-key "$key" --active-tokens 100000
          --hold-ttl 5m ${SERVE_FLAGS:-})
  "$bin" serve "${common[@]}" --data "$dir/writer" --port "$wport" \
    >"$dir/writer.out" 2>"$dir/writer.err" &
  pids+=($!)
  wait_up "http://127.0.0.1:$wport"
  "$bin" serve "${common[@]}" --role replica --data "$dir/replica" --port "$rport" \
    >"$dir/replica.out" 2>"$dir/replica.err" &
  pids+=($!)
  wait_up "http://127.0.0.1:$rport"
  echo "== run $run, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$bin" bench --scenario replica --url "http://127.0.0.1:$wport" \
    --replica-url "http://127.0.0.1:$rport" --admin-key "$key" "$@" 2>/dev/null |
    grep -E '^ *(replica_query_rps|ceiling_(before|after)_rps|ratio_to_ceiling|meets_[a-z_]+|writer_command_rps|lag_[a-z0-9_]+) ' || true
  if [[ -n "${REPLICA_BENCH_WRITER_QUERY:-}" ]]; then  # the same query stream on the writer
    echo "   the writer's own queries (--scenario query --compare), for reference:"
    "$bin" bench --scenario query --compare --url "http://127.0.0.1:$wport" --admin-key "$key" \
      "$@" 2>/dev/null | grep -E '^(throughput_rps|ratio_to_ceiling) ' | sed 's/^/   writer_/' || true
  fi
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_all
done
