#!/usr/bin/env python3
"""Workload driver and checker for tests/stress/crash_test.sh.

  crash_tool.py drive MNT ROUNDDIR MANIFEST SEED TIERFS
      Runs a mixed workload in MNT/ROUNDDIR until killed or until the mount dies:
      create+fsync, overwrite+fsync, truncate+fsync, rename(+dir fsync),
      unlink(+dir fsync), open-unlink-write (orphans), and `tierfs migrate` calls
      on random files of all rounds (a thread). Every operation is logged to
      MANIFEST (outside the mount) as an intent line "B" BEFORE it starts and
      a completion line "E" only AFTER it returned (and, for data, after fsync
      returned); each line is flushed and fsynced. File contents are a pure
      function of the logged parameters, so the checker replays them exactly.
      The "M" line (first line) says the workload has started.
      Exit status: 0 = stopped by the mount going away (ENOTCONN/ECONNABORTED,
      or EIO from an fsync or close whose write-back the dead mount failed),
      3 = an operation failed otherwise (a bug), written to stderr; 4 = MNT is
      not a mountpoint. The harness keeps the dead mount attached until the
      driver has exited, so a dead daemon always shows as ENOTCONN.

  crash_tool.py check MNT RESOLVED_DIR MANIFEST...
      Replays each manifest and checks the mount: every path whose last logged
      operation completed holds exactly the replayed bytes (or is absent when
      it was unlinked/renamed away); the one in-flight operation (B without E)
      left one of its allowed outcomes (old or new state; for writes every byte
      is the old byte, the new byte, or a zero of a hole past the old end —
      never other data); no unexpected files. The observed outcome of an
      in-flight operation is then appended to the manifest ("R" lines, data
      saved in RESOLVED_DIR) so later rounds check it exactly. Each file the
      in-flight op touched is then extended by ftruncate: the new range must
      read as zeros (lost-write data left past EOF must not resurface); such
      problems are printed as "PROBLEM[stale]: ...", all others "PROBLEM: ...".
      Prints one summary line first; exit 1 if there is any problem.
"""
import errno
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import (DEAD_ERRNOS, Manifest, first_diff, first_nonzero, fsync_dir,  # noqa: E402
                         load_jsonl, mount_dead, opened, pwrite_all, read_file, sha, write_file)

MAX_FILES = 20
MAX_SIZE = 200 * 1024


