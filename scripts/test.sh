#!/usr/bin/env bash
# The whole test suite: installs packages, builds Release, runs every CTest
# test (unit, mount, stress), then builds the unit tests with ASan+UBSan
# (clang) and runs them, including a bounded fuzzing run of the cold object
# reader. Exits non-zero on the first failing stage.
#
# Mount tests need /dev/fuse and root (or a user allowed to mount FUSE);
# with CI=true a missing /dev/fuse is a failure, otherwise they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/setup.sh"
JOBS=$(nproc)

if [ ! -e /dev/fuse ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "test: /dev/fuse is missing; mount tests cannot run in CI" >&2
    exit 1
  fi
  echo "test: /dev/fuse is missing; mount tests will be skipped" >&2
fi

echo "== Release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
echo "== Release tests"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600)

echo "== ASan+UBSan build of the unit tests (clang)"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTIERFS_UNIT_ONLY=ON -DTIERFS_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$JOBS"
echo "== ASan+UBSan unit tests"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$JOBS" -L unit --timeout 600)
