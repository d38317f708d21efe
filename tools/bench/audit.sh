#!/usr/bin/env bash
# Audit and rebuild figures (SPEC §4: `replay --verify` >= 1,000,000 events/s,
# `rebuild` >= 300,000 events/s) on a generated log.
#
# usage: tools/bench/audit.sh BINARY DATA_DIR [EVENTS]
#   e.g. tools/bench/audit.sh build/release/tools/reservoir /tmp/g10m 10000000
# Generates the log with `reservoir gen-log` when DATA_DIR has none, then runs
# each tool RUNS times (default 3), printing `uptime` (the machine's load),
# the tool's own rate line, and wall and CPU time from /usr/bin/time. The
# rebuild rate is the whole command's wall time, store written and installed.
set -euo pipefail

bin=${1:?usage: audit.sh BINARY DATA_DIR [EVENTS]}
data=${2:?usage: audit.sh BINARY DATA_DIR [EVENTS]}
events=${3:-10000000}
runs=${RUNS:-3}

if [ ! -s "$data/log/events.log" ]; then
  echo "== gen-log --events $events into $data"
  "$bin" gen-log --data "$data" --events "$events" 2>&1 | tr '\r' '\n' | tail -1
fi
echo "== log: $(du -b "$data/log/events.log" | cut -f1) bytes"

for i in $(seq "$runs"); do
  echo "== verify run $i: $(uptime)"
  /usr/bin/time -f "verify: wall %e s, cpu %U s user + %S s sys, max rss %M KiB" \
    "$bin" replay --data "$data" --verify 2>&1 | grep -E "^verify"
done
for i in $(seq "$runs"); do
  echo "== rebuild run $i: $(uptime)"
  /usr/bin/time -f "rebuild: wall %e s, cpu %U s user + %S s sys, max rss %M KiB" \
    "$bin" rebuild --data "$data" 2>&1 | tr '\r' '\n' | grep -E "100%|installed|wall"
done
