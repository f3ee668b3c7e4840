#!/usr/bin/env bash
# Mount test (root): the options mount(8), fstab and systemd pass are
# accepted (and really unknown ones refused); `mount -o remount,ro|rw` through
# mount.tierfs switches a live mount (writes fail with EROFS, the migrator
# pauses, nothing is lost); `tierfs umount` returns only once the store is
# free, and mount/fsck right after a plain fusermount3 -u wait for the
# exiting daemon instead of failing; `status` on an unmounted store and a
# `-o ro` mount change nothing in the store.
source "$(dirname "$0")/lib.sh"
require_root
HELPER="$(dirname "$TIERFS")/mount.tierfs"
[[ -x "$HELPER" ]] || fail "mount.tierfs not built next to $TIERFS"

# The store's content, as a list of names, sizes and checksums (no times).
# Left out: the daemon's log and MOUNTPOINT note, and meta.db-shm, SQLite's
# shared-memory WAL index, which a read-only connection creates after a crash.
snapshot() {
  (cd "$STORE" && find . -path ./tierfs.log -prune -o -path ./MOUNTPOINT -prune \
    -o -path ./meta.db-shm -prune -o -type f -print0 |
    sort -z | xargs -0 sha256sum)
}

log "generic options are accepted and honoured"
mount_tierfs nodiratime strictatime lazytime sync dirsync nofail _netdev x-systemd.automount \
  x-systemd.requires=foo.service dev suid exec noexec nosuid nodev async diratime nolazytime \
  norelatime nostrictatime relatime atime comment=fstab defaults auto rw
printf x >"$MNT/f"
unmount_tierfs
for bad in bogus cold_after=abc chunk_size=3K nodiratimex; do
  if "$TIERFS" mount "$STORE" "$MNT" -o "$bad" 2>"$TMP/err"; then fail "-o $bad was accepted"; fi
  grep -q "$bad\|${bad%%=*}" "$TMP/err" || fail "-o $bad: the error does not name it: $(cat "$TMP/err")"
done
"$TIERFS" mount "$STORE" "$MNT" -o cold_after=99999999999 2>"$TMP/err" && fail "cold_after overflow accepted"
grep -q "cold_after" "$TMP/err" || fail "cold_after overflow: $(cat "$TMP/err")"

log "dirsync: a create is made durable (SQLite synced) before it is answered"
# syncs_during_create OPT — fsync/fdatasync calls the daemon makes while one
# file is created (strace attached to the running daemon).
syncs_during_create() {
  mount_tierfs "$@"
  local pid
  pid=$(pgrep -f "tierfs mount $STORE" | head -1)
  touch "$MNT/warm_$RANDOM"  # SQLite syncs the first transaction of a new WAL
  sleep 0.5  # let the mount settle (reserve, first write-back)
  strace -f -qq -y -e trace=fsync,fdatasync -p "$pid" -o "$TMP/strace" &
  local tracer=$!
  sleep 1
  touch "$MNT/created_$RANDOM"
  sleep 0.3
  kill "$tracer"
  wait "$tracer" 2>/dev/null || true
  unmount_tierfs
  grep -c "sync(" "$TMP/strace" || true
}
[[ $(syncs_during_create cold_after=3600) -eq 0 ]] || fail "without dirsync a create must not fsync"
[[ $(syncs_during_create cold_after=3600 dirsync) -gt 0 ]] || fail "dirsync: a create was not synced"
[[ $(syncs_during_create cold_after=3600 sync) -gt 0 ]] || fail "sync: a create was not synced"

log "mount -o remount,ro and remount,rw (via mount.tierfs, as mount(8) calls it)"
mount_tierfs cold_after=0
printf before >"$MNT/keep"
printf dirty >"$MNT/unsynced"  # in the page cache: must land when going read-only
"$HELPER" "$STORE" "$MNT" -o remount,ro || fail "remount,ro failed"
grep -q " $MNT .* ro[, ]" /proc/self/mountinfo || grep -q " $MNT ro," /proc/self/mountinfo ||
  fail "the kernel mount is not read-only after remount,ro"
