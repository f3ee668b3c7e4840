#!/usr/bin/env python3
"""Workload driver and checker for tests/stress/prefix_test.sh: after a crash
the namespace is the state after SOME PREFIX of the operations.

A namespace change (create, mkdir, unlink, rmdir, rename, link, symlink,
chmod) is durable only after a directory fsync; one the daemon acknowledged
but nobody synced may be lost by a crash (SIGKILL of the daemon) — but only as
a suffix. The namespace after the crash must be exactly the state after the
first k operations, for some k no smaller than the last acknowledged barrier:
never a mix of operations (a later one kept, an earlier one lost), never a
state that never existed.

  prefix_tool.py drive MNT DIR MANIFEST SEED
      In MNT/DIR: first a few subdirectories and BASE files (deterministic
      content, 1 KiB to 300 KiB, fsynced, directories fsynced), then the "M"
      line (the workload runs). Then, until the mount dies, a tight sequential
      loop of UNSYNCED namespace operations on a small tree: create an empty
      file (O_CREAT|O_EXCL), create a file with a few bytes, create a file
      with 64-200 KiB of non-zero data (closed, never fsynced: close() pushes
      the data into the daemon's object files while the create may be lost),
      mkdir, rmdir of an empty directory, rename (file to a new name or over
      an existing file or symlink, base files included; directory to a new
      name or over an empty directory), unlink (base files included), hard
      link, symlink, chmod. Every K ops (K random in 20..100) a BARRIER: when
      fewer than 4 base files are left, new ones are created (op "base":
      written and fsynced) to make 8 again; then each directory touched since
      the last barrier (wherever it is now) is opened O_RDONLY|O_DIRECTORY and
      fsynced. Every op is logged to MANIFEST (outside the mount) as a "B" line
      before it starts and an "E" line after it returned; a barrier as an "S"
      line only after all its fsyncs returned. Each line is flushed and
      fsynced. The op's parameters determine its effect, so the checker
      replays the log exactly.
      Exit status: 0 = stopped by the mount going away (ENOTCONN or
      ECONNABORTED, or EIO from close() with the mount gone); 3 = an
      operation failed otherwise (a bug; the op is on stderr); 4 = MNT is not
      a mountpoint.

  prefix_tool.py check MNT DIR MANIFEST
      Replays MANIFEST into the states S0 (after "M") .. Sn (after every op
      that started, the in-flight one included) and reads the tree under
      MNT/DIR: names, file types, permission bits (not of symlinks), symlink
      targets, hard-link identity (which names share an inode, and st_nlink)
      and the exact bytes of every base file (a base file is never written
      after its fsync, so wherever one of its names is, all its bytes must be
      there: a daemon that frees an unlinked file's data before the unlink is
      committed fails here when the crash loses the unlink). The contents of
      the other files are not compared (their data was never fsynced), nor
      those of a "base" op in flight (its fsync never returned). The tree must
      equal S_k for some k with B <= k <= n, where B is the number of ops
      before the last logged barrier; of several such k
      the largest is reported. Prints first one line
        prefix: k=K of N started (A acknowledged, last barrier at B; lost L acknowledged unsynced ops)
      (L = A - k when k < A), or, when no state matches, a "prefix: NO MATCH"
      line and PROBLEM lines with the closest state (the fewest differing
      names) and what differs.
      Then the no-stale-data probe: a few new files in MNT/DIR (one per
      inode-creating op since the last barrier, plus 8, at most 64), each
      ftruncated to 256 KiB, must read as all zeros (a daemon that hands out
      again the inode number of a create the crash lost would show that
      file's object data here); they are removed afterwards.
      Exit 1 if there is any problem.
"""
import errno
import json
import os
import random
import stat
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import (DEAD_ERRNOS, Manifest, first_diff, first_nonzero, fsync_dir,  # noqa: E402
                         load_jsonl, mount_dead, opened, sha, write_file)

