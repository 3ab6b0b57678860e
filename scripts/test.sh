#!/usr/bin/env bash
# Installs what is needed, then builds and runs every test, in four stages (all by default):
#
#   release  g++ Release build with warnings as errors (build/); the whole suite; then
#            install it and build and run examples/ against the package (package-test.sh);
#            then the API reference with Doxygen, where a warning is a failure
#   asan     clang with ASan + UBSan and the fuzz targets (build-asan/); the whole suite,
#            the fuzz targets' seeds included, with no sanitizer report allowed
#   fuzz     each fuzz target for FUZZ_SECONDS (20) on its seeds (scripts/fuzz.sh)
#   tsan     clang with TSan (build-tsan/): the multi-threaded tests (the unit tests and the
#            --threads end-to-end tests), with no report allowed
#
#   scripts/test.sh               # everything (what CI runs)
#   scripts/test.sh release tsan  # some stages
#
# Sanitizer reports go to files (log_path) in a temporary directory: any file there fails
# the stage, and the end-to-end harness fails the test whose netdemo process wrote it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(release asan fuzz tsan)
jobs="$(nproc)"

"$root/scripts/setup.sh"

want() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
stamp() { echo "== $(date +%H:%M:%S) $*"; }

reports="$(mktemp -d /tmp/netdemo-sanitizer.XXXXXX)"
report_files() { find "$reports" -type f -name 'report*'; }
# Whatever ends the run (a failed test included), the reports are shown before they go.
show_reports() {
  if [ -n "$(report_files)" ]; then
    echo "test.sh: sanitizer reports:" >&2
    report_files | while read -r f; do echo "--- $f" >&2; cat "$f" >&2; done
  fi
  rm -rf "$reports"
}
trap show_reports EXIT
# libstdc++ is not built with TSan, so the reference counts of std::exception_ptr and of
# std::runtime_error's message live where TSan cannot see them: an exception made on one
# thread and dropped last on another (the HTTP name-lookup thread) looks like a race.
printf '%s\n' "race:std::runtime_error::~runtime_error" "race:std::__exception_ptr::exception_ptr::_M_release" \
  >"$reports/tsan.supp"
# halt_on_error + a distinct exit code: a report ends the process and fails its test even
# where stdout and stderr are not looked at. detect_leaks: a leak at exit is a report too.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/report"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=$reports/report"
export TSAN_OPTIONS="halt_on_error=1:exitcode=88:second_deadlock_stack=1:suppressions=$reports/tsan.supp:log_path=$reports/report"
if command -v llvm-symbolizer-14 >/dev/null; then export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer-14)"; fi

no_reports() {
  if [ -n "$(report_files)" ]; then
    echo "test.sh: $1: sanitizer reports were written (shown at the end)" >&2
    return 1
  fi
}

sanitized_build() {  # dir sanitizers [cmake args...]
  local dir="$1" san="$2"
  shift 2
  CXX=clang++-14 cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DNETDEMO_SANITIZE="$san" -DNETDEMO_BUILD_TESTS=ON "$@" >/dev/null
}

if want release; then
  stamp "release: build"
  BUILD_DIR="$build" "$root/scripts/build.sh" -DNETDEMO_WERROR=ON -DNETDEMO_BUILD_TESTS=ON
  stamp "release: tests"
  ctest --test-dir "$build" --output-on-failure --timeout 120 -j"$jobs"
  stamp "release: install, and the examples as an outside project"
  "$root/scripts/package-test.sh" "$build"
  stamp "release: the API reference (Doxygen; any warning fails it)"
  cmake --build "$build" --target doc
fi

if want asan || want fuzz; then
  stamp "asan: build"
  sanitized_build "$build-asan" address,undefined -DNETDEMO_FUZZ=ON
  cmake --build "$build-asan" -j"$jobs"
fi
if want asan; then
  stamp "asan: tests"
  ctest --test-dir "$build-asan" --output-on-failure --timeout 300 -j"$jobs"
  no_reports "asan"
fi
if want fuzz; then
  stamp "fuzz: ${FUZZ_SECONDS:-20} s a target"
  "$root/scripts/fuzz.sh" --build "$build-asan" --time "${FUZZ_SECONDS:-20}" --jobs "$jobs"
  no_reports "fuzz"
fi

if want tsan; then
  stamp "tsan: build"
  sanitized_build "$build-tsan" thread
  cmake --build "$build-tsan" -j"$jobs" --target netdemo_tests netdemo_app
  stamp "tsan: tests"
  # The unit tests (several run threads: op_block_cache, the connection count, the bench's
  # generator, the HTTP lookup thread) and the --threads end-to-end tests.
  ctest --test-dir "$build-tsan" --output-on-failure --timeout 300 -j"$jobs" -LE 'e2e|layers'
  ctest --test-dir "$build-tsan" --output-on-failure --timeout 300 -R '^e2e\.threads_e2e$'
  no_reports "tsan"
fi
stamp "all stages passed: ${stages[*]}"
