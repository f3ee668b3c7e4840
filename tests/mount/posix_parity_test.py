#!/usr/bin/env python3
"""Proves tierfs returns the same results and errnos as a native filesystem for a list of edge-case operations.

Usage: posix_parity_test.py TEST_DIR [REFERENCE_DIR]

Each scenario runs in a fresh subdirectory of TEST_DIR (e.g. on the tierfs mount)
and of REFERENCE_DIR (default: a new temp dir on the native filesystem); the
results (return value or errno name) are compared and printed as a table.
Exit status 1 lists the mismatches.
"""
import errno
import os
import shutil
import stat
import sys
import tempfile

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


def write(path, data=b""):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def open_close(path, flags, mode=0o644):
    fd = os.open(path, flags, mode)
    os.close(fd)
    return "ok"


def kind(path):
    try:
        m = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    for name, test in (("dir", stat.S_ISDIR), ("file", stat.S_ISREG), ("link", stat.S_ISLNK),
                       ("fifo", stat.S_ISFIFO)):
        if test(m):
            return name
    return "other"


# ---- namespace errors ----------------------------------------------------------------

@scenario
def open_excl_existing_file(d):
    write(d + "/f")
    return open_close(d + "/f", os.O_CREAT | os.O_EXCL | os.O_WRONLY)


@scenario
def open_excl_existing_dir(d):
    os.mkdir(d + "/sub")
    return open_close(d + "/sub", os.O_CREAT | os.O_EXCL | os.O_WRONLY)


@scenario
def open_excl_dangling_symlink(d):
    os.symlink("nowhere", d + "/s")
    return open_close(d + "/s", os.O_CREAT | os.O_EXCL | os.O_WRONLY)


@scenario
def open_creat_through_dangling_symlink(d):
    os.symlink("target", d + "/s")
    open_close(d + "/s", os.O_CREAT | os.O_WRONLY)
    return kind(d + "/target"), kind(d + "/s")


@scenario
def open_missing(d):
    return open_close(d + "/missing", os.O_RDONLY)


@scenario
def open_file_as_dir_component(d):
    write(d + "/f")
    return open_close(d + "/f/child", os.O_RDONLY)


@scenario
def open_o_directory_on_file(d):
    write(d + "/f")
    return open_close(d + "/f", os.O_RDONLY | os.O_DIRECTORY)


@scenario
def open_dir_wronly(d):
    os.mkdir(d + "/sub")
    return open_close(d + "/sub", os.O_WRONLY)


@scenario
def open_dir_rdwr(d):
    os.mkdir(d + "/sub")
    return open_close(d + "/sub", os.O_RDWR)


@scenario
def open_dir_rdonly(d):
    os.mkdir(d + "/sub")
    return open_close(d + "/sub", os.O_RDONLY)


@scenario
def symlink_loop_open(d):
    os.symlink("b", d + "/a")
    os.symlink("a", d + "/b")
    return open_close(d + "/a", os.O_RDONLY)


@scenario
def open_nofollow_symlink(d):
    write(d + "/f")
    os.symlink("f", d + "/s")
    return open_close(d + "/s", os.O_RDONLY | os.O_NOFOLLOW)


@scenario
def rmdir_non_empty(d):
    os.makedirs(d + "/sub/x")
    return os.rmdir(d + "/sub")


@scenario
def rmdir_file(d):
    write(d + "/f")
    return os.rmdir(d + "/f")


@scenario
def rmdir_dot(d):
    os.mkdir(d + "/sub")
    return os.rmdir(d + "/sub/.")


@scenario
def rmdir_missing(d):
    return os.rmdir(d + "/missing")


@scenario
def unlink_dir(d):
    os.mkdir(d + "/sub")
    return os.unlink(d + "/sub")


@scenario
def unlink_missing(d):
    return os.unlink(d + "/missing")


@scenario
def mkdir_existing_dir(d):
    os.mkdir(d + "/sub")
    return os.mkdir(d + "/sub")


@scenario
def mkdir_existing_file(d):
    write(d + "/f")
    return os.mkdir(d + "/f")


@scenario
def mkdir_under_file(d):
    write(d + "/f")
    return os.mkdir(d + "/f/sub")


@scenario
def mkdir_missing_parent(d):
    return os.mkdir(d + "/no/sub")


@scenario
def symlink_existing(d):
    write(d + "/f")
    return os.symlink("x", d + "/f")


@scenario
def readlink_regular_file(d):
    write(d + "/f")
    return os.readlink(d + "/f")