MAX_NONDIRS = 48
MAX_DIRS = 10
FILE_MODES = [0o600, 0o640, 0o644, 0o664, 0o666, 0o700, 0o755, 0o444, 0o400, 0o604]
DIR_MODES = [0o700, 0o711, 0o750, 0o755, 0o775]
INITIAL_DIRS = ["a", "b", "c", "a/x"]
# (path, size): 1 KiB .. 300 KiB, most spanning several 64 KiB chunks
BASE_FILES = [("b00", 1024), ("a/b01", 65536), ("a/b02", 65537), ("b/b03", 100000),
              ("b/b04", 196608), ("c/b05", 200001), ("a/x/b06", 262144), ("b07", 307200)]
PROBE = 256 * 1024


def gen(seed, size):
    """Deterministic content without zero bytes."""
    data = random.Random(seed).randbytes(size)
    return data.translate(bytes([1]) + bytes(range(1, 256)))


def parent_of(path):
    return path.rpartition("/")[0]


# ------------------------------------------------------------------ model ----

class Tree:
    """The namespace under DIR: paths (relative to DIR, "" is DIR itself and
    not listed) -> node ids; nodes {"t": "d"|"f"|"l", "mode", "base", "target"}.
    Node ids are handed out in apply order, so driver and checker agree."""

    def __init__(self):
        self.nodes = {0: {"t": "d", "mode": None}}
        self.paths = {}
        self.next_id = 1

    def new(self, **node):
        nid = self.next_id
        self.next_id += 1
        self.nodes[nid] = node
        return nid

    def node(self, path):
        return self.nodes[self.paths[path]]

    def dir_id(self, path):
        return 0 if path == "" else self.paths[path]

    def path_of_dir(self, nid):
        if nid == 0:
            return ""
        for p, i in self.paths.items():
            if i == nid:
                return p
        return None

    def children(self, path):
        pre = path + "/"
        return [p for p in self.paths if p.startswith(pre)]

    def entries(self):
        """The canonical snapshot: {path: tuple} as read_tree() gives it."""
        first, count = {}, {}
        for p in sorted(self.paths):
            nid = self.paths[p]
            first.setdefault(nid, p)
            count[nid] = count.get(nid, 0) + 1
        out = {}
        for p, nid in self.paths.items():
            n = self.nodes[nid]
            if n["t"] == "d":
                out[p] = ("d", n["mode"])
            elif n["t"] == "l":
                out[p] = ("l", n["target"])
            else:
                out[p] = ("f", n["mode"], count[nid], first[nid],
                          "base%d" % n["base"] if n.get("base") is not None else "-")
        return out


def apply(tree, op):
    """Applies op to tree (raises KeyError/ValueError if it cannot apply)."""
    k = op["op"]
    p = op.get("path")
    if k in ("create", "small", "big", "base"):
        if p in tree.paths:
            raise ValueError("exists")
        tree.dir_id(parent_of(p))
        tree.paths[p] = tree.new(t="f", mode=op["mode"], base=op.get("base"))
    elif k == "mkdir":
        if p in tree.paths:
            raise ValueError("exists")
        tree.dir_id(parent_of(p))
        tree.paths[p] = tree.new(t="d", mode=op["mode"])
    elif k == "symlink":
        if p in tree.paths:
            raise ValueError("exists")
        tree.dir_id(parent_of(p))
        tree.paths[p] = tree.new(t="l", target=op["target"])
    elif k == "rmdir":
        if tree.node(p)["t"] != "d" or tree.children(p):
            raise ValueError("not an empty directory")
        del tree.paths[p]
    elif k == "unlink":
        if tree.node(p)["t"] == "d":
            raise ValueError("a directory")
        del tree.paths[p]
    elif k == "link":
        if op["dst"] in tree.paths or tree.node(op["src"])["t"] != "f":
            raise ValueError("bad link")
        tree.dir_id(parent_of(op["dst"]))
        tree.paths[op["dst"]] = tree.paths[op["src"]]
    elif k == "chmod":
        tree.node(p)["mode"] = op["mode"]
    elif k == "rename":
        src, dst = op["src"], op["dst"]
        sid = tree.paths[src]
        tree.dir_id(parent_of(dst))
        if tree.nodes[sid]["t"] == "d":
            if dst == src or dst.startswith(src + "/"):
                raise ValueError("into itself")
            if dst in tree.paths:
                if tree.node(dst)["t"] != "d" or tree.children(dst):
                    raise ValueError("over a non-empty directory")
                del tree.paths[dst]
            for c in [src] + tree.children(src):
                tree.paths[dst + c[len(src):]] = tree.paths.pop(c)
        else:
            if dst in tree.paths and (tree.node(dst)["t"] == "d" or tree.paths[dst] == sid):
                raise ValueError("over a directory or over a link of itself")
            tree.paths[dst] = tree.paths.pop(src)
    else:
        raise ValueError("unknown op %r" % (k,))


