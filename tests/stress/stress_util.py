"""Helpers shared by the Python stress tools in tests/stress (crash_tool.py,
prefix_tool.py, concurrency_tool.py, difftest.py, read_chunks.py) and by the
python snippets of the stress shell tests: file descriptors as contexts,
whole-buffer I/O, fsync of a directory, an fsynced JSON-lines manifest,
hashing, and where two byte strings part.

A tool in this directory imports it as

    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    from stress_util import fsync_dir, sha  # noqa: E402

which works however the tool is started (ctest, scripts/stress.sh, by hand):
python3 puts the directory of the script it runs first on sys.path. A shell
heredoc (python3 - ...) puts this directory there itself (blockcut_test.sh).
Single-threaded use per file descriptor; nothing here keeps state but a
Manifest's fd.
"""
import contextlib
import errno
import hashlib
import json
import os

# Errors that mean the FUSE mount is gone (its daemon died), not a bug.
DEAD_ERRNOS = {errno.ENOTCONN, errno.ECONNABORTED}


def mount_dead(root):
    """After an EIO: is the mount gone? fsync() or close() of a file written
    through the page cache reports the failed write-back of a dead mount as
    EIO (the kernel records write-back errors as EIO); an
    opendir always reaches the daemon (or fails with ENOTCONN)."""
    try:
        os.listdir(root)
    except OSError as e:
        return e.errno in DEAD_ERRNOS
    return False


def sha(b):
    return hashlib.sha256(b).hexdigest()


@contextlib.contextmanager
def opened(path, flags, mode=0o777):
    """os.open as a context: the fd is closed when the block ends (also on
    an error). mode (for a create) is os.open's, before the umask."""
    fd = os.open(path, flags, mode)
    try:
        yield fd
    finally:
        os.close(fd)


def fsync_dir(path):
    """Makes the names in directory path durable."""
    with opened(path, os.O_RDONLY | os.O_DIRECTORY) as fd:
        os.fsync(fd)


def pwrite_all(fd, data, off):
    """pwrite until all of data is written (a write may be short)."""
    while data:
        n = os.pwrite(fd, data, off)
        data, off = data[n:], off + n


def pread_all(fd, n, off):
    """Up to n bytes at off: fewer only at end of file."""
    out = bytearray()
    while len(out) < n:
        b = os.pread(fd, n - len(out), off + len(out))
        if not b:
            break
        out += b
    return bytes(out)


def write_file(path, data, flags, mode=0o644, off=0, fsync=False):
    """Opens path with flags (and mode, when it creates), writes all of data
    at off, fsyncs it when asked, closes it (also on an error)."""
    with opened(path, flags, mode) as fd:
        pwrite_all(fd, data, off)
        if fsync:
            os.fsync(fd)


def read_file(path):
    """The bytes of path, or None if it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def first_diff(a, b):
    """The first offset at which a and b differ (the shorter length when one
    is a prefix of the other). Compares 4 KiB slices first: big buffers."""
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, n)):
                if a[j] != b[j]:
                    return j
    return n


def first_nonzero(b):
    """The offset of the first non-zero byte of b, or None."""
    return next((i for i, c in enumerate(b) if c), None)


def load_jsonl(path):
    """The records of a JSON-lines file (blank lines skipped)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Manifest:
    """An append-only JSON-lines log that survives a crash of the mount
    under test: it lives outside the mount and every record is fsynced
    before log() returns."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def log(self, rec):
        os.write(self.fd, (json.dumps(rec, sort_keys=True) + "\n").encode())
        os.fsync(self.fd)
