#!/usr/bin/env bash
# Runs the PostgreSQL baseline and Reservoir on the same work, in one window
# on this machine: pgbench before, Reservoir, pgbench again after. The ratio
# is taken to the mean of the two PostgreSQL runs, as `bench --compare` does
# with the HTTP ceiling, because the machine's speed drifts.
#
# The cluster is the baseline's (../shared/baselines/postgres/results.md):
# same settings, same schema, same reset, same pgbench flags. It lives in a
# temporary directory and is removed afterwards. Needs root (the cluster runs
# as the postgres user); installs Debian's postgresql if it is missing.
#
# Two works: B_charge against the charge scenario (a transaction against a
# request), and C_hold_pay against the booking scenario in paid reservations
# per second (PostgreSQL holds and pays in one transaction; Reservoir's
# booking flow takes a token, holds, charges the price and pays in four
# requests). Beside each, the trivial cpp-httplib handler (`bench --scenario
# ceiling`, the charge request stream) in the same window: the most any server
# behind cpp-httplib could serve here.
#
# usage: tools/bench/postgres.sh   (about 2.5 minutes)
# env: BIN (default build/release/tools/reservoir), PG_BASELINE (default
#      ../shared/baselines/postgres), CLIENTS (64), PG_SECONDS (20),
#      DURATION (10s, Reservoir's), PGPORT (55433), PORT (18093),
#      OUT (/tmp/reservoir-bench)
set -euo pipefail

BIN=${BIN:-build/release/tools/reservoir}
PG_BASELINE=${PG_BASELINE:-../shared/baselines/postgres}
CLIENTS=${CLIENTS:-64}
PG_SECONDS=${PG_SECONDS:-20}
DURATION=${DURATION:-10s}
PGPORT=${PGPORT:-55433}
PORT=${PORT:-18093}
OUT=${OUT:-/tmp/reservoir-bench}
SCRIPTS="$(cd "$PG_BASELINE" && pwd)/scripts"
[[ -x "$BIN" ]] || { echo "no $BIN: build it (cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build/release reservoir) or set BIN" >&2; exit 1; }
[[ -f "$SCRIPTS/B_charge.sql" ]] || { echo "no baseline scripts in $SCRIPTS (set PG_BASELINE)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root: the cluster runs as the postgres user" >&2; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [[ -z "$(pg_bin)" ]] || ! command -v pgbench >/dev/null; then
  echo "== installing Debian's postgresql" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PGBIN=$(pg_bin)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/reservoir-pg.XXXXXX)
chmod 755 "$WORK"
cp "$BIN" "$WORK/reservoir"
SERVER=""
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== creating the baseline's cluster in $WORK/pg (port $PGPORT)" >&2
install -d -o postgres -g postgres "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust >/dev/null
cat >>"$WORK/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
max_connections = 200
shared_buffers = 1GB
effective_cache_size = 4GB
work_mem = 8MB
max_wal_size = 4GB
checkpoint_timeout = 15min
wal_level = replica
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w start >/dev/null
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE concert"
"${PSQL[@]}" -d concert -c "SET client_min_messages = warning" -f "$SCRIPTS/schema.sql" >/dev/null
"${PSQL[@]}" -d concert -F ' ' -c "SELECT version()" \
  -c "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers')" |
  tee "$OUT/postgres-settings.txt" >&2

pgbench_run() {  # $1: run name, $2: script; prints "TPS paid_per_s"
  "${PSQL[@]}" -d concert -v nsched=200 -f "$SCRIPTS/reset.sql" >/dev/null
  rm -rf "$WORK/pglog" && mkdir "$WORK/pglog"
  # As the baseline's run.sh: --log too, since it costs pgbench some CPU.
  pgbench -h 127.0.0.1 -p "$PGPORT" -U postgres -n -M prepared -c "$CLIENTS" -j 2 \
    -T "$PG_SECONDS" --log --log-prefix="$WORK/pglog/tx" -D nsched=200 -f "$SCRIPTS/$2" \
    concert >"$OUT/$1.txt" 2>&1
  local tps paid
  tps=$(grep -oP 'tps = \K[0-9.]+' "$OUT/$1.txt" | tail -1)
  paid=$("${PSQL[@]}" -d concert -c "SELECT count(*) FROM payments")
  awk -v t="$tps" -v p="$paid" -v s="$PG_SECONDS" 'BEGIN{printf "%.0f %.0f\n", t, p / s}'
}