def touched_dirs(tree, op):
    """Ids of the directories whose entries op changes (before applying it);
    chmod counts as a change of the parent's entry."""
    names = [op[f] for f in ("path", "src", "dst") if f in op]
    return {tree.dir_id(parent_of(n)) for n in names}


def initial_tree(m):
    tree = Tree()
    for d in m["dirs"]:
        apply(tree, {"op": "mkdir", "path": d, "mode": 0o755})
    for i, b in enumerate(m["base"]):
        apply(tree, {"op": "create", "path": b["path"], "mode": 0o644, "base": i})
    return tree


# ----------------------------------------------------------------- driver ----

def write_new(path, mode, data, fsync=False):
    write_file(path, data, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode, fsync=fsync)


def execute(root, op):
    k = op["op"]
    p = os.path.join(root, op.get("path", ""))
    if k == "create":
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, op["mode"]))
    elif k == "small":
        write_new(p, op["mode"], b"%d:%s\n" % (op["seed"], op["path"].encode()))
    elif k in ("big", "base"):
        write_new(p, op["mode"], gen(op["seed"], op["size"]), fsync=k == "base")
    elif k == "mkdir":
        os.mkdir(p, op["mode"])
    elif k == "rmdir":
        os.rmdir(p)
    elif k == "unlink":
        os.unlink(p)
    elif k == "symlink":
        os.symlink(op["target"], p)
    elif k == "chmod":
        os.chmod(p, op["mode"])
    elif k == "link":
        os.link(os.path.join(root, op["src"]), os.path.join(root, op["dst"]))
    elif k == "rename":
        os.rename(os.path.join(root, op["src"]), os.path.join(root, op["dst"]))


