#!/usr/bin/env bash
# df on the mount shows tierfs's own numbers (docs/tiers.md, "What df
# shows"): Used is what tierfs holds (its objects in both tiers as stored,
# plus the namespace database), Avail what a write can take now (the hot
# disk's free space), Size the two plus the room left on a cold directory's
# own filesystem. Checked against the hot and cold disks' own statfs and
# the daemon's status, with the cold tier on another disk (before and after
# a demotion, and after a remount) and in the store's own directory. Two
# small tmpfs stand for the disks, so nothing else writes to them meanwhile.
# Issue 21, item 3.
source "$(dirname "$0")/lib.sh"
require_root

MiB=$((1024 * 1024))
HOT="$TMP/hotdisk"
COLD="$TMP/colddisk"
mkdir -p "$HOT" "$COLD"
mount -t tmpfs -o size=256m tierfs-hot "$HOT" || skip "cannot mount a tmpfs"
mount -t tmpfs -o size=512m tierfs-cold "$COLD" || { umount "$HOT"; skip "cannot mount a tmpfs"; }
umount_disks() {
  local rc=$?
  mountpoint -q "$MNT" && { fusermount3 -u "$MNT"; sleep 0.5; }
  umount -l "$HOT" 2>/dev/null
  umount -l "$COLD" 2>/dev/null
  (exit $rc)
  _cleanup
}
trap umount_disks EXIT
STORE="$HOT/store"

# space DIR — "size used avail" in bytes, as df computes them from statvfs.
space() {
  python3 -c 'import os, sys
s = os.statvfs(sys.argv[1])
print(s.f_blocks * s.f_frsize, (s.f_blocks - s.f_bfree) * s.f_frsize, s.f_bavail * s.f_frsize)' "$1"
}
# held — what the daemon says tierfs holds: both tiers as stored, plus meta.db and its WAL.
held() {
  tfs status "$MNT" --json >"$TMP/status.json"
  local db
  db=$( (stat -c %s "$STORE"/meta.db "$STORE"/meta.db-wal 2>/dev/null || true) | awk '{s += $1} END {print s + 0}')
  echo $(($(json_get "$TMP/status.json" hot_stored_bytes) + $(json_get "$TMP/status.json" cold_stored_bytes) + db))
}
# near A B SLACK WHAT — |A - B| <= SLACK.
near() {
  local d=$(($1 - $2))
  ((d < 0)) && d=$((-d))
  ((d <= $3)) || fail "$4: $1 vs $2 (off by $d, more than $3)"
}
# check_df SEPARATE_COLD — df's fields against the disks and the status.
check_df() {
  sync
  local size used avail hsize hused havail csize cused cavail h
  read -r size used avail < <(space "$MNT")
  read -r hsize hused havail < <(space "$HOT")
  read -r csize cused cavail < <(space "$COLD")
  h=$(held)
  log "df: size $size used $used avail $avail; hot disk avail $havail; cold disk avail $cavail; held $h"
  near "$used" "$h" 4096 "df used vs what tierfs holds"
  near "$avail" "$havail" $((1 * MiB)) "df avail vs the hot disk's avail"
  if [[ $1 == separate ]]; then
    near $((size - used - avail)) "$cavail" $((1 * MiB)) "df size - used - avail vs the cold disk's avail"
  else
    near "$size" $((used + avail)) 4096 "df size vs used + avail (cold tier on the hot disk)"
  fi
}

log "cold tier on another disk"
mount_tierfs cold_dir="$COLD/cold" chunk_size=1M cold_after=86400 compress=none
head -c $((24 * MiB)) /dev/urandom >"$TMP/a"
head -c $((12 * MiB)) /dev/urandom >"$TMP/b"
cp "$TMP/a" "$TMP/b" "$MNT/"
check_df separate
read -r _ used _ < <(space "$MNT")
((used >= 36 * MiB && used < 40 * MiB)) || fail "df used $used after writing 36 MiB"

log "after b is demoted: its bytes move from the hot disk to the cold one, used stays"
read -r _ _ hot_before < <(space "$HOT")
tfs migrate --to cold "$MNT/b"
check_df separate
read -r _ _ hot_after < <(space "$HOT")
((hot_after - hot_before >= 11 * MiB)) || fail "the hot disk did not get b's room back ($hot_before -> $hot_after)"
[[ $(json_get "$TMP/status.json" cold_stored_bytes) -ge $((12 * MiB)) ]] || fail "b is not cold"

log "after a remount"
remount_tierfs
check_df separate
cmp "$TMP/a" "$MNT/a" && cmp "$TMP/b" "$MNT/b" || fail "content after a remount"
unmount_tierfs

log "cold tier in the store's directory (one disk)"
STORE="$HOT/store2"
mount_tierfs chunk_size=1M
cp "$TMP/b" "$MNT/"
check_df same
tfs migrate --to cold "$MNT/b"
check_df same
remount_tierfs
check_df same
log "ok"
