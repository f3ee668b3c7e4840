#!/usr/bin/env bash
# Mount test (root): file handles (name_to_handle_at / open_by_handle_at, what
# an NFS server exports) survive the kernel forgetting the inode — a remount
# with caches dropped — for files and directories (which need the lookup of
# ".." to reconnect); a handle of an unlinked file gives ESTALE, never
# another file, also when new files were created since; a handle whose
# generation was guessed (inode numbers are sequential) gives ESTALE.
source "$(dirname "$0")/lib.sh"
require_root

HANDLES="$TMP/handles.json"
mount_tierfs
mkdir -p "$MNT/d/sub"
printf 'file one' >"$MNT/d/one"
printf 'file two' >"$MNT/d/sub/two"
printf 'doomed' >"$MNT/doomed"

# handles.py save|check|gone MNT FILE... — the ctypes side of the test.
cat >"$TMP/handles.py" <<'EOF'
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]
AT_FDCWD = -100
def to_handle(path):
    h = FileHandle(handle_bytes=128)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, path.encode(), ctypes.byref(h), ctypes.byref(mount_id), 0):
        raise OSError(ctypes.get_errno(), "name_to_handle_at " + path)
    return {"type": h.handle_type, "bytes": bytes(h.f_handle[:h.handle_bytes]).hex(),
            "dir": os.path.isdir(path)}
def open_handle(mnt, saved, flags):
    h = FileHandle(handle_bytes=len(saved["bytes"]) // 2, handle_type=saved["type"])
    raw = bytes.fromhex(saved["bytes"])
    ctypes.memmove(h.f_handle, raw, len(raw))
    mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    fd = libc.open_by_handle_at(mfd, ctypes.byref(h), flags)
    err = ctypes.get_errno()
    os.close(mfd)
    if fd < 0:
        raise OSError(err, os.strerror(err))
    return fd
cmd, store, mnt, *paths = sys.argv[1:]
if cmd == "save":
    json.dump({p: to_handle(os.path.join(mnt, p)) for p in paths}, open(store, "w"))
    sys.exit(0)
saved = json.load(open(store))
for p in paths:
    full = os.path.join(mnt, p)
    if cmd == "check":
        # Nothing may touch the path before the handle is opened: that would
        # bring the inode back into the kernel's cache.
        is_dir = saved[p]["dir"]
        fd = open_handle(mnt, saved[p], os.O_RDONLY | (os.O_DIRECTORY if is_dir else 0))
        st = os.fstat(fd)
        assert st.st_ino == os.stat(full).st_ino, (p, "handle opened another inode")
        if is_dir:
            names = sorted(os.listdir(fd))
            assert names == sorted(os.listdir(full)), (p, names)
        else:
            data = os.read(fd, 1 << 16)
            assert data == open(full, "rb").read(), (p, data)
        os.close(fd)
    elif cmd == "forged":
        # The same inode number with a guessed generation: 1 (what every
        # handle carried before generations were keyed) and the real one
        # plus one. Both must be refused, with the inode cached or not.
        real = bytes.fromhex(saved[p]["bytes"])
        gen = int.from_bytes(real[8:12], "little")
        assert gen != 1, (p, "generation is still 1")
        for guess in {1, (gen + 1) & 0xffffffff}:
            forged = dict(saved[p], bytes=(real[:8] + guess.to_bytes(4, "little") + real[12:]).hex())
            try:
                fd = open_handle(mnt, forged, os.O_RDONLY)
            except OSError as e:
                assert e.errno == errno.ESTALE, (p, guess, errno.errorcode.get(e.errno))
            else:
                raise AssertionError("%s: a forged handle (generation %d) opened it" % (p, guess))
    else:  # gone
        try:
            fd = open_handle(mnt, saved[p], os.O_RDONLY)
        except OSError as e:
            assert e.errno == errno.ESTALE, (p, errno.errorcode.get(e.errno))
        else:
            raise AssertionError("%s: handle of an unlinked file opened %r" % (p, os.read(fd, 64)))
print("ok")
EOF
H() { python3 "$TMP/handles.py" "$1" "$HANDLES" "$MNT" "${@:2}"; }

H save d d/one d/sub d/sub/two doomed >/dev/null || fail "name_to_handle_at failed"
H check d d/one d/sub d/sub/two doomed >/dev/null || fail "handles do not work on the live mount"
H forged d/one d/sub >/dev/null || fail "a guessed handle opened a file (live mount)"
# The first handle of each round is opened with nothing cached (a check stats
# the path after opening, which brings the inode and its parents back): a
# directory (the kernel reconnects it through ".."), then a file.
for first in d/sub d/sub/two doomed; do
  unmount_tierfs
  sync
  echo 3 >/proc/sys/vm/drop_caches
  mount_tierfs
  H check "$first" d/sub d/sub/two d/one d doomed >/dev/null ||
    fail "handles fail after a remount, $first first (the kernel forgot the inodes)"
done

log "a handle with a guessed generation gives ESTALE, the inodes cached or not"
unmount_tierfs
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs
H forged d/sub/two d/sub >/dev/null || fail "a guessed handle opened a file (after a remount)"
H check d/sub/two d/sub >/dev/null || fail "the real handles after the guessed ones"

log "an unlinked file's handle gives ESTALE"
rm "$MNT/doomed"
for i in $(seq 1 20); do printf "new $i" >"$MNT/new$i"; done
H gone doomed >/dev/null || fail "handle of an unlinked file (live mount)"
unmount_tierfs
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs
H gone doomed >/dev/null || fail "handle of an unlinked file (after remount)"
H check d/one d/sub/two >/dev/null || fail "other handles after the unlink"
