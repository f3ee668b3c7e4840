#!/usr/bin/env bash
# Full disk (issue #5), needs root: the whole store lives on a 64 MiB tmpfs.
#  A. hot tier full: dd to the mount fails with "No space left on device", the
#     daemon stays up, earlier files stay byte-identical, the partly written file
#     holds only its own bytes or zeros, deleting a file frees the space and
#     writes work again, fsck is clean. Then, full again: `rm` of the big file
#     and a write right after it (no wait) succeeds, as on ext4: a write that
#     gets ENOSPC while the reclaimer has frees pending waits for them.
#  B. cold tier full during demotion: STORE/cold is a separate 2 MiB tmpfs;
#     cold_after=0 makes the migrator try to demote 6 MiB of incompressible
#     data: demotions that do not fit fail, the objects stay hot and readable,
#     no *.tmp.* is left filling the cold tier, `tierfs migrate --to cold`
#     reports the failure, fsck is clean.
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"
require_root

MiB=$((1024 * 1024))
FS="$TMP/fs"
NATIVE="$TMP/native"
mkdir -p "$FS" "$NATIVE"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$FS" || skip "cannot mount a tmpfs here"
STORE="$FS/store"
_full_cleanup() {
  lazy_unmount "$MNT"
  local i
  for i in $(seq 1 100); do _store_lock_free && break; sleep 0.1; done
  umount -l "$STORE/cold" 2>/dev/null
  umount -l "$FS" 2>/dev/null
}
on_exit _full_cleanup

fs_used() { df --output=used -B1 "$1" | tail -n1 | tr -d ' '; }

# direct_cmp NATIVE_FILE MOUNT_FILE — compares with an O_DIRECT read (from the daemon, not the page cache).
direct_cmp() {
  cmp "$1" <(dd if="$2" iflag=direct bs=64k status=none) || fail "$2 differs from $1 (O_DIRECT read)"
}
# put_random NAME... — a new 2 MiB random file of each name in $NATIVE, copied
# into the mount, then sync.
put_random() {
  local n
  for n in "$@"; do
    head -c $((2 * MiB)) /dev/urandom >"$NATIVE/$n"
    cp "$NATIVE/$n" "$MNT/$n"
  done
  sync
}

# ---- A. the hot tier (and everything else) full ------------------------------------
OPTS=(chunk_size=64K cold_after=3600 compress=none)
mount_tierfs "${OPTS[@]}"
DAEMON=$(daemon_pid)
put_random keep1 keep2 keep3
# A deterministic 96 MiB pattern, so the partly written file can be checked.
python3 - "$TMP/pattern" <<'EOF'
import random, sys
rng = random.Random(1234)
with open(sys.argv[1], "wb") as f:
    for _ in range(96 * 16):
        f.write(rng.randbytes(65536))
EOF
log "used on the store's tmpfs before filling: $(fs_used "$FS") bytes"
rc=0
dd if="$TMP/pattern" of="$MNT/fill" bs=1M conv=fsync status=none 2>"$TMP/dd.err" || rc=$?
log "dd to the full store: exit $rc: $(tr '\n' ' ' <"$TMP/dd.err")"
[[ $rc -ne 0 ]] || fail "dd of 96 MiB into a 64 MiB store succeeded"
grep -q "No space left on device" "$TMP/dd.err" || fail "dd did not fail with 'No space left on device': $(cat "$TMP/dd.err")"
assert_eq "$DAEMON" "$(daemon_pid)" "daemon pid after ENOSPC"
stat "$MNT" >/dev/null || fail "mount not answering after ENOSPC"
small_rc=0
echo small >"$MNT/small" 2>/dev/null || small_rc=$?
log "a small write while full: exit $small_rc; used: $(fs_used "$FS") of $((64 * MiB))"
# (Until the next remount, reads may be served from the page cache, which
# keeps pages whose writeback failed; the daemon's copy is checked after a remount.)
for i in 1 2 3; do cmp "$NATIVE/keep$i" "$MNT/keep$i" || fail "keep$i differs after ENOSPC"; done

