#!/usr/bin/env bash
# Installs the Debian packages Reservoir needs to build and test, only those
# missing. Safe to run again. Needs root (or sudo).
set -euo pipefail

# kcat: the independent Kafka client of tests/integration/kafka_test.cc (docs/KAFKA.md).
packages=(g++ cmake ninja-build pkg-config libcpp-httplib-dev rapidjson-dev librdkafka-dev
          librocksdb-dev libfmt-dev doctest-dev curl kcat)
# The package stage (tools/package/test-package.sh): dpkg-shlibdeps computes the
# .deb's Depends; systemd-analyze verifies its unit (systemd need not be running).
packages+=(dpkg-dev systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The OpenAPI validators of the test command come from npm (tools/check-openapi.sh);
# a machine whose Node.js came from elsewhere already has npm.
if [ "${RESERVOIR_WITH_NPM:-0}" = 1 ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
# promtool (Debian's `prometheus` package): tests/integration/metrics_test.cc runs
# `promtool check metrics` on /metrics, and fails without it under CI=true.
if [ "${RESERVOIR_WITH_NPM:-0}" = 1 ] && ! command -v promtool >/dev/null; then
  missing+=(prometheus)
fi
# The console's browser test (tools/browser-test.sh): Debian's headless-capable
# Chromium, driven by puppeteer-core from npm (installed by the script itself).
if [ "${RESERVOIR_WITH_NPM:-0}" = 1 ]; then
  dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" ||
    missing+=(chromium)
fi
# The fuzz stage of the test command (tools/fuzz.sh) builds with clang and
# links libFuzzer and the sanitizer runtimes from libclang-rt.
if [ "${RESERVOIR_WITH_FUZZ:-0}" = 1 ]; then
  for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
