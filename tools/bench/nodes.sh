# shellcheck shell=bash disable=SC2154,SC2034  # bin is the sourcing script's; brokers is for it
# Shell helpers for the bench scripts that start their own nodes
# (tools/bench/replica.sh, tools/bench/failover.sh); sourced, not run.
# The sourcing script sets `dir` (its scratch folder) before the trap, and
# appends each started PID to `pids` in start order.

pids=()

stop_all() {  # the last started first, the mock last: a node stops slowly without its cluster
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  pids=()
}

wait_up() {  # URL: until /healthz answers, at most 60 s
  for _ in $(seq 600); do
    curl -sf -o /dev/null "$1/healthz" && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): $1 did not come up" >&2
  return 1
}

start_mock() {  # DIR: a fresh 3-broker kafka-mock; sets `brokers` to its bootstrap list
  "$bin" kafka-mock --brokers 3 >"$1/mock.out" 2>"$1/mock.err" &
  pids+=($!)
  for _ in $(seq 200); do [[ -s "$1/mock.out" ]] && break; sleep 0.1; done
  brokers=$(head -1 "$1/mock.out")
}
