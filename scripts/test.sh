#!/bin/sh
# Builds dlcc and runs every test; then builds again with AddressSanitizer
# and UndefinedBehaviorSanitizer and runs every test under them.
# scripts/test.sh --quick skips the sanitizer build.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
JOBS=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j "$JOBS"

[ "${1:-}" = "--quick" ] && exit 0

cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDLCC_SANITIZE=ON >/dev/null
cmake --build build-san -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-san --output-on-failure -j "$JOBS"
