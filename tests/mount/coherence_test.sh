#!/usr/bin/env bash
# Mount test: what the store holds after the kernel's caches are gone.
# O_TRUNC at open (shell redirects, open(2), O_TRUNC|O_DIRECT), buffered
# reads racing asynchronous O_DIRECT writes, and atime under relatime,
# strictatime and noatime — each checked after a remount with the page
# cache dropped, not only through the live mount.
source "$(dirname "$0")/lib.sh"

ODIRECT_RACE="${ODIRECT_RACE:-$REPO_ROOT/build/bin/odirect_race}"
[[ -x "$ODIRECT_RACE" ]] || fail "odirect_race not built: $ODIRECT_RACE"

drop_caches() { sync; [[ "$(id -u)" -ne 0 ]] || echo 3 >/proc/sys/vm/drop_caches; }
# Remount with caches dropped in between: what follows reads the store.
from_store() { unmount_tierfs; drop_caches; mount_tierfs "$@"; }

mount_tierfs chunk_size=64K

log "O_TRUNC by a shell redirect over an existing file"
printf 0123456789 >"$MNT/f"
sync
printf ab >"$MNT/f"
assert_eq ab "$(cat "$MNT/f")" "after the redirect (live mount)"
# A file over three chunks, truncated by open(O_WRONLY|O_TRUNC) and rewritten shorter.
python3 - "$MNT/big" <<'EOF'
import os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.write(b"A" * (200 << 10))
    os.fsync(f.fileno())
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"short")
os.close(fd)
EOF
# O_TRUNC|O_DIRECT: the old page must not come back through a hole.
python3 - "$MNT/direct" <<'EOF'
import mmap, os, sys
p = sys.argv[1]
buf = mmap.mmap(-1, 4096)
buf.write(b"x" * 4096)
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
os.pwrite(fd, buf, 0)
os.close(fd)
fd = os.open(p, os.O_RDWR | os.O_TRUNC | os.O_DIRECT)
buf.seek(0)
buf.write(b"y" * 4096)
os.pwrite(fd, buf, 4096)
got = mmap.mmap(-1, 4096)
n = os.preadv(fd, [got], 0)
os.close(fd)
assert n == 4096 and got[:] == b"\0" * 4096, "O_DIRECT read of offset 0 after O_TRUNC: %r" % got[:16]
EOF
from_store chunk_size=64K
assert_eq ab "$(cat "$MNT/f")" "redirect after a remount"
assert_eq 2 "$(stat -c %s "$MNT/f")" "size after the redirect, after a remount"
assert_eq short "$(cat "$MNT/big")" "open(O_TRUNC) after a remount"
python3 - "$MNT/direct" <<'EOF' || fail "O_TRUNC|O_DIRECT file wrong after a remount"
import sys
d = open(sys.argv[1], "rb").read()
assert d == b"\0" * 4096 + b"y" * 4096, (len(d), d[:8], d[4096:4104])
EOF

log "buffered reads next to asynchronous O_DIRECT writes"
"$ODIRECT_RACE" "$MNT/race" 3000 || fail "a buffered read returned bytes older than a completed O_DIRECT write"
from_store chunk_size=64K
python3 - "$MNT/race" <<'EOF' || fail "race file wrong after a remount"
import struct, sys
d = open(sys.argv[1], "rb").read()
# The last write to block b was the largest seq <= 3000 with seq % 4 == b.
for b in range(4):
    last = max(s for s in range(1, 3001) if s % 4 == b)
    (v,) = struct.unpack_from("<Q", d, b * 4096)
    assert v == last, (b, v, last)
EOF

log "atime: relatime (the default)"
printf data >"$MNT/a"
sync
t0=$(stat -c %X "$MNT/a")
sleep 1.1
cat "$MNT/a" >/dev/null
from_store chunk_size=64K
t1=$(stat -c %X "$MNT/a")
[[ $t1 -gt $t0 ]] || fail "relatime: the first read after a write did not update atime ($t0 -> $t1)"
m1=$(stat -c %Y "$MNT/a")
assert_eq "$(stat -c %Z "$MNT/a")" "$(stat -c %Z "$MNT/a")" "ctime stable"
ctime_before=$(stat -c %z "$MNT/a")
sleep 1.1
cat "$MNT/a" >/dev/null
from_store chunk_size=64K
assert_eq "$t1" "$(stat -c %X "$MNT/a")" "relatime: a second read must not update atime"
assert_eq "$m1" "$(stat -c %Y "$MNT/a")" "a read must not change mtime"
assert_eq "$ctime_before" "$(stat -c %z "$MNT/a")" "a read must not change ctime"

