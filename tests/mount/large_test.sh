#!/usr/bin/env bash
# Proves multi-chunk files (chunk_size=1M) read/write exactly, incl. writes straddling chunk boundaries and holes spanning chunks, and persist across remount.
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))
NATIVE="$TMP/native"
mkdir -p "$NATIVE"

mount_tierfs chunk_size=1M

# ---- 10 MiB random file, sequential write + read ----------------------------
log "10 MiB sequential"
dd if=/dev/urandom of="$NATIVE/big" bs=1M count=10 status=none
dd if="$NATIVE/big" of="$MNT/big" bs=1M status=none
assert_eq $((10 * MiB)) "$(stat -c %s "$MNT/big")" "big file size"
want=$(sha256sum <"$NATIVE/big" | cut -d' ' -f1)
assert_eq "$want" "$(sha256sum <"$MNT/big" | cut -d' ' -f1)" "sha256 of 10 MiB file"
# Odd read sizes that never line up with chunks.
assert_eq "$want" "$(dd if="$MNT/big" bs=12345 status=none | sha256sum | cut -d' ' -f1)" "sha256 reading with bs=12345"

# ---- writes straddling chunk boundaries, compared with a native model --------
log "boundary writes"
cp "$NATIVE/big" "$NATIVE/model"
cp "$NATIVE/big" "$MNT/model"
# (offset bytes, length bytes): across 1|2, exactly at 3, ending at 5, spanning 6..8,
# one byte before 9, and extending the file past its end (10 MiB -> ~11.5 MiB).
for spec in \
  "$((1 * MiB - 100)):200" \
  "$((3 * MiB)):4096" \
  "$((5 * MiB - 4096)):4096" \
  "$((6 * MiB - 1)):$((2 * MiB + 2))" \
  "$((9 * MiB - 1)):1" \
  "$((10 * MiB - 7)):$((3 * MiB / 2))"; do
  off=${spec%%:*} len=${spec##*:}
  head -c "$len" /dev/urandom >"$TMP/patch"
  for f in "$NATIVE/model" "$MNT/model"; do
    dd if="$TMP/patch" of="$f" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
  done
done
assert_eq "$(stat -c %s "$NATIVE/model")" "$(stat -c %s "$MNT/model")" "size after boundary writes"
cmp "$NATIVE/model" "$MNT/model" || fail "content after boundary writes"

# Small random-offset writes via python (pwrite), same on both sides.
python3 - "$NATIVE/model" "$MNT/model" <<'EOF'
import os, random, sys
rng = random.Random(42)
fds = [os.open(p, os.O_RDWR) for p in sys.argv[1:]]
size = os.fstat(fds[0]).st_size
for _ in range(300):
    off = rng.randrange(0, size + (1 << 20))
    data = os.urandom(rng.choice([1, 17, 4096, 65536, 1 << 20]))
    for fd in fds:
        assert os.pwrite(fd, data, off) == len(data)
for fd in fds:
    os.fsync(fd)
    os.close(fd)
EOF
cmp "$NATIVE/model" "$MNT/model" || fail "content after random pwrites"

# ---- sparse file with a hole spanning several chunks ----------------------
log "hole across chunks"
rm -f "$NATIVE/holey"
printf 'HEAD' | dd of="$NATIVE/holey" bs=1 seek=$((MiB / 2)) conv=notrunc status=none
printf 'TAIL' | dd of="$NATIVE/holey" bs=1 seek=$((7 * MiB + 3)) conv=notrunc status=none
printf 'HEAD' | dd of="$MNT/holey" bs=1 seek=$((MiB / 2)) conv=notrunc status=none
printf 'TAIL' | dd of="$MNT/holey" bs=1 seek=$((7 * MiB + 3)) conv=notrunc status=none
assert_eq $((7 * MiB + 7)) "$(stat -c %s "$MNT/holey")" "holey size"
cmp "$NATIVE/holey" "$MNT/holey" || fail "holey content"
# The hole [MiB/2+4, 7MiB+3) covers chunks 1..6 entirely: must read as zeros.
cmp <(dd if="$MNT/holey" bs=1M skip=1 count=6 status=none) <(head -c $((6 * MiB)) /dev/zero) \
  || fail "hole does not read as zeros"
assert_eq TAIL "$(dd if="$MNT/holey" bs=1 skip=$((7 * MiB + 3)) count=4 status=none)" "data after hole"
alloc=$(du --block-size=1 "$MNT/holey" | cut -f1)
[[ "$alloc" -le $((3 * MiB)) ]] || fail "holey file allocates $alloc bytes (hole chunks should not exist)"

# Truncate-extend then write past the end: the gap is a hole.
truncate -s $((3 * MiB + 5)) "$MNT/ext"
truncate -s $((3 * MiB + 5)) "$NATIVE/ext"
cmp "$NATIVE/ext" "$MNT/ext" || fail "truncate-extended file is not all zeros"

# ---- many files spanning chunks ----------------------------------------------
log "files of assorted sizes"
mkdir "$NATIVE/sizes" "$MNT/sizes"
for sz in 0 1 4095 4096 4097 $((MiB - 1)) $MiB $((MiB + 1)) $((2 * MiB)) $((3 * MiB + 12345)); do
  head -c "$sz" /dev/urandom >"$NATIVE/sizes/f$sz"
done
cp -a "$NATIVE/sizes/." "$MNT/sizes/"
diff -r "$NATIVE/sizes" "$MNT/sizes" || fail "assorted sizes differ"

# ---- persistence -------------------------------------------------------------
log "remount"
sums_before=$(cd "$MNT" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum)
remount_tierfs
sums_after=$(cd "$MNT" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum)
assert_eq "$sums_before" "$sums_after" "checksums after remount"
cmp "$NATIVE/big" "$MNT/big" || fail "big differs after remount"
cmp "$NATIVE/model" "$MNT/model" || fail "model differs after remount"
cmp "$NATIVE/holey" "$MNT/holey" || fail "holey differs after remount"
diff -r "$NATIVE/sizes" "$MNT/sizes" || fail "sizes differ after remount"
assert_eq $((7 * MiB + 7)) "$(stat -c %s "$MNT/holey")" "holey size after remount"
unmount_tierfs
