#!/usr/bin/env python3
"""Concurrent workload with a deterministic model, for concurrency_test.sh.

  concurrency_tool.py run MNT OUTDIR WORKERS SECONDS SEED
      Creates shared files s0..s2 (WORKERS x REGION bytes each) and starts
      WORKERS processes. Worker w owns bytes [w*REGION, (w+1)*REGION) of every
      shared file (regions are not chunk-aligned, so workers share chunks) and
      its private files p<w>_<j>. Each worker, until SECONDS have passed, does
      random: pwrite into its region of a shared file (through the shared name
      or its own hard link to it), pread of its region compared with its model
      (after fsync + POSIX_FADV_DONTNEED so the read reaches the daemon),
      ftruncate of a shared file to a size >= the regions' end (only the zero
      tail changes), hard link / unlink / rename of its link names, private
      file pwrite / ftruncate / read-compare, and the "write a temp file, fsync,
      rename it over the original" replace pattern.
      Every mismatch or unexpected error is reported; models are saved in
      OUTDIR. Exit 1 if any worker found a problem.

  concurrency_tool.py verify MNT OUTDIR WORKERS
      Checks the mount against the saved models: shared files = the
      concatenated regions followed by zeros only; every worker's link name is
      the same inode with the same content and nlink = 1 + WORKERS; private
      files and their link names exact; no other entries.
"""
import json
import multiprocessing
import os
import random
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import first_diff, first_nonzero, opened, pread_all, pwrite_all, write_file  # noqa: E402

SHARED = 3
REGION = 150_000          # bytes per worker per shared file: not a multiple of the 64K chunk
PRIVATE = 3
PRIVATE_MAX = 300_000


def shared_path(mnt, i):
    return os.path.join(mnt, "s%d" % i)