def choose(rng, tree, counter):
    """A random op that is valid in tree (None: try again)."""
    paths = tree.paths
    dirs = sorted(p for p, i in paths.items() if tree.nodes[i]["t"] == "d")
    nondirs = sorted(p for p, i in paths.items() if tree.nodes[i]["t"] != "d")
    files = [p for p in nondirs if tree.nodes[paths[p]]["t"] == "f"]
    bases = [p for p in files if tree.nodes[paths[p]].get("base") is not None]
    empty = [d for d in dirs if not tree.children(d)]

    def new_path(prefix, max_depth=3):
        counter[0] += 1
        parent = rng.choice([""] + [d for d in dirs if d.count("/") < max_depth - 1])
        return (parent + "/" if parent else "") + "%s%04d" % (prefix, counter[0])

    def victim():  # a non-directory, base files more often than their share
        return rng.choice(bases if bases and rng.random() < 0.3 else nondirs)

    room = len(nondirs) < MAX_NONDIRS
    weights = {"create": 10 * room, "small": 8 * room, "big": 6 * room, "symlink": 5 * room,
               "link": 6 * (room and bool(files)), "mkdir": 6 * (len(dirs) < MAX_DIRS),
               "rmdir": 5 * bool(empty), "unlink": (10 if room else 30) * bool(nondirs),
               "rename": 12 * bool(nondirs), "rendir": 4 * bool(dirs), "chmod": 8 * bool(paths)}
    k = rng.choices(list(weights), list(weights.values()))[0]
    if k == "create":
        return {"op": k, "path": new_path("f"), "mode": rng.choice(FILE_MODES)}
    if k == "small":
        return {"op": k, "path": new_path("s"), "mode": rng.choice(FILE_MODES), "seed": rng.randrange(1 << 30)}
    if k == "big":
        return {"op": k, "path": new_path("g"), "mode": rng.choice(FILE_MODES), "seed": rng.randrange(1 << 30),
                "size": rng.randrange(64 * 1024, 200 * 1024 + 1)}
    if k == "symlink":
        target = rng.choice(["../" + rng.choice(nondirs or ["none"]), "t%d" % rng.randrange(1000), "/nowhere"])
        return {"op": k, "path": new_path("l"), "target": target}
    if k == "link":
        return {"op": k, "src": rng.choice(bases if bases and rng.random() < 0.3 else files), "dst": new_path("h")}
    if k == "mkdir":
        return {"op": k, "path": new_path("d", 2), "mode": rng.choice(DIR_MODES)}
    if k == "rmdir":
        return {"op": k, "path": rng.choice(empty)}
    if k == "unlink":
        return {"op": k, "path": victim()}
    if k == "rename":
        src = rng.choice(nondirs)
        dst = victim() if rng.random() < 0.4 else new_path("r")
        if dst == src or paths.get(dst) == paths[src]:
            return None
        return {"op": k, "src": src, "dst": dst}
    if k == "rendir":
        src = rng.choice(dirs)
        inside = [d for d in dirs if d == src or d.startswith(src + "/")]
        over = [d for d in empty if d not in inside]
        if over and rng.random() < 0.3:
            dst = rng.choice(over)
        else:
            counter[0] += 1
            parent = rng.choice([""] + [d for d in dirs if d not in inside and d.count("/") < 1])
            dst = (parent + "/" if parent else "") + "m%04d" % counter[0]
        return {"op": "rename", "src": src, "dst": dst}
    if k == "chmod":
        p = rng.choice(sorted(paths))
        n = tree.node(p)
        if n["t"] == "l":
            return None
        mode = rng.choice([m for m in (DIR_MODES if n["t"] == "d" else FILE_MODES) if m != n["mode"]])
        return {"op": k, "path": p, "mode": mode}
    return None


def drive(mnt, dname, manifest_path, seed):
    rng = random.Random(seed)
    if not os.path.ismount(mnt):  # never run against the directory under a detached mount
        print("prefix_tool drive: %s is not mounted" % mnt, file=sys.stderr)
        return 4
    os.umask(0)
    man = Manifest(manifest_path)
    root = os.path.join(mnt, dname)
    op = {"op": "setup"}
    try:
        os.mkdir(root, 0o755)
        for d in INITIAL_DIRS:
            os.mkdir(os.path.join(root, d), 0o755)
        base = []
        for path, size in BASE_FILES:
            bseed = rng.randrange(1 << 30)
            write_new(os.path.join(root, path), 0o644, gen(bseed, size), fsync=True)
            base.append({"path": path, "size": size, "seed": bseed})
        for d in INITIAL_DIRS[::-1] + [""]:
            fsync_dir(os.path.join(root, d))
        fsync_dir(mnt)
        m = {"t": "M", "dirs": INITIAL_DIRS, "base": base}
        man.log(m)
        tree = initial_tree(m)
        counter = [0]
        started = 0
        nbase = len(base)
        touched = set()

        def run(op):
            nonlocal started, touched
            touched |= touched_dirs(tree, op)
            started += 1
            man.log(dict(op, t="B", i=started))
            execute(root, op)
            apply(tree, op)
            man.log({"t": "E", "i": started})

        next_barrier = rng.randint(20, 100)
        while True:
            if started >= next_barrier:
                # Keep base files around: new ones (fsynced, then covered by the barrier).
                live = len({i for i in tree.paths.values() if tree.nodes[i].get("base") is not None})
                for _ in range(0 if live >= 4 else len(BASE_FILES) - live):
                    counter[0] += 1
                    parent = rng.choice([""] + sorted(p for p, i in tree.paths.items() if tree.nodes[i]["t"] == "d"))
                    op = {"op": "base", "path": (parent + "/" if parent else "") + "b%04d" % counter[0],
                          "mode": 0o644, "size": rng.choice(BASE_FILES)[1], "seed": rng.randrange(1 << 30),
                          "base": nbase}
                    nbase += 1
                    run(op)
                op = {"op": "barrier"}
                synced = [p for p in (tree.path_of_dir(i) for i in sorted(touched)) if p is not None]
                for p in sorted(synced, key=lambda p: -p.count("/")):
                    fsync_dir(os.path.join(root, p))
                man.log({"t": "S", "i": started, "dirs": sorted(synced)})
                touched = set()
                next_barrier = started + rng.randint(20, 100)
            op = choose(rng, tree, counter)
            if op is not None:
                run(op)
    except OSError as e:
        if e.errno in DEAD_ERRNOS or (e.errno == errno.EIO and mount_dead(root)):
            return 0
        print("prefix_tool drive: %s failed while the mount was (apparently) alive: %r" % (op, e), file=sys.stderr)
        return 3