@scenario
def readlink_dir(d):
    os.mkdir(d + "/sub")
    return os.readlink(d + "/sub")


@scenario
def readlink_long_target(d):
    target = "t" * 1000 + "/" + "u" * 2000
    os.symlink(target, d + "/s")
    return os.readlink(d + "/s") == target


@scenario
def chdir_into_file(d):
    write(d + "/f")
    cwd = os.getcwd()
    try:
        os.chdir(d + "/f")
    finally:
        os.chdir(cwd)


@scenario
def name_256_bytes(d):
    return open_close(d + "/" + "x" * 256, os.O_CREAT | os.O_WRONLY)


@scenario
def name_255_bytes(d):
    return open_close(d + "/" + "x" * 255, os.O_CREAT | os.O_WRONLY)


@scenario
def utime_missing(d):
    return os.utime(d + "/missing", (1, 1))


# ---- rename ----------------------------------------------------------------------------

@scenario
def rename_dir_over_file(d):
    os.mkdir(d + "/sub")
    write(d + "/f")
    return os.rename(d + "/sub", d + "/f")


@scenario
def rename_file_over_dir(d):
    os.mkdir(d + "/sub")
    write(d + "/f")
    return os.rename(d + "/f", d + "/sub")


@scenario
def rename_dir_over_nonempty_dir(d):
    os.mkdir(d + "/a")
    os.makedirs(d + "/b/x")
    return os.rename(d + "/a", d + "/b")


@scenario
def rename_dir_over_empty_dir(d):
    os.mkdir(d + "/a")
    write(d + "/a/inside", b"1")
    os.mkdir(d + "/b")
    os.rename(d + "/a", d + "/b")
    return kind(d + "/a"), read(d + "/b/inside"), os.stat(d).st_nlink


@scenario
def rename_dir_into_own_subdir(d):
    os.makedirs(d + "/a/b")
    return os.rename(d + "/a", d + "/a/b/c")


@scenario
def rename_dir_onto_itself(d):
    os.mkdir(d + "/a")
    os.rename(d + "/a", d + "/a")
    return kind(d + "/a")


@scenario
def rename_file_onto_itself(d):
    write(d + "/f", b"x")
    os.rename(d + "/f", d + "/f")
    return read(d + "/f")


@scenario
def rename_onto_own_hardlink(d):
    # POSIX: when both names refer to the same file, rename does nothing.
    write(d + "/f", b"x")
    os.link(d + "/f", d + "/g")
    os.rename(d + "/f", d + "/g")
    return kind(d + "/f"), kind(d + "/g"), os.stat(d + "/g").st_nlink


@scenario
def rename_missing(d):
    return os.rename(d + "/missing", d + "/x")


@scenario
def rename_under_file(d):
    write(d + "/f")
    write(d + "/g")
    return os.rename(d + "/g", d + "/f/g")


@scenario
def rename_file_over_file(d):
    write(d + "/f", b"new")
    write(d + "/g", b"old")
    os.rename(d + "/f", d + "/g")
    return kind(d + "/f"), read(d + "/g")


@scenario
def rename_symlink_over_file(d):
    os.symlink("dest", d + "/s")
    write(d + "/g", b"old")
    os.rename(d + "/s", d + "/g")
    return kind(d + "/g"), os.readlink(d + "/g")


# ---- hard links --------------------------------------------------------------------

@scenario
def link_to_dir(d):
    os.mkdir(d + "/sub")
    return os.link(d + "/sub", d + "/sub2")


@scenario
def link_onto_existing(d):
    write(d + "/f")
    write(d + "/g")
    return os.link(d + "/f", d + "/g")


@scenario
def link_missing_source(d):
    return os.link(d + "/missing", d + "/g")


@scenario
def link_counts(d):
    write(d + "/f")
    os.link(d + "/f", d + "/g")
    os.link(d + "/f", d + "/h")
    a = os.stat(d + "/f").st_nlink
    os.unlink(d + "/g")
    return a, os.stat(d + "/f").st_nlink, os.stat(d + "/h").st_ino == os.stat(d + "/f").st_ino


@scenario
def link_to_symlink_is_symlink(d):
    os.symlink("f", d + "/s")
    os.link(d + "/s", d + "/s2", follow_symlinks=False)
    return kind(d + "/s2"), os.readlink(d + "/s2")


# ---- data ops ----------------------------------------------------------------------

@scenario
def truncate_dir(d):
    os.mkdir(d + "/sub")
    return os.truncate(d + "/sub", 0)


