#!/usr/bin/env bash
# Reproduces the SPEC §4 figures of docs/BENCHMARKS.md. Each server-side run
# gets a fresh server on a fresh --data directory, which is stopped and removed
# afterwards. The binary is copied first so that a rebuild during the runs
# cannot change it underneath them.
#
# usage: tools/bench/spec4.sh [figure...]   (default: all of them)
#   figures: ceiling charge booking query hot core core-os burst
# env: BIN (default build/tools/reservoir), PORT (18090), DURATION (10s),
#      WARMUP (2s), CONNECTIONS (64), OUT (/tmp/reservoir-bench),
#      SERVER_FLAGS (more serve flags, e.g. "--writer-priority normal")
set -euo pipefail

BIN=${BIN:-build/tools/reservoir}
PORT=${PORT:-18090}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
OUT=${OUT:-/tmp/reservoir-bench}
URL="http://127.0.0.1:${PORT}"
mkdir -p "$OUT"
WORK=$(mktemp -d)
cp "$BIN" "$WORK/reservoir"
R="$WORK/reservoir"
SERVER=""

cleanup() {
  if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {  # $1: run name; the flags are those docs/BENCHMARKS.md gives
  "$R" serve --data "$WORK/data-$1" --port "$PORT" --admin-key bench \
    --active-tokens 100000 --hold-ttl 5m ${SERVER_FLAGS:-} >"$OUT/$1.server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not start; see $OUT/$1.server.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER"
  wait "$SERVER" || true
  SERVER=""
  rm -rf "$WORK"/data-*
}

bench() {  # $1: run name, then the bench flags
  local name=$1
  shift
  echo "== $name   $(uptime)" | tee "$OUT/$name.txt"
  echo "\$ reservoir bench $*" | tee -a "$OUT/$name.txt"
  echo "(extra serve flags: ${SERVER_FLAGS:-none})" | tee -a "$OUT/$name.txt"
  "$R" bench "$@" --json | tee -a "$OUT/$name.txt"
}

against_server() {  # $1: run name, $2: scenario, then more bench flags
  local name=$1 scenario=$2
  shift 2
  start_server "$name"
  bench "$name" --url "$URL" --admin-key bench --scenario "$scenario" \
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" "$@"
  stop_server
}

run_figure() {
  case "$1" in
    ceiling) bench ceiling --scenario ceiling --connections "$CONNECTIONS" \
               --duration "$DURATION" --warmup "$WARMUP" ;;
    charge) against_server charge charge --compare ;;
    booking) against_server booking booking --compare ;;
    query) against_server query query --compare ;;
    hot) against_server hot hot --compare ;;
    core) bench core --scenario core --duration "$DURATION" --warmup "$WARMUP" ;;
    core-os) bench core-os --scenario core --os-random --duration "$DURATION" --warmup "$WARMUP" ;;
    burst)
      start_server burst
      bench burst --url "$URL" --scenario burst --connections 5000
      stop_server ;;
    *) echo "unknown figure $1" >&2; exit 2 ;;
  esac
}

FIGURES=("$@")
[[ ${#FIGURES[@]} -eq 0 ]] && FIGURES=(ceiling charge booking query hot core core-os burst)
for f in "${FIGURES[@]}"; do run_figure "$f"; done
echo "reports in $OUT"
