#!/usr/bin/env bash
# Configures and builds netdemo (Release by default) into build/ (or $BUILD_DIR).
# Extra arguments go to cmake's configure step, e.g. -DNETDEMO_WERROR=ON.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
