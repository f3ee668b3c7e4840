#!/usr/bin/env python3
"""Differential random-operation tester: tierfs against a native directory.

Applies one seeded, reproducible random sequence of file operations to a native
directory (on the real disk) and to a tierfs mount in lockstep, over a small
pool of names (6 files in 2 directories, so operations collide), with sizes
that straddle the 64 KiB chunk boundaries.  After every operation it compares
the result (return value or errno name) and the state of what the operation
touched (type, size, mode, nlink, bytes read through a fresh fd, user.*
xattrs, and "atime >= mtime after a read").  Every K operations it unmounts
and remounts tierfs, drops the page cache (root), and compares the whole tree
(names, types, sizes, modes, nlink, contents, user.* xattrs, which names are
hard links of each other).  The mount runs with cold_after=0 and a tiny
hot_capacity so the migrator moves chunks between tiers during the run, and
with inline_max=4K so that small files live inline and spill as they grow.

On the first mismatch it prints the seed, the op index and both sides, then
shrinks the sequence (delta debugging on fresh native dirs and fresh stores,
within --time-budget seconds), prints the shortest reproducer it found as a
list of operations, writes it as JSON and prints the command line that replays
exactly it.  Exit 0: clean; 1: mismatch; 2: harness error.

  difftest.py --tierfs BIN --seed S --ops-count N --remount-every K
              [--skip-ops a,b] [--only-ops a,b] [--skip-checks atime]
              [--replay FILE.json] [--time-budget S] [--workdir DIR] [--no-shrink]
  difftest.py --list-ops

Not compared (they differ between any two filesystems, or between two runs):
inode numbers and handle bytes, st_blocks / allocation, atime/mtime/ctime
values (only the relatime rule "a read leaves atime >= mtime" is checked),
directory entry order (names are sorted), st_dev, block size, SEEK_DATA/HOLE.
"""
import argparse
import ctypes
import errno
import fcntl
import fnmatch
import json
import mmap
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import first_diff, opened, sha  # noqa: E402 (tests/stress/stress_util.py, beside this file)

KiB = 1024
CHUNK = 64 * KiB
MAX_END = 320 * KiB          # no write/truncate/fallocate goes past this offset
DIO = 4096                   # O_DIRECT alignment
DIRS = ["d0", "d1"]
FILES = [f"{d}/{n}" for d in DIRS for n in "abc"]
SLOTS = 3                    # open file descriptors kept across operations
HANDLES = 2                  # file handles (name_to_handle_at) kept across operations
XATTRS = ["user.a", "user.b", "user.c"]
MOUNT_OPTS = f"cold_after=0,hot_capacity=256K,chunk_size={CHUNK // KiB}K,promote_reads=1,inline_max=4K"
IS_ROOT = os.geteuid() == 0

# ---- syscalls Python lacks ----------------------------------------------------
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
FALLOC = {"0": 0, "KEEP_SIZE": 0x01, "PUNCH_HOLE|KEEP_SIZE": 0x02 | 0x01,
          "ZERO_RANGE": 0x10, "ZERO_RANGE|KEEP_SIZE": 0x10 | 0x01}
RENAME = {"0": 0, "NOREPLACE": 1, "EXCHANGE": 2}
_fallocate = getattr(libc, "fallocate64", None) or libc.fallocate
_fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
libc.name_to_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                                   ctypes.POINTER(ctypes.c_int), ctypes.c_int]
libc.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
MAX_HANDLE_SZ = 128


def _check(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def fallocate(fd, mode, off, length):
    _check(_fallocate(fd, mode, off, length))


def renameat2(src, dst, flags):
    _check(libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags))


def name_to_handle(path):
    buf = ctypes.create_string_buffer(8 + MAX_HANDLE_SZ)
    ctypes.c_uint.from_buffer(buf).value = MAX_HANDLE_SZ
    mount_id = ctypes.c_int()
    _check(libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), buf, ctypes.byref(mount_id), 0))
    n = ctypes.c_uint.from_buffer(buf).value
    return buf.raw[:8 + n]


def open_by_handle(mount_fd, handle, flags):
    buf = ctypes.create_string_buffer(handle, len(handle))
    return _check(libc.open_by_handle_at(mount_fd, buf, flags))


def errname(e):
    return errno.errorcode.get(e.errno, f"errno{e.errno}")


def digest(b):
    return sha(b)[:16]


