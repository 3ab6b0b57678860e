#!/usr/bin/env bash
# Installs what is needed, builds with warnings as errors, and runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
BUILD_DIR="$build" "$root/scripts/build.sh" -DNETDEMO_WERROR=ON -DNETDEMO_BUILD_TESTS=ON
cd "$build"
ctest --output-on-failure --timeout 120 -j"$(nproc)"
