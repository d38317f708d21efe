#!/usr/bin/env bash
# Restart time (SPEC §4: a restart with 10 million events in the log serves
# in <= 10 s). Starts `reservoir serve` on an existing --data directory and
# reports, from the moment the process was started:
#   healthz_s  GET /healthz answers 200: state recovered (snapshot + tail, or
#              the whole log) and the HTTP server listening: commands work.
#   query_s    GET /api/v1/concerts answers 200: the projections have also
#              caught up with the log (queries wait for them, read-your-writes).
# plus the server's CPU time and peak memory (from /usr/bin/time -v) and its
# own stderr lines about the recovery. Then it stops the server with SIGTERM.
#
# usage: tools/bench/restart.sh BINARY DATA_DIR [PORT] [extra serve flags...]
#   e.g. tools/bench/restart.sh build-rel/tools/reservoir /tmp/g10m 18093
# Polls every 20 ms, for at most RESTART_MAX_S seconds (default 300). With
# RESTART_HOLD_S=N the server keeps running N more seconds before the stop,
# e.g. to let it write its first snapshot after a full replay.
set -euo pipefail

bin=${1:?usage: restart.sh BINARY DATA_DIR [PORT] [serve flags...]}
data=${2:?usage: restart.sh BINARY DATA_DIR [PORT] [serve flags...]}
port=${3:-18093}
shift $(($# < 3 ? $# : 3))
max_s=${RESTART_MAX_S:-300}
log=$(mktemp /tmp/restart.XXXXXX)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

start=$(now)
/usr/bin/time -v "$bin" serve --data "$data" --port "$port" "$@" >"$log.out" 2>"$log" &
pid=$!
health="" query=""
deadline=$(awk -v a="$start" -v m="$max_s" 'BEGIN { printf "%d", a + m }')
while [[ -z "$query" && $(date +%s) -lt $deadline ]]; do
  if [[ -z "$health" ]] && curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; then
    health=$(since "$start")
  fi
  if [[ -n "$health" ]] && curl -sf -o /dev/null "http://127.0.0.1:$port/api/v1/concerts"; then
    query=$(since "$start")
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
sleep "${RESTART_HOLD_S:-0}"
server=$(pgrep -P "$pid" -f "serve --data" || true)
[[ -n "$server" ]] && kill -TERM "$server"
wait "$pid" || true
echo "healthz_s ${health:-none}"
echo "query_s   ${query:-none}"
grep -E "User time|System time|Maximum resident|Elapsed" "$log" | sed 's/^\s*/server /'
grep -E "^reservoir: (replaying|restored|snapshot|no usable)" "$log" || true
rm -f "$log" "$log.out"
