#!/usr/bin/env bash
# /etc/fstab through mount(8): `mount -a` mounts a tierfs line once and, run
# again, finds it mounted and does nothing (exit 0, still one mount), since
# the mount's source is the store's path as the line names it (mount(8)
# compares an fstab line's source and target with /proc/self/mountinfo); a
# `noauto` line is left alone; the store given through a symlink is
# recognised too (mount(8) canonicalizes the line's source). The data is
# there after a remount. Issue 21, item 2. A temporary fstab (mount -T), in
# a mount namespace of its own: the host's /etc/fstab is never touched.
source "$(dirname "$0")/lib.sh"
require_root  # mount(8) in a mount namespace of its own

# mount(8) looks for helpers in /sbin only: the build's bin directory (tierfs
# and its helper links) stands in for /sbin inside the namespace.
BIN="$(dirname "$(readlink -f "$TIERFS")")"
[[ -L "$BIN/mount.tierfs" ]] || fail "the build has no mount.tierfs helper link in $BIN"
mkdir -p "$TMP/mnt2" "$TMP/store2"
ln -s "$STORE" "$TMP/store-link"
mkdir -p "$STORE"
cat >"$TMP/fstab" <<FSTAB
# a tierfs line, through a symlink to the store, as a user may write it
$TMP/store-link  $MNT  tierfs  defaults,cold_after=86400  0  0
# noauto: mount -a leaves it alone
$TMP/store2  $TMP/mnt2  tierfs  noauto  0  0
FSTAB
unshare -m --propagation private bash -c '
  set -euo pipefail
  BIN=$1 STORE=$2 MNT=$3 TIERFS=$4 TMP=$5
  trap "! mountpoint -q \"\$MNT\" || fusermount3 -u \"\$MNT\"; ! mountpoint -q \"\$TMP/mnt2\" || fusermount3 -u \"\$TMP/mnt2\"" EXIT
  step() { echo "[fstab_test] $*" >&2; }
  mounts_at() { awk -v m="$1" "\$5 == m" /proc/self/mountinfo | wc -l; }
  mount --bind "$BIN" /sbin

  step "mount -a (first)"
  mount -n -a -T "$TMP/fstab" -t tierfs
  [[ $(mounts_at "$MNT") -eq 1 ]] || { echo "not mounted once after mount -a" >&2; exit 1; }
  grep -q " $MNT .* - fuse.tierfs $STORE " /proc/self/mountinfo ||
    { echo "the source is not the store path: $(grep " $MNT " /proc/self/mountinfo)" >&2; exit 1; }
  [[ $(mounts_at "$TMP/mnt2") -eq 0 ]] || { echo "the noauto line was mounted" >&2; exit 1; }
  echo one >"$MNT/a"

  step "mount -a (second): already mounted, nothing to do"
  rc=0
  mount -n -a -T "$TMP/fstab" -t tierfs 2>"$TMP/second.err" || rc=$?
  [[ $rc -eq 0 ]] || { echo "second mount -a exited $rc: $(cat "$TMP/second.err")" >&2; exit 1; }
  [[ $(mounts_at "$MNT") -eq 1 ]] || { echo "$(mounts_at "$MNT") mounts at $MNT after mount -a twice" >&2; exit 1; }
  [[ $(mounts_at "$TMP/mnt2") -eq 0 ]] || { echo "the noauto line was mounted" >&2; exit 1; }
  # mount -a --verbose says so, as for any filesystem.
  mount -n -a -v -T "$TMP/fstab" -t tierfs 2>&1 | grep -q "$MNT.*already mounted" ||
    { echo "mount -a -v does not report $MNT as already mounted" >&2; exit 1; }

  step "tierfs commands still find the store by its mountpoint"
  "$TIERFS" status "$MNT" --json | grep -q "\"store\":\"$STORE\"" ||
    { echo "status does not name $STORE" >&2; exit 1; }
  "$TIERFS" umount "$MNT"
  [[ $(mounts_at "$MNT") -eq 0 ]]
' fstab "$BIN" "$STORE" "$MNT" "$TIERFS" "$TMP" || fail "mount -a (above)"

mount_tierfs
assert_eq one "$(cat "$MNT/a")" "a, after a remount"
[[ ! -e "$TMP/store2/meta.db" ]] || fail "the noauto line's store was created"
log "ok"