def gen_data(seed, n):
    """n bytes, deterministic in seed: random, a short pattern, zeros or text."""
    r = random.Random(seed)
    kind = seed % 4
    if kind == 0:
        return r.randbytes(n)
    if kind == 1:
        pat = r.randbytes(r.randint(1, 37))
        return (pat * (n // len(pat) + 1))[:n]
    if kind == 2:
        return bytes(n)
    words = [b"tier", b"chunk", b"cold", b"hot", b"frame", b"zstd", b"inode", b"\n"]
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + b" "
    return bytes(out[:n])


def aligned_buffer(n, data=None):
    """A page-aligned buffer (anonymous mmap) of n bytes, for O_DIRECT."""
    m = mmap.mmap(-1, max(n, DIO))
    if data is not None:
        m[:len(data)] = data
    return m


# ---- operations -----------------------------------------------------------------
# Every op is a dict {"op": NAME, ...} whose parameters are fixed when it is
# generated (not derived from the state), so any subset of a sequence is still
# a valid sequence: that is what makes shrinking possible.  Each side runs the
# op with the same code; what differs is only the root directory.

OPEN_FLAGS = {
    "rdonly": os.O_RDONLY,
    "rdwr": os.O_RDWR,
    "creat": os.O_RDWR | os.O_CREAT,
    "trunc": os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    "wronly_trunc": os.O_WRONLY | os.O_TRUNC,
    "append": os.O_RDWR | os.O_CREAT | os.O_APPEND,
    "excl": os.O_RDWR | os.O_CREAT | os.O_EXCL,
    "direct": os.O_RDWR | os.O_CREAT | os.O_DIRECT,
    "direct_trunc": os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT,
}
OPEN_WEIGHTS = {"rdonly": 1, "rdwr": 3, "creat": 3, "trunc": 3, "wronly_trunc": 1, "append": 2,
                "excl": 2, "direct": 2, "direct_trunc": 1}

# name: weight in the random mix
OP_WEIGHTS = {
    "open": 12, "close": 3, "write": 7, "pwrite": 9, "read": 5, "pread": 7, "lseek": 2,
    "write_path": 6, "mmap_write": 3, "truncate": 4, "ftruncate": 3, "fallocate": 7,
    "copy_range": 5, "rename": 5, "link": 3, "unlink": 4, "chmod": 2, "fsync": 3,
    "setxattr": 3, "removexattr": 2, "handle_get": 2, "handle_open": 3, "dropcaches": 0.3, "sleep": 0.5,
}
ALL_OPS = list(OP_WEIGHTS) + ["remount"]
CHECKS = ["atime", "nlink", "mode", "xattr", "links"]


def pick_off(r, align=1):
    x = r.random()
    if x < 0.35:
        off = max(0, r.randint(0, 4) * CHUNK + r.randint(-80, 80))
    elif x < 0.45:
        off = 0
    else:
        off = r.randint(0, MAX_END - 20 * KiB)
    off = min(off, MAX_END - DIO)
    return off - off % align


def pick_len(r, off, align=1):
    x = r.random()
    if x < 0.25:
        n = r.randint(1, 600)
    elif x < 0.65:
        n = r.randint(1, 16 * KiB)
    elif x < 0.93:
        n = r.randint(1, CHUNK + CHUNK // 2)
    else:
        n = r.randint(CHUNK, 2 * CHUNK + 300)
    n = max(1, min(n, MAX_END - off))
    if align > 1:
        n = max(align, (n + align - 1) // align * align)
    return n


def pick_path(r, dirs_too=0.03):
    return r.choice(DIRS) if r.random() < dirs_too else r.choice(FILES)


def gen_op(r, name):
    op = {"op": name}
    if name == "open":
        op["slot"] = r.randrange(SLOTS)
        op["path"] = pick_path(r)
        op["flags"] = r.choices(list(OPEN_WEIGHTS), list(OPEN_WEIGHTS.values()))[0]
        op["perm"] = "%04o" % r.choice([0o644, 0o600, 0o666, 0o640])
    elif name in ("close",):
        op["slot"] = r.randrange(SLOTS)
    elif name in ("write", "pwrite"):
        op["slot"] = r.randrange(SLOTS)
        op["off"] = pick_off(r)
        op["len"] = pick_len(r, op["off"])
        op["data"] = r.getrandbits(32)
        if name == "write":      # write() at the current position; off is used by O_DIRECT slots
            pass
    elif name in ("read", "pread"):
        op["slot"] = r.randrange(SLOTS)
        op["off"] = pick_off(r)
        op["len"] = pick_len(r, op["off"])
    elif name == "lseek":
        op["slot"] = r.randrange(SLOTS)
        op["whence"] = r.choice(["SET", "END", "CUR"])
        op["off"] = pick_off(r) if op["whence"] == "SET" else r.randint(-4 * KiB, 4 * KiB)
    elif name == "write_path":
        op["path"] = pick_path(r)
        op["off"] = pick_off(r)
        op["len"] = pick_len(r, op["off"])
        op["data"] = r.getrandbits(32)
    elif name == "mmap_write":
        op["path"] = pick_path(r)
        op["at"] = round(r.random(), 4)      # fraction of the file size
        op["len"] = pick_len(r, 0)
        op["data"] = r.getrandbits(32)
    elif name == "truncate":
        op["path"] = pick_path(r)
        op["size"] = pick_off(r)
    elif name == "ftruncate":
        op["slot"] = r.randrange(SLOTS)
        op["size"] = pick_off(r)
    elif name == "fallocate":
        op["path"] = pick_path(r)
        op["mode"] = r.choice(list(FALLOC))
        op["off"] = pick_off(r)
        op["len"] = pick_len(r, op["off"])
    elif name == "copy_range":
        op["src"] = pick_path(r)
        op["dst"] = op["src"] if r.random() < 0.3 else pick_path(r)
        op["src_off"] = pick_off(r)
        op["len"] = pick_len(r, op["src_off"])
        if op["src"] == op["dst"] and r.random() < 0.6:   # overlapping ranges: EINVAL
            op["dst_off"] = max(0, op["src_off"] + r.randint(-op["len"] + 1, op["len"] - 1))
        else:
            op["dst_off"] = pick_off(r)
        op["len"] = max(1, min(op["len"], MAX_END - op["dst_off"]))
    elif name in ("rename", "link"):
        op["src"] = r.choice(FILES)
        op["dst"] = pick_path(r, 0.06)
        if name == "rename":
            op["flags"] = r.choice(["0", "0", "NOREPLACE", "EXCHANGE"])
            if op["dst"] in DIRS and op["flags"] == "EXCHANGE":
                op["flags"] = "0"        # never move the two directories around
    elif name == "unlink":
        op["path"] = pick_path(r)
    elif name == "chmod":
        op["path"] = pick_path(r)
        op["perm"] = "%04o" % r.choice([0o644, 0o600, 0o755, 0o400, 0o000, 0o640, 0o4755])
    elif name == "fsync":
        op["kind"] = r.choice(["fsync", "fdatasync"])
        if r.random() < 0.5:
            op["slot"] = r.randrange(SLOTS)
        else:
            op["path"] = pick_path(r)
    elif name == "setxattr":
        op["path"] = pick_path(r)
        op["name"] = r.choice(XATTRS)
        op["vlen"] = r.choice([0, 1, 7, 64, 300])
        op["data"] = r.getrandbits(32)
        op["flags"] = r.choice(["0", "0", "CREATE", "REPLACE"])
    elif name == "removexattr":
        op["path"] = pick_path(r)
        op["name"] = r.choice(XATTRS)
    elif name == "handle_get":
        op["handle"] = r.randrange(HANDLES)
        op["path"] = pick_path(r)
    elif name == "handle_open":
        op["handle"] = r.randrange(HANDLES)
    elif name == "sleep":      # lets the clock and the migrator move on between two ops
        op["ms"] = r.randint(1, 30)
    elif name in ("dropcaches", "remount"):
        pass
    else:
        raise ValueError(name)
    return op


def op_name(op):
    """The op with its variant, e.g. fallocate:ZERO_RANGE|KEEP_SIZE, open:trunc."""
    for k in ("flags", "mode", "kind"):
        if k in op:
            return f"{op['op']}:{op[k]}"
    return op["op"]


def skipped(op, patterns):
    return any(fnmatch.fnmatchcase(op_name(op), p) or op["op"] == p for p in patterns)


def generate(seed, count, remount_every, enabled, skip=()):
    r = random.Random(seed)
    names = [n for n in OP_WEIGHTS if n in enabled]
    if not IS_ROOT:
        names = [n for n in names if n not in ("handle_get", "handle_open", "dropcaches")]
    weights = [OP_WEIGHTS[n] for n in names]
    ops = []
    for i in range(count):
        if remount_every and "remount" in enabled and i > 0 and i % remount_every == 0:
            ops.append({"op": "remount"})
        while True:
            op = gen_op(r, r.choices(names, weights)[0])
            if not skipped(op, skip):
                break
        ops.append(op)
    if remount_every and "remount" in enabled:
        ops.append({"op": "remount"})
    return ops


def fmt_op(op):
    return op["op"] + "".join(f" {k}={v}" for k, v in op.items() if k != "op")


class HarnessError(Exception):
    pass


# ---- one side (native directory or tierfs mount) ---------------------------------
class Side:
    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.slots = {}        # slot -> (fd, direct)
        self.handles = {}      # handle -> (handle bytes, inode number it was taken of)
        self.mount_fd = -1

    def p(self, rel):
        return os.path.join(self.root, rel)

    def open_root(self):
        self.mount_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)

    def close_all(self):
        for fd, _ in self.slots.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.slots.clear()
        if self.mount_fd >= 0:
            os.close(self.mount_fd)
            self.mount_fd = -1

    # -- running one op; returns a JSON-able result ---------------------------------
    def run(self, op):
        try:
            return getattr(self, "op_" + op["op"])(op)
        except OSError as e:
            return errname(e)

    def _slot(self, op):
        s = self.slots.get(op["slot"])
        if s is None:
            raise OSError(errno.EBADF, "no open slot")
        return s

    def op_open(self, op):
        old = self.slots.pop(op["slot"], None)
        if old:
            os.close(old[0])
        flags = OPEN_FLAGS[op["flags"]]
        fd = os.open(self.p(op["path"]), flags | os.O_CLOEXEC, int(op["perm"], 8))
        self.slots[op["slot"]] = (fd, bool(flags & os.O_DIRECT))
        return "ok"

    def op_close(self, op):
        fd, _ = self._slot(op)
        del self.slots[op["slot"]]
        os.close(fd)
        return "ok"

    def op_write(self, op, positional=False):
        fd, direct = self._slot(op)
        data = gen_data(op["data"], op["len"])
        if direct:   # O_DIRECT: aligned offset, length and buffer
            off = op["off"] - op["off"] % DIO
            n = max(DIO, (op["len"] + DIO - 1) // DIO * DIO)
            buf = aligned_buffer(n, data)
            try:
                return os.pwrite(fd, memoryview(buf)[:n], off)
            finally:
                buf.close()
        if positional:
            return os.pwrite(fd, data, op["off"])
        return os.write(fd, data)

    def op_pwrite(self, op):
        return self.op_write(op, positional=True)

    def op_read(self, op, positional=False):
        fd, direct = self._slot(op)
        if direct:
            off = op["off"] - op["off"] % DIO
            n = max(DIO, (op["len"] + DIO - 1) // DIO * DIO)
            buf = aligned_buffer(n)
            try:
                got = os.preadv(fd, [memoryview(buf)[:n]], off)
                data = bytes(buf[:got])
            finally:
                buf.close()
        elif positional:
            data = os.pread(fd, op["len"], op["off"])
        else:
            data = os.read(fd, op["len"])
        return [len(data), digest(data)]

    def op_pread(self, op):
        return self.op_read(op, positional=True)

    def op_lseek(self, op):
        fd, _ = self._slot(op)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            return "directory"     # directory offsets are each filesystem's own cookies
        whence = {"SET": os.SEEK_SET, "END": os.SEEK_END, "CUR": os.SEEK_CUR}[op["whence"]]
        return os.lseek(fd, op["off"], whence)

    def op_write_path(self, op):
        with opened(self.p(op["path"]), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644) as fd:
            return os.pwrite(fd, gen_data(op["data"], op["len"]), op["off"])

    def op_mmap_write(self, op):
        with opened(self.p(op["path"]), os.O_RDWR | os.O_CLOEXEC) as fd:
            size = os.fstat(fd).st_size
            if size == 0:
                return "empty"
            off = min(int(op["at"] * size), size - 1)
            n = min(op["len"], size - off)
            m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            try:
                m[off:off + n] = gen_data(op["data"], n)
                m.flush()          # msync(MS_SYNC)
            finally:
                m.close()
            return [off, n]

    def op_truncate(self, op):
        os.truncate(self.p(op["path"]), op["size"])
        return "ok"

    def op_ftruncate(self, op):
        fd, _ = self._slot(op)
        os.ftruncate(fd, op["size"])
        return "ok"

    def op_fallocate(self, op):
        with opened(self.p(op["path"]), os.O_RDWR | os.O_CLOEXEC) as fd:
            fallocate(fd, FALLOC[op["mode"]], op["off"], op["len"])
            return "ok"

    def op_copy_range(self, op):
        with opened(self.p(op["src"]), os.O_RDONLY | os.O_CLOEXEC) as fi, \
                opened(self.p(op["dst"]), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644) as fo:
            total = 0
            while total < op["len"]:     # a short copy is legal: loop like a caller would
                n = os.copy_file_range(fi, fo, op["len"] - total, op["src_off"] + total,
                                       op["dst_off"] + total)
                if n == 0:
                    break
                total += n
            return total

    def op_rename(self, op):
        renameat2(self.p(op["src"]), self.p(op["dst"]), RENAME[op["flags"]])
        return "ok"

    def op_link(self, op):
        os.link(self.p(op["src"]), self.p(op["dst"]))
        return "ok"

    def op_unlink(self, op):
        os.unlink(self.p(op["path"]))
        return "ok"

    def op_chmod(self, op):
        os.chmod(self.p(op["path"]), int(op["perm"], 8))
        return "ok"

    def op_fsync(self, op):
        sync = os.fdatasync if op["kind"] == "fdatasync" else os.fsync
        if "slot" in op:
            fd, _ = self._slot(op)
            sync(fd)
            return "ok"
        with opened(self.p(op["path"]), os.O_RDONLY | os.O_CLOEXEC) as fd:
            sync(fd)
            return "ok"

    def op_setxattr(self, op):
        flags = {"0": 0, "CREATE": os.XATTR_CREATE, "REPLACE": os.XATTR_REPLACE}[op["flags"]]
        os.setxattr(self.p(op["path"]), op["name"], gen_data(op["data"], op["vlen"]), flags,
                    follow_symlinks=False)
        return "ok"

    def op_removexattr(self, op):
        os.removexattr(self.p(op["path"]), op["name"], follow_symlinks=False)
        return "ok"

    def op_handle_get(self, op):
        self.handles.pop(op["handle"], None)
        h = name_to_handle(self.p(op["path"]))
        self.handles[op["handle"]] = (h, os.stat(self.p(op["path"])).st_ino)
        return "ok"

    def op_handle_open(self, op):
        entry = self.handles.get(op["handle"])
        if entry is None:
            return "nohandle"
        h, ino = entry
        # A file unlinked while one of our slots still holds it open: ext4
        # refuses its handle (ESTALE), but the kernel's FUSE export code
        # answers from its inode cache without asking the daemon, so tierfs
        # opens it (the same file, never another one; docs/status.md, "Known
        # limits"). Such a handle counts as ESTALE without being tried. (On
        # ext4 a slot may hold a newer unlinked file that reuses the inode
        # number; its handle is ESTALE there anyway.) Once no slot holds the
        # file, both sides must really give ESTALE -- on FUSE once the kernel
        # has also finished the release of the last close, which it sends
        # in the background and which holds the inode in its cache until
        # answered: an unlinked file that opens is tried again for up to 2 s.
        for fd_held, _ in self.slots.values():
            st = os.fstat(fd_held)
            if st.st_ino == ino and st.st_nlink == 0:
                return "ESTALE"
        for attempt in range(201):
            fd = open_by_handle(self.mount_fd, h, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if attempt == 200 or os.fstat(fd).st_nlink > 0:
                    data = read_all(fd)
                    return [len(data), digest(data)]
            finally:
                os.close(fd)
            time.sleep(0.01)

    # -- observing state -------------------------------------------------------------
    def observe_path(self, rel, checks, read_atime=True):
        return observe(self.p(rel), checks, read_atime)

    def observe_slot(self, slot, checks):
        s = self.slots.get(slot)
        if s is None:
            return {"slot": "closed"}
        fd, direct = s
        o = {"slot": "open"}
        if not direct:
            o["pos"] = os.lseek(fd, 0, os.SEEK_CUR)
        st = os.fstat(fd)
        o["type"] = ftype(st.st_mode)
        if "nlink" in checks:
            o["nlink"] = st.st_nlink
        if not stat.S_ISREG(st.st_mode):    # a directory's st_size is the filesystem's own
            return o
        o["size"] = st.st_size
        try:   # a fresh fd on the same open file, even if it was unlinked
            rfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            o["reopen"] = errname(e)
            return o
        try:
            data = read_all(rfd)
            o["content"] = digest(data)
            o["_data"] = data
        except OSError as e:
            o["content"] = errname(e)
        finally:
            os.close(rfd)
        return o


def read_all(fd):
    parts = []
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return b"".join(parts)
        parts.append(b)


def ftype(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def xattrs_of(path):
    out = {}
    for n in sorted(os.listxattr(path, follow_symlinks=False)):
        if n.startswith("user."):
            try:
                out[n] = digest(os.getxattr(path, n, follow_symlinks=False)) + \
                    ":%d" % len(os.getxattr(path, n, follow_symlinks=False))
            except OSError as e:
                out[n] = errname(e)
    return out


def observe(path, checks, read_atime):
    """What a path looks like: type, mode, nlink, size, bytes (through a fresh fd),
    user.* xattrs and, after reading it, whether atime >= mtime (relatime)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return {"exists": errname(e)}
    o = {"type": ftype(st.st_mode)}
    if "mode" in checks:
        o["mode"] = "%04o" % stat.S_IMODE(st.st_mode)
    if "nlink" in checks:
        o["nlink"] = st.st_nlink
    if stat.S_ISREG(st.st_mode):
        o["size"] = st.st_size
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            o["content"] = "open:" + errname(e)
        else:
            try:
                data = read_all(fd)
                o["content"] = digest(data)
                o["_data"] = data
                if read_atime and "atime" in checks:
                    st2 = os.fstat(fd)
                    o["atime>=mtime after read"] = st2.st_atime_ns >= st2.st_mtime_ns
            except OSError as e:
                o["content"] = errname(e)
            finally:
                os.close(fd)
    if "xattr" in checks:
        try:
            o["xattrs"] = xattrs_of(path)
        except OSError as e:
            o["xattrs"] = errname(e)
    return o


def observe_tree(root, checks):
    """Every entry under root, sorted by path, plus which paths are one file."""
    tree = {}
    inodes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            tree[rel] = observe(full, checks, read_atime=False)
            try:
                st = os.lstat(full)
                if not stat.S_ISDIR(st.st_mode):
                    inodes.setdefault(st.st_ino, []).append(rel)
            except OSError:
                pass
    if "links" in checks:
        tree["(hard-link groups)"] = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return tree


# ---- tierfs mounts ------------------------------------------------------------------
def is_mounted(mnt):
    mnt = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


def store_lock_free(store):
    try:
        fd = os.open(os.path.join(store, "LOCK"), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def drop_caches(what=3):
    """3: page cache, dentries and inodes; 2: dentries and inodes only."""
    if IS_ROOT:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write(f"{what}\n")
        except OSError:
            pass


class Tierfs:
    def __init__(self, binary, store, mnt, opts):
        self.binary, self.store, self.mnt, self.opts = binary, store, mnt, opts

    def mount(self):
        """Returns None, or why the mount failed."""
        deadline = time.time() + 30
        while True:
            try:
                r = subprocess.run([self.binary, "mount", self.store, self.mnt, "-o", self.opts],
                                   capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                return "tierfs mount timed out after 60 s"
            if r.returncode == 0:
                return None
            msg = (r.stderr or r.stdout).strip()
            if "in use" in msg and time.time() < deadline:   # the last daemon is still exiting
                time.sleep(0.1)
                continue
            return f"tierfs mount exited {r.returncode}: {msg}"

    def moves(self):
        """(demotions, promotions) of the running daemon, or (0, 0)."""
        try:
            r = subprocess.run([self.binary, "status", "--json", self.mnt], capture_output=True,
                               text=True, timeout=30)
            st = json.loads(r.stdout)
            return st.get("demotions", 0), st.get("promotions", 0)
        except (subprocess.SubprocessError, ValueError, OSError):
            return 0, 0

    def unmount(self):
        for _ in range(100):
            if not is_mounted(self.mnt):
                break
            r = subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        if is_mounted(self.mnt):
            raise HarnessError(f"could not unmount {self.mnt}")
        deadline = time.time() + 20
        while not store_lock_free(self.store):
            if time.time() > deadline:
                raise HarnessError(f"the daemon did not release {self.store}/LOCK within 20 s")
            time.sleep(0.05)

    def force_unmount(self):
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True)
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], capture_output=True)
        deadline = time.time() + 10
        while not store_lock_free(self.store) and time.time() < deadline:
            time.sleep(0.1)


# ---- comparing ----------------------------------------------------------------------
class Mismatch:
    def __init__(self, index, op, what, native, tierfs, detail=""):
        self.index, self.op, self.what = index, op, what
        self.native, self.tierfs, self.detail = native, tierfs, detail

    def signature(self):
        """What shrinking must preserve: the kind of op and what differed."""
        name = op_name(self.op)
        if name.startswith("fsync"):
            name = "fsync"
        return (name, self.what.split(":")[-1])

    def describe(self):
        return (f"op #{self.index}: {fmt_op(self.op)}\n"
                f"  differs: {self.what}\n"
                f"  native: {short(self.native)}\n"
                f"  tierfs: {short(self.tierfs)}" + (f"\n  {self.detail}" if self.detail else ""))


def short(v):
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) < 600 else s[:600] + "..."


def compare_obs(where, a, b):
    """Returns (what, native, tierfs, detail) of the first difference, or None."""
    keys = [k for k in list(a) + [k for k in b if k not in a] if not k.startswith("_")]
    for k in keys:
        if a.get(k) != b.get(k):
            detail = ""
            if k == "content" and "_data" in a and "_data" in b:
                da, db = a["_data"], b["_data"]
                off = first_diff(da, db)
                detail = (f"sizes {len(da)} vs {len(db)}; first differing byte at offset {off} "
                          f"(chunk {off // CHUNK}, +{off % CHUNK}); native {da[off:off + 16].hex()} "
                          f"tierfs {db[off:off + 16].hex()}")
            return (f"{where}:{k}", a.get(k), b.get(k), detail)
    return None


def compare_tree(ta, tb):
    names_a, names_b = set(ta), set(tb)
    if names_a != names_b:
        return ("tree:names", sorted(names_a - names_b), sorted(names_b - names_a),
                "(native-only, tierfs-only)")
    for n in sorted(ta):
        if n == "(hard-link groups)":
            if ta[n] != tb[n]:
                return ("tree:links", ta[n], tb[n], "")
            continue
        d = compare_obs(n, ta[n], tb[n])
        if d:
            return ("tree:" + d[0],) + d[1:]
    return None


def touched(op):
    paths = [op[k] for k in ("path", "src", "dst") if k in op]
    return list(dict.fromkeys(paths))


# ---- running a sequence -------------------------------------------------------------
class Run:
    """One native directory and one fresh tierfs store, running ops in lockstep."""

    def __init__(self, args, base):
        self.args = args
        self.base = base
        os.makedirs(base)
        self.native = Side("native", os.path.join(base, "native"))
        self.mnt = os.path.join(base, "mnt")
        os.makedirs(self.native.root)
        os.makedirs(self.mnt)
        self.tfs = None if args.against_native else \
            Tierfs(args.tierfs, os.path.join(base, "store"), self.mnt, args.mount_opts)
        self.tier = Side("tierfs", self.mnt)
        self.remounts = 0
        self.moves = [0, 0]     # demotions, promotions (summed over mounts)
        self.stats = {}         # (op, outcome on the native side) -> count
        self.checks = set(CHECKS) - set(args.skip_checks)
        if self.tfs:
            err = self.tfs.mount()
            if err:
                raise HarnessError(err)
        for d in DIRS:
            os.mkdir(self.native.p(d), 0o755)
            os.mkdir(self.tier.p(d), 0o755)
        self.native.open_root()
        self.tier.open_root()

    def count_moves(self):
        if self.tfs and is_mounted(self.mnt):
            d, p = self.tfs.moves()
            self.moves[0] += d
            self.moves[1] += p

    def close(self):
        self.native.close_all()
        self.tier.close_all()
        if self.tfs:
            self.count_moves()
            self.tfs.force_unmount()
        if not is_mounted(self.mnt):
            shutil.rmtree(self.base, ignore_errors=True)

    def remount(self):
        self.native.close_all()
        self.tier.close_all()
        if self.tfs:
            self.count_moves()
            self.tfs.unmount()
        drop_caches()
        err = self.tfs.mount() if self.tfs else None
        self.native.open_root()
        if err:
            return err
        self.tier.open_root()
        self.remounts += 1
        return "ok"

    def step(self, i, op):
        """Runs op i on both sides; returns a Mismatch or None."""
        name = op["op"]
        if name == "sleep":
            time.sleep(op["ms"] / 1000)
            return None
        if name in ("remount", "dropcaches"):
            # The tree walk leaves every dentry and inode cached, which would hide
            # what the daemon answers for inodes the kernel has not looked up since
            # the mount (open_by_handle_at asks the daemon for LOOKUP(ino, ".") only
            # then): so drop dentries and inodes again after the walk.
            if name == "remount":
                rt = self.remount()
                if rt != "ok":
                    return Mismatch(i, op, "result", "ok", rt)
            d = compare_tree(observe_tree(self.native.root, self.checks),
                             observe_tree(self.tier.root, self.checks))
            drop_caches(2 if name == "remount" else 3)
            return Mismatch(i, op, *d) if d else None
        rn = self.native.run(op)
        rt = self.tier.run(op)
        key = (name, rn if isinstance(rn, str) and rn != "ok" else "ok")
        self.stats[key] = self.stats.get(key, 0) + 1
        if rn != rt:
            return Mismatch(i, op, "result", rn, rt)
        if "slot" in op and name != "close":
            d = compare_obs(f"slot{op['slot']}", self.native.observe_slot(op["slot"], self.checks),
                            self.tier.observe_slot(op["slot"], self.checks))
            if d:
                return Mismatch(i, op, *d)
        for rel in touched(op):
            d = compare_obs(rel, self.native.observe_path(rel, self.checks),
                            self.tier.observe_path(rel, self.checks))
            if d:
                return Mismatch(i, op, *d)
        return None


def execute(args, ops, base, deadline=None, progress=False, info=None):
    """Runs ops on a fresh pair; returns (Mismatch or None, ops run, remounts).
    info (a dict), if given, receives the tier moves counted."""
    run = Run(args, base)
    try:
        t0 = time.time()
        for i, op in enumerate(ops):
            m = run.step(i, op)
            if m:
                return m, i + 1, run.remounts
            if deadline and time.time() > deadline:
                return None, i + 1, run.remounts
            if progress and i and i % 5000 == 0:
                print(f"difftest: seed {args.seed}: {i} ops, {run.remounts} remounts, "
                      f"{i / (time.time() - t0):.0f} ops/s", flush=True)
        return None, len(ops), run.remounts
    finally:
        if progress and args.stats:
            print("difftest: outcomes on the native side (op: outcome=count):")
            for name in sorted({k[0] for k in run.stats}):
                print(f"  {name:12s} " + " ".join(f"{k[1]}={v}" for k, v in
                                                sorted(run.stats.items()) if k[0] == name))
        run.close()
        if info is not None:
            info["demotions"], info["promotions"] = run.moves


# ---- shrinking ----------------------------------------------------------------------
class Shrinker:
    def __init__(self, args, workdir, signature, budget):
        self.args, self.workdir, self.sig = args, workdir, signature
        self.deadline = time.time() + budget
        self.trials = 0
        self.best = None

    def out_of_time(self):
        return time.time() > self.deadline

    def test(self, ops):
        """True when ops reproduce the same kind of mismatch; remembers it."""
        if self.out_of_time():
            return False
        self.trials += 1
        base = os.path.join(self.workdir, f"shrink-{self.trials}")
        try:
            m, _, _ = execute(self.args, ops, base, deadline=self.deadline)
        except HarnessError as e:
            print(f"difftest: shrink trial {self.trials}: harness error: {e}", file=sys.stderr)
            return False
        if m is not None and m.signature() == self.sig:
            self.best = (ops[:m.index + 1], m)
            return True
        return False

    def shrink(self, ops, mismatch):
        self.best = (ops[:mismatch.index + 1], mismatch)
        cur = self.best[0]
        # 1. the shortest suffix that still reproduces (most bugs need a few ops)
        k = 1
        while k < len(cur) and not self.out_of_time():
            if self.test(cur[-k:]):
                cur = self.best[0]
                break
            k *= 2
        # 2. ddmin: drop chunks while the mismatch still reproduces
        n = 2
        while len(cur) >= 2 and not self.out_of_time():
            size = -(-len(cur) // n)
            reduced = False
            for start in range(0, len(cur), size):
                cand = cur[:start] + cur[start + size:]
                if cand and self.test(cand):
                    cur = self.best[0]
                    n = max(n - 1, 2)
                    reduced = True
                    break
                if self.out_of_time():
                    break
            if not reduced:
                if n >= len(cur):
                    break
                n = min(len(cur), n * 2)
        # 3. simpler parameters (smaller offsets, lengths, sizes), one op at a time
        i = 0
        while i < len(cur) and not self.out_of_time():
            for key in ("len", "off", "size", "src_off", "dst_off", "vlen", "ms"):
                if i >= len(cur) or key not in cur[i]:
                    continue
                v = cur[i][key]
                smallest = 1 if key == "len" else 0
                for cand_v in (smallest, v // 16, v // 4, v // 2):
                    if cand_v >= v or cand_v < smallest or self.out_of_time():
                        continue
                    cand = [dict(o) for o in cur]
                    cand[i][key] = cand_v
                    if self.test(cand):
                        cur = self.best[0]
                        break
            i += 1
        return self.best


# ---- main ---------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tierfs", default=os.environ.get("TIERFS", "tierfs"), help="the tierfs binary")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ops-count", type=int, default=2000)
    ap.add_argument("--remount-every", type=int, default=200, help="0: never (but once at the end)")
    ap.add_argument("--skip-ops", default="",
                    help="comma-separated op names (see --list-ops) or op:VARIANT globs, "
                         "e.g. fallocate:ZERO_RANGE*,open:trunc,rename:EXCHANGE")
    ap.add_argument("--only-ops", default="", help="comma-separated op names: only these")
    ap.add_argument("--skip-checks", default="", help="comma-separated: " + ",".join(CHECKS))
    ap.add_argument("--replay", metavar="FILE.json", help="run exactly the ops in FILE")
    ap.add_argument("--time-budget", type=float, default=120, help="seconds for shrinking")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--shrink", action="store_true", help="also shrink a failing --replay")
    ap.add_argument("--workdir", help="scratch dir on the real disk (default: a new dir in /tmp)")
    ap.add_argument("--repro-dir", default=None, help="where reproducer JSON goes (default: workdir's parent)")
    ap.add_argument("--mount-opts", default=MOUNT_OPTS)
    ap.add_argument("--against-native", action="store_true",
                    help="self-check: a second native directory instead of tierfs (must be clean)")
    ap.add_argument("--stats", action="store_true", help="print how often each op got each outcome")
    ap.add_argument("--list-ops", action="store_true")
    a = ap.parse_args(argv)
    a.skip_ops = [s for s in a.skip_ops.split(",") if s]
    a.only_ops = [s for s in a.only_ops.split(",") if s]
    a.skip_checks = [s for s in a.skip_checks.split(",") if s]
    for s in a.skip_ops + a.only_ops:
        if s.split(":")[0] not in ALL_OPS:
            ap.error(f"unknown op {s!r}; ops: {','.join(ALL_OPS)}")
    for s in a.skip_checks:
        if s not in CHECKS:
            ap.error(f"unknown check {s!r}; checks: {','.join(CHECKS)}")
    return a


def die_with_parent():
    """SIGTERM when the parent (timeout, the test script) dies, and SIGTERM runs the
    finally blocks that unmount: an orphaned tester must not keep working in a
    directory its test script is removing (rm -rf would go through the mount)."""
    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    ppid = os.getppid()
    try:
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)       # PR_SET_PDEATHSIG
    except AttributeError:
        pass
    if os.getppid() != ppid:
        raise SystemExit(143)


def main(argv):
    args = parse_args(argv)
    die_with_parent()
    if args.list_ops:
        print(",".join(ALL_OPS))
        return 0
    os.umask(0o022)
    if args.replay:
        with open(args.replay) as f:
            doc = json.load(f)
        ops = doc["ops"]
        args.seed = doc.get("seed")
        args.mount_opts = doc.get("mount_opts", args.mount_opts)
        args.skip_checks = doc.get("skip_checks", args.skip_checks)
    else:
        if args.seed is None:
            args.seed = random.randrange(1 << 31)
        enabled = set(args.only_ops or ALL_OPS) - set(args.skip_ops)
        ops = generate(args.seed, args.ops_count, args.remount_every, enabled,
                       [p for p in args.skip_ops if ":" in p])
    own_workdir = args.workdir is None
    workdir = args.workdir or tempfile.mkdtemp(prefix="difftest.", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    repro_dir = args.repro_dir or os.path.dirname(os.path.abspath(workdir))
    os.makedirs(repro_dir, exist_ok=True)
    t0 = time.time()
    base = os.path.join(workdir, f"seed-{args.seed}")
    shutil.rmtree(base, ignore_errors=True)
    info = {}
    try:
        m, ran, remounts = execute(args, ops, base, progress=True, info=info)
    except HarnessError as e:
        print(f"difftest: seed {args.seed}: harness error: {e}", file=sys.stderr)
        return 2
    nops = sum(1 for o in ops[:ran] if o["op"] != "remount")
    if m is None:
        print(f"difftest: seed {args.seed}: {nops} ops, {remounts} remounts, clean "
              f"({time.time() - t0:.1f} s; migrator: {info.get('demotions', 0)} demotions, "
              f"{info.get('promotions', 0)} promotions)")
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0

    print(f"difftest: seed {args.seed}: MISMATCH after {nops} ops, {remounts} remounts\n"
          + m.describe(), flush=True)
    best = (ops[:m.index + 1], m)
    if not args.no_shrink and (not args.replay or args.shrink):
        print(f"difftest: shrinking {m.index + 1} ops (signature {m.signature()}, "
              f"budget {args.time_budget:.0f} s)...", flush=True)
        s = Shrinker(args, workdir, m.signature(), args.time_budget)
        best = s.shrink(ops, m)
        print(f"difftest: {s.trials} replays; shortest reproducer found: {len(best[0])} ops", flush=True)
    rops, rm = best
    path = os.path.join(repro_dir, f"difftest-seed{args.seed}-{rm.signature()[0]}-{len(rops)}ops.json"
                        .replace("|", "+").replace("[", "_").replace("]", ""))
    with open(path, "w") as f:
        json.dump({"seed": args.seed, "mount_opts": args.mount_opts, "skip_checks": args.skip_checks,
                   "mismatch": rm.describe(), "ops": rops}, f, indent=1)
    print("difftest: reproducer:")
    for i, op in enumerate(rops):
        print(f"  {i:3d}  {fmt_op(op)}")
    print(rm.describe())
    print("difftest: replay with: " + " ".join(shlex.quote(x) for x in
          ["python3", os.path.abspath(__file__), "--tierfs", args.tierfs, "--replay", path]))
    print(f"difftest: seed {args.seed}: {nops} ops, {remounts} remounts, MISMATCH "
          f"({rm.signature()[0]}: {rm.what})")
    if own_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
