#!/usr/bin/env bash
# The console's browser test (tests/browser/console_test.mjs): a real
# headless Chromium (Debian's `chromium`, tools/install-deps.sh with
# RESERVOIR_WITH_NPM=1) driven by puppeteer-core from npm, installed once
# into BUILD_DIR/browser. Exits non-zero when a check fails.
#   tools/browser-test.sh BUILD_DIR [--screenshot FILE]
set -euo pipefail

build=${1:?usage: tools/browser-test.sh BUILD_DIR [--screenshot FILE]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
chromium=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
  echo "browser-test: no chromium (install it: RESERVOIR_WITH_NPM=1 tools/install-deps.sh)" >&2
  exit 2
fi
# puppeteer-core 24 drives Chromium over the DevTools protocol; it downloads
# no browser of its own.
modules="$build/browser"
if [ ! -f "$modules/node_modules/puppeteer-core/package.json" ]; then
  mkdir -p "$modules"
  npm install --prefix "$modules" --no-audit --no-fund --silent puppeteer-core@24
fi
RESERVOIR_BIN="$build/tools/reservoir" PUPPETEER_DIR="$modules" CHROMIUM="$chromium" \
  node "$root/tests/browser/console_test.mjs" "$@"
