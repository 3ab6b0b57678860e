#!/usr/bin/env bash
# netdemo as an outside project sees it (docs/embedding.md): installs a build into a
# temporary prefix, builds examples/ against it with find_package(netdemo 0.2 CONFIG) and
# runs every example against local servers; then configures examples/ with add_subdirectory
# and with FetchContent and builds the sans-I/O example each way (the whole library is
# built once already; these check the targets and aliases a subproject gets).
#
#   scripts/package-test.sh [BUILD_DIR]     (default build/, already built)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
work="$(mktemp -d /tmp/netdemo-package.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
jobs="$(nproc)"
step() { echo "package-test: $*"; }

step "install into $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/lib/cmake/netdemo/netdemoConfigVersion.cmake"
version="$("$work/prefix/bin/netdemo" --version)"
[ "$version" = "netdemo 0.2.0" ] || { echo "package-test: installed netdemo says '$version'" >&2; exit 1; }

step "build examples/ against the installed package"
cmake -S "$root/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/examples" -j"$jobs" >/dev/null
ex="$work/examples"

# The port a server started on port 0 prints (in `pattern`, the port last), once it is there.
wait_for_port() {  # name output-file pattern
  local name="$1" out="$2" pattern="$3"
  for _ in $(seq 100); do
    if grep -qE "$pattern" "$out"; then
      grep -oE "$pattern" "$out" | head -1 | grep -oE '[0-9]+$'
      return
    fi
    sleep 0.05
  done
  echo "package-test: $name did not start:" >&2
  cat "$out" >&2
  exit 1
}
# Started here, not in a $(...) subshell, so that its pid reaches the cleanup.
start_server() {  # name netdemo-args...
  local name="$1"
  shift
  "$work/prefix/bin/netdemo" "$@" --host 127.0.0.1 --port 0 >"$work/$name.out" 2>&1 &
  pids+=("$!")
}
server_port() {  # name
  wait_for_port "$1" "$work/$1.out" 'Listening on [a-z]+ 127\.0\.0\.1:[0-9]+'
}

step "proto_only, own_protocol, embedded_server"
"$ex/proto_only" >/dev/null
"$ex/own_protocol" >/dev/null
"$ex/embedded_server" >/dev/null

step "clients against netdemo tcp-server and udp-server"
start_server tcp tcp-server
start_server udp udp-server
tcp_port="$(server_port tcp)"
udp_port="$(server_port udp)"
"$ex/clients" 127.0.0.1 "$tcp_port" "$udp_port" Michael Tracy >/dev/null

step "download from python3 -m http.server"
mkdir -p "$work/www"
head -c 300000 /dev/urandom >"$work/www/file.bin"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/http.out" 2>&1 &
pids+=("$!")
http_port="$(wait_for_port http.server "$work/http.out" 'port [0-9]+')"
"$ex/download" "http://127.0.0.1:$http_port/file.bin" "$work/got.bin" >/dev/null
cmp "$work/www/file.bin" "$work/got.bin"

for mode in subdirectory fetchcontent; do
  step "examples/ with NETDEMO_FROM=$mode (proto_only)"
  cmake -S "$root/examples" -B "$work/$mode" -DNETDEMO_FROM="$mode" -DNETDEMO_SOURCE_DIR="$root" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/$mode" -j"$jobs" --target proto_only >/dev/null
  "$work/$mode/proto_only" >/dev/null
done
step "ok"