if printf x >"$MNT/new" 2>/dev/null; then fail "a create succeeded on a read-only remount"; fi
if printf x >>"$MNT/keep" 2>/dev/null; then fail "a write succeeded on a read-only remount"; fi
"$TIERFS" status "$MNT" --json >"$TMP/s1"
assert_eq true "$(json_get "$TMP/s1" read_only)" "status read_only after remount,ro"
p1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["migrator"]["passes"])' "$TMP/s1")
sleep 1.5
"$TIERFS" status "$MNT" --json >"$TMP/s2"
p2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["migrator"]["passes"])' "$TMP/s2")
assert_eq "$p1" "$p2" "the migrator must pause while read-only"
assert_eq before "$(cat "$MNT/keep")" "reads work read-only"
"$HELPER" "$STORE" "$MNT" -o remount,rw || fail "remount,rw failed"
printf after >>"$MNT/keep" || fail "a write failed after remount,rw"
"$TIERFS" status "$MNT" --json >"$TMP/s3"
assert_eq false "$(json_get "$TMP/s3" read_only)" "status read_only after remount,rw"
"$TIERFS" umount "$MNT" || fail "tierfs umount failed"
mount_tierfs
assert_eq beforeafter "$(cat "$MNT/keep")" "contents after ro/rw remounts and a remount"
assert_eq dirty "$(cat "$MNT/unsynced")" "page-cache data written before remount,ro"

log "tierfs umount returns once the store is free; mount/fsck right after wait"
for i in 1 2 3 4 5; do
  printf "round $i" >"$MNT/r$i"
  "$TIERFS" umount "$MNT" || fail "tierfs umount (round $i)"
  mountpoint -q "$MNT" && fail "still mounted after tierfs umount"
  "$TIERFS" fsck "$STORE" >/dev/null || fail "fsck right after tierfs umount (round $i)"
  mount_tierfs
  fusermount3 -u "$MNT"
  # No waiting here: the daemon may still be exiting.
  "$TIERFS" fsck "$STORE" >/dev/null || fail "fsck right after fusermount3 -u (round $i)"
  mount_tierfs
  fusermount3 -u "$MNT"
  mount_tierfs
done
"$TIERFS" umount "$TMP" 2>/dev/null && fail "tierfs umount of a non-tierfs directory succeeded"
unmount_tierfs

log "status of an unmounted store, and a -o ro mount, change nothing"
# Leave work for a writable open: an orphan (unlinked while open) and a temp file.
mount_tierfs
printf 'orphan data' >"$MNT/orphan"
exec 7<"$MNT/orphan"
rm "$MNT/orphan"
sync
pid=$(pgrep -f "tierfs mount $STORE" | head -1)
kill -9 "$pid"
exec 7<&-
wait_for 10 "daemon gone" bash -c "! kill -0 $pid 2>/dev/null"
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
shard=$(ls "$STORE/hot" | head -1)
printf leftover >"$STORE/hot/$shard/zz.tmp.1"
before=$(snapshot)
"$TIERFS" status "$STORE" --json >"$TMP/st" || fail "status of an unmounted store"
assert_eq false "$(json_get "$TMP/st" mounted)" "mounted, for an unmounted store"
diff <(echo "$before") <(snapshot) >&2 || fail "status of an unmounted store changed the store"
mount_tierfs ro
"$TIERFS" status "$MNT" --json >"$TMP/st"
assert_eq true "$(json_get "$TMP/st" mounted)" "mounted, for a -o ro mount"
cat "$MNT/keep" >/dev/null
find "$MNT" >/dev/null
unmount_tierfs
diff <(echo "$before") <(snapshot) >&2 || fail "a -o ro mount changed the store"
mount_tierfs
unmount_tierfs
[[ ! -e "$STORE/hot/$shard/zz.tmp.1" ]] || fail "a writable mount must clean up the temp file"
"$TIERFS" fsck "$STORE" >/dev/null || fail "fsck not clean"
