#!/usr/bin/env bash
# The whole test suite, in three stages after a format check; exits non-zero
# at the first failure:
#   0. scripts/format-check.sh: every C/C++ file as .clang-format says (a few
#      seconds; on a difference it lists the files: scripts/format-check.sh
#      --fix rewrites them);
#   1. Release build and every CTest test (labels unit, mount, stress);
#   2. ThreadSanitizer build (clang) of the concurrency tests (store, filesystem core);
#   3. ASan+UBSan build (clang) of all unit tests, run with bounded libFuzzer
#      runs of the cold object reader and the metadata open path.
# The clang builds (2 and 3) also check store/'s lock discipline: CMake
# compiles with -Wthread-safety(-beta) as errors under clang, so a
# guarded field touched without its mutex, or a call without the locks it
# REQUIRES (store/thread_annotations.h, store/mutex.h), fails the build.
# Installs the Debian packages it needs first (scripts/setup.sh).
#
# Mount tests need /dev/fuse and root (or a user allowed to mount FUSE);
# with CI=true a missing /dev/fuse is a failure, otherwise they are skipped.
# RADOS tests (label rados) run against a one-node Ceph cluster that CTest
# starts in build/ceph (scripts/ceph-dev.sh, fixture rados_cluster); with
# CI=true a cluster that does not start is a failure, otherwise, without
# Ceph installed, they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/setup.sh"
JOBS=$(nproc)

echo "== Format check (clang-format; scripts/format-check.sh --fix rewrites what differs)"
scripts/format-check.sh

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
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 900)

echo "== ThreadSanitizer build of the concurrency tests (clang, -Wthread-safety)"
CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTIERFS_UNIT_ONLY=ON -DTIERFS_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$JOBS" --target object_store_test buffer_pool_test migrator_test \
  filesystem_test inode_table_test sync_test
echo "== ThreadSanitizer concurrency tests"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 \
  ctest --output-on-failure -j"$JOBS" -R '^(ObjectStoreTest|BufferPoolTest|MigratorTest|FilesystemTest|InodeTableTest|SyncGroupTest)\.')

echo "== ASan+UBSan build of the unit tests (clang, -Wthread-safety)"
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTIERFS_UNIT_ONLY=ON -DTIERFS_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$JOBS"
echo "== ASan+UBSan unit tests"
# (The power-cut harness runs every 4th cut point here: every one runs in
# the Release stage, and ASan makes each about seven times slower.)
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 TIERFS_POWERCUT_STRIDE=4 \
  ctest --output-on-failure -j"$JOBS" -L unit --timeout 900)
