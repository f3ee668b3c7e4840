#!/usr/bin/env bash
# Builds tierfs and runs the stress-labelled tests (tests/stress: the crash
# loop, the prefix crash test, the concurrency test and the block-level power
# cuts of blockcut_test) with ctest.
#
#   scripts/stress.sh            CI profile: 14 crash rounds, 8 prefix rounds, 20 s of concurrency,
#                                3 power-cut rounds per scenario (~8.5 min)
#   scripts/stress.sh --long     soak: 200 crash rounds, 50 prefix rounds, 300 s of concurrency,
#                                20 power-cut rounds per scenario,
#                                and the differential tester (difftest_test) for 1,000,000 ops
#   scripts/stress.sh [--long] -V    extra arguments go to ctest (-V prints the per-round table)
#
# --long is passed to the tests as TIERFS_STRESS_LONG=1. TIERFS_STRESS_SEED=N
# replays a workload seed printed by an earlier run. The build runs under
# flock on $TIERFS_BUILD_LOCK (default /tmp/tierfs-build.lock) so it never
# overlaps another build of this tree. Needs /dev/fuse, fusermount3, python3, fio;
# blockcut_test also root, loop devices and e2fsprogs.
set -euo pipefail
cd "$(dirname "$0")/.."
LONG=0
CTEST_ARGS=()
for a in "$@"; do
  case "$a" in
    --long) LONG=1 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) CTEST_ARGS+=("$a") ;;
  esac
done
JOBS=${JOBS:-$(nproc)}
LOCK=${TIERFS_BUILD_LOCK:-/tmp/tierfs-build.lock}

echo "== build (waiting for $LOCK)"
flock "$LOCK" -c "cmake -S . -B build -G Ninja >/dev/null && cmake --build build -j$JOBS"

echo "== stress tests ($([[ $LONG == 1 ]] && echo long || echo CI) profile)"
export TIERFS_STRESS_LONG=$LONG
cd build
rc=0
ctest -L stress --output-on-failure "${CTEST_ARGS[@]}" || rc=$?
if [[ $LONG == 1 ]]; then
  # difftest_test is labelled mount (its short profile runs in scripts/test.sh);
  # its soak runs here.
  echo "== differential tester soak (1,000,000 ops)"
  ctest -R '^stress_difftest_test$' --output-on-failure "${CTEST_ARGS[@]}" || rc=$?
fi
exit $rc