def drop_cache(fd):
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def worker(mnt, out, w, nworkers, seconds, seed, q):
    rng = random.Random(seed * 1000 + w)
    problems = []
    ops = {}
    base = w * REGION
    shared = [bytearray(REGION) for _ in range(SHARED)]
    links = {i: "s%d.w%d.a" % (i, w) for i in range(SHARED)}   # current link name per shared file
    for i in range(SHARED):
        os.link(shared_path(mnt, i), os.path.join(mnt, links[i]))
    private = {}
    plinks = {}
    for j in range(PRIVATE):
        name = "p%d_%d" % (w, j)
        fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        os.close(fd)
        private[name] = bytearray()
        plinks[name] = None

    def problem(msg):
        if len(problems) < 20:
            problems.append("worker %d: %s" % (w, msg))

    def region_check(i, fd, off, n, how):
        got = pread_all(fd, n, base + off)
        want = bytes(shared[i][off:off + n])
        if got != want:
            k = first_diff(got, want)
            problem("s%d %s: bytes [%d, %d) of my region differ from the model at file offset %d "
                    "(got %s, want %s; %d of %d bytes returned)"
                    % (i, how, base + off, base + off + n, base + off + k,
                       got[k:k + 4].hex(), want[k:k + 4].hex(), len(got), n))

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(problems) < 20:
        r = rng.random()
        try:
            if r < 0.30:  # write my region of a shared file
                i = rng.randrange(SHARED)
                off = rng.randrange(REGION)
                n = min(REGION - off, rng.choice([1, 100, 4096, 20000, 70000]))
                data = rng.randbytes(n)
                name = shared_path(mnt, i) if rng.random() < 0.5 else os.path.join(mnt, links[i])
                with opened(name, os.O_WRONLY) as fd:
                    pwrite_all(fd, data, base + off)
                    shared[i][off:off + n] = data
                    if rng.random() < 0.3:
                        os.fsync(fd)
                op = "write_shared"
            elif r < 0.50:  # read my region back, from the daemon
                i = rng.randrange(SHARED)
                with opened(shared_path(mnt, i), os.O_RDWR) as fd:
                    drop_cache(fd)
                    off = rng.randrange(REGION)
                    region_check(i, fd, off, min(REGION - off, rng.randrange(1, 80000)), "read")
                op = "read_shared"
            elif r < 0.55:  # truncate a shared file; only the zero tail past all regions changes
                i = rng.randrange(SHARED)
                with opened(shared_path(mnt, i), os.O_WRONLY) as fd:
                    os.ftruncate(fd, nworkers * REGION + rng.choice([0, 1, 5000, 70000, 200000]))
                op = "truncate_shared"
            elif r < 0.62:  # hard-link churn on my link name of a shared file
                i = rng.randrange(SHARED)
                cur = os.path.join(mnt, links[i])
                other = links[i][:-1] + ("b" if links[i].endswith("a") else "a")
                if rng.random() < 0.5:
                    os.rename(cur, os.path.join(mnt, other))
                else:
                    os.unlink(cur)
                    os.link(shared_path(mnt, i), os.path.join(mnt, other))
                links[i] = other
                st1, st2 = os.stat(shared_path(mnt, i)), os.stat(os.path.join(mnt, other))
                if st1.st_ino != st2.st_ino:
                    problem("link %s is inode %d, s%d is %d" % (other, st2.st_ino, i, st1.st_ino))
                op = "link_churn"
            elif r < 0.80:  # private file: write / truncate / read-compare
                name = rng.choice(sorted(private))
                p = os.path.join(mnt, name)
                with opened(p, os.O_RDWR) as fd:
                    m = private[name]
                    k = rng.random()
                    if k < 0.5:
                        off = rng.randrange(PRIVATE_MAX)
                        data = rng.randbytes(rng.choice([1, 4096, 30000, 100000]))
                        pwrite_all(fd, data, off)
                        if off > len(m):
                            m += bytes(off - len(m))
                        m[off:off + len(data)] = data
                        op = "write_private"
                    elif k < 0.7:
                        n = rng.randrange(PRIVATE_MAX)
                        os.ftruncate(fd, n)
                        del m[n:]
                        m += bytes(n - len(m))
                        op = "truncate_private"
                    else:
                        drop_cache(fd)
                        got = pread_all(fd, len(m) + 10, 0)
                        if got != bytes(m):
                            problem("%s: content differs from the model (size %d, want %d)" % (name, len(got), len(m)))
                        op = "read_private"
            elif r < 0.88:  # replace a private file atomically: temp file, fsync, rename over
                name = rng.choice(sorted(private))
                data = rng.randbytes(rng.randrange(PRIVATE_MAX))
                tmp = os.path.join(mnt, name + ".new")
                write_file(tmp, data, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, fsync=True)
                os.rename(tmp, os.path.join(mnt, name))
                private[name] = bytearray(data)
                if plinks[name]:  # the old inode keeps its link name; drop it
                    os.unlink(os.path.join(mnt, plinks[name]))
                    plinks[name] = None
                op = "replace_private"
            else:  # hard link to a private file, read through it
                name = rng.choice(sorted(private))
                if plinks[name] is None:
                    plinks[name] = name + ".L"
                    os.link(os.path.join(mnt, name), os.path.join(mnt, plinks[name]))
                else:
                    new = plinks[name] + "x" if len(plinks[name]) < len(name) + 6 else name + ".L"
                    os.rename(os.path.join(mnt, plinks[name]), os.path.join(mnt, new))
                    plinks[name] = new
                with open(os.path.join(mnt, plinks[name]), "rb") as f:
                    if f.read() != bytes(private[name]):
                        problem("%s via link %s: content differs from the model" % (name, plinks[name]))
                op = "link_private"
            ops[op] = ops.get(op, 0) + 1
        except OSError as e:
            problem("unexpected error: %r" % (e,))
    # Final check of my regions, then save the model.
    for i in range(SHARED):
        with opened(shared_path(mnt, i), os.O_RDWR) as fd:
            drop_cache(fd)
            region_check(i, fd, 0, REGION, "final read")
        with open(os.path.join(out, "w%d_s%d.bin" % (w, i)), "wb") as f:
            f.write(shared[i])
    for name, m in private.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(m)
    with open(os.path.join(out, "w%d.json" % w), "w") as f:
        json.dump({"links": links, "plinks": plinks, "ops": ops}, f)
    q.put((w, problems, ops))


