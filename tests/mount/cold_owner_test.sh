#!/usr/bin/env bash
# A copy of a store directory that shares its cold tier (cold_dir outside the
# store) must not touch that tier: mounting the copy is refused, nothing is
# removed from the cold tier, and the original still reads every cold file
# after a remount. `tierfs takeover` hands the tier to the copy
# deliberately, after which the original is the one refused.
# Issue 18, item 8 (store/cold_owner.h, store/STORE.md "Who owns the cold tier").
source "$(dirname "$0")/lib.sh"

COLD="$TMP/cold"
COPY="$TMP/copy"
cold_objects() { find "$COLD" -mindepth 2 -type f | sort; }

mount_tierfs "cold_dir=$COLD" cold_after=3600
for i in 1 2 3; do head -c 3000000 /dev/urandom >"$MNT/f$i"; done
(cd "$MNT" && md5sum f1 f2 f3) >"$TMP/sums"
unmount_tierfs

# The copy is taken while every file is still hot; then the original moves
# them to the cold tier they share. The copy's hot objects have the same
# keys as the original's cold ones: an unfenced recovery of the copy takes
# those cold objects for leftovers of a move and removes them.
cp -a "$STORE" "$COPY"
mount_tierfs "cold_dir=$COLD" cold_after=3600
tfs migrate --to cold "$MNT/f1" "$MNT/f2" "$MNT/f3" || fail "migrate --to cold"
unmount_tierfs
cold_objects >"$TMP/cold.before"
[[ $(wc -l <"$TMP/cold.before") -eq 3 ]] || fail "expected 3 cold objects: $(cat "$TMP/cold.before")"

log "mounting the copy: must be refused"
if timeout "$MOUNT_TIMEOUT" "$TIERFS" mount "$COPY" "$MNT" -o "cold_dir=$COLD" 2>"$TMP/copy.err"; then
  sleep 1
  "$TIERFS" umount "$MNT" || true
  fail "the copy of the store mounted with the shared cold tier"
fi
grep -q "tierfs takeover $COPY" "$TMP/copy.err" || fail "refusal does not say how to take over: $(cat "$TMP/copy.err")"
mountpoint -q "$MNT" && fail "$MNT is mounted after a refused mount"
cold_objects >"$TMP/cold.after"
diff "$TMP/cold.before" "$TMP/cold.after" >&2 || fail "the refused copy changed the cold tier"

log "the original reads all its cold files after a remount"
remount_tierfs
(cd "$MNT" && md5sum -c --quiet "$TMP/sums") || fail "original lost data in its cold tier"
unmount_tierfs

log "fsck of the copy is refused too; takeover hands the tier over"
tfs fsck "$COPY" >/dev/null 2>"$TMP/fsck.err" && fail "fsck of the copy ran against the shared cold tier"
grep -q "takeover" "$TMP/fsck.err" || fail "fsck refusal: $(cat "$TMP/fsck.err")"
tfs takeover "$COPY" || fail "tierfs takeover $COPY"
SAVED_STORE=$STORE
STORE=$COPY
mount_tierfs "cold_dir=$COLD"
(cd "$MNT" && md5sum -c --quiet "$TMP/sums") || fail "the copy reads wrong data after takeover"
echo after-takeover >"$MNT/new"
remount_tierfs
assert_eq after-takeover "$(cat "$MNT/new")" "file written by the new owner, after a remount"
unmount_tierfs
STORE=$SAVED_STORE

log "the original is refused now"
if timeout "$MOUNT_TIMEOUT" "$TIERFS" mount "$STORE" "$MNT" 2>"$TMP/orig.err"; then
  "$TIERFS" umount "$MNT" || true
  fail "the original mounted after the copy took the cold tier over"
fi
grep -q "owned by another copy" "$TMP/orig.err" || fail "refusal: $(cat "$TMP/orig.err")"