reservoir_run() {  # $1: scenario; prints "requests/s paid_per_s"
  rm -rf "$WORK/data"
  "$WORK/reservoir" serve --data "$WORK/data" --port "$PORT" --admin-key bench \
    --active-tokens 100000 --hold-ttl 5m >"$OUT/pg-reservoir-$1.server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  "$WORK/reservoir" bench --url "http://127.0.0.1:$PORT" --admin-key bench --scenario "$1" \
    --connections "$CLIENTS" --duration "$DURATION" --warmup 2s --json >"$OUT/pg-reservoir-$1.txt"
  kill "$SERVER"; wait "$SERVER" || true; SERVER=""
  # Paid reservations per second: PaymentCompleted events of the log, in the
  # loaded time less its first 2 s and last 1 s (ramp-up and wind-down).
  local paid
  paid=$("$WORK/reservoir" replay --data "$WORK/data" --format json |
    awk -F'"time":"' '/"type":"PaymentCompleted"/{split($2, a, "\""); print a[1]}' |
    awk -F'[T:Z]' '{t = $2 * 3600 + $3 * 60 + $4; v[NR] = t} END{
      if (NR < 2) { print 0; exit }
      lo = v[1] + 2; hi = v[NR] - 1; n = 0
      for (i = 1; i <= NR; ++i) if (v[i] >= lo && v[i] < hi) ++n
      printf "%.0f\n", (hi > lo ? n / (hi - lo) : 0)}')
  echo "$(awk '/^throughput_rps/{printf "%.0f", $2}' "$OUT/pg-reservoir-$1.txt") $paid"
}

ceiling_run() {  # $1: scenario whose request stream the ceiling serves; prints requests/s
  "$WORK/reservoir" bench --scenario ceiling --connections "$CLIENTS" --duration "$DURATION" \
    --warmup 2s --json >"$OUT/pg-ceiling-$1.txt"
  awk '/^throughput_rps/{printf "%.0f", $2}' "$OUT/pg-ceiling-$1.txt"
}

compare() {  # $1: pgbench script, $2: reservoir scenario, $3: tps or paid
  local b a r c
  echo "== pgbench $1, $CLIENTS clients, $PG_SECONDS s (before)" >&2
  b=($(pgbench_run "pg-$1-before" "$1")); echo "   ${b[0]} TPS, ${b[1]} paid/s" >&2
  echo "== reservoir bench --scenario $2, $CLIENTS connections, $DURATION" >&2
  r=($(reservoir_run "$2")); echo "   ${r[0]} requests/s, ${r[1]} paid/s" >&2
  echo "== the HTTP ceiling, $CLIENTS connections, $DURATION" >&2
  c=$(ceiling_run "$2"); echo "   $c requests/s" >&2
  echo "== pgbench $1 (after)" >&2
  a=($(pgbench_run "pg-$1-after" "$1")); echo "   ${a[0]} TPS, ${a[1]} paid/s" >&2
  # tps: a transaction against a request. paid: paid reservations per second;
  # the ceiling's bound is its requests/s over Reservoir's requests per payment.
  local col=0; [[ $3 == paid ]] && col=1
  local unit="transactions/s against requests/s"; [[ $3 == paid ]] && unit="paid reservations/s"
  awk -v w="$1 vs $2 ($unit)" -v b="${b[$col]}" -v a="${a[$col]}" -v r="${r[$col]}" \
    -v c="$c" -v rr="${r[0]}" -v rp="${r[1]}" -v paid=$col 'BEGIN{
    m = (a + b) / 2
    bound = paid ? (rp > 0 ? c * rp / rr : 0) : c
    printf "%s\n  postgres before %.0f, after %.0f; reservoir %.0f: %.2fx (target 5x)\n", w, b, a, r, r / m
    printf "  the HTTP ceiling in the same window: %.0f, %.2fx postgres\n", bound, bound / m
  }' | tee -a "$OUT/postgres-vs-reservoir.txt"
}

: >"$OUT/postgres-vs-reservoir.txt"
compare B_charge.sql charge tps
compare C_hold_pay.sql booking paid
