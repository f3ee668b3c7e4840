#!/usr/bin/env bash
# What an administrator watches of a running daemon (issue 21, items 4, 5,
# 7, 8):
#  - STORE/tierfs.log gets each line as it is logged, at the level chosen
#    (log_level), so `tail -f` follows the daemon: the mount's line is there
#    while it runs, a remount,ro/rw's lines as they happen, nothing below
#    log_level;
#  - a plain cp -a and diff -r count no request errors: the expected
#    negative answers (a missing security.capability xattr before each
#    write, ...) are counted apart (status's io.request_negatives and
#    tierfs_fuse_negatives_total), and a real error still counts as one;
#  - the preallocated memory shows the buffer pool and the frame cache
#    apart (buffer_pool=64M shows 64 MiB, not 128);
#  - two mounts cannot share one metrics_file: the second is refused with a
#    message naming the first, and gets the file once the first is
#    unmounted or killed.
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))
LOG="$STORE/tierfs.log"
# io KEY — status's io.KEY of the mount at $MNT.
io() {
  tfs status "$MNT" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["io"][sys.argv[1]])' "$1"
}
# sample FILE NAME — a sample's value in a Prometheus textfile (the first
# series of the family), 0 when absent.
sample() { awk -v n="$2" '$1 == n || index($1, n "{") == 1 {print $2; found = 1; exit} END {if (!found) print 0}' "$1"; }

log "the log follows the daemon"
mount_tierfs
wait_for 5 "the mount's line in $LOG while mounted" grep -q "serving store $STORE at $MNT" "$LOG"
if [[ "$(id -u)" -eq 0 ]]; then
  tfs mount -o remount,ro "$STORE" "$MNT"
  wait_for 5 "the remount,ro line in $LOG" grep -q "read-only (remount,ro)" "$LOG"
  tfs mount -o remount,rw "$STORE" "$MNT"
  wait_for 5 "the remount,rw line in $LOG" grep -q "read-write (remount,rw)" "$LOG"
fi

log "cp -a and diff -r: no request errors, the expected negatives apart"
SRC="$TMP/src"
mkdir -p "$SRC/d/e"
for i in $(seq 1 40); do head -c $((i * 1000)) /dev/urandom >"$SRC/d/f$i"; done
head -c $((3 * MiB)) /dev/urandom >"$SRC/d/e/big"
ln -s f1 "$SRC/d/link"
setfattr -n user.note -v hello "$SRC/d/f2"
cp -a "$SRC" "$MNT/copy"
diff -r "$SRC" "$MNT/copy" >/dev/null || fail "diff -r of the copy"
assert_eq 0 "$(io request_errors)" "request errors after cp -a and diff -r"
negatives=$(io request_negatives)
[[ $negatives -gt 0 ]] || fail "no negative answers counted after cp -a (ENODATA of security.capability)"
# A rename over a directory that is not empty is a negative (ENOTEMPTY); a
# control request tierfs does not know is an error (EINVAL).
mkdir -p "$MNT/x/y" "$MNT/z"
mv -T "$MNT/z" "$MNT/x" 2>/dev/null && fail "rename over a non-empty directory succeeded"
[[ $(io request_negatives) -gt $negatives ]] || fail "ENOTEMPTY not counted as a negative"
assert_eq 0 "$(io request_errors)" "request errors after an ENOTEMPTY"
setfattr -n user.tierfs.migrate -v lukewarm "$MNT/copy/d/f1" 2>/dev/null &&
  fail "migrate to lukewarm succeeded"
assert_eq 1 "$(io request_errors)" "request errors after an EINVAL"

log "preallocated memory: the buffer pool and the frame cache apart"
tfs status "$MNT" --json >"$TMP/status.json"
python3 - "$TMP/status.json" <<'PYEOF' || fail "buffer pool / frame cache preallocation (above)"
import json, sys
s = json.load(open(sys.argv[1]))
pool, cache = s["buffer_pool"]["bytes_preallocated"], s["frame_cache"]["bytes_preallocated"]
MiB = 1 << 20
assert 60 * MiB <= pool <= 64 * MiB, "buffer_pool=64M preallocates %d bytes" % pool
assert cache == 64 * MiB, "cache_size=64M preallocates %d bytes" % cache
PYEOF
remount_tierfs
diff -r "$SRC" "$MNT/copy" >/dev/null || fail "diff -r of the copy after a remount"
unmount_tierfs

log "below log_level, nothing"
lines=$(grep -c "serving store" "$LOG")
mount_tierfs log_level=warn
if [[ "$(id -u)" -eq 0 ]]; then tfs mount -o remount,ro "$STORE" "$MNT"; fi
sleep 0.5
assert_eq "$lines" "$(grep -c "serving store" "$LOG")" "info lines logged with log_level=warn"
unmount_tierfs

log "one metrics_file, two mounts"
PROM_DIR="$TMP/textfile"
PROM="$PROM_DIR/tierfs.prom"
mkdir -p "$PROM_DIR" "$TMP/mnt2"
STORE2="$TMP/store2"
MNT2="$TMP/mnt2"
cleanup_second() {
  local rc=$?
  mountpoint -q "$MNT2" && fusermount3 -u "$MNT2"
  (exit $rc)
  _cleanup
}
trap cleanup_second EXIT
mount_tierfs metrics_file="$PROM" cache_size=32M
[[ $(sample "$PROM" tierfs_frame_cache_preallocated_bytes) -eq $((32 * MiB)) ]] ||
  fail "tierfs_frame_cache_preallocated_bytes with cache_size=32M: $(sample "$PROM" tierfs_frame_cache_preallocated_bytes)"
pool=$(sample "$PROM" tierfs_buffer_pool_preallocated_bytes)
[[ $pool -le $((64 * MiB)) && $pool -ge $((60 * MiB)) ]] || fail "tierfs_buffer_pool_preallocated_bytes: $pool"
if tfs mount "$STORE2" "$MNT2" -o metrics_file="$PROM" 2>"$TMP/second.err"; then
  fail "a second mount with the same metrics_file succeeded"
fi
grep -q "metrics_file $PROM is written by the store $STORE mounted at $MNT" "$TMP/second.err" ||
  fail "the refusal does not name the first mount: $(cat "$TMP/second.err")"
mountpoint -q "$MNT2" && fail "the refused mount is mounted"
grep -q "tierfs_info{store=\"$STORE\"" "$PROM" || fail "the file is not the first mount's any more"

log "released at unmount"
unmount_tierfs
tfs mount "$STORE2" "$MNT2" -o metrics_file="$PROM" || fail "the second mount, after the first's unmount"
grep -q "tierfs_info{store=\"$STORE2\"" "$PROM" || fail "the file is not the second mount's"

log "released when the daemon is killed"
pid=$(pgrep -f -- "tierfs mount $STORE2 $MNT2" | head -1)
[[ -n "$pid" ]] || fail "no daemon process for $STORE2"
kill -KILL "$pid"
wait_for 10 "the killed daemon to go" bash -c "! kill -0 $pid 2>/dev/null"
fusermount3 -u "$MNT2"
mount_tierfs metrics_file="$PROM"
grep -q "tierfs_info{store=\"$STORE\"" "$PROM" || fail "the file after the killed daemon's"
