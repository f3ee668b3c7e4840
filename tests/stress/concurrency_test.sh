#!/usr/bin/env bash
# Concurrency (issue #5): 4 processes do random writes / reads / truncates /
# renames / hard links on shared files (each owns disjoint, chunk-straddling
# byte ranges, so the final content is a deterministic model) while fio
# (--verify=crc32c) writes and verifies its own files, and cold_after=0 with
# hot_capacity=1M makes the migrator move chunks between tiers all the time.
# Proves: no errors, every read matches the model during the run, the final
# content equals the model (also after a remount, i.e. from the store), the
# migrator really moved data both ways, and fsck is clean after unmount.
#   bash tests/stress/concurrency_test.sh [--long]   (20 s CI, 300 s --long;
#   CONCURRENCY_SECONDS=N overrides)
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"
command -v fio >/dev/null || fail "fio is required (package fio)"

RUN_SECONDS=${CONCURRENCY_SECONDS:-$((STRESS_LONG ? 300 : 20))}
WORKERS=4
SEED=${TIERFS_STRESS_SEED:-$RANDOM}
TOOL="$STRESS_DIR/concurrency_tool.py"
OUT="$TMP/model"
mkdir -p "$OUT"
OPTS=(cold_after=0 hot_capacity=1M chunk_size=64K)
log "workers=$WORKERS seconds=$RUN_SECONDS seed=$SEED"

mount_tierfs "${OPTS[@]}"
DAEMON=$(daemon_pid)
mkdir "$MNT/fio"

# fio: two jobs, random 4 KiB writes with crc32c verify headers, then a
# verification pass; repeated until the python workload is done.
fio_loop() {
  local n=0
  while [[ ! -e "$TMP/stop" ]]; do
    n=$((n + 1))
    (cd "$TMP" && timeout 300 fio --name=tierfs-verify --directory="$MNT/fio" --size=2M --numjobs=2 --bs=4k \
      --rw=randwrite --ioengine=psync --verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
      --fsync=32 --group_reporting --output="$TMP/fio.$n.txt" >/dev/null 2>"$TMP/fio.$n.err") || {
      echo "fio run $n failed: $(cat "$TMP/fio.$n.err" "$TMP/fio.$n.txt" | grep -iE 'error|verify|bad' | head -n 5)" >>"$TMP/fio.failures"
      return 1
    }
  done
  echo "$n" >"$TMP/fio.runs"
}
fio_loop &
FIO_PID=$!
track_pid "$FIO_PID"

rc=0
timeout $((RUN_SECONDS + 300)) python3 "$TOOL" run "$MNT" "$OUT" "$WORKERS" "$RUN_SECONDS" "$SEED" >"$TMP/run.txt" 2>&1 || rc=$?
touch "$TMP/stop"
frc=0
wait "$FIO_PID" || frc=$?
cat "$TMP/run.txt" >&2
[[ $rc -eq 0 ]] || fail "concurrent workload found problems (exit $rc, seed $SEED)"
[[ $frc -eq 0 && ! -e "$TMP/fio.failures" ]] || fail "fio verify failed: $(cat "$TMP/fio.failures" 2>/dev/null)"
log "fio: $(cat "$TMP/fio.runs") write+verify runs passed"
assert_eq "$DAEMON" "$(daemon_pid)" "daemon pid after the concurrent run"

"$TIERFS" status --json "$MNT" >"$TMP/status.json" || fail "tierfs status"
promotions=$(json_get "$TMP/status.json" promotions)
demotions=$(json_get "$TMP/status.json" demotions)
log "migrator during the run: $demotions demotions, $promotions promotions"
[[ "$demotions" -gt 20 && "$promotions" -gt 20 ]] ||
  fail "the migrator hardly moved anything ($demotions demotions, $promotions promotions): the test did not exercise tier moves"

timeout 600 python3 "$TOOL" verify "$MNT" "$OUT" "$WORKERS" >"$TMP/verify.txt" 2>&1 || { cat "$TMP/verify.txt" >&2; fail "final content differs from the model"; }
rm -rf "$MNT/fio"
remount_tierfs
timeout 600 python3 "$TOOL" verify "$MNT" "$OUT" "$WORKERS" >"$TMP/verify.txt" 2>&1 || { cat "$TMP/verify.txt" >&2; fail "content after remount differs from the model"; }
cat "$TMP/verify.txt" >&2
unmount_tierfs
rc=$(run_fsck "$TMP/fsck.txt" "$STORE")
[[ "$rc" == 0 ]] || { cat "$TMP/fsck.txt" >&2; fail "fsck after the concurrent run exited $rc (want 0: clean, nothing to repair)"; }