def run(mnt, out, nworkers, seconds, seed):
    for i in range(SHARED):
        fd = os.open(shared_path(mnt, i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        os.ftruncate(fd, nworkers * REGION)
        os.close(fd)
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(mnt, out, w, nworkers, seconds, seed, q),
                                     daemon=True)
             for w in range(nworkers)]

    def on_term(signum, frame):  # e.g. timeout(1): take the workers down too
        for p in procs:
            p.kill()
        sys.exit(1)

    signal.signal(signal.SIGTERM, on_term)
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:
            results.append(q.get(timeout=seconds + 300))
        except Exception:
            print("a worker did not finish in time (hang?)")
            for p in procs:
                p.kill()
            return 1
    for p in procs:
        p.join()
    total = {}
    bad = False
    for w, problems, ops in sorted(results):
        for k, v in ops.items():
            total[k] = total.get(k, 0) + v
        for pr in problems:
            print("PROBLEM: " + pr)
            bad = True
    print("ops: " + " ".join("%s=%d" % kv for kv in sorted(total.items())))
    return 1 if bad else 0


def verify(mnt, out, nworkers):
    problems = []
    expected_entries = set()
    for i in range(SHARED):
        want = b"".join(open(os.path.join(out, "w%d_s%d.bin" % (w, i)), "rb").read() for w in range(nworkers))
        p = shared_path(mnt, i)
        expected_entries.add("s%d" % i)
        got = open(p, "rb").read()
        if got[:len(want)] != want:
            k = first_diff(got, want)
            problems.append("s%d differs from the model at byte %d (worker %d's region; size %d)"
                            % (i, k, k // REGION, len(got)))
        elif any(got[len(want):]):
            k = len(want) + first_nonzero(got[len(want):])
            problems.append("s%d: non-zero byte at %d in the tail past all regions (stale data after truncate?)" % (i, k))
        st = os.stat(p)
        if st.st_nlink != 1 + nworkers:
            problems.append("s%d: nlink %d, want %d" % (i, st.st_nlink, 1 + nworkers))
    for w in range(nworkers):
        meta = json.load(open(os.path.join(out, "w%d.json" % w)))
        for i, name in meta["links"].items():
            expected_entries.add(name)
            lp = os.path.join(mnt, name)
            if os.stat(lp).st_ino != os.stat(shared_path(mnt, int(i))).st_ino:
                problems.append("%s is not a hard link of s%s" % (name, i))
        for j in range(PRIVATE):
            name = "p%d_%d" % (w, j)
            expected_entries.add(name)
            want = open(os.path.join(out, name + ".bin"), "rb").read()
            got = open(os.path.join(mnt, name), "rb").read()
            if got != want:
                problems.append("%s: content differs from the model (size %d, want %d)" % (name, len(got), len(want)))
            link = meta["plinks"][name]
            if link:
                expected_entries.add(link)
                if os.stat(os.path.join(mnt, link)).st_ino != os.stat(os.path.join(mnt, name)).st_ino:
                    problems.append("%s is not a hard link of %s" % (link, name))
    extra = set(os.listdir(mnt)) - expected_entries - {"fio"}
    if extra:
        problems.append("unexpected entries: %s" % sorted(extra))
    for pr in problems:
        print("PROBLEM: " + pr)
    print("verified %d shared files, %d private files" % (SHARED, nworkers * PRIVATE))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])))
    if len(sys.argv) == 5 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    sys.exit(__doc__)