def gen(seed, size, kind):
    """Deterministic content: random bytes or compressible text."""
    rng = random.Random(seed)
    if kind == "r":
        return rng.randbytes(size)
    words = [b"tier", b"cold", b"hot", b"chunk", b"frame", b"fsync", b"crash", b"%d" % (seed % 997)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def apply(state, op):
    """Applies a completed op to state {relpath: bytes}. Returns the changed paths."""
    k = op["op"]
    if k in ("create",):
        state[op["path"]] = gen(op["seed"], op["size"], op["kind"])
        return [op["path"]]
    if k == "overwrite":
        old = bytearray(state[op["path"]])
        data = gen(op["seed"], op["len"], op["kind"])
        off = op["off"]
        if off > len(old):
            old += bytes(off - len(old))
        old[off:off + len(data)] = data
        state[op["path"]] = bytes(old)
        return [op["path"]]
    if k == "truncate":
        old = state[op["path"]]
        n = op["size"]
        state[op["path"]] = old[:n] + bytes(max(0, n - len(old)))
        return [op["path"]]
    if k == "rename":
        state[op["dst"]] = state.pop(op["src"])
        return [op["src"], op["dst"]]
    if k == "unlink":
        state.pop(op["path"])
        return [op["path"]]
    if k == "orphan":  # created, unlinked while open, then written: never visible
        return []
    raise ValueError("unknown op %r" % (k,))


# ---------------------------------------------------------------- driver ----

def drive(mnt, rdir, manifest_path, seed, tierfs):
    rng = random.Random(seed)
    if not os.path.ismount(mnt):  # never run against the directory under a detached mount
        print("crash_tool drive: %s is not mounted" % mnt, file=sys.stderr)
        return 4
    man = Manifest(manifest_path)
    root = os.path.join(mnt, rdir)
    for sub in ("", "sub"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    fsync_dir(root)
    fsync_dir(mnt)
    man.log({"t": "M", "dirs": [rdir, rdir + "/sub"]})
    state = {}
    counter = [0]
    orphans = []
    stop = threading.Event()

    def migrate_loop():
        mrng = random.Random(seed ^ 0x5A5A)
        while not stop.is_set():
            try:
                rounds = sorted(d for d in os.listdir(mnt) if d.startswith("r"))
            except OSError:
                return
            try:
                names = sorted(list(state))
            except RuntimeError:  # state changed size while copying
                continue
            if not rounds:
                time.sleep(0.1)
                continue
            target = os.path.join(mnt, mrng.choice(rounds))
            if names and mrng.random() < 0.6:
                target = os.path.join(mnt, rdir, mrng.choice(names))
            to = mrng.choice(["hot", "cold"])
            try:
                subprocess.run([tierfs, "migrate", "--to", to, target], timeout=20,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except (subprocess.TimeoutExpired, OSError):
                pass
            time.sleep(mrng.uniform(0.02, 0.2))

    threading.Thread(target=migrate_loop, daemon=True).start()

    def new_name():
        counter[0] += 1
        return rng.choice(["", "sub/"]) + "f%04d" % counter[0]

    def do(op):
        man.log(dict(op, t="B"))
        t0 = time.monotonic()
        k = op["op"]
        p = os.path.join(root, op.get("path", ""))
        if k == "create":
            write_file(p, gen(op["seed"], op["size"], op["kind"]), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                       fsync=True)
        elif k == "overwrite":
            write_file(p, gen(op["seed"], op["len"], op["kind"]), os.O_WRONLY, off=op["off"], fsync=True)
        elif k == "truncate":
            with opened(p, os.O_WRONLY) as fd:
                os.ftruncate(fd, op["size"])
                os.fsync(fd)
        elif k == "rename":
            src, dst = os.path.join(root, op["src"]), os.path.join(root, op["dst"])
            os.rename(src, dst)
            for d in {os.path.dirname(src), os.path.dirname(dst)}:
                fsync_dir(d)
        elif k == "unlink":
            os.unlink(p)
            fsync_dir(os.path.dirname(p))
        elif k == "orphan":
            fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            os.unlink(p)
            fsync_dir(os.path.dirname(p))
            pwrite_all(fd, gen(op["seed"], op["size"], "r"), 0)
            os.fsync(fd)
            orphans.append(fd)
            if len(orphans) > 3:
                os.close(orphans.pop(0))
        changed = apply(state, op)
        man.log({"t": "E", "ms": round((time.monotonic() - t0) * 1000),
                 "sha": {c: (sha(state[c]) if c in state else None) for c in changed}})

    try:
        while True:
            names = sorted(state)
            r = rng.random()
            kind = rng.choice("rt")
            if len(names) < 4 or (len(names) < MAX_FILES and r < 0.25):
                op = {"op": "create", "path": new_name(), "size": rng.choice([0, 1, 4096, rng.randrange(MAX_SIZE)]),
                      "seed": rng.randrange(1 << 30), "kind": kind}
            elif r < 0.55:
                path = rng.choice(names)
                size = len(state[path])
                op = {"op": "overwrite", "path": path, "off": rng.randrange(size + 70000),
                      "len": rng.choice([1, 100, 4096, rng.randrange(1, 140000)]),
                      "seed": rng.randrange(1 << 30), "kind": kind}
            elif r < 0.70:
                path = rng.choice(names)
                size = len(state[path])
                op = {"op": "truncate", "path": path,
                      "size": rng.choice([0, size // 2, max(0, size - 1), size + 5000, rng.randrange(MAX_SIZE)])}
            elif r < 0.83:
                src = rng.choice(names)
                dst = rng.choice(names) if rng.random() < 0.3 else new_name()
                if dst == src:
                    continue
                op = {"op": "rename", "src": src, "dst": dst}
            elif r < 0.95:
                op = {"op": "unlink", "path": rng.choice(names)}
            else:
                op = {"op": "orphan", "path": new_name(), "size": rng.randrange(MAX_SIZE),
                      "seed": rng.randrange(1 << 30)}
            do(op)
    except OSError as e:
        stop.set()
        if e.errno in DEAD_ERRNOS or (e.errno == errno.EIO and mount_dead(root)):
            return 0
        print("crash_tool drive: %s failed while the mount was (apparently) alive: %r"
              % (op, e), file=sys.stderr)
        return 3


# --------------------------------------------------------------- checker ----

def bytes_ok(got, old, new, hole_from):
    """Every byte is the old one, the new one, or 0 at/after hole_from (a hole)."""
    lo = min(len(old), len(new))
    hi = max(len(old), len(new))
    if not (lo <= len(got) <= hi):
        return "size %d outside [%d, %d]" % (len(got), lo, hi)
    for i, c in enumerate(got):
        if i < len(old) and c == old[i]:
            continue
        if i < len(new) and c == new[i]:
            continue
        if c == 0 and i >= hole_from:
            continue
        return "byte %d is 0x%02x: neither old (%s) nor new (%s)" % (
            i, c, "0x%02x" % old[i] if i < len(old) else "-", "0x%02x" % new[i] if i < len(new) else "-")
    return None


PROBE = 256 * 1024


def extend_probe(path):
    """Extends the file by PROBE bytes with ftruncate, checks they read as
    zeros, truncates it back. Returns a problem description or None."""
    with opened(path, os.O_RDWR) as fd:
        size = os.fstat(fd).st_size
        os.ftruncate(fd, size + PROBE)
        ext = os.pread(fd, PROBE, size)
        os.ftruncate(fd, size)
        os.fsync(fd)
    if len(ext) != PROBE:
        return "extending by ftruncate gave a short read (%d of %d bytes)" % (len(ext), PROBE)
    nz = first_nonzero(ext)
    if nz is not None:
        return ("stale data resurfaced past the recovered end of file %d: ftruncate-extending it "
                "reads non-zero byte 0x%02x at offset %d (chunk %d of 64K)"
                % (size, ext[nz], size + nz, (size + nz) // 65536))
    return None


def check(mnt, resolved_dir, manifests):
    problems = []
    stale = []  # lost-write data past EOF shown after an extension (reported apart: "PROBLEM[stale]")
    stats = {"files": 0, "absent": 0, "inflight": 0}
    for manifest in manifests:
        recs = load_jsonl(manifest)
        state, ever, dirs = {}, set(), []
        pending = None
        for i, rec in enumerate(recs):
            t = rec["t"]
            if t == "M":
                dirs = rec["dirs"]
            elif t == "B":
                pending = rec
            elif t == "E":
                changed = apply(state, pending)
                ever.update(changed)
                for c, h in rec["sha"].items():
                    if (sha(state[c]) if c in state else None) != h:
                        problems.append("%s: replay of %s disagrees with the driver" % (manifest, pending))
                pending = None
            elif t == "R":  # the observed outcome of an in-flight op, after an earlier crash
                for c, saved in rec["paths"].items():
                    ever.add(c)
                    if saved is None:
                        state.pop(c, None)
                    else:
                        with open(saved, "rb") as f:
                            state[c] = f.read()
                pending = None
        if not dirs:
            continue
        rdir = dirs[0]
        touched = set()
        resolution = {}
        if pending is not None:
            stats["inflight"] += 1
            op = pending
            k = op["op"]
            if k == "rename":
                touched = {op["src"], op["dst"]}
            elif k == "orphan":
                touched = {op["path"]}
            else:
                touched = {op["path"]}
            got = {c: read_file(os.path.join(mnt, rdir, c)) for c in touched}
            old = dict(state)
            new = dict(state)
            apply(new, op) if k != "orphan" else None
            err = None
            if k in ("create", "overwrite", "truncate"):
                p = op["path"]
                o, n, g = old.get(p), new[p], got[p]
                if g is None:
                    if o is not None:
                        err = "file vanished"
                else:
                    base = o if o is not None else b""
                    hole_from = len(base)
                    if k == "truncate":
                        hole_from = min(len(base), op["size"])
                    why = bytes_ok(g, base, n, hole_from)
                    if why:
                        err = why
            elif k == "rename":
                s, d = op["src"], op["dst"]
                before = (got[s] == old[s]) and (got[d] == old.get(d))
                after = (got[s] is None) and (got[d] == new[d])
                if not (before or after):
                    err = "neither before nor after the rename: src %s, dst %s" % (
                        "absent" if got[s] is None else "%d bytes" % len(got[s]),
                        "absent" if got[d] is None else "%d bytes" % len(got[d]))
            elif k == "unlink":
                p = op["path"]
                if got[p] is not None and got[p] != old[p]:
                    err = "half-unlinked file has wrong content"
            elif k == "orphan":
                p = op["path"]
                if got[p] is not None and len(got[p]) and got[p] != gen(op["seed"], op["size"], "r")[:len(got[p])]:
                    err = "orphan-to-be has foreign content"
            if err:
                problems.append("%s: in-flight %s: %s" % (rdir, json.dumps(op, sort_keys=True), err))
            # Data of a lost (unsynced) write may sit past the recovered end of
            # file; extending the file must still show zeros there, never that data.
            for c in sorted(touched):
                if got.get(c) is not None:
                    why = extend_probe(os.path.join(mnt, rdir, c))
                    if why:
                        stale.append("%s/%s: after in-flight %s: %s" % (rdir, c, k, why))
            for c, g in got.items():
                if g is None:
                    resolution[c] = None
                else:
                    saved = os.path.join(resolved_dir, "%s_%d_%s" % (rdir, len(recs), c.replace("/", "_")))
                    with open(saved, "wb") as f:
                        f.write(g)
                    resolution[c] = saved
        for path in sorted(ever | set(state)):
            if path in touched:
                continue
            full = os.path.join(mnt, rdir, path)
            got = read_file(full)
            want = state.get(path)
            if want is None:
                stats["absent"] += 1
                if got is not None:
                    problems.append("%s/%s: unlinked/renamed away (fsynced dir) but still exists" % (rdir, path))
                continue
            stats["files"] += 1
            if got is None:
                problems.append("%s/%s: fsynced file is missing" % (rdir, path))
            elif got != want:
                d = first_diff(got, want)
                problems.append("%s/%s: content differs: size %d (want %d), first difference at byte %d (chunk %d of 64K)"
                                % (rdir, path, len(got), len(want), d, d // 65536))
        known = ever | set(state) | touched
        for sub in dirs:
            try:
                entries = os.listdir(os.path.join(mnt, sub))
            except FileNotFoundError:
                problems.append("%s: directory missing" % sub)
                continue
            for e in entries:
                rel = os.path.relpath(os.path.join(sub, e), rdir)
                if rel == "sub":
                    continue
                if rel not in known:
                    problems.append("%s: unexpected entry %s" % (rdir, rel))
        if pending is not None:
            with open(manifest, "a") as f:
                f.write(json.dumps({"t": "R", "paths": resolution}, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
    print("checked %d files, %d absent paths, %d in-flight ops" % (stats["files"], stats["absent"], stats["inflight"]))
    for p in problems:
        print("PROBLEM: " + p)
    for p in stale:
        print("PROBLEM[stale]: " + p)
    return 1 if problems or stale else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "drive":
        mnt, rdir, manifest, seed, tierfs = sys.argv[2:7]
        sys.exit(drive(mnt, rdir, manifest, int(seed), tierfs))
    if len(sys.argv) >= 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
    sys.exit(__doc__)
