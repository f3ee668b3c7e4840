#!/usr/bin/env bash
# Differential random-operation test: tests/stress/difftest.py runs one seeded
# sequence of file operations (open with O_TRUNC/O_APPEND/O_EXCL/O_DIRECT,
# write/pwrite/read, mmap+msync, truncate, every fallocate mode,
# copy_file_range, renameat2 flags, link/unlink, chmod, fsync, xattrs, file
# handles) on a native directory and on a tierfs mount (chunk_size=64K,
# cold_after=0, hot_capacity=256K, promote_reads=1: the migrator moves chunks
# all the time; inline_max=4K: small files kept inline, spilled as they grow) in lockstep, compares every result and the touched file after
# every op, and remounts tierfs (dropping the page cache) and compares the
# whole tree every K ops. A mismatch is shrunk to a short reproducer (printed,
# and written as JSON with the command line that replays it).
#
#   bash tests/stress/difftest_test.sh [--long]      (TIERFS_STRESS_LONG=1 = --long)
# CI: 3 seeds x 6,000 ops, remount every 250 (~80 s when clean, plus up to
# 60 s of shrinking on a mismatch). --long: 20 seeds x 50,000 ops (1,000,000
# ops), remount every 1,000, 120 s of shrinking per failing seed.
# Overrides: DIFFTEST_SEEDS, DIFFTEST_OPS, DIFFTEST_REMOUNT_EVERY,
# DIFFTEST_SKIP_OPS (e.g. 'fallocate:ZERO_RANGE*,open:*trunc'), DIFFTEST_SKIP_CHECKS
# (e.g. atime), DIFFTEST_TIME_BUDGET (shrinking, s), DIFFTEST_REPRO_DIR (where
# reproducers go, default /tmp). TIERFS_STRESS_SEED=N: the first seed (printed;
# 1001 in CI, random with --long).
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"

TOOL="$STRESS_DIR/difftest.py"
SEEDS=${DIFFTEST_SEEDS:-$((STRESS_LONG ? 20 : 3))}
OPS=${DIFFTEST_OPS:-$((STRESS_LONG ? 50000 : 6000))}
REMOUNT_EVERY=${DIFFTEST_REMOUNT_EVERY:-$((STRESS_LONG ? 1000 : 250))}
BUDGET=${DIFFTEST_TIME_BUDGET:-$((STRESS_LONG ? 120 : 60))}
REPRO_DIR=${DIFFTEST_REPRO_DIR:-/tmp}
# CI runs fixed seeds (a landing must not depend on luck); the soak draws new
# ones every time, to find what the fixed ones do not.
if ((STRESS_LONG)); then
  SEED0=${TIERFS_STRESS_SEED:-$((RANDOM * 32768 + RANDOM))}
else
  SEED0=${TIERFS_STRESS_SEED:-1001}
fi
# One seed may take this long: ~400 ops/s plus remounts, plus shrinking.
STEP_TIMEOUT=$((OPS / 50 + REMOUNT_EVERY / 10 + BUDGET + 120))
mkdir -p "$REPRO_DIR"

# difftest mounts its own stores under $TMP/work: detach anything left there
# (a killed run) before lib.sh removes $TMP.
detach_leftovers() {
  local m
  while read -r m; do
    lazy_unmount "$m"
  done < <(awk -v t="$TMP/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo)
}
on_exit detach_leftovers

log "seeds=$SEEDS (from $SEED0; rerun with TIERFS_STRESS_SEED=$SEED0) ops=$OPS remount_every=$REMOUNT_EVERY" \
  "skip_ops=${DIFFTEST_SKIP_OPS:-none} skip_checks=${DIFFTEST_SKIP_CHECKS:-none}"
start=$SECONDS
failed=()
shrunk=0
for ((i = 0; i < SEEDS; i++)); do
  seed=$((SEED0 + i))
  args=(--tierfs "$TIERFS" --seed "$seed" --ops-count "$OPS" --remount-every "$REMOUNT_EVERY"
    --workdir "$TMP/work" --repro-dir "$REPRO_DIR" --time-budget "$BUDGET")
  [[ -n "${DIFFTEST_SKIP_OPS:-}" ]] && args+=(--skip-ops "$DIFFTEST_SKIP_OPS")
  [[ -n "${DIFFTEST_SKIP_CHECKS:-}" ]] && args+=(--skip-checks "$DIFFTEST_SKIP_CHECKS")
  # Shrink the first failing seed only in CI (shrinking takes up to BUDGET s);
  # later failures still print the seed, the op and both results.
  [[ $STRESS_LONG == 0 && $shrunk == 1 ]] && args+=(--no-shrink)
  rc=0
  timeout "$STEP_TIMEOUT" python3 "$TOOL" "${args[@]}" >"$TMP/seed-$seed.txt" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then
    tail -n 1 "$TMP/seed-$seed.txt" >&2
    continue
  fi
  cat "$TMP/seed-$seed.txt" >&2
  case $rc in
    1) shrunk=1; failed+=("seed $seed: $(tail -n 1 "$TMP/seed-$seed.txt")") ;;
    124) failed+=("seed $seed: timed out after ${STEP_TIMEOUT}s (a hung operation?)") ;;
    *) failed+=("seed $seed: difftest exited $rc (harness error, see above)") ;;
  esac
  detach_leftovers
done
log "$SEEDS seeds x $OPS ops in $((SECONDS - start)) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '    %s\n' "${failed[@]}" >&2
  fail "${#failed[@]} of $SEEDS seeds failed: a mismatch between tierfs and the native directory (reproducer above, JSON in $REPRO_DIR) or a harness error"
fi
