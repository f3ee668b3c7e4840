#!/usr/bin/env python3
"""read_chunks.py FILE MODEL CHUNK_SIZE — reads FILE chunk by chunk with
O_DIRECT (so every read reaches the daemon, not the page cache) and compares
each chunk with the same range of MODEL (the bytes that were written).

Prints one word per chunk, space-separated:
  ok     the right bytes
  eio    the read failed with EIO
  zero   the read returned zeros where the model has data (a hole)
  zerotail  the right bytes, then zeros where the model has data
  wrong  the read returned other bytes than the model
  errN   the read failed with errno N
  short  fewer bytes than the model
Then, on a second line, the result of a plain buffered read of the whole
file: ok / eio / wrong / errN.
"""
import errno
import mmap
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import first_diff  # noqa: E402 (tests/stress/stress_util.py, beside this file)


def classify(got, want):
    if got == want:
        return "ok"
    if len(got) < len(want):
        return "short"
    if not any(got) and any(want):
        return "zero"
    k = first_diff(got, want)
    if not any(got[k:]):
        return "zerotail"  # the right bytes up to some offset, zeros after it
    return "wrong"


def main(path, model_path, chunk):
    chunk = int(chunk)
    with open(model_path, "rb") as f:
        model = f.read()
    words = []
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT wants
    try:
        for off in range(0, len(model), chunk):
            want = model[off:off + chunk]
            try:
                n = os.preadv(fd, [buf], off)
                words.append(classify(bytes(buf[:n])[:len(want)], want))
            except OSError as e:
                words.append("eio" if e.errno == errno.EIO else "err%d" % e.errno)
    finally:
        os.close(fd)
    print(" ".join(words))
    try:
        with open(path, "rb") as f:
            whole = f.read()
        print("ok" if whole == model else "wrong")
    except OSError as e:
        print("eio" if e.errno == errno.EIO else "err%d" % e.errno)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
