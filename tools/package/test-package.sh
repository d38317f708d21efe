#!/usr/bin/env bash
# test-package.sh BUILD_DIR: the "package" stage of the test command (SPEC §8).
# Builds the .deb with CPack in BUILD_DIR (already built), installs it with
# dpkg -i, checks the user, files and permissions, runs `systemd-analyze verify`
# on the installed unit, starts the INSTALLED executable as the `reservoir`
# user with the INSTALLED configuration, waits for /healthz, stops it with
# SIGTERM (exit 0 expected), then purges the package and checks that its files,
# data and user are gone. Needs root (dpkg). A stale install or server left by
# a failed run is cleaned up first, so the script can always run again.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: $0 BUILD_DIR (a configured and built CMake build directory)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
build=$(cd "$1" && pwd)
started=$SECONDS
pidfile=/run/reservoir-package-test.pid
work=$(mktemp -d /tmp/reservoir-package-test.XXXXXX)
chmod 0755 "$work"  # the reservoir user reads a test config from here

step() { echo "package: $*"; }
fail() {
  echo "package: FAILED: $*" >&2
  exit 1
}

# Stops the server this script started (found by its pid file and checked
# to be the installed executable) and purges the package.
cleanup() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/reservoir ]; then
      step "stopping the server left running (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
  if dpkg-query -W -f='${Status}' reservoir 2>/dev/null | grep -qv "not-installed"; then
    step "purging the installed reservoir package"
    dpkg --purge reservoir >/dev/null || dpkg --purge --force-remove-reinstreq reservoir >/dev/null
  fi
}
on_exit() {
  rc=$?
  if [ $rc -ne 0 ]; then
    [ -f "$work/serve.log" ] && { echo "--- server output:"; cat "$work/serve.log"; } >&2
    cleanup || true
  fi
  rm -rf "$work"
  exit $rc
}
trap on_exit EXIT

cleanup

step "1/6 cpack -G DEB in $build"
rm -f "$build"/reservoir_*.deb
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$build"/reservoir_*_*.deb)
step "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Version Depends | sed 's/^/package:   /'
# RocksDB is linked statically (Debian's CMake package exports librocksdb.a), so
# its compression libraries appear here rather than librocksdb itself.
for lib in librdkafka libcpp-httplib libssl libzstd; do
  dpkg-deb --field "$deb" Depends | grep -q "$lib" || fail "Depends lacks $lib"
done
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/reservoir ./lib/systemd/system/reservoir.service ./etc/reservoir/reservoir.conf \
  ./usr/share/man/man1/reservoir.1.gz ./usr/share/doc/reservoir/copyright; do
  grep -qx "$f" <<<"$contents" || fail "$f missing from the package"
done
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/reservoir/reservoir.conf ] ||
  fail "reservoir.conf is not a conffile"

step "2/6 dpkg -i"
if ! dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
  # A missing runtime library: let apt resolve the declared Depends.
  cat "$work/dpkg.log"
  step "dpkg -i failed; apt-get install -y $deb"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
fi
dpkg-query -W -f='${Status}\n' reservoir | grep -q "install ok installed" || fail "not installed"

step "3/6 user, files, permissions, --help"
IFS=: read -r _ _ _ _ _ home shell < <(getent passwd reservoir) || fail "no user reservoir"
[ "$home" = /var/lib/reservoir ] || fail "home is $home"
case "$shell" in */nologin | */false) ;; *) fail "login shell $shell" ;; esac
[ "$(stat -c %U:%G:%a /var/lib/reservoir)" = reservoir:reservoir:750 ] ||
  fail "/var/lib/reservoir is $(stat -c %U:%G:%a /var/lib/reservoir)"
[ "$(stat -c %U:%G:%a /etc/reservoir/reservoir.conf)" = root:reservoir:640 ] ||
  fail "reservoir.conf is $(stat -c %U:%G:%a /etc/reservoir/reservoir.conf)"
/usr/bin/reservoir --help >/dev/null
/usr/bin/reservoir serve --help | grep -q -- "--config FILE" || fail "serve --help lacks --config"
wants=/etc/systemd/system/multi-user.target.wants/reservoir.service
[ "$(readlink "$wants")" = /lib/systemd/system/reservoir.service ] || fail "the unit is not enabled"
zcat /usr/share/man/man1/reservoir.1.gz | grep -q '^\.SS reservoir serve' || fail "man page"
step "user reservoir (home $home, shell $shell); /var/lib/reservoir 0750 and" \
  "/etc/reservoir/reservoir.conf root:reservoir 0640; --help and the man page answer; the unit is enabled"

