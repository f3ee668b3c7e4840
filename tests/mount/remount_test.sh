#!/usr/bin/env bash
# mount -o remount,ro|rw through mount(8). The kernel calls a live tierfs
# mount "fuse.tierfs", so mount(8) runs the helper mount.fuse.tierfs for a
# remount (and for mount -t fuse.tierfs), handing it every option the live
# mount has (user_id=0, group_id=0, max_read=, nosuid, ...). remount,ro makes
# writes fail with EROFS while data stays readable; remount,rw makes them
# work again; an option a remount cannot change is warned about; umount(8),
# fusermount3 -u and tierfs umount unmount it; what was written is there
# after a full remount. Issue 18, item 10.
source "$(dirname "$0")/lib.sh"
require_root  # mount(8) in a mount namespace of its own

# mount(8) looks for helpers in /sbin only: in a mount namespace of its own
# the build's bin directory (tierfs and its helper links) stands in for /sbin
# (nothing outside sees it); -n keeps the host's utab out of it.
BIN="$(dirname "$(readlink -f "$TIERFS")")"
[[ -L "$BIN/mount.fuse.tierfs" ]] || fail "the build has no mount.fuse.tierfs helper link in $BIN"
unshare -m --propagation private bash -c '
  set -euo pipefail
  BIN=$1 STORE=$2 MNT=$3 TIERFS=$4 TMP=$5
  trap "! mountpoint -q \"\$MNT\" || fusermount3 -u \"\$MNT\"" EXIT
  step() { echo "[remount_test] $*" >&2; }
  lock_free() {
    for _ in $(seq 1 200); do flock -n "$STORE/LOCK" true && return 0; sleep 0.1; done
    echo "daemon did not release $STORE/LOCK" >&2; return 1
  }
  mount --bind "$BIN" /sbin

  step "mount -t fuse.tierfs"
  mount -n -t fuse.tierfs "$STORE" "$MNT"
  grep -q " $MNT .* - fuse.tierfs $STORE " /proc/self/mountinfo
  echo one >"$MNT/a"

  step "mount -o remount,ro"
  mount -n -o remount,ro "$MNT"
  grep -q " $MNT ro," /proc/self/mountinfo
  if echo x 2>"$TMP/w.err" >"$MNT/b"; then echo "write after remount,ro succeeded" >&2; exit 1; fi
  grep -q "Read-only file system" "$TMP/w.err"
  [[ $(cat "$MNT/a") == one ]]
  # The daemon refuses changes too (not only the kernel).
  "$TIERFS" status "$MNT" --json >"$TMP/status.json"
  grep -q "\"read_only\":true" "$TMP/status.json" ||
    { echo "daemon not read-only: $(cat "$TMP/status.json")" >&2; exit 1; }

  step "mount -o remount,rw (with an option a remount cannot change)"
  mount -n -o remount,rw,cold_after=5 "$MNT" 2>"$TMP/rw.err"
  grep -q "cold_after=5" "$TMP/rw.err" ||
    { echo "no warning about cold_after=5: $(cat "$TMP/rw.err")" >&2; exit 1; }
  if grep -q "user_id" "$TMP/rw.err"; then echo "warned about user_id: $(cat "$TMP/rw.err")" >&2; exit 1; fi
  grep -q " $MNT rw," /proc/self/mountinfo
  echo two >"$MNT/b"
  [[ $(cat "$MNT/b") == two ]]

  step "tierfs umount, then mount -t tierfs and umount(8)"
  "$TIERFS" umount "$MNT"
  mount -n -t tierfs "$STORE" "$MNT"
  mount -n -o remount,ro "$MNT"
  mount -n -o remount,rw "$MNT"
  echo three >"$MNT/c"
  umount -n "$MNT"
  lock_free

  step "mount -t fuse.tierfs, then fusermount3 -u"
  mount -n -t fuse.tierfs "$STORE" "$MNT"
  [[ $(cat "$MNT/c") == three ]]
  fusermount3 -u "$MNT"
  lock_free
' remount "$BIN" "$STORE" "$MNT" "$TIERFS" "$TMP" || fail "mount(8) remount (above)"

# A fresh mount refuses what only FUSE sets.
if "$TIERFS" mount "$STORE" "$MNT" -o user_id=0 2>"$TMP/uid.err"; then
  fail "a fresh mount accepted user_id=0"
fi
grep -q "only with remount" "$TMP/uid.err" || fail "user_id refusal: $(cat "$TMP/uid.err")"

mount_tierfs
assert_eq one "$(cat "$MNT/a")" "a, after a full remount"
assert_eq two "$(cat "$MNT/b")" "b (written after remount,rw), after a full remount"
assert_eq three "$(cat "$MNT/c")" "c, after a full remount"
