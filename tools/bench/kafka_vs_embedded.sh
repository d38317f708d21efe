#!/usr/bin/env bash
# Durable commands over HTTP on the embedded log vs on Kafka (librdkafka's
# mock cluster via `reservoir kafka-mock`), side by side in one run, for
# docs/KAFKA.md. Each run gets a fresh server (and a fresh mock); the binary
# is copied first so a rebuild during the runs cannot change it.
#
# usage: tools/bench/kafka_vs_embedded.sh [scenario...]   (default: charge booking)
# env: BIN (build/tools/reservoir), PORT (18090), DURATION (10s), WARMUP (2s),
#      CONNECTIONS (64), BROKERS (3), OUT (/tmp/reservoir-kafka-bench)
set -euo pipefail

BIN=${BIN:-build/tools/reservoir}
PORT=${PORT:-18090}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
BROKERS=${BROKERS:-3}
OUT=${OUT:-/tmp/reservoir-kafka-bench}
URL="http://127.0.0.1:${PORT}"
mkdir -p "$OUT"
WORK=$(mktemp -d)
cp "$BIN" "$WORK/reservoir"
R="$WORK/reservoir"
SERVER=""
MOCK=""

stop_all() {
  if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [[ -n "$MOCK" ]]; then kill "$MOCK" 2>/dev/null || true; wait "$MOCK" 2>/dev/null || true; fi
  SERVER=""
  MOCK=""
  rm -rf "$WORK"/data-*
}
trap 'stop_all; rm -rf "$WORK"' EXIT

start_server() {  # $1: run name, $2: embedded|kafka
  local log_flags=()
  if [[ $2 == kafka ]]; then
    "$R" kafka-mock --brokers "$BROKERS" >"$WORK/mock.out" 2>"$OUT/$1.mock.log" </dev/null &
    MOCK=$!
    for _ in $(seq 100); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.05; done
    log_flags=(--log kafka --kafka-brokers "$(head -1 "$WORK/mock.out")")
  fi
  "$R" serve --data "$WORK/data-$1" --port "$PORT" --admin-key bench \
    --active-tokens 100000 --hold-ttl 5m "${log_flags[@]}" >"$OUT/$1.server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 200); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not start; see $OUT/$1.server.log" >&2
  exit 1
}

run() {  # $1: scenario, $2: backend
  local name="$1-$2"
  start_server "$name" "$2"
  echo "== $name   $(uptime)" | tee "$OUT/$name.txt"
  echo "\$ reservoir bench --url $URL --admin-key bench --scenario $1 --connections $CONNECTIONS --duration $DURATION --warmup $WARMUP" | tee -a "$OUT/$name.txt"
  "$R" bench --url "$URL" --admin-key bench --scenario "$1" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup "$WARMUP" | tee -a "$OUT/$name.txt"
  stop_all
}

SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -eq 0 ]] && SCENARIOS=(charge booking)
for s in "${SCENARIOS[@]}"; do
  run "$s" embedded
  run "$s" kafka
done
echo "reports in $OUT"