@scenario
def truncate_negative(d):
    write(d + "/f")
    return os.truncate(d + "/f", -1)


@scenario
def ftruncate_readonly_fd(d):
    write(d + "/f", b"abc")
    fd = os.open(d + "/f", os.O_RDONLY)
    try:
        return os.ftruncate(fd, 0)
    finally:
        os.close(fd)


@scenario
def write_readonly_fd(d):
    write(d + "/f", b"abc")
    fd = os.open(d + "/f", os.O_RDONLY)
    try:
        return os.write(fd, b"x")
    finally:
        os.close(fd)


@scenario
def read_writeonly_fd(d):
    write(d + "/f", b"abc")
    fd = os.open(d + "/f", os.O_WRONLY)
    try:
        return os.read(fd, 1)
    finally:
        os.close(fd)


@scenario
def read_dir_fd(d):
    os.mkdir(d + "/sub")
    fd = os.open(d + "/sub", os.O_RDONLY)
    try:
        return os.read(fd, 10)
    finally:
        os.close(fd)


@scenario
def o_trunc_and_append(d):
    write(d + "/f", b"0123456789")
    fd = os.open(d + "/f", os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"ab")
    os.close(fd)
    fd = os.open(d + "/f", os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b"cd")           # O_APPEND ignores the seek
    pos = os.lseek(fd, 0, os.SEEK_CUR)
    os.close(fd)
    return read(d + "/f"), pos


@scenario
def pwrite_past_eof(d):
    fd = os.open(d + "/f", os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"end", 10000)
    data = os.pread(fd, 20000, 0)
    size = os.fstat(fd).st_size
    os.close(fd)
    return size, data == b"\0" * 10000 + b"end"


@scenario
def read_at_and_past_eof(d):
    write(d + "/f", b"abc")
    fd = os.open(d + "/f", os.O_RDONLY)
    r = (os.pread(fd, 10, 1), os.pread(fd, 10, 3), os.pread(fd, 10, 1000))
    os.close(fd)
    return r


@scenario
def lseek_seek_data_hole(d):
    # Hole reporting granularity is filesystem-specific (block vs chunk vs none), so
    # only POSIX-guaranteed facts are compared.
    size = 16 * 1024 * 1024 + 4096
    fd = os.open(d + "/f", os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"a" * 4096, 0)
    os.pwrite(fd, b"b" * 4096, 16 * 1024 * 1024)
    os.fsync(fd)
    out = []
    try:
        out.append(("data@0", os.lseek(fd, 0, os.SEEK_DATA)))
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        out.append(("hole@0 valid", 4096 <= hole <= size))
        data = os.lseek(fd, 8 * 1024 * 1024, os.SEEK_DATA)
        out.append(("data@8M valid", 8 * 1024 * 1024 <= data <= 16 * 1024 * 1024))
        out.append(("hole@last", os.lseek(fd, size - 1, os.SEEK_HOLE)))
        for name, whence in (("data@eof", os.SEEK_DATA), ("hole@eof", os.SEEK_HOLE)):
            try:
                out.append((name, os.lseek(fd, size, whence)))
            except OSError as e:
                out.append((name, errno.errorcode[e.errno]))
    finally:
        os.close(fd)
    return out


@scenario
def mkfifo(d):
    os.mkfifo(d + "/p", 0o600)
    return kind(d + "/p"), oct(stat.S_IMODE(os.stat(d + "/p").st_mode))


@scenario
def statvfs_namemax(d):
    return os.statvfs(d).f_namemax


# ---- xattrs ---------------------------------------------------------------------------

@scenario
def getxattr_missing(d):
    write(d + "/f")
    return os.getxattr(d + "/f", "user.missing")


@scenario
def removexattr_missing(d):
    write(d + "/f")
    return os.removexattr(d + "/f", "user.missing")


@scenario
def setxattr_create_existing(d):
    write(d + "/f")
    os.setxattr(d + "/f", "user.k", b"v")
    return os.setxattr(d + "/f", "user.k", b"w", os.XATTR_CREATE)


@scenario
def setxattr_replace_missing(d):
    write(d + "/f")
    return os.setxattr(d + "/f", "user.k", b"v", os.XATTR_REPLACE)


@scenario
def setxattr_replace_existing(d):
    write(d + "/f")
    os.setxattr(d + "/f", "user.k", b"v")
    os.setxattr(d + "/f", "user.k", b"longer value", os.XATTR_REPLACE)
    return os.getxattr(d + "/f", "user.k")


