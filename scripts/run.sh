#!/usr/bin/env bash
# Installs what is needed, builds, and runs netdemo with the given arguments.
#   scripts/run.sh tcp-server --port 9999
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
# Only the executable: the test suite is scripts/test.sh's business.
"$root/scripts/build.sh" -DNETDEMO_BUILD_TESTS=OFF >/dev/null
exec "${BUILD_DIR:-$root/build}/netdemo" "$@"
