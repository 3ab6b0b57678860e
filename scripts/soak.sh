#!/usr/bin/env bash
# Soak: a mixed, hostile load against one netdemo server per role and transport, with every
# legitimate reply checked and each server's RSS sampled every second (docs/reliability.md).
#   scripts/soak.sh --duration 10m [--out DIR] [--netdemo PATH] [--seed N]
# Prints one JSON line on stdout; writes DIR/rss.csv, DIR/rss.png and the servers' logs
# (DIR defaults to build/soak). Exit 0 when nothing was lost or wrong and every server lived
# and stopped cleanly, 1 otherwise, 2 on a usage or start-up problem, 130 on Ctrl+C.
# Loopback only; it stops everything it started, also on Ctrl+C.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

duration=60
out="$root/build/soak"
nd="${NETDEMO:-$root/build/netdemo}"
seed=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="${2:?--duration needs a value}"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --netdemo) nd="${2:?--netdemo needs a path}"; shift 2 ;;
    --netdemo=*) nd="${1#*=}"; shift ;;
    --seed) seed=(--seed "${2:?--seed needs a number}"); shift 2 ;;
    --seed=*) seed=(--seed "${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ ! -x "$nd" ]; then
  echo "soak.sh: no netdemo binary at $nd; build it first:" >&2
  echo "  cmake --build build --target netdemo_app -j2   (or set NETDEMO / --netdemo)" >&2
  exit 2
fi

# The plot needs gnuplot; without it the soak still runs and rss.csv holds the samples.
if ! command -v gnuplot >/dev/null 2>&1; then
  sudo=()
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo=(sudo -n)
  echo "soak.sh: installing gnuplot-nox for the RSS plot" >&2
  if ! { "${sudo[@]}" apt-get update -qq >&2 &&
         DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends gnuplot-nox >&2; }; then
    echo "soak.sh: could not install gnuplot-nox; running without the plot" >&2
  fi
fi

# exec: Ctrl+C and SIGTERM go straight to the driver, which closes the load and stops the
# servers it started (they run in sessions of their own, so the terminal's signal misses them).
exec python3 "$root/scripts/soak.py" --duration "$duration" --out "$out" --netdemo "$nd" "${seed[@]}"
