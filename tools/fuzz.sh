#!/usr/bin/env bash
# The fuzz stage of tools/test.sh, runnable alone (docs/TESTING.md):
#   tools/fuzz.sh build          configures build/fuzz with clang-14 (RESERVOIR_FUZZ=ON) and
#                                builds every libFuzzer target
#   tools/fuzz.sh run [SECONDS]  runs each target SECONDS (default 20) over its seed corpus
#                                tests/fuzz/<target>/ (regressions/ included); what it learns
#                                goes to build/fuzz/corpus/<target>/, never to tests/fuzz
# A crash, a sanitizer report, a failed check or a timeout fails the run, leaving the input
# in build/fuzz/artifacts/ (reproduce: build/fuzz/tests/fuzz/fuzz_<target> <that file>).
# Needs clang-14 and libclang-rt-14-dev (RESERVOIR_WITH_FUZZ=1 ./tools/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
targets=(canonical_body clinic_body dialect_service event_decode embedded_log snapshot idempotency
         plain_request)

# Runs in the background: a TERM (another target failed) stops its fuzzer too.
fuzz_one() {  # target, seconds: runs one target over its corpus; its log says how it went
  local t=$1 seconds=$2 start=$SECONDS fuzzer
  mkdir -p "build/fuzz/corpus/${t}"
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: a runaway allocation.
  trap 'kill $(jobs -p) 2>/dev/null; exit 1' TERM
  "build/fuzz/tests/fuzz/fuzz_${t}" -max_total_time="${seconds}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/${t}-" \
    "build/fuzz/corpus/${t}" "tests/fuzz/${t}" >"build/fuzz/${t}.log" 2>&1 &
  fuzzer=$!
  wait "${fuzzer}" || return 1
  echo "fuzz: ${t}: $(grep -o 'stat::number_of_executed_units: [0-9]*' "build/fuzz/${t}.log" \
    | grep -o '[0-9]*$' || echo '?') runs in $((SECONDS - start)) s"
}

fuzz_wait() {  # pid, target: fails the run if that target failed, stopping the others
  if ! wait "$1"; then
    tail -n 60 "build/fuzz/$2.log"
    echo "fuzz: $2 FAILED (log: build/fuzz/$2.log)"
    kill "${pids[@]}" 2>/dev/null
    exit 1
  fi
}

case "${1:-}" in
  build)
    CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
      -DRESERVOIR_FUZZ=ON >/dev/null
    ninja -C build/fuzz -j "${jobs}" fuzz_targets
    ;;
  run)
    seconds=${2:-20}
    mkdir -p build/fuzz/artifacts
    # Up to $(nproc) targets at a time: each is one single-threaded process.
    pids=() names=()
    for t in "${targets[@]}"; do
      if ((${#pids[@]} >= jobs)); then
        fuzz_wait "${pids[0]}" "${names[0]}"
        pids=("${pids[@]:1}") names=("${names[@]:1}")
      fi
      fuzz_one "${t}" "${seconds}" &
      pids+=($!) names+=("${t}")
    done
    for i in "${!pids[@]}"; do fuzz_wait "${pids[i]}" "${names[i]}"; done
    ;;
  *)
    echo "usage: tools/fuzz.sh build | run [SECONDS]" >&2
    exit 2
    ;;
esac