@scenario
def xattr_list_and_empty_value(d):
    write(d + "/f")
    os.setxattr(d + "/f", "user.b", b"")
    os.setxattr(d + "/f", "user.a", b"\0binary\xff")
    return sorted(os.listxattr(d + "/f")), os.getxattr(d + "/f", "user.b"), os.getxattr(d + "/f", "user.a")


@scenario
def xattr_large_value(d):
    write(d + "/f")
    v = bytes(range(256)) * 8              # 2 KiB: fits ext4's in-block limit too
    os.setxattr(d + "/f", "user.big", v)
    return os.getxattr(d + "/f", "user.big") == v


@scenario
def xattr_user_on_symlink(d):
    os.symlink("x", d + "/s")
    return os.setxattr(d + "/s", "user.k", b"v", follow_symlinks=False)


@scenario
def xattr_unknown_namespace(d):
    write(d + "/f")
    return os.setxattr(d + "/f", "bogus.k", b"v")


@scenario
def xattr_survives_rename_and_link(d):
    write(d + "/f")
    os.setxattr(d + "/f", "user.k", b"v")
    os.rename(d + "/f", d + "/g")
    os.link(d + "/g", d + "/h")
    return os.getxattr(d + "/g", "user.k"), os.getxattr(d + "/h", "user.k")


# ---- metadata --------------------------------------------------------------------------

@scenario
def chmod_through_symlink(d):
    write(d + "/f")
    os.chmod(d + "/f", 0o644)
    os.symlink("f", d + "/s")
    os.chmod(d + "/s", 0o600)
    return oct(stat.S_IMODE(os.stat(d + "/f").st_mode))


@scenario
def lchown_symlink_only(d):
    write(d + "/f")
    os.symlink("f", d + "/s")
    os.lchown(d + "/s", 1111, 2222)
    ls, fs = os.lstat(d + "/s"), os.stat(d + "/f")
    return (ls.st_uid, ls.st_gid), (fs.st_uid, fs.st_gid)


@scenario
def utime_nanoseconds(d):
    write(d + "/f")
    os.utime(d + "/f", ns=(1_234_567_890_123_456_789, 987_654_321_987_654_321))
    st = os.stat(d + "/f")
    return st.st_atime_ns, st.st_mtime_ns


@scenario
def symlink_size_is_target_length(d):
    os.symlink("abcdefg", d + "/s")
    return os.lstat(d + "/s").st_size


@scenario
def dir_listing(d):
    os.mkdir(d + "/sub")
    for n in ("b", "a", "c d", "ünïcødé", "x" * 255):
        write(d + "/sub/" + n)
    os.mkdir(d + "/sub/dir")
    os.symlink("a", d + "/sub/lnk")
    with os.scandir(d + "/sub") as it:
        return sorted((e.name, e.is_dir(follow_symlinks=False), e.is_symlink()) for e in it)


def run(fn, base):
    d = os.path.join(base, fn.__name__)
    os.mkdir(d)
    try:
        r = fn(d)
        return "ok" if r is None else repr(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    except Exception as e:                       # a bug in the scenario itself
        return "EXC %s: %s" % (type(e).__name__, e)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    test_root = tempfile.mkdtemp(prefix="parity.", dir=sys.argv[1])
    own_ref = len(sys.argv) == 2
    ref_parent = tempfile.mkdtemp(prefix="parity-native.") if own_ref else sys.argv[2]
    ref_root = tempfile.mkdtemp(prefix="parity.", dir=ref_parent)
    mismatches = []
    w = max(len(f.__name__) for f in SCENARIOS)
    print("%-*s  %-28s  %-28s  %s" % (w, "operation", "native", "test", ""))
    try:
        for fn in SCENARIOS:
            want, got = run(fn, ref_root), run(fn, test_root)
            same = want == got
            if not same:
                mismatches.append((fn.__name__, want, got))
            short = lambda s: s if len(s) <= 28 else s[:25] + "..."
            print("%-*s  %-28s  %-28s  %s" % (w, fn.__name__, short(want), short(got), "" if same else "MISMATCH"))
    finally:
        shutil.rmtree(ref_parent if own_ref else ref_root, ignore_errors=True)
        shutil.rmtree(test_root, ignore_errors=True)
    print("%d operations, %d mismatches" % (len(SCENARIOS), len(mismatches)))
    for name, want, got in mismatches:
        print("MISMATCH %s:\n  native: %s\n  test:   %s" % (name, want, got))
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
