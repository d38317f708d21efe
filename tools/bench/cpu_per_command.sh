#!/usr/bin/env bash
# Server CPU per command (issue 15). On the shared 2-core machines the
# req/s of one run moves ±20% with other work; the server's own CPU time
# per command moves much less, so A/B runs compare this first.
#
# Starts `reservoir serve` on a fresh data directory, attaches
# `perf stat -e task-clock,context-switches` to it for the whole
# `reservoir bench` run (set-up, warm-up and measured window), reads
# reservoir_commands_total (every domain's, summed) from /metrics before and after, stops the server
# and prints one line:
#   LABEL us/cmd=… cs/cmd=… cmds=… rps=… p99=… load=…
# us/cmd is the server's task-clock (every thread) over the commands it
# executed in that time; cs/cmd its context switches per command; rps and
# p99 (ms) are the bench's measured window; load the 1-minute load average
# at the start.
#
# usage: tools/bench/cpu_per_command.sh BINARY PORT LABEL [SCENARIO] [serve flags...]
#   e.g. for i in 1 2 3; do
#          tools/bench/cpu_per_command.sh /tmp/a 18512 after charge
#          tools/bench/cpu_per_command.sh /tmp/b 18513 before charge
#        done
# BENCH_DURATION (default 8s) and BENCH_WARMUP (2s) set the bench's window.
set -euo pipefail

bin=${1:?usage: cpu_per_command.sh BINARY PORT LABEL [SCENARIO] [serve flags...]}
port=${2:?usage: cpu_per_command.sh BINARY PORT LABEL [SCENARIO] [serve flags...]}
label=${3:?usage: cpu_per_command.sh BINARY PORT LABEL [SCENARIO] [serve flags...]}
scenario=${4:-charge}
shift $(($# < 4 ? $# : 4))
work=$(mktemp -d /tmp/cpu-per-command.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$bin" serve --data "$work/data" --port "$port" --admin-key bench --active-tokens 100000 \
  --hold-ttl 5m "$@" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
commands() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^reservoir_commands_total/ { n += $2 } END { print n + 0 }'; }

before=$(commands)
load=$(cut -d' ' -f1 /proc/loadavg)
perf stat -e task-clock,context-switches -x, -o "$work/stat.txt" -p "$server" &
stat=$!
"$bin" bench --url "http://127.0.0.1:$port" --admin-key bench --scenario "$scenario" \
  --connections 64 --duration "${BENCH_DURATION:-8s}" --warmup "${BENCH_WARMUP:-2s}" \
  >"$work/bench.txt" 2>/dev/null || true
kill -INT "$stat"
wait "$stat" || true
after=$(commands)
kill "$server"
wait "$server" 2>/dev/null || true

awk -F, -v label="$label" -v n="$((after - before))" -v load="$load" \
  -v rps="$(awk '$1 == "throughput_rps" { printf "%.0f", $2 }' "$work/bench.txt")" \
  -v p99="$(awk '$1 == "latency" { for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1) }' "$work/bench.txt")" \
  '/task-clock/ { ms = $1 } /context-switches/ { cs = $1 }
   END { printf "%s us/cmd=%.1f cs/cmd=%.2f cmds=%d rps=%s p99=%s load=%s\n",
                label, ms * 1000 / n, cs / n, n, rps, p99, load }' "$work/stat.txt"
