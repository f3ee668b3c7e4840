#!/usr/bin/env bash
# The prefix property of namespace changes across a crash: rounds of "unsynced
# creates, mkdirs, unlinks, rmdirs, renames, links, symlinks and chmods with a
# directory-fsync barrier every 20..100 ops, SIGKILL the daemon at a random
# moment, remount, check" (tests/stress/prefix_tool.py says exactly what is
# checked). The namespace after the crash must be exactly the state after the
# first k operations for some k at or after the last barrier — acknowledged
# but unsynced operations may be lost, but only as a suffix, never a mix and
# never a state that did not exist; base files (fsynced before the workload,
# later unlinked or renamed over without a sync) that come back come back with
# all their bytes; new files ftruncated to 256 KiB after the remount read as
# zeros (no data of a lost create); fsck after a clean unmount is clean or
# --repairs to clean. Each round prints how many acknowledged ops the crash
# lost (0 when every operation is committed before it is answered).
#
#   bash tests/stress/prefix_test.sh [--long]     (TIERFS_STRESS_LONG=1 = --long)
# Rounds: 8 (CI), 50 (--long); override with PREFIX_ROUNDS=N. Seed:
# TIERFS_STRESS_SEED (printed, so a failing sequence can be rerun).
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"

ROUNDS=${PREFIX_ROUNDS:-$((STRESS_LONG ? 50 : 8))}
SEED=${TIERFS_STRESS_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
TOOL="$STRESS_DIR/prefix_tool.py"
OPTS=(cold_after=0 chunk_size=64K inline_max=4K)  # inline files too: their spills crash as well
MAN="$TMP/manifests"
mkdir -p "$MAN"
SUMMARY="$TMP/summary.txt"
log "rounds=$ROUNDS seed=$SEED (rerun with TIERFS_STRESS_SEED=$SEED)"
print_summary() {
  [[ -s "$SUMMARY" ]] || return 0
  log "per-round results (kill_s: seconds into the workload; started/acked: ops begun/answered;" \
    "barrier: ops before the last directory-fsync barrier; k: ops the namespace after the crash shows;" \
    "lost: acknowledged ops not in it; fsck: after a clean unmount):"
  cat "$SUMMARY"
}
on_exit print_summary

printf '%-6s %-6s %-8s %-6s %-8s %-6s %-5s %-28s %s\n' round kill_s started acked barrier k lost fsck secs >"$SUMMARY"
mount_tierfs "${OPTS[@]}"
total_lost=0
for ((round = 1; round <= ROUNDS; round++)); do
  t0=$EPOCHREALTIME
  rdir=$(printf 'r%04d' "$round")
  manifest="$MAN/$rdir.jsonl"
  delay=$(awk -v r=$((RANDOM % 1000)) 'BEGIN { printf "%.3f", 0.2 + r / 1000 * 1.3 }')
  python3 "$TOOL" drive "$MNT" "$rdir" "$manifest" "$((SEED + round))" 2>"$TMP/drive.err" &
  dpid=$!
  track_pid "$dpid"
  # The kill delay counts from the moment the workload runs (its "M" line).
  crash_during_workload "$dpid" "$manifest" "$delay" "$TMP/drive.err" "round $round"
  mount_tierfs "${OPTS[@]}"
  if ! timeout 600 python3 "$TOOL" check "$MNT" "$rdir" "$manifest" >"$TMP/check.txt" 2>&1; then
    cat "$TMP/check.txt" >&2
    fail "round $round: the namespace after the crash is not a prefix state (see PROBLEM lines; seed $SEED," \
      "manifest kept: KEEP_TMP=1)"
  fi
  line=$(head -n1 "$TMP/check.txt")
  log "round $round: $line"
  read -r k started acked barrier lost < <(sed -E \
    's/^prefix: k=([0-9]+) of ([0-9]+) started \(([0-9]+) acknowledged, last barrier at ([0-9]+); lost ([0-9]+) .*/\1 \2 \3 \4 \5/' \
    <<<"$line")
  [[ "$lost" =~ ^[0-9]+$ ]] || fail "round $round: cannot read the check's summary line: $line"
  total_lost=$((total_lost + lost))
  quick_unmount
  [[ -z "$(store_tmp_files "$STORE")" ]] || fail "round $round: *.tmp.* files remain after a clean unmount: $(store_tmp_files "$STORE")"
  fsck_result=$(fsck_until_clean "round $round (fsck after remount)")
  mount_tierfs "${OPTS[@]}"
  rm -rf "${MNT:?}/$rdir" || fail "rm -rf of $rdir through the mount failed"
  sync "$MNT"
  printf '%-6s %-6s %-8s %-6s %-8s %-6s %-5s %-28s %s\n' "$round" "$delay" "$started" "$acked" "$barrier" "$k" \
    "$lost" "$fsck_result" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >>"$SUMMARY"
done
unmount_tierfs
final=$(fsck_until_clean "final")
[[ "$final" == clean ]] || fail "fsck after a clean unmount is not clean: $final"
log "$ROUNDS rounds: every namespace after a crash was a prefix state; $total_lost acknowledged op(s) lost in all"