# Unmount and mount again on the full disk: the daemon's view of everything.
unmount_tierfs
mount_tierfs "${OPTS[@]}"
DAEMON=$(daemon_pid)
for i in 1 2 3; do direct_cmp "$NATIVE/keep$i" "$MNT/keep$i"; done
log "fill file after remount: $(stat -c %s "$MNT/fill") bytes"
# Every byte of the partly written file is its own data or zero (lost), never other bytes.
python3 - "$MNT/fill" "$TMP/pattern" <<'EOF2' || fail "the partly written file holds foreign bytes"
import sys
pat = open(sys.argv[2], "rb")
counts = {"intact": 0, "zeros": 0, "mixed": 0}
with open(sys.argv[1], "rb") as f:
    off = 0
    while True:
        got = f.read(65536)
        if not got:
            break
        pat.seek(off)
        want = pat.read(len(got))
        if got == want:
            counts["intact"] += 1
        elif not any(got):
            counts["zeros"] += 1
        else:
            bad = [i for i in range(len(got)) if got[i] != want[i] and got[i] != 0]
            if bad:
                sys.exit("fill: %d bytes in the 64 KiB block at %d are neither the written data nor zero "
                         "(first at %d: 0x%02x, want 0x%02x)" % (len(bad), off, off + bad[0], got[bad[0]], want[bad[0]]))
            counts["mixed"] += 1
        off += len(got)
print("fill: 64 KiB blocks: %s" % counts, file=sys.stderr)
EOF2

used_full=$(fs_used "$FS")
rc=0
rm "$MNT/fill" 2>"$TMP/rm.err" || rc=$?
if [[ $rc -ne 0 ]]; then
  soft_fail "rm of a file on a full store failed (exit $rc: $(cat "$TMP/rm.err")): a full store cannot be cleaned up by deleting files"
  # Work around to go on: truncating first frees the objects, then the unlink fits.
  truncate -s 0 "$MNT/fill" || fail "truncate -s 0 on the full store failed too"
  rm "$MNT/fill" || fail "rm after truncate -s 0 failed"
fi
rm -f "$MNT/small"
sync
space_freed() { [[ "$(fs_used "$FS")" -lt $((used_full - 32 * MiB)) ]]; }
wait_for 10 "space to be freed after deleting the fill file" space_freed
log "used after deleting the fill file: $(fs_used "$FS") (was $used_full)"
head -c $((8 * MiB)) /dev/urandom >"$NATIVE/after"
dd if="$NATIVE/after" of="$MNT/after" bs=1M conv=fsync status=none || fail "writing 8 MiB after freeing space failed"
direct_cmp "$NATIVE/after" "$MNT/after"
for i in 1 2 3; do direct_cmp "$NATIVE/keep$i" "$MNT/keep$i"; done

# Full again, then rm and write at once: the space the rm frees is freed in
# the background, and the write waits for it instead of failing. (First the
# daemon must have its disk reserve back, which lets the rm itself through.)
reserve_back() { [[ "$(stat -c %s "$STORE/reserve" 2>/dev/null)" == $((8 * MiB)) ]]; }
wait_for 10 "the disk reserve to be recreated" reserve_back
dd if="$TMP/pattern" of="$MNT/fill2" bs=1M conv=fsync status=none 2>/dev/null &&
  fail "dd of 96 MiB into the 64 MiB store succeeded (second fill)"
head -c $((16 * MiB)) /dev/urandom >"$NATIVE/rewrite"
rm "$MNT/fill2" || fail "rm of the second fill file failed"
dd if="$NATIVE/rewrite" of="$MNT/rewrite" bs=1M conv=fsync status=none 2>"$TMP/dd2.err" ||
  fail "writing 16 MiB right after rm of the fill file on a full store failed: $(cat "$TMP/dd2.err")"
