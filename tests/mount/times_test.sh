#!/usr/bin/env bash
# Mount test: times never go backwards. The kernel stamps a file's writes and
# times set to "now" itself (writeback cache), from its coarse clock; tierfs
# stamps creates and namespace changes from the same clock, so that a time
# the kernel stamps later is never earlier: a touch or a write after a create
# is never before the create, a tar extraction that leaves times alone (-m)
# gives no file an atime after its mtime; and the times the kernel showed are
# the ones the store holds after a remount (ctime included).
source "$(dirname "$0")/lib.sh"

mount_tierfs

log "create, then touch or write: never earlier than the create"
python3 - "$MNT" <<'EOF' || fail "a time after a create went back before it"
import os, sys
d = sys.argv[1]
os.mkdir(os.path.join(d, "c"))
bad = []
for i in range(200):
    p = os.path.join(d, "c", "t%d" % i)
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    born = os.fstat(fd)
    if i % 2:
        os.write(fd, b"x")  # the kernel stamps the write
        os.fsync(fd)
    else:
        os.utime(p)  # touch: "now"
    st = os.fstat(fd)
    os.close(fd)
    for what in ("st_mtime_ns", "st_ctime_ns"):
        if getattr(st, what) < born.st_ctime_ns:
            bad.append((p, what, born.st_ctime_ns - getattr(st, what)))
assert not bad, (len(bad), bad[:3])
EOF

log "tar -m (extracted files keep the times of their creation and writes)"
src="$TMP/src"
mkdir -p "$src/t"
for i in $(seq 1 100); do printf "member %d" "$i" >"$src/t/m$i"; done
tar -C "$src" -cf "$TMP/t.tar" t
tar -C "$MNT" -m -xf "$TMP/t.tar"
python3 - "$MNT/t" <<'EOF' || fail "tar -m: a file's atime (its create) is after its mtime (its write)"
import os, sys
bad = [(n, st.st_atime_ns - st.st_mtime_ns)
       for n in os.listdir(sys.argv[1])
       for st in [os.stat(os.path.join(sys.argv[1], n))]
       if st.st_atime_ns > st.st_mtime_ns or st.st_mtime_ns > st.st_ctime_ns]
assert not bad, (len(bad), bad[:3])
EOF

log "times after a remount are the ones the kernel showed"
times() {
  python3 - "$MNT" <<'EOF'
import os, sys
for root, dirs, files in sorted(os.walk(sys.argv[1])):
    for n in sorted(files + dirs):
        st = os.lstat(os.path.join(root, n))
        print(os.path.relpath(os.path.join(root, n), sys.argv[1]),
              st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
EOF
}
for i in $(seq 1 20); do printf "more %d" "$i" >>"$MNT/t/m$i"; done
touch "$MNT/t/m30"
chmod 600 "$MNT/t/m31"
sync
times >"$TMP/before"
remount_tierfs
times >"$TMP/after"
diff "$TMP/before" "$TMP/after" >&2 || fail "times changed across a remount (above: before, after)"
unmount_tierfs