log "atime: relatime with a writer holding the file open (its writes still cached)"
python3 - "$MNT/w" <<'EOF' || fail "relatime: a read after a cached write left atime < mtime"
import os, sys, time
p = sys.argv[1]
open(p, "wb").write(b"0" * 5000)
w = os.open(p, os.O_WRONLY)
open(p, "rb").read()               # atime now newer than mtime
time.sleep(1.1)
os.pwrite(w, b"1", 10)             # kernel cache only: no close, no fsync
fd = os.open(p, os.O_RDONLY)
os.read(fd, 1 << 16)
st = os.fstat(fd)
os.close(fd)
os.close(w)
assert st.st_atime_ns >= st.st_mtime_ns, (st.st_atime_ns, st.st_mtime_ns)
EOF
from_store chunk_size=64K
python3 - "$MNT/w" <<'EOF' || fail "relatime with a writer: after a remount"
import os, sys
st = os.stat(sys.argv[1])
assert st.st_atime_ns >= st.st_mtime_ns, (st.st_atime_ns, st.st_mtime_ns)
assert open(sys.argv[1], "rb").read(11)[10:] == b"1"
EOF

log "atime: strictatime"
from_store chunk_size=64K strictatime
t2=$(stat -c %X "$MNT/a")
sleep 1.1
cat "$MNT/a" >/dev/null
t3=$(stat -c %X "$MNT/a")
[[ $t3 -gt $t2 ]] || fail "strictatime: a read did not update atime (live mount: $t2 -> $t3)"
from_store chunk_size=64K strictatime
assert_eq "$t3" "$(stat -c %X "$MNT/a")" "strictatime: atime after a remount"

log "atime: O_NOATIME (strictatime: only the owner's O_NOATIME reads leave it)"
: >"$MNT/empty"
from_store chunk_size=64K strictatime
ta=$(stat -c %X "$MNT/a")
te=$(stat -c %X "$MNT/empty")
sleep 1.1
python3 - "$MNT/a" "$MNT/empty" <<'EOF' || fail "O_NOATIME: a read moved atime (live mount)"
import os, sys
for p in sys.argv[1:]:
    before = os.stat(p).st_atime_ns
    fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
    os.read(fd, 1 << 16)
    os.pread(fd, 10, 1 << 20)  # at EOF
    os.close(fd)
    assert os.stat(p).st_atime_ns == before, (p, before, os.stat(p).st_atime_ns)
EOF
from_store chunk_size=64K strictatime
assert_eq "$ta" "$(stat -c %X "$MNT/a")" "O_NOATIME: atime of a file after a remount"
assert_eq "$te" "$(stat -c %X "$MNT/empty")" "O_NOATIME: atime of an empty file after a remount"
cat "$MNT/a" "$MNT/empty" >/dev/null
from_store chunk_size=64K strictatime
[[ $(stat -c %X "$MNT/a") -gt $ta ]] || fail "strictatime: a plain read after O_NOATIME ones did not move atime"
[[ $(stat -c %X "$MNT/empty") -gt $te ]] || fail "strictatime: a plain open of an empty file did not move atime"

log "atime: noatime"
printf more >>"$MNT/a"
from_store chunk_size=64K noatime
t4=$(stat -c %X "$MNT/a")
sleep 1.1
cat "$MNT/a" >/dev/null
from_store chunk_size=64K noatime
assert_eq "$t4" "$(stat -c %X "$MNT/a")" "noatime: a read changed atime"
assert_eq datamore "$(cat "$MNT/a")" "contents"
unmount_tierfs
"$TIERFS" fsck "$STORE" >/dev/null || fail "fsck not clean"
