#!/usr/bin/env bash
# Runs the libFuzzer targets of test/fuzz (docs/reliability.md), each for --time seconds on
# its seed corpus, and prints one line per target: executions, new inputs, result.
#
#   scripts/fuzz.sh --time 600              # every target 10 minutes (a long run)
#   scripts/fuzz.sh --time 20 --jobs 2      # what CI does
#   scripts/fuzz.sh --time 300 url cookies  # some targets only
#
# It configures and builds (clang, ASan + UBSan, -DNETDEMO_FUZZ=ON) into build-fuzz/, or
# into --build DIR (an existing such build: CI passes its ASan build). Inputs the fuzzer
# finds go to a temporary directory, so the tree's corpus only grows by hand; a crash's
# reproducer is kept in DIR/fuzz/artifacts/<target>/ (run it: DIR/fuzz/fuzz_<target> FILE).
# Targets listed in test/fuzz/known-findings.txt must crash on their seeds (a known defect
# that is being fixed); they then fuzz on past crashes for the time given, every crashing
# input kept. Anything else found fails the run (exit 1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
seconds=60
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls "$root/test/fuzz/corpus")
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DNETDEMO_SANITIZE=address,undefined -DNETDEMO_FUZZ=ON -DNETDEMO_BUILD_TESTS=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

# The caller's sanitizer settings (scripts/test.sh's) or these, but reports go to stderr:
# each target's log, shown when it fails (its exit code says it failed).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}:log_path=stderr"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}:log_path=stderr"

known="$root/test/fuzz/known-findings.txt"
is_known() { grep -qE "^$1([[:space:]]|$)" "$known" 2>/dev/null; }

work="$(mktemp -d /tmp/netdemo-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT

run_one() {
  local name="$1"
  local exe="$build/fuzz/fuzz_$name" seeds="$root/test/fuzz/corpus/$name"
  local art="$build/fuzz/artifacts/$name/"
  mkdir -p "$work/$name" "$art"
  local rc=0
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or a bomb.
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art" "$work/$name" "$seeds" >"$work/$name.log" 2>&1 || rc=$?
  local runs new found
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)"
  new="$(find "$work/$name" -type f | wc -l)"
  found="$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$work/$name.log" | tail -1)"
  local verdict
  if [ "$rc" -eq 0 ]; then
    verdict="ok"
    if is_known "$name"; then verdict="FAIL: a known finding (known-findings.txt) is no longer found"; fi
  elif is_known "$name"; then
    # The seeds crash at once: fuzz on past that crash (and any other) for the time given.
    # Each input that crashes is kept in $art; whether one is new is for the reader to see.
    "$exe" -fork=1 -ignore_crashes=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$art" "$work/$name" "$seeds" >"$work/$name.log" 2>&1 || true
    runs="$(sed -n 's/^#\([0-9]*\): cov.*/\1/p' "$work/$name.log" | tail -1)"
    local crashes
    crashes="$(sed -n 's/.*oom\/timeout\/crash: [0-9]*\/[0-9]*\/\([0-9]*\).*/\1/p' "$work/$name.log" | tail -1)"
    new="$(find "$work/$name" -type f | wc -l)"
    verdict="known finding: $found; then ${crashes:-0} crashing inputs (all kept in $art)"
  else
    verdict="FAIL (exit $rc): $found"
  fi
  printf '%-16s %12s runs %6s new inputs  %s\n' "fuzz_$name" "${runs:-?}" "$new" "$verdict" >"$work/$name.result"
  case "$verdict" in
    FAIL*) { echo "--- fuzz_$name, last lines of its log:"; tail -40 "$work/$name.log"; } >>"$work/$name.result"; return 1 ;;
  esac
}

echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
failed=0
running=0
for name in "${targets[@]}"; do
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
for name in "${targets[@]}"; do cat "$work/$name.result"; done
exit "$failed"
