#!/usr/bin/env bash
# Installs what is needed, builds, and runs netdemo with the given arguments.
#   scripts/run.sh tcp-server --port 9999
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
exec "${BUILD_DIR:-$root/build}/netdemo" "$@"
