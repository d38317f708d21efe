#!/usr/bin/env bash
# Failover time of SPEC §7 (docs/BENCHMARKS.md, "Failover"): for each run, a
# fresh `reservoir kafka-mock`, an --ha writer (with --demo data) and a
# standby on it; charges are sent to the writer until it is killed with
# SIGKILL, then to the standby until one is acknowledged (200). The figure is
# the time from the kill to that first acknowledged command on the new writer.
# Prints each run and min/median/max over the runs.
#
# usage: tools/bench/failover.sh BINARY [RUNS] [FAILOVER_TIMEOUT]
#   e.g. tools/bench/failover.sh build/release/tools/reservoir 5 10s
# Ports: FAILOVER_BENCH_PORT (writer, default 18290) and the next one (standby).
set -euo pipefail

bin=${1:?usage: failover.sh BINARY [RUNS] [FAILOVER_TIMEOUT]}
runs=${2:-5}
timeout=${3:-10s}
wport=${FAILOVER_BENCH_PORT:-18290}
sport=$((wport + 1))
key=bench
dir=$(mktemp -d /tmp/failover-bench.XXXXXX)
# shellcheck source=tools/bench/nodes.sh
source "$(dirname "$0")/nodes.sh"
trap 'stop_all; rm -rf "$dir"' EXIT

charge() {  # URL -> the HTTP status of one charge of alice's balance (000: no answer)
  curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST "$1/api/v1/balance/charge" \
    -H 'Content-Type: application/json' -d '{"userId":"alice","amount":1}' || true
}

now_ms() { date +%s%3N; }

results=()
for run in $(seq "$runs"); do
  rm -rf "${dir:?}"/*
  start_mock "$dir"
  common=(--log kafka --kafka-brokers "$brokers" --admin-key "$key" --failover-timeout "$timeout")
  "$bin" serve "${common[@]}" --ha --node w1 --demo --data "$dir/writer" --port "$wport" \
    >"$dir/writer.out" 2>"$dir/writer.err" &
  writer=$!
  pids+=("$writer")
  wait_up "http://127.0.0.1:$wport"
  "$bin" serve "${common[@]}" --role standby --node s1 --data "$dir/standby" --port "$sport" \
    --token-key-file "$dir/writer/token.key" >"$dir/standby.out" 2>"$dir/standby.err" &
  pids+=($!)
  wait_up "http://127.0.0.1:$sport"
  for _ in $(seq 20); do  # the writer decides: a few acknowledged charges first
    [[ $(charge "http://127.0.0.1:$wport") == 200 ]] || { echo "writer refused a charge" >&2; exit 1; }
  done
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  killed=$(now_ms)
  kill -KILL "$writer"
  until [[ $(charge "http://127.0.0.1:$sport") == 200 ]]; do
    sleep 0.02
    if (($(now_ms) - killed > 120000)); then echo "no takeover within 120 s" >&2; exit 1; fi
  done
  took=$(($(now_ms) - killed))
  results+=("$took")
  echo "run $run: kill -9 -> first acknowledged command on the standby: ${took} ms (--failover-timeout $timeout, load $load)"
  stop_all
done
sorted=$(printf '%s\n' "${results[@]}" | sort -n)
min=$(head -1 <<<"$sorted")
max=$(tail -1 <<<"$sorted")
median=$(sed -n "$(((${#results[@]} + 1) / 2))p" <<<"$sorted")
echo "failover over $runs runs (ms): min $min / median $median / max $max"
