#!/usr/bin/env bash
# Daemon lifecycle: SIGTERM and SIGINT unmount cleanly (metadata flushed,
# store lock released, nothing lost), and a SIGTERM right after an unmount
# lets the daemon finish flushing and exit 0; mount refuses a second daemon on the
# same store and a busy mountpoint; mount.tierfs accepts the argument form
# mount(8) uses for an fstab line; the log file and the store's 0700 mode.
source "$(dirname "$0")/lib.sh"

daemon_pid() { pgrep -f -- "tierfs mount $STORE $MNT" | head -1; }

wait_gone() {  # wait_gone PID: the daemon exits and releases the store
  local _i
  for _i in $(seq 1 200); do
    if ! kill -0 "$1" 2>/dev/null && _store_lock_free; then return 0; fi
    sleep 0.1
  done
  fail "daemon $1 did not exit within 20 s"
}

for sig in TERM INT; do
  mount_tierfs cold_after=3600
  head -c 300000 /dev/urandom >"$TMP/data.$sig"
  cp "$TMP/data.$sig" "$MNT/file.$sig"   # closed, not fsynced
  pid="$(daemon_pid)"
  [[ -n "$pid" ]] || fail "no daemon process found"
  kill "-$sig" "$pid"
  wait_gone "$pid"
  mountpoint -q "$MNT" && fail "SIG$sig left $MNT mounted"
  mount_tierfs
  cmp "$TMP/data.$sig" "$MNT/file.$sig" || fail "file written before SIG$sig differs after remount"
  unmount_tierfs
done
# systemd signals what is left in a mount unit's control group (the daemon
# that mount.tierfs forked for an fstab line) once umount(8) returns: that
# SIGTERM lands while the daemon flushes, and must not cut the flush short.
"$TIERFS" mount -f "$STORE" "$MNT" 2>"$TMP/foreground.log" &
pid=$!
wait_for 30 "the mount -f of $MNT" mountpoint -q "$MNT"
for i in $(seq 1 200); do echo "$i" >"$MNT/small.$i"; done
fusermount3 -u "$MNT"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 0 "$rc" "exit status of a daemon sent SIGTERM right after its unmount"
_store_lock_free || fail "the daemon exited without releasing $STORE/LOCK"
mount_tierfs
for i in $(seq 1 200); do
  assert_eq "$i" "$(cat "$MNT/small.$i")" "small.$i written before the unmount and SIGTERM"
done
unmount_tierfs
[[ ! -e "$STORE/MOUNTPOINT" ]] || fail "STORE/MOUNTPOINT left behind after unmount"
assert_eq 700 "$(stat -c %a "$STORE")" "store directory mode"
grep -q "serving store $STORE" "$STORE/tierfs.log" || fail "daemon log lacks the serving line"

mount_tierfs
mkdir -p "$TMP/other"
out="$("$TIERFS" mount "$STORE" "$TMP/other" 2>&1)" && fail "second daemon on one store was allowed"
[[ "$out" == *"in use"* ]] || fail "second daemon: unclear error: $out"
out="$("$TIERFS" mount "$TMP/store2" "$MNT" 2>&1)" && fail "mount on a busy mountpoint was allowed"
[[ "$out" == *"busy"* ]] || fail "busy mountpoint: unclear error: $out"
[[ ! -e "$TMP/store2" ]] || fail "a refused mount created its store"
unmount_tierfs

# mount(8) runs: mount.tierfs SPEC DIR [-sfnv] -o OPTIONS (fstab options included).
"$(dirname "$TIERFS")/mount.tierfs" "$STORE" "$MNT" -n -o rw,noauto,_netdev,cold_after=60 ||
  fail "mount.tierfs with fstab options failed"
mountpoint -q "$MNT" || fail "mount.tierfs did not mount"
cmp "$TMP/data.TERM" "$MNT/file.TERM" || fail "content via mount.tierfs differs"
unmount_tierfs