direct_cmp "$NATIVE/rewrite" "$MNT/rewrite"
log "rm then write at once on the full store: ok; used: $(fs_used "$FS")"
assert_eq "$DAEMON" "$(daemon_pid)" "daemon pid at the end of part A"
unmount_tierfs
rc=$(run_fsck "$TMP/fsck.txt" "$STORE")
[[ "$rc" == 0 ]] || { cat "$TMP/fsck.txt" >&2; fail "fsck after the full-disk episode exited $rc"; }
remount_check() {
  mount_tierfs "${OPTS[@]}"
  for i in 1 2 3; do direct_cmp "$NATIVE/keep$i" "$MNT/keep$i"; done
  direct_cmp "$NATIVE/after" "$MNT/after"
  direct_cmp "$NATIVE/rewrite" "$MNT/rewrite"
  unmount_tierfs
}
remount_check

# ---- B. the cold tier full during demotion ----------------------------------------------
[[ -z "$(find "$STORE/cold" -type f)" ]] || fail "cold tier not empty before part B"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$STORE/cold" || fail "mounting the small cold tmpfs"
for s in $(seq 0 255); do mkdir -m 0700 "$STORE/cold/$(printf '%02x' "$s")"; done
OPTS=(chunk_size=64K cold_after=0 compress=zstd:1)
mount_tierfs "${OPTS[@]}"
DAEMON=$(daemon_pid)
put_random c1 c2 c3
# Let the migrator try (cold_after=0: everything is eligible at once).
sleep 4
"$TIERFS" status --json "$MNT" >"$TMP/status.json" || fail "status with a full cold tier"
log "status with the cold tier full: $(cat "$TMP/status.json")"
mrc=0
"$TIERFS" migrate --to cold "$MNT/c3" 2>"$TMP/migrate.err" || mrc=$?
log "migrate --to cold with the cold tier full: exit $mrc: $(tr '\n' ' ' <"$TMP/migrate.err")"
[[ $mrc -ne 0 ]] || fail "tierfs migrate --to cold of 2 MiB into a full 2 MiB cold tier exited 0"
assert_eq "$DAEMON" "$(daemon_pid)" "daemon pid with the cold tier full"
total_hot=0
for f in keep1 keep2 keep3 after c1 c2 c3; do
  "$TIERFS" where --json "$MNT/$f" >"$TMP/where.json" || fail "where $f"
  read -r hot cold < <(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))[0]; print(e["hot_bytes"], e["cold_bytes"])' "$TMP/where.json")
  assert_eq "$(stat -c %s "$MNT/$f")" "$((hot + cold))" "$f: hot_bytes + cold_bytes"
  total_hot=$((total_hot + hot))
done
[[ $total_hot -gt $((8 * MiB)) ]] || fail "only $total_hot bytes still hot: 20 MiB of incompressible data cannot fit a 2 MiB cold tier"
for f in keep1 keep2 keep3 after c1 c2 c3; do direct_cmp "$NATIVE/$f" "$MNT/$f"; done
# Failed demotions must remove their temp files: at most the one or two copies
# in progress may exist while the migrator keeps retrying, none after unmount.
ntmp=$(store_tmp_files | wc -l)
[[ $ntmp -le 2 ]] || fail "$ntmp temp files in the cold tier: failed demotions leave them behind: $(store_tmp_files)"
log "cold tmpfs used: $(fs_used "$STORE/cold") bytes; log lines mentioning space: $(grep -ci 'space' "$STORE/tierfs.log" || true)"
unmount_tierfs
tmps=$(store_tmp_files)
[[ -z "$tmps" ]] || fail "temp files of failed demotions remain after unmount: $tmps"
rc=$(run_fsck "$TMP/fsck.txt" "$STORE")
[[ "$rc" == 0 ]] || { cat "$TMP/fsck.txt" >&2; fail "fsck after the full cold tier exited $rc"; }
mount_tierfs chunk_size=64K cold_after=3600
for f in keep1 keep2 keep3 after c1 c2 c3; do direct_cmp "$NATIVE/$f" "$MNT/$f"; done
unmount_tierfs
soft_done
