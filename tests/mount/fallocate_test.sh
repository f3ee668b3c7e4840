#!/usr/bin/env bash
# Mount test (root): fallocate reserves space for real. On a store on a small
# tmpfs: a reservation larger than the free space fails with ENOSPC and
# changes nothing; one that fits shows in st_blocks (also after a remount)
# and guarantees that writes into the range succeed once the disk is full;
# KEEP_SIZE reserves without growing the file; ZERO_RANGE and PUNCH_HOLE
# read back as zeros after a remount.
source "$(dirname "$0")/lib.sh"
require_root
command -v fallocate >/dev/null || fail "fallocate (util-linux) is required"

DISK="$TMP/disk"
mkdir -p "$DISK"
mount -t tmpfs -o size=96m tierfs-test "$DISK" || skip "cannot mount a tmpfs"
# On exit: the mount first (lib.sh's _cleanup), then the tmpfs under the store.
umount_disk() {
  local rc=$?
  mountpoint -q "$MNT" && { fusermount3 -u "$MNT"; sleep 0.5; }
  umount -l "$DISK" 2>/dev/null
  (exit $rc)
  _cleanup
}
trap umount_disk EXIT
STORE="$DISK/store"
mount_tierfs chunk_size=1M
blocks() { stat -c %b "$1"; }
free_kb() { df -k --output=avail "$DISK" | tail -1; }

log "a reservation larger than the free space: ENOSPC, nothing changed"
touch "$MNT/big"
if fallocate -l 200M "$MNT/big" 2>"$TMP/err"; then fail "fallocate of 200M on a 96M disk succeeded"; fi
grep -q "No space left" "$TMP/err" || fail "expected ENOSPC, got: $(cat "$TMP/err")"
assert_eq 0 "$(stat -c %s "$MNT/big")" "size after a failed fallocate"
assert_eq 0 "$(blocks "$MNT/big")" "st_blocks after a failed fallocate"
[[ $(free_kb) -gt 50000 ]] || fail "a failed fallocate left space allocated ($(free_kb) KiB free)"

log "a reservation that fits: st_blocks, kept across a remount"
fallocate -l 8M "$MNT/f"
assert_eq 8388608 "$(stat -c %s "$MNT/f")" "size after fallocate -l 8M"
[[ $(blocks "$MNT/f") -ge 16384 ]] || fail "st_blocks $(blocks "$MNT/f") < 8 MiB after fallocate"
touch "$MNT/keep"
fallocate -n -l 4M "$MNT/keep"
assert_eq 0 "$(stat -c %s "$MNT/keep")" "KEEP_SIZE must not grow the file"
[[ $(blocks "$MNT/keep") -ge 8192 ]] || fail "KEEP_SIZE reserved nothing ($(blocks "$MNT/keep") blocks)"
unmount_tierfs
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs chunk_size=1M
[[ $(blocks "$MNT/f") -ge 16384 ]] || fail "st_blocks after a remount: $(blocks "$MNT/f")"
assert_eq 8388608 "$(stat -c %s "$MNT/f")" "size after a remount"
cmp -n 8388608 "$MNT/f" /dev/zero || fail "a fallocated range must read as zeros"

log "writes into the reserved range succeed on a full disk"
dd if=/dev/zero of="$DISK/filler" bs=1M 2>/dev/null || true   # fill the disk
[[ $(free_kb) -lt 1024 ]] || fail "could not fill the disk ($(free_kb) KiB free)"
head -c 8388608 /dev/urandom >"$TMP/data"
dd if="$TMP/data" of="$MNT/f" bs=1M conv=notrunc,fsync status=none ||
  fail "a write into a fallocated range failed on a full disk"
rm -f "$DISK/filler"
unmount_tierfs
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs chunk_size=1M
cmp "$TMP/data" "$MNT/f" || fail "data written into the reservation differs after a remount"

log "ZERO_RANGE and PUNCH_HOLE"
fallocate -z -o 1000 -l 1500000 "$MNT/f"
fallocate -p -o 3000000 -l 1048576 "$MNT/f"
python3 - "$TMP/data" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[1000:1000 + 1500000] = bytes(1500000)
d[3000000:3000000 + 1048576] = bytes(1048576)
open(sys.argv[1], "wb").write(d)
EOF
unmount_tierfs
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs chunk_size=1M
cmp "$TMP/data" "$MNT/f" || fail "ZERO_RANGE / PUNCH_HOLE after a remount"
assert_eq 8388608 "$(stat -c %s "$MNT/f")" "size after ZERO_RANGE / PUNCH_HOLE"
unmount_tierfs
"$TIERFS" fsck "$STORE" >"$TMP/fsck" || fail "fsck not clean: $(cat "$TMP/fsck")"
