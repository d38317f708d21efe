#!/usr/bin/env bash
# One command from a fresh Debian machine to a running Reservoir with demo
# data: installs what is missing, builds (Release), serves on the embedded
# log, with the concert-events dialect on port 8081. Extra arguments go to
# `reservoir serve` (e.g. --port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release reservoir
exec ./build/release/tools/reservoir serve --demo --api-port concert-events=8081 "$@"
