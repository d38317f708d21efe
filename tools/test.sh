#!/usr/bin/env bash
# One command from a fresh Debian machine to every test passing: installs
# what is missing, then builds and runs the whole suite three times:
#   1. RelWithDebInfo       - unit + integration tests (ctest), then every
#                             listener's OpenAPI document through two npm validators,
#                             then the .deb: built, installed with dpkg -i, its unit
#                             checked by systemd-analyze verify, the installed server
#                             run with the installed config, purged (tools/package/),
#                             then the console in headless Chromium (tools/browser-test.sh)
#   2. ASan + UBSan         - unit + integration tests (ctest)
#   3. TSan                 - unit tests (writer, log, follower, projections under threads);
#                             not the server: Debian's RocksDB/httplib aren't TSan-built,
#                             nor the KafkaLog tests: librdkafka's C11 threads crash TSan
#   4. fuzz                 - every libFuzzer target (clang, ASan+UBSan) for 20 s over its
#                             seed corpus (tools/fuzz.sh, docs/TESTING.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RESERVOIR_WITH_NPM=1 RESERVOIR_WITH_FUZZ=1 ./tools/install-deps.sh
jobs=$(nproc)

started=$SECONDS
stage_start=$SECONDS
stage_done() {  # what
  echo "=== $1: $((SECONDS - stage_start)) s (total $((SECONDS - started)) s)"
  stage_start=$SECONDS
}
stage_done "install"

# name, cmake flags...; BUILD_TARGETS: what ninja builds (default: all);
# TEST_JOBS: how many ctest shards run at once (default: one per core)
run_suite() {
  local name=$1; shift
  echo "=== ${name}: build"
  cmake -S . -B "build/${name}" -G Ninja "$@" >/dev/null
  # shellcheck disable=SC2086  # a list of target names
  ninja -C "build/${name}" -j "${jobs}" ${BUILD_TARGETS:-}
  stage_done "${name} build"
  echo "=== ${name}: test"
  # The shards (tests/CMakeLists.txt) run side by side: much of their time is
  # spent waiting on servers, brokers and timeouts.
  (cd "build/${name}" && ctest --output-on-failure -j "${TEST_JOBS:-${jobs}}")
  stage_done "${name} test"
}

# Line tables (-g1) rather than full debug information: stack traces keep
# their file and line, and the build takes about a third less time. Without
# sanitizers the shards use about one core between them, so twice as many run.
TEST_JOBS=$((jobs * 2)) run_suite default -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
echo "=== openapi: every listener's document through two OpenAPI 3.0 validators"
rm -rf build/openapi && mkdir -p build/openapi
RESERVOIR_OPENAPI_DIR=build/openapi build/default/tests/unit_tests -tc='openapi_document*'
./tools/check-openapi.sh build/openapi/*.json
stage_done "openapi"
echo "=== package: the .deb built, installed, verified, run and purged (tools/package/test-package.sh)"
./tools/package/test-package.sh build/default
stage_done "package"
echo "=== browser: the console in headless Chromium (tools/browser-test.sh)"
./tools/browser-test.sh build/default
stage_done "browser"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_suite asan -DCMAKE_BUILD_TYPE=Debug -DRESERVOIR_SANITIZE=address
# Under TSan only the unit tests run (tests/CMakeLists.txt says why), so
# only they are built: the server and the integration tests are not.
BUILD_TARGETS=unit_tests TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  run_suite tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DRESERVOIR_SANITIZE=thread
echo "=== fuzz: build"
./tools/fuzz.sh build
stage_done "fuzz build"
echo "=== fuzz: run"
./tools/fuzz.sh run 20
stage_done "fuzz run"
echo "=== all suites passed in $((SECONDS - started)) s"