# ---------------------------------------------------------------- checker ----

def read_tree(root, base_hashes):
    """{path: tuple} of everything under root, in Tree.entries()'s form."""
    raw = {}

    def walk(rel):
        with os.scandir(os.path.join(root, rel)) as it:
            names = sorted(e.name for e in it)
        for name in names:
            p = rel + "/" + name if rel else name
            st = os.lstat(os.path.join(root, p))
            raw[p] = st
            if stat.S_ISDIR(st.st_mode):
                walk(p)

    walk("")
    first = {}
    for p in sorted(raw):
        if stat.S_ISREG(raw[p].st_mode):
            first.setdefault(raw[p].st_ino, p)
    out = {}
    for p, st in raw.items():
        full = os.path.join(root, p)
        if stat.S_ISDIR(st.st_mode):
            out[p] = ("d", stat.S_IMODE(st.st_mode))
        elif stat.S_ISLNK(st.st_mode):
            out[p] = ("l", os.readlink(full))
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                h = sha(f.read())
            out[p] = ("f", stat.S_IMODE(st.st_mode), st.st_nlink, first[st.st_ino],
                      "base%d" % base_hashes[h] if h in base_hashes else "-")
        else:
            out[p] = ("?", oct(st.st_mode))
    return out


def describe(e):
    if e is None:
        return "absent"
    if e[0] == "d":
        return "directory mode %o" % e[1]
    if e[0] == "l":
        return "symlink -> %r" % e[1]
    if e[0] == "f":
        return "file mode %o nlink %d inode-of %s content %s" % (
            e[1], e[2], e[3], "base file %s" % e[4][4:] if e[4] != "-" else "(unchecked)")
    return "type %s" % (e[1],)


def diff(want, got):
    return [p for p in set(want) | set(got) if want.get(p) != got.get(p)]


