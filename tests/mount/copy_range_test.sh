#!/usr/bin/env bash
# Mount test: copy_file_range in the daemon. Aligned and unaligned ranges,
# holes, a source past EOF (0 bytes), the errnos native gives (overlap in one
# file EINVAL, O_RDONLY / O_APPEND target EBADF), and whole cold chunks
# copied as stored: the copy is cold, takes the compressed size and decodes
# nothing (the frame cache sees no miss). Checked after a remount with the
# caches dropped.
source "$(dirname "$0")/lib.sh"

drop_caches() { sync; [[ "$(id -u)" -ne 0 ]] || echo 3 >/proc/sys/vm/drop_caches; }
OPTS=(chunk_size=64K promote_reads=0 cold_after=3600)
mount_tierfs "${OPTS[@]}"
NATIVE="$TMP/native"
mkdir -p "$NATIVE"

# The same calls on both sides, results compared; prints nothing when equal.
cat >"$TMP/cfr.py" <<'EOF'
import errno, os, random, sys
native, mnt = sys.argv[1:3]
rnd = random.Random(7)
data = bytes(rnd.getrandbits(8) for _ in range(300000))
def setup(d):
    with open(os.path.join(d, "src"), "wb") as f:
        f.write(data[:100000])
        f.seek(200000)          # a hole from 100000 to 200000
        f.write(data[200000:])
    open(os.path.join(d, "dst"), "wb").write(b"D" * 70000)
def run(d):
    out = []
    src = os.open(os.path.join(d, "src"), os.O_RDONLY)
    dst = os.open(os.path.join(d, "dst"), os.O_RDWR)
    def cfr(*args):
        try:
            return os.copy_file_range(*args)
        except OSError as e:
            return errno.errorcode[e.errno]
    out.append(cfr(src, dst, 300000, 0, 0))                # whole file, aligned
    out.append(cfr(src, dst, 150000, 1000, 400000))        # unaligned, over the hole
    out.append(cfr(src, dst, 65536 * 2, 65536, 65536 * 5)) # whole chunks at an aligned target
    out.append(cfr(src, dst, 100, 300000, 0))              # source past EOF: 0 bytes
    out.append(cfr(src, dst, 5000, 299000, 123457))        # source tail
    out.append(cfr(dst, dst, 1000, 0, 500))                # overlap in one file
    ro = os.open(os.path.join(d, "dst"), os.O_RDONLY)
    out.append(cfr(src, ro, 10, 0, 0))
    ap = os.open(os.path.join(d, "dst"), os.O_WRONLY | os.O_APPEND)
    out.append(cfr(src, ap, 10, 0, 0))
    for fd in (src, dst, ro, ap):
        os.close(fd)
    return out
setup(native); setup(mnt)
a, b = run(native), run(mnt)
if a != b:
    sys.exit("copy_file_range results differ: native %r, tierfs %r" % (a, b))
EOF
python3 "$TMP/cfr.py" "$NATIVE" "$MNT" || fail "copy_file_range differs from native"
for f in src dst; do cmp "$NATIVE/$f" "$MNT/$f" || fail "$f differs from native (live mount)"; done
unmount_tierfs
drop_caches
mount_tierfs "${OPTS[@]}"
for f in src dst; do cmp "$NATIVE/$f" "$MNT/$f" || fail "$f differs from native after a remount"; done

log "a copy from a hole, and past the size the daemon knows (dirty pages beyond)"
# difftest seed 95145349: the source range is a hole past the object's end;
# copying it must not stretch the target object past its file (a splice of
# the stretched object came up short and the kernel zero-filled the tail).
python3 - "$MNT/h" "$NATIVE/h" <<'EOF' || fail "copy from a hole lost bytes after it"
import os, sys
for p in sys.argv[1:]:
    def wp(off, data):
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644); os.pwrite(fd, data, off); os.close(fd)
    wp(0, b"A"); os.truncate(p, 1616); wp(134773, b"E")
    os.sync()
    fi, fo = os.open(p, os.O_RDONLY), os.open(p, os.O_WRONLY)
    assert os.copy_file_range(fi, fo, 1, 4092, 1917) == 1
    os.close(fi); os.close(fo)
    # A copy of a hole over bytes the target has (difftest seed 14025231):
    # they must become zeros.
    wp(122364, b"G")
    fi, fo = os.open(p, os.O_RDONLY), os.open(p, os.O_WRONLY)
    assert os.copy_file_range(fi, fo, 20573, 1, 108431) == 20573
    os.close(fi); os.close(fo)
    # A dirty page far out that the copy does not flush, then a copy from
    # beyond the daemon's idea of the size: the kernel's size rules.
    wp(300000, b"F")
    fi, fo = os.open(p, os.O_RDONLY), os.open(p, os.O_WRONLY)
    assert os.copy_file_range(fi, fo, 10, 200000, 5000) == 10
    os.close(fi); os.close(fo)
a, b = (open(p, "rb").read() for p in sys.argv[1:])
assert a == b and a[134773:134774] == b"E", (len(a), len(b), a[134773:134774])
EOF
remount_tierfs
cmp "$NATIVE/h" "$MNT/h" || fail "copy from a hole: differs from native after a remount"

log "a cold file is copied as stored, without decoding"
head -c 300000 /dev/urandom | base64 >"$MNT/cold"   # compressible, 6+ chunks
"$TIERFS" migrate --to cold "$MNT/cold"
"$TIERFS" where "$MNT/cold" --json >"$TMP/w0"
unmount_tierfs
drop_caches
mount_tierfs "${OPTS[@]}"
"$TIERFS" status "$MNT" --json >"$TMP/s0"
python3 - "$MNT/cold" "$MNT/copy" <<'EOF'
import os, sys
src, dst = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
size = os.fstat(src).st_size
done = 0
while done < size:
    n = os.copy_file_range(src, dst, size - done)
    assert n > 0
    done += n
EOF
"$TIERFS" status "$MNT" --json >"$TMP/s1"
"$TIERFS" where "$MNT/copy" --json >"$TMP/w1"
python3 - "$TMP/s0" "$TMP/s1" "$TMP/w0" "$TMP/w1" <<'EOF' || fail "the cold copy was decoded or is not cold"
import json, sys
s0, s1, w0, w1 = (json.load(open(p)) for p in sys.argv[1:])
w0, w1 = w0[0], w1[0]
assert s1["frame_cache"]["misses"] == s0["frame_cache"]["misses"], ("frames decoded", s0["frame_cache"], s1["frame_cache"])
assert w1["cold_bytes"] == w0["cold_bytes"] > 0, (w0, w1)
assert w1["stored_bytes"] == w0["stored_bytes"] < w0["cold_bytes"], (w0, w1)
EOF
unmount_tierfs
drop_caches
mount_tierfs "${OPTS[@]}"
cmp "$MNT/cold" "$MNT/copy" || fail "the cold copy reads back different after a remount"
unmount_tierfs
"$TIERFS" fsck "$STORE" >/dev/null || fail "fsck not clean"
