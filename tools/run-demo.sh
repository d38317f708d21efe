#!/usr/bin/env bash
# One command from a fresh Debian machine to a running Reservoir with demo
# data: installs what is missing, builds (Release), serves on the embedded
# log, with the concert-events dialect on port 8081. Extra arguments go to
# `reservoir serve` (e.g. --port 9090). The console's admin key is printed
# at start.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release reservoir
# The console (/console) needs an admin key: a fresh random one per run, kept
# in a 0600 config file rather than on the command line (where `ps` shows it).
conf=build/release/demo.conf
(umask 077 && printf 'admin-key = %s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$conf")
echo "demo: sign in to the console with the admin key in $conf: $(sed 's/^admin-key = //' "$conf")"
exec ./build/release/tools/reservoir serve --demo --config "$conf" --api-port concert-events=8081 "$@"