def byte_detail(root, path, bases, want):
    """Why a base file's bytes are wrong: size and first differing byte."""
    b = bases[int(want[4][4:])]
    exp = gen(b["seed"], b["size"])
    try:
        with open(os.path.join(root, path), "rb") as f:
            got = f.read()
    except OSError as e:
        return "cannot read: %s" % e
    i = first_diff(got, exp)
    return "base file %s: size %d (want %d), first difference at byte %d (chunk %d of 64K)%s" % (
        want[4][4:], len(got), len(exp), i, i // 65536, ", zeros there" if i < len(got) and got[i] == 0 else "")


def check(mnt, dname, manifest):
    recs = load_jsonl(manifest)
    if not recs or recs[0]["t"] != "M":
        print("prefix: NO MATCH\nPROBLEM: %s has no \"M\" line: the workload never started" % manifest)
        return 1
    m = recs[0]
    ops, acked, barrier = [], 0, 0
    for rec in recs[1:]:
        if rec["t"] == "B":
            ops.append(rec)
            if rec["i"] != len(ops):
                raise ValueError("%s: op numbers out of order at %r" % (manifest, rec))
        elif rec["t"] == "E":
            acked = rec["i"]
        elif rec["t"] == "S":
            barrier = rec["i"]
    n = len(ops)
    root = os.path.join(mnt, dname)
    if n > acked and ops[-1]["op"] == "base":  # its fsync never returned: its bytes are not checked
        ops[-1] = dict(ops[-1], base=None)
    bases = m["base"] + [op for op in ops if op["op"] == "base" and op["base"] is not None]
    if any(b.get("base", i) != i for i, b in enumerate(bases)):
        raise ValueError("%s: base files out of order" % manifest)
    base_hashes = {sha(gen(b["seed"], b["size"])): i for i, b in enumerate(bases)}
    actual = read_tree(root, base_hashes)
    key = tuple(sorted(actual.items()))

    def states():
        tree = initial_tree(m)
        yield 0, tree
        for j, op in enumerate(ops, 1):
            apply(tree, op)
            yield j, tree

    matches = [j for j, t in states() if tuple(sorted(t.entries().items())) == key]
    problems = []
    good = [j for j in matches if barrier <= j <= n]
    if good:
        k = good[-1]
        print("prefix: k=%d of %d started (%d acknowledged, last barrier at %d; lost %d acknowledged unsynced ops)"
              % (k, n, acked, barrier, max(0, acked - k)))
    else:
        print("prefix: NO MATCH among S_%d..S_%d of %d started (%d acknowledged, last barrier at %d)"
              % (barrier, n, n, acked, barrier))
        if matches:
            j = matches[-1]
            problems.append("the namespace is exactly S_%d, before the last barrier at %d: ops %d..%d, made durable "
                            "by a directory fsync, were lost" % (j, barrier, j + 1, barrier))
        else:
            best = None
            for j, t in states():
                want = t.entries()
                d = diff(want, actual)
                if best is None or len(d) < best[1] or (len(d) == best[1] and barrier <= j):
                    best = (j, len(d), want, d)
            j, nd, want, d = best
            problems.append("the namespace is no state after a prefix of the ops; closest is S_%d with %d "
                            "differing name(s):" % (j, nd))
            for p in sorted(d)[:15]:
                detail = describe(actual.get(p))
                w = want.get(p)
                if w and w[0] == "f" and w[4] != "-" and actual.get(p, ("",))[0] == "f" and actual[p][4] != w[4]:
                    detail += "; " + byte_detail(root, p, bases, w)
                last = next((i for i in range(n - 1, -1, -1) if any(
                    ops[i].get(f) in (p, parent_of(p)) for f in ("path", "src", "dst"))), None)
                problems.append("  %s: want %s, got %s%s" % (p, describe(w), detail, "" if last is None else
                                                             "; last named by op %d" % (last + 1)))
            if nd > 15:
                problems.append("  ... and %d more" % (nd - 15))
            for i in range(max(0, j - 2), min(n, j + 2)):
                problems.append("  op %d%s: %s" % (i + 1, " (not in S_%d)" % j if i >= j else "",
                                                   json.dumps({x: v for x, v in ops[i].items() if x != "t"},
                                                              sort_keys=True)))
    # The no-stale-data probe: new files must not show a lost file's objects.
    creates = sum(1 for op in ops[barrier:] if op["op"] in ("create", "small", "big", "mkdir", "symlink"))
    nprobe = min(64, creates + 8)
    for i in range(nprobe):
        p = os.path.join(root, "probe%03d" % i)
        with opened(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644) as fd:
            ino = os.fstat(fd).st_ino
            os.ftruncate(fd, PROBE)
            data = os.pread(fd, PROBE, 0)
        os.unlink(p)
        nz = first_nonzero(data)
        if len(data) != PROBE:
            problems.append("probe%03d (inode %d): ftruncate to 256 KiB, then a read gave %d bytes"
                            % (i, ino, len(data)))
        elif nz is not None:
            problems.append("probe%03d (inode %d): a new file ftruncated to 256 KiB reads non-zero byte 0x%02x at "
                            "offset %d (chunk %d of 64K): stale data of an earlier file" % (i, ino, data[nz], nz,
                                                                                            nz // 65536))
    for p in problems:
        print("PROBLEM: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "drive":
        sys.exit(drive(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    sys.exit(__doc__)