step "4/6 systemd-analyze verify /lib/systemd/system/reservoir.service"
# Checks the unit's syntax, every setting, that ExecStart is executable and
# that its Documentation= man page opens. It needs no running systemd, so it
# gives the same verdict in a container (where systemd is not PID 1) as on a
# host: any output at all is a finding and fails the stage. Without man-db
# (or with man pages excluded by dpkg) the man: link cannot be checked.
man_opt=()
if ! command -v man >/dev/null || [ ! -e /usr/share/man/man1/reservoir.1.gz ]; then
  man_opt=(--man=no)
  step "(no man-db or man pages excluded: --man=no)"
fi
verify=$(systemd-analyze verify "${man_opt[@]}" /lib/systemd/system/reservoir.service 2>&1) ||
  fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify printed: $verify"
step "systemd-analyze verify: no findings"

step "5/6 the installed server, as user reservoir, with the installed configuration"
# A bad configuration file is refused at start, naming its line (exit 2).
printf 'port = 8080\nno-such-key = 1\n' >"$work/bad.conf"
chmod 0644 "$work/bad.conf"
set +e
setpriv --reuid=reservoir --regid=reservoir --init-groups \
  /usr/bin/reservoir serve --config "$work/bad.conf" >"$work/bad.log" 2>&1
rc=$?
set -e
if [ $rc -ne 2 ] || ! grep -q "config $work/bad.conf:2: unknown key 'no-such-key'" "$work/bad.log"; then
  fail "bad config: exit $rc, $(cat "$work/bad.log")"
fi
step "a config with an unknown key is refused: $(head -1 "$work/bad.log")"
# --port on the command line wins over the file's port (8080 may be taken).
port=""
for p in $(seq 18380 18480); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port in 18380..18480"
(cd /var/lib/reservoir && exec setpriv --reuid=reservoir --regid=reservoir --init-groups \
  /usr/bin/reservoir serve --config /etc/reservoir/reservoir.conf --port "$port") \
  >"$work/serve.log" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
health=""
for _ in $(seq 300); do
  health=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null) && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited before answering /healthz"
  sleep 0.1
done
[ -n "$health" ] || fail "no answer from /healthz on port $port within 30 s"
step "GET /healthz on port $port: $health"
[ "$(stat -c %U /var/lib/reservoir/log/events.log)" = reservoir ] ||
  fail "the event log is not under /var/lib/reservoir or not owned by reservoir"
[ "$(ps -o user= -p "$pid")" = reservoir ] || fail "the server does not run as reservoir"
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
rm -f "$pidfile"
[ $rc -eq 0 ] || fail "the server exited $rc after SIGTERM"
step "SIGTERM: the server stopped with exit 0 ($(tail -1 "$work/serve.log"))"

step "6/6 reinstall (the upgrade path), dpkg -r, dpkg --purge"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i over itself"; }
[ "$(stat -c %U:%G:%a /etc/reservoir/reservoir.conf)" = root:reservoir:640 ] ||
  fail "reinstalled: reservoir.conf is $(stat -c %U:%G:%a /etc/reservoir/reservoir.conf)"
dpkg -r reservoir >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/reservoir ] || fail "/usr/bin/reservoir is left after dpkg -r"
if [ ! -f /etc/reservoir/reservoir.conf ] || [ ! -f /var/lib/reservoir/log/events.log ] ||
  ! getent passwd reservoir >/dev/null; then
  fail "dpkg -r removed the configuration, data or user"
fi
step "dpkg -r kept /etc/reservoir/reservoir.conf, the event log and the user"
dpkg --purge reservoir >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/reservoir /lib/systemd/system/reservoir.service /etc/reservoir \
  /var/lib/reservoir /usr/share/man/man1/reservoir.1.gz /usr/share/doc/reservoir "$wants" \
  /etc/systemd/system/reservoir.service; do
  if [ -e "$f" ] || [ -L "$f" ]; then fail "$f is left after purge"; fi
done
! getent passwd reservoir >/dev/null || fail "user reservoir is left after purge"
! getent group reservoir >/dev/null || fail "group reservoir is left after purge"
step "purge: files, data, unit links, user and group are gone"
step "passed in $((SECONDS - started)) s"
